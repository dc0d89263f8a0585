//! Applying one delivery to its group: the state machine of alert groups.
//!
//! The caller holds the group's lock (`alerts::process`), so deliveries of one group are
//! applied one at a time and in the order they arrived. The rules:
//! - no open group and something fires: a new group opens (also after a resolved one
//!   with the same key: a trigger after resolution is a new group);
//! - no open group and nothing fires (resolve-before-trigger, an acknowledge or resolve
//!   for an unknown key): ignored;
//! - an identical re-send (same digest): only "last seen" and the counts change;
//! - otherwise each alert by fingerprint and start: new, the same, fired again (a newer
//!   start) or resolved (at its end); in a complete payload an alert no longer listed has
//!   resolved; the group resolves only with its last firing alert.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::groups::{self, AlertGroupRow, AlertRow, AlertState, GroupChanges, NewGroupRow};
use super::happened::AlertGroupEvent;
use super::history::{self, GroupEventKind, NewGroupEvent};
use super::intake::{cut, Action, Delivery, Signal, TITLE_MAX};
use super::integrations::IntegrationRow;
use super::{AlertFormat, AlertGroupState, AlertSeverity, AlertStatus, AlertUrgency, GroupFacts};

/// What applying a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new group opened.
    Opened,
    /// An open group changed and is still open.
    Changed,
    /// An identical re-send: only "last seen" changed.
    Repeat,
    /// The group's last firing alert resolved, and so did the group.
    Resolved,
    /// Nothing to apply it to (resolve-before-trigger, an unknown key).
    Ignored,
}

impl Outcome {
    /// The value as counted and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Opened => "new",
            Outcome::Changed => "changed",
            Outcome::Repeat => "repeat",
            Outcome::Resolved => "resolved",
            Outcome::Ignored => "ignored",
        }
    }
}

/// Where a group goes: its urgency, and the routing rule that said so (none: the
/// integration's default route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub urgency: AlertUrgency,
    pub rule_id: Option<Uuid>,
}

/// The route of a group of `integration`. Routing rules are not evaluated yet: every
/// group takes the integration's default route.
pub fn route(integration: &IntegrationRow) -> Route {
    Route {
        urgency: integration.default_urgency,
        rule_id: None,
    }
}

/// A group just routed, as the actions of its route see it.
#[derive(Debug, Clone, Copy)]
pub struct RoutedGroup {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub severity: AlertSeverity,
}

/// Why a group was routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteChange {
    /// The group just opened.
    Opened,
}

/// Everything that follows from a group's route, in the processor's transaction: the
/// domain event that tells paging, and (with routing rules) the route's actions.
pub async fn after_route(
    conn: &mut PgConnection,
    group: RoutedGroup,
    route: Route,
    change: RouteChange,
) -> sqlx::Result<()> {
    match change {
        RouteChange::Opened => {
            AlertGroupEvent::Opened {
                group_id: group.id,
                integration_id: group.integration_id,
                urgency: route.urgency,
                severity: group.severity,
            }
            .record(conn)
            .await
        }
    }
}

/// Apply `delivery`, received at `received_at`, to its group of `integration`.
#[tracing::instrument(skip_all, fields(integration_id = %integration.id))]
pub async fn apply(
    conn: &mut PgConnection,
    integration: &IntegrationRow,
    received_at: OffsetDateTime,
    delivery: &Delivery,
) -> sqlx::Result<Outcome> {
    let digest = delivery.digest();
    let open = groups::lock_open(&mut *conn, integration.id, &delivery.group_key).await?;
    let Some(group) = open else {
        return match &delivery.action {
            Action::Alerts { alerts, .. } if alerts.iter().any(firing) => {
                open_group(conn, integration, received_at, delivery, &digest).await
            }
            _ => Ok(Outcome::Ignored),
        };
    };
    if group.content_hash == digest {
        let fingerprints: Vec<String> = match &delivery.action {
            Action::Alerts { alerts, .. } => alerts.iter().map(|a| a.fingerprint.clone()).collect(),
            Action::Acknowledge | Action::Resolve => Vec::new(),
        };
        groups::repeat(&mut *conn, group.id, &fingerprints, received_at).await?;
        return Ok(Outcome::Repeat);
    }
    let mut acknowledged_at = group.acknowledged_at;
    match &delivery.action {
        Action::Alerts {
            alerts,
            complete,
            truncated,
        } => {
            let authoritative = *complete && *truncated == 0;
            let context = Context {
                group_id: group.id,
                format: delivery.format,
                default_severity: integration.default_severity,
                received_at,
            };
            apply_alerts(conn, &context, alerts, authoritative).await?;
        }
        Action::Acknowledge => {
            if acknowledged_at.is_none() {
                acknowledged_at = Some(received_at);
                let body = format!("Acknowledged by the source ({}).", delivery.format.label());
                let entry =
                    NewGroupEvent::by_source(GroupEventKind::Acknowledged, body, received_at);
                history::record(&mut *conn, group.id, entry).await?;
                let event = AlertGroupEvent::Acknowledged {
                    group_id: group.id,
                    by: None,
                };
                event.record(&mut *conn).await?;
            }
        }
        Action::Resolve => {
            for alert in groups::alerts_of(&mut *conn, group.id).await? {
                if alert.status == AlertStatus::Firing {
                    resolve_quietly(conn, group.id, &alert, received_at, "resolved").await?;
                }
            }
        }
    }
    let settled = Settled {
        received_at,
        digest: &digest,
        acknowledged_at,
        count_received: true,
    };
    settle(conn, &group, delivery, settled).await
}

fn firing(signal: &Signal) -> bool {
    signal.status == AlertStatus::Firing
}

fn worst(severities: impl Iterator<Item = AlertSeverity>) -> Option<AlertSeverity> {
    severities.max_by_key(|s| s.rank())
}

/// Open a group for a delivery in which something fires.
async fn open_group(
    conn: &mut PgConnection,
    integration: &IntegrationRow,
    received_at: OffsetDateTime,
    delivery: &Delivery,
    digest: &[u8],
) -> sqlx::Result<Outcome> {
    let Action::Alerts {
        alerts, truncated, ..
    } = &delivery.action
    else {
        return Ok(Outcome::Ignored);
    };
    let default = integration.default_severity;
    let firing_now: Vec<&Signal> = alerts.iter().filter(|s| firing(s)).collect();
    let severity = worst(firing_now.iter().map(|s| s.severity.unwrap_or(default)));
    let first_alert_at = firing_now
        .iter()
        .map(|s| s.starts_at.unwrap_or(received_at))
        .min()
        .unwrap_or(received_at);
    let runbook = delivery.annotations.get("runbook_url").or_else(|| {
        firing_now
            .iter()
            .find_map(|s| s.annotations.get("runbook_url"))
    });
    let route = route(integration);
    let title = cut(&delivery.title, TITLE_MAX);
    let new = NewGroupRow {
        integration_id: integration.id,
        group_key: &delivery.group_key,
        source_key: delivery.source_key.as_deref(),
        title: &title,
        severity: severity.unwrap_or(default),
        urgency: route.urgency,
        labels: &delivery.labels,
        annotations: &delivery.annotations,
        source_url: delivery.source_url.as_deref(),
        runbook_url: runbook.map(String::as_str),
        truncated_alerts: i32::try_from(*truncated).unwrap_or(i32::MAX),
        first_alert_at,
        received_at,
        content_hash: digest,
    };
    let group_id = groups::insert(&mut *conn, new).await?;
    let opened = NewGroupEvent::by_source(
        GroupEventKind::Opened,
        format!("Opened: {title}"),
        received_at,
    );
    history::record(&mut *conn, group_id, opened).await?;
    let context = Context {
        group_id,
        format: delivery.format,
        default_severity: default,
        received_at,
    };
    apply_alerts(conn, &context, alerts, false).await?;
    let group = groups::lock_open(&mut *conn, integration.id, &delivery.group_key)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let settled = Settled {
        received_at,
        digest,
        acknowledged_at: None,
        count_received: false,
    };
    settle(conn, &group, delivery, settled).await?;
    let routed = RoutedGroup {
        id: group_id,
        integration_id: integration.id,
        severity: severity.unwrap_or(default),
    };
    after_route(conn, routed, route, RouteChange::Opened).await?;
    Ok(Outcome::Opened)
}

/// What applying alerts needs to know about their group.
struct Context {
    group_id: Uuid,
    format: AlertFormat,
    default_severity: AlertSeverity,
    received_at: OffsetDateTime,
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
async fn apply_alerts(
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
    let id = groups::insert_alert(
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
    groups::update_alert(&mut *conn, stored.id, signal, &state, cx.received_at).await?;
    if let Some(entry) = entry {
        history::record(conn, cx.group_id, entry.about(stored.id)).await?;
    }
    Ok(())
}

/// Resolve an alert the source said nothing about itself (`reason`: "absent" from a
/// complete payload, or "resolved" with its whole group).
async fn resolve_quietly(
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

/// How the delivery leaves the group, apart from its alerts.
struct Settled<'a> {
    received_at: OffsetDateTime,
    digest: &'a [u8],
    acknowledged_at: Option<OffsetDateTime>,
    count_received: bool,
}

/// Derive the group's state from its alerts and write it; the group resolves when no
/// alert fires any more.
async fn settle(
    conn: &mut PgConnection,
    group: &AlertGroupRow,
    delivery: &Delivery,
    s: Settled<'_>,
) -> sqlx::Result<Outcome> {
    let alerts = groups::alerts_of(&mut *conn, group.id).await?;
    let firing_now = alerts.iter().filter(|a| a.status == AlertStatus::Firing);
    let severity = worst(firing_now.clone().map(|a| a.severity)).unwrap_or(group.severity);
    let facts = GroupFacts {
        firing: firing_now.count() > 0,
        silenced: group.silence_id.is_some(),
        acknowledged: s.acknowledged_at.is_some(),
    };
    let state = facts.state();
    let resolved_at = (state == AlertGroupState::Resolved).then(|| {
        alerts
            .iter()
            .filter_map(|a| a.ends_at)
            .max()
            .unwrap_or(s.received_at)
    });
    let truncated = match &delivery.action {
        Action::Alerts { truncated, .. } => i32::try_from(*truncated).unwrap_or(i32::MAX),
        Action::Acknowledge | Action::Resolve => 0,
    };
    let changes = GroupChanges {
        state,
        severity,
        labels: &delivery.labels,
        annotations: &delivery.annotations,
        source_url: delivery.source_url.as_deref(),
        truncated_alerts: truncated,
        received_at: s.received_at,
        content_hash: s.digest,
        acknowledged_at: s.acknowledged_at,
        resolved_at,
        count_received: s.count_received,
    };
    groups::save(&mut *conn, group.id, changes).await?;
    let Some(resolved_at) = resolved_at else {
        return Ok(Outcome::Changed);
    };
    let body = "Resolved: every alert of the group has resolved.".to_owned();
    let entry = NewGroupEvent::by_source(GroupEventKind::Resolved, body, resolved_at);
    history::record(&mut *conn, group.id, entry).await?;
    let event = AlertGroupEvent::Resolved {
        group_id: group.id,
        by: None,
    };
    event.record(conn).await?;
    Ok(Outcome::Resolved)
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
