//! The choices of the incident forms: statuses, severities, people, components.

use uuid::Uuid;

use crate::accounts::users::UserRow;
use crate::accounts::Role;
use crate::components::ComponentRow;
use crate::components::ComponentStatus;
use crate::incidents::{Impact, IncidentStatus, Severity, Visibility};

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn choices<T: Copy + PartialEq>(
    all: &[T],
    selected: Option<T>,
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: value(*v).to_owned(),
            label: label(*v).to_owned(),
            selected: Some(*v) == selected,
        })
        .collect()
}

/// `none` first (chosen when nothing is), then each `(id, name)`: a select of teams or
/// policies where "none" means the default.
pub fn named_choices(none: &str, named: &[(Uuid, String)], selected: Option<Uuid>) -> Vec<Choice> {
    let first = Choice {
        value: String::new(),
        label: none.to_owned(),
        selected: selected.is_none(),
    };
    std::iter::once(first)
        .chain(named.iter().map(|(id, name)| Choice {
            value: id.to_string(),
            label: name.clone(),
            selected: Some(*id) == selected,
        }))
        .collect()
}

pub fn status_choices(selected: IncidentStatus) -> Vec<Choice> {
    choices(
        IncidentStatus::ALL,
        Some(selected),
        IncidentStatus::as_str,
        IncidentStatus::label,
    )
}

pub fn impact_choices(selected: Impact) -> Vec<Choice> {
    choices(Impact::ALL, Some(selected), Impact::as_str, Impact::label)
}

pub fn visibility_choices(selected: Visibility) -> Vec<Choice> {
    choices(
        Visibility::ALL,
        Some(selected),
        Visibility::as_str,
        Visibility::label,
    )
}

/// People who can lead or take tasks (enabled responders and admins).
pub fn people_choices(users: &[UserRow], selected: Option<Uuid>) -> Vec<Choice> {
    users
        .iter()
        .filter(|u| !u.is_disabled() && u.role.allows(Role::Responder))
        .map(|u| Choice {
            value: u.id.to_string(),
            label: u.name.clone(),
            selected: Some(u.id) == selected,
        })
        .collect()
}

pub struct SeverityOption {
    pub value: &'static str,
    pub label: &'static str,
    pub guidance: &'static str,
    pub selected: bool,
}

pub fn severity_options(selected: Option<Severity>) -> Vec<SeverityOption> {
    Severity::ALL
        .iter()
        .map(|s| SeverityOption {
            value: s.as_str(),
            label: s.label(),
            guidance: s.guidance(),
            selected: Some(*s) == selected,
        })
        .collect()
}

pub fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Sev1 => "sev sev1",
        Severity::Sev2 => "sev sev2",
        Severity::Sev3 => "sev sev3",
        Severity::Sev4 => "sev sev4",
    }
}

/// A component with a "leave as is" choice and the statuses it can be set to.
pub struct ComponentPick {
    pub id: Uuid,
    pub name: String,
    pub current_label: &'static str,
    pub current_class: &'static str,
    pub options: Vec<Choice>,
}

pub fn component_picks(
    components: &[ComponentRow],
    chosen: &[(Uuid, ComponentStatus)],
) -> Vec<ComponentPick> {
    components
        .iter()
        .map(|c| {
            let picked = chosen.iter().find(|(id, _)| *id == c.id).map(|(_, s)| *s);
            let mut options = vec![Choice {
                value: String::new(),
                label: "No change".into(),
                selected: picked.is_none(),
            }];
            options.extend(choices(
                ComponentStatus::ALL,
                picked,
                ComponentStatus::as_str,
                ComponentStatus::label,
            ));
            ComponentPick {
                id: c.id,
                name: c.name.clone(),
                current_label: c.status.label(),
                current_class: c.status.css_class(),
                options,
            }
        })
        .collect()
}
