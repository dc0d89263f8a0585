//! Whom a page reaches: the team and policy of a group's route, the team's acked mode,
//! who its next paging step would page (for "paging Ada in 25 s"),
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

/// The team and policy the group's route names: its routing rule's, else its
/// integration's team; the rule's policy, else the team's.
pub async fn route_of(
    conn: &mut PgConnection,
    group_id: Uuid,
) -> sqlx::Result<(Option<Uuid>, Option<Uuid>)> {
    let row = sqlx::query!(
        "SELECT coalesce(r.team_id, i.team_id) AS team_id, r.escalation_policy_id
         FROM alert_groups g JOIN integrations i ON i.id = g.integration_id
         LEFT JOIN routing_rules r ON r.id = g.routing_rule_id
         WHERE g.id = $1",
        group_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map_or((None, None), |r| (r.team_id, r.escalation_policy_id)))
}

/// A team's acked mode: someone acknowledged a page and is watching.
#[derive(Debug, Clone)]
pub struct AckedMode {
    pub until: OffsetDateTime,
    pub page_id: Option<Uuid>,
    pub by: Option<Uuid>,
    pub by_name: Option<String>,
}

/// The team's acked mode, if it is on at `at`.
pub async fn acked_mode(
    conn: &mut PgConnection,
    team_id: Uuid,
    at: OffsetDateTime,
) -> sqlx::Result<Option<AckedMode>> {
    let row = sqlx::query!(
        r#"SELECT t.acked_until AS "until!", t.acked_page_id, t.acked_by, u.name AS "by_name?"
           FROM teams t LEFT JOIN users u ON u.id = t.acked_by
           WHERE t.id = $1 AND t.acked_until > $2"#,
        team_id,
        at
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| AckedMode {
        until: r.until,
        page_id: r.acked_page_id,
        by: r.acked_by,
        by_name: r.by_name,
    }))
}

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
