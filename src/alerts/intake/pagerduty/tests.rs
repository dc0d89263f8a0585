//! Tests of the pagerduty parser, on payloads as the tools send them.

use super::*;
use serde_json::json;
use time::macros::datetime;

const KEY: &str = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";

/// The trigger example of PagerDuty's Events API v2 documentation.
fn trigger() -> Value {
    json!({
        "payload": {
            "summary": "Example alert on host1.example.com",
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "severity": "info",
            "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "deploy",
            "custom_details": {
                "ping time": "1500ms",
                "load avg": 0.75,
                "nested": { "a": 1 }
            }
        },
        "routing_key": KEY,
        "dedup_key": "samplekeyhere",
        "images": [{
            "src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
            "href": "https://example.com/",
            "alt": "Example text"
        }],
        "links": [{ "href": "https://example.com/", "text": "Link text" }],
        "event_action": "trigger",
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.example.com"
    })
}

fn read_v2(body: &Value) -> Result<Enqueued, IntakeError> {
    parse_v2(body.to_string().as_bytes())
}

fn read_v1(body: &Value) -> Result<Enqueued, IntakeError> {
    parse_v1(body.to_string().as_bytes())
}

fn invalid(result: Result<Enqueued, IntakeError>) -> Vec<String> {
    match result {
        Err(IntakeError::Invalid(problems)) => problems,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn only_signal(enqueued: &Enqueued) -> &Signal {
    match &enqueued.delivery.action {
        Action::Alerts {
            alerts,
            complete: false,
            truncated: 0,
        } if alerts.len() == 1 => &alerts[0],
        other => panic!("expected one alert, got {other:?}"),
    }
}

#[test]
fn the_documented_v2_trigger_is_one_firing_alert_named_by_its_dedup_key() {
    let enqueued = read_v2(&trigger()).unwrap();
    assert_eq!(enqueued.key, KEY);
    assert_eq!(enqueued.dedup_key, "samplekeyhere");
    let delivery = &enqueued.delivery;
    assert_eq!(delivery.format, AlertFormat::PagerdutyV2);
    assert_eq!(delivery.group_key, "samplekeyhere");
    assert_eq!(delivery.title, "Example alert on host1.example.com");
    assert_eq!(
        delivery.source_url.as_deref(),
        Some("https://monitoring.example.com")
    );
    let labels: Vec<(&str, &str)> = delivery
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("class", "deploy"),
            ("client", "Sample Monitoring Service"),
            ("component", "postgres"),
            ("group", "prod-datapipe"),
            (
                "source",
                "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003"
            ),
        ]
    );
    // Only flat strings become annotations; the rest stays in the payload.
    assert_eq!(delivery.annotations.len(), 1);
    assert_eq!(delivery.annotations["ping time"], "1500ms");

    let alert = only_signal(&enqueued);
    assert_eq!(alert.fingerprint, "samplekeyhere");
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.severity, Some(AlertSeverity::Info));
    assert_eq!(
        alert.starts_at,
        Some(datetime!(2015-07-17 08:42:58.315 UTC))
    );
    assert_eq!(alert.payload, trigger()["payload"]);
    let links: Vec<(&str, &str)> = alert
        .links
        .iter()
        .map(|l| (l.href.as_str(), l.text.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            (
                "https://monitoring.example.com",
                "Sample Monitoring Service"
            ),
            ("https://example.com/", "Link text"),
            ("https://example.com/", "Example text"),
        ]
    );
}

#[test]
fn the_routing_key_is_never_kept_with_the_alert() {
    let enqueued = read_v2(&trigger()).unwrap();
    let stored = serde_json::to_string(&enqueued.delivery).unwrap();
    assert!(!stored.contains(KEY));
    let enqueued = read_v1(&json!({
        "service_key": KEY, "event_type": "trigger", "description": "x"
    }))
    .unwrap();
    assert!(!serde_json::to_string(&enqueued.delivery)
        .unwrap()
        .contains(KEY));
}

#[test]
fn alertmanagers_own_pagerduty_trigger_and_resolve_read() {
    // As notify/pagerduty sends them: severity "error" by default, custom_details
    // of strings, dedup_key = sha256 hex of the group key.
    let dedup = "6e1e5c1f2a9dd4dbd3bf6d0c35a5e0a5f3b2c6a3e6f0b1d2c3e4f5a6b7c8d9e0";
    let fire = json!({
        "routing_key": KEY, "dedup_key": dedup, "event_action": "trigger",
        "payload": {
            "summary": "[FIRING:2] FirelineE2E", "source": "Alertmanager", "severity": "error",
            "custom_details": { "firing": "Labels:\n - alertname = FirelineE2E\n", "num_firing": "2", "num_resolved": "0", "resolved": "" }
        },
        "client": "Alertmanager", "client_url": "http://alertmanager:9093/#/alerts?receiver=fireline",
        "images": [], "links": []
    });
    let enqueued = read_v2(&fire).unwrap();
    assert_eq!(enqueued.delivery.group_key, dedup);
    assert_eq!(enqueued.delivery.annotations["num_firing"], "2");
    let mut resolve = fire.clone();
    resolve["event_action"] = json!("resolve");
    let enqueued = read_v2(&resolve).unwrap();
    assert_eq!(enqueued.delivery.action, Action::Resolve);
    assert_eq!(enqueued.delivery.group_key, dedup);
}

#[test]
fn acknowledge_and_resolve_need_only_the_key_action_and_dedup_key() {
    for (action, expected) in [
        ("acknowledge", Action::Acknowledge),
        ("resolve", Action::Resolve),
    ] {
        let enqueued = read_v2(&json!({
            "routing_key": KEY, "event_action": action, "dedup_key": "disk-a"
        }))
        .unwrap();
        assert_eq!(enqueued.dedup_key, "disk-a");
        assert_eq!(enqueued.delivery.action, expected);
        assert_eq!(enqueued.delivery.title, "disk-a");
        assert_eq!(
            invalid(read_v2(
                &json!({ "routing_key": KEY, "event_action": action })
            )),
            ["'dedup_key' is missing or blank"]
        );
    }
}

#[test]
fn a_trigger_without_a_dedup_key_gets_a_new_one_each_time() {
    let mut body = trigger();
    body.as_object_mut().unwrap().remove("dedup_key");
    let first = read_v2(&body).unwrap();
    let second = read_v2(&body).unwrap();
    assert_ne!(first.dedup_key, second.dedup_key);
    for key in [&first.dedup_key, &second.dedup_key] {
        assert_eq!(key.len(), 32);
        assert!(key
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }
    assert_eq!(first.delivery.group_key, first.dedup_key);
    assert_eq!(only_signal(&first).fingerprint, first.dedup_key);
}

#[test]
fn each_v2_problem_is_worded_as_pagerduty_words_it() {
    assert_eq!(
        invalid(read_v2(&json!({}))),
        [
            "'routing_key' cannot be blank",
            "'event_action' is missing or blank"
        ]
    );
    assert_eq!(
        invalid(read_v2(&json!({ "routing_key": KEY, "event_action": "page" }))),
        ["'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"]
    );
    assert_eq!(
        invalid(read_v2(
            &json!({ "routing_key": KEY, "event_action": "trigger" })
        )),
        ["'payload' is missing or blank"]
    );
    assert_eq!(
        invalid(read_v2(
            &json!({ "routing_key": KEY, "event_action": "trigger", "payload": {} })
        )),
        [
            "'payload.summary' is missing or blank",
            "'payload.source' is missing or blank",
            "'payload.severity' is missing or blank",
        ]
    );
    let mut body = trigger();
    body["payload"]["severity"] = json!("Critical");
    body["payload"]["timestamp"] = json!("last tuesday");
    body["dedup_key"] = json!("k".repeat(256));
    assert_eq!(
        invalid(read_v2(&body)),
        [
            "'dedup_key' is longer than 255 characters",
            "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
            "'payload.timestamp' is invalid (must be an ISO 8601 date and time, like 2015-07-17T08:42:58.315+0000)",
        ]
    );
    body["dedup_key"] = json!("é".repeat(255));
    body["payload"]["severity"] = json!("critical");
    body["payload"]["timestamp"] = json!("2024-05-01T12:00:00.5+02:00");
    assert!(
        read_v2(&body).is_ok(),
        "255 characters is the limit, not 255 bytes"
    );
}

#[test]
fn a_wrong_type_is_malformed_and_names_the_field() {
    let mut body = trigger();
    body["payload"]["severity"] = json!(3);
    let Err(IntakeError::Malformed(message)) = read_v2(&body) else {
        panic!("expected Malformed");
    };
    assert!(
        message.starts_with("payload.severity: invalid type: integer `3`"),
        "{message}"
    );
    assert!(matches!(parse_v2(b"{"), Err(IntakeError::Malformed(_))));
    assert!(matches!(parse_v2(b"null"), Err(IntakeError::Malformed(_))));
}

#[test]
fn an_oversized_summary_is_cut_to_pagerdutys_limit() {
    let mut body = trigger();
    body["payload"]["summary"] = json!("ü".repeat(3000));
    let enqueued = read_v2(&body).unwrap();
    assert_eq!(only_signal(&enqueued).summary.chars().count(), SUMMARY_MAX);
    assert_eq!(enqueued.delivery.title.chars().count(), TITLE_MAX);
}

#[test]
fn unknown_fields_are_ignored_and_nul_characters_replaced() {
    let mut body = trigger();
    body["payload"]["summary"] = json!("disk\u{0}full");
    body["payload"]["custom_details"]["note\u{0}"] = json!("x\u{0}y");
    body["something_new"] = json!([1, { "deep": null }]);
    let enqueued = read_v2(&body).unwrap();
    assert_eq!(enqueued.delivery.title, "disk\u{FFFD}full");
    assert_eq!(enqueued.delivery.annotations["note\u{FFFD}"], "x\u{FFFD}y");
    assert!(!serde_json::to_string(&enqueued.delivery)
        .unwrap()
        .contains("\\u0000"));
}

#[test]
fn identical_triggers_have_one_digest_and_a_new_summary_changes_it() {
    let first = read_v2(&trigger()).unwrap();
    let again = read_v2(&trigger()).unwrap();
    assert_eq!(first.delivery.digest(), again.delivery.digest());
    let mut body = trigger();
    body["payload"]["summary"] = json!("Worse now");
    assert_ne!(
        first.delivery.digest(),
        read_v2(&body).unwrap().delivery.digest()
    );
}

#[test]
fn a_v1_trigger_reads_its_description_details_and_contexts() {
    let enqueued = read_v1(&json!({
        "service_key": KEY,
        "event_type": "trigger",
        "incident_key": "srv01/HTTP",
        "description": "FAILURE for production/HTTP on machine srv01.acme.com",
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.service.com",
        "details": { "ping time": "1500ms", "load avg": 0.75 },
        "contexts": [
            { "type": "link", "href": "http://acme.pagerduty.com", "text": "View the incident" },
            { "type": "image", "src": "https://chart.example.com/image.png" }
        ]
    }))
    .unwrap();
    assert_eq!(enqueued.key, KEY);
    assert_eq!(enqueued.dedup_key, "srv01/HTTP");
    let delivery = &enqueued.delivery;
    assert_eq!(delivery.format, AlertFormat::PagerdutyV1);
    assert_eq!(delivery.group_key, "srv01/HTTP");
    assert_eq!(
        delivery.title,
        "FAILURE for production/HTTP on machine srv01.acme.com"
    );
    assert_eq!(delivery.labels["client"], "Sample Monitoring Service");
    assert_eq!(delivery.annotations["ping time"], "1500ms");
    let alert = only_signal(&enqueued);
    assert_eq!(alert.severity, None);
    assert_eq!(alert.payload["details"]["load avg"], json!(0.75));
    assert!(alert.payload.get("service_key").is_none());
    let texts: Vec<&str> = alert.links.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        ["Sample Monitoring Service", "View the incident", "Image"]
    );
}

#[test]
fn a_v1_trigger_without_an_incident_key_gets_one_and_others_must_name_theirs() {
    let first =
        read_v1(&json!({ "service_key": KEY, "event_type": "trigger", "description": "x" }))
            .unwrap();
    let second =
        read_v1(&json!({ "service_key": KEY, "event_type": "trigger", "description": "x" }))
            .unwrap();
    assert_eq!(first.dedup_key.len(), 32);
    assert_ne!(first.dedup_key, second.dedup_key);
    let resolved = read_v1(
        &json!({ "service_key": KEY, "event_type": "resolve", "incident_key": "srv01/HTTP" }),
    )
    .unwrap();
    assert_eq!(resolved.delivery.action, Action::Resolve);
    let acknowledged = read_v1(
        &json!({ "service_key": KEY, "event_type": "acknowledge", "incident_key": "srv01/HTTP" }),
    )
    .unwrap();
    assert_eq!(acknowledged.delivery.action, Action::Acknowledge);
}

#[test]
fn each_v1_problem_is_worded_in_v1s_style() {
    assert_eq!(
        invalid(read_v1(&json!({}))),
        [
            "Service key is missing or blank",
            "Event type is missing or blank"
        ]
    );
    assert_eq!(
        invalid(read_v1(
            &json!({ "service_key": KEY, "event_type": "trigger" })
        )),
        ["Description is missing or blank"]
    );
    assert_eq!(
        invalid(read_v1(
            &json!({ "service_key": KEY, "event_type": "resolve" })
        )),
        ["Incident key is missing or blank"]
    );
    assert_eq!(
        invalid(read_v1(&json!({ "service_key": KEY, "event_type": "open" }))),
        ["Event type is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"]
    );
    assert_eq!(
        invalid(read_v1(&json!({
            "service_key": KEY, "event_type": "trigger", "description": "x", "incident_key": "k".repeat(300)
        }))),
        ["Incident key is longer than 255 characters"]
    );
}
