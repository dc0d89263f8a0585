//! The alerts monitors raise: through the intake queue of a built-in integration
//! (*Heartbeats*, *Checks*), so routing rules, paging and incidents treat them like any
//! monitoring tool's, in the transaction of the change that raised them. A heartbeat's
//! is resolved by its next success, a check's by its run of successes; pausing or
//! deleting either resolves it too.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::checks::CheckRow;
use super::HeartbeatRow;
use crate::alerts::intake::{Action, Delivery, Labels, Signal};
use crate::alerts::model::{AlertFormat, AlertSeverity, AlertStatus};

/// Where an alert comes from: its built-in integration, its identity and what it says.
struct Source {
    /// The built-in integration's marker and name.
    builtin: &'static str,
    integration: &'static str,
    key: String,
    title: String,
    labels: Labels,
    payload: serde_json::Value,
}

fn heartbeat_key(hb: &HeartbeatRow) -> String {
    format!("heartbeat-{}", hb.id)
}

fn check_key(check: &CheckRow) -> String {
    format!("check-{}", check.id)
}

fn heartbeat(hb: &HeartbeatRow) -> Source {
    let mut labels = hb.labels();
    labels.insert("heartbeat".into(), hb.name.clone());
    Source {
        builtin: "heartbeats",
        integration: "Heartbeats",
        key: heartbeat_key(hb),
        title: format!("Heartbeat {} is down", hb.name),
        labels,
        payload: json!({ "heartbeat_id": hb.id, "state": hb.state }),
    }
}

fn check(c: &CheckRow, component: Option<&str>) -> Source {
    let mut labels = c.labels();
    labels.insert("check".into(), c.name.clone());
    if let Some(name) = component {
        labels.insert("component".into(), name.to_owned());
    }
    Source {
        builtin: "checks",
        integration: "Checks",
        key: check_key(c),
        title: format!("Check {} is down", c.name),
        labels,
        payload: json!({ "check_id": c.id, "kind": c.kind, "target": c.shown_target() }),
    }
}

fn delivery(source: Source, status: AlertStatus, summary: String, at: OffsetDateTime) -> Delivery {
    let severity = source
        .labels
        .get("severity")
        .and_then(|s| AlertSeverity::parse(s));
    let signal = Signal {
        fingerprint: source.key.clone(),
        status,
        severity,
        summary: source.title.clone(),
        description: Some(summary),
        labels: source.labels.clone(),
        annotations: Default::default(),
        links: Vec::new(),
        // A resolution ends whatever is firing, whenever it started.
        starts_at: (status == AlertStatus::Firing).then_some(at),
        ends_at: (status == AlertStatus::Resolved).then_some(at),
        payload: source.payload,
    };
    Delivery {
        format: AlertFormat::Generic,
        group_key: source.key,
        source_key: None,
        title: source.title,
        labels: source.labels,
        annotations: Default::default(),
        source_url: None,
        action: Action::Alerts {
            alerts: vec![signal],
            complete: false,
            truncated: 0,
        },
    }
}

async fn store(
    conn: &mut PgConnection,
    source: Source,
    status: AlertStatus,
    summary: String,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let integration =
        crate::alerts::integrations::builtin(&mut *conn, source.builtin, source.integration)
            .await?;
    let delivery = delivery(source, status, summary, at);
    crate::alerts::queue::store(conn, integration, &delivery).await
}

/// The number of the open alert group the heartbeat raised, if any.
pub async fn open_group(
    db: impl sqlx::PgExecutor<'_>,
    hb: &HeartbeatRow,
) -> sqlx::Result<Option<i64>> {
    crate::alerts::queries::open_group_number(db, &heartbeat_key(hb)).await
}

/// The number of the open alert group the check raised, if any.
pub async fn open_check_group(
    db: impl sqlx::PgExecutor<'_>,
    c: &CheckRow,
) -> sqlx::Result<Option<i64>> {
    crate::alerts::queries::open_group_number(db, &check_key(c)).await
}

/// Raise the heartbeat's alert (once: a heartbeat alerting already stays so), and mark
/// its component for responders.
pub async fn raise(
    conn: &mut PgConnection,
    hb: &HeartbeatRow,
    why: String,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    if hb.alerting {
        return Ok(());
    }
    store(&mut *conn, heartbeat(hb), AlertStatus::Firing, why, at).await?;
    sqlx::query!("UPDATE heartbeats SET alerting = true WHERE id = $1", hb.id)
        .execute(&mut *conn)
        .await?;
    super::effects::heartbeat_down(conn, hb).await
}

/// Resolve the heartbeat's alert, if it raised one, and restore its component.
pub async fn resolve(
    conn: &mut PgConnection,
    hb: &HeartbeatRow,
    at: OffsetDateTime,
    how: &str,
) -> sqlx::Result<()> {
    if !hb.alerting {
        return Ok(());
    }
    let why = format!("{} {how}.", hb.name);
    store(&mut *conn, heartbeat(hb), AlertStatus::Resolved, why, at).await?;
    sqlx::query!(
        "UPDATE heartbeats SET alerting = false WHERE id = $1",
        hb.id
    )
    .execute(&mut *conn)
    .await?;
    super::effects::heartbeat_up(conn, hb).await
}

/// The name of the check's component, for its alert's `component` label.
async fn component_name(conn: &mut PgConnection, c: &CheckRow) -> sqlx::Result<Option<String>> {
    let Some(id) = c.component_id else {
        return Ok(None);
    };
    sqlx::query_scalar!("SELECT name FROM components WHERE id = $1", id)
        .fetch_optional(conn)
        .await
}

/// Raise the check's alert (once), with its component's name as a label.
pub async fn raise_check(
    conn: &mut PgConnection,
    c: &CheckRow,
    why: String,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    if c.alerting {
        return Ok(());
    }
    let component = component_name(&mut *conn, c).await?;
    let source = check(c, component.as_deref());
    store(&mut *conn, source, AlertStatus::Firing, why, at).await?;
    sqlx::query!("UPDATE checks SET alerting = true WHERE id = $1", c.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Resolve the check's alert, if it raised one.
pub async fn resolve_check(
    conn: &mut PgConnection,
    c: &CheckRow,
    at: OffsetDateTime,
    how: &str,
) -> sqlx::Result<()> {
    if !c.alerting {
        return Ok(());
    }
    let why = format!("{} {how}.", c.name);
    let component = component_name(&mut *conn, c).await?;
    let source = check(c, component.as_deref());
    store(&mut *conn, source, AlertStatus::Resolved, why, at).await?;
    sqlx::query!("UPDATE checks SET alerting = false WHERE id = $1", c.id)
        .execute(conn)
        .await?;
    Ok(())
}
