//! Webhook subscribers against real receivers on loopback: signatures checked with an
//! independent implementation (the `standardwebhooks` crate), Statuspage bodies,
//! component filters, retries, 410, a hanging receiver, the SSRF guard, the public and
//! admin pages, and a SIGKILL in the middle of a fan-out.

use axum::body::Bytes;
use axum::extract::{Path as AxumPath, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use fireline::accounts::Role;
use fireline::webhooks::DeliveryConfig;
use serde_json::{json, Value};
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

use crate::support::TestApp;

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_owned()
    }

    /// Check the signature with the independent implementation.
    pub fn verify(&self, secret: &str) {
        let webhook = standardwebhooks::Webhook::new(secret).expect("a valid secret");
        webhook
            .verify(&self.body, &self.headers)
            .unwrap_or_else(|e| panic!("signature does not verify: {e:?}"));
    }
}

#[derive(Clone, Copy)]
struct Reply {
    status: u16,
    retry_after: Option<&'static str>,
    delay: Duration,
}

#[derive(Clone, Default)]
struct Inner {
    received: Arc<Mutex<Vec<Received>>>,
    /// Replies to give, in order; then 200.
    script: Arc<Mutex<VecDeque<Reply>>>,
    /// Every request waits this long first.
    hang: Arc<Mutex<Duration>>,
}

/// An HTTP server on port 0 that records what it gets.
pub struct Receiver {
    pub base: String,
    inner: Inner,
}

async fn receive(
    State(inner): State<Inner>,
    AxumPath(path): AxumPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let hang = *inner.hang.lock().unwrap();
    if !hang.is_zero() {
        tokio::time::sleep(hang).await;
    }
    let reply = inner.script.lock().unwrap().pop_front();
    let reply = reply.unwrap_or(Reply {
        status: 200,
        retry_after: None,
        delay: Duration::ZERO,
    });
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    inner.received.lock().unwrap().push(Received {
        path: format!("/{path}"),
        headers,
        body,
    });
    let status = StatusCode::from_u16(reply.status).unwrap();
    match reply.retry_after {
        Some(after) => (status, [("retry-after", after)], "thanks").into_response(),
        None => (status, "thanks").into_response(),
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Inner::default();
        let router = Router::new()
            .route("/{*path}", post(receive))
            .with_state(inner.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { base, inner }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    fn then(&self, status: u16, retry_after: Option<&'static str>) {
        self.inner.script.lock().unwrap().push_back(Reply {
            status,
            retry_after,
            delay: Duration::ZERO,
        });
    }

    fn hang_for(&self, wait: Duration) {
        *self.inner.hang.lock().unwrap() = wait;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Wait until `enough` holds for what was received, or fail after `within`.
    pub async fn wait_for(
        &self,
        within: Duration,
        what: &str,
        enough: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if enough(&got) {
                return got;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; got {} requests: {:?}",
                    got.len(),
                    got.iter().map(|r| r.path.clone()).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn quick() -> DeliveryConfig {
    DeliveryConfig {
        allow_private: true,
        poll_interval: Duration::from_millis(200),
        ..DeliveryConfig::default()
    }
}

/// Subscribe `url` through the API; returns (id, secret).
async fn subscribe(app: &TestApp, token: &str, url: &str, components: Value) -> (String, String) {
    let made = app
        .created(
            "/api/v1/subscribers",
            token,
            json!({ "url": url, "component_ids": components }),
        )
        .await;
    (
        made["id"].as_str().unwrap().to_owned(),
        made["secret"].as_str().unwrap().to_owned(),
    )
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn events(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| {
            let v = r.json();
            if v.get("component_update").is_some() {
                "component".to_owned()
            } else {
                format!("incident:{}", v["incident"]["status"].as_str().unwrap())
            }
        })
        .collect()
}

#[tokio::test]
async fn messages_are_signed_and_shaped_like_statuspage() {
    let app = TestApp::with_private_webhooks().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let api = app.component(&token, "API").await;
    let receiver = Receiver::start().await;
    let (subscriber, secret) = subscribe(&app, &token, &receiver.url("/hook"), json!([])).await;
    assert!(secret.starts_with("whsec_"));
    let shown = app
        .api_get(&format!("/api/v1/subscribers/{subscriber}"), &token)
        .await;
    assert!(
        shown.get("secret").is_none(),
        "the secret is shown only once"
    );
    let _dispatcher = app.dispatcher(quick());

    let incident = app
        .declare(
            &token,
            json!({"title": "API errors", "severity": "sev2",
                   "components": [{"id": api, "status": "partial_outage"}],
                   "initial_update": "We are investigating."}),
        )
        .await;
    let got = receiver
        .wait_for(Duration::from_secs(10), "the declaration", |r| r.len() >= 2)
        .await;
    let mut kinds = events(&got);
    kinds.sort();
    assert_eq!(kinds, ["component", "incident:investigating"]);
    for r in &got {
        r.verify(&secret);
        assert_eq!(r.path, "/hook");
        assert_eq!(r.headers["content-type"], "application/json");
        assert!(r.id().starts_with("msg_"));
        let ts: i64 = r.headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((ts - time::OffsetDateTime::now_utc().unix_timestamp()).abs() < 60);
        let body = r.json();
        assert_eq!(
            keys(&body["meta"]),
            set(&["unsubscribe", "documentation", "generated_at"])
        );
        let unsubscribe = body["meta"]["unsubscribe"].as_str().unwrap();
        assert!(
            unsubscribe.starts_with(&format!(
                "http://fireline.test/subscribe/manage/{subscriber}?token="
            )),
            "{unsubscribe}"
        );
        assert_eq!(
            keys(&body["page"]),
            set(&["id", "status_indicator", "status_description"])
        );
        assert_eq!(body["page"]["status_indicator"], "major");
    }
    // A tampered body does not verify.
    let mut forged = got[0].clone();
    forged.body = Bytes::from(String::from_utf8_lossy(&got[0].body).replace("API", "APX"));
    assert!(standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(&forged.body, &forged.headers)
        .is_err());

    let created = got
        .iter()
        .map(Received::json)
        .find(|b| b.get("incident").is_some())
        .unwrap();
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/statuspage-v2-summary.json")).unwrap();
    let fixture_incident = &fixture["incidents"][0];
    // Statuspage's keys, plus the public postmortem summary (null until published).
    let mut want = keys(fixture_incident);
    want.insert("postmortem_body".to_owned());
    assert_eq!(keys(&created["incident"]), want);
    assert!(created["incident"]["postmortem_body"].is_null());
    assert_eq!(
        keys(&created["incident"]["incident_updates"][0]),
        keys(&fixture_incident["incident_updates"][0])
    );
    assert_eq!(created["incident"]["id"], incident["id"]);
    assert_eq!(created["incident"]["name"], "API errors");
    assert_eq!(created["incident"]["impact"], "major");
    assert_eq!(created["incident"]["components"][0]["id"], json!(api));
    assert_eq!(
        created["incident"]["incident_updates"][0]["body"],
        "We are investigating."
    );

    let change = got
        .iter()
        .map(Received::json)
        .find(|b| b.get("component_update").is_some())
        .unwrap();
    assert_eq!(
        keys(&change["component_update"]),
        set(&[
            "id",
            "component_id",
            "old_status",
            "new_status",
            "created_at"
        ])
    );
    assert_eq!(change["component_update"]["old_status"], "operational");
    assert_eq!(change["component_update"]["new_status"], "partial_outage");
    let mut component_keys = keys(&fixture["components"][1]);
    component_keys.remove("components");
    assert_eq!(keys(&change["component"]), component_keys);

    // Resolving sends the incident again (status resolved) and the component change.
    let id = incident["id"].as_str().unwrap();
    app.post_update(&token, id, json!({"status": "resolved", "body": "Fixed.", "components": [{"id": api, "status": "operational"}]})).await;
    let got = receiver
        .wait_for(Duration::from_secs(10), "the resolution", |r| r.len() >= 4)
        .await;
    let mut kinds = events(&got[2..]);
    kinds.sort();
    assert_eq!(kinds, ["component", "incident:resolved"]);
    let resolved = got[2..]
        .iter()
        .map(Received::json)
        .find(|b| b.get("incident").is_some())
        .unwrap();
    assert_eq!(
        resolved["incident"]["incident_updates"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(resolved["page"]["status_indicator"], "none");
    let ids: BTreeSet<String> = got.iter().map(Received::id).collect();
    assert_eq!(ids.len(), 4, "every message has its own webhook-id");

    // The delivery log and the metrics say the same, once the dispatcher has recorded
    // the answers (that happens just after the receiver has them).
    let log = recorded_deliveries(&app, &subscriber, &token).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for d in items {
        assert_eq!(d["state"], "delivered");
        assert_eq!(d["attempts"][0]["status"], 200);
        assert_eq!(d["attempts"][0]["response"], "thanks");
    }
    let metrics = app.get("/metrics").await;
    assert!(
        metrics
            .text
            .contains("fireline_webhook_deliveries{state=\"delivered\"} 4"),
        "{}",
        metrics.text
    );
}

#[tokio::test]
async fn component_choices_internal_incidents_and_the_notify_switch_are_honoured() {
    let app = TestApp::with_private_webhooks().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let api = app.component(&token, "API").await;
    let web = app.component(&token, "Website").await;
    let everything = Receiver::start().await;
    let only_api = Receiver::start().await;
    subscribe(&app, &token, &everything.url("/all"), json!([])).await;
    subscribe(&app, &token, &only_api.url("/api"), json!([api])).await;
    let _dispatcher = app.dispatcher(quick());

    // Internal: nothing, not even to the subscriber of everything.
    app.declare(&token, json!({"title": "Secret", "severity": "sev3", "visibility": "internal", "initial_update": "Hush."})).await;
    // Public, on the website only: the API subscriber does not hear of it.
    let website = app.declare(&token, json!({"title": "Website slow", "severity": "sev3", "components": [{"id": web, "status": "degraded_performance"}],
                   "initial_update": "Pages load slowly."})).await;
    let id = website["id"].as_str().unwrap();
    // Not notified: an update with the switch off sends no incident message.
    app.post_update(
        &token,
        id,
        json!({"status": "identified", "body": "Typo fix.", "notify": false}),
    )
    .await;
    // The API goes down: both hear of it.
    app.patched(
        &format!("/api/v1/components/{api}"),
        &token,
        json!({"status": "major_outage"}),
    )
    .await;
    let all = everything
        .wait_for(Duration::from_secs(10), "three messages", |r| r.len() >= 3)
        .await;
    only_api
        .wait_for(Duration::from_secs(10), "the API change", |r| !r.is_empty())
        .await;
    // Give stray messages a moment to show up before counting.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let all = everything.received().len().max(all.len());
    assert_eq!(all, 3, "website incident, website component, API component");
    let some = only_api.received();
    assert_eq!(some.len(), 1, "{:?}", events(&some));
    assert_eq!(some[0].json()["component"]["id"], json!(api));
    for r in everything.received() {
        assert!(!String::from_utf8_lossy(&r.body).contains("Secret"));
    }
    let stored: i64 = app.scalar("SELECT count(*) FROM webhook_messages WHERE payload LIKE '%Secret%' OR payload LIKE '%Typo fix%'").await;
    assert_eq!(
        stored, 0,
        "internal and unannounced changes never reach the outbox"
    );
}

#[tokio::test]
async fn maintenance_is_announced_when_scheduled_started_and_completed() {
    let app = TestApp::with_private_webhooks().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let db = app.component(&token, "Database").await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(&app, &token, &receiver.url("/m"), json!([db])).await;
    let _dispatcher = app.dispatcher(quick());
    let now = time::OffsetDateTime::now_utc();
    let m = app
        .created("/api/v1/maintenances", &token, json!({"title": "Upgrade", "scheduled_for": crate::support::rfc3339(now + time::Duration::hours(1)),
                   "scheduled_until": crate::support::rfc3339(now + time::Duration::hours(2)),
                   "component_ids": [db]}))
        .await;
    let id = m["id"].as_str().unwrap();
    for status in ["in_progress", "completed"] {
        app.created(
            &format!("/api/v1/maintenances/{id}/updates"),
            &token,
            json!({"status": status, "body": format!("Now {status}.")}),
        )
        .await;
    }
    // scheduled, started (+ the component going under maintenance), completed (+ back).
    let got = receiver
        .wait_for(Duration::from_secs(10), "five messages", |r| r.len() >= 5)
        .await;
    let statuses: Vec<String> = got
        .iter()
        .map(Received::json)
        .filter(|b| b.get("incident").is_some())
        .map(|b| {
            assert_eq!(b["incident"]["impact"], "maintenance");
            assert!(b["incident"]["scheduled_for"].is_string());
            b["incident"]["status"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(statuses, ["scheduled", "in_progress", "completed"]);
    for r in &got {
        r.verify(&secret);
    }
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_id_and_a_fresh_signature() {
    let app = TestApp::with_private_webhooks().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let receiver = Receiver::start().await;
    let (subscriber, secret) = subscribe(&app, &token, &receiver.url("/flaky"), json!([])).await;
    receiver.then(500, None);
    let _dispatcher = app.dispatcher(quick());
    app.api_ok(
        Method::POST,
        &format!("/api/v1/subscribers/{subscriber}/test"),
        &token,
        json!({}),
        StatusCode::ACCEPTED,
    )
    .await;
    let got = receiver
        .wait_for(Duration::from_secs(15), "the retry", |r| r.len() >= 2)
        .await;
    assert_eq!(
        got[0].id(),
        got[1].id(),
        "the same webhook-id on every attempt"
    );
    got[0].verify(&secret);
    got[1].verify(&secret);
    // The dispatcher records the answer just after the receiver has it.
    let log = recorded_deliveries(&app, &subscriber, &token).await;
    let delivery = &log["items"][0];
    assert_eq!(delivery["state"], "delivered");
    assert_eq!(delivery["webhook_id"], json!(got[0].id()));
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[0]["error"], "HTTP 500");
    assert_eq!(attempts[1]["status"], 200);
    let gap = time::OffsetDateTime::parse(
        attempts[1]["attempted_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
        - time::OffsetDateTime::parse(
            attempts[0]["attempted_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
    assert!(
        gap >= time::Duration::seconds(3) && gap <= time::Duration::seconds(8),
        "the first retry comes about 5 s later, not {gap}"
    );

    // A pending delivery cannot be resent over itself.
    let pending: i64 = app.scalar("INSERT INTO deliveries (message_id, subscriber_id, destination, next_attempt_at) \
         SELECT message_id, subscriber_id, destination, now() + interval '1 hour' FROM deliveries LIMIT 1 RETURNING id").await;
    let r = app
        .post(
            &format!("/api/v1/subscribers/{subscriber}/deliveries/{pending}/resend"),
            &token,
            "{}",
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    sqlx::query("DELETE FROM deliveries WHERE id = $1")
        .bind(pending)
        .execute(app.pool())
        .await
        .unwrap();

    // Retry-After is honoured; a resend goes out again with the same id.
    receiver.then(503, Some("1"));
    let delivery_id = delivery["id"].as_i64().unwrap();
    app.api_ok(
        Method::POST,
        &format!("/api/v1/subscribers/{subscriber}/deliveries/{delivery_id}/resend"),
        &token,
        json!({}),
        StatusCode::ACCEPTED,
    )
    .await;
    let got = receiver
        .wait_for(
            Duration::from_secs(4),
            "the resend and its quick retry",
            |r| r.len() >= 4,
        )
        .await;
    assert!(got.iter().all(|r| r.id() == got[0].id()));
}

#[tokio::test]
async fn gone_disables_the_subscriber_and_says_why() {
    let app = TestApp::with_private_webhooks().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let receiver = Receiver::start().await;
    let (subscriber, _) = subscribe(&app, &token, &receiver.url("/gone"), json!([])).await;
    receiver.then(410, None);
    let _dispatcher = app.dispatcher(quick());
    app.api_ok(
        Method::POST,
        &format!("/api/v1/subscribers/{subscriber}/test"),
        &token,
        json!({}),
        StatusCode::ACCEPTED,
    )
    .await;
    receiver
        .wait_for(Duration::from_secs(10), "the 410", |r| !r.is_empty())
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let shown = loop {
        let shown = app
            .api_get(&format!("/api/v1/subscribers/{subscriber}"), &token)
            .await;
        if shown["state"] == "disabled" || Instant::now() > deadline {
            break shown;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(shown["state"], "disabled");
    assert!(
        shown["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410 Gone"),
        "{shown}"
    );
    // Nothing more is queued for it.
    app.declare(
        &token,
        json!({"title": "Later", "severity": "sev3", "initial_update": "We are looking into it."}),
    )
    .await;
    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE subscriber_id = $1::uuid")
            .bind(&subscriber)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(queued, 1, "only the test message");

    // Re-enabled, it gets messages again.
    let read = app
        .api_get(&format!("/api/v1/subscribers/{subscriber}"), &token)
        .await;
    app.patched(
        &format!("/api/v1/subscribers/{subscriber}"),
        &token,
        json!({"state": "active", "version": read["version"]}),
    )
    .await;
    app.declare(
        &token,
        json!({"title": "Again", "severity": "sev3", "initial_update": "We are looking into it."}),
    )
    .await;
    receiver
        .wait_for(
            Duration::from_secs(10),
            "a message after re-enabling",
            |r| r.len() >= 2,
        )
        .await;
}

#[tokio::test]
async fn failing_for_three_days_disables_with_the_last_error() {
    let app = TestApp::with_private_webhooks().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let receiver = Receiver::start().await;
    let (subscriber, _) = subscribe(&app, &token, &receiver.url("/down"), json!([])).await;
    sqlx::query("UPDATE subscribers SET failing_since = now() - interval '3 days 1 minute' WHERE id = $1::uuid")
        .bind(&subscriber)
        .execute(app.pool())
        .await
        .unwrap();
    receiver.then(503, None);
    let _dispatcher = app.dispatcher(quick());
    app.api_ok(
        Method::POST,
        &format!("/api/v1/subscribers/{subscriber}/test"),
        &token,
        json!({}),
        StatusCode::ACCEPTED,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let shown = loop {
        let shown = app
            .api_get(&format!("/api/v1/subscribers/{subscriber}"), &token)
            .await;
        if shown["state"] == "disabled" || Instant::now() > deadline {
            break shown;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(shown["state"], "disabled", "{shown}");
    let reason = shown["disabled_reason"].as_str().unwrap();
    assert!(
        reason.contains("three days") && reason.contains("HTTP 503"),
        "{reason}"
    );
    let pending: i64 = app
        .scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'")
        .await;
    assert_eq!(pending, 0, "what was pending for it is given up");
}

#[tokio::test]
async fn a_hanging_receiver_does_not_delay_the_others() {
    let app = TestApp::with_private_webhooks().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let slow = Receiver::start().await;
    slow.hang_for(Duration::from_secs(60));
    let fast = Receiver::start().await;
    // The hanging destination has more subscribers than it has slots, and they come first.
    for i in 0..12 {
        subscribe(&app, &token, &slow.url(&format!("/slow/{i}")), json!([])).await;
    }
    for i in 0..30 {
        subscribe(&app, &token, &fast.url(&format!("/fast/{i}")), json!([])).await;
    }
    let _dispatcher = app.dispatcher(DeliveryConfig {
        concurrency: 16,
        per_destination: 4,
        timeout: Duration::from_secs(30),
        ..quick()
    });
    let started = Instant::now();
    app.declare(&token, json!({"title": "Fan-out", "severity": "sev3", "initial_update": "We are looking into it."})).await;
    fast.wait_for(Duration::from_secs(5), "all fast subscribers", |r| {
        r.len() >= 30
    })
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let paths: BTreeSet<String> = fast.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths.len(), 30);
    let in_flight: i64 = app
        .scalar(
            "SELECT count(*) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id \
         WHERE s.url LIKE '%/slow/%' AND d.attempts > 0 AND d.state = 'pending'",
        )
        .await;
    assert!(
        in_flight <= 4,
        "at most 4 at once to one destination, not {in_flight}"
    );
}

#[tokio::test]
async fn private_destinations_are_refused_unless_allowed() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let receiver = Receiver::start().await;
    let port = receiver.base.rsplit(':').next().unwrap().to_owned();
    for (url, why) in [
        ("http://127.0.0.1:9/hook".to_owned(), "loopback"),
        ("http://10.1.2.3/hook".to_owned(), "private"),
        (
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "link-local",
        ),
        ("http://[::1]/hook".to_owned(), "loopback"),
        (
            "http://[::ffff:0:7f00:1]/hook".to_owned(),
            "IPv4-translated",
        ),
        ("http://[fec0::1]/hook".to_owned(), "site-local"),
        ("http://[2001::1]/hook".to_owned(), "Teredo"),
        ("http://[100::1]/hook".to_owned(), "discard-only"),
        ("http://[64:ff9b::7f00:1]/hook".to_owned(), "loopback"),
        ("http://192.0.2.10/hook".to_owned(), "documentation"),
        ("http://198.51.100.10/hook".to_owned(), "documentation"),
        ("https://203.0.113.10/hook".to_owned(), "documentation"),
        (
            format!("http://localhost:{port}/hook"),
            "localhost resolves to",
        ),
        ("ftp://example.com/".to_owned(), "http:// or https://"),
    ] {
        let r = app
            .post(
                "/api/v1/subscribers",
                &token,
                &json!({ "url": url }).to_string(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            r.text
        );
        assert_eq!(r.header("content-type"), "application/problem+json");
        let problem = r.json();
        let message = problem["errors"]["url"].as_str().unwrap();
        assert!(message.contains(why), "{url}: {message}");
    }

    // A name that resolved somewhere public when subscribing but points at loopback now
    // (DNS rebinding) is caught where the connection is made.
    sqlx::query(
        "INSERT INTO subscribers (id, url, destination, secret) VALUES (gen_random_uuid(), $1, $2, $3)",
    )
    .bind(format!("http://localhost:{port}/rebound"))
    .bind(format!("http://localhost:{port}"))
    .bind(fireline::webhooks::signing::Secret::generate().expose())
    .execute(app.pool())
    .await
    .unwrap();
    let _dispatcher = app.dispatcher(DeliveryConfig {
        allow_private: false,
        ..quick()
    });
    app.declare(&token, json!({"title": "Rebinding", "severity": "sev3", "initial_update": "We are looking into it."})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let error: String = loop {
        let error: Option<String> =
            sqlx::query_scalar("SELECT error FROM delivery_attempts LIMIT 1")
                .fetch_optional(app.pool())
                .await
                .unwrap()
                .flatten();
        if let Some(error) = error {
            break error;
        }
        assert!(Instant::now() < deadline, "no attempt was recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(error.contains("loopback"), "{error}");
    assert!(
        receiver.received().is_empty(),
        "nothing reached the loopback receiver"
    );
}

#[tokio::test]
async fn subscribing_on_the_public_page_and_unsubscribing_from_the_link() {
    let app = TestApp::with_private_webhooks().await;
    app.state.status_page.refresh().await.unwrap();
    let receiver = Receiver::start().await;
    let url = receiver.url("/public");
    let mut visitor = app.browser();
    let page = visitor.get("/subscribe").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(page.text.contains("Verifying a message"));

    let made = visitor.form("/subscribe", &[("url", &url)]).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let secret = made.select("code.secret").pop().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let link = made.attr("section.created a", "href").unwrap();
    assert!(
        link.starts_with("http://fireline.test/subscribe/manage/"),
        "{link}"
    );

    // The secret verifies what is sent.
    let _dispatcher = app.dispatcher(quick());
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    app.declare(&token, json!({"title": "Seen by the public subscriber", "severity": "sev3", "initial_update": "We are looking into it."})).await;
    let got = receiver
        .wait_for(Duration::from_secs(10), "the message", |r| !r.is_empty())
        .await;
    got[0].verify(&secret);
    assert_eq!(got[0].json()["meta"]["unsubscribe"], json!(link));

    // The same URL again is refused, and so is a bad URL, with the reason.
    let again = visitor.form("/subscribe", &[("url", &url)]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text.contains("already subscribed"));
    let bad = visitor.form("/subscribe", &[("url", "gopher://x")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.select("[role=alert]")[0].contains("http:// or https://"));

    // Unsubscribing: the link asks first; a wrong token is refused.
    let path = link.trim_start_matches("http://fireline.test");
    let wrong = visitor.get(&path.replace("token=", "token=x")).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let confirm = visitor.get(path).await;
    assert_eq!(confirm.status, StatusCode::OK);
    let left: i64 = app.scalar("SELECT count(*) FROM subscribers").await;
    assert_eq!(left, 1, "opening the link alone does not unsubscribe");
    let token_field = confirm.attr("input[name=token]", "value").unwrap();
    let action = confirm.attr("form", "action").unwrap();
    let done = visitor
        .submit(path, &action, &[("token", &token_field)])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.text.contains("Unsubscribed"));
    let left: i64 = app.scalar("SELECT count(*) FROM subscribers").await;
    assert_eq!(left, 0);
    // Without the CSRF token the form is refused.
    let forged = visitor.post_raw(&action, &[("token", &token_field)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn public_subscribing_is_rate_limited_per_address() {
    let app = TestApp::with_private_webhooks().await;
    let mut visitor = app.browser_at("203.0.113.9");
    for i in 0..fireline::webhooks::SUBSCRIBES_PER_HOUR {
        let r = visitor
            .form("/subscribe", &[("url", &format!("http://127.0.0.1:9/{i}"))])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let refused = visitor
        .form("/subscribe", &[("url", "http://127.0.0.1:9/one-more")])
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.text.contains("Too many subscribe attempts"));
    // Another address is not affected.
    visitor.ip = "203.0.113.10".into();
    let other = visitor
        .form("/subscribe", &[("url", "http://127.0.0.1:9/other")])
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
}

#[tokio::test]
async fn admins_manage_subscribers_in_the_browser() {
    let app = TestApp::with_private_webhooks().await;
    let receiver = Receiver::start().await;
    let mut responder = app.signed_in("rita@example.com", Role::Responder).await;
    assert_eq!(
        responder.get("/admin/subscribers").await.status,
        StatusCode::FORBIDDEN
    );
    let (_, viewer_token) = app.token("vic@example.com", Role::Viewer).await;
    assert_eq!(
        app.api(Method::GET, "/api/v1/subscribers", &viewer_token, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let url = receiver.url("/admin-added");
    let made = admin
        .form(
            "/admin/subscribers",
            &[("url", &url), ("description", "Partner page")],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let secret = made.select("#new-secret").pop().unwrap();
    assert!(secret.starts_with("whsec_"));
    let list = admin.get("/admin/subscribers").await;
    assert!(list.text.contains("Partner page"));
    assert!(
        !list.text.contains(&secret),
        "the secret is not shown again"
    );
    let id: String = app.scalar("SELECT id::text FROM subscribers").await;
    let page = format!("/admin/subscribers/{id}");

    let _dispatcher = app.dispatcher(quick());
    let r = admin.press(&page, &format!("{page}/test")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let got = receiver
        .wait_for(Duration::from_secs(10), "the test", |r| !r.is_empty())
        .await;
    got[0].verify(&secret);

    // Paused: messages wait; resumed: they go.
    admin.press(&page, &format!("{page}/pause")).await;
    let (_, token) = app.token("ops@example.com", Role::Responder).await;
    app.declare(&token, json!({"title": "While paused", "severity": "sev3", "initial_update": "We are looking into it."})).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(receiver.received().len(), 1, "nothing is sent while paused");
    let shown = admin.get(&page).await;
    assert!(shown.text.contains("Paused"));
    assert!(shown.text.contains("incident.created"));
    admin.press(&page, &format!("{page}/resume")).await;
    receiver
        .wait_for(Duration::from_secs(10), "the held message", |r| {
            r.len() >= 2
        })
        .await;

    // The log shows the attempts; resend repeats a message with its id.
    let shown = admin.get(&page).await;
    assert_eq!(shown.select("table.list tbody tr").len(), 2);
    assert!(shown.text.contains("HTTP 200"));
    let resend = shown.attr("form[action$='/resend']", "action").unwrap();
    admin.press(&page, &resend).await;
    let got = receiver
        .wait_for(Duration::from_secs(10), "the resend", |r| r.len() >= 3)
        .await;
    assert!(got[..2].iter().any(|r| r.id() == got[2].id()));

    let removed = admin.press(&page, &format!("{page}/delete")).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.get(&page).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_api_pages_subscribers_and_refuses_bad_input() {
    let app = TestApp::with_private_webhooks().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    for i in 0..3 {
        subscribe(&app, &token, &format!("http://127.0.0.1:9/{i}"), json!([])).await;
    }
    let first = app.api_get("/api/v1/subscribers?limit=2", &token).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .api_get(
            &format!("/api/v1/subscribers?limit=2&cursor={cursor}"),
            &token,
        )
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());

    let dup = app
        .post(
            "/api/v1/subscribers",
            &token,
            r#"{"url": "http://127.0.0.1:9/0"}"#,
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.json()["errors"]["url"]
        .as_str()
        .unwrap()
        .contains("already subscribed"));
    let long = format!("https://example.com/{}", "a".repeat(2100));
    let r = app
        .post(
            "/api/v1/subscribers",
            &token,
            &json!({"url": long}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Percent-encoding makes this one longer than the limit once stored.
    let encoded = format!("https://example.com/{}", " ".repeat(700));
    let r = app
        .post(
            "/api/v1/subscribers",
            &token,
            &json!({"url": encoded}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = app
        .post("/api/v1/subscribers", &token, r#"{"url": 5}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            "/api/v1/subscribers",
            &token,
            &json!({"url": "http://127.0.0.1:9/x", "component_ids": [uuid::Uuid::new_v4()]})
                .to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("no component"));

    let id = first["items"][0]["id"].as_str().unwrap();
    let r = app
        .patch(
            &format!("/api/v1/subscribers/{id}"),
            &token,
            r#"{"state": "sleeping"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = app
        .patch(
            &format!("/api/v1/subscribers/{id}"),
            &token,
            r#"{"state": "paused", "version": 99}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["current"]["version"], 1);
    let paused = app
        .patched(
            &format!("/api/v1/subscribers/{id}"),
            &token,
            json!({"state": "paused", "version": 1}),
        )
        .await;
    assert_eq!(paused["state"], "paused");
    let r = app
        .delete(&format!("/api/v1/subscribers/{id}"), &token)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .api(
            Method::GET,
            &format!("/api/v1/subscribers/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// `fireline serve` as a child process; returns it and its address.
fn start_server(db: &crate::support::TestDb) -> (std::process::Child, String) {
    start_server_with(db, &[])
}

/// `fireline serve` on a free port with `extra` arguments; the child and its base URL.
pub(crate) fn start_server_with(
    db: &crate::support::TestDb,
    extra: &[&str],
) -> (std::process::Child, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_fireline"));
    command
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .env("DATABASE_URL", db.url())
        .env("FIRELINE_LOG", "info")
        .env("FIRELINE_LOG_FORMAT", "json")
        .env("FIRELINE_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("FIRELINE_WEBHOOK_PER_DESTINATION", "8");
    let (child, line) = crate::support::spawn_until(command, "Fireline is listening");
    let parsed: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
    let address = parsed["fields"]["address"]
        .as_str()
        .or(parsed["address"].as_str())
        .expect("the server says where it listens");
    (child, format!("http://{address}"))
}

#[tokio::test]
async fn every_subscriber_gets_the_message_after_a_sigkill_mid_fan_out() {
    const SUBSCRIBERS: usize = 600;
    let db = crate::support::TestDb::new().await;
    let token = db.admin_token("crash").await;
    // A receiver that takes 20 to 80 ms per message: with 8 at a time the fan-out lasts
    // about 4 s, and attempts end at scattered times, so the kill finds some in flight.
    let receiver = Receiver::start().await;
    for i in 0..SUBSCRIBERS * 3 {
        receiver.inner.script.lock().unwrap().push_back(Reply {
            status: 200,
            retry_after: None,
            delay: Duration::from_millis(20 + (i as u64 * 37) % 61),
        });
    }
    let secret = fireline::webhooks::signing::Secret::generate().expose();
    sqlx::query(
        "INSERT INTO subscribers (id, url, destination, secret) \
         SELECT gen_random_uuid(), $1 || '/s/' || g, $1, $2 FROM generate_series(1, $3) g",
    )
    .bind(&receiver.base)
    .bind(&secret)
    .bind(SUBSCRIBERS as i32)
    .execute(&db.pool)
    .await
    .unwrap();

    let (mut first, base) = start_server(&db);
    let client = reqwest::Client::new();
    let declared = client
        .post(format!("{base}/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"title": "Fan-out under fire", "severity": "sev2", "initial_update": "Investigating."}))
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), 201);

    receiver
        .wait_for(Duration::from_secs(30), "the fan-out to start", |r| {
            r.len() >= 80
        })
        .await;
    tokio::time::sleep(Duration::from_millis(13)).await;
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = first.wait();
    let at_kill = receiver.received().len();
    assert!(
        at_kill < SUBSCRIBERS,
        "the fan-out finished before the kill ({at_kill}); the test proves nothing"
    );
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(pending > 0, "deliveries were left pending by the kill");

    // A new process takes over, including what the dead one had claimed (after its lease).
    let (mut second, _) = start_server(&db);
    receiver
        .wait_for(Duration::from_secs(90), "every subscriber", |r| {
            r.iter()
                .map(|x| x.path.as_str())
                .collect::<BTreeSet<_>>()
                .len()
                >= SUBSCRIBERS
        })
        .await;
    // Messages the dead process sent but never recorded are sent again once its claims
    // run out: the outbox ends with every delivery done.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let delivered: i64 =
            sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'delivered'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if delivered as usize == SUBSCRIBERS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {delivered} of {SUBSCRIBERS} deliveries recorded as delivered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = receiver.received();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status();
    let _ = second.wait();

    let paths: BTreeSet<&str> = got.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths.len(), SUBSCRIBERS, "every subscriber received it");
    let ids: BTreeSet<String> = got.iter().map(Received::id).collect();
    assert_eq!(
        ids.len(),
        1,
        "one message: duplicates carry the same webhook-id"
    );
    for r in got.iter().step_by(50) {
        r.verify(&secret);
    }
    eprintln!(
        "crash test: {at_kill} received before SIGKILL, {} requests in all ({} duplicates)",
        got.len(),
        got.len() - SUBSCRIBERS
    );
}

/// A subscriber's delivery log once no delivery is pending (or after 10 s, as it is then).
async fn recorded_deliveries(app: &TestApp, subscriber: &str, token: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = app
            .api_get(
                &format!("/api/v1/subscribers/{subscriber}/deliveries"),
                token,
            )
            .await;
        let recorded = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] != "pending");
        if recorded || Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
