//! Times in the reader's zone: admin pages in the user's chosen zone or the status
//! page's, UTC in the markup, time inputs read in the zone they name and stored as UTC.

use axum::http::StatusCode;
use fireline::accounts::Role;
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;

use crate::support::{Browser, TestApp, TestResponse};

/// Declare through the browser form; the response of the POST.
async fn declare(browser: &mut Browser<'_>, started_at: &str, zone: &str) -> TestResponse {
    browser
        .submit(
            "/admin/incidents/new",
            "/admin/incidents",
            &[
                ("title", "Checkout failing"),
                ("severity", "sev2"),
                ("visibility", "public"),
                ("started_at", started_at),
                ("time_zone", zone),
                ("initial_update", ""),
            ],
        )
        .await
}

async fn started_at(app: &TestApp) -> OffsetDateTime {
    app.scalar("SELECT started_at FROM incidents").await
}

async fn incidents(app: &TestApp) -> i64 {
    app.scalar("SELECT count(*) FROM incidents").await
}

#[tokio::test]
async fn impact_began_typed_in_new_york_is_stored_as_the_utc_instant() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;
    let form = ada.get("/admin/incidents/new").await;
    // Without a choice the form names the status page's zone (UTC here) and carries it.
    assert_eq!(form.select("label[for=d-started]"), ["Impact began (UTC)"]);
    assert_eq!(
        form.attr("input[name=time_zone]", "value").as_deref(),
        Some("UTC")
    );
    assert!(form.attr("#d-started", "data-utc").is_some());

    let r = declare(&mut ada, "2026-01-15T09:30", "America/New_York").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // 09:30 EST is 14:30 UTC.
    assert_eq!(started_at(&app).await, datetime!(2026-01-15 14:30 UTC));
    let page = ada.get(r.location()).await;
    let started = page
        .html()
        .select(&scraper::Selector::parse("#lifecycle time").unwrap())
        .next()
        .map(|t| {
            (
                t.value().attr("datetime").unwrap_or("").to_owned(),
                t.value().attr("title").unwrap_or("").to_owned(),
            )
        })
        .unwrap();
    assert_eq!(started.0, "2026-01-15T14:30:00Z");
    assert_eq!(started.1, "2026-01-15 14:30 UTC");
}

#[tokio::test]
async fn a_bad_zone_or_time_is_refused_and_declares_nothing() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;
    let r = declare(&mut ada, "2026-01-15T09:30", "Mars/Olympus_Mons").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let alert = r.select("p.alert").join(" ");
    assert!(alert.contains("not a time zone"), "{alert}");
    let r = declare(&mut ada, "15/01/2026 9:30", "America/New_York").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let alert = r.select("p.alert").join(" ");
    assert!(
        alert.contains("not a date and time") && alert.contains("America/New_York"),
        "{alert}"
    );
    assert_eq!(incidents(&app).await, 0);
}

#[tokio::test]
async fn lifecycle_and_note_times_are_read_in_the_forms_zone() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;
    let r = declare(&mut ada, "2026-07-01T08:00", "Europe/Berlin").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let path = r.location().to_owned();
    // Berlin summer time is UTC+2.
    assert_eq!(started_at(&app).await, datetime!(2026-07-01 06:00 UTC));

    let r = ada
        .submit(
            &path,
            &format!("{path}/milestones"),
            &[
                ("milestone", "detected"),
                ("value", "2026-07-01T02:10"),
                ("time_zone", "America/New_York"),
                ("reason", "The alert fired then"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let detected: OffsetDateTime = app.scalar("SELECT detected_at FROM incidents").await;
    assert_eq!(detected, datetime!(2026-07-01 06:10 UTC));

    let r = ada
        .submit(
            &path,
            &format!("{path}/milestones"),
            &[
                ("milestone", "detected"),
                ("value", "2026-07-01T02:10"),
                ("time_zone", "Nowhere/Land"),
                ("reason", "again"),
            ],
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.text.contains("not a time zone"), "{}", r.text);

    let r = ada
        .submit(
            &path,
            &format!("{path}/notes"),
            &[
                ("body", "Pager went off"),
                ("occurred_at", "2026-07-01T15:05"),
                ("time_zone", "Asia/Tokyo"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let noted: OffsetDateTime = app
        .scalar("SELECT occurred_at FROM incident_events WHERE body = 'Pager went off'")
        .await;
    assert_eq!(noted, datetime!(2026-07-01 06:05 UTC));

    let r = ada
        .submit(
            &path,
            &format!("{path}/notes"),
            &[
                ("body", "Bad zone"),
                ("occurred_at", "2026-07-01T15:05"),
                ("time_zone", "Asia/Atlantis"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .select("#note-form p.alert")
        .join("")
        .contains("not a time zone"));
    let notes: i64 = app
        .scalar("SELECT count(*) FROM incident_events WHERE body = 'Bad zone'")
        .await;
    assert_eq!(notes, 0);
}

#[tokio::test]
async fn maintenance_windows_are_read_in_the_zone_their_labels_name() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;
    let r = ada
        .form(
            "/admin/maintenance",
            &[
                ("title", "DB upgrade"),
                ("scheduled_for", "2030-01-10T22:00"),
                ("scheduled_until", "2030-01-10T23:30"),
                ("time_zone", "America/New_York"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let window: (OffsetDateTime, OffsetDateTime) =
        sqlx::query_as("SELECT scheduled_for, scheduled_until FROM maintenances")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(
        window,
        (
            datetime!(2030-01-11 03:00 UTC),
            datetime!(2030-01-11 04:30 UTC)
        )
    );
    let list = ada.get("/admin/maintenance").await;
    assert_eq!(list.select("label[for=m-from]"), ["Starts (UTC)"]);
    assert_eq!(
        list.attr("table.list time", "datetime").as_deref(),
        Some("2030-01-11T03:00:00Z")
    );
    assert_eq!(
        list.select("table.list td.small"),
        ["2030-01-11 03:00 UTC – 2030-01-11 04:30 UTC"]
    );
    let r = ada
        .form(
            "/admin/maintenance",
            &[
                ("title", "Another"),
                ("scheduled_for", "2030-01-10T22:00"),
                ("scheduled_until", "2030-01-10T23:30"),
                ("time_zone", "Europe/Gondor"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("not a time zone"), "{}", r.text);
    let count: i64 = app.scalar("SELECT count(*) FROM maintenances").await;
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_zone_chosen_in_the_profile_shows_every_admin_time_in_it() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;
    let profile = ada.get("/admin/profile").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert_eq!(
        profile.attr("#p-tz option[selected]", "value").as_deref(),
        Some(""),
        "automatic until chosen"
    );
    assert!(profile
        .select("#p-tz option")
        .contains(&"America/New York".to_owned()));

    let r = ada
        .form("/admin/profile", &[("time_zone", "Moon/Tranquility")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.select("p.alert").join("").contains("not a time zone"));

    let r = ada
        .form("/admin/profile", &[("time_zone", "America/New_York")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let saved: Option<String> = app.scalar("SELECT time_zone FROM users").await;
    assert_eq!(saved.as_deref(), Some("America/New_York"));

    let r = declare(&mut ada, "2026-01-15T09:30", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // No zone posted: the user's zone.
    assert_eq!(started_at(&app).await, datetime!(2026-01-15 14:30 UTC));
    let page = ada.get(r.location()).await;
    assert!(page.attr("#topbar", "data-zone-explicit").is_some());
    assert_eq!(
        page.attr("#topbar", "data-zone").as_deref(),
        Some("America/New_York")
    );
    let times = page.select("#lifecycle time");
    assert_eq!(times[0], "2026-01-15 09:30 EST", "{times:?}");
    for t in page
        .html()
        .select(&scraper::Selector::parse("time").unwrap())
    {
        let at = t.value().attr("datetime").unwrap();
        assert!(at.ends_with('Z'), "{at}");
        assert!(t.value().attr("title").unwrap().ends_with(" UTC"));
    }
    assert!(page
        .select("label[for=n-at]")
        .join("")
        .contains("America/New_York"));

    // Back to automatic: the status page's zone.
    let r = ada.form("/admin/profile", &[("time_zone", "")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = ada
        .get(&format!("/admin/incidents/{}", reference(&app).await))
        .await;
    assert!(page.attr("#topbar", "data-zone-explicit").is_none());
    assert_eq!(page.select("#lifecycle time")[0], "2026-01-15 14:30 UTC");
}

async fn reference(app: &TestApp) -> String {
    let number: i64 = app.scalar("SELECT number FROM incidents").await;
    format!("INC-{number}")
}

#[tokio::test]
async fn without_a_choice_admin_pages_fall_back_to_the_status_pages_zone() {
    let app = TestApp::new().await;
    app.exec("UPDATE page_settings SET time_zone = 'Europe/Berlin'")
        .await;
    app.state.status_page.refresh().await.unwrap();
    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;
    let r = declare(&mut ada, "2026-01-15T09:30", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(started_at(&app).await, datetime!(2026-01-15 08:30 UTC));
    let page = ada.get(r.location()).await;
    assert_eq!(page.select("#lifecycle time")[0], "2026-01-15 09:30 CET");
    assert_eq!(
        page.attr("#note-form input[name=time_zone]", "value")
            .as_deref(),
        Some("Europe/Berlin")
    );
}

#[tokio::test]
async fn public_times_carry_utc_and_updates_show_their_component_changes() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let api = app
        .created("/api/v1/components", &token, json!({"name": "API"}))
        .await;
    let incident = app
        .declare(
            &token,
            json!({
                "title": "Checkout failing",
                "severity": "sev2",
                "initial_update": "Looking into it."
            }),
        )
        .await;
    let id = incident["id"].as_str().unwrap();
    app.post_update(
        &token,
        id,
        json!({
            "status": "identified",
            "body": "The API is down.",
            "components": [{"id": api["id"], "status": "major_outage"}]
        }),
    )
    .await;
    app.state.status_page.refresh().await.unwrap();
    let public = app.get(&format!("/incidents/{id}")).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(
        public.select(".updates .changes li"),
        ["API: Operational → Major outage"]
    );
    for t in public
        .html()
        .select(&scraper::Selector::parse("time").unwrap())
    {
        assert!(t.value().attr("datetime").unwrap().ends_with('Z'));
        assert!(t.value().attr("title").unwrap().ends_with(" UTC"));
    }

    let mut ada = app.browser();
    ada.sign_in("ada@example.com", crate::support::PASSWORD)
        .await;
    let page = ada.incident_page(&incident).await;
    assert_eq!(
        page.select("#updates .changes li"),
        ["API: Operational → Major outage"]
    );
    // Detection was never recorded: no time to detect either.
    let timings = page.select("dl.durations div");
    assert!(timings.contains(&"To detect—".to_owned()), "{timings:?}");
    // The log count is the log's, and says so when filtered.
    let shown = page.select("#log > li").len();
    assert_eq!(page.select("#log-count"), [format!("({shown} entries)")]);
    let notes = ada
        .get(&format!(
            "/admin/incidents/{}?kind=note",
            incident["reference"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        notes.select("#log-count"),
        [format!("(showing 0 of {shown} entries)")]
    );
}

#[tokio::test]
async fn live_log_entries_arrive_in_the_readers_zone() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let incident = app
        .declare(&token, json!({"title": "Live page", "severity": "sev3"}))
        .await;
    let browser = app.signed_in("viewer@example.com", Role::Viewer).await;
    app.exec("UPDATE users SET time_zone = 'Asia/Tokyo' WHERE email = 'viewer@example.com'")
        .await;
    let cookie = format!("fireline_session={}", browser.cookies["fireline_session"]);
    let (base, shutdown) = crate::browser::serve(&app).await;
    let mut stream = reqwest::Client::new()
        .get(format!(
            "{base}/admin/incidents/{}/live",
            incident["reference"].as_str().unwrap()
        ))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.created(
        &format!(
            "/api/v1/incidents/{}/events",
            incident["id"].as_str().unwrap()
        ),
        &token,
        json!({"body": "Seen from Tokyo", "occurred_at": "2026-03-04T10:12:00Z"}),
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut text = String::new();
    while !text.contains("Seen from Tokyo") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match tokio::time::timeout(left, stream.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("no entry ({other:?}): {text}"),
        }
    }
    assert!(
        text.contains(r#"<time datetime="2026-03-04T10:12:00Z" title="2026-03-04 10:12 UTC" data-local>2026-03-04 19:12 JST</time>"#),
        "{text}"
    );
    shutdown.cancel();
}
