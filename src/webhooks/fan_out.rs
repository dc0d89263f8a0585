//! The webhook consumer of the domain-event stream: turns each public change into one
//! message in the Statuspage shapes and one delivery per interested subscriber, in the
//! consumer's own transaction, outside the transaction of the person who acted.

use futures_util::future::BoxFuture;
use sqlx::PgConnection;

use super::outbox::{self, Event};
use crate::platform::events::{Consumer, StoredEvent};
use crate::status_page::changes::{IncidentChange, MaintenanceChange, PublicChange};

/// The consumer's name in `event_consumers`.
pub const CONSUMER: &str = "webhooks";

pub struct WebhookFanOut;

impl Consumer for WebhookFanOut {
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
                send(conn, change).await?;
            }
            Ok(())
        })
    }
}

async fn send(conn: &mut PgConnection, change: PublicChange) -> sqlx::Result<u64> {
    match change {
        PublicChange::Incident {
            incident_id,
            change,
        } => {
            let event = match change {
                IncidentChange::Created => Event::IncidentCreated,
                IncidentChange::Updated => Event::IncidentUpdated,
                IncidentChange::Resolved => Event::IncidentResolved,
                IncidentChange::PostmortemPublished => Event::PostmortemPublished,
            };
            outbox::incident(conn, incident_id, event).await
        }
        PublicChange::Component {
            component_id,
            old,
            new,
            at,
            ..
        } => outbox::component(conn, component_id, old, new, at).await,
        PublicChange::Maintenance {
            maintenance_id,
            change,
        } => {
            let event = match change {
                MaintenanceChange::Scheduled => Event::MaintenanceScheduled,
                MaintenanceChange::Rescheduled => Event::MaintenanceRescheduled,
                MaintenanceChange::Updated => Event::MaintenanceUpdated,
                MaintenanceChange::Started => Event::MaintenanceStarted,
                MaintenanceChange::Completed => Event::MaintenanceCompleted,
                MaintenanceChange::Cancelled => Event::MaintenanceCancelled,
            };
            outbox::maintenance(conn, maintenance_id, event).await
        }
    }
}
