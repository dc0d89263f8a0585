//! Incident command through the API and the browser: declare, command, lifecycle,
//! workstreams, the log, public updates, conflicts and roles.

use axum::http::{Method, StatusCode};
use fireline::accounts::Role;
use serde_json::{json, Value};

use crate::support::TestApp;

async fn events(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let page = app
        .api_get(&format!("/api/v1/incidents/{id}/events?limit=200"), token)
        .await;
    page["items"].as_array().unwrap().clone()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

#[tokio::test]
async fn declaring_creates_workstreams_sets_components_and_logs_it() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let api = app.component(&admin, "API").await;
    let (ada, token) = app.token("ada@example.com", Role::Responder).await;
    let grace = app.user("grace@example.com", Role::Responder).await;

    let incident = app
        .declare(
            &token,
            json!({
                "title": "Checkout failing",
                "severity": "sev2",
                "summary": "Payments time out",
                "leader_id": grace.id,
                "components": [{"id": api, "status": "partial_outage"}],
                "initial_update": "We are investigating failed checkouts."
            }),
        )
        .await;
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["impact"], "major", "sev2 → major");
    assert_eq!(incident["leader"]["name"], "grace");
    assert!(incident["reference"].as_str().unwrap().starts_with("INC-"));
    assert!(
        incident["acknowledged_at"].is_null(),
        "the leader has not acted yet"
    );
    let kinds: Vec<&str> = incident["workstreams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["recovery", "root_cause"]);
    assert_eq!(incident["workstreams"][0]["lead_id"], json!(grace.id));
    assert_eq!(
        incident["components"],
        json!([{"id": api, "name": "API", "status": "partial_outage"}])
    );

    let id = incident["id"].as_str().unwrap();
    let log = events(&app, &token, id).await;
    assert_eq!(of_kind(&log, "declared").len(), 1);
    assert_eq!(of_kind(&log, "workstream_added").len(), 2);
    let change = of_kind(&log, "component_changed")[0];
    assert_eq!(
        (
            change["data"]["old"].as_str(),
            change["data"]["new"].as_str()
        ),
        (Some("operational"), Some("partial_outage"))
    );
    assert_eq!(of_kind(&log, "update_posted").len(), 1);
    assert!(log.iter().all(|e| e["author"]["id"] == json!(ada.id)));

    // The component history knows which incident changed it.
    let cause: Option<uuid::Uuid> = app
        .scalar(
            "SELECT incident_id FROM component_status_changes WHERE new_status = 'partial_outage'",
        )
        .await;
    assert_eq!(cause.map(|u| u.to_string()).as_deref(), Some(id));

    let updates = app
        .api_get(&format!("/api/v1/incidents/{id}/updates"), &token)
        .await;
    assert_eq!(
        updates["items"][0]["body"],
        "We are investigating failed checkouts."
    );
    assert_eq!(updates["items"][0]["status"], "investigating");
}

#[tokio::test]
async fn command_is_taken_and_handed_over_on_the_record() {
    let app = TestApp::new().await;
    let (ada, ada_token) = app.token("ada@example.com", Role::Responder).await;
    let (grace, grace_token) = app.token("grace@example.com", Role::Responder).await;
    let viewer = app.user("viewer@example.com", Role::Viewer).await;
    let incident = app
        .declare(&ada_token, json!({"title": "DB slow", "severity": "sev3"}))
        .await;
    let id = incident["id"].as_str().unwrap();
    assert!(
        incident["acknowledged_at"].is_string(),
        "declaring as leader acknowledges"
    );

    // Grace takes command.
    let v = incident["version"].as_i64().unwrap();
    let taken = app
        .patched(
            &format!("/api/v1/incidents/{id}"),
            &grace_token,
            json!({"version": v, "leader_id": grace.id}),
        )
        .await;
    assert_eq!(taken["leader_id"], json!(grace.id));
    // And hands it back to Ada.
    let back = app
        .patched(
            &format!("/api/v1/incidents/{id}"),
            &grace_token,
            json!({"version": taken["version"], "leader_id": ada.id}),
        )
        .await;
    assert_eq!(back["leader"]["name"], "ada");

    let log = events(&app, &ada_token, id).await;
    let commands: Vec<&Value> = of_kind(&log, "command_changed");
    assert_eq!(commands.len(), 2);
    let handed = commands[0];
    assert_eq!(handed["data"]["how"], "handed");
    assert_eq!(handed["data"]["old"]["name"], "grace");
    assert_eq!(handed["data"]["new"]["name"], "ada");
    assert_eq!(commands[1]["data"]["how"], "took");
    assert_eq!(commands[1]["body"], "grace took command from ada.");

    // A viewer cannot lead.
    let r = app
        .patch(
            &format!("/api/v1/incidents/{id}"),
            &ada_token,
            &json!({"version": back["version"], "leader_id": viewer.id}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["errors"]["leader_id"]
        .as_str()
        .unwrap()
        .contains("viewer"));

    // Workstream leads hand over the same way.
    let recovery = back["workstreams"][0]["id"].as_str().unwrap();
    let ws = app
        .patched(
            &format!("/api/v1/workstreams/{recovery}"),
            &grace_token,
            json!({"lead_id": grace.id}),
        )
        .await;
    assert_eq!(ws["lead"]["name"], "grace");
    let log = events(&app, &ada_token, id).await;
    let ws_command = of_kind(&log, "command_changed")
        .into_iter()
        .find(|e| e["data"]["role"] == "workstream")
        .unwrap();
    assert_eq!(ws_command["workstream_id"], json!(recovery));
    assert_eq!(ws_command["data"]["old"]["name"], "ada");
}

#[tokio::test]
async fn every_change_is_logged_with_its_old_and_new_value() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let i = app
        .declare(&token, json!({"title": "Errors", "severity": "sev3"}))
        .await;
    let id = i["id"].as_str().unwrap().to_owned();
    let patch = |body: Value| {
        let app = &app;
        let token = token.clone();
        let id = id.clone();
        async move {
            app.patched(&format!("/api/v1/incidents/{id}"), &token, body)
                .await
        }
    };
    let i =
        patch(json!({"version": i["version"], "severity": "sev1", "title": "Errors everywhere"}))
            .await;
    assert_eq!(i["impact"], "critical", "impact follows severity");
    let i = patch(json!({"version": i["version"], "impact": "minor"})).await;
    assert!(i["impact_overridden"].as_bool().unwrap());
    let i = patch(json!({"version": i["version"], "severity": "sev2"})).await;
    assert_eq!(i["impact"], "minor", "an override sticks");
    let i =
        patch(json!({"version": i["version"], "visibility": "internal", "status": "identified"}))
            .await;
    let i = patch(json!({"version": i["version"], "status": "resolved"})).await;
    assert!(i["resolved_at"].is_string());
    let i = patch(json!({"version": i["version"], "status": "monitoring"})).await;
    assert!(i["resolved_at"].is_null(), "reopened");
    let i = patch(json!({"version": i["version"], "detected_at": "2026-01-01T10:00:00Z", "reason": "alert fired earlier than we noticed"})).await;
    assert_eq!(i["detected_at"], "2026-01-01T10:00:00Z");
    let r = app
        .patch(
            &format!("/api/v1/incidents/{id}"),
            &token,
            &json!({"version": i["version"], "mitigated_at": "2026-01-01T10:30:00Z"}).to_string(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required"
    );
    assert!(r.json()["errors"]["reason"].is_string());

    let log = events(&app, &token, &id).await;
    let one = |kind: &str| {
        of_kind(&log, kind)
            .into_iter()
            .map(|e| (e["data"]["old"].clone(), e["data"]["new"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        one("severity_changed"),
        [
            (json!("sev1"), json!("sev2")),
            (json!("sev3"), json!("sev1"))
        ],
        "newest first"
    );
    assert_eq!(
        one("title_changed"),
        [(json!("Errors"), json!("Errors everywhere"))]
    );
    assert_eq!(
        one("visibility_changed"),
        [(json!("public"), json!("internal"))]
    );
    let statuses = of_kind(&log, "status_changed");
    assert_eq!(statuses[0]["data"]["reopened"], true);
    assert_eq!(
        (
            statuses[0]["data"]["old"].clone(),
            statuses[0]["data"]["new"].clone()
        ),
        (json!("resolved"), json!("monitoring"))
    );
    assert_eq!(statuses.len(), 3);
    let impacts = one("impact_changed");
    assert_eq!(
        impacts[impacts.len() - 1],
        (json!("minor"), json!("critical"))
    );
    let ts = of_kind(&log, "timestamp_changed")
        .into_iter()
        .find(|e| e["data"]["milestone"] == "detected")
        .unwrap();
    assert_eq!(ts["data"]["reason"], "alert fired earlier than we noticed");
    assert!(ts["data"]["old"].is_null());
}

#[tokio::test]
async fn workstreams_and_tasks_are_logged_and_recovery_done_means_mitigated() {
    let app = TestApp::new().await;
    let (ada, token) = app.token("ada@example.com", Role::Responder).await;
    let i = app
        .declare(&token, json!({"title": "Queue stuck", "severity": "sev2"}))
        .await;
    let id = i["id"].as_str().unwrap();
    let recovery = i["workstreams"][0]["id"].as_str().unwrap();
    let root_cause = i["workstreams"][1]["id"].as_str().unwrap();

    let task = app
        .created(
            &format!("/api/v1/workstreams/{recovery}/tasks"),
            &token,
            json!({"title": "Fail over", "assignee_id": ada.id}),
        )
        .await;
    let task = app
        .patched(
            &format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()),
            &token,
            json!({"done": true}),
        )
        .await;
    assert!(task["done"].as_bool().unwrap());
    let custom = app
        .created(
            &format!("/api/v1/incidents/{id}/workstreams"),
            &token,
            json!({"title": "Comms"}),
        )
        .await;
    assert_eq!(custom["kind"], "custom");
    app.patched(
        &format!("/api/v1/workstreams/{recovery}"),
        &token,
        json!({"status": "done"}),
    )
    .await;
    let now = app
        .api_get(&format!("/api/v1/incidents/{id}"), &token)
        .await;
    assert!(
        now["mitigated_at"].is_string(),
        "recovery done sets mitigated"
    );

    // Resolve while the root cause is still open: shown as such.
    app.patched(
        &format!("/api/v1/incidents/{id}"),
        &token,
        json!({"version": now["version"], "status": "resolved"}),
    )
    .await;
    let now = app
        .api_get(&format!("/api/v1/incidents/{id}"), &token)
        .await;
    assert!(now["root_cause_open"].as_bool().unwrap());
    let mut browser = app.signed_in("viewer@example.com", Role::Viewer).await;
    let dashboard = browser.get("/admin").await;
    assert!(dashboard.select("#rc-h").len() == 1);
    assert!(dashboard
        .select("td .ist")
        .contains(&"Resolved · root cause open".to_owned()));
    app.patched(
        &format!("/api/v1/workstreams/{root_cause}"),
        &token,
        json!({"status": "done"}),
    )
    .await;
    let dashboard = browser.get("/admin").await;
    assert!(dashboard.select("#rc-h").is_empty());

    let log = events(&app, &token, id).await;
    assert_eq!(of_kind(&log, "task_added")[0]["data"]["title"], "Fail over");
    assert_eq!(of_kind(&log, "task_changed")[0]["data"]["new"], true);
    let mitigated = of_kind(&log, "timestamp_changed")
        .into_iter()
        .find(|e| e["data"]["milestone"] == "mitigated")
        .unwrap();
    assert_eq!(mitigated["data"]["automatic"], true);
    assert!(of_kind(&log, "workstream_changed")
        .iter()
        .any(|e| e["data"]["field"] == "status" && e["data"]["new"] == "done"));
}

#[tokio::test]
async fn backdated_notes_sit_where_they_happened_and_corrections_strike_the_original() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let i = app
        .declare(&token, json!({"title": "Latency", "severity": "sev3"}))
        .await;
    let id = i["id"].as_str().unwrap();
    let root_cause = i["workstreams"][1]["id"].as_str().unwrap();
    let two_hours_ago =
        crate::support::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::hours(2));
    let old = app
        .created(&format!("/api/v1/incidents/{id}/events"), &token, json!({"body": "Deploy **42** went out", "occurred_at": two_hours_ago, "workstream_id": root_cause, "pinned": true}))
        .await;
    assert_ne!(old["occurred_at"], old["recorded_at"]);
    let wrong = app
        .created(
            &format!("/api/v1/incidents/{id}/events"),
            &token,
            json!({"body": "Cache hit rate is 10%"}),
        )
        .await;
    let fix = app
        .created(
            &format!("/api/v1/incidents/{id}/events"),
            &token,
            json!({"body": "Cache hit rate is 90%, not 10%", "corrects": wrong["id"]}),
        )
        .await;
    assert_eq!(fix["kind"], "correction");

    let log = events(&app, &token, id).await;
    assert_eq!(
        log.last().unwrap()["id"],
        old["id"],
        "the backdated note is the oldest entry"
    );
    let original = log.iter().find(|e| e["id"] == wrong["id"]).unwrap();
    assert_eq!(original["corrected_by"], fix["id"]);
    assert_eq!(original["body"], "Cache hit rate is 10%", "never edited");
    let pinned = app
        .api_get(
            &format!("/api/v1/incidents/{id}/events?pinned=true"),
            &token,
        )
        .await;
    assert_eq!(pinned["items"].as_array().unwrap().len(), 1);
    let in_rc = app
        .api_get(
            &format!("/api/v1/incidents/{id}/events?workstream_id={root_cause}&kind=note"),
            &token,
        )
        .await;
    assert_eq!(in_rc["items"].as_array().unwrap().len(), 1);

    let mut browser = app.signed_in("viewer@example.com", Role::Viewer).await;
    let page = browser.incident_page(&i).await;
    assert_eq!(page.status, StatusCode::OK);
    let struck = page.select(&format!("#event-{} del", wrong["id"].as_str().unwrap()));
    assert_eq!(struck, ["Cache hit rate is 10%"]);
    let backdated = page
        .select(&format!(
            "#event-{} .event-meta",
            old["id"].as_str().unwrap()
        ))
        .join(" ");
    assert!(
        backdated.contains("recorded"),
        "both times shown: {backdated}"
    );
    assert!(
        page.html()
            .select(
                &scraper::Selector::parse(&format!(
                    "#event-{} strong",
                    old["id"].as_str().unwrap()
                ))
                .unwrap()
            )
            .next()
            .is_some(),
        "Markdown rendered"
    );

    // The log is append-only in the database too.
    let deleted = sqlx::query("DELETE FROM incident_events")
        .execute(app.pool())
        .await;
    assert!(deleted.is_err());
    let edited = sqlx::query("UPDATE incident_events SET body = 'rewritten'")
        .execute(app.pool())
        .await;
    assert!(edited.is_err());
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_in_the_api_and_the_browser() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let i = app
        .declare(&token, json!({"title": "Disk full", "severity": "sev3"}))
        .await;
    let id = i["id"].as_str().unwrap();
    let reference = i["reference"].as_str().unwrap();

    // The browser loads the edit form...
    let mut browser = app.signed_in("grace@example.com", Role::Responder).await;
    let page = browser.get(&format!("/admin/incidents/{reference}")).await;
    let version = page
        .attr("#edit-form input[name=version]", "value")
        .unwrap();
    let csrf = page
        .attr("#edit-form input[name=csrf_token]", "value")
        .unwrap();

    // ...someone changes the incident through the API...
    app.patched(
        &format!("/api/v1/incidents/{id}"),
        &token,
        json!({"version": i["version"], "title": "Disk full on db-3"}),
    )
    .await;
    let stale = app
        .patch(
            &format!("/api/v1/incidents/{id}"),
            &token,
            &json!({"version": i["version"], "title": "Mine"}).to_string(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["current"]["title"], "Disk full on db-3");
    assert!(stale.json()["current"]["version"].as_i64().unwrap() > i["version"].as_i64().unwrap());

    // ...and the browser's save comes back with the current values and a message.
    let r = browser
        .post_raw(
            &format!("/admin/incidents/{reference}/edit"),
            &[
                ("csrf_token", &csrf),
                ("version", &version),
                ("title", "Grace's title"),
                ("severity", "sev1"),
                ("status", "identified"),
                ("impact", ""),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r
        .select("[role=alert]")
        .join(" ")
        .contains("someone else changed"));
    assert_eq!(
        r.attr("#e-title", "value").as_deref(),
        Some("Disk full on db-3")
    );
    let title: String = app.scalar("SELECT title FROM incidents").await;
    assert_eq!(title, "Disk full on db-3", "nothing was overwritten");
}

#[tokio::test]
async fn bad_values_are_422_and_viewers_cannot_write() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let r = app
        .post(
            "/api/v1/incidents",
            &token,
            r#"{"title": "x", "severity": "sev9"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["errors"]["severity"]
        .as_str()
        .unwrap()
        .contains("unknown variant `sev9`"));
    let r = app
        .post(
            "/api/v1/incidents",
            &token,
            r#"{"title": "  ", "severity": "sev1"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["errors"]["title"].is_string());
    let i = app
        .declare(&token, json!({"title": "x", "severity": "sev4"}))
        .await;
    let r = app
        .patch(
            &format!("/api/v1/incidents/{}", i["id"].as_str().unwrap()),
            &token,
            &json!({"version": i["version"], "status": "exploded"}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["errors"]["status"]
        .as_str()
        .unwrap()
        .contains("unknown variant"));
    let r = app
        .api(
            Method::GET,
            "/api/v1/incidents?status=exploded",
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, viewer) = app.token("viewer@example.com", Role::Viewer).await;
    let r = app
        .post(
            "/api/v1/incidents",
            &viewer,
            r#"{"title": "x", "severity": "sev1"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &format!("/api/v1/incidents/{}/events", i["id"].as_str().unwrap()),
            &viewer,
            r#"{"body": "hi"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.api(
            Method::GET,
            &format!("/api/v1/incidents/{}", i["reference"].as_str().unwrap()),
            &viewer,
            None
        )
        .await
        .status,
        StatusCode::OK
    );

    let mut browser = app.signed_in("v2@example.com", Role::Viewer).await;
    let page = browser.incident_page(&i).await;
    assert!(page.select("#note-form").is_empty() && page.select("#update-form").is_empty());
    assert_eq!(
        browser.get("/admin/incidents/new").await.status,
        StatusCode::FORBIDDEN
    );
    let r = browser
        .form("/admin/incidents", &[("title", "x"), ("severity", "sev1")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        browser.get("/admin/incidents/INC-999999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn user_markdown_never_reaches_the_page_as_script() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let i = app.declare(&token, json!({"title": "<script>alert(1)</script>", "severity": "sev3", "summary": "<img src=x onerror=alert(1)>"})).await;
    let id = i["id"].as_str().unwrap();
    for body in [
        "<script>alert(2)</script>",
        "[x](javascript:alert(3))",
        "<a href=\"x\" onclick=\"alert(4)\">y</a>",
    ] {
        app.created(
            &format!("/api/v1/incidents/{id}/events"),
            &token,
            json!({"body": body}),
        )
        .await;
    }
    app.post_update(
        &token,
        id,
        json!({"status": "identified", "body": "<svg onload=alert(5)>"}),
    )
    .await;
    let mut browser = app.signed_in("viewer@example.com", Role::Viewer).await;
    let page = browser.incident_page(&i).await;
    let doc = page.html();
    let scripts: Vec<_> = doc
        .select(&scraper::Selector::parse("script").unwrap())
        .filter(|s| s.value().attr("src").is_none())
        .collect();
    assert!(scripts.is_empty(), "inline script on the page");
    for el in doc.select(&scraper::Selector::parse("*").unwrap()) {
        for (name, value) in el.value().attrs() {
            assert!(
                !name.starts_with("on"),
                "event handler {name} on <{}>",
                el.value().name()
            );
            assert!(
                !value.to_lowercase().contains("javascript:"),
                "javascript URL in {name}"
            );
        }
    }
    assert!(
        page.select("h1")
            .join("")
            .contains("<script>alert(1)</script>"),
        "the title is shown as text"
    );
}

#[tokio::test]
async fn open_public_incidents_without_updates_are_nudged() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let i = app
        .declare(&token, json!({"title": "Outage", "severity": "sev1"}))
        .await;
    let internal = app
        .declare(
            &token,
            json!({"title": "Quiet", "severity": "sev1", "visibility": "internal"}),
        )
        .await;
    app.exec("UPDATE incidents SET declared_at = now() - interval '31 minutes'")
        .await;
    let mut browser = app.signed_in("viewer@example.com", Role::Viewer).await;
    let page = browser.incident_page(&i).await;
    assert_eq!(
        page.select(".nudge"),
        ["No public update for 31 minutes. Tell customers what is happening."]
    );
    let internal_page = browser.incident_page(&internal).await;
    assert!(
        internal_page.select(".nudge").is_empty(),
        "internal incidents have no public to tell"
    );
    let dashboard = browser.get("/admin").await;
    assert_eq!(
        dashboard.select(".nudge-inline"),
        ["no public update for 31 minutes"]
    );

    app.created(
        &format!("/api/v1/incidents/{}/updates", i["id"].as_str().unwrap()),
        &token,
        json!({"status": "identified", "body": "Found it."}),
    )
    .await;
    let page = browser.incident_page(&i).await;
    assert!(page.select(".nudge").is_empty());
}

#[tokio::test]
async fn the_incident_list_filters_and_pages() {
    let app = TestApp::new().await;
    let (ada, token) = app.token("ada@example.com", Role::Responder).await;
    // 60 incidents, declared a minute apart; every third is sev1 and resolved.
    for n in 0..60 {
        sqlx::query(
            "INSERT INTO incidents (id, title, severity, impact, leader_id, created_by, started_at, declared_at, status, resolved_at) \
             VALUES ($1, $2, $3::severity, 'minor', $4, $4, now(), now() - make_interval(mins => $5), \
                     CASE WHEN $5 % 3 = 0 THEN 'resolved'::incident_status ELSE 'investigating' END, \
                     CASE WHEN $5 % 3 = 0 THEN now() END)",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(format!("Incident {n:02} {}", if n % 2 == 0 { "database" } else { "network" }))
        .bind(if n % 3 == 0 { "sev1" } else { "sev3" })
        .bind(ada.id)
        .bind(n)
        .execute(app.pool())
        .await
        .unwrap();
    }
    let mut browser = app.signed_in("viewer@example.com", Role::Viewer).await;
    let first = browser.get("/admin/incidents").await;
    assert_eq!(first.select("tbody tr").len(), 50);
    let next = first.attr("a[rel=next]", "href").unwrap();
    let second = browser.get(&next).await;
    assert_eq!(second.select("tbody tr").len(), 10);
    assert!(second.attr("a[rel=next]", "href").is_none());
    let titles_1 = first.select("tbody td:first-child a");
    let titles_2 = second.select("tbody td:first-child a");
    assert!(
        titles_1.iter().all(|t| !titles_2.contains(t)),
        "no overlap between pages"
    );

    let filtered = browser
        .get("/admin/incidents?status=resolved&severity=sev1&q=DATABASE")
        .await;
    let rows = filtered.select("tbody tr");
    assert_eq!(rows.len(), 10, "0, 6, 12, ... 54");
    assert!(rows
        .iter()
        .all(|r| r.contains("database") && r.contains("SEV1")));
    let bad = browser.get("/admin/incidents?severity=sev7").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let api = app
        .api_get("/api/v1/incidents?status=open&limit=15", &token)
        .await;
    assert_eq!(api["items"].as_array().unwrap().len(), 15);
    let more = app
        .api_get(
            &format!(
                "/api/v1/incidents?status=open&limit=50&cursor={}",
                api["next_cursor"].as_str().unwrap()
            ),
            &token,
        )
        .await;
    assert_eq!(more["items"].as_array().unwrap().len(), 25);
    assert!(more["next_cursor"].is_null());
}

#[tokio::test]
async fn ten_thousand_events_load_a_page_at_a_time() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let i = app
        .declare(&token, json!({"title": "Long one", "severity": "sev2"}))
        .await;
    sqlx::query(
        "INSERT INTO incident_events (id, incident_id, kind, body, occurred_at) \
         SELECT gen_random_uuid(), $1, 'note', 'note ' || n, now() - make_interval(secs => n) FROM generate_series(1, 10000) n",
    )
    .bind(uuid::Uuid::parse_str(i["id"].as_str().unwrap()).unwrap())
    .execute(app.pool())
    .await
    .unwrap();
    let mut browser = app.signed_in("viewer@example.com", Role::Viewer).await;
    let page = browser.incident_page(&i).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.select("#log > li").len(), 100);
    let total: i64 = app.scalar("SELECT count(*) FROM incident_events").await;
    assert!(total > 10_000);
    assert!(page
        .select("#log-h")
        .join("")
        .contains(&format!("(showing 100 of {total} entries)")));
    let older = page.attr("#older", "href").unwrap();
    let page2 = browser.get(&older).await;
    assert_eq!(page2.select("#log > li").len(), 100);
    let first_ids: Vec<String> = page
        .html()
        .select(&scraper::Selector::parse("#log > li").unwrap())
        .map(|e| e.value().attr("id").unwrap().to_owned())
        .collect();
    let second_ids: Vec<String> = page2
        .html()
        .select(&scraper::Selector::parse("#log > li").unwrap())
        .map(|e| e.value().attr("id").unwrap().to_owned())
        .collect();
    assert!(first_ids.iter().all(|id| !second_ids.contains(id)));
}

#[tokio::test]
async fn the_browser_flow_declare_take_command_note_and_update() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let api = app.component(&admin, "API").await;
    app.user("grace@example.com", Role::Responder).await;
    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;

    let form = ada.get("/admin/incidents/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.select("fieldset label")
            .iter()
            .any(|l| l.contains("Critical customer-facing outage")),
        "severity guidance is shown"
    );
    let grace_id: String = app
        .scalar::<uuid::Uuid>("SELECT id FROM users WHERE email = 'grace@example.com'")
        .await
        .to_string();
    let declared = ada
        .submit(
            "/admin/incidents/new",
            "/admin/incidents",
            &[
                ("title", "Login broken"),
                ("severity", "sev2"),
                ("summary", ""),
                ("leader_id", &grace_id),
                ("visibility", "public"),
                ("impact", ""),
                ("started_at", ""),
                (&format!("component:{api}"), "major_outage"),
                ("initial_update", ""),
            ],
        )
        .await;
    assert_eq!(declared.status, StatusCode::SEE_OTHER, "{}", declared.text);
    let path = declared.location().to_owned();
    assert!(path.starts_with("/admin/incidents/INC-"), "{path}");
    let page = ada.get(&path).await;
    assert!(page.select("h1").join("").contains("Login broken"));
    assert_eq!(page.select("#leader"), ["grace"]);

    // Take command.
    let r = ada
        .submit(&path, &format!("{path}/command"), &[("leader_id", "take")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = ada.get(&path).await;
    assert_eq!(page.select("#leader"), ["ada"]);

    // A note in the root-cause workstream.
    let rc: String = app
        .scalar::<uuid::Uuid>("SELECT id FROM workstreams WHERE kind = 'root_cause'")
        .await
        .to_string();
    let r = ada
        .submit(
            &path,
            &format!("{path}/notes"),
            &[
                ("body", "Token cache expired at 10:02"),
                ("workstream_id", &rc),
                ("occurred_at", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let filtered = ada.get(&format!("{path}?workstream={rc}&kind=note")).await;
    assert_eq!(
        filtered.select("#log .event-body"),
        ["Token cache expired at 10:02"]
    );

    // Preview a public update, then post it.
    let preview = ada
        .submit(
            &path,
            &format!("{path}/updates"),
            &[
                ("status", "identified"),
                ("body", "We found **the cause**."),
                ("notify", "on"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(preview.select("#u-preview strong"), ["the cause"]);
    assert_eq!(preview.select("#u-body"), ["We found **the cause**."]);
    let count: i64 = app.scalar("SELECT count(*) FROM incident_updates").await;
    assert_eq!(count, 0, "a preview posts nothing");
    let posted = ada
        .submit(
            &path,
            &format!("{path}/updates"),
            &[
                ("status", "identified"),
                ("body", "We found **the cause**."),
                ("notify", "on"),
                (&format!("component:{api}"), "degraded_performance"),
                ("action", "post"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    let page = ada.get(&path).await;
    assert_eq!(page.select("#updates .md strong"), ["the cause"]);
    assert!(page
        .select(".facts .ist")
        .contains(&"Identified".to_owned()));
    let status: String = app.scalar("SELECT status::text FROM components").await;
    assert_eq!(status, "degraded_performance");
    let affected: Value = app
        .scalar("SELECT affected_components FROM incident_updates")
        .await;
    // The first public update publishes the incident: customers saw the API operational
    // until now (the major outage set when declaring was held back).
    assert_eq!(affected[0]["old_status"], "operational");
    assert_eq!(affected[0]["new_status"], "degraded_performance");
    assert_eq!(affected[0]["code"], json!(api));
}
