//! The domain-event stream across crashes and processes: what a command committed is
//! applied by every consumer exactly once, whoever applies it and whenever.

use fireline::accounts::Role;
use serde_json::{json, Value};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::support::TestDb;
use crate::webhooks::start_server_with;

const SUBSCRIBERS: i32 = 25;

async fn call(base: &str, token: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .request(method, format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

fn kill(child: &mut Child, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let _ = child.wait();
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

#[tokio::test]
async fn events_committed_before_a_crash_are_applied_once_after_the_restart() {
    let db = TestDb::new().await;
    let token = db.admin_token("events").await;
    // Subscribers on a port nobody listens on: deliveries are written, never delivered.
    sqlx::query(
        "INSERT INTO subscribers (id, url, destination, secret) \
         SELECT gen_random_uuid(), 'http://127.0.0.1:9/s/' || g, '127.0.0.1:9', 'whsec_x' \
         FROM generate_series(1, $1) g",
    )
    .bind(SUBSCRIBERS)
    .execute(&db.pool)
    .await
    .unwrap();

    // A process that commits but never gets to its consumers: it runs no background
    // work, and is killed right after the commands return.
    let (mut first, base) = start_server_with(&db, &["--no-jobs"]);
    let component = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/components",
        json!({"name": "API"}),
    )
    .await;
    let incident = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/incidents",
        json!({"title": "Checkout fails", "severity": "sev2", "initial_update": "Investigating.",
               "components": [{"id": component["id"], "status": "major_outage"}]}),
    )
    .await;
    let number = incident["number"].as_i64().unwrap();
    call(
        &base,
        &token,
        reqwest::Method::POST,
        &format!("/incidents/{number}/updates"),
        json!({"status": "identified", "body": "A bad deploy; rolling back."}),
    )
    .await;
    kill(&mut first, "-KILL");

    let recorded = count(&db, "SELECT count(*) FROM domain_events").await;
    assert!(
        recorded >= 3,
        "the commands recorded their events ({recorded})"
    );
    // One consumption of every event per durable consumer (webhooks, paging, ...).
    let consumers = count(&db, "SELECT count(*) FROM event_consumers").await;
    let owed = recorded * consumers;
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM event_consumptions WHERE applied_at IS NULL"
        )
        .await,
        owed,
        "nothing was applied before the crash"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM webhook_messages").await, 0);

    // Two processes start at once and race for the same events.
    let (mut second, _) = start_server_with(&db, &[]);
    let (mut third, _) = start_server_with(&db, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(
        &db,
        "SELECT count(*) FROM event_consumptions WHERE applied_at IS NULL",
    )
    .await
        > 0
    {
        assert!(Instant::now() < deadline, "the consumers did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kill(&mut second, "-TERM");
    kill(&mut third, "-TERM");

    // Every event applied once, by one of them, at the first attempt.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM event_consumptions WHERE attempts = 1"
        )
        .await,
        owed
    );
    // One message per public change (the incident announced with its component, the
    // component change, the second update) and one delivery per subscriber each.
    let messages: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event, count(*) FROM webhook_messages GROUP BY event, subject_id ORDER BY event",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        messages.iter().all(|(_, n)| *n == 1),
        "a message was written twice: {messages:?}"
    );
    let events: Vec<&str> = messages.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        events,
        ["component.updated", "incident.created", "incident.updated"]
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM deliveries").await,
        SUBSCRIBERS as i64 * 3
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT (message_id, subscriber_id)) FROM deliveries"
        )
        .await,
        SUBSCRIBERS as i64 * 3
    );
}

#[tokio::test]
async fn declaring_for_many_subscribers_writes_their_deliveries_outside_the_command() {
    let app = crate::support::TestApp::new().await;
    let (actor, _) = app.token("ada@example.com", Role::Responder).await;
    sqlx::query(
        "INSERT INTO subscribers (id, url, destination, secret) \
         SELECT gen_random_uuid(), 'http://127.0.0.1:9/s/' || g, '127.0.0.1:9', 'whsec_x' \
         FROM generate_series(1, 10000) g",
    )
    .execute(app.pool())
    .await
    .unwrap();
    // The command alone, as a front door calls it: its transaction writes the incident,
    // its log and one event, not a row per subscriber.
    let mut tx = app.pool().begin().await.unwrap();
    fireline::incidents::declare(
        &mut tx,
        &actor,
        fireline::incidents::NewIncident {
            title: "Everything is down".into(),
            severity: fireline::incidents::Severity::Sev1,
            summary: String::new(),
            visibility: fireline::incidents::Visibility::Public,
            impact: None,
            leader_id: None,
            components: Vec::new(),
            started_at: None,
            detected_at: None,
            acknowledged_at: None,
            declared_by_rule: None,
            initial_update: Some("Investigating.".into()),
            public_title: None,
            show_components: false,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let deliveries = || async { app.scalar::<i64>("SELECT count(*) FROM deliveries").await };
    assert_eq!(
        deliveries().await,
        0,
        "the declaring transaction wrote no deliveries"
    );
    app.apply_events().await;
    assert_eq!(
        deliveries().await,
        10_000,
        "the fan-out wrote one per subscriber"
    );
}

#[tokio::test]
async fn an_update_made_while_internal_reaches_no_subscriber_when_made_public_before_the_fan_out() {
    use fireline::incidents::{self, IncidentChanges, IncidentStatus, Visibility};
    let app = crate::support::TestApp::new().await;
    let (actor, token) = app.token("ada@example.com", Role::Responder).await;
    sqlx::query(
        "INSERT INTO subscribers (id, url, destination, secret) \
         VALUES (gen_random_uuid(), 'http://127.0.0.1:9/s', '127.0.0.1:9', 'whsec_x')",
    )
    .execute(app.pool())
    .await
    .unwrap();
    let incident = app
        .declare(&token, json!({"title": "Checkout fails", "severity": "sev2", "initial_update": "Investigating."}))
        .await;
    let id: uuid::Uuid = incident["id"].as_str().unwrap().parse().unwrap();
    let messages = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT event FROM webhook_messages ORDER BY created_at, id",
        )
        .fetch_all(app.pool())
        .await
        .unwrap()
    };
    assert_eq!(messages().await, ["incident.created"]);

    // Internal, an update for responders, public again: all committed before the
    // consumers run.
    let visibility = |visibility| IncidentChanges {
        visibility: Some(visibility),
        ..Default::default()
    };
    let mut tx = app.pool().begin().await.unwrap();
    incidents::update_fields(&mut tx, &actor, id, visibility(Visibility::Internal))
        .await
        .unwrap();
    incidents::updates::post_update(
        &mut tx,
        &actor,
        id,
        incidents::updates::NewUpdate {
            status: IncidentStatus::Identified,
            body: "The database primary lost its disk.".into(),
            components: Vec::new(),
            notify: true,
            title: None,
        },
    )
    .await
    .unwrap();
    incidents::update_fields(&mut tx, &actor, id, visibility(Visibility::Public))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.apply_events().await;

    // Subscribers hear the incident is public again, not the update made while it was not.
    assert_eq!(messages().await, ["incident.created", "incident.created"]);
}
