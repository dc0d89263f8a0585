//! The ingest doors' answers, each in its format's own shape: keys in the path, as
//! Bearer or as the Basic password; wrong keys, keys of another kind, malformed,
//! oversized and unknown-version bodies; a database that is gone.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::json;

use crate::alerts::{am, pd};
use crate::support::{TestApp, TestResponse};

const T0: &str = "2026-03-01T10:00:00Z";

fn assert_problem(r: &TestResponse, status: StatusCode, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    assert_eq!(
        r.header("content-type"),
        "application/problem+json",
        "{what}"
    );
    assert_eq!(r.json()["status"], status.as_u16(), "{what}");
}

fn assert_pd_invalid(r: &TestResponse, error: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let body = r.json();
    assert_eq!(body["status"], "invalid event");
    assert_eq!(body["message"], "Event object is invalid");
    let errors: Vec<String> = serde_json::from_value(body["errors"].clone()).unwrap();
    assert!(errors.iter().any(|e| e.contains(error)), "{errors:?}");
}

pub fn counted(app: &TestApp, format: &str, outcome: &str) -> bool {
    let line = format!(
        "fireline_alert_intake_requests_total{{format=\"{format}\",outcome=\"{outcome}\"}}"
    );
    app.state
        .metrics
        .render()
        .lines()
        .any(|l| l.starts_with(&line))
}

#[tokio::test]
async fn alertmanager_takes_its_key_in_the_path_as_bearer_or_as_basic_password_and_nothing_else() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let (_, pd_key) = app.integration("pagerduty").await;
    let body = am("Api", &[("a", "firing", T0, None)]);
    let ok = app
        .ingest(&format!("/ingest/{key}/alertmanager"), None, &body)
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{}", ok.text);
    let bearer = format!("Bearer {key}");
    let ok = app
        .ingest("/ingest/alertmanager", Some(&bearer), &body)
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("alertmanager:{key}"));
    let ok = app
        .ingest(
            "/ingest/alertmanager",
            Some(&format!("Basic {basic}")),
            &body,
        )
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED);

    let wrong = "abcdefghijklmnopqrstuvwxyz012345";
    for (path, auth) in [
        (format!("/ingest/{wrong}/alertmanager"), None),
        ("/ingest/alertmanager".to_owned(), None),
        (
            "/ingest/alertmanager".to_owned(),
            Some(format!("Bearer {wrong}")),
        ),
        ("/ingest/not-a-key/alertmanager".to_owned(), None),
        // A key of another kind of integration opens nothing here.
        (format!("/ingest/{pd_key}/alertmanager"), None),
        (format!("/ingest/{key}/grafana"), None),
        (format!("/ingest/{key}/generic"), None),
    ] {
        let r = app.ingest(&path, auth.as_deref(), &body).await;
        assert_problem(&r, StatusCode::UNAUTHORIZED, &path);
        assert_eq!(r.header("www-authenticate"), "Bearer");
    }
    assert!(counted(&app, "alertmanager", "accepted"));
    assert!(counted(&app, "alertmanager", "unauthorized"));
    assert_eq!(app.process_alerts().await.applied, 3);
}

#[tokio::test]
async fn a_bad_webhook_body_gets_a_problem_and_is_counted() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let (_, grafana) = app.integration("grafana").await;
    let path = format!("/ingest/{key}/alertmanager");
    let r = app.ingest(&path, None, "{not json").await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "malformed");

    let mut old =
        serde_json::from_str::<serde_json::Value>(&am("Api", &[("a", "firing", T0, None)]))
            .unwrap();
    old["version"] = json!("3");
    let r = app.ingest(&path, None, &old.to_string()).await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "version");
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("Unsupported payload version"));
    // Alertmanager's version 4 is not Grafana's version 1.
    let r = app
        .ingest(
            &format!("/ingest/{grafana}/grafana"),
            None,
            &old.to_string(),
        )
        .await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "grafana version");

    let r = app
        .ingest(&path, None, r#"{"version": "4", "status": "firing"}"#)
        .await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "missing fields");
    assert!(r.json()["errors"].is_object(), "{}", r.text);

    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(4 * 1024 * 1024));
    let r = app.ingest(&path, None, &huge).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE, "oversized");

    for outcome in ["invalid", "unsupported_version", "too_large"] {
        assert!(counted(&app, "alertmanager", outcome), "{outcome}");
    }
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM alert_intake").await,
        0
    );
}

#[tokio::test]
async fn pagerduty_answers_as_pagerduty_does() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("pagerduty").await;
    let (_, am_key) = app.integration("alertmanager").await;
    let r = app
        .ingest("/v2/enqueue", None, &pd(&key, "trigger", Some("k1")))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        r.json(),
        json!({"status": "success", "message": "Event processed", "dedup_key": "k1"})
    );
    let wrong = "abcdefghijklmnopqrstuvwxyz012345";
    let r = app
        .ingest("/v2/enqueue", None, &pd(wrong, "trigger", Some("k1")))
        .await;
    assert_pd_invalid(&r, "Invalid routing key");
    let r = app
        .ingest("/v2/enqueue", None, &pd(&am_key, "trigger", Some("k1")))
        .await;
    assert_pd_invalid(&r, "Invalid routing key");
    let r = app.ingest("/v2/enqueue", None, "{oops").await;
    assert_pd_invalid(&r, "");
    let r = app
        .ingest(
            "/v2/enqueue",
            None,
            &json!({"routing_key": key}).to_string(),
        )
        .await;
    assert_pd_invalid(&r, "event_action");
    let huge = pd(&key, "trigger", Some(&"k".repeat(600 * 1024)));
    assert_pd_invalid(
        &app.ingest("/v2/enqueue", None, &huge).await,
        "Event is larger than 512 KB",
    );

    let v1 = json!({"service_key": key, "event_type": "trigger", "description": "Backup failed"});
    let r = app
        .ingest(
            "/generic/2010-04-15/create_event.json",
            None,
            &v1.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["status"], "success");
    assert!(r.json()["incident_key"].is_string());
    let v1 = json!({"service_key": wrong, "event_type": "trigger", "description": "Backup failed"});
    let r = app
        .ingest(
            "/generic/2010-04-15/create_event.json",
            None,
            &v1.to_string(),
        )
        .await;
    assert_pd_invalid(&r, "Invalid service key");

    assert!(counted(&app, "pagerduty_v2", "unauthorized"));
    assert!(counted(&app, "pagerduty_v2", "too_large"));
    assert!(counted(&app, "pagerduty_v1", "accepted"));
    // The routing key is never stored with what was received.
    let leaked = format!("SELECT count(*) FROM alert_intake WHERE delivery LIKE '%{key}%'");
    assert_eq!(app.scalar::<i64>(&leaked).await, 0);
}

#[tokio::test]
async fn generic_json_is_accepted_and_refused_in_problem_json() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("generic").await;
    let path = format!("/ingest/{key}/generic");
    let event = json!({"status": "firing", "title": "Backup failed", "severity": "p2"});
    let r = app.ingest(&path, None, &event.to_string()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json()["status"], "accepted");
    let dedup = r.json()["dedup_key"].as_str().unwrap().to_owned();
    let again = app
        .ingest(
            "/ingest/generic",
            Some(&format!("Bearer {key}")),
            &event.to_string(),
        )
        .await;
    assert_eq!(again.json()["dedup_key"], dedup.as_str(), "repeats dedupe");

    assert_problem(
        &app.ingest(&path, None, "[1,").await,
        StatusCode::BAD_REQUEST,
        "malformed",
    );
    let r = app.ingest(&path, None, r#"{"title": "no status"}"#).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "missing status");
    let huge = json!({"status": "firing", "title": "x".repeat(600 * 1024)}).to_string();
    assert_problem(
        &app.ingest(&path, None, &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "huge",
    );
    let wrong = "/ingest/abcdefghijklmnopqrstuvwxyz012345/generic";
    assert_problem(
        &app.ingest(wrong, None, &event.to_string()).await,
        StatusCode::UNAUTHORIZED,
        "key",
    );

    app.process_alerts().await;
    let severity: String = app.scalar("SELECT severity::text FROM alert_groups").await;
    assert_eq!(severity, "error");
    let times: i32 = app.scalar("SELECT times_received FROM alert_groups").await;
    assert_eq!(times, 2);
}

#[tokio::test]
async fn with_the_database_gone_each_door_says_retry_later_never_500() {
    let app = TestApp::new().await;
    let (_, am_key) = app.integration("alertmanager").await;
    let (_, pd_key) = app.integration("pagerduty").await;
    let (_, generic_key) = app.integration("generic").await;
    app.pool().close().await;

    let body = am("Api", &[("a", "firing", T0, None)]);
    let r = app
        .ingest(&format!("/ingest/{am_key}/alertmanager"), None, &body)
        .await;
    assert_problem(&r, StatusCode::SERVICE_UNAVAILABLE, "alertmanager");
    assert_eq!(r.header("retry-after"), "5");

    let r = app
        .ingest("/v2/enqueue", None, &pd(&pd_key, "trigger", Some("k")))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.header("retry-after"), "5");
    assert_eq!(r.json()["status"], "throttle event");

    let event = json!({"status": "firing", "title": "x"}).to_string();
    let r = app
        .ingest(&format!("/ingest/{generic_key}/generic"), None, &event)
        .await;
    assert_problem(&r, StatusCode::TOO_MANY_REQUESTS, "generic");
    assert_eq!(r.header("retry-after"), "5");
    assert!(counted(&app, "alertmanager", "overloaded"));
}
