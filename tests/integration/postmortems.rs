//! Postmortems drafted from a realistic incident, templates, regenerating the timeline,
//! conflicts, publishing, action items and their exports, and roles.

use axum::http::{Method, StatusCode};
use fireline::accounts::Role;
use serde_json::{json, Value};

use crate::support::TestApp;

struct Incident {
    token: String,
    id: String,
    bob: String,
}

impl Incident {
    /// Where its postmortem is started.
    fn postmortem(&self) -> String {
        format!("/api/v1/incidents/{}/postmortem", self.id)
    }

    /// Start its postmortem with `body`; panics unless it is created.
    async fn start_postmortem(&self, app: &TestApp, body: Value) -> Value {
        post(app, &self.token, &self.postmortem(), body).await
    }
}

/// The API path of the postmortem `pm`.
fn postmortem_path(pm: &Value) -> String {
    format!("/api/v1/postmortems/{}", pm["id"].as_str().unwrap())
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let expected = if path.ends_with("/updates")
        || path.ends_with("/events")
        || path.ends_with("/incidents")
        || path.ends_with("/components")
        || path.ends_with("/postmortem")
        || path.ends_with("/action-items")
        || path.ends_with("/postmortem-templates")
    {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    app.api_ok(Method::POST, path, token, body, expected).await
}

/// Declared, handed over, raised to SEV1, notes in both workstreams, a pinned note, two
/// components hit, updates, resolved.
async fn realistic(app: &TestApp, visibility: &str) -> Incident {
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let (bob, _) = app.token("bob@example.com", Role::Responder).await;
    let api = post(app, &token, "/api/v1/components", json!({"name": "API"})).await;
    let db = post(
        app,
        &token,
        "/api/v1/components",
        json!({"name": "Database"}),
    )
    .await;
    let incident = post(
        app,
        &token,
        "/api/v1/incidents",
        json!({"title": "Checkout failing", "severity": "sev2", "visibility": visibility,
               "summary": "Payments timed out for a third of customers.",
               "components": [{"id": api["id"], "status": "partial_outage"}],
               "started_at": crate::support::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::minutes(30)),
               "initial_update": "We are investigating checkout errors."}),
    )
    .await;
    let id = incident["id"].as_str().unwrap().to_owned();
    let workstreams = &incident["workstreams"];
    let ws = |kind: &str| {
        workstreams
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["kind"] == kind)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let events = format!("/api/v1/incidents/{id}/events");
    post(app, &token, &events, json!({"body": "Connection pool to the database is exhausted.", "workstream_id": ws("root_cause")})).await;
    post(
        app,
        &token,
        &events,
        json!({"body": "Failed over to the replica.", "workstream_id": ws("recovery")}),
    )
    .await;
    post(
        app,
        &token,
        &events,
        json!({"body": "Customers report double charges.", "pinned": true}),
    )
    .await;
    let current = app
        .api_get(&format!("/api/v1/incidents/{id}"), &token)
        .await;
    app.patched(
        &format!("/api/v1/incidents/{id}"),
        &token,
        json!({"version": current["version"], "severity": "sev1", "leader_id": bob.id}),
    )
    .await;
    post(app, &token, &format!("/api/v1/incidents/{id}/updates"), json!({"status": "identified", "body": "A deploy leaked connections.", "components": [{"id": db["id"], "status": "degraded_performance"}]})).await;
    post(app, &token, &events, json!({"body": "The leak came from the retry middleware added on Monday.", "workstream_id": ws("root_cause")})).await;
    post(app, &token, &format!("/api/v1/incidents/{id}/updates"), json!({"status": "resolved", "body": "Fixed.", "components": [{"id": api["id"], "status": "operational"}, {"id": db["id"], "status": "operational"}]})).await;
    Incident {
        token,
        id,
        bob: bob.id.to_string(),
    }
}

fn section<'a>(body: &'a str, heading: &str) -> &'a str {
    let start = body
        .find(&format!("## {heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading} in:\n{body}"));
    let rest = &body[start + heading.len() + 4..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{haystack}"))
}

#[tokio::test]
async fn the_draft_is_filled_from_the_incident() {
    let app = TestApp::new().await;
    let i = realistic(&app, "public").await;
    let pm = i.start_postmortem(&app, json!({})).await;
    assert_eq!(pm["status"], "draft");
    let body = pm["body"].as_str().unwrap();
    assert!(
        body.starts_with("# Postmortem: Checkout failing (INC-1)"),
        "{body}"
    );

    let summary = section(body, "Summary");
    assert!(
        summary.contains("SEV1") && summary.contains("bob"),
        "{summary}"
    );
    assert!(summary.contains("Payments timed out"));

    let impact = section(body, "Impact");
    assert!(impact.contains("API (worst: Partial outage)"), "{impact}");
    assert!(
        impact.contains("Database (worst: Degraded performance)"),
        "{impact}"
    );
    assert!(impact.contains("**Time to detect:** 30 min"), "{impact}");
    assert!(impact.contains("**to resolve:** 30 min"), "{impact}");

    let timeline = section(body, "Timeline");
    let order = [
        "declared this SEV2 incident",
        "API changed from Operational to Partial outage",
        "Customers report double charges.",
        "Severity changed from SEV2 to SEV1",
        "handed command to bob",
        "Database changed from Operational to Degraded performance",
        "Status changed from Investigating to Identified",
        "Status changed from Identified to Resolved",
    ];
    let mut last = 0;
    for needle in order {
        let at = position(timeline, needle);
        assert!(at >= last, "{needle:?} is out of order in:\n{timeline}");
        last = at;
    }
    assert!(timeline.contains("📌"), "pinned entries are marked");
    assert!(
        !timeline.contains("Failed over to the replica"),
        "unpinned notes stay out of the timeline"
    );

    let root = section(body, "Root cause");
    let first = position(root, "Connection pool to the database is exhausted.");
    let second = position(root, "The leak came from the retry middleware");
    assert!(first < second);
    assert!(!root.contains("Failed over"));
    assert!(section(body, "Recovery").contains("Failed over to the replica."));
    let response = section(body, "Response");
    assert!(
        response.contains("Handovers") && response.contains("bob"),
        "{response}"
    );
    assert!(section(body, "Five whys").contains("5. Why?"));
    for heading in [
        "Detection",
        "Contributing factors",
        "What went well",
        "What went wrong",
        "Where we got lucky",
        "Lessons",
        "Action items",
    ] {
        section(body, heading);
    }

    // One postmortem per incident.
    let again = app.post(&i.postmortem(), &i.token, "{}").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn templates_with_placeholders_and_the_lightweight_one() {
    let app = TestApp::new().await;
    let i = realistic(&app, "public").await;
    let templates = app.api_get("/api/v1/postmortem-templates", &i.token).await;
    let names: Vec<&str> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Standard") && names.contains(&"Lightweight"),
        "{names:?}"
    );
    let mini = post(
        &app,
        &i.token,
        "/api/v1/postmortem-templates",
        json!({"name": "Mini", "body": "{{number}} at {{severity}}, led by {{leader}}\n\n{{timeline}}\n\n{{action_items}}\n{{unknown}}"}),
    )
    .await;
    let pm = i
        .start_postmortem(&app, json!({"template_id": mini["id"]}))
        .await;
    let body = pm["body"].as_str().unwrap();
    assert!(body.starts_with("INC-1 at SEV1, led by bob"), "{body}");
    assert!(body.contains("<!-- fireline:timeline -->"));
    assert!(body.contains("_No action items yet._"));
    assert!(
        body.contains("{{unknown}}"),
        "unknown placeholders stay as written"
    );

    // Templates: roles and validation.
    let (_, responder) = app.token("rita@example.com", Role::Responder).await;
    let r = app
        .post(
            "/api/v1/postmortem-templates",
            &responder,
            r#"{"name": "X", "body": "y"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/api/v1/postmortem-templates",
            &i.token,
            r#"{"name": "Mini", "body": "y"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let standard = templates
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Standard")
        .unwrap();
    let r = app
        .delete(
            &format!(
                "/api/v1/postmortem-templates/{}",
                standard["id"].as_str().unwrap()
            ),
            &i.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .delete(
            &format!(
                "/api/v1/postmortem-templates/{}",
                mini["id"].as_str().unwrap()
            ),
            &i.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn regenerating_the_timeline_keeps_what_authors_wrote_and_stale_saves_are_refused() {
    let app = TestApp::new().await;
    let i = realistic(&app, "public").await;
    let pm = i.start_postmortem(&app, json!({})).await;
    let pm_id = pm["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/postmortems/{pm_id}");
    let edited = pm["body"].as_str().unwrap().replace(
        "## What went well\n\n- ",
        "## What went well\n\n- The replica was warm.",
    );
    let saved = app
        .patched(
            &path,
            &i.token,
            json!({"version": pm["version"], "body": edited}),
        )
        .await;
    assert_eq!(saved["version"], 2);

    // Someone else saves from the old version: refused, with the current text.
    let stale = app
        .patch(
            &path,
            &i.token,
            &json!({"version": 1, "body": "mine"}).to_string(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let problem = stale.json();
    assert!(problem["detail"].as_str().unwrap().contains("version"));
    assert!(problem["current"]["body"]
        .as_str()
        .unwrap()
        .contains("The replica was warm."));

    // A new pinned entry, then regenerate: the timeline has it, the author's text stays.
    post(
        &app,
        &i.token,
        &format!("/api/v1/incidents/{}/events", i.id),
        json!({"body": "Found the alert that should have fired.", "pinned": true}),
    )
    .await;
    let regenerated = app
        .patched(
            &path,
            &i.token,
            json!({"version": 2, "regenerate_timeline": true}),
        )
        .await;
    let body = regenerated["body"].as_str().unwrap();
    assert!(section(body, "Timeline").contains("Found the alert that should have fired."));
    assert!(section(body, "What went well").contains("The replica was warm."));
    assert_eq!(body.matches("<!-- fireline:timeline -->").count(), 1);

    // Without its markers the timeline cannot be regenerated, and the answer says why.
    let unmarked = body.replace("<!-- fireline:timeline -->", "");
    let v = app
        .patched(&path, &i.token, json!({"version": 3, "body": unmarked}))
        .await;
    let r = app
        .patch(
            &path,
            &i.token,
            &json!({"version": v["version"], "regenerate_timeline": true}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("markers"), "{}", r.text);
    let r = app
        .patch(&path, &i.token, r#"{"version": 4, "status": "finished"}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Who changed what is recorded.
    let revisions: Vec<String> = sqlx::query_scalar(
        "SELECT what FROM postmortem_revisions WHERE postmortem_id = $1::uuid ORDER BY id",
    )
    .bind(&pm_id)
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert!(revisions[0].starts_with("started from the template"));
    assert_eq!(revisions[1], "edited the text");
    assert_eq!(revisions[2], "regenerated the timeline");
}

#[tokio::test]
async fn publishing_shows_it_publicly_only_for_public_incidents() {
    let app = TestApp::new().await;
    let i = realistic(&app, "public").await;
    let pm = i.start_postmortem(&app, json!({})).await;
    let path = postmortem_path(&pm);
    app.created(
        &format!("{path}/action-items"),
        &i.token,
        json!({"title": "Alert on pool saturation", "priority": "high", "owner_id": i.bob}),
    )
    .await;
    // A webhook subscriber hears of the publication.
    sqlx::query("INSERT INTO subscribers (id, url, destination, secret) VALUES (gen_random_uuid(), 'https://hooks.example.com/x', 'https://hooks.example.com:443', $1)")
        .bind(fireline::webhooks::signing::Secret::generate().expose())
        .execute(app.pool())
        .await
        .unwrap();
    // Publishing the internal document is internal: nothing public changes.
    let published = app
        .patched(
            &path,
            &i.token,
            json!({"version": 1, "status": "published"}),
        )
        .await;
    assert!(published["published_at"].is_string());
    assert_eq!(published["public"], false);
    assert!(published["public_summary_published_at"].is_null());
    app.state.status_page.refresh().await.unwrap();
    let before = app.get("/api/v2/incidents.json").await.json();
    assert_eq!(
        before["incidents"][0]["status"], "resolved",
        "the internal document never makes it public"
    );
    assert!(before["incidents"][0]["postmortem_body"].is_null());

    // Going public needs a summary written for customers, within its limit.
    let version = published["version"].as_i64().unwrap();
    let refused = app
        .patch(
            &path,
            &i.token,
            &json!({"version": version, "public": true}).to_string(),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.json()["errors"]["public_summary"]
        .as_str()
        .unwrap()
        .contains("Write the public summary first"));
    let huge = app
        .patch(
            &path,
            &i.token,
            &json!({"version": version, "public": true, "public_summary": "a".repeat(20_001)})
                .to_string(),
        )
        .await;
    assert_eq!(huge.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(huge.json()["errors"]["public_summary"].is_string());
    let unchanged = app.api_get(&path, &i.token).await;
    assert_eq!(
        unchanged["version"], version,
        "refused changes change nothing"
    );
    assert_eq!(unchanged["public_summary"], "");

    let summary = "## What happened\n\nCheckout failed for 40 minutes after a deploy.\n\n## What we are doing\n\nWe now test connection limits before every release.";
    let public = app
        .patched(
            &path,
            &i.token,
            json!({"version": version, "public": true, "public_summary": summary}),
        )
        .await;
    assert_eq!(public["public"], true);
    assert!(public["public_summary_published_at"].is_string());
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM webhook_messages WHERE event = 'postmortem.published'",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert_eq!(payloads.len(), 1, "one webhook message for the publication");
    let message: Value = serde_json::from_str(&payloads[0]).unwrap();
    assert_eq!(message["incident"]["status"], "postmortem");
    assert_eq!(message["incident"]["postmortem_body"], summary);
    let internal_text = [
        "bob",
        "retry middleware",
        "Why?",
        "Alert on pool saturation",
    ];
    for text in internal_text {
        assert!(
            !payloads[0].contains(text),
            "{text:?} went out in the webhook"
        );
    }
    app.state.status_page.refresh().await.unwrap();
    let after = app.get("/api/v2/incidents.json").await.json();
    assert_eq!(after["incidents"][0]["status"], "postmortem");
    assert_eq!(after["incidents"][0]["postmortem_body"], summary);
    let page = app.get(&format!("/incidents/{}", i.id)).await;
    assert_eq!(page.select("section.postmortem > h2"), ["Postmortem"]);
    let text = page.select("section.postmortem").join(" ");
    assert!(text.contains("Checkout failed for 40 minutes"), "{text}");
    for text in internal_text {
        assert!(!page.text.contains(text), "{text:?} is on the public page");
    }
    let feed = app.get("/history.atom").await;
    assert!(!feed.text.contains("retry middleware"));
    let parsed = feed_rs::parser::parse(feed.text.as_bytes()).unwrap();
    let content = parsed.entries[0]
        .content
        .as_ref()
        .unwrap()
        .body
        .as_ref()
        .unwrap()
        .clone();
    assert!(
        content.find("<strong>Postmortem</strong>").unwrap()
            < content.find("<strong>Resolved</strong>").unwrap(),
        "the postmortem comes first in the feed entry"
    );
    assert!(content.contains("Checkout failed for 40 minutes"));

    // Taking it off the page leaves the text for later.
    let off = app
        .patched(
            &path,
            &i.token,
            json!({"version": public["version"], "public": false}),
        )
        .await;
    assert_eq!(off["public_summary"], summary);
    app.state.status_page.refresh().await.unwrap();
    let page = app.get(&format!("/incidents/{}", i.id)).await;
    assert!(page.select("section.postmortem").is_empty());

    // The Markdown export holds the action item table.
    let md = app
        .api(Method::GET, &format!("{path}/markdown"), &i.token, None)
        .await;
    assert_eq!(md.status, StatusCode::OK);
    assert!(md.header("content-type").starts_with("text/markdown"));
    assert!(md
        .header("content-disposition")
        .contains("INC-1-postmortem.md"));
    assert!(
        md.text
            .contains("| High | Alert on pool saturation | Other | bob |"),
        "{}",
        md.text
    );
    assert!(!md.text.contains("<!-- fireline"));
}

#[tokio::test]
async fn internal_incidents_postmortems_are_never_public() {
    let app = TestApp::new().await;
    let i = realistic(&app, "internal").await;
    let pm = i.start_postmortem(&app, json!({})).await;
    let path = postmortem_path(&pm);
    let r = app
        .patch(
            &path,
            &i.token,
            r#"{"version": 1, "status": "published", "public": true}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("internal incident"));
    app.patched(
        &path,
        &i.token,
        json!({"version": 1, "status": "published"}),
    )
    .await;
    app.state.status_page.refresh().await.unwrap();
    assert!(app.get("/api/v2/incidents.json").await.json()["incidents"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        app.get(&format!("/incidents/{}", i.id)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn action_items_have_defaults_filters_overdue_and_history() {
    let app = TestApp::new().await;
    let i = realistic(&app, "public").await;
    let pm = i.start_postmortem(&app, json!({})).await;
    let items = format!(
        "/api/v1/postmortems/{}/action-items",
        pm["id"].as_str().unwrap()
    );
    let today = time::OffsetDateTime::now_utc().date();
    let high = post(&app, &i.token, &items, json!({"title": "Alert on pool saturation", "priority": "high", "kind": "detective", "owner_id": i.bob})).await;
    let medium = post(&app, &i.token, &items, json!({"title": "Load-test the retry middleware", "priority": "medium", "kind": "preventative"})).await;
    let low = post(
        &app,
        &i.token,
        &items,
        json!({"title": "Rethink retries", "priority": "low"}),
    )
    .await;
    assert_eq!(
        high["due_on"],
        (today + time::Duration::days(7)).to_string()
    );
    assert_eq!(
        medium["due_on"],
        (today + time::Duration::days(30)).to_string()
    );
    assert!(low["due_on"].is_null());
    assert_eq!(low["kind"], "other");
    for (body, field) in [
        (json!({"title": "", "priority": "high"}), "title"),
        (json!({"title": "x", "priority": "urgent"}), ""),
        (
            json!({"title": "x", "priority": "high", "tracker_url": "javascript:alert(1)"}),
            "tracker_url",
        ),
        (
            json!({"title": "x", "priority": "high", "due_on": "next week"}),
            "",
        ),
    ] {
        let r = app.post(&items, &i.token, &body.to_string()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        if !field.is_empty() {
            assert!(r.json()["errors"][field].is_string(), "{}", r.text);
        }
    }

    // Overdue: a past due date on an unfinished item.
    let past = (today - time::Duration::days(2)).to_string();
    let overdue = app
        .patched(
            &format!("/api/v1/action-items/{}", medium["id"].as_str().unwrap()),
            &i.token,
            json!({"version": 1, "due_on": past, "status": "in_progress"}),
        )
        .await;
    assert_eq!(overdue["overdue"], true);
    let list = app
        .api_get("/api/v1/action-items?overdue=true", &i.token)
        .await;
    let titles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Load-test the retry middleware"]);
    let list = app
        .api_get(
            &format!("/api/v1/action-items?owner_id={}", i.bob),
            &i.token,
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let list = app
        .api_get("/api/v1/action-items?priority=low", &i.token)
        .await;
    assert_eq!(list["items"][0]["title"], "Rethink retries");
    let list = app.api_get("/api/v1/action-items?limit=2", &i.token).await;
    assert_eq!(list["items"][0]["priority"], "high", "high priority first");
    let next = list["next_cursor"].as_str().unwrap();
    let rest = app
        .api_get(
            &format!("/api/v1/action-items?limit=2&cursor={next}"),
            &i.token,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());

    // Done is not overdue; a stale version is refused; every change is recorded.
    let done = app
        .patched(
            &format!("/api/v1/action-items/{}", medium["id"].as_str().unwrap()),
            &i.token,
            json!({"version": 2, "status": "done"}),
        )
        .await;
    assert_eq!(done["overdue"], false);
    assert!(done["completed_at"].is_string());
    let stale = app
        .patch(
            &format!("/api/v1/action-items/{}", medium["id"].as_str().unwrap()),
            &i.token,
            r#"{"version": 1, "title": "late"}"#,
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["current"]["status"], "done");
    let changes: Vec<Value> = sqlx::query_scalar(
        "SELECT changes FROM action_item_changes WHERE action_item_id = $1::uuid ORDER BY id",
    )
    .bind(medium["id"].as_str().unwrap())
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert_eq!(changes.len(), 3);
    assert!(changes[0].get("created").is_some());
    assert_eq!(changes[1]["status"]["new"], "in_progress");
    assert_eq!(changes[2]["status"]["old"], "in_progress");

    // Viewers read but change nothing.
    let (_, viewer) = app.token("vic@example.com", Role::Viewer).await;
    assert_eq!(
        app.api_get("/api/v1/action-items", &viewer).await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let r = app
        .post(&items, &viewer, r#"{"title": "x", "priority": "low"}"#)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post(&i.postmortem(), &viewer, "{}").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_admin_pages_run_a_postmortem_and_its_action_items() {
    let app = TestApp::new().await;
    let i = realistic(&app, "public").await;
    let mut ada = app.browser();
    ada.sign_in("ada@example.com", crate::support::PASSWORD)
        .await;
    let incident_page = "/admin/incidents/INC-1";

    // From a root-cause note in the log: an action item, filled from the note.
    let page = ada.get(incident_page).await;
    let link = page
        .html()
        .select(&scraper::Selector::parse("a[href*='action-items/new?from=']").unwrap())
        .find(|a| a.value().attr("href").is_some())
        .and_then(|a| a.value().attr("href").map(str::to_owned))
        .expect("notes offer to become action items");
    let form = ada.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    let title = form.attr("#a-title", "value").unwrap();
    assert!(!title.is_empty());
    let source = form.attr("input[name=source_event_id]", "value").unwrap();
    let made = ada
        .submit(
            &link,
            "/admin/incidents/INC-1/action-items",
            &[
                ("title", &title),
                ("priority", "medium"),
                ("kind", "corrective"),
                ("source_event_id", &source),
                ("owner_id", ""),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);

    // Start the postmortem from the incident page.
    let started = ada
        .submit(
            incident_page,
            "/admin/incidents/INC-1/postmortem",
            &[("template_id", "")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let edit = started.location().to_owned();
    assert!(edit.ends_with("/edit"), "{edit}");
    let view = edit.trim_end_matches("/edit").to_owned();
    let editor = ada.get(&edit).await;
    let body = editor.select("#pm-body").pop().unwrap();
    assert!(body.contains("Checkout failing"));

    // Two people edit at once: the second save is refused and keeps its text.
    let version = editor.attr("input[name=version]", "value").unwrap();
    let saved = ada
        .save(&edit, &version, "body", "# Mine\n\nFirst save.")
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let stale = ada
        .save(&edit, &version, "body", "# Theirs\n\nLate save.")
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.select("[role=alert]")[0].contains("while you were editing"));
    assert!(stale.text.contains("Late save."), "their text is kept");
    assert!(
        stale.text.contains("First save."),
        "the current text is shown"
    );

    // The view, with the action items; publish it publicly.
    let shown = ada.get(&view).await;
    assert!(shown.text.contains("First save."));
    assert!(shown.text.contains(&title));
    let version = shown
        .attr("form.review input[name=version]", "value")
        .unwrap();
    let published = ada
        .submit(
            &view,
            &format!("{view}/status"),
            &[
                ("status", "published"),
                ("public", "on"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.text
    );
    let list = ada.get("/admin/postmortems").await;
    assert!(list.select("table.list td").join(" ").contains("Published"));
    let md = ada.get(&format!("{view}/markdown")).await;
    assert!(md
        .header("content-disposition")
        .contains("INC-1-postmortem.md"));

    // The global list: filters, overdue highlighted, exports.
    app.exec("UPDATE action_items SET due_on = current_date - 3")
        .await;
    let items = ada.get("/admin/action-items?overdue=1").await;
    assert_eq!(items.select("tr.overdue").len(), 1);
    let dashboard = ada.get("/admin").await;
    assert_eq!(dashboard.select("#overdue-h"), ["Overdue action items"]);
    let csv = ada.get("/admin/action-items.csv?priority=medium").await;
    assert!(csv.header("content-type").starts_with("text/csv"));
    let mut lines = csv.text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("Summary,Description,Priority"));
    let row = lines.next().unwrap();
    assert!(
        row.contains("\"Medium\"") && row.contains("\"Corrective\"") && row.contains("\"yes\""),
        "{row}"
    );
    assert!(lines.next().is_none());
    let json = ada.get("/admin/action-items.json").await;
    let parsed: Value = serde_json::from_str(&json.text).unwrap();
    assert_eq!(parsed[0]["overdue"], true);
    assert_eq!(parsed[0]["source_event_id"], json!(source));

    // Editing an item records the change.
    let id = parsed[0]["id"].as_str().unwrap();
    let page = format!("/admin/action-items/{id}");
    let form = ada.get(&page).await;
    let version = form.attr("input[name=version]", "value").unwrap();
    let r = ada
        .form(
            &page,
            &[
                ("title", &title),
                ("priority", "high"),
                ("kind", "corrective"),
                ("status", "done"),
                ("owner_id", &i.bob),
                ("due_on", ""),
                ("tracker_url", ""),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let form = ada.get(&page).await;
    let history = form.select(".revisions li").join("\n");
    assert!(history.contains("status open → done"), "{history}");
    assert!(history.contains("created it"));
    assert!(
        ada.get("/admin").await.select("#overdue-h").is_empty(),
        "done is not overdue"
    );
}

#[tokio::test]
async fn sev1_incidents_without_a_postmortem_are_flagged_after_five_days() {
    let app = TestApp::new().await;
    let i = realistic(&app, "public").await;
    let mut ada = app.browser();
    ada.sign_in("ada@example.com", crate::support::PASSWORD)
        .await;
    assert!(
        ada.get("/admin").await.select("#missing-h").is_empty(),
        "not yet"
    );
    app.exec("UPDATE incidents SET resolved_at = now() - interval '6 days'")
        .await;
    let dashboard = ada.get("/admin").await;
    let flagged = dashboard.select("section.warn li").join(" ");
    assert!(
        flagged.contains("INC-1") && flagged.contains("not started"),
        "{flagged}"
    );
    i.start_postmortem(&app, json!({})).await;
    let flagged = ada
        .get("/admin/postmortems")
        .await
        .select("section.warn li")
        .join(" ");
    assert!(flagged.contains("draft"), "{flagged}");
}

#[tokio::test]
async fn an_author_writes_and_publishes_a_postmortem_in_a_real_browser() {
    use crate::browser::{
        browser, choose, click, driver, serve, sign_in, type_into, wait_for_text,
    };
    use fantoccini::Locator;
    let Some(driver) = driver().await else { return };
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let incident = post(
        &app,
        &token,
        "/api/v1/incidents",
        json!({"title": "Search is down", "severity": "sev2", "initial_update": "Investigating."}),
    )
    .await;
    let id = incident["id"].as_str().unwrap().to_owned();
    post(
        &app,
        &token,
        &format!("/api/v1/incidents/{id}/updates"),
        json!({"status": "resolved", "body": "Search is back."}),
    )
    .await;
    let (base, shutdown) = serve(&app).await;
    let author = browser(&driver, 1280).await;
    sign_in(&author, &base, "ada@example.com").await;

    // Start from the resolved incident.
    author
        .goto(&format!("{base}/admin/incidents/INC-1"))
        .await
        .unwrap();
    click(&author, ".postmortem-link button").await;
    wait_for_text(&author, "h1", "Postmortem of INC-1").await;

    // Edit: what is typed shows in the live preview, then save.
    type_into(
        &author,
        "#pm-body",
        "\n\nThe index rebuild starved the search cluster.",
    )
    .await;
    wait_for_text(
        &author,
        "#pm-preview",
        "The index rebuild starved the search cluster.",
    )
    .await;
    click(&author, "button[value=save]").await;
    wait_for_text(&author, ".flash", "Saved.").await;
    wait_for_text(
        &author,
        "article.postmortem-doc",
        "The index rebuild starved",
    )
    .await;

    // A high-priority action item, due in a week by default.
    click(&author, "a.button[href$='/action-items/new']").await;
    wait_for_text(&author, "h1", "New action item for INC-1").await;
    type_into(&author, "#a-title", "Throttle index rebuilds").await;
    choose(&author, "#a-priority", "High").await;
    click(&author, "form.stack button.primary").await;
    let due = (time::OffsetDateTime::now_utc().date() + time::Duration::days(7)).to_string();
    wait_for_text(&author, ".flash", &format!("high priority, due {due}")).await;
    wait_for_text(&author, "#items-h + table", "Throttle index rebuilds").await;

    // Publish the document: internally, never on the status page.
    choose(&author, "#pm-status", "Published").await;
    click(&author, "form.review button.primary").await;
    wait_for_text(&author, ".flash", "Published internally.").await;

    // Customers get the public summary, written and confirmed for them.
    click(&author, "#public-summary a.button").await;
    wait_for_text(&author, "h1", "Public summary").await;
    let area = author.find(Locator::Id("ps-body")).await.unwrap();
    area.clear().await.unwrap();
    area.send_keys("Search was slow for an hour while an index was rebuilt. We now pace rebuilds.")
        .await
        .unwrap();
    click(&author, "button[value=review]").await;
    wait_for_text(&author, "h1", "Publish this for customers?").await;
    click(&author, "form[action$='/publish'] button").await;
    wait_for_text(
        &author,
        ".flash",
        "The public summary is on the status page.",
    )
    .await;

    // The public incident page shows the summary, and nothing of the document (once the
    // page has rebuilt).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        author
            .goto(&format!("{base}/incidents/{id}"))
            .await
            .unwrap();
        let text = author
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("We now pace rebuilds") {
            assert!(!text.contains("The index rebuild starved"), "{text}");
            assert!(!text.contains("Throttle index rebuilds"), "{text}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not on the public page: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    wait_for_text(&author, "section.postmortem > h2", "Postmortem").await;
    author.close().await;
    shutdown.cancel();
}
