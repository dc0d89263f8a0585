//! The database going away: the public page keeps answering with its last good
//! version, readiness says so, writes get a clear 503, and all recovers by itself.

use axum::http::{Method, StatusCode};
use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::app::AppState;
use fireline::http::router as build_router;
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::support::{url_for, TestApp};

/// A TCP proxy to PostgreSQL that the test can cut and restore, like a network outage.
struct Proxy {
    addr: SocketAddr,
    tasks: JoinSet<()>,
}

impl Proxy {
    async fn start(addr: SocketAddr) -> Proxy {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target = url::Url::parse(&url_for("x")).unwrap();
        let upstream = format!(
            "{}:{}",
            target.host_str().unwrap(),
            target.port().unwrap_or(5432)
        );
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Proxy { addr, tasks }
    }

    /// Cut every connection and stop listening.
    async fn cut(mut self) -> SocketAddr {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        self.addr
    }
}

#[tokio::test]
async fn the_public_page_survives_the_database_going_away_and_recovers() {
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    app.created("/api/v1/components", &token, json!({"name": "API"}))
        .await;

    let proxy = Proxy::start("127.0.0.1:0".parse().unwrap()).await;
    let mut url = url::Url::parse(&app.db.url()).unwrap();
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.addr.port())).unwrap();
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .max_connections(4)
        .connect(url.as_str())
        .await
        .unwrap();
    let state = AppState::new(pool, Settings::for_base_url("http://fireline.test"));
    let router = build_router(state.clone());
    let get = |path: &str| {
        let router = router.clone();
        let req = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        async move {
            use tower::ServiceExt;
            let r = router.oneshot(req).await.unwrap();
            let status = r.status();
            let body = http_body_util::BodyExt::collect(r.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    state.status_page.refresh().await.unwrap();
    let (status, before) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!before.contains("cannot refresh"));

    // The database disappears.
    let addr = proxy.cut().await;
    assert!(state.status_page.refresh().await.is_err());
    let (status, page) = get("/").await;
    assert_eq!(status, StatusCode::OK, "the last good page is still served");
    assert!(
        page.contains("We cannot refresh this page right now"),
        "and says it may be old"
    );
    assert!(page.contains("API"));
    for path in [
        "/api/v2/summary.json",
        "/history.atom",
        "/history.rss",
        "/history",
    ] {
        assert_eq!(get(path).await.0, StatusCode::OK, "{path}");
    }
    let (status, ready) = get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.contains("unreachable"));
    // A write says clearly that nothing was saved.
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/components")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"name": "Web"}"#))
        .unwrap();
    let r = {
        use tower::ServiceExt;
        router.clone().oneshot(req).await.unwrap()
    };
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let body = http_body_util::BodyExt::collect(r.into_body())
        .await
        .unwrap()
        .to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Nothing was changed"),
        "{problem}"
    );

    // The database comes back: everything refreshes by itself.
    let _back = Proxy::start(addr).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if state.status_page.refresh().await.is_ok() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, page) = get("/").await;
    assert!(!page.contains("cannot refresh"));
    assert_eq!(get("/readyz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn starting_without_a_database_serves_a_temporarily_unavailable_page() {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/fireline")
        .unwrap();
    let state = AppState::new(pool, Settings::for_base_url("http://fireline.test"));
    let router = build_router(state);
    use tower::ServiceExt;
    for path in ["/", "/api/v2/summary.json", "/history.atom"] {
        let r = router
            .clone()
            .oneshot(
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(r.headers()["retry-after"], "5");
        let body = http_body_util::BodyExt::collect(r.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("Status temporarily unavailable"));
    }
}
