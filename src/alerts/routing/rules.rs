//! Routing rules and their evaluation: the first enabled rule, by position, whose
//! conditions hold decides a group's urgency and actions.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::matcher::{is_label_name, CompiledMatcher, Matcher, MatcherError};
use super::template::Template;
use crate::alerts::intake::Labels;
use crate::alerts::{AlertSeverity, AlertUrgency};
use crate::components::ComponentStatus;
use crate::incidents::Severity;

/// A routing rule as stored in `routing_rules`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub enabled: bool,
    /// All must match the group's labels.
    pub matchers: Vec<Matcher>,
    /// The integrations the rule applies to; empty: any.
    pub integration_ids: Vec<Uuid>,
    /// The group severities the rule applies to; empty: any.
    pub severities: Vec<AlertSeverity>,
    pub urgency: AlertUrgency,
    pub declare: Option<DeclareAction>,
    pub component_status: Option<ComponentStatusAction>,
}

/// Declare an incident for the group (the `declare` column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeclareAction {
    /// `None`: from the group's severity ([`severity_to_incident`]).
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub component_ids: Vec<Uuid>,
    /// A label whose value names the affected component (matched case-insensitively).
    #[serde(default)]
    pub component_label: Option<String>,
    /// `None`: the group's title.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub title_template: Option<Template>,
}

/// Change the status of the group's components (the `component_status` column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComponentStatusAction {
    #[serde(default)]
    pub component_ids: Vec<Uuid>,
    /// A label whose value names the affected component (matched case-insensitively).
    #[serde(default)]
    pub component_label: Option<String>,
    pub status: ComponentStatus,
    #[serde(default)]
    pub apply: Apply,
}

/// How far a component status change goes without a person.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Apply {
    /// Offered on the group page for a person to apply with one click.
    #[default]
    Propose,
    /// Set for responders; the status page does not change.
    Known,
    /// Set on the public status page too.
    Public,
}

/// Why a rule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleProblem {
    #[error(transparent)]
    Matcher(#[from] MatcherError),
    #[error("the component label `{0}` is not a label name: use letters, digits and underscores, not starting with a digit")]
    ComponentLabel(String),
    #[error(
        "the component status change names no components: give component ids or a component label"
    )]
    NoComponents,
}

/// A rule that cannot be used, named for the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("routing rule `{name}`: {problem}")]
pub struct RuleError {
    pub id: Uuid,
    pub name: String,
    pub problem: RuleProblem,
}

/// The default incident severity for a group's severity, prefilled when declaring.
pub fn severity_to_incident(severity: AlertSeverity) -> Severity {
    match severity {
        AlertSeverity::Critical => Severity::Sev2,
        AlertSeverity::Error => Severity::Sev3,
        AlertSeverity::Warning | AlertSeverity::Info => Severity::Sev4,
    }
}

impl DeclareAction {
    /// The incident's severity: the rule's, else the mapping from the group's.
    pub fn incident_severity(&self, group: AlertSeverity) -> Severity {
        self.severity.unwrap_or_else(|| severity_to_incident(group))
    }
}

impl Rule {
    /// Compiles the matchers and checks the actions, as when the rule is saved.
    pub fn compile(&self) -> Result<CompiledRule, RuleError> {
        self.compile_parts().map_err(|problem| RuleError {
            id: self.id,
            name: self.name.clone(),
            problem,
        })
    }

    fn compile_parts(&self) -> Result<CompiledRule, RuleProblem> {
        let matchers = self
            .matchers
            .iter()
            .map(Matcher::compile)
            .collect::<Result<_, _>>()?;
        let labels = [
            self.declare
                .as_ref()
                .and_then(|d| d.component_label.as_ref()),
            self.component_status
                .as_ref()
                .and_then(|c| c.component_label.as_ref()),
        ];
        if let Some(bad) = labels.into_iter().flatten().find(|l| !is_label_name(l)) {
            return Err(RuleProblem::ComponentLabel(bad.clone()));
        }
        if let Some(change) = &self.component_status {
            if change.component_ids.is_empty() && change.component_label.is_none() {
                return Err(RuleProblem::NoComponents);
            }
        }
        Ok(CompiledRule {
            rule: self.clone(),
            matchers,
        })
    }
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    rule: Rule,
    matchers: Vec<CompiledMatcher>,
}

impl CompiledRule {
    fn matches(&self, facts: &RouteFacts<'_>) -> bool {
        let rule = &self.rule;
        (rule.integration_ids.is_empty() || rule.integration_ids.contains(&facts.integration_id))
            && (rule.severities.is_empty() || rule.severities.contains(&facts.severity))
            && self.matchers.iter().all(|m| m.matches(facts.labels))
    }
}

/// The enabled rules in the order they are tried.
#[derive(Debug, Clone, Default)]
pub struct CompiledRules {
    rules: Vec<CompiledRule>,
}

/// What a group is routed on.
#[derive(Debug, Clone, Copy)]
pub struct RouteFacts<'a> {
    pub integration_id: Uuid,
    /// The integration's default route, taken when no rule matches.
    pub default_urgency: AlertUrgency,
    pub labels: &'a Labels,
    /// The group's normalised severity (not its `severity` label).
    pub severity: AlertSeverity,
}

/// Where a group goes: its urgency and the actions to run for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The rule that matched (id, name); `None`: the integration's default route.
    pub rule: Option<(Uuid, String)>,
    pub urgency: AlertUrgency,
    pub declare: Option<DeclareAction>,
    pub component_status: Option<ComponentStatusAction>,
}

impl CompiledRules {
    /// Compiles the enabled rules and orders them by position. Rules of the same
    /// position keep the order given (the store lists them by `created_at`).
    pub fn new(rules: Vec<Rule>) -> Result<CompiledRules, RuleError> {
        let mut compiled = rules
            .iter()
            .filter(|rule| rule.enabled)
            .map(Rule::compile)
            .collect::<Result<Vec<_>, _>>()?;
        compiled.sort_by_key(|c| c.rule.position);
        Ok(CompiledRules { rules: compiled })
    }

    /// Like [`CompiledRules::new`], but a rule that does not compile is left out and
    /// returned with its error instead of refusing them all: routing goes on with the
    /// rules that still work.
    pub fn skipping_invalid(rules: Vec<Rule>) -> (CompiledRules, Vec<RuleError>) {
        let mut compiled = Vec::with_capacity(rules.len());
        let mut errors = Vec::new();
        for rule in rules.iter().filter(|rule| rule.enabled) {
            match rule.compile() {
                Ok(rule) => compiled.push(rule),
                Err(err) => errors.push(err),
            }
        }
        compiled.sort_by_key(|c| c.rule.position);
        (CompiledRules { rules: compiled }, errors)
    }

    /// The first matching rule's route, else the integration's default route.
    pub fn evaluate(&self, facts: &RouteFacts<'_>) -> Route {
        match self.rules.iter().find(|rule| rule.matches(facts)) {
            Some(CompiledRule { rule, .. }) => Route {
                rule: Some((rule.id, rule.name.clone())),
                urgency: rule.urgency,
                declare: rule.declare.clone(),
                component_status: rule.component_status.clone(),
            },
            None => Route::default_for(facts.default_urgency),
        }
    }
}

impl Route {
    /// The default route: the integration's urgency and no actions.
    pub fn default_for(urgency: AlertUrgency) -> Route {
        Route {
            rule: None,
            urgency,
            declare: None,
            component_status: None,
        }
    }

    /// The group's urgency after this route: it rises to the route's, never falls.
    pub fn raise(&self, current: AlertUrgency) -> AlertUrgency {
        if self.urgency.rank() > current.rank() {
            self.urgency
        } else {
            current
        }
    }
}

#[cfg(test)]
mod tests;
