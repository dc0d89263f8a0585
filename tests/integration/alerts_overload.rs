//! Intake under load: the deliveries of concurrent requests are stored together; a full
//! writer queue or a backlog over its limit is refused at once with each format's "come
//! back later" and nothing half-stored, and intake resumes when the processors have
//! caught up. Keys are looked up once and forgotten when their integration changes: at
//! once in the process that changed it, through NOTIFY in the others.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fireline::app::config::Settings;
use fireline::app::AppState;
use serde_json::json;
use sqlx::Connection;
use tower::ServiceExt;

use crate::alerts::{am, pd};
use crate::alerts_doors::counted;
use crate::support::{TestApp, TestResponse};

const T0: &str = "2026-03-01T10:00:00Z";

fn firing(group: &str) -> String {
    am(group, &[("a", "firing", T0, None)])
}

/// Wait (at most ten seconds) until `sql` counts `want`.
async fn until_count(app: &TestApp, sql: &str, want: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen: i64 = app.scalar(sql).await;
        if seen == want {
            return;
        }
        assert!(Instant::now() < deadline, "{sql}: {seen}, not {want}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const BLOCKED_INSERTS: &str = "SELECT count(*) FROM pg_stat_activity \
    WHERE datname = current_database() AND wait_event_type = 'Lock' \
    AND query LIKE '%INSERT INTO alert_intake%'";

fn assert_come_back_later(r: &TestResponse, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.header("retry-after"), "5");
}

#[tokio::test]
async fn a_full_writer_queue_refuses_at_once_and_what_it_held_is_stored_together() {
    let mut settings = Settings::for_base_url("http://fireline.test");
    settings.intake.queue = 4;
    let app = TestApp::with_settings(settings).await;
    let writers = app.state.settings.intake.writers as i64;
    let (_, key) = app.integration("alertmanager").await;
    let (_, pd_key) = app.integration("pagerduty").await;
    let path = format!("/ingest/{key}/alertmanager");

    // The table is locked, so each writer blocks in its INSERT holding one delivery.
    let mut lock = sqlx::PgConnection::connect(&app.db.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut lock).await.unwrap();
    sqlx::query("LOCK TABLE alert_intake IN EXCLUSIVE MODE")
        .execute(&mut lock)
        .await
        .unwrap();
    let mut held = Vec::new();
    for n in 1..=writers {
        held.push(app.ingest_in_background(&path, &firing(&format!("Writing{n}"))));
        until_count(&app, BLOCKED_INSERTS, n).await;
    }
    // Then the queue fills.
    for n in 0..4 {
        held.push(app.ingest_in_background(&path, &firing(&format!("Queued{n}"))));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.intake.queued() < 4 {
        assert!(Instant::now() < deadline, "the queue never filled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let metrics = app.get("/metrics").await;
    assert!(
        metrics.text.contains("fireline_alert_intake_queued 4"),
        "{}",
        metrics.text
    );

    // Full: refused at once, in each format's words.
    let refused = app.ingest(&path, None, &firing("Refused")).await;
    assert_come_back_later(&refused, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("content-type"), "application/problem+json");
    let refused = app
        .ingest("/v2/enqueue", None, &pd(&pd_key, "trigger", Some("k")))
        .await;
    assert_come_back_later(&refused, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json()["status"], "throttle event");
    assert!(counted(&app, "alertmanager", "overloaded"));
    assert!(counted(&app, "pagerduty_v2", "overloaded"));

    sqlx::query("COMMIT").execute(&mut lock).await.unwrap();
    let held_count = held.len() as i64;
    for request in held {
        let r = request.await.unwrap();
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let stored: i64 = app.scalar("SELECT count(*) FROM alert_intake").await;
    assert_eq!(
        stored, held_count,
        "every accepted delivery, no refused one"
    );
    // The four that waited in the queue went in together, not one statement each.
    let statements: i64 = app
        .scalar("SELECT count(DISTINCT xmin::text) FROM alert_intake")
        .await;
    assert!(statements < held_count, "{statements} statements");
    assert_eq!(app.process_alerts().await.applied, held_count as u64);
    let groups: i64 = app.scalar("SELECT count(*) FROM alert_groups").await;
    assert_eq!(groups, held_count);
}

#[tokio::test]
async fn a_backlog_over_its_limit_is_refused_until_the_processors_catch_up() {
    let mut settings = Settings::for_base_url("http://fireline.test");
    settings.intake.backlog = 3;
    let app = TestApp::with_settings(settings).await;
    let (_, key) = app.integration("alertmanager").await;
    let (_, generic) = app.integration("generic").await;
    let path = format!("/ingest/{key}/alertmanager");
    for n in 0..3 {
        let r = app.ingest(&path, None, &firing(&format!("G{n}"))).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let r = app.ingest(&path, None, &firing("Over")).await;
    assert_come_back_later(&r, StatusCode::SERVICE_UNAVAILABLE);
    let event = json!({"status": "firing", "title": "Over"}).to_string();
    let r = app
        .ingest(&format!("/ingest/{generic}/generic"), None, &event)
        .await;
    assert_come_back_later(&r, StatusCode::TOO_MANY_REQUESTS);
    let stored: i64 = app.scalar("SELECT count(*) FROM alert_intake").await;
    assert_eq!(stored, 3, "nothing of a refused delivery is kept");

    assert_eq!(app.process_alerts().await.applied, 3);
    // The backlog is looked at again at most once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = app.ingest(&path, None, &firing("After")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
}

async fn door(router: &axum::Router, path: &str, body: &str) -> StatusCode {
    let req = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    router.clone().oneshot(req).await.unwrap().status()
}

/// Wait until `router` refuses `path` with 401: at most five seconds, well before a
/// cached key would expire (ten), so only the notification can have done it.
async fn refused_soon(router: &axum::Router, path: &str, body: &str, what: &str) {
    let started = Instant::now();
    while door(router, path, body).await != StatusCode::UNAUTHORIZED {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the other process still takes {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_changed_key_is_forgotten_at_once_here_and_through_notify_elsewhere() {
    let app = TestApp::new().await;
    let (_, token) = app
        .token("ada@example.com", fireline::accounts::Role::Admin)
        .await;
    let made = app
        .created(
            "/api/v1/integrations",
            &token,
            json!({"name": "Prometheus", "kind": "alertmanager"}),
        )
        .await;
    let id = made["id"].as_str().unwrap().to_owned();
    let first = made["key"].as_str().unwrap().to_owned();
    let body = firing("Api");
    let here = |key: &str| format!("/ingest/{key}/alertmanager");
    assert_eq!(
        door(&app.router, &here(&first), &body).await,
        StatusCode::ACCEPTED
    );

    // Another process on the same database, with its own pool and its own cache.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .connect(&app.db.url())
        .await
        .unwrap();
    let other = fireline::http::router(AppState::new(
        pool.clone(),
        Settings::for_base_url("http://fireline.test"),
    ));
    assert_eq!(
        door(&other, &here(&first), &body).await,
        StatusCode::ACCEPTED
    );

    let rotate = format!("/api/v1/integrations/{id}/rotate-key");
    let rotated = app.post(&rotate, &token, r#"{"grace_minutes": 0}"#).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let second = rotated.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(
        door(&app.router, &here(&first), &body).await,
        StatusCode::UNAUTHORIZED,
        "the process that rotated forgets at once"
    );
    assert_eq!(
        door(&app.router, &here(&second), &body).await,
        StatusCode::ACCEPTED
    );
    // The other process forgets on the notification.
    refused_soon(&other, &here(&first), &body, "a rotated-out key").await;
    assert_eq!(
        door(&other, &here(&second), &body).await,
        StatusCode::ACCEPTED
    );

    let deleted = app
        .delete(&format!("/api/v1/integrations/{id}"), &token)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        door(&app.router, &here(&second), &body).await,
        StatusCode::UNAUTHORIZED
    );
    refused_soon(
        &other,
        &here(&second),
        &body,
        "the key of a deleted integration",
    )
    .await;
    pool.close().await;
}
