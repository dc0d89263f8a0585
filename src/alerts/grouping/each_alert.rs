//! Applying the alerts of one delivery to the alerts of its group: new, the same, fired
//! again (a newer start) or resolved (at its end); in a complete payload, an alert of the
//! same format no longer listed has resolved.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::firing;
use crate::alerts::groups::{self, AlertRow, AlertState};
use crate::alerts::history::{self, GroupEventKind, NewGroupEvent};
use crate::alerts::intake::Signal;
use crate::alerts::{AlertFormat, AlertSeverity, AlertStatus};

/// What applying alerts needs to know about their group.
pub(super) struct Context {
    pub group_id: Uuid,
    pub format: AlertFormat,
    pub default_severity: AlertSeverity,
    pub received_at: OffsetDateTime,
}

fn name_of(signal: &Signal) -> &str {
    if signal.summary.trim().is_empty() {
        &signal.fingerprint
    } else {
        &signal.summary
    }
}

/// Apply each alert of a delivery to the group's alerts; with `authoritative`, alerts of
/// the same format it no longer lists have resolved.
pub(super) async fn apply_alerts(
    conn: &mut PgConnection,
    cx: &Context,
    signals: &[Signal],
    authoritative: bool,
) -> sqlx::Result<()> {
    let existing = groups::alerts_of(&mut *conn, cx.group_id).await?;
    let by_fingerprint: HashMap<&str, &AlertRow> = existing
        .iter()
        .map(|a| (a.fingerprint.as_str(), a))
        .collect();
    let mut listed = HashSet::new();
    for signal in signals {
        listed.insert(signal.fingerprint.as_str());
        match by_fingerprint.get(signal.fingerprint.as_str()) {
            None if firing(signal) => fire(conn, cx, signal).await?,
            // An alert never seen firing that resolved: nothing to resolve.
            None => {}
            Some(stored) => apply_known(conn, cx, signal, stored).await?,
        }
    }
    if authoritative {
        for alert in &existing {
            let absent = !listed.contains(alert.fingerprint.as_str());
            if absent && alert.status == AlertStatus::Firing && alert.format == cx.format {
                resolve_quietly(conn, cx.group_id, alert, cx.received_at, "absent").await?;
            }
        }
    }
    Ok(())
}

/// A new alert fires.
async fn fire(conn: &mut PgConnection, cx: &Context, signal: &Signal) -> sqlx::Result<()> {
    let state = AlertState {
        status: AlertStatus::Firing,
        severity: signal.severity.unwrap_or(cx.default_severity),
        starts_at: signal.starts_at.unwrap_or(cx.received_at),
        ends_at: None,
    };
    let id = groups::save_alert(
        &mut *conn,
        cx.group_id,
        cx.format,
        signal,
        &state,
        cx.received_at,
    )
    .await?;
    let body = format!("{} fired.", name_of(signal));
    let entry =
        NewGroupEvent::by_source(GroupEventKind::AlertFired, body, state.starts_at).about(id);
    history::record(conn, cx.group_id, entry).await
}

/// A signal about an alert the group has.
async fn apply_known(
    conn: &mut PgConnection,
    cx: &Context,
    signal: &Signal,
    stored: &AlertRow,
) -> sqlx::Result<()> {
    let severity = signal.severity.unwrap_or(cx.default_severity);
    let (state, entry) = match (signal.status, stored.status) {
        (AlertStatus::Firing, _) => {
            let newer = match signal.starts_at {
                Some(starts) => (starts > stored.starts_at).then_some(starts),
                // No start given (PagerDuty): a trigger on a resolved alert fires it again.
                None => (stored.status == AlertStatus::Resolved).then_some(cx.received_at),
            };
            match newer {
                Some(starts) => {
                    let body = format!("{} fired again.", name_of(signal));
                    let entry =
                        NewGroupEvent::by_source(GroupEventKind::AlertRefired, body, starts)
                            .with(json!({ "previous_starts_at": rfc3339(stored.starts_at) }));
                    let state = AlertState {
                        status: AlertStatus::Firing,
                        severity,
                        starts_at: starts,
                        ends_at: None,
                    };
                    (state, Some(entry))
                }
                None if stored.status == AlertStatus::Firing => {
                    let state = AlertState {
                        status: AlertStatus::Firing,
                        severity,
                        starts_at: stored.starts_at,
                        ends_at: None,
                    };
                    (state, None)
                }
                // The firing of an episode that has already resolved, arriving late.
                None => return Ok(()),
            }
        }
        (AlertStatus::Resolved, AlertStatus::Firing) => {
            if signal.starts_at.is_some_and(|s| s < stored.starts_at) {
                // The end of an earlier episode, arriving late.
                return Ok(());
            }
            let ends = signal
                .ends_at
                .unwrap_or(cx.received_at)
                .max(stored.starts_at);
            let body = format!("{} resolved.", name_of(signal));
            let entry = NewGroupEvent::by_source(GroupEventKind::AlertResolved, body, ends);
            let state = AlertState {
                status: AlertStatus::Resolved,
                severity: stored.severity,
                starts_at: stored.starts_at,
                ends_at: Some(ends),
            };
            (state, Some(entry))
        }
        (AlertStatus::Resolved, AlertStatus::Resolved) => return Ok(()),
    };
    groups::save_alert(
        &mut *conn,
        cx.group_id,
        stored.format,
        signal,
        &state,
        cx.received_at,
    )
    .await?;
    if let Some(entry) = entry {
        history::record(conn, cx.group_id, entry.about(stored.id)).await?;
    }
    Ok(())
}

/// Resolve an alert the source said nothing about itself (`reason`: "absent" from a
/// complete payload, or "resolved" with its whole group).
pub(super) async fn resolve_quietly(
    conn: &mut PgConnection,
    group_id: Uuid,
    alert: &AlertRow,
    at: OffsetDateTime,
    reason: &str,
) -> sqlx::Result<()> {
    groups::resolve_alert(&mut *conn, alert.id, at).await?;
    let name = if alert.summary.trim().is_empty() {
        &alert.fingerprint
    } else {
        &alert.summary
    };
    let body = match reason {
        "absent" => format!("{name} resolved (no longer sent)."),
        _ => format!("{name} resolved with its group."),
    };
    let entry =
        NewGroupEvent::by_source(GroupEventKind::AlertResolved, body, at.max(alert.starts_at))
            .about(alert.id)
            .with(json!({ "reason": reason }));
    history::record(conn, group_id, entry).await
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
