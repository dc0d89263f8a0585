//! What depends on what: cycles refused, and a failing check on an upstream component
//! marking its dependents (through any number of others) in the admin UI, on a
//! dependent's alert and on an incident touching it, with the upstream check offered.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::TestApp;
use fireline::accounts::Role;
use fireline::monitors::probe::Probes;

async fn depend(app: &TestApp, token: &str, id: &str, on: &[&str]) -> crate::support::TestResponse {
    let body = json!({ "depends_on": on }).to_string();
    app.api(
        axum::http::Method::PUT,
        &format!("/api/v1/components/{id}/dependencies"),
        token,
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn a_dependency_cycle_itself_or_an_unknown_component_is_refused_in_words() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (_, viewer) = app.token("vic@example.com", Role::Viewer).await;
    let api = app.component(&admin, "API").await;
    let cache = app.component(&admin, "Cache DC1").await;
    let db = app.component(&admin, "Database").await;
    assert_eq!(
        depend(&app, &admin, &api, &[&cache]).await.status,
        StatusCode::OK
    );
    let r = depend(&app, &admin, &cache, &[&db]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["depends_on"], json!([db]));
    // The database on the API closes a loop through the cache.
    let r = depend(&app, &admin, &db, &[&api]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text
            .contains("That would make a cycle: API depends on Database already"),
        "{}",
        r.text
    );
    let r = depend(&app, &admin, &db, &[&db]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("cannot depend on itself"), "{}", r.text);
    let nobody = uuid::Uuid::new_v4().to_string();
    let r = depend(&app, &admin, &db, &[&nobody]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        depend(&app, &viewer, &db, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let edges: i64 = app
        .scalar("SELECT count(*) FROM component_dependencies")
        .await;
    assert_eq!(edges, 2, "nothing refused was stored");

    // The same refusal through the admin form, on the component's page.
    let mut browser = app.signed_in("ada@example.com", Role::Admin).await;
    let page = format!("/admin/components/{db}");
    let r = browser
        .submit(
            &page,
            &format!("{page}/dependencies"),
            &[("depends_on", &api)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("That would make a cycle"), "{}", r.text);
    let r = browser
        .submit(
            &format!("/admin/components/{api}"),
            &format!("/admin/components/{api}/dependencies"),
            &[("depends_on", &cache), ("depends_on", &db)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let deps = app
        .api_get(&format!("/api/v1/components/{api}/dependencies"), &viewer)
        .await;
    assert_eq!(deps["depends_on"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failing_check_upstream_marks_its_dependents_their_alerts_and_their_incidents() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (_, responder) = app.token("rita@example.com", Role::Responder).await;
    let frontend = app.component(&admin, "Frontend").await;
    let api = app.component(&admin, "API").await;
    let cache = app.component(&admin, "Cache DC1").await;
    depend(&app, &admin, &frontend, &[&api]).await;
    depend(&app, &admin, &api, &[&cache]).await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let cache_check = app
        .created(
            "/api/v1/checks",
            &admin,
            json!({"name": "cache port", "kind": "tcp", "target": format!("127.0.0.1:{port}"),
                   "component_id": cache, "failures_before_down": 1}),
        )
        .await;
    let probes = Probes::new().unwrap();
    fireline::monitors::runner::run_due(app.pool(), &probes, "test")
        .await
        .unwrap();

    // Responders see it on every dependent; customers see nothing.
    let deps = app
        .api_get(
            &format!("/api/v1/components/{frontend}/dependencies"),
            &responder,
        )
        .await;
    assert_eq!(deps["upstream_trouble"][0]["name"], "Cache DC1");
    assert_eq!(deps["upstream_trouble"][0]["status"], "major_outage");
    let mut browser = app.signed_in("ada@example.com", Role::Admin).await;
    let list = browser.get("/admin/components").await;
    let marks = list.select(".upstream");
    assert_eq!(
        marks,
        [
            "upstream: Cache DC1 is down (major outage)",
            "upstream: Cache DC1 is down (major outage)"
        ],
        "API and Frontend"
    );
    let public = app.public_surfaces().await;
    assert!(!public.contains("upstream"), "the public page is unchanged");
    assert!(!public.contains("Major outage"));

    // A check on the API that fails now says where the trouble is.
    let api_check = app
        .created(
            "/api/v1/checks",
            &admin,
            json!({"name": "api port", "kind": "tcp", "target": format!("127.0.0.1:{port}"),
                   "component_id": api, "failures_before_down": 1}),
        )
        .await;
    app.exec(&format!(
        "UPDATE checks SET next_run_at = now() + interval '1 hour' WHERE id = '{}'",
        cache_check["id"].as_str().unwrap()
    ))
    .await;
    fireline::monitors::runner::run_due(app.pool(), &probes, "test")
        .await
        .unwrap();
    app.process_alerts().await;
    let (number, description): (i64, Option<String>) = sqlx::query_as(
        "SELECT g.number, a.description FROM alert_groups g JOIN alerts a ON a.group_id = g.id \
         WHERE g.group_key = $1",
    )
    .bind(format!("check-{}", api_check["id"].as_str().unwrap()))
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert!(
        description
            .as_deref()
            .unwrap_or("")
            .contains("(upstream: Cache DC1 is down (major outage))"),
        "{description:?}"
    );
    let group_page = browser.get(&format!("/admin/alert-groups/{number}")).await;
    let shown = group_page.select(".upstream strong");
    assert!(
        shown.contains(&"upstream: Cache DC1 is down (major outage)".to_owned()),
        "{shown:?}"
    );
    assert_eq!(
        group_page.attr(".upstream a[href^='/admin/checks/']", "href"),
        Some(format!(
            "/admin/checks/{}",
            cache_check["id"].as_str().unwrap()
        ))
    );

    // An incident touching the frontend offers the cache's check.
    let incident: Value = app
        .declare(
            &responder,
            json!({"title": "Pages load slowly", "severity": "sev3",
                   "components": [{"id": frontend, "status": "degraded_performance"}]}),
        )
        .await;
    let page = browser.incident_page(&incident).await;
    let shown = page.select(".upstream strong");
    assert!(
        shown.contains(&"upstream: Cache DC1 is down (major outage)".to_owned()),
        "{shown:?}"
    );
    assert!(
        shown.contains(&"upstream: API is down (major outage)".to_owned()),
        "{shown:?}"
    );
    assert!(page.select(".upstream a").iter().any(|t| t == "cache port"));
}

#[tokio::test]
async fn a_heartbeat_down_marks_its_component_and_what_depends_on_it_until_it_is_back() {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let export = app.component(&admin, "Billing export").await;
    let reports = app.component(&admin, "Reports").await;
    depend(&app, &admin, &reports, &[&export]).await;
    let hb = app
        .created(
            "/api/v1/heartbeats",
            &admin,
            json!({"name": "nightly export", "period_seconds": 3600, "component_id": export}),
        )
        .await;
    assert_eq!(hb["component_id"], export.as_str());
    let ping = format!("/ping/{}", hb["uuid"].as_str().unwrap());
    app.get(&format!("{ping}/fail")).await;
    let (known, public): (String, String) = sqlx::query_as(
        "SELECT status::text, public_status::text FROM components WHERE id = $1::uuid",
    )
    .bind(&export)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        (known.as_str(), public.as_str()),
        ("major_outage", "operational")
    );
    let deps = app
        .api_get(
            &format!("/api/v1/components/{reports}/dependencies"),
            &admin,
        )
        .await;
    assert_eq!(deps["upstream_trouble"][0]["name"], "Billing export");
    let mut browser = app.signed_in("ada@example.com", Role::Admin).await;
    let page = browser.get(&format!("/admin/components/{export}")).await;
    assert!(
        page.text.contains("heartbeat"),
        "the history names the cause"
    );
    // Back: the component is operational again, and so is the view from downstream.
    app.get(&ping).await;
    let known: String = app
        .scalar(&format!(
            "SELECT status::text FROM components WHERE id = '{export}'"
        ))
        .await;
    assert_eq!(known, "operational");
    let deps = app
        .api_get(
            &format!("/api/v1/components/{reports}/dependencies"),
            &admin,
        )
        .await;
    assert_eq!(deps["upstream_trouble"], json!([]));
    // A component that does not exist is refused in words.
    let r = app
        .post(
            "/api/v1/heartbeats",
            &admin,
            &json!({"name": "x", "period_seconds": 3600, "component_id": uuid::Uuid::new_v4()})
                .to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("no such component"), "{}", r.text);
}
