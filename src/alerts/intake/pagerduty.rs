//! PagerDuty's Events API v2 (`POST /v2/enqueue`) and its older generic v1 endpoint
//! (`POST /generic/2010-04-15/create_event.json`).
//!
//! The problems are worded as PagerDuty words them, so that a sender's logs read the same
//! whichever it talks to. Seen in PagerDuty's 400 answers: "'event_action' is missing or
//! blank", "'payload.source' is missing or blank", "'payload.severity' is missing or
//! blank", "'payload.severity' is invalid (must be one of the following: ...)",
//! "'routing_key' cannot be blank", and on v1 "Description is missing or blank"; the rest
//! follow the same pattern. One difference: PagerDuty refuses a `summary` over 1,024
//! characters; Fireline cuts it, as Alertmanager itself does before sending.

use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{
    cut, excerpt, filled, json_object, link_to, parse_time, typed, Action, Delivery, IntakeError,
    Labels, Link, Problems, Signal, DEDUP_KEY_MAX, SUMMARY_MAX, TITLE_MAX,
};
use crate::alerts::model::{AlertFormat, AlertSeverity, AlertStatus};

/// A PagerDuty event: the key that names the integration, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    /// `routing_key` (v2) or `service_key` (v1), as sent.
    pub key: String,
    /// The group's `dedup_key` (v1: `incident_key`), generated for a trigger without one;
    /// the answer returns it.
    pub dedup_key: String,
    pub delivery: Delivery,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EventV2 {
    routing_key: Option<String>,
    event_action: Option<String>,
    dedup_key: Option<String>,
    payload: Option<PayloadV2>,
    client: Option<String>,
    client_url: Option<String>,
    links: Option<Vec<LinkV2>>,
    images: Option<Vec<ImageV2>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PayloadV2 {
    summary: Option<String>,
    source: Option<String>,
    severity: Option<String>,
    timestamp: Option<String>,
    component: Option<String>,
    group: Option<String>,
    class: Option<String>,
    custom_details: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LinkV2 {
    href: Option<String>,
    text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ImageV2 {
    src: Option<String>,
    href: Option<String>,
    alt: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EventV1 {
    service_key: Option<String>,
    event_type: Option<String>,
    incident_key: Option<String>,
    description: Option<String>,
    details: Option<Value>,
    client: Option<String>,
    client_url: Option<String>,
    contexts: Option<Vec<ContextV1>>,
}

/// v1's links and images: `{"type": "link", "href", "text"}`, `{"type": "image", "src",
/// "href", "alt"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContextV1 {
    #[serde(rename = "type")]
    kind: Option<String>,
    href: Option<String>,
    text: Option<String>,
    src: Option<String>,
    alt: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventAction {
    Trigger,
    Acknowledge,
    Resolve,
}

/// What an event asks, once read.
enum What {
    Trigger(Trigger),
    Acknowledge,
    Resolve,
}

/// What a trigger says, the same for v2 and v1 once read.
#[derive(Default)]
struct Trigger {
    summary: String,
    severity: Option<AlertSeverity>,
    starts_at: Option<OffsetDateTime>,
    labels: Labels,
    annotations: Labels,
    /// The event's own object without its key (v2: `payload`; v1: the body).
    payload: Value,
}

/// The parts of an event around what it asks.
struct Event {
    format: AlertFormat,
    key: String,
    dedup_key: String,
    what: What,
    source_url: Option<String>,
    links: Vec<Link>,
}

/// Reads an Events API v2 body.
pub fn parse_v2(body: &[u8]) -> Result<Enqueued, IntakeError> {
    let value = json_object(body)?;
    let event: EventV2 = typed(&value)?;
    let mut problems = Problems::default();

    let key = filled(event.routing_key).unwrap_or_else(|| {
        problems.push("'routing_key' cannot be blank");
        String::new()
    });
    let action = read_action(event.event_action, "'event_action'", &mut problems);
    let dedup_key = read_dedup_key(event.dedup_key, action, "'dedup_key'", &mut problems);
    let client = filled(event.client);
    let what = match action {
        Some(EventAction::Trigger) => What::Trigger(match event.payload {
            Some(payload) => {
                read_payload_v2(payload, client.as_deref(), &value["payload"], &mut problems)
            }
            None => {
                problems.push("'payload' is missing or blank");
                Trigger::default()
            }
        }),
        Some(EventAction::Acknowledge) => What::Acknowledge,
        // An unreadable action is already a problem; nothing is built from it.
        Some(EventAction::Resolve) | None => What::Resolve,
    };

    let source_url = filled(event.client_url);
    let mut links: Vec<Link> =
        link_to(source_url.as_deref(), client.as_deref().unwrap_or("Source"))
            .into_iter()
            .collect();
    links.extend(
        event
            .links
            .unwrap_or_default()
            .into_iter()
            .filter_map(|link| {
                let text = filled(link.text).or_else(|| link.href.clone())?;
                link_to(link.href.as_deref(), &text)
            }),
    );
    links.extend(
        event
            .images
            .unwrap_or_default()
            .into_iter()
            .filter_map(|image| {
                let text = filled(image.alt).unwrap_or_else(|| "Image".to_owned());
                link_to(image.href.as_deref().or(image.src.as_deref()), &text)
            }),
    );

    problems.or(|| {
        enqueued(Event {
            format: AlertFormat::PagerdutyV2,
            key,
            dedup_key,
            what,
            source_url,
            links,
        })
    })
}

/// Reads a generic v1 body.
pub fn parse_v1(body: &[u8]) -> Result<Enqueued, IntakeError> {
    let mut value = json_object(body)?;
    let event: EventV1 = typed(&value)?;
    let mut problems = Problems::default();

    let key = filled(event.service_key).unwrap_or_else(|| {
        problems.push("Service key is missing or blank");
        String::new()
    });
    let action = read_action(event.event_type, "Event type", &mut problems);
    let dedup_key = read_dedup_key(event.incident_key, action, "Incident key", &mut problems);
    let client = filled(event.client);
    let what = match action {
        Some(EventAction::Trigger) => {
            let summary = filled(event.description).unwrap_or_else(|| {
                problems.push("Description is missing or blank");
                String::new()
            });
            // The key is the integration's secret: it is not kept with the alert.
            if let Some(object) = value.as_object_mut() {
                object.remove("service_key");
            }
            What::Trigger(Trigger {
                summary: cut(&summary, SUMMARY_MAX),
                severity: None,
                starts_at: None,
                labels: client
                    .iter()
                    .map(|c| ("client".to_owned(), c.clone()))
                    .collect(),
                annotations: flat_strings(event.details.as_ref()),
                payload: excerpt(value),
            })
        }
        Some(EventAction::Acknowledge) => What::Acknowledge,
        Some(EventAction::Resolve) | None => What::Resolve,
    };

    let source_url = filled(event.client_url);
    let mut links: Vec<Link> =
        link_to(source_url.as_deref(), client.as_deref().unwrap_or("Source"))
            .into_iter()
            .collect();
    links.extend(
        event
            .contexts
            .unwrap_or_default()
            .into_iter()
            .filter_map(|context| match context.kind.as_deref() {
                Some("link") => {
                    let text = filled(context.text).or_else(|| context.href.clone())?;
                    link_to(context.href.as_deref(), &text)
                }
                Some("image") => {
                    let text = filled(context.alt).unwrap_or_else(|| "Image".to_owned());
                    link_to(context.href.as_deref().or(context.src.as_deref()), &text)
                }
                _ => None,
            }),
    );

    problems.or(|| {
        enqueued(Event {
            format: AlertFormat::PagerdutyV1,
            key,
            dedup_key,
            what,
            source_url,
            links,
        })
    })
}

/// `trigger`, `acknowledge` or `resolve`; `name` is how the format calls the field.
fn read_action(raw: Option<String>, name: &str, problems: &mut Problems) -> Option<EventAction> {
    let Some(raw) = filled(raw) else {
        problems.push(format!("{name} is missing or blank"));
        return None;
    };
    let action = match raw.as_str() {
        "trigger" => EventAction::Trigger,
        "acknowledge" => EventAction::Acknowledge,
        "resolve" => EventAction::Resolve,
        _ => {
            problems.push(format!(
                "{name} is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
            ));
            return None;
        }
    };
    Some(action)
}

/// The sent key, or for a trigger without one a new random key (32 lower-case hex
/// digits, like PagerDuty's own); acknowledge and resolve must name theirs.
fn read_dedup_key(
    raw: Option<String>,
    action: Option<EventAction>,
    name: &str,
    problems: &mut Problems,
) -> String {
    match filled(raw) {
        Some(key) if key.chars().count() > DEDUP_KEY_MAX => {
            problems.push(format!("{name} is longer than {DEDUP_KEY_MAX} characters"));
            key
        }
        Some(key) => key,
        None if action == Some(EventAction::Trigger) => uuid::Uuid::new_v4().simple().to_string(),
        None => {
            if action.is_some() {
                problems.push(format!("{name} is missing or blank"));
            }
            String::new()
        }
    }
}

fn read_payload_v2(
    payload: PayloadV2,
    client: Option<&str>,
    raw: &Value,
    problems: &mut Problems,
) -> Trigger {
    let summary = filled(payload.summary).unwrap_or_else(|| {
        problems.push("'payload.summary' is missing or blank");
        String::new()
    });
    let source = filled(payload.source);
    if source.is_none() {
        problems.push("'payload.source' is missing or blank");
    }
    let severity = match filled(payload.severity) {
        None => {
            problems.push("'payload.severity' is missing or blank");
            None
        }
        Some(raw) => {
            let severity = AlertSeverity::parse(&raw);
            if severity.is_none() {
                problems.push(
                    "'payload.severity' is invalid (must be one of the following: \
                     'critical', 'warning', 'error' or 'info')",
                );
            }
            severity
        }
    };
    let starts_at = filled(payload.timestamp).and_then(|raw| {
        let time = parse_time(&raw);
        if time.is_none() {
            problems.push(
                "'payload.timestamp' is invalid (must be an ISO 8601 date and time, \
                 like 2015-07-17T08:42:58.315+0000)",
            );
        }
        time
    });
    let labels = [
        ("source", source),
        ("component", filled(payload.component)),
        ("group", filled(payload.group)),
        ("class", filled(payload.class)),
        ("client", client.map(str::to_owned)),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name.to_owned(), value?)))
    .collect();
    Trigger {
        summary: cut(&summary, SUMMARY_MAX),
        severity,
        starts_at,
        labels,
        annotations: flat_strings(payload.custom_details.as_ref()),
        payload: excerpt(raw.clone()),
    }
}

/// The string values at the top of a details object, as annotations (Alertmanager
/// sends `custom_details` as strings: `firing`, `num_firing`, ...); the rest stays in
/// the payload.
fn flat_strings(details: Option<&Value>) -> Labels {
    details
        .and_then(Value::as_object)
        .map(Map::iter)
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
        .collect()
}

fn enqueued(event: Event) -> Enqueued {
    let Event {
        format,
        key,
        dedup_key,
        what,
        source_url,
        links,
    } = event;
    let (title, labels, annotations, action) = match what {
        What::Trigger(trigger) => (
            cut(&trigger.summary, TITLE_MAX),
            trigger.labels.clone(),
            trigger.annotations.clone(),
            Action::Alerts {
                alerts: vec![Signal {
                    fingerprint: dedup_key.clone(),
                    status: AlertStatus::Firing,
                    severity: trigger.severity,
                    summary: trigger.summary,
                    description: None,
                    labels: trigger.labels,
                    annotations: trigger.annotations,
                    links,
                    starts_at: trigger.starts_at,
                    ends_at: None,
                    payload: trigger.payload,
                }],
                complete: false,
                truncated: 0,
            },
        ),
        What::Acknowledge => (
            cut(&dedup_key, TITLE_MAX),
            Labels::new(),
            Labels::new(),
            Action::Acknowledge,
        ),
        What::Resolve => (
            cut(&dedup_key, TITLE_MAX),
            Labels::new(),
            Labels::new(),
            Action::Resolve,
        ),
    };
    Enqueued {
        key,
        delivery: Delivery {
            format,
            group_key: dedup_key.clone(),
            source_key: None,
            title,
            labels,
            annotations,
            source_url,
            action,
        },
        dedup_key,
    }
}

#[cfg(test)]
mod tests;
