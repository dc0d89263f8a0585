//! Active checks against local servers that misbehave on cue: slow, the wrong status, the
//! wrong body, an expiring self-signed certificate, a refused connection; TCP and DNS;
//! the thresholds that keep one bad answer from flapping a check; the alert raised and
//! resolved through the intake routing; and what a check does to its component in each
//! of the three apply modes, with and without automatic recovery.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::support::TestApp;
use fireline::accounts::Role;
use fireline::monitors::probe::Probes;
use fireline::monitors::runner::{run_due, Recorded};

/// How the test server answers `/health` next.
#[derive(Clone, Debug)]
enum Mood {
    Fine,
    Slow(u64),
    Status(u16),
    Body(&'static str),
}

#[derive(Clone)]
struct Cue(Arc<Mutex<Mood>>);

impl Cue {
    fn set(&self, mood: Mood) {
        *self.0.lock().unwrap() = mood;
    }
}

async fn health(State(cue): State<Cue>) -> axum::response::Response {
    let mood = cue.0.lock().unwrap().clone();
    match mood {
        Mood::Fine => "ok: all good".into_response(),
        Mood::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            "ok: slowly".into_response()
        }
        Mood::Status(code) => (StatusCode::from_u16(code).unwrap(), "ok?").into_response(),
        Mood::Body(text) => text.into_response(),
    }
}

/// A server on port 0 whose `/health` answers as cued; its base URL and the cue.
async fn moody_server() -> (String, Cue) {
    let cue = Cue(Arc::new(Mutex::new(Mood::Fine)));
    let app = axum::Router::new()
        .route("/health", axum::routing::get(health))
        .with_state(cue.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, cue)
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn check(app: &TestApp, admin: &str, body: Value) -> Value {
    app.created("/api/v1/checks", admin, body).await
}

/// Make every check due and run it, as a runner would when its time comes.
async fn run(app: &TestApp) -> Vec<Recorded> {
    app.exec("UPDATE checks SET next_run_at = now() WHERE state <> 'paused'")
        .await;
    let probes = Probes::new().unwrap();
    run_due(app.pool(), &probes, "test-runner")
        .await
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

async fn get(app: &TestApp, token: &str, c: &Value) -> Value {
    app.api_get(
        &format!("/api/v1/checks/{}", c["id"].as_str().unwrap()),
        token,
    )
    .await
}

/// The check's state and its last error.
async fn state(app: &TestApp, token: &str, c: &Value) -> (String, String) {
    let now = get(app, token, c).await;
    (
        now["state"].as_str().unwrap().to_owned(),
        now["last_error"].as_str().unwrap_or("").to_owned(),
    )
}

/// The state of the check's alert group and its labels (`None`: no alert).
async fn alert(app: &TestApp, c: &Value) -> Option<(String, Value)> {
    app.process_alerts().await;
    sqlx::query_as(
        "SELECT state::text, labels FROM alert_groups WHERE group_key = $1 ORDER BY opened_at DESC LIMIT 1",
    )
    .bind(format!("check-{}", c["id"].as_str().unwrap()))
    .fetch_optional(app.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn an_http_check_rides_out_single_failures_goes_down_on_the_third_and_up_on_the_second_success(
) {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (base, cue) = moody_server().await;
    let c = check(
        &app,
        &admin,
        json!({"name": "API health", "kind": "http", "target": format!("{base}/health"),
               "interval_seconds": 10, "timeout_ms": 500,
               "settings": {"body_contains": "ok", "body_not_contains": "maintenance",
                            "max_response_ms": 250},
               "labels": {"team": "api", "severity": "critical"}}),
    )
    .await;
    assert_eq!(c["state"], "new");
    assert_eq!(c["failures_before_down"], 3);
    assert_eq!(c["successes_before_up"], 2);

    // A new check's first success brings it up.
    assert_eq!(
        run(&app).await,
        [Recorded::Changed(
            fireline::monitors::checks::CheckState::Up
        )]
    );
    // Misbehaviour of each kind, one at a time, each followed by a good answer: never down.
    let cases: [(Mood, &str); 4] = [
        (Mood::Slow(300), "slower than 250 ms"),
        (
            Mood::Status(503),
            "Answered 503 Service Unavailable, expected a 2xx status.",
        ),
        (Mood::Body("nothing to see"), "does not contain \"ok\""),
        (
            Mood::Body("ok, but in maintenance"),
            "contains \"maintenance\"",
        ),
    ];
    for (mood, why) in cases {
        cue.set(mood.clone());
        run(&app).await;
        let (s, error) = state(&app, &admin, &c).await;
        assert_eq!(s, "up", "{mood:?}");
        assert!(error.contains(why), "{mood:?}: {error}");
        cue.set(Mood::Fine);
        run(&app).await;
        assert_eq!(
            state(&app, &admin, &c).await,
            ("up".to_owned(), String::new())
        );
    }
    assert!(
        alert(&app, &c).await.is_none(),
        "no alert for single failures"
    );

    // Too slow for the timeout, three times in a row: down, with an alert.
    cue.set(Mood::Slow(900));
    run(&app).await;
    run(&app).await;
    assert_eq!(state(&app, &admin, &c).await.0, "up");
    run(&app).await;
    let (s, error) = state(&app, &admin, &c).await;
    assert_eq!(
        (s.as_str(), error.as_str()),
        ("down", "No answer within 500 ms.")
    );
    let scrape = app.get("/metrics").await.text;
    let id = c["id"].as_str().unwrap();
    for line in [
        "fireline_checks{state=\"down\"} 1\n".to_owned(),
        format!("fireline_check_up{{id=\"{id}\",name=\"API health\"}} 0\n"),
        format!("fireline_check_latency_seconds{{id=\"{id}\",name=\"API health\"}} 0.5"),
    ] {
        assert!(scrape.contains(&line), "{line} in {scrape}");
    }
    let (group, labels) = alert(&app, &c).await.expect("an alert");
    assert_eq!(group, "firing");
    assert_eq!(labels["check"], "API health");
    assert_eq!(labels["team"], "api");
    let severity: String = app
        .scalar("SELECT severity::text FROM alert_groups WHERE group_key LIKE 'check-%'")
        .await;
    assert_eq!(severity, "critical");
    // Still down: no second alert.
    run(&app).await;
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM alert_groups").await,
        1
    );

    // One good answer is not enough; the second brings it up and resolves the alert.
    cue.set(Mood::Fine);
    run(&app).await;
    assert_eq!(state(&app, &admin, &c).await.0, "down");
    run(&app).await;
    assert_eq!(state(&app, &admin, &c).await.0, "up");
    assert_eq!(alert(&app, &c).await.unwrap().0, "resolved");

    // Every run is kept with its latency and error, newest first.
    let results = app
        .api_get(
            &format!(
                "/api/v1/checks/{}/results?limit=3",
                c["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[2]["ok"], false);
    assert!(results[2]["latency_ms"].as_i64().unwrap() >= 500);
    let runs: i64 = app
        .scalar("SELECT sum(runs)::bigint FROM check_hours")
        .await;
    assert_eq!(runs, 15);
}

#[tokio::test]
async fn a_refused_connection_fails_http_and_tcp_and_an_open_port_passes_tcp() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let port = closed_port().await;
    let open = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open_port = open.local_addr().unwrap().port();
    let http = check(
        &app,
        &admin,
        json!({"name": "web", "kind": "http", "target": format!("http://127.0.0.1:{port}/"),
               "failures_before_down": 1}),
    )
    .await;
    let tcp = check(
        &app,
        &admin,
        json!({"name": "db port", "kind": "tcp", "target": format!("127.0.0.1:{port}"),
               "failures_before_down": 1}),
    )
    .await;
    let tcp_open = check(
        &app,
        &admin,
        json!({"name": "cache port", "kind": "tcp", "target": format!("127.0.0.1:{open_port}")}),
    )
    .await;
    run(&app).await;
    let (s, error) = state(&app, &admin, &http).await;
    assert_eq!(s, "down");
    assert!(error.starts_with("Could not connect"), "{error}");
    let (s, error) = state(&app, &admin, &tcp).await;
    assert_eq!(s, "down");
    assert!(error.contains("Could not connect to 127.0.0.1:"), "{error}");
    assert!(error.to_lowercase().contains("refused"), "{error}");
    assert_eq!(state(&app, &admin, &tcp_open).await.0, "up");
    drop(open);
}

#[tokio::test]
async fn a_dns_check_resolves_a_name_and_fails_on_one_that_does_not_exist_or_the_wrong_address() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let good = check(
        &app,
        &admin,
        json!({"name": "localhost", "kind": "dns", "target": "localhost",
               "settings": {"record_type": "A", "expect_address": "127.0.0.1"}}),
    )
    .await;
    let missing = check(
        &app,
        &admin,
        json!({"name": "gone", "kind": "dns", "target": "no-such-host.invalid",
               "failures_before_down": 1}),
    )
    .await;
    let wrong = check(
        &app,
        &admin,
        json!({"name": "moved", "kind": "dns", "target": "localhost",
               "settings": {"expect_address": "10.9.8.7"}, "failures_before_down": 1}),
    )
    .await;
    run(&app).await;
    assert_eq!(
        state(&app, &admin, &good).await,
        ("up".to_owned(), String::new())
    );
    let (s, error) = state(&app, &admin, &missing).await;
    assert_eq!(s, "down");
    assert!(
        error.starts_with("no-such-host.invalid does not resolve"),
        "{error}"
    );
    let (s, error) = state(&app, &admin, &wrong).await;
    assert_eq!(s, "down");
    assert!(error.contains("not 10.9.8.7"), "{error}");
}

/// An HTTPS server on port 0 with a self-signed certificate for 127.0.0.1 that expires in
/// `days`; its base URL.
async fn tls_server(days: i64) -> String {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(30);
    params.not_after = now + time::Duration::days(days);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().clone();
    let key_der =
        tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![der], key_der)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    base
}

#[tokio::test]
async fn a_certificate_that_expires_soon_fails_and_an_untrusted_one_fails_unless_told_not_to_verify(
) {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let base = tls_server(5).await;
    let soon = check(
        &app,
        &admin,
        json!({"name": "cert 14 days", "kind": "http", "target": format!("{base}/"),
               "failures_before_down": 1,
               "settings": {"verify_tls": false, "cert_min_days": 14}}),
    )
    .await;
    let fine = check(
        &app,
        &admin,
        json!({"name": "cert 3 days", "kind": "http", "target": format!("{base}/"),
               "settings": {"verify_tls": false, "cert_min_days": 3}}),
    )
    .await;
    let verified = check(
        &app,
        &admin,
        json!({"name": "verified", "kind": "http", "target": format!("{base}/"),
               "failures_before_down": 1}),
    )
    .await;
    run(&app).await;
    let (s, error) = state(&app, &admin, &soon).await;
    assert_eq!(s, "down");
    assert!(
        error.starts_with("The TLS certificate expires in 4 days")
            || error.starts_with("The TLS certificate expires in 5 days"),
        "{error}"
    );
    assert!(error.ends_with("fewer than 14."), "{error}");
    assert_eq!(
        state(&app, &admin, &fine).await,
        ("up".to_owned(), String::new())
    );
    let (s, error) = state(&app, &admin, &verified).await;
    assert_eq!(s, "down");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
}

#[tokio::test]
async fn bad_check_definitions_are_refused_with_the_reason() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (_, responder) = app.token("rita@example.com", Role::Responder).await;
    let cases = [
        (
            json!({"name": "x", "kind": "http", "target": "ftp://example.com/"}),
            "http:// or https://",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "not a url"}),
            "is not a URL",
        ),
        (
            json!({"name": "x", "kind": "tcp", "target": "db.internal"}),
            "host:port",
        ),
        (
            json!({"name": "x", "kind": "dns", "target": "bad host!"}),
            "is not a host name",
        ),
        (
            json!({"name": "x", "kind": "tcp", "target": "db:5432", "settings": {"body_contains": "ok"}}),
            "are for HTTP checks",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "interval_seconds": 5}),
            "10 to 86400",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "interval_seconds": 10, "timeout_ms": 20000}),
            "cannot be longer than the interval",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "failures_before_down": 0}),
            "1 to 100",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "settings": {"cert_min_days": 10}}),
            "needs an https:// URL",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "settings": {"method": "BREW"}}),
            "The method is one of",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "down_status": "operational"}),
            "proposes degraded performance",
        ),
        (
            json!({"name": "x", "kind": "http", "target": "http://a/", "component_id": uuid::Uuid::new_v4()}),
            "no such component",
        ),
    ];
    for (body, why) in cases {
        let r = app.post("/api/v1/checks", &admin, &body.to_string()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert!(r.text.contains(why), "{body}: {}", r.text);
    }
    let unknown = json!({"name": "x", "kind": "ping", "target": "a"});
    let r = app
        .post("/api/v1/checks", &admin, &unknown.to_string())
        .await;
    assert!(r.status.is_client_error(), "{}", r.text);
    let ok = json!({"name": "x", "kind": "http", "target": "http://a/"});
    let r = app
        .post("/api/v1/checks", &responder, &ok.to_string())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM checks").await, 0);
}

/// A component named `name`; its id.
async fn component(app: &TestApp, admin: &str, name: &str) -> String {
    app.component(admin, name).await
}

/// The component's known and public status.
async fn statuses(app: &TestApp, id: &str) -> (String, String) {
    sqlx::query_as("SELECT status::text, public_status::text FROM components WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn at_once_sets_the_public_status_and_recovers_it_when_the_check_is_up_again() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let api = component(&app, &admin, "API").await;
    let (base, cue) = moody_server().await;
    check(
        &app,
        &admin,
        json!({"name": "api", "kind": "http", "target": format!("{base}/health"),
               "component_id": api, "apply_mode": "at_once", "down_status": "partial_outage",
               "failures_before_down": 1, "successes_before_up": 1}),
    )
    .await;
    run(&app).await;
    cue.set(Mood::Status(500));
    run(&app).await;
    assert_eq!(
        statuses(&app, &api).await,
        ("partial_outage".into(), "partial_outage".into())
    );
    app.process_alerts().await;
    let component_label: String = app
        .scalar("SELECT labels->>'component' FROM alert_groups")
        .await;
    assert_eq!(component_label, "API");
    cue.set(Mood::Fine);
    run(&app).await;
    assert_eq!(
        statuses(&app, &api).await,
        ("operational".into(), "operational".into())
    );
    let by_check: i64 = app
        .scalar(
            "SELECT count(*) FROM component_status_changes WHERE check_id IS NOT NULL AND public",
        )
        .await;
    assert_eq!(by_check, 2, "both public changes name the check");
}

#[tokio::test]
async fn after_a_delay_applies_unless_someone_set_the_status_meanwhile() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let api = component(&app, &admin, "API").await;
    let db = component(&app, &admin, "Database").await;
    let (base, cue) = moody_server().await;
    for (name, id) in [("api", &api), ("db", &db)] {
        check(
            &app,
            &admin,
            json!({"name": name, "kind": "http", "target": format!("{base}/health"),
                   "component_id": id, "apply_mode": "after_delay", "apply_after_minutes": 10,
                   "failures_before_down": 1}),
        )
        .await;
    }
    run(&app).await;
    cue.set(Mood::Status(502));
    run(&app).await;
    // Responders see it at once; customers not yet.
    assert_eq!(
        statuses(&app, &api).await,
        ("major_outage".into(), "operational".into())
    );
    let open = app.api_get("/api/v1/component-proposals", &admin).await;
    assert_eq!(open.as_array().unwrap().len(), 2);
    assert!(open[0]["apply_at"].is_string());
    app.run_jobs().await;
    assert_eq!(
        statuses(&app, &api).await.1,
        "operational",
        "not before its time"
    );
    // Someone sets the database's public status by hand meanwhile: that overrides.
    let mut browser = app.signed_in("ada@example.com", Role::Admin).await;
    let set = browser
        .submit(
            "/admin/components",
            &format!("/admin/components/{db}/status"),
            &[("status", "degraded_performance")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text);
    app.exec("UPDATE jobs SET run_at = now() WHERE kind = 'checks.apply_proposal'")
        .await;
    app.run_jobs().await;
    assert_eq!(
        statuses(&app, &api).await,
        ("major_outage".into(), "major_outage".into())
    );
    assert_eq!(
        statuses(&app, &db).await.1,
        "degraded_performance",
        "the person's choice stands"
    );
    let states: Vec<String> = sqlx::query_scalar(
        "SELECT p.state::text FROM component_proposals p JOIN components c ON c.id = p.component_id ORDER BY c.name",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert_eq!(states, ["applied", "dismissed"]);
}

#[tokio::test]
async fn propose_only_waits_for_a_person_and_no_auto_recovery_proposes_the_way_back() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (_, responder) = app.token("rita@example.com", Role::Responder).await;
    let api = component(&app, &admin, "API").await;
    let (base, cue) = moody_server().await;
    let c = check(
        &app,
        &admin,
        json!({"name": "api", "kind": "http", "target": format!("{base}/health"),
               "component_id": api, "apply_mode": "propose", "auto_recover": false,
               "failures_before_down": 1, "successes_before_up": 1}),
    )
    .await;
    assert_eq!(c["apply_mode"], "propose");
    run(&app).await;
    cue.set(Mood::Status(500));
    run(&app).await;
    assert_eq!(
        statuses(&app, &api).await,
        ("major_outage".into(), "operational".into())
    );
    app.run_jobs().await;
    assert_eq!(
        statuses(&app, &api).await.1,
        "operational",
        "nothing applies it by itself"
    );

    // The admin UI shows the proposal on the components page; a responder applies it.
    let mut rita = app.signed_in("rob@example.com", Role::Responder).await;
    let page = rita.get("/admin/components").await;
    let shown = page.select(".proposal strong");
    assert_eq!(shown, ["API: Major outage"]);
    let apply = page
        .attr(".proposal form[action$='/apply']", "action")
        .unwrap();
    let applied = rita
        .submit(
            "/admin/components",
            &apply,
            &[("back", "/admin/components")],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER);
    assert_eq!(
        statuses(&app, &api).await,
        ("major_outage".into(), "major_outage".into())
    );
    // Deciding it twice is refused in words.
    let id = apply.split('/').nth(3).unwrap();
    let again = app
        .post(
            &format!("/api/v1/component-proposals/{id}/apply"),
            &responder,
            "",
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text.contains("decided already"), "{}", again.text);

    // Up again: no automatic recovery, only a proposal to go back to operational.
    cue.set(Mood::Fine);
    run(&app).await;
    assert_eq!(state(&app, &admin, &c).await.0, "up");
    assert_eq!(
        statuses(&app, &api).await,
        ("major_outage".into(), "major_outage".into())
    );
    let open = app.api_get("/api/v1/component-proposals", &responder).await;
    assert_eq!(open[0]["status"], "operational");
    let pid = open[0]["id"].as_str().unwrap();
    let done = app
        .post(
            &format!("/api/v1/component-proposals/{pid}/apply"),
            &responder,
            "",
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(
        statuses(&app, &api).await,
        ("operational".into(), "operational".into())
    );
}

/// Two `fireline serve` processes on one database run 50 TCP checks. Each check runs
/// once per interval, never twice, whichever process takes it; after one process is
/// killed the other takes every check over. (The interval is set to 2 s in the database
/// to make the test short; the API refuses less than 10 s.)
#[tokio::test]
async fn two_processes_run_each_of_50_checks_once_per_interval_and_one_takes_over_when_the_other_dies(
) {
    const CHECKS: usize = 50;
    let db = crate::support::TestDb::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    // Every probe that reached the target, whether or not its result was kept.
    let probes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = probes.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    for i in 0..CHECKS {
        sqlx::query(
            "INSERT INTO checks (id, name, kind, target, interval_seconds, timeout_ms) \
             VALUES (gen_random_uuid(), $1, 'tcp', $2, 2, 1000)",
        )
        .bind(format!("port {i}"))
        .bind(&target)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let (mut first, _) = crate::webhooks::start_server_with(&db, &[]);
    let (mut second, _) = crate::webhooks::start_server_with(&db, &[]);
    tokio::time::sleep(Duration::from_secs(9)).await;
    first.kill().unwrap();
    let _ = first.wait();
    let killed_at: time::OffsetDateTime = sqlx::query_scalar("SELECT now()")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;
    second.kill().unwrap();
    let _ = second.wait();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probed = probes.load(std::sync::atomic::Ordering::SeqCst);

    let rows: Vec<(
        uuid::Uuid,
        time::OffsetDateTime,
        time::OffsetDateTime,
        String,
    )> = sqlx::query_as(
        "SELECT check_id, slot, at, ran_by FROM check_results ORDER BY check_id, slot",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut by_check: std::collections::BTreeMap<
        uuid::Uuid,
        Vec<(time::OffsetDateTime, time::OffsetDateTime, String)>,
    > = Default::default();
    for (id, slot, at, by) in rows {
        by_check.entry(id).or_default().push((slot, at, by));
    }
    assert_eq!(by_check.len(), CHECKS, "every check ran");
    // No slot was probed twice: the target saw as many probes as results were kept, but
    // for the runs each kill cut short (at most one per check and kill).
    let kept: usize = by_check.values().map(Vec::len).sum();
    assert!(
        probed >= kept && probed <= kept + 2 * CHECKS,
        "{probed} probes for {kept} results"
    );
    let workers: std::collections::BTreeSet<&str> = by_check
        .values()
        .flatten()
        .filter(|r| r.1 < killed_at)
        .map(|r| r.2.as_str())
        .collect();
    assert_eq!(workers.len(), 2, "both processes ran checks: {workers:?}");
    for (id, runs) in &by_check {
        // Never twice in one interval: consecutive runs at least half an interval apart
        // (a late run's successor is due half an interval after it, at the earliest).
        for pair in runs.windows(2) {
            let gap = pair[1].1 - pair[0].1;
            assert!(
                gap >= time::Duration::milliseconds(900),
                "{id}: runs {gap} apart: {runs:?}"
            );
        }
        // About once per interval over ~21 s (10 runs), the hand-over costing at most a
        // lease (timeout + 5 s).
        assert!(
            (6..=12).contains(&runs.len()),
            "{id}: {} runs: {runs:?}",
            runs.len()
        );
        // The survivor took it over.
        let after: Vec<_> = runs
            .iter()
            .filter(|r| r.1 > killed_at + time::Duration::seconds(7))
            .collect();
        assert!(!after.is_empty(), "{id} ran after the kill: {runs:?}");
        assert!(after.iter().all(|r| r.2 == after[0].2));
    }
}

#[tokio::test]
async fn an_admin_makes_a_check_through_the_form_and_its_page_charts_its_runs() {
    let app = TestApp::new().await;
    let (_, admin_token) = app.token("root@example.com", Role::Admin).await;
    let api = component(&app, &admin_token, "API").await;
    let (base, cue) = moody_server().await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let target = format!("{base}/health");
    let fields = [
        ("name", "API health"),
        ("kind", "http"),
        ("target", target.as_str()),
        ("interval_seconds", "30"),
        ("timeout_ms", "2000"),
        ("failures_before_down", "2"),
        ("successes_before_up", "1"),
        ("component", api.as_str()),
        ("down_status", "partial_outage"),
        ("apply_mode", "after_delay"),
        ("apply_after_minutes", "15"),
        ("auto_recover", "on"),
        ("method", "GET"),
        ("headers", "Accept: text/plain\r\nX-Probe: fireline"),
        ("expected_status", "200"),
        ("body_contains", "ok"),
        ("verify_tls", "on"),
        ("labels", "team=api"),
    ];
    // A bad value first: refused with the reason, what was typed kept.
    let mut bad = fields.to_vec();
    bad[4] = ("timeout_ms", "soon");
    let refused = admin.form("/admin/checks", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.select("#form-error")[0].contains("The timeout is a whole number"));
    assert_eq!(
        refused.attr("#c-target", "value").as_deref(),
        Some(target.as_str())
    );

    let made = admin.form("/admin/checks", &fields).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let page = made.location().to_owned();
    let stored = app.api_get("/api/v1/checks", &admin_token).await;
    let c = &stored[0];
    assert_eq!(c["settings"]["headers"]["X-Probe"], "fireline");
    assert_eq!(c["settings"]["expected_status"], 200);
    assert_eq!(c["apply_mode"], "after_delay");
    assert_eq!(c["down_status"], "partial_outage");
    assert_eq!(c["component_id"], api.as_str());

    run(&app).await;
    cue.set(Mood::Status(500));
    run(&app).await;
    run(&app).await;
    let shown = admin.get(&page).await;
    assert_eq!(shown.select("#state"), ["Down"]);
    assert_eq!(shown.select("tr.result").len(), 3);
    assert_eq!(shown.select("#chart rect.down").len(), 2);
    assert!(shown.attr("#chart polyline", "points").is_some());
    assert!(
        shown.select("#chart-summary")[0].contains("3 runs, 2 failed"),
        "{:?}",
        shown.select("#chart-summary")
    );
    assert_eq!(shown.select(".proposal strong"), ["API: Partial outage"]);
    assert_eq!(
        shown.select("#open-alert a").len(),
        0,
        "the alert is queued, not yet applied"
    );
    app.process_alerts().await;
    assert_eq!(admin.get(&page).await.select("#open-alert a").len(), 1);
    // The hourly view of the same runs.
    let week = admin.get(&format!("{page}?window=7d")).await;
    assert!(week.select("#chart-summary")[0].contains("3 runs, 2 failed"));
    assert_eq!(week.select("#windows strong"), ["7 days"]);
    let list = admin.get("/admin/checks").await;
    assert_eq!(list.select("tr.check .state"), ["Down"]);
    assert_eq!(list.select("tr.check .uptime"), ["33.33%"]);
    // The edit form shows what is stored.
    assert_eq!(
        shown.attr("#edit-check #c-after", "value").as_deref(),
        Some("15")
    );

    // A viewer reads, and can change nothing.
    let mut viewer = app.signed_in("vic@example.com", Role::Viewer).await;
    assert_eq!(viewer.get(&page).await.status, StatusCode::OK);
    let id = page.rsplit('/').next().unwrap();
    for path in [
        format!("/admin/checks/{id}/pause"),
        "/admin/checks".to_owned(),
    ] {
        let r = viewer
            .submit("/admin/checks", &path, &[("name", "x")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn header_values_and_a_url_password_are_shown_to_admins_only() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (_, viewer) = app.token("vic@example.com", Role::Viewer).await;
    let c = check(
        &app,
        &admin,
        json!({"name": "billing API", "kind": "http",
               "target": "https://probe:hunter2@billing.internal/health",
               "settings": {"headers": {"Authorization": "Bearer s3cret-token"}}}),
    )
    .await;
    assert_eq!(
        c["settings"]["headers"]["Authorization"],
        "Bearer s3cret-token"
    );
    let path = format!("/api/v1/checks/{}", c["id"].as_str().unwrap());
    let seen = app.api(axum::http::Method::GET, &path, &viewer, None).await;
    assert!(!seen.text.contains("s3cret-token"), "{}", seen.text);
    assert!(!seen.text.contains("hunter2"), "{}", seen.text);
    assert_eq!(seen.json()["settings"]["headers"]["Authorization"], "••••");
    let list = app
        .api(axum::http::Method::GET, "/api/v1/checks", &viewer, None)
        .await;
    assert!(!list.text.contains("s3cret-token") && !list.text.contains("hunter2"));
    let mut browser = app.signed_in("vera@example.com", Role::Viewer).await;
    for page in [
        "/admin/checks".to_owned(),
        format!("/admin/checks/{}", c["id"].as_str().unwrap()),
    ] {
        let r = browser.get(&page).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            !r.text.contains("hunter2") && !r.text.contains("s3cret-token"),
            "{page}"
        );
    }
    assert_eq!(
        app.api_get(&path, &admin).await["target"],
        "https://probe:hunter2@billing.internal/health"
    );
}

#[tokio::test]
async fn a_huge_answer_is_searched_in_its_first_megabyte_only() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    // 8 MB of filler, then the text looked for: past what is read, so it is not found.
    let big = axum::Router::new().route(
        "/",
        axum::routing::get(|| async {
            let mut body = "x".repeat(8 << 20);
            body.push_str("NEEDLE");
            body
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, big).await });
    let c = check(
        &app,
        &admin,
        json!({"name": "big", "kind": "http", "target": format!("{base}/"),
               "failures_before_down": 1, "settings": {"body_contains": "NEEDLE"}}),
    )
    .await;
    run(&app).await;
    let (s, error) = state(&app, &admin, &c).await;
    assert_eq!(s, "down");
    assert!(error.contains("does not contain \"NEEDLE\""), "{error}");
}
