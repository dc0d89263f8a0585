//! Whom a page reaches: who its next paging step would page (for "paging Ada in 25 s"),
//! who a paging step pages now, and their notifications, each with its own acknowledge
//! link.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::model::PageRow;
use crate::alerts::groups::AlertGroupRow;
use crate::alerts::model::AlertUrgency;
use crate::oncall::policies::Step;
use crate::oncall::{duty, teams, TeamRow};

/// Who the next paging step of `steps` from `from` would reach, in words.
pub(super) async fn next_target(
    conn: &mut PgConnection,
    steps: &[Step],
    from: usize,
    team: Option<&TeamRow>,
    at: OffsetDateTime,
) -> sqlx::Result<String> {
    let Some(step) = steps.iter().skip(from).find(|s| s.pages()) else {
        return Ok("nobody".into());
    };
    Ok(match step {
        Step::PageOnDuty => match team {
            Some(team) => match duty::on_duty(&mut *conn, team, at).await? {
                Some(user) => duty::names(&mut *conn, &[user])
                    .await?
                    .remove(&user)
                    .unwrap_or_default(),
                None => format!("everyone on {}", team.name),
            },
            None => "the person on duty".into(),
        },
        Step::PageUser { user_id } => duty::names(&mut *conn, &[*user_id])
            .await?
            .remove(user_id)
            .unwrap_or_default(),
        Step::PageTeam => team.map_or("the team".into(), |t| format!("everyone on {}", t.name)),
        _ => "everyone".into(),
    })
}

/// Who a paging step reaches now, and why.
pub(super) async fn recipients(
    conn: &mut PgConnection,
    step: &Step,
    team: Option<&TeamRow>,
    at: OffsetDateTime,
) -> sqlx::Result<(Vec<Uuid>, &'static str)> {
    Ok(match step {
        Step::PageOnDuty => {
            let user = match team {
                Some(team) => duty::on_duty(&mut *conn, team, at).await?,
                None => None,
            };
            (user.into_iter().collect(), "on_duty")
        }
        Step::PageUser { user_id } => (
            teams::enabled_users(&mut *conn, &[*user_id]).await?,
            "named",
        ),
        Step::PageTeam => {
            let members = match team {
                Some(team) => teams::members_of(&mut *conn, &[team.id]).await?,
                None => Vec::new(),
            };
            (
                members
                    .into_iter()
                    .filter(|m| !m.disabled)
                    .map(|m| m.user_id)
                    .collect(),
                "team",
            )
        }
        _ => (
            sqlx::query_scalar!(
                "SELECT id FROM users WHERE disabled_at IS NULL AND role IN ('responder', 'admin')
                 ORDER BY name, id"
            )
            .fetch_all(&mut *conn)
            .await?,
            "everyone",
        ),
    })
}

/// Queue a notification with their own acknowledge link for each person just paged, on
/// every contact method that critical alerts reach.
pub(super) async fn notify_paged(
    conn: &mut PgConnection,
    page: &PageRow,
    group: &AlertGroupRow,
    team_words: &str,
    paged: &[Uuid],
    reason: &str,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    if paged.is_empty() {
        return Ok(());
    }
    let key = super::links::key_in(&mut *conn).await?;
    let base = crate::status_page::settings::configured_url(&mut *conn).await?;
    let why = match reason {
        "on_duty" => "you are on duty",
        "named" => "the escalation policy names you",
        "team" => "the whole team is paged",
        _ => "nobody answered, so everyone is paged",
    };
    let title = format!(
        "{} {}",
        crate::alerts::commands::reference(group.number),
        group.title
    );
    let body = format!(
        "Critical alert for {team_words} ({}): {why}.",
        page.reference()
    );
    crate::notify::tell(
        &mut *conn,
        Some(page.id),
        paged,
        AlertUrgency::Critical,
        |user| crate::notify::Message {
            title: title.clone(),
            body: body.clone(),
            ack_url: base
                .as_deref()
                .map(|base| super::links::url(base, &super::links::token(&key, page.id, user, at))),
            urgency: AlertUrgency::Critical,
            test: false,
        },
    )
    .await?;
    Ok(())
}
