//! Testing routing rules against a pasted payload: the payload is read by the same
//! parser as its ingest door, and the saved rules (with an optional draft among them)
//! are evaluated as the processor would. Nothing is written.

use sqlx::PgConnection;
use uuid::Uuid;

use super::actions::named_components;
use super::rules::{Apply, RouteFacts, Rule};
use super::store;
use super::template::TemplateInput;
use crate::alerts::intake::{
    alertmanager, generic, pagerduty, Action, Delivery, IntakeError, Labels,
};
use crate::alerts::integrations;
use crate::alerts::{AlertFormat, AlertSeverity, AlertStatus, AlertUrgency, IntegrationKind};
use crate::components::{self, ComponentStatus};
use crate::incidents::Severity;
use crate::platform::command::CommandError;

/// What to test.
#[derive(Debug, Clone)]
pub struct RuleTest {
    pub kind: IntegrationKind,
    /// The body as the sender would post it.
    pub payload: Vec<u8>,
    /// The integration it would arrive at (its defaults and id); `None`: the defaults of
    /// a new integration, and rules limited to integrations do not match.
    pub integration_id: Option<Uuid>,
    /// A rule not saved yet (or a saved one as edited, by its id), tried at its position.
    pub draft: Option<Rule>,
}

/// The rule that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRule {
    pub id: Uuid,
    pub name: String,
    /// It is the draft.
    pub draft: bool,
}

/// The incident a `declare` action would declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WouldDeclare {
    pub title: String,
    pub severity: Severity,
    pub components: Vec<String>,
}

/// The component status a `component_status` action would propose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WouldPropose {
    pub status: ComponentStatus,
    pub apply: Apply,
    pub components: Vec<String>,
}

/// What the payload would become and how it would be routed. When the payload does not
/// read, only `errors` is set.
#[derive(Debug, Clone, Default)]
pub struct RuleTestResult {
    pub group_key: Option<String>,
    pub title: Option<String>,
    pub severity: Option<AlertSeverity>,
    pub labels: Labels,
    pub matched_rule: Option<MatchedRule>,
    pub urgency: Option<AlertUrgency>,
    pub declare: Option<WouldDeclare>,
    pub component_status: Option<WouldPropose>,
    /// Why the payload or the draft cannot be used, and saved rules that were skipped.
    pub errors: Vec<String>,
}

/// Read `payload` as the door of `kind` does (PagerDuty: v1 when it has `service_key`
/// or `event_type`, else v2).
pub fn parse(kind: IntegrationKind, payload: &[u8]) -> Result<Delivery, IntakeError> {
    match kind {
        IntegrationKind::Alertmanager => alertmanager::parse(AlertFormat::Alertmanager, payload),
        IntegrationKind::Grafana => alertmanager::parse(AlertFormat::Grafana, payload),
        IntegrationKind::Generic => generic::parse(payload),
        IntegrationKind::Pagerduty => {
            let v1 = serde_json::from_slice::<serde_json::Value>(payload)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .is_some_and(|o| o.contains_key("service_key") || o.contains_key("event_type"));
            let read = if v1 {
                pagerduty::parse_v1
            } else {
                pagerduty::parse_v2
            };
            read(payload).map(|enqueued| enqueued.delivery)
        }
    }
}

/// Run `test` against the saved rules. Reads only.
pub async fn run(conn: &mut PgConnection, test: RuleTest) -> Result<RuleTestResult, CommandError> {
    let integration = match test.integration_id {
        Some(id) => Some(integrations::find(&mut *conn, id).await?.ok_or_else(|| {
            CommandError::invalid("integration_id", format!("There is no integration {id}."))
        })?),
        None => None,
    };
    let delivery = match parse(test.kind, &test.payload) {
        Ok(delivery) => delivery,
        Err(err) => {
            return Ok(RuleTestResult {
                errors: vec![format!("The payload cannot be read: {err}.")],
                ..RuleTestResult::default()
            })
        }
    };
    let mut errors = Vec::new();
    let mut rules = store::enabled_rules(&mut *conn).await?;
    let draft_id = test.draft.as_ref().map(|d| d.id);
    if let Some(draft) = test.draft {
        rules.retain(|r| r.id != draft.id);
        match draft.compile() {
            // Appended, then ordered by position: it comes after saved rules of the same
            // position, as it would once saved.
            Ok(_) => rules.push(draft),
            Err(err) => errors.push(format!("The draft rule cannot be used: {}.", err.problem)),
        }
    }
    rules.sort_by_key(|r| r.position);
    let (compiled, skipped) = super::CompiledRules::skipping_invalid(rules);
    errors.extend(skipped.iter().map(|e| format!("Skipped {e}.")));

    let default_severity = integration
        .as_ref()
        .map_or(AlertSeverity::Error, |i| i.default_severity);
    let signals = match &delivery.action {
        Action::Alerts { alerts, .. } => alerts.as_slice(),
        Action::Acknowledge | Action::Resolve => &[],
    };
    let firing: Vec<_> = signals
        .iter()
        .filter(|s| s.status == AlertStatus::Firing)
        .collect();
    let severity = firing
        .iter()
        .map(|s| s.severity.unwrap_or(default_severity))
        .max_by_key(|s| s.rank())
        .unwrap_or(default_severity);
    let route = compiled.evaluate(&RouteFacts {
        // No integration: an id no rule names.
        integration_id: integration.as_ref().map_or(Uuid::nil(), |i| i.id),
        default_urgency: integration
            .as_ref()
            .map_or(AlertUrgency::High, |i| i.default_urgency),
        labels: &delivery.labels,
        severity,
    });
    let all = components::list(&mut *conn).await?;
    let names = |ids: &[Uuid], label: Option<&str>| -> Vec<String> {
        named_components(ids, label, &delivery.labels, &all)
            .into_iter()
            .map(|c| c.name.clone())
            .collect()
    };
    let integration_name = integration.as_ref().map_or("", |i| i.name.as_str());
    let declare = route.declare.as_ref().map(|d| WouldDeclare {
        title: d
            .title_template
            .as_ref()
            .and_then(|t| {
                t.render(&TemplateInput {
                    labels: &delivery.labels,
                    annotations: &delivery.annotations,
                    severity,
                    integration: integration_name,
                    count: u32::try_from(firing.len()).unwrap_or(u32::MAX),
                })
            })
            .unwrap_or_else(|| delivery.title.clone()),
        severity: d.incident_severity(severity),
        components: names(&d.component_ids, d.component_label.as_deref()),
    });
    let component_status = route.component_status.as_ref().map(|c| WouldPropose {
        status: c.status,
        apply: c.apply,
        components: names(&c.component_ids, c.component_label.as_deref()),
    });
    Ok(RuleTestResult {
        group_key: Some(delivery.group_key.clone()),
        title: Some(delivery.title.clone()),
        severity: Some(severity),
        matched_rule: route.rule.map(|(id, name)| MatchedRule {
            id,
            name,
            draft: Some(id) == draft_id,
        }),
        urgency: Some(route.urgency),
        declare,
        component_status,
        errors,
        labels: delivery.labels,
    })
}
