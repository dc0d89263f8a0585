//! The routing rule form: its fields as typed (kept to show the form again), read into
//! the command's input, and the choices it offers.

use uuid::Uuid;

use crate::alerts::integrations::IntegrationRow;
use crate::alerts::routing::commands::{NewRule, RuleChanges};
use crate::alerts::routing::store::RuleRow;
use crate::alerts::routing::{Apply, ComponentStatusAction, DeclareAction, Matcher, Template};
use crate::alerts::{AlertSeverity, AlertUrgency};
use crate::components::{ComponentRow, ComponentStatus};
use crate::http::admin::incidents::view::{choices, named_choices, Choice};
use crate::incidents::Severity;

/// The form's fields as typed; ids and names that repeat are collected.
#[derive(Debug, Clone, Default)]
pub struct RuleForm {
    pub name: String,
    /// One matcher a line: `label op value`.
    pub matchers: String,
    pub integrations: Vec<Uuid>,
    pub severities: Vec<String>,
    pub urgency: String,
    pub enabled: bool,
    pub declare: bool,
    pub declare_severity: String,
    pub declare_title: String,
    pub declare_component_label: String,
    pub declare_components: Vec<Uuid>,
    /// A component status to propose; empty: none.
    pub status: String,
    pub status_component_label: String,
    pub status_components: Vec<Uuid>,
    /// The team to page or notify, as typed; empty: the integration's.
    pub team: String,
    /// The escalation policy, as typed; empty: the team's.
    pub policy: String,
    pub version: Option<i32>,
}

impl RuleForm {
    /// A new rule's form: enabled, high urgency.
    pub fn blank() -> RuleForm {
        RuleForm {
            urgency: AlertUrgency::High.as_str().to_owned(),
            enabled: true,
            ..RuleForm::default()
        }
    }

    pub fn from_fields(fields: &[(String, String)]) -> RuleForm {
        let mut form = RuleForm::default();
        let id = |v: &str| Uuid::parse_str(v.trim()).ok();
        for (k, v) in fields {
            match k.as_str() {
                "name" => form.name = v.clone(),
                "matchers" => form.matchers = v.clone(),
                "integration" => form.integrations.extend(id(v)),
                "severity" => form.severities.push(v.clone()),
                "urgency" => form.urgency = v.clone(),
                "enabled" => form.enabled = true,
                "declare" => form.declare = true,
                "declare_severity" => form.declare_severity = v.clone(),
                "declare_title" => form.declare_title = v.clone(),
                "declare_component_label" => form.declare_component_label = v.clone(),
                "declare_component" => form.declare_components.extend(id(v)),
                "status" => form.status = v.clone(),
                "status_component_label" => form.status_component_label = v.clone(),
                "status_component" => form.status_components.extend(id(v)),
                "team" => form.team = v.clone(),
                "policy" => form.policy = v.clone(),
                "version" => form.version = v.trim().parse().ok(),
                _ => {}
            }
        }
        form
    }

    /// The form of a saved rule. A rule whose stored JSON no longer reads shows what
    /// does read, for the admin to fix.
    pub fn from_row(row: &RuleRow) -> RuleForm {
        let rule = row.rule().ok();
        let declare = rule.as_ref().and_then(|r| r.declare.clone());
        let status = rule.as_ref().and_then(|r| r.component_status.clone());
        RuleForm {
            name: row.name.clone(),
            matchers: rule
                .as_ref()
                .map(|r| r.matchers.iter().map(|m| format!("{m}\n")).collect())
                .unwrap_or_default(),
            integrations: row.integration_ids.clone(),
            severities: row.severities.clone(),
            urgency: row.urgency.as_str().to_owned(),
            enabled: row.enabled,
            declare: declare.is_some(),
            declare_severity: declare
                .as_ref()
                .and_then(|d| d.severity)
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            declare_title: declare
                .as_ref()
                .and_then(|d| d.title_template.as_ref())
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            declare_component_label: declare
                .as_ref()
                .and_then(|d| d.component_label.clone())
                .unwrap_or_default(),
            declare_components: declare.map(|d| d.component_ids).unwrap_or_default(),
            status: status
                .as_ref()
                .map(|c| c.status.as_str().to_owned())
                .unwrap_or_default(),
            status_component_label: status
                .as_ref()
                .and_then(|c| c.component_label.clone())
                .unwrap_or_default(),
            status_components: status.map(|c| c.component_ids).unwrap_or_default(),
            team: row.team_id.map(|t| t.to_string()).unwrap_or_default(),
            policy: row
                .escalation_policy_id
                .map(|p| p.to_string())
                .unwrap_or_default(),
            version: Some(row.version),
        }
    }

    /// The rule the form describes, or what is wrong with it, for a person to read.
    pub fn read(&self) -> Result<NewRule, String> {
        let mut matchers = Vec::new();
        for (n, line) in self.matchers.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let matcher: Matcher = line
                .parse()
                .map_err(|e| format!("Matcher on line {} (`{line}`): {e}.", n + 1))?;
            matchers.push(matcher);
        }
        let severities = self
            .severities
            .iter()
            .map(|s| AlertSeverity::parse(s).ok_or_else(|| format!("{s:?} is not a severity.")))
            .collect::<Result<_, _>>()?;
        let urgency = AlertUrgency::parse(&self.urgency)
            .ok_or_else(|| "Choose the urgency the rule gives.".to_owned())?;
        let label = |raw: &str| Some(raw.trim().to_owned()).filter(|l| !l.is_empty());
        let declare = if self.declare {
            let severity = match self.declare_severity.as_str() {
                "" => None,
                raw => Some(
                    Severity::parse(raw).ok_or_else(|| format!("{raw:?} is not a severity."))?,
                ),
            };
            let title_template = match self.declare_title.trim() {
                "" => None,
                raw => Some(Template::parse(raw).map_err(|e| format!("The incident title: {e}."))?),
            };
            Some(DeclareAction {
                severity,
                component_ids: self.declare_components.clone(),
                component_label: label(&self.declare_component_label),
                title_template,
            })
        } else {
            None
        };
        let component_status = match self.status.as_str() {
            "" => None,
            raw => Some(ComponentStatusAction {
                component_ids: self.status_components.clone(),
                component_label: label(&self.status_component_label),
                status: ComponentStatus::parse(raw)
                    .ok_or_else(|| format!("{raw:?} is not a component status."))?,
                apply: Apply::Propose,
            }),
        };
        Ok(NewRule {
            name: self.name.clone(),
            position: None,
            enabled: self.enabled,
            matchers,
            integration_ids: self.integrations.clone(),
            severities,
            urgency,
            declare,
            component_status,
            team_id: chosen(&self.team, "Choose the team from the list.")?,
            escalation_policy_id: chosen(&self.policy, "Choose the policy from the list.")?,
        })
    }

    /// The form as a change of every field but the position.
    pub fn changes(&self) -> Result<RuleChanges, String> {
        let new = self.read()?;
        Ok(RuleChanges {
            name: Some(new.name),
            position: None,
            enabled: Some(new.enabled),
            matchers: Some(new.matchers),
            integration_ids: Some(new.integration_ids),
            severities: Some(new.severities),
            urgency: Some(new.urgency),
            declare: Some(new.declare),
            component_status: Some(new.component_status),
            team_id: Some(new.team_id),
            escalation_policy_id: Some(new.escalation_policy_id),
        })
    }
}

/// An id chosen in a select; empty: none.
fn chosen(raw: &str, refusal: &str) -> Result<Option<Uuid>, String> {
    match raw.trim() {
        "" => Ok(None),
        raw => Uuid::parse_str(raw)
            .map(Some)
            .map_err(|_| refusal.to_owned()),
    }
}

/// A checkbox.
pub struct Check {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// The form as the template shows it.
pub struct RuleFormView {
    pub form: RuleForm,
    pub integrations: Vec<Check>,
    pub severities: Vec<Check>,
    pub urgencies: Vec<Choice>,
    pub declare_severities: Vec<Choice>,
    pub declare_components: Vec<Check>,
    pub statuses: Vec<Choice>,
    pub status_components: Vec<Check>,
    pub teams: Vec<Choice>,
    pub policies: Vec<Choice>,
}

/// The teams and escalation policies a rule can name, by id and name.
pub struct Targets {
    pub teams: Vec<(Uuid, String)>,
    pub policies: Vec<(Uuid, String)>,
}

fn none_first(label: &str, selected: bool, mut rest: Vec<Choice>) -> Vec<Choice> {
    rest.insert(
        0,
        Choice {
            value: String::new(),
            label: label.to_owned(),
            selected,
        },
    );
    rest
}

fn component_checks(all: &[ComponentRow], chosen: &[Uuid]) -> Vec<Check> {
    all.iter()
        .map(|c| Check {
            value: c.id.to_string(),
            label: c.name.clone(),
            checked: chosen.contains(&c.id),
        })
        .collect()
}

impl RuleFormView {
    pub fn new(
        form: RuleForm,
        integrations: &[IntegrationRow],
        components: &[ComponentRow],
        targets: &Targets,
    ) -> RuleFormView {
        let declare_severity = Severity::parse(&form.declare_severity);
        let status = ComponentStatus::parse(&form.status);
        let id = |raw: &str| Uuid::parse_str(raw.trim()).ok();
        RuleFormView {
            teams: named_choices("The integration's team", &targets.teams, id(&form.team)),
            policies: named_choices("The team's policy", &targets.policies, id(&form.policy)),
            integrations: integrations
                .iter()
                .map(|i| Check {
                    value: i.id.to_string(),
                    label: i.name.clone(),
                    checked: form.integrations.contains(&i.id),
                })
                .collect(),
            severities: AlertSeverity::ALL
                .iter()
                .map(|s| Check {
                    value: s.as_str().to_owned(),
                    label: s.label().to_owned(),
                    checked: form.severities.iter().any(|f| f == s.as_str()),
                })
                .collect(),
            urgencies: choices(
                AlertUrgency::ALL,
                AlertUrgency::parse(&form.urgency),
                AlertUrgency::as_str,
                AlertUrgency::label,
            ),
            declare_severities: none_first(
                "From the group's severity",
                declare_severity.is_none(),
                choices(
                    Severity::ALL,
                    declare_severity,
                    Severity::as_str,
                    Severity::label,
                ),
            ),
            declare_components: component_checks(components, &form.declare_components),
            statuses: none_first(
                "No proposal",
                status.is_none(),
                choices(
                    ComponentStatus::ALL,
                    status,
                    ComponentStatus::as_str,
                    ComponentStatus::label,
                ),
            ),
            status_components: component_checks(components, &form.status_components),
            form,
        }
    }
}
