//! Tests of the alertmanager parser, on payloads as the tools send them.

use super::*;
use serde_json::json;

/// An Alertmanager 0.25 webhook body as it sends it: route `{}/{severity="critical"}`,
/// `group_by: [alertname]`, two alerts of which one has no annotations.
fn alertmanager_body() -> Value {
    json!({
        "receiver": "fireline",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "HighLatency", "instance": "api-1:9090", "job": "api",
                    "severity": "critical"
                },
                "annotations": {
                    "summary": "p99 latency over 500ms on api-1",
                    "description": "p99 has been 730ms for 5 minutes.",
                    "runbook_url": "https://runbooks.example.com/api/latency"
                },
                "startsAt": "2024-05-01T12:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=latency%3E0.5",
                "fingerprint": "f3a1b2c3d4e5f607"
            },
            {
                "status": "firing",
                "labels": {
                    "alertname": "HighLatency", "instance": "api-2:9090", "job": "api",
                    "severity": "critical"
                },
                "annotations": {},
                "startsAt": "2024-05-01T12:01:30.5+02:00",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=latency%3E0.5",
                "fingerprint": "0a1b2c3d4e5f6071"
            }
        ],
        "groupLabels": { "alertname": "HighLatency" },
        "commonLabels": { "alertname": "HighLatency", "job": "api", "severity": "critical" },
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": "{}/{severity=\"critical\"}:{alertname=\"HighLatency\"}",
        "truncatedAlerts": 0
    })
}

/// Grafana's webhook example from its documentation (trimmed to one alert).
fn grafana_body() -> Value {
    json!({
        "receiver": "My Super Webhook",
        "status": "firing",
        "orgId": 1,
        "alerts": [{
            "status": "firing",
            "labels": { "alertname": "High memory usage", "team": "blue", "zone": "us-1" },
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1"
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": { "B": 44.23943737541908, "C": 1 },
            "valueString": "[ var='B' labels={} value=44.23943737541908 ], [ var='C' labels={} value=1 ]"
        }],
        "groupLabels": {},
        "commonLabels": { "alertname": "High memory usage", "team": "blue", "zone": "us-1" },
        "commonAnnotations": {},
        "externalURL": "https://play.grafana.org/",
        "version": "1",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "title": "[FIRING:1]  (High memory usage blue us-1)",
        "state": "alerting",
        "message": "**Firing**\n\nLabels:\n - alertname = High memory usage\n"
    })
}

fn parse_value(format: AlertFormat, body: &Value) -> Result<Delivery, IntakeError> {
    parse(format, body.to_string().as_bytes())
}

fn signals(delivery: &Delivery) -> &[Signal] {
    match &delivery.action {
        Action::Alerts { alerts, .. } => alerts,
        other => panic!("expected alerts, got {other:?}"),
    }
}

fn invalid(result: Result<Delivery, IntakeError>) -> Vec<String> {
    match result {
        Err(IntakeError::Invalid(problems)) => problems,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn an_alertmanager_group_is_read_with_its_identity_labels_and_alerts() {
    let delivery = parse_value(AlertFormat::Alertmanager, &alertmanager_body()).unwrap();
    let group_key = r#"{}/{severity="critical"}:{alertname="HighLatency"}"#;
    assert_eq!(delivery.format, AlertFormat::Alertmanager);
    assert_eq!(delivery.source_key.as_deref(), Some(group_key));
    assert_eq!(
        delivery.group_key,
        hex(&Sha256::digest(group_key.as_bytes()))
    );
    assert_eq!(delivery.group_key.len(), 64);
    assert_eq!(delivery.labels.get("job").map(String::as_str), Some("api"));
    assert_eq!(
        delivery.labels.get("alertname").map(String::as_str),
        Some("HighLatency")
    );
    assert_eq!(
        delivery.source_url.as_deref(),
        Some("http://alertmanager:9093")
    );
    // No common summary: the first alert's.
    assert_eq!(delivery.title, "p99 latency over 500ms on api-1");
    let Action::Alerts {
        alerts,
        complete,
        truncated,
    } = &delivery.action
    else {
        panic!("expected alerts");
    };
    assert!(complete);
    assert_eq!(*truncated, 0);
    assert_eq!(alerts.len(), 2);

    let first = &alerts[0];
    assert_eq!(first.fingerprint, "f3a1b2c3d4e5f607");
    assert_eq!(first.status, AlertStatus::Firing);
    assert_eq!(first.severity, Some(AlertSeverity::Critical));
    assert_eq!(
        first.description.as_deref(),
        Some("p99 has been 730ms for 5 minutes.")
    );
    assert_eq!(
        first.starts_at,
        Some(datetime!(2024-05-01 12:00:00.123456789 UTC))
    );
    assert_eq!(first.ends_at, None);
    assert_eq!(
        first.links,
        vec![
            Link {
                href: "http://prometheus:9090/graph?g0.expr=latency%3E0.5".into(),
                text: "Source".into()
            },
            Link {
                href: "https://runbooks.example.com/api/latency".into(),
                text: "Runbook".into()
            },
        ]
    );
    assert_eq!(first.payload, alertmanager_body()["alerts"][0]);

    // No summary annotation: the alert name stands in.
    assert_eq!(alerts[1].summary, "HighLatency");
    assert_eq!(
        alerts[1].starts_at,
        Some(datetime!(2024-05-01 10:01:30.5 UTC))
    );
}

#[test]
fn the_group_key_hash_is_the_dedup_key_alertmanagers_pagerduty_receiver_sends() {
    // notify.Key.Hash(): fmt.Sprintf("%x", sha256.Sum256([]byte(groupKey))).
    let mut body = alertmanager_body();
    body["groupKey"] = json!("{}:{alertname=\"FirelineE2E\"}");
    let delivery = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    assert_eq!(
        delivery.group_key,
        hex(&Sha256::digest(b"{}:{alertname=\"FirelineE2E\"}"))
    );
    assert!(delivery
        .group_key
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
}

#[test]
fn a_grafana_alert_brings_its_links_values_and_the_documented_example_reads() {
    let delivery = parse_value(AlertFormat::Grafana, &grafana_body()).unwrap();
    assert_eq!(delivery.format, AlertFormat::Grafana);
    assert_eq!(delivery.source_key.as_deref(), Some("{}:{}"));
    assert_eq!(delivery.title, "This alert was triggered for zone us-1");
    let alert = &signals(&delivery)[0];
    assert_eq!(alert.fingerprint, "c6eadffa33fcdf37");
    assert_eq!(alert.severity, None);
    let texts: Vec<&str> = alert.links.iter().map(|l| l.text.as_str()).collect();
    // The empty dashboardURL and panelURL give no links.
    assert_eq!(texts, ["Alert rule", "Runbook", "Silence"]);
    let description = alert.description.as_deref().unwrap();
    assert!(description.starts_with("The system has high memory usage\n\nValues: [ var='B'"));
    assert_eq!(alert.payload["values"]["C"], json!(1));
}

#[test]
fn grafanas_title_is_used_when_no_alert_has_a_summary() {
    let mut body = grafana_body();
    body["alerts"][0]["annotations"] = json!({});
    let delivery = parse_value(AlertFormat::Grafana, &body).unwrap();
    assert_eq!(delivery.title, "[FIRING:1]  (High memory usage blue us-1)");
}

#[test]
fn without_any_summary_the_title_is_the_alert_name_and_group_labels() {
    let mut body = alertmanager_body();
    body["alerts"][0]["annotations"] = json!({});
    body["groupLabels"] = json!({ "alertname": "HighLatency", "job": "api", "env": "prod" });
    let delivery = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    assert_eq!(delivery.title, "HighLatency (env=prod, job=api)");
    // Common labels win over group labels in the group's label set.
    assert_eq!(delivery.labels.get("env").map(String::as_str), Some("prod"));
    assert_eq!(
        delivery.labels.get("severity").map(String::as_str),
        Some("critical")
    );
}

#[test]
fn a_common_summary_is_the_title_and_a_long_one_is_cut() {
    let mut body = alertmanager_body();
    body["commonAnnotations"] = json!({ "summary": "é".repeat(TITLE_MAX + 50) });
    let delivery = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    assert_eq!(delivery.title.chars().count(), TITLE_MAX);
    assert_eq!(delivery.annotations.len(), 1);
}

#[test]
fn unknown_fields_are_ignored() {
    let mut body = alertmanager_body();
    body["somethingNew"] = json!({ "nested": [1, 2, 3] });
    body["alerts"][0]["extra"] = json!(true);
    let delivery = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    assert_eq!(signals(&delivery).len(), 2);
}

#[test]
fn a_resolved_alert_keeps_its_end_and_a_zero_end_means_none() {
    let mut body = alertmanager_body();
    body["alerts"][0]["status"] = json!("resolved");
    body["alerts"][0]["endsAt"] = json!("2024-05-01T12:10:00Z");
    body["alerts"][1]["status"] = json!("resolved");
    let delivery = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    let alerts = signals(&delivery);
    assert_eq!(alerts[0].status, AlertStatus::Resolved);
    assert_eq!(alerts[0].ends_at, Some(datetime!(2024-05-01 12:10 UTC)));
    assert_eq!(alerts[1].ends_at, None);
}

#[test]
fn a_zero_start_means_the_sender_did_not_say() {
    let mut body = alertmanager_body();
    body["alerts"][0]["startsAt"] = json!("0001-01-01T00:00:00Z");
    let delivery = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    assert_eq!(signals(&delivery)[0].starts_at, None);
}

#[test]
fn a_missing_fingerprint_is_computed_from_the_labels() {
    let mut body = alertmanager_body();
    body["alerts"][0]
        .as_object_mut()
        .unwrap()
        .remove("fingerprint");
    body["alerts"][1]["fingerprint"] = json!("");
    let delivery = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    let alerts = signals(&delivery);
    assert_eq!(alerts[0].fingerprint, fingerprint_of(&alerts[0].labels));
    assert_eq!(alerts[1].fingerprint, fingerprint_of(&alerts[1].labels));
    assert_ne!(alerts[0].fingerprint, alerts[1].fingerprint);
}

#[test]
fn truncated_alerts_are_counted() {
    let mut body = alertmanager_body();
    body["truncatedAlerts"] = json!(40);
    let delivery = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    assert!(matches!(
        delivery.action,
        Action::Alerts {
            truncated: 40,
            complete: true,
            ..
        }
    ));
}

#[test]
fn severity_aliases_in_the_severity_label_are_read_and_unknown_words_are_left_to_the_default() {
    let mut body = alertmanager_body();
    body["alerts"][0]["labels"]["severity"] = json!("warn");
    body["alerts"][1]["labels"]["severity"] = json!("spicy");
    let delivery = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    let alerts = signals(&delivery);
    assert_eq!(alerts[0].severity, Some(AlertSeverity::Warning));
    assert_eq!(alerts[1].severity, None);
}

#[test]
fn another_payload_version_is_refused_as_unsupported() {
    let mut body = alertmanager_body();
    body["version"] = json!("5");
    assert_eq!(
        parse_value(AlertFormat::Alertmanager, &body),
        Err(IntakeError::UnsupportedVersion("5".into()))
    );
    // Grafana's "1" is not Alertmanager's "4", and the other way round.
    assert_eq!(
        parse_value(AlertFormat::Alertmanager, &grafana_body()),
        Err(IntakeError::UnsupportedVersion("1".into()))
    );
    assert_eq!(
        parse_value(AlertFormat::Grafana, &alertmanager_body()),
        Err(IntakeError::UnsupportedVersion("4".into()))
    );
    body["version"] = json!(4);
    assert_eq!(
        parse_value(AlertFormat::Alertmanager, &body),
        Err(IntakeError::UnsupportedVersion("4".into()))
    );
    body.as_object_mut().unwrap().remove("version");
    assert_eq!(
        invalid(parse_value(AlertFormat::Alertmanager, &body)),
        [r#"version is missing (Alertmanager webhook sends "4")"#]
    );
}

#[test]
fn every_missing_or_wrong_field_is_listed_in_words() {
    let body = json!({
        "version": "4",
        "groupKey": " ",
        "status": "burning",
        "alerts": [
            { "status": "firing", "labels": { "alertname": "A" }, "startsAt": "2024-05-01T12:00:00Z" },
            { "status": "on fire", "startsAt": "yesterday" },
            { "status": "resolved", "labels": {}, "endsAt": "2024-13-01T00:00:00Z" }
        ]
    });
    assert_eq!(
        invalid(parse_value(AlertFormat::Alertmanager, &body)),
        [
            "groupKey is missing or blank",
            r#"status must be "firing" or "resolved""#,
            r#"alerts[1].status must be "firing" or "resolved""#,
            "alerts[1].labels is missing (a map of label names to values)",
            r#"alerts[1].startsAt must be an RFC 3339 time like 2024-05-01T12:00:00Z, not "yesterday""#,
            "alerts[2].startsAt is missing",
            r#"alerts[2].endsAt must be an RFC 3339 time like 2024-05-01T12:00:00Z, not "2024-13-01T00:00:00Z""#,
        ]
    );
}

#[test]
fn a_body_without_alerts_or_with_none_is_refused() {
    let mut body = alertmanager_body();
    body["alerts"] = json!([]);
    assert_eq!(
        invalid(parse_value(AlertFormat::Alertmanager, &body)),
        ["alerts must list at least one alert"]
    );
    body.as_object_mut().unwrap().remove("alerts");
    assert_eq!(
        invalid(parse_value(AlertFormat::Alertmanager, &body)),
        ["alerts is missing (an array of alerts)"]
    );
}

#[test]
fn a_thousand_broken_alerts_give_a_short_list_of_problems() {
    let mut body = alertmanager_body();
    body["alerts"] = Value::Array(vec![json!({ "status": "firing" }); 1000]);
    let problems = invalid(parse_value(AlertFormat::Alertmanager, &body));
    assert_eq!(problems.len(), 21);
    assert_eq!(problems[20], "and 1980 more problems");
}

#[test]
fn malformed_json_and_wrong_types_name_what_is_wrong() {
    let Err(IntakeError::Malformed(message)) = parse(AlertFormat::Alertmanager, b"{\"version\": ")
    else {
        panic!("expected Malformed");
    };
    assert!(message.contains("line 1"), "{message}");
    assert!(matches!(
        parse(AlertFormat::Alertmanager, b"[1, 2]"),
        Err(IntakeError::Malformed(m)) if m == "the body must be a JSON object"
    ));
    let mut body = alertmanager_body();
    body["alerts"][1]["labels"]["instance"] = json!(9090);
    let Err(IntakeError::Malformed(message)) = parse_value(AlertFormat::Alertmanager, &body) else {
        panic!("expected Malformed");
    };
    assert!(
        message.starts_with("alerts[1].labels.instance: invalid type: integer"),
        "{message}"
    );
}

#[test]
fn nul_characters_anywhere_are_replaced() {
    let mut body = alertmanager_body();
    body["alerts"][0]["annotations"]["summary"] = json!("bad\u{0}byte");
    body["alerts"][0]["labels"]["odd\u{0}name"] = json!("x");
    body["commonLabels"]["job"] = json!("a\u{0}pi");
    let text = body.to_string();
    assert!(text.contains("\\u0000"));
    let delivery = parse(AlertFormat::Alertmanager, text.as_bytes()).unwrap();
    let first = &signals(&delivery)[0];
    assert_eq!(first.summary, "bad\u{FFFD}byte");
    assert!(first.labels.contains_key("odd\u{FFFD}name"));
    assert_eq!(delivery.labels["job"], "a\u{FFFD}pi");
    assert!(!serde_json::to_string(&delivery)
        .unwrap()
        .contains("\\u0000"));
}

#[test]
fn identical_re_sends_have_one_digest_and_a_resolution_changes_it() {
    let body = alertmanager_body();
    let first = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    let again = parse_value(AlertFormat::Alertmanager, &body).unwrap();
    assert_eq!(first.digest(), again.digest());

    let mut resolved = body.clone();
    resolved["alerts"][1]["status"] = json!("resolved");
    resolved["alerts"][1]["endsAt"] = json!("2024-05-01T12:20:00Z");
    let resolved = parse_value(AlertFormat::Alertmanager, &resolved).unwrap();
    assert_ne!(first.digest(), resolved.digest());
}

#[test]
fn a_grafana_repeat_with_new_values_has_the_same_digest() {
    let body = grafana_body();
    let mut later = body.clone();
    later["alerts"][0]["values"] = json!({ "B": 51.5, "C": 1 });
    later["alerts"][0]["valueString"] = json!("[ var='B' labels={} value=51.5 ]");
    let first = parse_value(AlertFormat::Grafana, &body).unwrap();
    let again = parse_value(AlertFormat::Grafana, &later).unwrap();
    assert_ne!(signals(&first)[0].payload, signals(&again)[0].payload);
    assert_eq!(first.digest(), again.digest());

    let mut relabelled = body.clone();
    relabelled["alerts"][0]["labels"]["zone"] = json!("us-2");
    let relabelled = parse_value(AlertFormat::Grafana, &relabelled).unwrap();
    assert_ne!(first.digest(), relabelled.digest());
}
