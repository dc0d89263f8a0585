//! Grafana's webhook signature: once an integration has a signing secret, a delivery
//! counts only with `X-Grafana-Alerting-Signature` = hex HMAC-SHA256 of the body (or of
//! `timestamp:body` with a timestamp header); anything else is a 401 problem, counted as
//! `bad_signature`, and stores nothing.

use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::alerts::am;
use crate::support::{TestApp, TestResponse};

const T0: &str = "2026-03-01T10:00:00Z";

fn sign(secret: &str, signed: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn grafana_body() -> String {
    let mut body: serde_json::Value =
        serde_json::from_str(&am("Api", &[("a", "firing", T0, None)])).unwrap();
    body["version"] = json!("1");
    body.to_string()
}

fn assert_bad_signature(r: &TestResponse, what: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
    assert_eq!(
        r.header("content-type"),
        "application/problem+json",
        "{what}"
    );
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("X-Grafana-Alerting-Signature"),
        "{what}: {}",
        r.text
    );
}

async fn admin_integration(app: &TestApp, kind: &str) -> (String, String, String) {
    let email = format!("{}@integrations.test", uuid::Uuid::new_v4().simple());
    let (_, token) = app.token(&email, fireline::accounts::Role::Admin).await;
    let made = app
        .created(
            "/api/v1/integrations",
            &token,
            json!({ "name": format!("{kind} signed"), "kind": kind }),
        )
        .await;
    let id = made["id"].as_str().unwrap().to_owned();
    (token, id, made["key"].as_str().unwrap().to_owned())
}

fn bad_signatures_counted(app: &TestApp) -> bool {
    app.state.metrics.render().lines().any(|l| {
        l.starts_with(
            "fireline_alert_intake_requests_total{format=\"grafana\",outcome=\"bad_signature\"}",
        )
    })
}

#[tokio::test]
async fn a_signed_grafana_integration_takes_only_deliveries_whose_signature_matches_the_body() {
    let app = TestApp::new().await;
    let (token, id, key) = admin_integration(&app, "grafana").await;
    let path = format!("/ingest/{key}/grafana");
    let body = grafana_body();
    // Without a secret no signature is asked for.
    let r = app.ingest_with(&path, &[], &body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);

    let patched = app
        .patched(
            &format!("/api/v1/integrations/{id}"),
            &token,
            json!({ "signing_secret": "s3cret", "version": 1 }),
        )
        .await;
    assert_eq!(patched["signed"], true);
    assert!(!patched.to_string().contains("s3cret"), "{patched}");

    let good = sign("s3cret", &body);
    let r = app
        .ingest_with(&path, &[("X-Grafana-Alerting-Signature", &good)], &body)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);

    let r = app.ingest_with(&path, &[], &body).await;
    assert_bad_signature(&r, "missing");
    let wrong = sign("another secret", &body);
    let r = app
        .ingest_with(&path, &[("X-Grafana-Alerting-Signature", &wrong)], &body)
        .await;
    assert_bad_signature(&r, "other secret");
    let r = app
        .ingest_with(
            &path,
            &[("X-Grafana-Alerting-Signature", &good)],
            &body.replace("Api on a", "Api on b"),
        )
        .await;
    assert_bad_signature(&r, "changed body");
    assert!(bad_signatures_counted(&app));
    // Only the unsigned delivery before the secret and the signed one were stored.
    assert_eq!(app.process_alerts().await.applied, 2);

    // Turned off again, nothing is asked for.
    let patched = app
        .patched(
            &format!("/api/v1/integrations/{id}"),
            &token,
            json!({ "signing_secret": "", "version": 2 }),
        )
        .await;
    assert_eq!(patched["signed"], false);
    let r = app.ingest_with(&path, &[], &body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
}

#[tokio::test]
async fn with_a_timestamp_header_the_signature_covers_the_timestamp_and_the_body() {
    let app = TestApp::new().await;
    let (token, id, key) = admin_integration(&app, "grafana").await;
    let patched = app
        .patched(
            &format!("/api/v1/integrations/{id}"),
            &token,
            json!({
                "signing_secret": "s3cret",
                "timestamp_header": "X-Grafana-Alerting-Signature-Timestamp",
                "version": 1,
            }),
        )
        .await;
    assert_eq!(
        patched["timestamp_header"],
        "X-Grafana-Alerting-Signature-Timestamp"
    );
    let path = format!("/ingest/{key}/grafana");
    let body = grafana_body();
    let signed = sign("s3cret", &format!("1764700000:{body}"));
    let r = app
        .ingest_with(
            &path,
            &[
                ("X-Grafana-Alerting-Signature", &signed),
                ("X-Grafana-Alerting-Signature-Timestamp", "1764700000"),
            ],
            &body,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    // The body's signature alone, or another timestamp, is not enough.
    let body_only = sign("s3cret", &body);
    let r = app
        .ingest_with(
            &path,
            &[
                ("X-Grafana-Alerting-Signature", &body_only),
                ("X-Grafana-Alerting-Signature-Timestamp", "1764700000"),
            ],
            &body,
        )
        .await;
    assert_bad_signature(&r, "body only");
    let r = app
        .ingest_with(
            &path,
            &[
                ("X-Grafana-Alerting-Signature", &signed),
                ("X-Grafana-Alerting-Signature-Timestamp", "1764700001"),
            ],
            &body,
        )
        .await;
    assert_bad_signature(&r, "other timestamp");
    let r = app
        .ingest_with(&path, &[("X-Grafana-Alerting-Signature", &signed)], &body)
        .await;
    assert_bad_signature(&r, "no timestamp");
}

#[tokio::test]
async fn a_signing_secret_is_refused_for_other_kinds_and_when_it_is_too_long() {
    let app = TestApp::new().await;
    let (token, id, _) = admin_integration(&app, "alertmanager").await;
    let r = app
        .patch(
            &format!("/api/v1/integrations/{id}"),
            &token,
            &json!({ "signing_secret": "s3cret", "version": 1 }).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("Only Grafana"), "{}", r.text);

    let (token, id, _) = admin_integration(&app, "grafana").await;
    for body in [
        json!({ "signing_secret": "x".repeat(257), "version": 1 }),
        json!({ "signing_secret": "s3cret", "timestamp_header": "bad header", "version": 1 }),
        json!({ "timestamp_header": "X-Ts", "version": 1 }),
    ] {
        let r = app
            .patch(
                &format!("/api/v1/integrations/{id}"),
                &token,
                &body.to_string(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
    }
}
