//! A heartbeat's alert: raised through the intake queue of the built-in *Heartbeats*
//! integration (so routing rules, paging and incidents treat it like any monitoring
//! tool's), in the transaction of the change that raised it, and resolved by the next
//! success, a pause or the heartbeat's deletion.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::HeartbeatRow;
use crate::alerts::intake::{Action, Delivery, Signal};
use crate::alerts::model::{AlertFormat, AlertSeverity, AlertStatus};

/// The built-in integration's marker and name.
const BUILTIN: &str = "heartbeats";
const NAME: &str = "Heartbeats";

fn delivery(
    hb: &HeartbeatRow,
    status: AlertStatus,
    summary: String,
    at: OffsetDateTime,
) -> Delivery {
    let mut labels = hb.labels();
    labels.insert("heartbeat".into(), hb.name.clone());
    let severity = labels.get("severity").and_then(|s| AlertSeverity::parse(s));
    let key = format!("heartbeat-{}", hb.id);
    let title = format!("Heartbeat {} is down", hb.name);
    let signal = Signal {
        fingerprint: key.clone(),
        status,
        severity,
        summary: title.clone(),
        description: Some(summary),
        labels: labels.clone(),
        annotations: Default::default(),
        links: Vec::new(),
        // A resolution ends whatever is firing, whenever it started.
        starts_at: (status == AlertStatus::Firing).then_some(at),
        ends_at: (status == AlertStatus::Resolved).then_some(at),
        payload: serde_json::json!({ "heartbeat_id": hb.id, "state": hb.state }),
    };
    Delivery {
        format: AlertFormat::Generic,
        group_key: key,
        source_key: None,
        title,
        labels,
        annotations: Default::default(),
        source_url: None,
        action: Action::Alerts {
            alerts: vec![signal],
            complete: false,
            truncated: 0,
        },
    }
}

async fn store(conn: &mut PgConnection, delivery: &Delivery) -> sqlx::Result<()> {
    let integration = crate::alerts::integrations::builtin(&mut *conn, BUILTIN, NAME).await?;
    crate::alerts::queue::store(conn, integration, delivery).await
}

/// Raise the heartbeat's alert (once: a heartbeat alerting already stays so).
pub async fn raise(
    conn: &mut PgConnection,
    hb: &HeartbeatRow,
    why: String,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    if hb.alerting {
        return Ok(());
    }
    store(&mut *conn, &delivery(hb, AlertStatus::Firing, why, at)).await?;
    sqlx::query!("UPDATE heartbeats SET alerting = true WHERE id = $1", hb.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Resolve the heartbeat's alert, if it raised one.
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
    store(&mut *conn, &delivery(hb, AlertStatus::Resolved, why, at)).await?;
    sqlx::query!(
        "UPDATE heartbeats SET alerting = false WHERE id = $1",
        hb.id
    )
    .execute(conn)
    .await?;
    Ok(())
}
