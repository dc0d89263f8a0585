//! The admin pages of heartbeats: made and edited through forms (period or cron in a
//! zone, grace, labels), refused with the reason, their pings with the logs the jobs sent,
//! pause and resume by a responder, what viewers may not do, and the scrape's gauges.

use axum::http::StatusCode;
use fireline::accounts::Role;
use time::{Duration, OffsetDateTime};

use crate::support::{Browser, TestApp};
use fireline::monitors::sweep::sweep;

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar::<i64>(sql).await
}

/// Create a heartbeat through the form; the path of its page.
async fn create(admin: &mut Browser<'_>, fields: &[(&str, &str)]) -> String {
    let made = admin.form("/admin/heartbeats", fields).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    made.location().to_owned()
}

#[tokio::test]
async fn an_admin_makes_a_heartbeat_sees_its_pings_with_their_logs_and_edits_it() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let empty = admin.get("/admin/heartbeats").await;
    assert_eq!(empty.select("#no-heartbeats").len(), 1);
    assert_eq!(
        empty.attr("nav a[aria-current=page]", "href").as_deref(),
        Some("/admin/heartbeats")
    );

    let page = create(
        &mut admin,
        &[
            ("name", "Nightly backup"),
            ("schedule", "period"),
            ("period", "2"),
            ("period_unit", "hours"),
            ("grace", "30"),
            ("grace_unit", "minutes"),
            ("labels", "team=db\r\nseverity = critical\r\n"),
        ],
    )
    .await;
    let (period, grace, labels): (i32, i32, serde_json::Value) =
        sqlx::query_as("SELECT period_seconds, grace_seconds, labels FROM heartbeats")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!((period, grace), (7200, 1800));
    assert_eq!(
        labels,
        serde_json::json!({"team": "db", "severity": "critical"})
    );

    let shown = admin.get(&page).await;
    assert_eq!(shown.select("#state"), ["New (no ping yet)"]);
    assert_eq!(shown.select("#no-pings").len(), 1);
    let url = shown.select("#ping-url").remove(0);
    let key: String = app.scalar("SELECT ping_key::text FROM heartbeats").await;
    assert_eq!(url, format!("http://fireline.test/ping/{key}"));

    // The job pings: a start, then a success carrying its log.
    let path = format!("/ping/{key}");
    assert_eq!(
        app.get(&format!("{path}/start")).await.status,
        StatusCode::OK
    );
    let log = r#"{"dumped": "3 GB", "note": "<script>alert(1)</script>"}"#;
    assert_eq!(app.post(&path, "none", log).await.status, StatusCode::OK);
    let shown = admin.get(&page).await;
    assert_eq!(shown.select("#state"), ["Up"]);
    assert_eq!(
        shown.select("tr.ping .kind"),
        ["Success", "Started"],
        "newest first"
    );
    assert_eq!(shown.select("pre.log"), [log]);
    assert!(
        !shown.text.contains("<script>alert(1)"),
        "a log is text, never markup"
    );
    assert_eq!(shown.select("#late-at").len(), 1);
    let list = admin.get("/admin/heartbeats").await;
    assert_eq!(list.select("tr.heartbeat a.name"), ["Nightly backup"]);
    assert_eq!(list.select("tr.heartbeat .state"), ["Up"]);
    assert_eq!(
        list.select("tr.heartbeat td:nth-child(3)"),
        ["every 2 hours"]
    );

    // The edit form shows what is stored, and saves a cron schedule in a zone.
    assert_eq!(
        shown.attr("#edit-heartbeat #h-period", "value").as_deref(),
        Some("2")
    );
    let version = shown
        .attr("#edit-heartbeat input[name=version]", "value")
        .unwrap();
    let edit = [
        ("name", "Nightly backup"),
        ("schedule", "cron"),
        ("period", "2"),
        ("period_unit", "hours"),
        ("cron", "30 2 * * 1-5"),
        ("time_zone", "Europe/Berlin"),
        ("grace", "1"),
        ("grace_unit", "hours"),
        ("labels", "team=db"),
        ("version", version.as_str()),
    ];
    let saved = admin.form(&page, &edit).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let (period, cron, zone): (Option<i32>, Option<String>, Option<String>) =
        sqlx::query_as("SELECT period_seconds, cron, time_zone FROM heartbeats")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(
        (period, cron.as_deref(), zone.as_deref()),
        (None, Some("30 2 * * 1-5"), Some("Europe/Berlin"))
    );
    let shown = admin.get(&page).await;
    assert_eq!(
        shown
            .attr("#edit-heartbeat #h-zone option[selected]", "value")
            .as_deref(),
        Some("Europe/Berlin")
    );
    // Saving the same version again is stale: refused, nothing changes.
    let stale = admin.form(&page, &edit).await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        stale.select("#form-error")[0].contains("Someone changed this heartbeat"),
        "{}",
        stale.text
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'heartbeat.%'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn a_bad_form_is_refused_with_the_reason_and_keeps_what_was_typed() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[
                ("name", "x"),
                ("schedule", "period"),
                ("period", "0"),
                ("period_unit", "hours"),
            ],
            "The period is a whole number of hours greater than 0",
        ),
        (
            &[
                ("name", "x"),
                ("schedule", "period"),
                ("period", "53"),
                ("period_unit", "weeks"),
            ],
            "60 seconds to a year",
        ),
        (
            &[
                ("name", "x"),
                ("schedule", "cron"),
                ("cron", "61 * * * *"),
                ("time_zone", "UTC"),
            ],
            "The cron expression",
        ),
        (
            &[
                ("name", "x"),
                ("schedule", "cron"),
                ("cron", "0 3 * * *"),
                ("time_zone", "Mars/Olympus"),
            ],
            "is not a time zone",
        ),
        (
            &[("name", "x"), ("schedule", "period"), ("labels", "team")],
            "has no \"=\"",
        ),
    ];
    for (fields, why) in cases {
        let mut all = vec![
            ("grace", "1"),
            ("grace_unit", "hours"),
            ("period", "1"),
            ("period_unit", "days"),
        ];
        all.extend_from_slice(fields);
        // Later fields win: the case's own values replace the defaults above.
        let r = admin.form("/admin/heartbeats", &dedup(&all)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}: {}",
            r.text
        );
        let error = r.select("#form-error");
        assert!(error[0].contains(why), "{fields:?}: {error:?}");
        assert_eq!(r.attr("#h-name", "value").as_deref(), Some("x"));
    }
    // A name taken already.
    create(
        &mut admin,
        &[
            ("name", "etl"),
            ("schedule", "period"),
            ("period", "1"),
            ("period_unit", "days"),
            ("grace", "1"),
            ("grace_unit", "hours"),
        ],
    )
    .await;
    let r = admin
        .form(
            "/admin/heartbeats",
            &[
                ("name", "etl"),
                ("schedule", "period"),
                ("period", "1"),
                ("period_unit", "days"),
                ("grace", "1"),
                ("grace_unit", "hours"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.select("#form-error")[0].contains("exists already"));
    assert_eq!(count(&app, "SELECT count(*) FROM heartbeats").await, 1);
}

/// Keep the last value of each field name.
fn dedup<'a>(fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for (k, v) in fields {
        out.retain(|(name, _)| name != k);
        out.push((k, v));
    }
    out
}

#[tokio::test]
async fn a_responder_pauses_and_resumes_and_a_viewer_only_looks() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let page = create(
        &mut admin,
        &[
            ("name", "queue worker"),
            ("schedule", "period"),
            ("period", "5"),
            ("period_unit", "minutes"),
            ("grace", "5"),
            ("grace_unit", "minutes"),
        ],
    )
    .await;
    let id = page.rsplit('/').next().unwrap().to_owned();
    let key: String = app.scalar("SELECT ping_key::text FROM heartbeats").await;
    app.get(&format!("/ping/{key}")).await;
    // It goes down, and its page links the alert it raised.
    sweep(
        app.pool(),
        OffsetDateTime::now_utc() + Duration::minutes(11),
    )
    .await
    .unwrap();
    app.process_alerts().await;
    let shown = admin.get(&page).await;
    assert_eq!(shown.select("#state"), ["Down"]);
    assert_eq!(shown.select("#open-alert a").len(), 1, "{}", shown.text);

    let mut viewer = app.signed_in("vic@example.com", Role::Viewer).await;
    let seen = viewer.get(&page).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.select("#pause").is_empty());
    assert!(seen.select("#edit-heartbeat").is_empty());
    assert!(viewer
        .get("/admin/heartbeats")
        .await
        .select("#create-heartbeat")
        .is_empty());
    for path in [
        format!("/admin/heartbeats/{id}/pause"),
        format!("/admin/heartbeats/{id}/delete"),
        format!("/admin/heartbeats/{id}"),
        "/admin/heartbeats".to_owned(),
    ] {
        let r = viewer
            .submit("/admin/heartbeats", &path, &[("name", "x")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "viewer POST {path}");
    }

    let mut responder = app.signed_in("rita@example.com", Role::Responder).await;
    for path in [
        format!("/admin/heartbeats/{id}/delete"),
        "/admin/heartbeats".to_owned(),
    ] {
        let r = responder.submit(&page, &path, &[("name", "x")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "responder POST {path}");
    }
    let paused = responder
        .press(&page, &format!("/admin/heartbeats/{id}/pause"))
        .await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER);
    app.process_alerts().await;
    let shown = responder.get(&page).await;
    assert_eq!(shown.select("#state"), ["Paused"]);
    assert!(
        shown.select("#open-alert").is_empty(),
        "pausing resolves its alert"
    );
    // A ping does not un-pause it; the resume button does.
    app.get(&format!("/ping/{key}")).await;
    assert_eq!(responder.get(&page).await.select("#state"), ["Paused"]);
    responder
        .press(&page, &format!("/admin/heartbeats/{id}/resume"))
        .await;
    assert_eq!(
        responder.get(&page).await.select("#state"),
        ["New (no ping yet)"]
    );

    // The admin deletes it: gone from the list, its URL answers "not found".
    let deleted = admin
        .press(&page, &format!("/admin/heartbeats/{id}/delete"))
        .await;
    assert_eq!(deleted.location(), "/admin/heartbeats");
    assert_eq!(admin.get(&page).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/ping/{key}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_scrape_reports_heartbeats_by_state_and_each_ones_up_and_last_ping() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    for name in ["backup", "etl"] {
        create(
            &mut admin,
            &[
                ("name", name),
                ("schedule", "period"),
                ("period", "1"),
                ("period_unit", "hours"),
                ("grace", "1"),
                ("grace_unit", "minutes"),
            ],
        )
        .await;
    }
    let (id, key): (String, String) =
        sqlx::query_as("SELECT id::text, ping_key::text FROM heartbeats WHERE name = 'backup'")
            .fetch_one(app.pool())
            .await
            .unwrap();
    app.get(&format!("/ping/{key}/fail")).await;
    let text = app.get("/metrics").await.text;
    for line in [
        "fireline_heartbeats{state=\"down\"} 1\n".to_owned(),
        "fireline_heartbeats{state=\"new\"} 1\n".to_owned(),
        "fireline_heartbeats{state=\"up\"} 0\n".to_owned(),
        format!("fireline_heartbeat_up{{id=\"{id}\",name=\"backup\"}} 0\n"),
    ] {
        assert!(text.contains(&line), "{line} in {text}");
    }
    assert!(text.contains(&format!(
        "fireline_heartbeat_last_ping_timestamp_seconds{{id=\"{id}\",name=\"backup\"}} "
    )));
    assert_eq!(text.matches("fireline_heartbeat_up{id=").count(), 2);
    assert_eq!(
        text.matches("fireline_heartbeat_last_ping_timestamp_seconds{id=")
            .count(),
        1,
        "a heartbeat never pinged has no last ping"
    );
    app.exec("DELETE FROM heartbeats WHERE name = 'backup'")
        .await;
    let text = app.get("/metrics").await.text;
    assert!(!text.contains(&id), "a deleted heartbeat leaves the scrape");
}
