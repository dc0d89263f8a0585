//! A group's route and what follows from it: routing rules decide the urgency when a
//! group opens and again on each later delivery that changes it, the urgency only
//! rises, and the route's actions run in the processor's transaction.
//!
//! What runs: the `opened` and `escalated` domain events, the `escalated` history entry,
//! the `component_status` action as proposals (`routing::actions::propose_component_status`)
//! and the `declare` action, once per group (`routing::actions::declare_incident`).

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::alerts::groups::{self, AlertGroupRow};
use crate::alerts::happened::AlertGroupEvent;
use crate::alerts::history::{self, GroupEventKind, NewGroupEvent};
use crate::alerts::intake::Labels;
use crate::alerts::integrations::IntegrationRow;
use crate::alerts::routing::{actions, CompiledRules, Route, RouteFacts};
use crate::alerts::{AlertSeverity, AlertUrgency};

/// The route of a group of `integration` with these labels and severity: the first
/// matching rule of `rules`, else the integration's default urgency.
pub fn route(
    integration: &IntegrationRow,
    rules: &CompiledRules,
    labels: &Labels,
    severity: AlertSeverity,
) -> Route {
    rules.evaluate(&RouteFacts {
        integration_id: integration.id,
        default_urgency: integration.default_urgency,
        labels,
        severity,
    })
}

/// A group just routed, as the actions of its route see it.
#[derive(Debug, Clone, Copy)]
pub struct RoutedGroup<'a> {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub severity: AlertSeverity,
    pub labels: &'a Labels,
    /// When the delivery that routed it was received.
    pub at: OffsetDateTime,
}

/// Why a group was routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteChange {
    /// The group just opened.
    Opened,
    /// A later delivery raised its urgency from `from`.
    Escalated { from: AlertUrgency },
}

/// Everything that follows from a group's route, in the processor's transaction: the
/// domain event that tells paging, the history entry of an escalation, and the route's
/// actions: `component_status` (proposed only) and `declare`.
pub async fn after_route(
    conn: &mut PgConnection,
    group: RoutedGroup<'_>,
    route: &Route,
    change: RouteChange,
) -> sqlx::Result<()> {
    match change {
        RouteChange::Opened => {
            let event = AlertGroupEvent::Opened {
                group_id: group.id,
                integration_id: group.integration_id,
                urgency: route.urgency,
                severity: group.severity,
            };
            event.record(&mut *conn).await?;
        }
        RouteChange::Escalated { from } => {
            let by = match &route.rule {
                Some((_, name)) => format!("routing rule \"{name}\""),
                None => "the integration's default route".to_owned(),
            };
            let body = format!(
                "Escalated: urgency {} → {} ({by}).",
                from.label().to_lowercase(),
                route.urgency.label().to_lowercase()
            );
            let data = serde_json::json!({
                "from": from,
                "to": route.urgency,
                "rule_id": route.rule.as_ref().map(|(id, _)| id),
            });
            let entry = NewGroupEvent::by_source(GroupEventKind::Escalated, body, group.at);
            history::record(&mut *conn, group.id, entry.with(data)).await?;
            let event = AlertGroupEvent::Escalated {
                group_id: group.id,
                urgency: route.urgency,
            };
            event.record(&mut *conn).await?;
        }
    }
    if let (Some((rule_id, name)), Some(action)) = (&route.rule, &route.component_status) {
        let rule = (*rule_id, name.as_str());
        actions::propose_component_status(conn, group.id, rule, action, group.labels, group.at)
            .await?;
    }
    if let (Some((rule_id, name)), Some(action)) = (&route.rule, &route.declare) {
        actions::declare_incident(conn, group, (*rule_id, name.as_str()), action).await?;
    }
    Ok(())
}

/// Route an open group again after a delivery changed it: when the route's urgency is
/// higher than the group's, the group takes it (and the rule), and the escalation runs
/// [`after_route`]. A lower urgency changes nothing.
pub async fn reroute(
    conn: &mut PgConnection,
    integration: &IntegrationRow,
    rules: &CompiledRules,
    group: &AlertGroupRow,
    labels: &Labels,
    severity: AlertSeverity,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let route = route(integration, rules, labels, severity);
    let urgency = route.raise(group.urgency);
    if urgency == group.urgency {
        return Ok(());
    }
    let rule_id = route.rule.as_ref().map(|(id, _)| *id);
    groups::set_route(&mut *conn, group.id, urgency, rule_id).await?;
    let routed = RoutedGroup {
        id: group.id,
        integration_id: integration.id,
        severity,
        labels,
        at,
    };
    let change = RouteChange::Escalated {
        from: group.urgency,
    };
    after_route(conn, routed, &route, change).await
}
