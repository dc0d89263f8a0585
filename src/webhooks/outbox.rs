//! Messages about public changes, written inside the transaction that makes the change:
//! the body is rendered from what that transaction sees, in the Statuspage shapes
//! (shared INTEROP.md §3), and fanned out to one delivery per interested subscriber.

use crate::maintenance;
use serde_json::{json, Value};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::components::ComponentStatus;
use crate::status_page::data::{self, PageData};
use crate::status_page::json;
use crate::webhooks::deliveries::{self, NewMessage};

/// What changed, as named in the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    IncidentCreated,
    IncidentUpdated,
    IncidentResolved,
    ComponentUpdated,
    MaintenanceScheduled,
    MaintenanceRescheduled,
    MaintenanceUpdated,
    MaintenanceStarted,
    MaintenanceCompleted,
    MaintenanceCancelled,
    PostmortemPublished,
    Test,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::IncidentCreated => "incident.created",
            Event::IncidentUpdated => "incident.updated",
            Event::IncidentResolved => "incident.resolved",
            Event::ComponentUpdated => "component.updated",
            Event::MaintenanceScheduled => "maintenance.scheduled",
            Event::MaintenanceRescheduled => "maintenance.rescheduled",
            Event::MaintenanceUpdated => "maintenance.updated",
            Event::MaintenanceStarted => "maintenance.started",
            Event::MaintenanceCompleted => "maintenance.completed",
            Event::MaintenanceCancelled => "maintenance.cancelled",
            Event::PostmortemPublished => "postmortem.published",
            Event::Test => "test",
        }
    }
}

/// The page as the transaction sees it, plus the base URL for links.
async fn page(conn: &mut PgConnection) -> sqlx::Result<PageData> {
    data::load_for_messages(conn).await
}

/// The page as [`page`] reads it, when any subscriber wants news of `components`;
/// `None` when nobody does, so no message is rendered.
async fn page_if_interested(
    conn: &mut PgConnection,
    components: &[Uuid],
) -> sqlx::Result<Option<PageData>> {
    if !deliveries::any_interested(&mut *conn, components).await? {
        return Ok(None);
    }
    page(conn).await.map(Some)
}

fn page_object(data: &PageData) -> Value {
    let status = json::status(data);
    json!({
        "id": data.settings.page_id,
        "status_indicator": status["indicator"],
        "status_description": status["description"],
    })
}

async fn write(
    conn: &mut PgConnection,
    data: &PageData,
    event: Event,
    subject_id: Option<Uuid>,
    body: Value,
    components: &[Uuid],
) -> sqlx::Result<u64> {
    let payload = body.to_string();
    let (_, count) = deliveries::fan_out(
        conn,
        NewMessage {
            event: event.as_str(),
            subject_id,
            payload: &payload,
            base_url: &data.url,
        },
        components,
    )
    .await?;
    Ok(count)
}

/// An incident was published or got a public update. Internal incidents, and incidents
/// not yet on the status page, are never sent.
pub async fn incident(
    conn: &mut PgConnection,
    incident_id: Uuid,
    event: Event,
) -> sqlx::Result<u64> {
    let public = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM public_incidents WHERE id = $1) AS "public!""#,
        incident_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if !public {
        return Ok(0);
    }
    let components = sqlx::query_scalar!(
        "SELECT component_id FROM incident_components WHERE incident_id = $1",
        incident_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(data) = page_if_interested(conn, &components).await? else {
        return Ok(0);
    };
    let Some(incident) = data::public_incident(conn, incident_id).await? else {
        return Ok(0);
    };
    let body = json!({
        "page": page_object(&data),
        "incident": json::incident(&data, &incident),
    });
    write(conn, &data, event, Some(incident_id), body, &components).await
}

/// A component's status changed (whatever the cause: its status is public either way).
pub async fn component(
    conn: &mut PgConnection,
    component_id: Uuid,
    old: ComponentStatus,
    new: ComponentStatus,
    at: OffsetDateTime,
) -> sqlx::Result<u64> {
    let Some(data) = page_if_interested(conn, &[component_id]).await? else {
        return Ok(0);
    };
    let Some(object) = json::components(&data)
        .into_iter()
        .find(|c| c["id"] == json!(component_id) && c["group"] == json!(false))
    else {
        return Ok(0);
    };
    let body = json!({
        "page": page_object(&data),
        "component_update": {
            "id": Uuid::new_v4(),
            "component_id": component_id,
            "old_status": old.as_str(),
            "new_status": new.as_str(),
            "created_at": json::ts(at),
        },
        "component": object,
    });
    write(
        conn,
        &data,
        Event::ComponentUpdated,
        Some(component_id),
        body,
        &[component_id],
    )
    .await
}

/// A maintenance was scheduled, moved, or changed status.
pub async fn maintenance(
    conn: &mut PgConnection,
    maintenance_id: Uuid,
    event: Event,
) -> sqlx::Result<u64> {
    let Some(row) = maintenance::find(&mut *conn, maintenance_id).await? else {
        return Ok(0);
    };
    let components = sqlx::query_scalar!(
        "SELECT component_id FROM maintenance_components WHERE maintenance_id = $1",
        maintenance_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(data) = page_if_interested(conn, &components).await? else {
        return Ok(0);
    };
    let Some(m) = data::with_details(conn, vec![row]).await?.pop() else {
        return Ok(0);
    };
    let body = json!({
        "page": page_object(&data),
        "incident": json::maintenance(&data, &m),
    });
    write(conn, &data, event, Some(maintenance_id), body, &components).await
}

/// A test message for one subscriber, in the incident shape with a made-up incident, so
/// receivers exercise the path real messages take.
pub async fn test(conn: &mut PgConnection, subscriber_id: Uuid) -> sqlx::Result<Uuid> {
    let data = page(conn).await?;
    let now = json::ts(OffsetDateTime::now_utc());
    let id = Uuid::new_v4();
    let body = json!({
        "page": page_object(&data),
        "incident": {
            "id": id,
            "name": "Test message from Fireline",
            "status": "resolved",
            "created_at": now,
            "updated_at": now,
            "monitoring_at": null,
            "resolved_at": now,
            "impact": "none",
            "shortlink": format!("{}/subscribe", data.url),
            "started_at": now,
            "page_id": data.settings.page_id,
            "incident_updates": [{
                "id": Uuid::new_v4(),
                "status": "resolved",
                "body": "This is a test of your webhook. No incident is happening.",
                "incident_id": id,
                "created_at": now,
                "updated_at": now,
                "display_at": now,
                "affected_components": null,
                "deliver_notifications": true,
                "custom_tweet": null,
                "tweet_id": null,
            }],
            "components": [],
            "postmortem_body": null,
        },
    });
    let payload = body.to_string();
    deliveries::send_to(
        conn,
        NewMessage {
            event: Event::Test.as_str(),
            subject_id: None,
            payload: &payload,
            base_url: &data.url,
        },
        subscriber_id,
    )
    .await
}
