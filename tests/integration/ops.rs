//! Health, readiness, metrics, request ids, security headers and the OpenAPI document.

use axum::http::StatusCode;
use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::app::AppState;
use fireline::http::router as build_router;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;
use tower::ServiceExt;

use crate::support::TestApp;

#[tokio::test]
async fn health_and_readiness_answer_when_all_is_well() {
    let app = TestApp::new().await;
    let r = app.get("/healthz").await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "ok\n"));
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["database"], "ok");
    assert_eq!(r.json()["migrations"], "ok");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone_but_liveness_holds() {
    // A pool pointing at an address where no database listens.
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy("postgres://postgres@127.0.0.1:1/fireline")
        .unwrap();
    let router = build_router(AppState::new(
        pool,
        Settings::for_base_url("http://fireline.test"),
    ));
    let get = |path: &str| {
        axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };

    let r = router.clone().oneshot(get("/readyz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = http_body_util::BodyExt::collect(r.into_body())
        .await
        .unwrap()
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        json["database"]
            .as_str()
            .unwrap()
            .starts_with("unreachable"),
        "{json}"
    );

    let r = router.clone().oneshot(get("/healthz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Pages that need the database say so with a 503 rather than failing obscurely.
    let req = axum::http::Request::get("/admin")
        .header("cookie", "fireline_session=abc")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = router.oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_pool_and_jobs() {
    let app = TestApp::new().await;
    app.get("/healthz").await;
    app.get("/api/v1/me").await;
    fireline::platform::jobs::enqueue(
        app.pool(),
        fireline::platform::jobs::NewJob::new("test_job", serde_json::json!({})),
    )
    .await
    .unwrap();
    let r = app.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.text;
    assert!(
        text.contains(
            r#"fireline_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/me",status="401""#),
        "{text}"
    );
    assert!(
        text.contains("fireline_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("fireline_db_pool_connections "), "{text}");
    assert!(
        text.contains(r#"fireline_jobs{state="pending"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"fireline_jobs{state="dead"} 0"#), "{text}");
}

#[tokio::test]
async fn metrics_keep_a_few_label_sets_whatever_paths_and_methods_a_fuzzer_sends() {
    let app = TestApp::new().await;
    for i in 0..40 {
        let method = axum::http::Method::from_bytes(format!("FUZZ{i}").as_bytes()).unwrap();
        let path = format!("/fuzz-path-{i}?q={i}");
        app.send(
            axum::http::Request::builder()
                .method(method)
                .uri(&path)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
        app.get(&format!("/api/v1/incidents/{}", uuid::Uuid::new_v4()))
            .await;
    }
    let text = app.get("/metrics").await.text;
    assert!(
        !text.contains("FUZZ") && !text.contains("fuzz-path"),
        "{text}"
    );
    let counted = |needle: &str| {
        text.lines()
            .filter(|l| l.starts_with("fireline_http_requests_total{") && l.contains(needle))
            .count()
    };
    assert_eq!(counted(r#"method="other",route="unmatched""#), 1, "{text}");
    assert_eq!(counted(r#"route="/api/v1/incidents/{id}""#), 1, "{text}");
    assert!(
        text.contains(
            r#"fireline_http_requests_total{method="other",route="unmatched",status="404"} 40"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = TestApp::new().await;
    let mut browser = app.signed_in("ada@example.com", Role::Admin).await;
    let page = browser.get("/admin/users").await;
    assert!(uuid::Uuid::parse_str(page.header("x-request-id")).is_ok());
    let csp = page.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(!page.header("referrer-policy").is_empty());

    let problem = app.get("/api/v1/me").await;
    assert_eq!(problem.header("x-content-type-options"), "nosniff");
    assert_eq!(problem.json()["request_id"], problem.header("x-request-id"));

    // A request id sent by a proxy is kept.
    let req = axum::http::Request::get("/healthz")
        .header("x-request-id", "from-the-proxy-1")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(
        app.send(req).await.header("x-request-id"),
        "from-the-proxy-1"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = TestApp::new().await;
    let r = app.get("/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/component-groups",
        "/api/v1/component-groups/{id}",
        "/api/v1/components",
        "/api/v1/components/{id}",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/incidents/{id}/events",
        "/api/v1/incidents/{id}/updates",
        "/api/v1/incidents/{id}/stream",
        "/api/v1/incidents/{id}/workstreams",
        "/api/v1/workstreams/{id}",
        "/api/v1/workstreams/{id}/tasks",
        "/api/v1/tasks/{id}",
        "/api/v1/maintenances",
        "/api/v1/maintenances/{id}",
        "/api/v1/maintenances/{id}/updates",
        "/api/v1/subscribers",
        "/api/v1/subscribers/{id}",
        "/api/v1/subscribers/{id}/deliveries",
        "/api/v1/incidents/{id}/postmortem",
        "/api/v1/postmortems/{id}",
        "/api/v1/postmortems/{id}/markdown",
        "/api/v1/postmortems/{id}/action-items",
        "/api/v1/action-items",
        "/api/v1/action-items/{id}",
        "/api/v1/postmortem-templates",
        "/api/v1/postmortem-templates/{id}",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    assert!(paths["/api/v1/users"]["post"].is_object());
    assert!(paths["/api/v1/incidents/{id}"]["patch"].is_object());
    assert!(paths["/api/v1/subscribers"]["post"].is_object());
    assert!(paths["/api/v1/subscribers/{id}"]["delete"].is_object());
    let severity = &doc["components"]["schemas"]["Severity"]["enum"];
    assert_eq!(
        severity,
        &serde_json::json!(["sev1", "sev2", "sev3", "sev4"])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// utoipa names a schema after its type and keeps one schema per name, so two types of
/// one name (a request body and a response field, say) silently share the schema of
/// whichever was registered last, and the document lies about the other.
#[test]
fn no_two_api_types_give_their_schema_the_same_name() {
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut named: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if !(line.trim_start().starts_with("#[derive(") && line.contains("ToSchema")) {
                continue;
            }
            let mut renamed = None;
            for line in lines.by_ref() {
                let line = line.trim();
                if let Some(rest) = line.strip_prefix("#[schema(as = ") {
                    renamed = rest.split([')', ',']).next().map(str::to_owned);
                }
                let item = ["pub struct ", "pub enum ", "struct ", "enum "]
                    .iter()
                    .find_map(|p| line.strip_prefix(p));
                if let Some(item) = item {
                    let name = item
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap()
                        .to_owned();
                    let where_ = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
                    named
                        .entry(renamed.take().unwrap_or(name))
                        .or_default()
                        .push(where_.display().to_string());
                    break;
                }
            }
        }
    }
    assert!(named.len() > 50, "too few schemas found: {named:?}");
    let shared: Vec<_> = named.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(shared.is_empty(), "schema names used twice: {shared:#?}");
}

#[tokio::test]
async fn static_files_are_served_from_the_binary() {
    let app = TestApp::new().await;
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.text.contains("prefers-color-scheme"));
    assert_eq!(
        app.get("/static/../Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_favicon_is_served_and_linked_from_every_layout() {
    let app = TestApp::new().await;
    let ico = app.get("/favicon.ico").await;
    assert_eq!(ico.status, StatusCode::OK);
    assert_eq!(ico.header("content-type"), "image/x-icon");
    assert!(ico.header("cache-control").contains("max-age="));
    assert_eq!(
        &ico.text.as_bytes()[..4],
        [0, 0, 1, 0],
        "an ICO file's header"
    );
    let svg = app.get("/static/favicon.svg").await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.header("content-type"), "image/svg+xml");
    assert!(svg.text.starts_with("<svg"));

    app.state.status_page.refresh().await.unwrap();
    for path in ["/login", "/"] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(
            page.attr("link[rel=icon][type='image/svg+xml']", "href")
                .as_deref(),
            Some("/static/favicon.svg"),
            "{path}"
        );
        assert_eq!(
            page.attr("link[rel=icon][sizes]", "href").as_deref(),
            Some("/favicon.ico"),
            "{path}"
        );
    }
}
