//! The email consumer of the domain-event stream: each public change becomes one
//! rendered message and one delivery per interested confirmed subscriber, in the
//! consumer's transaction. A scheduled or moved maintenance also queues its reminders,
//! jobs that fan out at their time if the plan still holds.

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::compose;
use super::outbox::{self, NewMessage};
use crate::maintenance::{self, MaintenanceStatus};
use crate::platform::events::{Consumer, StoredEvent};
use crate::platform::jobs::queue::{self, NewJob};
use crate::platform::jobs::{HandlerFuture, JobContext, JobError};
use crate::status_page::changes::{IncidentChange, MaintenanceChange, PublicChange};
use crate::status_page::data;

/// The consumer's name in `event_consumers`.
pub const CONSUMER: &str = "email";

/// The job that reminds subscribers of a maintenance.
pub const REMINDER_JOB: &str = "email.maintenance_reminder";

pub struct EmailFanOut;

impl Consumer for EmailFanOut {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            if let Some(change) = PublicChange::of(event)? {
                send(conn, event.id, change).await?;
            }
            Ok(())
        })
    }
}

fn incident_kind(change: IncidentChange) -> &'static str {
    match change {
        IncidentChange::Created => "incident.created",
        IncidentChange::Updated => "incident.updated",
        IncidentChange::Resolved => "incident.resolved",
        IncidentChange::PostmortemPublished => "postmortem.published",
    }
}

fn maintenance_kind(change: MaintenanceChange) -> &'static str {
    match change {
        MaintenanceChange::Scheduled => "maintenance.scheduled",
        MaintenanceChange::Rescheduled => "maintenance.rescheduled",
        MaintenanceChange::Updated => "maintenance.updated",
        MaintenanceChange::Started => "maintenance.started",
        MaintenanceChange::Completed => "maintenance.completed",
        MaintenanceChange::Cancelled => "maintenance.cancelled",
    }
}

async fn send(conn: &mut PgConnection, event_id: i64, change: PublicChange) -> sqlx::Result<u64> {
    let dedupe = format!("event:{event_id}");
    match change {
        PublicChange::Incident {
            incident_id,
            change,
        } => {
            let Some(incident) = data::public_incident(&mut *conn, incident_id).await? else {
                return Ok(0);
            };
            if !outbox::any_interested(&mut *conn, &incident.component_ids).await? {
                return Ok(0);
            }
            let page = data::load_for_messages(&mut *conn).await?;
            let composed = compose::incident(&page, &incident, change);
            let message = NewMessage {
                kind: incident_kind(change),
                subject_id: Some(incident_id),
                dedupe_key: Some(&dedupe),
                composed: &composed,
                base_url: &page.url,
            };
            outbox::fan_out(conn, message, &incident.component_ids).await
        }
        // The incident's or maintenance's own mail lists the components it changed.
        PublicChange::Component { covered: true, .. } => Ok(0),
        PublicChange::Component {
            component_id,
            old,
            new,
            ..
        } => {
            if !outbox::any_interested(&mut *conn, &[component_id]).await? {
                return Ok(0);
            }
            let page = data::load_for_messages(&mut *conn).await?;
            // A component not on the page (hidden) is news to nobody.
            let Some(component) = page.component(component_id) else {
                return Ok(0);
            };
            let composed = compose::component(&page, &component.name, old, new);
            let message = NewMessage {
                kind: "component.updated",
                subject_id: Some(component_id),
                dedupe_key: Some(&dedupe),
                composed: &composed,
                base_url: &page.url,
            };
            outbox::fan_out(conn, message, &[component_id]).await
        }
        PublicChange::Maintenance {
            maintenance_id,
            change,
        } => {
            if matches!(
                change,
                MaintenanceChange::Scheduled | MaintenanceChange::Rescheduled
            ) {
                schedule_reminders(&mut *conn, maintenance_id, OffsetDateTime::now_utc()).await?;
            }
            let message = MaintenanceMessage {
                id: maintenance_id,
                change,
                reminder: None,
                dedupe: &dedupe,
            };
            maintenance_message(conn, message).await
        }
    }
}

struct MaintenanceMessage<'a> {
    id: Uuid,
    change: MaintenanceChange,
    reminder: Option<i32>,
    dedupe: &'a str,
}

async fn maintenance_message(
    conn: &mut PgConnection,
    message: MaintenanceMessage<'_>,
) -> sqlx::Result<u64> {
    let Some(row) = maintenance::find(&mut *conn, message.id).await? else {
        return Ok(0);
    };
    let Some(m) = data::with_details(&mut *conn, vec![row]).await?.pop() else {
        return Ok(0);
    };
    if !outbox::any_interested(&mut *conn, &m.component_ids).await? {
        return Ok(0);
    }
    let page = data::load_for_messages(&mut *conn).await?;
    let composed = compose::maintenance(&page, &m, message.change, message.reminder);
    let kind = match message.reminder {
        Some(_) => "maintenance.reminder",
        None => maintenance_kind(message.change),
    };
    let new = NewMessage {
        kind,
        subject_id: Some(message.id),
        dedupe_key: Some(message.dedupe),
        composed: &composed,
        base_url: &page.url,
    };
    outbox::fan_out(conn, new, &m.component_ids).await
}

/// The reminders of a maintenance that are still news at `now`: each at its lead time
/// before the start, and only when half that lead time (at most 12 hours) lies between
/// now and the reminder: a maintenance announced 40 minutes ahead gets no "in 1 hour"
/// reminder ten minutes later, one announced 30 hours ahead no "in 24 hours" six hours
/// later. A job's dedupe key holds the start, so moving the window queues new ones and
/// the old ones find the plan changed.
pub fn reminders_due(
    starts: OffsetDateTime,
    minutes: &[i32],
    now: OffsetDateTime,
) -> Vec<(i32, OffsetDateTime)> {
    minutes
        .iter()
        .map(|m| (*m, starts - time::Duration::minutes(i64::from(*m))))
        .filter(|(m, at)| {
            let quiet =
                (time::Duration::minutes(i64::from(*m)) / 2_i32).min(time::Duration::hours(12));
            *at - now >= quiet
        })
        .collect()
}

async fn schedule_reminders(
    conn: &mut PgConnection,
    id: Uuid,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    let Some(m) = maintenance::find(&mut *conn, id).await? else {
        return Ok(());
    };
    if m.status != MaintenanceStatus::Scheduled {
        return Ok(());
    }
    let minutes = maintenance::reminder_minutes(&mut *conn, id).await?;
    let starts = m.scheduled_for.unix_timestamp();
    for (lead, at) in reminders_due(m.scheduled_for, &minutes, now) {
        let mut job = NewJob::new(
            REMINDER_JOB,
            json!({"maintenance_id": id, "starts": starts, "minutes": lead}),
        );
        job.run_at = Some(at);
        job.dedupe_key = Some(format!("{REMINDER_JOB}:{id}:{starts}:{lead}"));
        queue::enqueue(&mut *conn, job).await?;
    }
    Ok(())
}

/// The reminder job: fans out only if the maintenance is still scheduled to start when
/// the job was made for, with this reminder still in its plan; and once, whatever runs
/// it twice.
pub fn reminder_job(ctx: JobContext, payload: Value) -> HandlerFuture {
    Box::pin(async move {
        let bad = || {
            JobError::Permanent(format!(
                "a reminder needs maintenance_id, starts and minutes: {payload}"
            ))
        };
        let id = payload
            .get("maintenance_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(bad)?;
        let starts = payload
            .get("starts")
            .and_then(Value::as_i64)
            .ok_or_else(bad)?;
        let minutes = payload
            .get("minutes")
            .and_then(Value::as_i64)
            .and_then(|m| i32::try_from(m).ok())
            .ok_or_else(bad)?;
        let mut tx = ctx.pool.begin().await?;
        let Some(m) = maintenance::find(&mut *tx, id).await? else {
            return Ok(());
        };
        let planned = maintenance::reminder_minutes(&mut *tx, id).await?;
        if m.status != MaintenanceStatus::Scheduled
            || m.scheduled_for.unix_timestamp() != starts
            || !planned.contains(&minutes)
        {
            return Ok(());
        }
        let dedupe = format!("reminder:{id}:{starts}:{minutes}");
        let message = MaintenanceMessage {
            id,
            change: MaintenanceChange::Scheduled,
            reminder: Some(minutes),
            dedupe: &dedupe,
        };
        let sent = maintenance_message(&mut tx, message).await?;
        tx.commit().await?;
        tracing::info!(maintenance = %id, minutes, recipients = sent, "maintenance reminder queued");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::reminders_due;
    use time::macros::datetime;
    use time::Duration;

    #[test]
    fn reminders_come_only_when_they_are_still_news() {
        let starts = datetime!(2026-12-10 02:00 UTC);
        let plan = [4320, 1440, 60];
        let all = reminders_due(starts, &plan, starts - Duration::days(7));
        assert_eq!(
            all,
            vec![
                (4320, starts - Duration::days(3)),
                (1440, starts - Duration::days(1)),
                (60, starts - Duration::hours(1)),
            ]
        );
        // Announced 30 hours ahead: the 24-hour reminder is 6 hours later, less than
        // half its lead time, so only the 1-hour one comes.
        let late = reminders_due(starts, &plan, starts - Duration::hours(30));
        assert_eq!(late, vec![(60, starts - Duration::hours(1))]);
        assert!(reminders_due(starts, &plan, starts - Duration::minutes(80)).is_empty());
        // Announced four days ahead: the 3-day reminder a day later is still news.
        assert_eq!(
            reminders_due(starts, &plan, starts - Duration::days(4)).len(),
            3
        );
    }
}
