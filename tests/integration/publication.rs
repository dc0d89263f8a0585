//! Public on purpose: an incident reaches customers with its first public update, its
//! component changes are held back until then unless shown on purpose, and a postmortem
//! reaches them only as a public summary written for them.

use axum::http::StatusCode;
use fantoccini::Locator;
use fireline::accounts::Role;
use serde_json::{json, Value};

use crate::browser::{browser, click, driver, fill, serve, sign_in, wait_for_text};
use crate::support::TestApp;

/// A subscriber to everything, so any message that reaches the outbox is stored.
async fn subscriber(app: &TestApp) {
    sqlx::query("INSERT INTO subscribers (id, url, destination, secret) VALUES (gen_random_uuid(), 'https://hooks.example.com/x', 'https://hooks.example.com:443', $1)")
        .bind(fireline::webhooks::signing::Secret::generate().expose())
        .execute(app.pool())
        .await
        .unwrap();
}

async fn messages(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("SELECT event, payload FROM webhook_messages ORDER BY created_at, id")
        .fetch_all(app.pool())
        .await
        .unwrap()
}

async fn public_status(app: &TestApp, component: &str) -> String {
    app.state.status_page.refresh().await.unwrap();
    let doc = app.get("/api/v2/components.json").await.json();
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(component))
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .unwrap()
}

#[tokio::test]
async fn a_sev1_declared_without_an_update_is_on_no_public_surface_until_published() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let web = app.component(&token, "Website").await;
    subscriber(&app).await;

    let incident = app
        .declare(
            &token,
            json!({"title": "db-3 on fire?", "severity": "sev1",
                   "components": [{"id": web, "status": "major_outage"}]}),
        )
        .await;
    let id = incident["id"].as_str().unwrap();
    assert!(incident["published_at"].is_null());
    assert!(incident["public_title"].is_null());
    // Responders know the component is down; customers do not, yet.
    assert_eq!(incident["components"][0]["status"], "major_outage");
    let surfaces = app.public_surfaces().await;
    assert!(!surfaces.contains("db-3"), "the working title leaked");
    assert!(!surfaces.contains(id));
    assert!(!surfaces.contains("Major System Outage"));
    assert_eq!(public_status(&app, &web).await, "operational");
    let status = app.get("/api/v2/status.json").await.json();
    assert_eq!(status["status"]["indicator"], "none");
    assert_eq!(
        app.get(&format!("/incidents/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        messages(&app).await.is_empty(),
        "nothing reached the outbox"
    );

    // The leader's page says so plainly, with the way to publish.
    let mut ada = app.signed_in("lead@example.com", Role::Responder).await;
    let page = ada.get("/admin/incidents/INC-1").await;
    let notice = page.select("#not-public").join(" ");
    assert!(notice.contains("Not on the status page yet"), "{notice}");
    assert_eq!(
        page.attr("#not-public a", "href").as_deref(),
        Some("#update-form")
    );
    assert!(page
        .select(".affected .held-back")
        .contains(&"customers see Operational".to_owned()));
    assert_eq!(
        page.attr("#u-title", "value").as_deref(),
        Some("db-3 on fire?")
    );

    // The first public update publishes it, under the title customers read.
    let update = app
        .post_update(
            &token,
            id,
            json!({"status": "investigating", "title": "Checkout is failing",
                   "body": "We are investigating failed checkouts."}),
        )
        .await;
    assert_eq!(
        update["affected_components"],
        json!([{"code": web, "name": "Website", "old_status": "operational", "new_status": "major_outage"}]),
        "the first update lists the components it makes public"
    );
    let incident = app
        .api_get(&format!("/api/v1/incidents/{id}"), &token)
        .await;
    assert!(incident["published_at"].is_string());
    assert_eq!(incident["public_title"], "Checkout is failing");
    assert_eq!(
        incident["title"], "db-3 on fire?",
        "the internal title stays"
    );
    let surfaces = app.public_surfaces().await;
    assert!(surfaces.contains("Checkout is failing"));
    assert!(!surfaces.contains("db-3"));
    assert_eq!(public_status(&app, &web).await, "major_outage");
    let summary = app.get("/api/v2/summary.json").await.json();
    assert_eq!(summary["status"]["indicator"], "critical");
    assert_eq!(summary["incidents"][0]["name"], "Checkout is failing");
    let mut events: Vec<String> = messages(&app).await.into_iter().map(|(e, _)| e).collect();
    events.sort();
    assert_eq!(events, ["component.updated", "incident.created"]);
    for (_, payload) in messages(&app).await {
        assert!(!payload.contains("db-3"), "{payload}");
    }
    let page = ada.get("/admin/incidents/INC-1").await;
    assert!(page.select("#not-public").is_empty());

    // Renaming the incident internally does not rename it for customers.
    app.patched(
        &format!("/api/v1/incidents/{id}"),
        &token,
        json!({"version": incident["version"], "title": "db-3 disk full"}),
    )
    .await;
    let surfaces = app.public_surfaces().await;
    assert!(surfaces.contains("Checkout is failing") && !surfaces.contains("db-3"));
    // A later update may rename it on purpose.
    app.post_update(
        &token,
        id,
        json!({"status": "identified", "title": "Checkout errors", "body": "Found it."}),
    )
    .await;
    app.state.status_page.refresh().await.unwrap();
    let renamed = app.get("/api/v2/summary.json").await.json();
    assert_eq!(renamed["incidents"][0]["name"], "Checkout errors");
}

#[tokio::test]
async fn component_changes_are_shown_before_publication_only_when_asked() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let api = app.component(&token, "API").await;
    let web = app.component(&token, "Website").await;
    subscriber(&app).await;

    // Declared with "show on the status page now": the outage is public, the incident not.
    let shown = app
        .declare(
            &token,
            json!({"title": "API down?", "severity": "sev2", "show_components": true,
                   "components": [{"id": api, "status": "major_outage"}]}),
        )
        .await;
    assert!(shown["published_at"].is_null());
    assert_eq!(public_status(&app, &api).await, "major_outage");
    let surfaces = app.public_surfaces().await;
    assert!(!surfaces.contains("API down?"));
    let events: Vec<String> = messages(&app).await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(events, ["component.updated"]);

    // From the incident page: held back, then shown with everything held back so far.
    let held = app
        .declare(&token, json!({"title": "Web slow?", "severity": "sev3"}))
        .await;
    let path = format!("/admin/incidents/{}", held["reference"].as_str().unwrap());
    let mut lead = app.signed_in("lead@example.com", Role::Responder).await;
    let saved = lead
        .submit(
            &path,
            &format!("{path}/components"),
            &[(&format!("component:{web}"), "degraded_performance")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(public_status(&app, &web).await, "operational");
    let page = lead.get(&path).await;
    assert!(page
        .select(".affected .held-back")
        .contains(&"customers see Operational".to_owned()));
    let components = lead.get("/admin/components").await;
    assert!(components
        .select(".held-back")
        .contains(&"customers see Operational".to_owned()));
    let log = app
        .api_get(
            &format!("/api/v1/incidents/{}/events", held["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert!(log.to_string().contains("(not on the status page)"));
    let shown = lead
        .submit(&path, &format!("{path}/components"), &[("show_now", "1")])
        .await;
    assert_eq!(shown.status, StatusCode::SEE_OTHER);
    assert_eq!(public_status(&app, &web).await, "degraded_performance");
    assert!(!app.public_surfaces().await.contains("Web slow?"));
    let log = app
        .api_get(
            &format!("/api/v1/incidents/{}/events", held["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert!(log
        .to_string()
        .contains("Held-back component statuses shown on the status page: Website."));

    // Bad input changes nothing.
    let bad = lead
        .submit(
            &path,
            &format!("{path}/components"),
            &[(&format!("component:{api}"), "on_fire")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(public_status(&app, &api).await, "major_outage");
    let mut viewer = app.signed_in("viewer@example.com", Role::Viewer).await;
    let refused = viewer
        .submit(
            &path,
            &format!("{path}/components"),
            &[(&format!("component:{api}"), "operational")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_public_titles_are_refused_and_publish_nothing() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let incident = app
        .declare(
            &token,
            json!({"title": "Working title", "severity": "sev2"}),
        )
        .await;
    let id = incident["id"].as_str().unwrap();
    for title in ["Line one\nline two", &"x".repeat(201), "Tab\there"] {
        let r = app
            .post(
                &format!("/api/v1/incidents/{id}/updates"),
                &token,
                &json!({"status": "investigating", "title": title, "body": "Hello."}).to_string(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{title:?}");
        assert!(r.json()["errors"]["public_title"].is_string(), "{}", r.text);
    }
    let r = app
        .patch(
            &format!("/api/v1/incidents/{id}"),
            &token,
            &json!({"version": incident["version"], "public_title": " "}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let after = app
        .api_get(&format!("/api/v1/incidents/{id}"), &token)
        .await;
    assert!(after["published_at"].is_null());
    assert!(after["public_title"].is_null());
    assert_eq!(after["version"], incident["version"]);
    let updates: i64 = app.scalar("SELECT count(*) FROM incident_updates").await;
    assert_eq!(updates, 0);
    assert!(!app.public_surfaces().await.contains("Working title"));

    // Declaring with a first update publishes at once, as before.
    let at_once = app
        .declare(
            &token,
            json!({"title": "Internal name", "public_title": "Login problems",
                   "severity": "sev3", "initial_update": "Some sign-ins fail."}),
        )
        .await;
    assert!(at_once["published_at"].is_string());
    let surfaces = app.public_surfaces().await;
    assert!(surfaces.contains("Login problems") && !surfaces.contains("Internal name"));
}

#[tokio::test]
async fn internal_incidents_are_never_published_nor_their_summaries() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    subscriber(&app).await;
    let internal = app
        .declare(
            &token,
            json!({"title": "Quiet one", "severity": "sev2", "visibility": "internal",
                   "initial_update": "Only for us."}),
        )
        .await;
    let id = internal["id"].as_str().unwrap();
    assert!(internal["published_at"].is_null());
    app.post_update(&token, id, json!({"status": "resolved", "body": "Done."}))
        .await;
    assert!(!app.public_surfaces().await.contains("Quiet one"));
    assert!(messages(&app).await.is_empty());

    let pm = app
        .created(
            &format!("/api/v1/incidents/{id}/postmortem"),
            &token,
            json!({}),
        )
        .await;
    let path = format!("/api/v1/postmortems/{}", pm["id"].as_str().unwrap());
    let r = app
        .patch(
            &path,
            &token,
            &json!({"version": pm["version"], "public": true, "public_summary": "We fixed it."})
                .to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["errors"]["public"].is_string());
    assert_eq!(app.api_get(&path, &token).await["public_summary"], "");

    // A public incident not yet on the page cannot have a public summary either.
    let unpublished = app
        .declare(&token, json!({"title": "Not yet", "severity": "sev3"}))
        .await;
    let pm = app
        .created(
            &format!(
                "/api/v1/incidents/{}/postmortem",
                unpublished["id"].as_str().unwrap()
            ),
            &token,
            json!({}),
        )
        .await;
    let r = app
        .patch(
            &format!("/api/v1/postmortems/{}", pm["id"].as_str().unwrap()),
            &token,
            &json!({"version": pm["version"], "public": true, "public_summary": "Soon."})
                .to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("not on the status page yet"));
}

/// A resolved, published incident with a started postmortem whose internal text holds
/// what customers must never read: `(postmortem page, postmortem id, incident id)`.
async fn resolved_with_postmortem(app: &TestApp, token: &str) -> (String, String, String) {
    let incident = app
        .declare(
            token,
            json!({"title": "pg-primary-7 OOM", "public_title": "Checkout outage",
                   "severity": "sev1", "initial_update": "Checkout is failing."}),
        )
        .await;
    let id = incident["id"].as_str().unwrap().to_owned();
    app.created(
        &format!("/api/v1/incidents/{id}/events"),
        token,
        json!({"body": "See https://grafana.internal/d/pg for the pool graph."}),
    )
    .await;
    app.post_update(token, &id, json!({"status": "resolved", "body": "Fixed."}))
        .await;
    let pm = app
        .created(
            &format!("/api/v1/incidents/{id}/postmortem"),
            token,
            json!({}),
        )
        .await;
    let pm_id = pm["id"].as_str().unwrap().to_owned();
    (format!("/admin/postmortems/{pm_id}"), pm_id, id)
}

#[tokio::test]
async fn the_public_summary_is_written_reviewed_and_published_in_the_admin_ui() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let (page, pm_id, incident_id) = resolved_with_postmortem(&app, &token).await;
    let mut lead = app.signed_in("lead@example.com", Role::Responder).await;
    let shown = lead.get(&page).await;
    assert!(shown.text.contains("Not written yet"));

    // The editor starts from a template for customers, with facts they already saw.
    let editor_path = format!("{page}/public-summary");
    let editor = lead.get(&editor_path).await;
    assert_eq!(editor.status, StatusCode::OK);
    let starter = editor.select("#ps-body").pop().unwrap();
    assert!(starter.contains("## What happened") && starter.contains("Checkout outage"));
    assert!(starter.contains("## What we are doing so it does not happen again"));
    assert!(!starter.contains("pg-primary-7"), "{starter}");
    let version = editor.attr("input[name=version]", "value").unwrap();

    // Review shows exactly what goes out, and publishes nothing yet.
    let text =
        "## What happened\n\nA database ran out of memory and **checkout failed** for 30 minutes.";
    let review = lead
        .form(
            &editor_path,
            &[
                ("public_summary", text),
                ("version", &version),
                ("action", "review"),
            ],
        )
        .await;
    assert_eq!(review.status, StatusCode::OK);
    assert_eq!(
        review.select(".public-preview .md strong"),
        ["checkout failed"]
    );
    app.state.status_page.refresh().await.unwrap();
    assert!(!app
        .get(&format!("/incidents/{incident_id}"))
        .await
        .text
        .contains("checkout failed"));

    let published = lead
        .submit(
            &editor_path,
            &format!("{editor_path}/publish"),
            &[("public_summary", text), ("version", &version)],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.text
    );
    app.state.status_page.refresh().await.unwrap();
    let public = app.get(&format!("/incidents/{incident_id}")).await;
    assert_eq!(
        public.select("section.postmortem .md strong"),
        ["checkout failed"]
    );
    let internal = app
        .api_get(&format!("/api/v1/postmortems/{pm_id}"), &token)
        .await;
    let internal_body = internal["body"].as_str().unwrap();
    assert!(internal_body.contains("pg-primary-7"));
    for secret in ["pg-primary-7", "grafana.internal", "Why?", "lead"] {
        assert!(!public.text.contains(secret), "{secret:?} is public");
    }
    let history: Vec<String> = lead.get(&page).await.select(".revisions li");
    assert!(history
        .iter()
        .any(|h| h.contains("published the public summary on the status page")));

    // While it is public, a save goes through the review too: nothing changes yet.
    let current = lead.get(&editor_path).await;
    let now_version = current.attr("input[name=version]", "value").unwrap();
    let saved = lead
        .save(
            &editor_path,
            &now_version,
            "public_summary",
            "Edited quietly.",
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    assert!(saved.text.contains("Publish this for customers?"));
    app.state.status_page.refresh().await.unwrap();
    let public = app.get(&format!("/incidents/{incident_id}")).await;
    assert!(!public.text.contains("Edited quietly."));
    assert_eq!(
        public.select("section.postmortem .md strong"),
        ["checkout failed"]
    );

    // A stale publish is refused with the text kept.
    let stale = lead
        .submit(
            &editor_path,
            &format!("{editor_path}/publish"),
            &[("public_summary", "Late text."), ("version", &version)],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.select("#ps-body"), ["Late text."]);
    // An empty summary cannot be reviewed.
    let empty = lead
        .form(
            &editor_path,
            &[
                ("public_summary", "  "),
                ("version", &version),
                ("action", "review"),
            ],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Taking it off the page.
    let current = lead.get(&page).await;
    let version = current
        .attr("#public-summary input[name=version]", "value")
        .unwrap();
    let off = lead
        .submit(
            &page,
            &format!("{editor_path}/unpublish"),
            &[("version", &version)],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    app.state.status_page.refresh().await.unwrap();
    let public = app.get(&format!("/incidents/{incident_id}")).await;
    assert!(public.select("section.postmortem").is_empty());
}

async fn public_text(client: &fantoccini::Client, url: &str) -> String {
    client.goto(url).await.unwrap();
    client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn in_chromium_a_declared_sev1_stays_off_the_page_until_its_first_update() {
    let Some(driver) = driver().await else { return };
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Responder).await;
    let (base, shutdown) = serve(&app).await;
    let leader = browser(&driver, 1280).await;
    sign_in(&leader, &base, "ada@example.com").await;

    leader
        .goto(&format!("{base}/admin/incidents/new"))
        .await
        .unwrap();
    fill(&leader, "#d-title", "db-3 on fire?").await;
    click(&leader, "input[name=severity][value=sev1]").await;
    click(&leader, "form.stack button.primary").await;
    wait_for_text(&leader, "#not-public", "Not on the status page yet").await;

    let customer = browser(&driver, 390).await;
    app.state.status_page.refresh().await.unwrap();
    for path in ["/", "/api/v2/summary.json", "/history.atom", "/history.rss"] {
        let text = public_text(&customer, &format!("{base}{path}")).await;
        assert!(!text.contains("db-3"), "{path} shows the incident: {text}");
    }
    let front = public_text(&customer, &format!("{base}/")).await;
    assert!(front.contains("All Systems Operational"), "{front}");

    // Publish from the incident page, under a title for customers.
    fill(&leader, "#u-title", "Payments are failing").await;
    fill(&leader, "#u-body", "We are investigating failed payments.").await;
    click(&leader, "#update-form button[value=post]").await;
    wait_for_text(&leader, "#updates", "We are investigating failed payments.").await;
    assert!(leader.find(Locator::Id("not-public")).await.is_err());

    // Customers see it within a second or two (the page rebuilds on the notification).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let front = public_text(&customer, &format!("{base}/")).await;
        if front.contains("Payments are failing") {
            assert!(front.contains("Major System Outage"));
            assert!(!front.contains("db-3"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not published: {front}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let doc: Value = reqwest::get(format!("{base}/api/v2/summary.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["incidents"][0]["name"], "Payments are failing");
    leader.close().await;
    customer.close().await;
    shutdown.cancel();
}

#[tokio::test]
async fn in_chromium_a_public_summary_goes_out_and_nothing_of_the_postmortem_does() {
    let Some(driver) = driver().await else { return };
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let (page, _pm_id, incident_id) = resolved_with_postmortem(&app, &token).await;
    let (base, shutdown) = serve(&app).await;
    let author = browser(&driver, 1280).await;
    sign_in(&author, &base, "ada@example.com").await;

    author.goto(&format!("{base}{page}")).await.unwrap();
    click(&author, "#public-summary a.button").await;
    wait_for_text(&author, "h1", "Public summary").await;
    fill(
        &author,
        "#ps-body",
        "## What happened\n\nCheckout was down for **30 minutes**.",
    )
    .await;
    // The live preview shows what the public page will.
    wait_for_text(&author, "#ps-preview strong", "30 minutes").await;
    click(&author, "button[value=review]").await;
    wait_for_text(&author, "h1", "Publish this for customers?").await;
    click(&author, "form[action$='/publish'] button").await;
    wait_for_text(&author, "#public-summary", "On the status page").await;

    let customer = browser(&driver, 390).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = public_text(&customer, &format!("{base}/incidents/{incident_id}")).await;
        if text.contains("Checkout was down for 30 minutes") {
            for secret in [
                "pg-primary-7",
                "grafana.internal",
                "Why?",
                "Five whys",
                "Timeline",
            ] {
                assert!(!text.contains(secret), "{secret:?} is public: {text}");
            }
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not published: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    author.close().await;
    customer.close().await;
    shutdown.cancel();
}

/// The known and the public status of a component, as stored.
async fn statuses(app: &TestApp, component: &str) -> (String, String) {
    sqlx::query_as("SELECT status::text, public_status::text FROM components WHERE id = $1::uuid")
        .bind(component)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn maintenance_gives_back_what_customers_saw_and_what_responders_knew() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let web = app.component(&token, "Website").await;
    subscriber(&app).await;
    app.declare(
        &token,
        json!({"title": "Quiet trouble", "severity": "sev3",
               "components": [{"id": web, "status": "major_outage"}]}),
    )
    .await;
    assert_eq!(
        statuses(&app, &web).await,
        ("major_outage".into(), "operational".into())
    );
    let now = time::OffsetDateTime::now_utc();
    let fmt = crate::support::rfc3339;
    let m = app
        .created(
            "/api/v1/maintenances",
            &token,
            json!({"title": "Disk swap", "component_ids": [web],
                   "scheduled_for": fmt(now + time::Duration::hours(1)),
                   "scheduled_until": fmt(now + time::Duration::hours(2))}),
        )
        .await;
    let path = format!("/api/v1/maintenances/{}", m["id"].as_str().unwrap());
    let started = app
        .patched(
            &path,
            &token,
            json!({"version": m["version"], "status": "in_progress"}),
        )
        .await;
    assert_eq!(public_status(&app, &web).await, "under_maintenance");
    app.patched(
        &path,
        &token,
        json!({"version": started["version"], "status": "completed"}),
    )
    .await;
    // Customers get back what they saw; responders keep what they knew.
    assert_eq!(
        statuses(&app, &web).await,
        ("major_outage".into(), "operational".into())
    );
    for (event, payload) in messages(&app).await {
        if event == "component.updated" {
            assert!(!payload.contains("major_outage"), "{payload}");
        }
    }
}

#[tokio::test]
async fn held_back_outages_stay_out_of_the_uptime_history() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let web = app.component(&token, "Website").await;
    app.declare(
        &token,
        json!({"title": "Quiet trouble", "severity": "sev3",
               "components": [{"id": web, "status": "major_outage"}]}),
    )
    .await;
    let since = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let history = fireline::status_page::uptime::history_since(app.pool(), since)
        .await
        .unwrap();
    assert!(!history.is_empty());
    assert!(
        history
            .iter()
            .all(|(_, _, s)| *s != fireline::components::ComponentStatus::MajorOutage),
        "{history:?}"
    );
}

#[tokio::test]
async fn subscribers_hear_of_an_incident_published_quietly_as_created() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    subscriber(&app).await;
    let incident = app
        .declare(&token, json!({"title": "Quiet start", "severity": "sev3"}))
        .await;
    let id = incident["id"].as_str().unwrap();
    app.post_update(
        &token,
        id,
        json!({"status": "investigating", "body": "Looking.", "notify": false}),
    )
    .await;
    assert!(messages(&app).await.is_empty());
    app.post_update(
        &token,
        id,
        json!({"status": "identified", "body": "Found it."}),
    )
    .await;
    app.post_update(&token, id, json!({"status": "resolved", "body": "Fixed."}))
        .await;
    let events: Vec<String> = messages(&app).await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(events, ["incident.created", "incident.resolved"]);
}

#[tokio::test]
async fn an_update_form_loaded_before_a_rename_does_not_rename_it_back() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let incident = app
        .declare(
            &token,
            json!({"title": "Internal", "public_title": "Slow checkout",
                   "severity": "sev3", "initial_update": "Looking."}),
        )
        .await;
    let path = format!(
        "/admin/incidents/{}",
        incident["reference"].as_str().unwrap()
    );
    let mut lead = app.signed_in("lead@example.com", Role::Responder).await;
    let form = lead.get(&path).await;
    let csrf = form.attr("input[name=csrf_token]", "value").unwrap();
    // Someone renames it for customers meanwhile.
    let current = app
        .api_get(
            &format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap()),
            &token,
        )
        .await;
    app.patched(
        &format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap()),
        &token,
        json!({"version": current["version"], "public_title": "Checkout errors"}),
    )
    .await;
    let posted = lead
        .post_raw(
            &format!("{path}/updates"),
            &[
                ("csrf_token", &csrf),
                ("title", "Slow checkout"),
                ("title_was", "Slow checkout"),
                ("status", "identified"),
                ("body", "Found it."),
                ("action", "post"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text);
    let after = app
        .api_get(
            &format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(after["public_title"], "Checkout errors");
}
