//! Screenshots of the admin pages for people to look at (not a check):
//! `SCREENSHOTS=/tmp/shots cargo test --test integration screenshots -- --ignored`.

use fantoccini::Locator;
use fireline::accounts::Role;
use serde_json::json;

use crate::browser::{browser, driver, serve, sign_in, wait_for_text};
use crate::support::TestApp;

#[tokio::test]
#[ignore = "writes screenshots for people; run by hand"]
async fn screenshots_of_the_incident_pages() {
    let Some(driver) = driver().await else { return };
    let dir = std::env::var("SCREENSHOTS").unwrap_or_else(|_| "/tmp/fireline-screenshots".into());
    std::fs::create_dir_all(&dir).unwrap();
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (ada, token) = app.token("ada@example.com", Role::Responder).await;
    for name in ["API", "Website", "Checkout"] {
        app.created("/api/v1/components", &admin, json!({"name": name}))
            .await;
    }
    let i = app.declare(&token, json!({"title": "Checkout requests failing", "severity": "sev1", "summary": "Card payments time out for **most** customers.", "initial_update": "We are investigating failed checkouts."})).await;
    let id = i["id"].as_str().unwrap();
    let rc = i["workstreams"][1]["id"].as_str().unwrap();
    app.created(
        &format!(
            "/api/v1/workstreams/{}/tasks",
            i["workstreams"][0]["id"].as_str().unwrap()
        ),
        &token,
        json!({"title": "Fail over to the backup processor", "assignee_id": ada.id}),
    )
    .await;
    app.created(
        &format!("/api/v1/incidents/{id}/events"),
        &token,
        json!({"body": "Processor returns `502` since 09:58", "workstream_id": rc, "pinned": true}),
    )
    .await;
    app.post_update(&token, id, json!({"status": "identified", "body": "The card processor is failing; we are **failing over**."})).await;
    let (base, shutdown) = serve(&app).await;
    for (width, suffix) in [(1280, "desktop"), (390, "phone")] {
        let client = browser(&driver, width).await;
        sign_in(&client, &base, "ada@example.com").await;
        for (path, name) in [
            (
                format!("/admin/incidents/{}", i["reference"].as_str().unwrap()),
                "incident",
            ),
            ("/admin".into(), "dashboard"),
            ("/admin/incidents/new".into(), "declare"),
        ] {
            client.goto(&format!("{base}{path}")).await.unwrap();
            wait_for_text(&client, "h1", "").await;
            let _ = client.find(Locator::Css("h1")).await;
            let wide = client
                .execute(
                    "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right) + '/' + window.innerWidth);",
                    vec![],
                )
                .await
                .unwrap();
            eprintln!("{name}-{suffix}: wider than the window: {wide}");
            let png = client.screenshot().await.unwrap();
            std::fs::write(format!("{dir}/{name}-{suffix}.png"), png).unwrap();
        }
        client.close().await;
    }
    shutdown.cancel();
}

/// The README's pictures, from `fireline demo` data:
/// `cargo test --test integration readme_screenshots -- --ignored`.
#[tokio::test]
#[ignore = "writes docs/screenshots for the README; run by hand"]
async fn readme_screenshots() {
    let Some(driver) = driver().await else { return };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screenshots");
    std::fs::create_dir_all(dir).unwrap();
    let app = TestApp::new().await;
    fireline::cli::demo::seed(app.pool(), false).await.unwrap();
    app.user("viewer@demo.fireline.dev", Role::Responder).await;
    let (base, shutdown) = serve(&app).await;
    app.state.status_page.refresh().await.unwrap();
    let reference: i64 = app
        .scalar("SELECT number FROM incidents WHERE status <> 'resolved'")
        .await;

    let client = browser(&driver, 1100).await;
    client.set_window_size(1100, 2150).await.unwrap();
    client.goto(&format!("{base}/")).await.unwrap();
    wait_for_text(&client, ".banner h1", "Outage").await;
    std::fs::write(
        format!("{dir}/status-page.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    sign_in(&client, &base, "viewer@demo.fireline.dev").await;
    client.set_window_size(1280, 2300).await.unwrap();
    client
        .goto(&format!("{base}/admin/incidents/INC-{reference}"))
        .await
        .unwrap();
    wait_for_text(&client, "h1", "Elevated checkout errors").await;
    std::fs::write(
        format!("{dir}/incident.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    client.close().await;
    shutdown.cancel();
}
