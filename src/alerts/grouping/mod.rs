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

mod each_alert;

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::alerts::groups::{self, AlertGroupRow, GroupChanges, NewGroupRow};
use crate::alerts::happened::AlertGroupEvent;
use crate::alerts::history::{self, GroupEventKind, NewGroupEvent};
use crate::alerts::intake::{cut, Action, Delivery, Signal, TITLE_MAX};
use crate::alerts::integrations::IntegrationRow;
use crate::alerts::{AlertGroupState, AlertSeverity, AlertStatus, AlertUrgency, GroupFacts};
use each_alert::{apply_alerts, resolve_quietly, Context};

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
