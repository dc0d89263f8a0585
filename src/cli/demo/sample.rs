//! The shape of `sample.json`: the demo's rows, with times counted back from now.

use std::collections::HashMap;

use serde::Deserialize;
use uuid::Uuid;

#[derive(Deserialize)]
pub struct Sample {
    pub people: Vec<Person>,
    pub page: Page,
    pub components_created_days_ago: i64,
    pub groups: Vec<Group>,
    pub ungrouped: Vec<Component>,
    pub incidents: Vec<Incident>,
    pub maintenance: Maintenance,
}

#[derive(Deserialize)]
pub struct Person {
    pub key: String,
    pub email: String,
    pub name: String,
}

#[derive(Deserialize)]
pub struct Page {
    pub name: String,
    pub about: String,
}

#[derive(Deserialize)]
pub struct Group {
    pub name: String,
    pub components: Vec<Component>,
}

#[derive(Deserialize)]
pub struct Component {
    pub name: String,
    pub description: String,
}

#[derive(Deserialize)]
pub struct Incident {
    pub title: String,
    pub summary: String,
    pub severity: String,
    pub status: String,
    pub impact: String,
    pub leader: String,
    pub created_by: String,
    pub version: i32,
    pub minutes_ago: Milestones,
    pub components: Vec<String>,
    pub status_changes: Vec<StatusChange>,
    pub current_status: Vec<CurrentStatus>,
    pub workstreams: Vec<Workstream>,
    pub events: Vec<Event>,
    pub updates: Vec<Update>,
}

/// When each milestone of an incident happened, in minutes before now.
#[derive(Deserialize)]
pub struct Milestones {
    pub started: i64,
    pub detected: Option<i64>,
    pub declared: i64,
    pub acknowledged: Option<i64>,
    pub mitigated: Option<i64>,
    pub monitoring: Option<i64>,
    pub resolved: Option<i64>,
    pub last_public_update: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub published: Option<i64>,
}

#[derive(Deserialize)]
pub struct StatusChange {
    pub component: String,
    pub minutes_ago: i64,
    pub old: String,
    pub new: String,
}

#[derive(Deserialize)]
pub struct CurrentStatus {
    pub component: String,
    pub status: String,
    pub minutes_ago: i64,
}

#[derive(Deserialize)]
pub struct Workstream {
    pub key: String,
    pub kind: String,
    pub title: String,
    pub lead: String,
    pub objective: String,
    pub created_minutes_ago: i64,
    pub done_minutes_ago: Option<i64>,
    pub tasks: Vec<Task>,
}

#[derive(Deserialize)]
pub struct Task {
    pub title: String,
    pub assignee: String,
    pub done_minutes_ago: Option<i64>,
}

#[derive(Deserialize)]
pub struct Event {
    /// A name later events use to point at this one (`corrects`).
    pub key: Option<String>,
    pub minutes_ago: i64,
    /// Defaults to 20 seconds after `minutes_ago`.
    pub recorded_minutes_ago: Option<i64>,
    pub kind: String,
    pub author: String,
    pub workstream: Option<String>,
    pub body: String,
    #[serde(default = "empty_object")]
    pub data: serde_json::Value,
    #[serde(default)]
    pub pinned: bool,
    pub corrects: Option<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

#[derive(Deserialize)]
pub struct Update {
    pub minutes_ago: i64,
    pub status: String,
    pub author: String,
    pub body: String,
    pub affected: Option<Vec<Affected>>,
}

#[derive(Deserialize)]
pub struct Affected {
    pub component: String,
    pub old: String,
    pub new: String,
}

#[derive(Deserialize)]
pub struct Maintenance {
    pub title: String,
    pub description: String,
    pub in_days: i64,
    pub starts_at_hour: u8,
    pub hours: i64,
    pub components: Vec<String>,
    pub auto_components: bool,
    pub scheduled_by: String,
}

/// The ids of the rows inserted so far, by the names the sample uses for them.
#[derive(Default)]
pub struct Ids {
    pub people: HashMap<String, Uuid>,
    pub components: HashMap<String, Uuid>,
}

impl Ids {
    pub fn person(&self, key: &str) -> anyhow::Result<Uuid> {
        self.people
            .get(key)
            .copied()
            .ok_or_else(|| anyhow::anyhow!("the demo sample names an unknown person {key:?}"))
    }

    pub fn component(&self, name: &str) -> anyhow::Result<Uuid> {
        self.components
            .get(name)
            .copied()
            .ok_or_else(|| anyhow::anyhow!("the demo sample names an unknown component {name:?}"))
    }

    /// Replace "$person:<key>" and "$component:<name>" strings in `value` by the ids.
    pub fn resolve(&self, value: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
        use serde_json::Value;
        Ok(match value {
            Value::String(s) => match (s.strip_prefix("$person:"), s.strip_prefix("$component:")) {
                (Some(key), _) => Value::String(self.person(key)?.to_string()),
                (_, Some(name)) => Value::String(self.component(name)?.to_string()),
                _ => value.clone(),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .collect::<anyhow::Result<_>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                    .collect::<anyhow::Result<_>>()?,
            ),
            _ => value.clone(),
        })
    }
}
