//! Acknowledging a page: it stops every pending and future step, names the acknowledger,
//! acknowledges the alert group, and puts the team in acked mode (further critical
//! alerts for it are announced and listed but page nobody for a while).

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::model::{AckVia, PageRow, PageState};
use super::store::{self, Progress};
use crate::alerts::groups;
use crate::alerts::model::AlertGroupState;
use crate::oncall::teams;
use crate::platform::command::CommandError;

/// What an acknowledgement found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    /// It was running and is acknowledged now.
    Acknowledged,
    /// Someone (or the source) acknowledged it before.
    Already {
        by: Option<String>,
        at: Option<OffsetDateTime>,
    },
    /// It had ended otherwise (resolved, exhausted, muted): nothing to stop.
    Ended(PageState),
}

/// Tell the Alerts pages (every process's live stream) that a page changed.
pub(super) async fn wake_alert_pages(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!("SELECT pg_notify($1, '')", crate::platform::live::ALERTS)
        .execute(conn)
        .await?;
    Ok(())
}

/// End a running page without an acknowledgement (the group resolved or was silenced).
pub async fn end(
    conn: &mut PgConnection,
    page: &PageRow,
    state: PageState,
    body: &str,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let progress = Progress {
        state,
        step_index: page.step_index,
        round: page.round,
        due_at: None,
        countdown_target: None,
        ended_at: Some(at),
    };
    store::save_progress(&mut *conn, page.id, progress).await?;
    super::announce::say(&mut *conn, page, at, state.as_str(), body, None).await?;
    wake_alert_pages(conn).await
}

/// Mark a running page (locked, with its group) acknowledged by `by`; a person's
/// acknowledgement puts the team in acked mode.
pub async fn mark(
    conn: &mut PgConnection,
    page: &PageRow,
    by: Option<Uuid>,
    via: AckVia,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    store::set_acknowledged(&mut *conn, page.id, by, via.as_str(), at).await?;
    let name = match by {
        Some(user) => crate::oncall::duty::names(&mut *conn, &[user])
            .await?
            .remove(&user),
        None => None,
    };
    let body = match &name {
        Some(name) => format!(
            "Acknowledged by {name} {}: nothing more happens.",
            via.words()
        ),
        None => format!("Acknowledged {}: nothing more happens.", via.words()),
    };
    super::announce::say(&mut *conn, page, at, "acknowledged", &body, by).await?;
    if let (Some(user), Some(team_id)) = (by, page.team_id) {
        if let Some(team) = teams::find(&mut *conn, team_id).await? {
            let until = at + Duration::minutes(i64::from(team.acked_mode_minutes));
            sqlx::query!(
                "UPDATE teams SET acked_until = $2, acked_by = $3, acked_page_id = $4 WHERE id = $1",
                team.id,
                until,
                user,
                page.id
            )
            .execute(&mut *conn)
            .await?;
            let body = format!(
                "{} is in acked mode until {}: further critical alerts are announced but page nobody.",
                team.name,
                crate::platform::time::format_utc(until)
            );
            super::announce::say(&mut *conn, page, at, "acked_mode", &body, Some(user)).await?;
        }
    }
    if let Some(user) = by {
        super::incident::acknowledged(&mut *conn, page.alert_group_id, user).await?;
    }
    wake_alert_pages(conn).await
}

/// `user` acknowledges the page: every pending and future step stops, the alert group
/// is acknowledged by them, and the team goes into acked mode. A page whose steps all ran
/// unanswered can still be acknowledged late; one that ended otherwise (resolved, muted,
/// acknowledged) answers how it ended and changes nothing.
#[tracing::instrument(skip(conn))]
pub async fn acknowledge(
    conn: &mut PgConnection,
    page_id: Uuid,
    user: Uuid,
    via: AckVia,
    at: OffsetDateTime,
) -> Result<AckOutcome, CommandError> {
    let page = store::find(&mut *conn, page_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let group = groups::lock(&mut *conn, page.alert_group_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let page = store::lock(&mut *conn, page.id)
        .await?
        .ok_or(CommandError::NotFound)?;
    match page.state {
        PageState::Acknowledged => {
            return Ok(AckOutcome::Already {
                by: page.acknowledged_by_name,
                at: page.acknowledged_at,
            })
        }
        // A page whose steps all ran still waits for someone to take it on.
        PageState::Exhausted => {}
        state if !state.running() => return Ok(AckOutcome::Ended(state)),
        _ => {}
    }
    mark(&mut *conn, &page, Some(user), via, at).await?;
    if group.state != AlertGroupState::Resolved && group.acknowledged_at.is_none() {
        crate::alerts::commands::acknowledge(&mut *conn, user, group.id).await?;
    }
    Ok(AckOutcome::Acknowledged)
}

/// The acknowledger (or an admin) ends the team's acked mode early: critical alerts page
/// again.
#[tracing::instrument(skip(conn))]
pub async fn end_acked_mode(
    conn: &mut PgConnection,
    team_id: Uuid,
    user: Uuid,
    admin: bool,
    at: OffsetDateTime,
) -> Result<(), CommandError> {
    let team = teams::lock(&mut *conn, team_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let row = sqlx::query!(
        "SELECT acked_by, acked_page_id FROM teams WHERE id = $1 AND acked_until > $2",
        team.id,
        at
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(CommandError::invalid(
            "acked_mode",
            format!("{} is not in acked mode.", team.name),
        ));
    };
    if row.acked_by != Some(user) && !admin {
        return Err(CommandError::invalid(
            "acked_mode",
            "Only the person who acknowledged (or an admin) ends acked mode early.",
        ));
    }
    sqlx::query!(
        "UPDATE teams SET acked_until = $2 WHERE id = $1",
        team.id,
        at
    )
    .execute(&mut *conn)
    .await?;
    if let Some(page_id) = row.acked_page_id {
        let body = format!("{} left acked mode: critical alerts page again.", team.name);
        store::record(
            &mut *conn,
            page_id,
            at,
            "acked_mode_ended",
            &body,
            Some(user),
        )
        .await?;
    }
    let action = crate::platform::audit::AuditAction::AckedModeEnded { team_id };
    crate::platform::audit::log(&mut *conn, Some(user), &action).await?;
    wake_alert_pages(conn).await?;
    Ok(())
}
