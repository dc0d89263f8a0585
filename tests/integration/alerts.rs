//! Alert intake end to end through the real router: deliveries in each format, applied by
//! the processor, grouped as the senders mean them.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::TestApp;

/// An Alertmanager v4 message for group `group` with `alerts`: (instance, status,
/// startsAt, endsAt).
pub fn am(group: &str, alerts: &[(&str, &str, &str, Option<&str>)]) -> String {
    let items: Vec<Value> = alerts
        .iter()
        .map(|(instance, status, starts, ends)| {
            json!({
                "status": status,
                "labels": {"alertname": group, "instance": instance, "severity": "critical"},
                "annotations": {"summary": format!("{group} on {instance}")},
                "startsAt": starts,
                "endsAt": ends.unwrap_or("0001-01-01T00:00:00Z"),
                "generatorURL": "http://prometheus/graph",
                "fingerprint": format!("fp-{instance}"),
            })
        })
        .collect();
    let firing = alerts.iter().any(|a| a.1 == "firing");
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{group}\"}}"),
        "truncatedAlerts": 0,
        "status": if firing { "firing" } else { "resolved" },
        "receiver": "fireline",
        "groupLabels": {"alertname": group},
        "commonLabels": {"alertname": group},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": items,
    })
    .to_string()
}

pub fn pd(key: &str, action: &str, dedup: Option<&str>) -> String {
    let mut event = json!({
        "routing_key": key,
        "event_action": action,
        "payload": {"summary": "Disk full on db-1", "source": "db-1", "severity": "warning"},
    });
    if let Some(dedup) = dedup {
        event["dedup_key"] = json!(dedup);
    }
    event.to_string()
}

/// The groups as (state, alerts_firing, alerts_total, times_received), oldest first.
async fn groups(app: &TestApp) -> Vec<(String, i32, i32, i32)> {
    sqlx::query_as(
        "SELECT state::text, alerts_firing, alerts_total, times_received FROM alert_groups \
         ORDER BY number",
    )
    .fetch_all(app.pool())
    .await
    .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar::<i64>(sql).await
}

const T0: &str = "2026-03-01T10:00:00Z";

#[tokio::test]
async fn alertmanager_repeating_a_group_a_hundred_times_changes_only_last_seen() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let path = format!("/ingest/{key}/alertmanager");
    let body = am(
        "HighLatency",
        &[("a", "firing", T0, None), ("b", "firing", T0, None)],
    );
    let r = app.ingest(&path, None, &body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json(), json!({"status": "accepted", "alerts": 2}));
    app.process_alerts().await;
    let history = count(&app, "SELECT count(*) FROM alert_group_events").await;
    assert_eq!(history, 3, "opened and two alerts fired");
    for _ in 0..99 {
        assert_eq!(
            app.ingest(&path, None, &body).await.status,
            StatusCode::ACCEPTED
        );
    }
    app.process_alerts().await;

    assert_eq!(groups(&app).await, vec![("firing".into(), 2, 2, 100)]);
    assert_eq!(
        count(&app, "SELECT count(*) FROM alert_group_events").await,
        history
    );
    let alert_counts = count(&app, "SELECT sum(times_received)::bigint FROM alerts").await;
    assert_eq!(alert_counts, 200);
    let opened = "SELECT count(*) FROM domain_events WHERE kind = 'alert_group.opened'";
    assert_eq!(count(&app, opened).await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM alert_intake").await, 0);
    let (severity, urgency, title): (String, String, String) =
        sqlx::query_as("SELECT severity::text, urgency::text, title FROM alert_groups")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!((severity.as_str(), urgency.as_str()), ("critical", "high"));
    assert!(title.contains("HighLatency"), "{title}");
}

#[tokio::test]
async fn a_repeat_is_applied_from_its_digest_and_a_change_before_it_in_one_round_still_counts() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let path = format!("/ingest/{key}/alertmanager");
    let one = am("Disk", &[("a", "firing", T0, None)]);
    app.ingest(&path, None, &one).await;
    app.process_alerts().await;

    // Repeats need no body: these two are unreadable, and are applied all the same.
    app.ingest(&path, None, &one).await;
    app.ingest(&path, None, &one).await;
    app.exec("UPDATE alert_intake SET delivery = '{\"v\":99}'")
        .await;
    let report = app.process_alerts().await;
    assert_eq!((report.applied, report.failed), (2, 0));
    assert_eq!(groups(&app).await, vec![("firing".into(), 1, 1, 3)]);

    // In one round: a change, then what looked like a repeat when the round was read.
    // After the change it is not one, and is applied from its body: `b` resolves.
    let two = am(
        "Disk",
        &[("a", "firing", T0, None), ("b", "firing", T0, None)],
    );
    app.ingest(&path, None, &two).await;
    app.ingest(&path, None, &one).await;
    let report = app.process_alerts().await;
    assert_eq!((report.applied, report.failed), (2, 0));
    assert_eq!(groups(&app).await, vec![("firing".into(), 1, 2, 5)]);
    let b: String = app
        .scalar("SELECT status::text FROM alerts WHERE fingerprint = 'fp-b'")
        .await;
    assert_eq!(b, "resolved");
    let counts: Vec<(String, i32)> =
        sqlx::query_as("SELECT fingerprint, times_received FROM alerts ORDER BY fingerprint")
            .fetch_all(app.pool())
            .await
            .unwrap();
    assert_eq!(counts, vec![("fp-a".into(), 5), ("fp-b".into(), 1)]);

    // The processors vacuum the queue they empty, outside any transaction.
    fireline::alerts::queue::vacuum(app.pool()).await.unwrap();
    assert_eq!(count(&app, "SELECT count(*) FROM alert_intake").await, 0);
}

#[tokio::test]
async fn a_group_resolves_only_when_its_last_alert_resolves_at_that_alerts_end() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let path = format!("/ingest/{key}/alertmanager");
    let send = |alerts: Vec<(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    )>| {
        let body = am("DiskFull", &alerts);
        let (app, path) = (&app, &path);
        async move {
            assert_eq!(
                app.ingest(path, None, &body).await.status,
                StatusCode::ACCEPTED
            );
            app.process_alerts().await;
            groups(app).await
        }
    };
    let all = vec![
        ("a", "firing", T0, None),
        ("b", "firing", T0, None),
        ("c", "firing", T0, None),
    ];
    assert_eq!(send(all).await, vec![("firing".into(), 3, 3, 1)]);
    let one = vec![
        ("a", "resolved", T0, Some("2026-03-01T10:05:00Z")),
        ("b", "firing", T0, None),
        ("c", "firing", T0, None),
    ];
    assert_eq!(send(one).await, vec![("firing".into(), 2, 3, 2)]);
    let two = vec![
        ("a", "resolved", T0, Some("2026-03-01T10:05:00Z")),
        ("b", "resolved", T0, Some("2026-03-01T10:07:00Z")),
        ("c", "firing", T0, None),
    ];
    assert_eq!(send(two).await, vec![("firing".into(), 1, 3, 3)]);
    let last = vec![
        ("a", "resolved", T0, Some("2026-03-01T10:05:00Z")),
        ("b", "resolved", T0, Some("2026-03-01T10:07:00Z")),
        ("c", "resolved", T0, Some("2026-03-01T10:09:00Z")),
    ];
    assert_eq!(send(last).await, vec![("resolved".into(), 0, 3, 4)]);
    let resolved_at: String = app
        .scalar("SELECT to_char(resolved_at AT TIME ZONE 'UTC', 'HH24:MI') FROM alert_groups")
        .await;
    assert_eq!(resolved_at, "10:09");
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind::text FROM alert_group_events ORDER BY occurred_at, id")
            .fetch_all(app.pool())
            .await
            .unwrap();
    let expected = [
        "opened",
        "alert_fired",
        "alert_fired",
        "alert_fired",
        "alert_resolved",
        "alert_resolved",
        "alert_resolved",
        "resolved",
    ];
    let mut sorted_kinds = kinds.clone();
    sorted_kinds.sort();
    let mut sorted_expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    sorted_expected.sort();
    assert_eq!(sorted_kinds, sorted_expected);
    let resolved = "SELECT count(*) FROM domain_events WHERE kind = 'alert_group.resolved'";
    assert_eq!(count(&app, resolved).await, 1);
}

#[tokio::test]
async fn an_alert_left_out_of_a_complete_payload_resolves_but_not_while_alerts_are_truncated() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let path = format!("/ingest/{key}/alertmanager");
    let both = am(
        "Cpu",
        &[("a", "firing", T0, None), ("b", "firing", T0, None)],
    );
    app.ingest(&path, None, &both).await;
    let mut truncated: Value =
        serde_json::from_str(&am("Cpu", &[("a", "firing", T0, None)])).unwrap();
    truncated["truncatedAlerts"] = json!(1);
    app.ingest(&path, None, &truncated.to_string()).await;
    app.process_alerts().await;
    assert_eq!(groups(&app).await, vec![("firing".into(), 2, 2, 2)]);

    app.ingest(&path, None, &am("Cpu", &[("a", "firing", T0, None)]))
        .await;
    app.process_alerts().await;
    assert_eq!(groups(&app).await, vec![("firing".into(), 1, 2, 3)]);
    let reason: String = app
        .scalar("SELECT data->>'reason' FROM alert_group_events WHERE kind = 'alert_resolved'")
        .await;
    assert_eq!(reason, "absent");
}

#[tokio::test]
async fn pagerduty_resolve_before_trigger_is_accepted_and_creates_nothing() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("pagerduty").await;
    for action in ["resolve", "acknowledge"] {
        let r = app
            .ingest("/v2/enqueue", None, &pd(&key, action, Some("never-seen")))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(r.json()["dedup_key"], "never-seen");
    }
    let report = app.process_alerts().await;
    assert_eq!(report.applied, 2);
    assert!(groups(&app).await.is_empty());
    assert_eq!(count(&app, "SELECT count(*) FROM domain_events").await, 0);
}

#[tokio::test]
async fn pagerduty_trigger_resolve_trigger_opens_a_second_group_and_acks_the_open_one() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("pagerduty").await;
    for action in [
        "trigger",
        "resolve",
        "trigger",
        "acknowledge",
        "acknowledge",
    ] {
        let r = app
            .ingest("/v2/enqueue", None, &pd(&key, action, Some("disk-db-1")))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{action}: {}", r.text);
    }
    app.process_alerts().await;
    let seen = groups(&app).await;
    assert_eq!(
        seen,
        vec![
            ("resolved".into(), 0, 1, 2),
            ("acknowledged".into(), 1, 1, 3)
        ]
    );
    let keys = count(&app, "SELECT count(DISTINCT group_key) FROM alert_groups").await;
    assert_eq!(keys, 1, "one key, two groups");
    let acked = "SELECT count(*) FROM domain_events WHERE kind = 'alert_group.acknowledged'";
    assert_eq!(
        count(&app, acked).await,
        1,
        "a repeated acknowledge changes nothing"
    );
    let severity: String = app
        .scalar("SELECT severity::text FROM alert_groups LIMIT 1")
        .await;
    assert_eq!(severity, "warning");
}

#[tokio::test]
async fn a_trigger_without_a_dedup_key_gets_one_that_then_resolves_it() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("pagerduty").await;
    let r = app
        .ingest("/v2/enqueue", None, &pd(&key, "trigger", None))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let dedup = r.json()["dedup_key"].as_str().unwrap().to_owned();
    assert!(!dedup.is_empty());
    app.process_alerts().await;
    assert_eq!(groups(&app).await, vec![("firing".into(), 1, 1, 1)]);
    let r = app
        .ingest("/v2/enqueue", None, &pd(&key, "resolve", Some(&dedup)))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    app.process_alerts().await;
    assert_eq!(groups(&app).await, vec![("resolved".into(), 0, 1, 2)]);
}

#[tokio::test]
async fn a_delivery_that_fails_is_retried_holds_back_its_group_and_is_kept_when_it_gives_up() {
    let app = TestApp::new().await;
    let (id, key) = app.integration("alertmanager").await;
    let path = format!("/ingest/{key}/alertmanager");
    app.ingest(&path, None, &am("Mem", &[("a", "firing", T0, None)]))
        .await;
    // A row this build cannot read, between two good ones of the same group.
    let group_key: String = app.scalar("SELECT group_key FROM alert_intake").await;
    sqlx::query(
        "INSERT INTO alert_intake (integration_id, format, group_key, delivery) \
         VALUES ($1::uuid, 'alertmanager', $2, '{\"v\":99}')",
    )
    .bind(&id)
    .bind(&group_key)
    .execute(app.pool())
    .await
    .unwrap();
    let resolved = am(
        "Mem",
        &[("a", "resolved", T0, Some("2026-03-01T10:03:00Z"))],
    );
    app.ingest(&path, None, &resolved).await;

    let report = app.process_alerts().await;
    assert_eq!((report.applied, report.failed), (1, 1));
    assert_eq!(
        groups(&app).await,
        vec![("firing".into(), 1, 1, 1)],
        "the resolve waits"
    );
    let (attempts, error): (i32, String) = sqlx::query_as(
        "SELECT attempts, last_error FROM alert_intake WHERE delivery = '{\"v\":99}'",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    assert!(error.contains("version 99"), "{error}");

    app.exec("UPDATE alert_intake SET attempts = 9, next_attempt_at = now()")
        .await;
    let report = app.process_alerts().await;
    assert_eq!((report.applied, report.failed), (1, 1));
    assert_eq!(groups(&app).await, vec![("resolved".into(), 0, 1, 2)]);
    let failed = "SELECT count(*) FROM alert_intake WHERE state = 'failed'";
    assert_eq!(count(&app, failed).await, 1, "kept, never lost");

    // And shown where an admin looks: the integration's page, with what went wrong.
    let mut admin = app
        .signed_in("ada@example.com", fireline::accounts::Role::Admin)
        .await;
    let page = admin.get(&format!("/admin/integrations/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let items = page.select(".failed-deliveries li");
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(
        items[0].contains("10 attempts") && items[0].contains("version 99"),
        "{}",
        items[0]
    );
    assert_eq!(page.select(".waiting"), ["Nothing waits to be applied."]);
}

#[tokio::test]
async fn two_processors_on_one_database_apply_each_group_once_and_in_order() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let path = format!("/ingest/{key}/alertmanager");
    // Ten episodes of two groups, interleaved: fire, resolve, fire again later, ...
    for episode in 0..10 {
        let starts = format!("2026-03-01T{:02}:00:00Z", 10 + episode);
        let ends = format!("2026-03-01T{:02}:30:00Z", 10 + episode);
        for group in ["Alpha", "Beta"] {
            let fire = am(group, &[("a", "firing", &starts, None)]);
            app.ingest(&path, None, &fire).await;
        }
        for group in ["Alpha", "Beta"] {
            let resolve = am(group, &[("a", "resolved", &starts, Some(&ends))]);
            app.ingest(&path, None, &resolve).await;
        }
    }
    let other = sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .connect(&app.db.url())
        .await
        .unwrap();
    let (one, two) = tokio::join!(
        fireline::alerts::process::apply_pending(app.pool()),
        fireline::alerts::process::apply_pending(&other),
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    // One may have stopped while the other still held a group: finish what is left.
    let rest = app.process_alerts().await;
    assert_eq!(one.applied + two.applied + rest.applied, 40);
    assert_eq!(one.failed + two.failed + rest.failed, 0);
    let seen = groups(&app).await;
    assert_eq!(seen.len(), 20, "a new group for every episode: {seen:?}");
    assert!(
        seen.iter().all(|g| g.0 == "resolved" && g.3 == 2),
        "{seen:?}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM alert_intake").await, 0);
    other.close().await;
}

#[tokio::test]
async fn alerts_firing_and_resolving_reach_no_public_surface_and_no_subscriber() {
    let app = TestApp::new().await;
    let (_, admin) = app
        .token("ada@example.com", fireline::accounts::Role::Admin)
        .await;
    app.component(&admin, "Checkout").await;
    sqlx::query(
        "INSERT INTO subscribers (id, url, destination, secret) VALUES (gen_random_uuid(), \
         'https://hooks.example.com/x', 'https://hooks.example.com:443', $1)",
    )
    .bind(fireline::webhooks::signing::Secret::generate().expose())
    .execute(app.pool())
    .await
    .unwrap();
    app.apply_events().await;
    let messages_before = count(&app, "SELECT count(*) FROM webhook_messages").await;
    let before = app.public_surfaces().await;

    let (_, key) = app.integration("alertmanager").await;
    let path = format!("/ingest/{key}/alertmanager");
    let firing = am("CheckoutDown", &[("a", "firing", T0, None)]);
    assert_eq!(
        app.ingest(&path, None, &firing).await.status,
        StatusCode::ACCEPTED
    );
    app.process_alerts().await;
    app.apply_events().await;
    assert_eq!(groups(&app).await[0].0, "firing");
    assert_eq!(
        app.public_surfaces().await,
        before,
        "a firing alert changed a public surface"
    );

    let resolved = am(
        "CheckoutDown",
        &[("a", "resolved", T0, Some("2026-03-01T10:05:00Z"))],
    );
    assert_eq!(
        app.ingest(&path, None, &resolved).await.status,
        StatusCode::ACCEPTED
    );
    app.process_alerts().await;
    app.apply_events().await;
    assert_eq!(groups(&app).await[0].0, "resolved");
    assert_eq!(
        app.public_surfaces().await,
        before,
        "a resolved alert changed a public surface"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM webhook_messages").await,
        messages_before,
        "an alert reached the webhook outbox"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM deliveries").await, 0);
    let events = count(
        &app,
        "SELECT count(*) FROM domain_events WHERE kind LIKE 'alert_group.%'",
    )
    .await;
    assert!(
        events >= 2,
        "the group's opening and resolution are domain events ({events})"
    );
}
