//! The webhook consumer of the domain-event stream: turns what happened into one message
//! per event in the Statuspage shapes and one delivery per interested subscriber, in the
//! consumer's own transaction, outside the transaction of the person who acted.

use futures_util::future::BoxFuture;
use sqlx::PgConnection;

use super::outbox::{self, Event};
use crate::components::ComponentEvent;
use crate::incidents::IncidentEvent;
use crate::maintenance::{MaintenanceEvent, MaintenanceStatus};
use crate::platform::events::{Consumer, StoredEvent};
use crate::postmortems::PostmortemEvent;

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
            let family = event.kind.split('.').next().unwrap_or_default();
            let payload = event.payload.clone();
            match family {
                "incident" => incident(conn, serde_json::from_value(payload)?).await?,
                "component" => component(conn, serde_json::from_value(payload)?).await?,
                "maintenance" => maintenance(conn, serde_json::from_value(payload)?).await?,
                "postmortem" => postmortem(conn, serde_json::from_value(payload)?).await?,
                _ => {}
            }
            Ok(())
        })
    }
}

async fn incident(conn: &mut PgConnection, event: IncidentEvent) -> sqlx::Result<()> {
    let (incident_id, webhook) = match event {
        // Subscribers hear of a published incident made public again as of a new one.
        IncidentEvent::MadePublicAgain { incident_id } => (incident_id, Event::IncidentCreated),
        IncidentEvent::UpdatePosted { notify: false, .. }
        | IncidentEvent::UpdatePosted { public: false, .. } => return Ok(()),
        // Subscribers first hear of an incident as created, even when the update that
        // published it notified nobody.
        IncidentEvent::UpdatePosted {
            incident_id,
            announces,
            resolved,
            ..
        } => {
            let webhook = if announces {
                Event::IncidentCreated
            } else if resolved {
                Event::IncidentResolved
            } else {
                Event::IncidentUpdated
            };
            (incident_id, webhook)
        }
    };
    outbox::incident(conn, incident_id, webhook).await.map(drop)
}

async fn component(conn: &mut PgConnection, event: ComponentEvent) -> sqlx::Result<()> {
    let ComponentEvent::PublicStatusChanged {
        component_id,
        old,
        new,
        at,
    } = event;
    outbox::component(conn, component_id, old, new, at)
        .await
        .map(drop)
}

async fn maintenance(conn: &mut PgConnection, event: MaintenanceEvent) -> sqlx::Result<()> {
    let (id, webhook) = match event {
        MaintenanceEvent::Scheduled { maintenance_id } => {
            (maintenance_id, Event::MaintenanceScheduled)
        }
        MaintenanceEvent::Rescheduled { maintenance_id } => {
            (maintenance_id, Event::MaintenanceRescheduled)
        }
        MaintenanceEvent::UpdatePosted { notify: false, .. } => return Ok(()),
        MaintenanceEvent::UpdatePosted {
            maintenance_id,
            from,
            to,
            ..
        } => (maintenance_id, maintenance_webhook(from, to)),
    };
    outbox::maintenance(conn, id, webhook).await.map(drop)
}

/// What a maintenance update is called on the wire.
fn maintenance_webhook(from: MaintenanceStatus, to: MaintenanceStatus) -> Event {
    match to {
        _ if to == from => Event::MaintenanceUpdated,
        MaintenanceStatus::Scheduled => Event::MaintenanceScheduled,
        MaintenanceStatus::InProgress if !from.is_active() => Event::MaintenanceStarted,
        MaintenanceStatus::InProgress | MaintenanceStatus::Verifying => Event::MaintenanceUpdated,
        MaintenanceStatus::Completed => Event::MaintenanceCompleted,
        MaintenanceStatus::Cancelled => Event::MaintenanceCancelled,
    }
}

async fn postmortem(conn: &mut PgConnection, event: PostmortemEvent) -> sqlx::Result<()> {
    let PostmortemEvent::Published { incident_id } = event;
    outbox::incident(conn, incident_id, Event::PostmortemPublished)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MaintenanceStatus::*;

    #[test]
    fn maintenance_updates_are_named_by_where_they_move() {
        assert_eq!(
            maintenance_webhook(Scheduled, InProgress),
            Event::MaintenanceStarted
        );
        assert_eq!(
            maintenance_webhook(InProgress, Verifying),
            Event::MaintenanceUpdated
        );
        assert_eq!(
            maintenance_webhook(Verifying, Verifying),
            Event::MaintenanceUpdated
        );
        assert_eq!(
            maintenance_webhook(Verifying, Completed),
            Event::MaintenanceCompleted
        );
        assert_eq!(
            maintenance_webhook(Scheduled, Cancelled),
            Event::MaintenanceCancelled
        );
    }
}
