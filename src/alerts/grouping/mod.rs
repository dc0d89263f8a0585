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
mod routed;

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::alerts::groups::{self, AlertGroupRow, GroupChanges, NewGroupRow};
use crate::alerts::happened::AlertGroupEvent;
use crate::alerts::history::{self, GroupEventKind, NewGroupEvent};
use crate::alerts::intake::{cut, Action, Delivery, Signal, TITLE_MAX};
use crate::alerts::integrations::IntegrationRow;
use crate::alerts::routing::CompiledRules;
use crate::alerts::silences;
use crate::alerts::{AlertGroupState, AlertSeverity, AlertStatus, GroupFacts};
use each_alert::{apply_alerts, resolve_quietly, Context};
pub use routed::{after_route, reroute, route, RouteChange, RoutedGroup};

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

/// Apply `delivery`, received at `received_at`, to its group of `integration`, routed
/// by `rules`.
#[tracing::instrument(skip_all, fields(integration_id = %integration.id))]
pub async fn apply(
    conn: &mut PgConnection,
    integration: &IntegrationRow,
    rules: &CompiledRules,
    received_at: OffsetDateTime,
    delivery: &Delivery,
) -> sqlx::Result<Outcome> {
    let digest = delivery.digest();
    let open = groups::lock_open(&mut *conn, integration.id, &delivery.group_key).await?;
    let Some(group) = open else {
        return match &delivery.action {
            Action::Alerts { alerts, .. } if alerts.iter().any(firing) => {
                open_group(conn, integration, rules, received_at, delivery, &digest).await
            }
            _ => Ok(Outcome::Ignored),
        };
    };
    if group.content_hash == digest {
        groups::repeat(&mut *conn, group.id, &delivery.fingerprints(), received_at).await?;
        return Ok(Outcome::Repeat);
    }
    let mark = history::summary_mark(&mut *conn, group.id).await?;
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
            if let Some(silence_id) = group.silence_id {
                silences::cover_alerts(&mut *conn, group.id, silence_id).await?;
            }
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
    let (outcome, severity) = settle(conn, &group, delivery, settled).await?;
    if let Some(mark) = mark {
        history::summarise_since(&mut *conn, group.id, mark).await?;
    }
    if outcome == Outcome::Changed {
        let labels = &delivery.labels;
        reroute(
            conn,
            integration,
            rules,
            &group,
            labels,
            severity,
            received_at,
        )
        .await?;
    }
    Ok(outcome)
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
    rules: &CompiledRules,
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
    let severity = severity.unwrap_or(default);
    let route = route(integration, rules, &delivery.labels, severity);
    let title = cut(&delivery.title, TITLE_MAX);
    let new = NewGroupRow {
        integration_id: integration.id,
        group_key: &delivery.group_key,
        source_key: delivery.source_key.as_deref(),
        title: &title,
        severity,
        urgency: route.urgency,
        routing_rule_id: route.rule.as_ref().map(|(id, _)| *id),
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
        severity,
        labels: &delivery.labels,
        at: received_at,
    };
    after_route(conn, routed, &route, RouteChange::Opened).await?;
    silences::cover_opened(conn, group_id, &delivery.labels, received_at).await?;
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
/// alert fires any more. Also returns the group's severity now.
async fn settle(
    conn: &mut PgConnection,
    group: &AlertGroupRow,
    delivery: &Delivery,
    s: Settled<'_>,
) -> sqlx::Result<(Outcome, AlertSeverity)> {
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
        return Ok((Outcome::Changed, severity));
    };
    let body = "Resolved: every alert of the group has resolved.".to_owned();
    let entry = NewGroupEvent::by_source(GroupEventKind::Resolved, body, resolved_at);
    history::record(&mut *conn, group.id, entry).await?;
    let event = AlertGroupEvent::Resolved {
        group_id: group.id,
        by: None,
    };
    event.record(conn).await?;
    Ok((Outcome::Resolved, severity))
}
