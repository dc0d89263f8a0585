//! What people do to an alert group: acknowledge it ("I am on it") and resolve it. Each
//! runs in the caller's transaction under the group's row lock, writes the group's
//! history and the domain event, and wakes the live pages. Grouping does the same for
//! the source's own acknowledge and resolve.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::groups::{self, AlertGroupRow};
use super::happened::AlertGroupEvent;
use super::history::{self, GroupEventKind, NewGroupEvent};
use super::process::APPLIED_CHANNEL;
use super::{AlertGroupState, AlertStatus, GroupFacts};
use crate::platform::command::CommandError;

/// Whether a command changed the group (a repeat acknowledge does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Made,
    Unchanged,
}

/// How people name a group: `ALR-17`.
pub fn reference(number: i64) -> String {
    format!("ALR-{number}")
}

async fn lock_unresolved(
    conn: &mut PgConnection,
    group_id: Uuid,
    verb: &str,
) -> Result<AlertGroupRow, CommandError> {
    let group = groups::lock(&mut *conn, group_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if group.state == AlertGroupState::Resolved {
        return Err(CommandError::invalid(
            "state",
            format!(
                "{} is resolved already; there is nothing to {verb}. If its alerts fire \
                 again, they open a new group.",
                reference(group.number)
            ),
        ));
    }
    Ok(group)
}

async fn wake_live_pages(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!("SELECT pg_notify($1, '')", APPLIED_CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// `actor` acknowledges the group: they are looking at it. A group acknowledged already
/// (by anyone, or by its source) is left as it is; a resolved one is refused.
#[tracing::instrument(skip(conn))]
pub async fn acknowledge(
    conn: &mut PgConnection,
    actor: Uuid,
    group_id: Uuid,
) -> Result<Change, CommandError> {
    let group = lock_unresolved(conn, group_id, "acknowledge").await?;
    if group.acknowledged_at.is_some() {
        return Ok(Change::Unchanged);
    }
    let now = OffsetDateTime::now_utc();
    let state = GroupFacts {
        firing: true,
        silenced: group.silence_id.is_some(),
        acknowledged: true,
    }
    .state();
    sqlx::query!(
        "UPDATE alert_groups SET state = $2, acknowledged_at = $3, acknowledged_by = $4, \
             version = version + 1, updated_at = now() \
         WHERE id = $1",
        group.id,
        state as AlertGroupState,
        now,
        actor
    )
    .execute(&mut *conn)
    .await?;
    let entry = NewGroupEvent {
        actor_id: Some(actor),
        ..NewGroupEvent::by_source(GroupEventKind::Acknowledged, "Acknowledged.".into(), now)
    };
    history::record(&mut *conn, group.id, entry).await?;
    let event = AlertGroupEvent::Acknowledged {
        group_id: group.id,
        by: Some(actor),
    };
    event.record(&mut *conn).await?;
    wake_live_pages(conn).await?;
    Ok(Change::Made)
}

/// `actor` resolves the group and every alert of it still firing. If the source keeps
/// firing, its next send opens a new group. A resolved group is refused.
#[tracing::instrument(skip(conn))]
pub async fn resolve(
    conn: &mut PgConnection,
    actor: Uuid,
    group_id: Uuid,
) -> Result<(), CommandError> {
    let group = lock_unresolved(conn, group_id, "resolve").await?;
    let mark = history::summary_mark(&mut *conn, group.id).await?;
    let now = OffsetDateTime::now_utc();
    let firing = groups::alerts_of(&mut *conn, group.id)
        .await?
        .into_iter()
        .filter(|a| a.status == AlertStatus::Firing);
    let mut resolved = 0;
    for alert in firing {
        groups::resolve_alert(&mut *conn, alert.id, now).await?;
        let body = format!("Resolved by hand: {}", alert.summary);
        let entry = NewGroupEvent {
            actor_id: Some(actor),
            ..NewGroupEvent::by_source(GroupEventKind::AlertResolved, body, now)
                .about(alert.id)
                .with(serde_json::json!({"reason": "by_person"}))
        };
        history::record(&mut *conn, group.id, entry).await?;
        resolved += 1;
    }
    if let Some(mark) = mark {
        history::summarise_since(&mut *conn, group.id, mark).await?;
    }
    sqlx::query!(
        "UPDATE alert_groups SET state = 'resolved', resolved_at = $2, resolved_by = $3, \
             alerts_firing = 0, version = version + 1, updated_at = now() \
         WHERE id = $1",
        group.id,
        now,
        actor
    )
    .execute(&mut *conn)
    .await?;
    let body = match resolved {
        0 => "Resolved.".to_owned(),
        1 => "Resolved, with its firing alert.".to_owned(),
        n => format!("Resolved, with its {n} firing alerts."),
    };
    let entry = NewGroupEvent {
        actor_id: Some(actor),
        ..NewGroupEvent::by_source(GroupEventKind::Resolved, body, now)
    };
    history::record(&mut *conn, group.id, entry).await?;
    let event = AlertGroupEvent::Resolved {
        group_id: group.id,
        by: Some(actor),
    };
    event.record(&mut *conn).await?;
    wake_live_pages(conn).await?;
    Ok(())
}
