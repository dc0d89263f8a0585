//! Every PATCH of a versioned object requires `version`; of concurrent changes from the
//! same version exactly one wins and the others get 409 with `current`; stale admin
//! forms show the conflict instead of saving over someone else's change.

use axum::http::StatusCode;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::support::TestApp;
use fireline::accounts::Role;

const RACERS: usize = 10;

/// PATCH `path` from `version` RACERS times at once, each with `field` set to its own
/// value; exactly one must win and the object must hold the winner's value.
async fn race(app: &TestApp, token: &str, path: &str, version: &Value, field: &str) {
    let winner = race_only(app, token, path, version, field).await;
    let now = app.api_get(path, token).await;
    assert_eq!(now[field], winner, "{path}: no update lost");
}

/// The race alone; the winner's value.
async fn race_only(app: &TestApp, token: &str, path: &str, version: &Value, field: &str) -> String {
    let bodies: Vec<String> = (0..RACERS)
        .map(|n| {
            let mut body = json!({ "version": version });
            body[field] = json!(format!("racer {n}"));
            body.to_string()
        })
        .collect();
    let answers = join_all(bodies.iter().map(|b| app.patch(path, token, b))).await;
    let mut won = Vec::new();
    for (n, answer) in answers.iter().enumerate() {
        match answer.status {
            StatusCode::OK => won.push(n),
            StatusCode::CONFLICT => {
                let problem = answer.json();
                assert!(
                    problem["current"]["version"].is_number(),
                    "{path}: {problem}"
                );
            }
            other => panic!("{path}: racer {n} got {other}: {}", answer.text),
        }
    }
    assert_eq!(won.len(), 1, "{path}: exactly one racer wins, not {won:?}");
    format!("racer {}", won[0])
}

#[tokio::test]
async fn concurrent_patches_from_one_version_let_exactly_one_win() {
    let app = TestApp::with_private_webhooks().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let now = time::OffsetDateTime::now_utc();
    let at = |d: time::Duration| crate::support::rfc3339(now + d);
    let m = app
        .created(
            "/api/v1/maintenances",
            &admin,
            json!({"title": "Upgrade", "scheduled_for": at(time::Duration::days(1)),
                   "scheduled_until": at(time::Duration::days(2))}),
        )
        .await;
    let path = format!("/api/v1/maintenances/{}", m["id"].as_str().unwrap());
    race(&app, &admin, &path, &m["version"], "title").await;

    let t = app
        .created(
            "/api/v1/postmortem-templates",
            &admin,
            json!({"name": "Mine", "body": "# {{title}}"}),
        )
        .await;
    let path = format!("/api/v1/postmortem-templates/{}", t["id"].as_str().unwrap());
    race(&app, &admin, &path, &t["version"], "name").await;

    let s = app
        .created(
            "/api/v1/subscribers",
            &admin,
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let path = format!("/api/v1/subscribers/{}", s["id"].as_str().unwrap());
    race(&app, &admin, &path, &s["version"], "description").await;

    let i = app
        .declare(&admin, json!({"title": "Slow", "severity": "sev3"}))
        .await;
    let path = format!("/api/v1/incidents/{}", i["id"].as_str().unwrap());
    race(&app, &admin, &path, &i["version"], "title").await;

    let pm = app
        .created(
            &format!("/api/v1/incidents/{}/postmortem", i["id"].as_str().unwrap()),
            &admin,
            json!({}),
        )
        .await;
    let pid = pm["id"].as_str().unwrap();
    race(
        &app,
        &admin,
        &format!("/api/v1/postmortems/{pid}"),
        &pm["version"],
        "body",
    )
    .await;
    let item = app
        .created(
            &format!("/api/v1/postmortems/{pid}/action-items"),
            &admin,
            json!({"title": "Alert", "priority": "low"}),
        )
        .await;
    let path = format!("/api/v1/action-items/{}", item["id"].as_str().unwrap());
    let winner = race_only(&app, &admin, &path, &item["version"], "title").await;
    let items = app
        .api_get(&format!("/api/v1/postmortems/{pid}/action-items"), &admin)
        .await;
    assert_eq!(items[0]["title"], winner, "{path}: no update lost");
}

#[tokio::test]
async fn a_patch_without_version_is_refused_and_says_it_is_required() {
    let app = TestApp::with_private_webhooks().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let t = app
        .created(
            "/api/v1/postmortem-templates",
            &admin,
            json!({"name": "Mine", "body": "# {{title}}"}),
        )
        .await;
    let s = app
        .created(
            "/api/v1/subscribers",
            &admin,
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    for path in [
        format!("/api/v1/postmortem-templates/{}", t["id"].as_str().unwrap()),
        format!("/api/v1/subscribers/{}", s["id"].as_str().unwrap()),
    ] {
        let r = app.patch(&path, &admin, r#"{"description": "x"}"#).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(r.json()["errors"]["version"], "`version` is required.");
        let after = app.api_get(&path, &admin).await;
        assert_eq!(after["version"], 1, "{path}: nothing changed");
    }
}

#[tokio::test]
async fn a_stale_maintenance_form_shows_the_conflict_and_keeps_the_other_change() {
    let app = TestApp::new().await;
    let (_, token) = app.token("api@example.com", Role::Responder).await;
    let mut browser = app.signed_in("rita@example.com", Role::Responder).await;
    let now = time::OffsetDateTime::now_utc();
    let at = |d: time::Duration| crate::support::rfc3339(now + d);
    let m = app
        .created(
            "/api/v1/maintenances",
            &token,
            json!({"title": "Upgrade", "scheduled_for": at(time::Duration::days(1)),
                   "scheduled_until": at(time::Duration::days(2))}),
        )
        .await;
    let mid = m["id"].as_str().unwrap();
    let page_path = format!("/admin/maintenance/{mid}");
    let page = browser.get(&page_path).await;
    let version = page.attr("input[name=version]", "value").unwrap();
    let from = page.attr("#e-from", "value").unwrap();
    let until = page.attr("#e-until", "value").unwrap();
    // Someone else saves first.
    app.patched(
        &format!("/api/v1/maintenances/{mid}"),
        &token,
        json!({"version": m["version"], "title": "Upgrade to 17"}),
    )
    .await;
    let fields = [
        ("title", "My title"),
        ("description", ""),
        ("scheduled_for", from.as_str()),
        ("scheduled_until", until.as_str()),
        ("version", version.as_str()),
    ];
    let r = browser.form(&page_path, &fields).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(
        r.select(".alert")[0].contains("Not saved"),
        "{:?}",
        r.select(".alert")
    );
    let now = app
        .api_get(&format!("/api/v1/maintenances/{mid}"), &token)
        .await;
    assert_eq!(now["title"], "Upgrade to 17");

    // A form without its version is refused too, not saved over.
    let r = browser.form(&page_path, &fields[..4]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_stale_template_form_keeps_the_typed_text_and_the_saved_one() {
    let app = TestApp::new().await;
    let (_, token) = app.token("api@example.com", Role::Admin).await;
    let mut browser = app.signed_in("root@example.com", Role::Admin).await;
    let t = app
        .created(
            "/api/v1/postmortem-templates",
            &token,
            json!({"name": "Mine", "body": "# {{title}}"}),
        )
        .await;
    let tid = t["id"].as_str().unwrap();
    let page_path = format!("/admin/postmortem-templates/{tid}");
    let page = browser.get(&page_path).await;
    let version = page.attr("input[name=version]", "value").unwrap();
    app.patched(
        &format!("/api/v1/postmortem-templates/{tid}"),
        &token,
        json!({"version": t["version"], "body": "# Theirs"}),
    )
    .await;
    let fields = [
        ("name", "Mine"),
        ("description", ""),
        ("body", "# Ours"),
        ("version", version.as_str()),
    ];
    let r = browser.form(&page_path, &fields).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(
        r.text.contains("# Ours"),
        "the typed text stays in the form"
    );
    let saved = app
        .api_get(&format!("/api/v1/postmortem-templates/{tid}"), &token)
        .await;
    assert_eq!(saved["body"], "# Theirs");
}
