//! Prometheus Alertmanager's webhook payload (version 4) and Grafana alerting's webhook
//! contact point (version 1, the same body with more fields).
//!
//! Alertmanager sends the whole group on every flush, so the delivery is `complete`
//! unless it says it left alerts out (`truncatedAlerts`). A firing alert's `endsAt` is
//! the zero time `0001-01-01T00:00:00Z` (Alertmanager hides an end not yet reached), read
//! here as "none".

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::macros::datetime;
use time::OffsetDateTime;

use super::{
    cut, excerpt, filled, fingerprint_of, hex, json_object, link_to, parse_time, typed, Action,
    Delivery, IntakeError, Labels, Link, Problems, Signal, SUMMARY_MAX, TITLE_MAX,
};
use crate::alerts::model::{AlertFormat, AlertSeverity, AlertStatus};

/// Go's zero `time.Time`, which Alertmanager and Grafana send for "no time".
const ZERO_TIME: OffsetDateTime = datetime!(0001-01-01 0:00 UTC);

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Message {
    group_key: Option<String>,
    truncated_alerts: Option<u64>,
    status: Option<String>,
    group_labels: Option<Labels>,
    common_labels: Option<Labels>,
    common_annotations: Option<Labels>,
    #[serde(rename = "externalURL")]
    external_url: Option<String>,
    alerts: Option<Vec<Alert>>,
    /// Grafana: the rendered notification title.
    title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Alert {
    status: Option<String>,
    labels: Option<Labels>,
    annotations: Option<Labels>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: Option<String>,
    #[serde(rename = "silenceURL")]
    silence_url: Option<String>,
    #[serde(rename = "dashboardURL")]
    dashboard_url: Option<String>,
    #[serde(rename = "panelURL")]
    panel_url: Option<String>,
    #[serde(rename = "imageURL")]
    image_url: Option<String>,
    value_string: Option<String>,
}

/// Reads an Alertmanager (`format` = `Alertmanager`) or Grafana (`Grafana`) webhook body.
/// Any other `format` reads as Alertmanager.
pub fn parse(format: AlertFormat, body: &[u8]) -> Result<Delivery, IntakeError> {
    let format = match format {
        AlertFormat::Grafana => AlertFormat::Grafana,
        _ => AlertFormat::Alertmanager,
    };
    let value = json_object(body)?;
    check_version(format, &value)?;
    let message: Message = typed(&value)?;
    let raw_alerts = value.get("alerts").and_then(Value::as_array);

    let mut problems = Problems::default();
    let group_key = filled(message.group_key);
    if group_key.is_none() {
        problems.push("groupKey is missing or blank");
    }
    if read_status(message.status.as_deref()).is_none() {
        problems.push(r#"status must be "firing" or "resolved""#);
    }
    let alerts = match message.alerts {
        None => {
            problems.push("alerts is missing (an array of alerts)");
            Vec::new()
        }
        Some(alerts) if alerts.is_empty() => {
            problems.push("alerts must list at least one alert");
            Vec::new()
        }
        Some(alerts) => alerts,
    };

    let mut labels = message.group_labels.clone().unwrap_or_default();
    labels.extend(message.common_labels.unwrap_or_default());
    let annotations = message.common_annotations.unwrap_or_default();
    let title = group_title(
        format,
        &annotations,
        alerts.first(),
        message.title.as_deref(),
        &message.group_labels.unwrap_or_default(),
    );

    let signals: Vec<Signal> = alerts
        .into_iter()
        .enumerate()
        .filter_map(|(at, alert)| {
            let raw = raw_alerts.and_then(|all| all.get(at)).cloned();
            read_alert(
                format,
                at,
                alert,
                raw.unwrap_or_default(),
                &title,
                &mut problems,
            )
        })
        .collect();

    problems.or(|| Delivery {
        format,
        group_key: group_key
            .as_deref()
            .map(|key| hex(&Sha256::digest(key.as_bytes())))
            .unwrap_or_default(),
        source_key: group_key,
        title,
        labels,
        annotations,
        source_url: filled(message.external_url),
        action: Action::Alerts {
            alerts: signals,
            complete: true,
            truncated: message
                .truncated_alerts
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        },
    })
}

/// The door reads only the version it knows: Alertmanager "4", Grafana "1".
fn check_version(format: AlertFormat, value: &Value) -> Result<(), IntakeError> {
    let expected = match format {
        AlertFormat::Grafana => "1",
        _ => "4",
    };
    match value.get("version") {
        Some(Value::String(version)) if version == expected => Ok(()),
        Some(Value::String(version)) => Err(IntakeError::UnsupportedVersion(version.clone())),
        None | Some(Value::Null) => Err(IntakeError::Invalid(vec![format!(
            "version is missing ({} sends \"{expected}\")",
            format.label()
        )])),
        Some(other) => Err(IntakeError::UnsupportedVersion(other.to_string())),
    }
}

fn read_status(raw: Option<&str>) -> Option<AlertStatus> {
    AlertStatus::parse(raw?)
}

/// The group's title: the common summary, else the first alert's, else Grafana's title,
/// else the alert name with the group labels, `HighLatency (job=api, env=prod)`.
fn group_title(
    format: AlertFormat,
    annotations: &Labels,
    first: Option<&Alert>,
    grafana_title: Option<&str>,
    group_labels: &Labels,
) -> String {
    let summary = |annotations: Option<&Labels>| {
        annotations
            .and_then(|a| a.get("summary"))
            .filter(|s| !s.trim().is_empty())
            .cloned()
    };
    let title = summary(Some(annotations))
        .or_else(|| summary(first.and_then(|alert| alert.annotations.as_ref())))
        .or_else(|| {
            grafana_title
                .filter(|t| !t.trim().is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            let name = group_labels
                .get("alertname")
                .or_else(|| first.and_then(|a| a.labels.as_ref()?.get("alertname")));
            let rest: Vec<String> = group_labels
                .iter()
                .filter(|(key, _)| *key != "alertname")
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            match (name, rest.is_empty()) {
                (Some(name), true) => name.clone(),
                (Some(name), false) => format!("{name} ({})", rest.join(", ")),
                (None, false) => rest.join(", "),
                (None, true) => format!("{} alert", format.label()),
            }
        });
    cut(title.trim(), TITLE_MAX)
}

fn read_alert(
    format: AlertFormat,
    at: usize,
    alert: Alert,
    raw: Value,
    title: &str,
    problems: &mut Problems,
) -> Option<Signal> {
    let field = |name: &str| format!("alerts[{at}].{name}");
    let status = read_status(alert.status.as_deref());
    if status.is_none() {
        problems.push(format!(
            r#"{} must be "firing" or "resolved""#,
            field("status")
        ));
    }
    if alert.labels.is_none() {
        problems.push(format!(
            "{} is missing (a map of label names to values)",
            field("labels")
        ));
    }
    let starts_at = match alert.starts_at.as_deref() {
        None => {
            problems.push(format!("{} is missing", field("startsAt")));
            None
        }
        Some(raw) => read_time(raw, &field("startsAt"), problems),
    };
    let ends_at = alert
        .ends_at
        .as_deref()
        .and_then(|raw| read_time(raw, &field("endsAt"), problems));
    let (status, labels) = (status?, alert.labels?);

    let annotations = alert.annotations.unwrap_or_default();
    let source_text = match format {
        AlertFormat::Grafana => "Alert rule",
        _ => "Source",
    };
    let links: Vec<Link> = [
        (alert.generator_url.as_deref(), source_text),
        (
            annotations.get("runbook_url").map(String::as_str),
            "Runbook",
        ),
        (alert.dashboard_url.as_deref(), "Dashboard"),
        (alert.panel_url.as_deref(), "Panel"),
        (alert.image_url.as_deref(), "Image"),
        (alert.silence_url.as_deref(), "Silence"),
    ]
    .into_iter()
    .filter_map(|(href, text)| link_to(href, text))
    .collect();

    let summary = annotations
        .get("summary")
        .or_else(|| labels.get("alertname"))
        .filter(|s| !s.trim().is_empty())
        .map_or(title, String::as_str);
    let description = annotations
        .get("description")
        .filter(|d| !d.trim().is_empty())
        .cloned();
    // Grafana's valueString ("[ var='B' labels={} value=92 ]") says what crossed the
    // threshold; it is shown with the description rather than lost in the payload.
    let description = match (description, filled(alert.value_string)) {
        (Some(text), Some(values)) => Some(format!("{text}\n\nValues: {values}")),
        (None, Some(values)) => Some(format!("Values: {values}")),
        (text, None) => text,
    };

    Some(Signal {
        fingerprint: filled(alert.fingerprint).unwrap_or_else(|| fingerprint_of(&labels)),
        status,
        severity: labels
            .get("severity")
            .and_then(|s| AlertSeverity::from_alias(s)),
        summary: cut(summary, SUMMARY_MAX),
        description,
        starts_at,
        // Only a resolved alert has ended; a firing one's endsAt is a forecast at most.
        ends_at: ends_at.filter(|_| status == AlertStatus::Resolved),
        labels,
        annotations,
        links,
        payload: excerpt(raw),
    })
}

/// A sent time; the zero time means none, and anything unreadable is a problem.
fn read_time(raw: &str, field: &str, problems: &mut Problems) -> Option<OffsetDateTime> {
    match parse_time(raw) {
        Some(time) if time == ZERO_TIME => None,
        Some(time) => Some(time),
        None => {
            problems.push(format!(
                "{field} must be an RFC 3339 time like 2024-05-01T12:00:00Z, not {:?}",
                cut(raw, 40)
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests;
