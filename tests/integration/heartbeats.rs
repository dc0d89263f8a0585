//! Heartbeats: every Healthchecks ping form through a real server (with `curl`), start
//! and finish paired by `rid`, late then down by the sweep on a controlled clock, the
//! alert raised through the intake routing and resolved by the next success, fail and
//! exit-status pings, pause and resume, a cron schedule, and refusals.

use axum::http::StatusCode;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::live::second_instance;
use crate::support::TestApp;
use fireline::accounts::Role;
use fireline::monitors::sweep::{sweep, Swept};

/// `curl` with `args`: its status code and body.
async fn curl(args: &[&str]) -> (u16, String) {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .await
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_owned())
}

async fn heartbeat(app: &TestApp, admin: &str, body: Value) -> Value {
    app.created("/api/v1/heartbeats", admin, body).await
}

async fn get(app: &TestApp, token: &str, hb: &Value) -> Value {
    let id = hb["id"].as_str().unwrap();
    app.api_get(&format!("/api/v1/heartbeats/{id}"), token)
        .await
}

async fn pings(app: &TestApp) -> Vec<(String, Option<i32>, Option<i64>, String, String)> {
    sqlx::query_as(
        "SELECT kind::text, exit_status, duration_ms, method, body FROM heartbeat_pings ORDER BY id",
    )
    .fetch_all(app.pool())
    .await
    .unwrap()
}

/// The state of the heartbeat's alert group (`None`: no alert).
async fn alert(app: &TestApp, hb: &Value) -> Option<(String, Value)> {
    app.process_alerts().await;
    sqlx::query_as(
        "SELECT state::text, labels FROM alert_groups WHERE group_key = $1 ORDER BY opened_at DESC LIMIT 1",
    )
    .bind(format!("heartbeat-{}", hb["id"].as_str().unwrap()))
    .fetch_optional(app.pool())
    .await
    .unwrap()
}

fn later(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(seconds)
}

#[tokio::test]
async fn every_ping_form_answers_as_healthchecks_does_through_a_real_server() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let hb = heartbeat(
        &app,
        &admin,
        json!({"name": "backup", "period_seconds": 3600}),
    )
    .await;
    assert_eq!(hb["state"], "new");
    let uuid = hb["uuid"].as_str().unwrap().to_owned();
    assert_eq!(hb["ping_url"], format!("http://fireline.test/ping/{uuid}"));
    let (base, _stop) = second_instance(&app).await;
    let url = format!("{base}/ping/{uuid}");
    let rid = uuid::Uuid::new_v4().to_string();

    assert_eq!(curl(&[&url]).await, (200, "OK".to_owned()));
    assert_eq!(curl(&["-I", &url]).await.0, 200);
    assert_eq!(
        curl(&["-X", "POST", "--data-raw", "dumped 3 GB", &url]).await,
        (200, "OK".to_owned())
    );
    assert_eq!(curl(&[&format!("{url}/start?rid={rid}")]).await.0, 200);
    assert_eq!(
        curl(&["--data-raw", "disk full", &format!("{url}/log")])
            .await
            .0,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(curl(&[&format!("{url}/0?rid={rid}")]).await.0, 200);
    assert_eq!(curl(&[&format!("{url}/3")]).await.0, 200);
    assert_eq!(curl(&[&format!("{url}/fail")]).await.0, 200);
    // Refusals, in Healthchecks' words.
    let unknown = format!("{base}/ping/{}", uuid::Uuid::new_v4());
    assert_eq!(curl(&[&unknown]).await, (404, "not found".to_owned()));
    assert_eq!(curl(&[&format!("{base}/ping/not-a-uuid")]).await.0, 404);
    assert_eq!(curl(&[&format!("{url}/256")]).await.0, 404);
    assert_eq!(
        curl(&[&format!("{url}?rid=nope")]).await,
        (400, "invalid uuid format".to_owned())
    );
    // CORS: a browser may ping.
    let (_, headers) = curl(&["-D", "-", "-o", "/dev/null", &url]).await;
    assert!(
        headers
            .to_lowercase()
            .contains("access-control-allow-origin: *"),
        "{headers}"
    );

    let seen = pings(&app).await;
    let kinds: Vec<&str> = seen.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        kinds,
        ["success", "success", "success", "start", "log", "success", "fail", "fail", "success"]
    );
    assert_eq!(seen[1].3, "HEAD");
    assert_eq!(seen[2].4, "dumped 3 GB");
    assert_eq!(seen[4].4, "disk full");
    // The finish paired with its start by rid: a duration; exit statuses kept.
    assert_eq!(seen[5].1, Some(0));
    assert!(seen[5].2.is_some_and(|ms| ms >= 10), "{seen:?}");
    assert_eq!(seen[6].1, Some(3));
    // The last ping was a plain success: up, and the failures' alert resolved.
    let now = get(&app, &admin, &hb).await;
    assert_eq!(now["state"], "up", "{now}");
    assert_eq!(alert(&app, &hb).await.unwrap().0, "resolved");
}

/// The Healthchecks Python client (`healthchecks-io` from PyPI) pings Fireline as it
/// pings hc-ping.com: start, success with a log, an exit status, and an unknown check
/// that it reports as not found.
#[tokio::test]
async fn the_healthchecks_python_client_pings_fireline_unchanged() {
    let present = tokio::process::Command::new("python3")
        .args(["-c", "import healthchecks_io"])
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !present {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install healthchecks-io"
        );
        eprintln!("skipped: healthchecks-io is not installed (pip install healthchecks-io)");
        return;
    }
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let hb = heartbeat(&app, &admin, json!({"name": "etl", "period_seconds": 3600})).await;
    let (base, _stop) = second_instance(&app).await;
    let script = r#"
import sys
from healthchecks_io import Client, CheckNotFoundError
c = Client(ping_url=sys.argv[1] + "/ping/")
uuid = sys.argv[2]
print(c.start_ping(uuid=uuid)[0])
print(c.success_ping(uuid=uuid, data="42 rows")[0])
print(c.exit_code_ping(3, uuid=uuid, data="lost the lock")[0])
try:
    c.success_ping(uuid="00000000-0000-4000-8000-000000000000")
    print("found")
except CheckNotFoundError:
    print("not found")
"#;
    let out = tokio::process::Command::new("python3")
        .args(["-c", script, &base, hb["uuid"].as_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        ["True", "True", "True", "not found"]
    );
    let seen = pings(&app).await;
    let kinds: Vec<&str> = seen.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(kinds, ["start", "success", "fail"]);
    assert_eq!(seen[1].4, "42 rows");
    assert_eq!((seen[2].1, seen[2].4.as_str()), (Some(3), "lost the lock"));
    assert_eq!(get(&app, &admin, &hb).await["state"], "down");
}

#[tokio::test]
async fn a_missed_ping_turns_late_then_down_and_raises_an_alert_that_the_next_ping_resolves() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let hb = heartbeat(
        &app,
        &admin,
        json!({"name": "nightly export", "period_seconds": 600, "grace_seconds": 300,
               "labels": {"team": "data", "severity": "critical"}}),
    )
    .await;
    let url = format!("/ping/{}", hb["uuid"].as_str().unwrap());
    // New: nothing is due, nothing happens however long it waits.
    assert_eq!(
        sweep(app.pool(), later(86_400)).await.unwrap(),
        Swept::default()
    );
    assert_eq!(app.get(&url).await.status, StatusCode::OK);
    let up = get(&app, &admin, &hb).await;
    assert_eq!(up["state"], "up");
    // Before the period ends: still up.
    assert_eq!(
        sweep(app.pool(), later(590)).await.unwrap(),
        Swept::default()
    );
    // In the grace time: late, no alert.
    assert_eq!(
        sweep(app.pool(), later(610)).await.unwrap(),
        Swept { late: 1, down: 0 }
    );
    assert_eq!(get(&app, &admin, &hb).await["state"], "late");
    assert_eq!(
        sweep(app.pool(), later(620)).await.unwrap(),
        Swept::default()
    );
    assert!(alert(&app, &hb).await.is_none());
    // Past it: down, once, with an alert through the intake routing.
    assert_eq!(
        sweep(app.pool(), later(910)).await.unwrap(),
        Swept { late: 0, down: 1 }
    );
    assert_eq!(
        sweep(app.pool(), later(2000)).await.unwrap(),
        Swept::default()
    );
    assert_eq!(get(&app, &admin, &hb).await["state"], "down");
    let (state, labels) = alert(&app, &hb).await.unwrap();
    assert_eq!(state, "firing");
    assert_eq!(labels["heartbeat"], "nightly export");
    assert_eq!(labels["team"], "data");
    let severity: String = app
        .scalar("SELECT severity::text FROM alerts ORDER BY first_seen_at DESC LIMIT 1")
        .await;
    assert_eq!(severity, "critical");
    // It came through the built-in integration, which routing rules can name.
    let integration: String = app
        .scalar("SELECT name FROM integrations WHERE builtin = 'heartbeats'")
        .await;
    assert_eq!(integration, "Heartbeats");
    // The next ping brings it up and resolves the alert.
    assert_eq!(app.get(&url).await.status, StatusCode::OK);
    assert_eq!(get(&app, &admin, &hb).await["state"], "up");
    assert_eq!(alert(&app, &hb).await.unwrap().0, "resolved");
}

#[tokio::test]
async fn a_run_that_starts_and_never_finishes_goes_down_after_its_grace_time() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let hb = heartbeat(
        &app,
        &admin,
        json!({"name": "deploy", "period_seconds": 86400, "grace_seconds": 600}),
    )
    .await;
    let url = format!("/ping/{}", hb["uuid"].as_str().unwrap());
    assert_eq!(app.get(&url).await.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("{url}/start")).await.status,
        StatusCode::OK
    );
    let running = get(&app, &admin, &hb).await;
    assert!(running["started_at"].is_string(), "{running}");
    assert_eq!(
        sweep(app.pool(), later(590)).await.unwrap(),
        Swept::default()
    );
    assert_eq!(
        sweep(app.pool(), later(610)).await.unwrap(),
        Swept { late: 0, down: 1 }
    );
    assert_eq!(alert(&app, &hb).await.unwrap().0, "firing");
    let why: String = app
        .scalar("SELECT description FROM alerts ORDER BY first_seen_at DESC LIMIT 1")
        .await;
    assert!(
        why.contains("did not finish within its grace time"),
        "{why}"
    );
}

#[tokio::test]
async fn a_paused_heartbeat_stays_paused_through_pings_until_it_is_resumed() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (_, responder) = app.token("rita@example.com", Role::Responder).await;
    let hb = heartbeat(
        &app,
        &admin,
        json!({"name": "sync", "period_seconds": 60, "grace_seconds": 60}),
    )
    .await;
    let id = hb["id"].as_str().unwrap();
    let url = format!("/ping/{}", hb["uuid"].as_str().unwrap());
    app.get(&format!("{url}/fail")).await;
    assert_eq!(alert(&app, &hb).await.unwrap().0, "firing");
    // A responder pauses it: the alert resolves, pings change nothing.
    let paused = app
        .api_ok(
            axum::http::Method::POST,
            &format!("/api/v1/heartbeats/{id}/pause"),
            &responder,
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(paused["state"], "paused");
    assert_eq!(alert(&app, &hb).await.unwrap().0, "resolved");
    assert_eq!(app.get(&url).await.status, StatusCode::OK);
    assert_eq!(get(&app, &admin, &hb).await["state"], "paused");
    assert_eq!(
        sweep(app.pool(), later(86_400)).await.unwrap(),
        Swept::default()
    );
    // Resumed: new, and the next ping starts it.
    let resumed = app
        .api_ok(
            axum::http::Method::POST,
            &format!("/api/v1/heartbeats/{id}/resume"),
            &responder,
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(resumed["state"], "new");
    app.get(&url).await;
    assert_eq!(get(&app, &admin, &hb).await["state"], "up");
    // The pause and resume are on the record.
    let audit: i64 = app
        .scalar("SELECT count(*) FROM audit_log WHERE action IN ('heartbeat.paused', 'heartbeat.resumed')")
        .await;
    assert_eq!(audit, 2);
}

#[tokio::test]
async fn a_cron_heartbeat_is_due_at_its_next_local_time_plus_grace() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let hb = heartbeat(
        &app,
        &admin,
        json!({"name": "daily report", "cron": "30 6 * * *", "time_zone": "Europe/Berlin",
               "grace_seconds": 1800}),
    )
    .await;
    assert_eq!(hb["time_zone"], "Europe/Berlin");
    app.get(&format!("/ping/{}", hb["uuid"].as_str().unwrap()))
        .await;
    let up = get(&app, &admin, &hb).await;
    let down_at = OffsetDateTime::parse(
        up["down_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    // 06:30 Berlin is 04:30 or 05:30 UTC; down half an hour later.
    let local = jiff::Timestamp::from_second(down_at.unix_timestamp())
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
    assert_eq!((local.hour(), local.minute()), (7, 0), "{local}");
    let ahead = down_at - OffsetDateTime::now_utc();
    assert!(
        ahead > Duration::minutes(29) && ahead <= Duration::hours(25),
        "{ahead}"
    );
}

#[tokio::test]
async fn bad_heartbeats_are_refused_with_the_reason() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (_, responder) = app.token("rita@example.com", Role::Responder).await;
    for (body, says) in [
        (json!({"name": "x"}), "Give a period"),
        (
            json!({"name": "x", "period_seconds": 60, "cron": "* * * * *"}),
            "not both",
        ),
        (
            json!({"name": "x", "period_seconds": 30}),
            "60 seconds to a year",
        ),
        (json!({"name": "x", "cron": "every day"}), "five fields"),
        (
            json!({"name": "x", "cron": "0 3 * * *", "time_zone": "Mars/Olympus"}),
            "not a time zone",
        ),
        (
            json!({"name": "x", "period_seconds": 60, "grace_seconds": 5}),
            "grace time",
        ),
        (
            json!({"name": "x", "period_seconds": 60, "labels": {"bad name": "v"}}),
            "Label",
        ),
        (json!({"name": " ", "period_seconds": 60}), "name"),
    ] {
        let r = app
            .post("/api/v1/heartbeats", &admin, &body.to_string())
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert!(r.text.contains(says), "{body}: {}", r.text);
    }
    heartbeat(&app, &admin, json!({"name": "x", "period_seconds": 60})).await;
    let taken = app
        .post(
            "/api/v1/heartbeats",
            &admin,
            &json!({"name": "X", "period_seconds": 60}).to_string(),
        )
        .await;
    assert_eq!(
        taken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        taken.text
    );
    // Responders read and pause, but do not make them.
    let r = app
        .post(
            "/api/v1/heartbeats",
            &responder,
            &json!({"name": "y", "period_seconds": 60}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
