//! Fireline's own generic JSON: `{dedup_key, title, description, status, severity,
//! source_url, labels, timestamp}`, for scripts and tools with no format of their own.
//!
//! Only `status` is always required; a firing event needs a `title`, a resolving one its
//! `dedup_key`. A firing event without a key gets one derived from its title and labels,
//! so a script that repeats itself lands in one group. `severity` takes the usual words
//! (`crit`, `P2`, `warn`, ...); one Fireline does not know means "the integration's
//! default", not a refusal, so a new word in a script never loses the alert.

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{
    cut, excerpt, filled, hex, json_object, link_to, parse_time, typed, Action, Delivery,
    IntakeError, Labels, Problems, Signal, DEDUP_KEY_MAX, SUMMARY_MAX, TITLE_MAX,
};
use crate::alerts::model::{AlertFormat, AlertSeverity, AlertStatus};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Event {
    dedup_key: Option<String>,
    title: Option<String>,
    description: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    source_url: Option<String>,
    labels: Option<Map<String, Value>>,
    timestamp: Option<String>,
}

/// Reads a generic JSON body.
pub fn parse(body: &[u8]) -> Result<Delivery, IntakeError> {
    let value = json_object(body)?;
    let event: Event = typed(&value)?;
    let mut problems = Problems::default();

    let status = match filled(event.status) {
        None => {
            problems.push(r#"status is missing (it must be "firing" or "resolved")"#);
            None
        }
        Some(raw) => {
            let status = AlertStatus::parse(&raw);
            if status.is_none() {
                problems.push(r#"status must be "firing" or "resolved""#);
            }
            status
        }
    };
    let title = filled(event.title);
    if status == Some(AlertStatus::Firing) && title.is_none() {
        problems.push("title is missing or blank (a firing alert needs one)");
    }
    let labels = read_labels(event.labels, &mut problems);
    let at = filled(event.timestamp).and_then(|raw| {
        let time = parse_time(&raw);
        if time.is_none() {
            problems.push(format!(
                "timestamp must be an RFC 3339 time like 2024-05-01T12:00:00Z, not {:?}",
                cut(&raw, 40)
            ));
        }
        time
    });
    let dedup_key = match filled(event.dedup_key) {
        Some(key) if key.chars().count() > DEDUP_KEY_MAX => {
            problems.push(format!(
                "dedup_key is longer than {DEDUP_KEY_MAX} characters"
            ));
            key
        }
        Some(key) => key,
        None if status == Some(AlertStatus::Resolved) => {
            problems.push("dedup_key is missing (a resolved alert must name the one it resolves)");
            String::new()
        }
        None => derived_key(title.as_deref().unwrap_or_default(), &labels),
    };

    problems.or(|| {
        // Both are known here: a missing one is a problem above.
        let status = status.unwrap_or(AlertStatus::Firing);
        let title = title.unwrap_or_else(|| dedup_key.clone());
        let source_url = filled(event.source_url);
        let resolved = status == AlertStatus::Resolved;
        Delivery {
            format: AlertFormat::Generic,
            group_key: dedup_key.clone(),
            source_key: None,
            title: cut(&title, TITLE_MAX),
            labels: labels.clone(),
            annotations: Labels::new(),
            source_url: source_url.clone(),
            action: Action::Alerts {
                alerts: vec![Signal {
                    fingerprint: dedup_key,
                    status,
                    severity: event
                        .severity
                        .as_deref()
                        .and_then(AlertSeverity::from_alias),
                    summary: cut(&title, SUMMARY_MAX),
                    description: filled(event.description),
                    labels,
                    annotations: Labels::new(),
                    links: link_to(source_url.as_deref(), "Source")
                        .into_iter()
                        .collect(),
                    starts_at: at.filter(|_| !resolved),
                    ends_at: at.filter(|_| resolved),
                    payload: excerpt(value),
                }],
                complete: false,
                truncated: 0,
            },
        }
    })
}

/// Labels must be strings: a number or object here is a mistake worth telling about.
fn read_labels(raw: Option<Map<String, Value>>, problems: &mut Problems) -> Labels {
    raw.unwrap_or_default()
        .into_iter()
        .filter_map(|(name, value)| match value {
            Value::String(text) => Some((name, text)),
            _ => {
                problems.push(format!("labels.{name} must be a string"));
                None
            }
        })
        .collect()
}

/// A stable key for an event that sent none: the first 32 hex digits of sha256 over the
/// title and the sorted `name\0value\0` labels.
fn derived_key(title: &str, labels: &Labels) -> String {
    let mut hash = Sha256::new();
    hash.update(title.as_bytes());
    hash.update([0]);
    for (name, value) in labels {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(value.as_bytes());
        hash.update([0]);
    }
    hex(&hash.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn read(body: Value) -> Result<Delivery, IntakeError> {
        parse(body.to_string().as_bytes())
    }

    fn only_signal(delivery: &Delivery) -> &Signal {
        match &delivery.action {
            Action::Alerts {
                alerts,
                complete: false,
                truncated: 0,
            } if alerts.len() == 1 => &alerts[0],
            other => panic!("expected one alert, got {other:?}"),
        }
    }

    fn invalid(result: Result<Delivery, IntakeError>) -> Vec<String> {
        match result {
            Err(IntakeError::Invalid(problems)) => problems,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_firing_event_is_one_alert_in_a_group_named_by_its_dedup_key() {
        let delivery = read(json!({
            "dedup_key": "backup-nightly",
            "title": "Nightly backup failed",
            "description": "pg_dump exited with 1",
            "status": "firing",
            "severity": "P2",
            "source_url": "https://ci.example.com/jobs/backup/812",
            "labels": { "service": "db", "env": "prod" },
            "timestamp": "2024-05-01T03:00:00Z",
            "from_a_newer_script": { "ignored": true }
        }))
        .unwrap();
        assert_eq!(delivery.format, AlertFormat::Generic);
        assert_eq!(delivery.group_key, "backup-nightly");
        assert_eq!(delivery.title, "Nightly backup failed");
        assert_eq!(delivery.labels["env"], "prod");
        assert_eq!(
            delivery.source_url.as_deref(),
            Some("https://ci.example.com/jobs/backup/812")
        );
        let alert = only_signal(&delivery);
        assert_eq!(alert.fingerprint, "backup-nightly");
        assert_eq!(alert.status, AlertStatus::Firing);
        assert_eq!(alert.severity, Some(AlertSeverity::Error));
        assert_eq!(alert.description.as_deref(), Some("pg_dump exited with 1"));
        assert_eq!(alert.starts_at, Some(datetime!(2024-05-01 03:00 UTC)));
        assert_eq!(alert.ends_at, None);
        assert_eq!(alert.links[0].text, "Source");
    }

    #[test]
    fn a_firing_event_without_a_key_gets_the_same_key_each_time_it_repeats() {
        let body = json!({ "title": "Disk full", "status": "firing", "labels": { "host": "a", "disk": "/" } });
        let first = read(body.clone()).unwrap();
        let again = read(json!({ "status": "firing", "labels": { "disk": "/", "host": "a" }, "title": "Disk full" })).unwrap();
        assert_eq!(first.group_key, again.group_key);
        assert_eq!(first.group_key.len(), 32);
        let other = read(json!({ "title": "Disk full", "status": "firing", "labels": { "host": "b", "disk": "/" } })).unwrap();
        assert_ne!(first.group_key, other.group_key);
        assert_eq!(first.digest(), again.digest());
    }

    #[test]
    fn a_resolved_event_needs_its_key_and_ends_at_its_timestamp() {
        assert_eq!(
            invalid(read(json!({ "status": "resolved", "title": "Disk full" }))),
            ["dedup_key is missing (a resolved alert must name the one it resolves)"]
        );
        let delivery = read(json!({
            "status": "resolved", "dedup_key": "disk-a", "timestamp": "2024-05-01T03:30:00+01:00"
        }))
        .unwrap();
        assert_eq!(delivery.title, "disk-a");
        let alert = only_signal(&delivery);
        assert_eq!(alert.status, AlertStatus::Resolved);
        assert_eq!(alert.starts_at, None);
        assert_eq!(alert.ends_at, Some(datetime!(2024-05-01 02:30 UTC)));
    }

    #[test]
    fn an_unknown_severity_word_is_left_to_the_integration_default() {
        let delivery =
            read(json!({ "title": "x", "status": "firing", "severity": "spicy" })).unwrap();
        assert_eq!(only_signal(&delivery).severity, None);
    }

    #[test]
    fn every_missing_or_wrong_field_is_listed() {
        assert_eq!(
            invalid(read(
                json!({ "labels": { "port": 5432, "host": "db" }, "timestamp": "soon" })
            )),
            [
                r#"status is missing (it must be "firing" or "resolved")"#,
                "labels.port must be a string",
                r#"timestamp must be an RFC 3339 time like 2024-05-01T12:00:00Z, not "soon""#,
            ]
        );
        assert_eq!(
            invalid(read(json!({ "status": "firing", "title": "  " }))),
            ["title is missing or blank (a firing alert needs one)"]
        );
        assert_eq!(
            invalid(read(json!({ "status": "broken", "title": "x" }))),
            [r#"status must be "firing" or "resolved""#]
        );
        assert_eq!(
            invalid(read(
                json!({ "status": "firing", "title": "x", "dedup_key": "k".repeat(256) })
            )),
            ["dedup_key is longer than 255 characters"]
        );
    }

    #[test]
    fn a_wrong_type_is_malformed_and_names_the_field() {
        let Err(IntakeError::Malformed(message)) =
            read(json!({ "status": "firing", "title": ["x"] }))
        else {
            panic!("expected Malformed");
        };
        assert!(
            message.starts_with("title: invalid type: sequence"),
            "{message}"
        );
        assert!(matches!(parse(b"not json"), Err(IntakeError::Malformed(_))));
        assert!(matches!(
            parse(b"\"a string\""),
            Err(IntakeError::Malformed(_))
        ));
    }

    #[test]
    fn nul_characters_are_replaced_and_a_long_title_is_cut() {
        let delivery = read(json!({
            "status": "firing",
            "title": format!("a\u{0}b{}", "x".repeat(SUMMARY_MAX * 2)),
            "labels": { "k": "v\u{0}" }
        }))
        .unwrap();
        assert!(delivery.title.starts_with("a\u{FFFD}b"));
        assert_eq!(delivery.title.chars().count(), TITLE_MAX);
        assert_eq!(delivery.labels["k"], "v\u{FFFD}");
        assert_eq!(only_signal(&delivery).summary.chars().count(), SUMMARY_MAX);
    }
}
