//! Security headers on every response over a real socket: the documents served from
//! memory, their 304s and HEADs, the API, errors and the signed-in pages.

use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::app::AppState;
use reqwest::{Method, Response, StatusCode};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::{Running, TestApp};

const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const DOCUMENT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// A red pixel.
const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0,
    0, 0, 144, 119, 83, 222, 0, 0, 0, 12, 73, 68, 65, 84, 120, 156, 99, 248, 207, 192, 0, 0, 3, 1,
    1, 0, 201, 254, 146, 239, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// The demo data with a logo, served by the real server on port 0.
async fn serve(app: &TestApp) -> (String, Running) {
    fireline::cli::demo::seed(app.pool(), false).await.unwrap();
    let mut conn = app.pool().acquire().await.unwrap();
    fireline::status_page::settings::set_logo(&mut conn, Some((PNG, "image/png")))
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(app.pool().clone(), Settings::for_base_url(&base));
    state.status_page.refresh().await.unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(fireline::http::serve(
        listener,
        fireline::http::router(state),
        stop.clone().cancelled_owned(),
    ));
    (base, Running(stop))
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The headers every response carries, with the policy its kind of body calls for.
fn assert_protected(what: &str, response: &Response, page: bool) {
    let csp = header(response, "content-security-policy");
    assert_eq!(
        csp,
        if page { PAGE_CSP } else { DOCUMENT_CSP },
        "{what}: CSP"
    );
    assert_eq!(
        header(response, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(
        header(response, "referrer-policy"),
        "strict-origin-when-cross-origin",
        "{what}"
    );
    assert_eq!(header(response, "x-frame-options"), "DENY", "{what}");
}

const CACHED: [(&str, bool); 13] = [
    ("/", true),
    ("/theme.css", false),
    ("/logo", false),
    ("/history.atom", false),
    ("/history.rss", false),
    ("/api/v2/summary.json", false),
    ("/api/v2/status.json", false),
    ("/api/v2/components.json", false),
    ("/api/v2/incidents.json", false),
    ("/api/v2/incidents/unresolved.json", false),
    ("/api/v2/scheduled-maintenances.json", false),
    ("/api/v2/scheduled-maintenances/upcoming.json", false),
    ("/api/v2/scheduled-maintenances/active.json", false),
];

#[tokio::test]
async fn every_public_document_its_304_and_its_head_carry_the_security_headers() {
    let app = TestApp::new().await;
    let (base, _running) = serve(&app).await;
    let client = reqwest::Client::new();
    let incidents: serde_json::Value = client
        .get(format!("{base}/api/v2/incidents.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let incident = format!(
        "/incidents/{}",
        incidents["incidents"][0]["id"].as_str().unwrap()
    );
    let mut documents = CACHED.to_vec();
    documents.push((&incident, true));
    documents.push(("/history", true));

    for (path, page) in documents {
        for encoding in ["identity", "gzip", "br"] {
            let full = client
                .get(format!("{base}{path}"))
                .header("accept-encoding", encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(full.status(), StatusCode::OK, "{path}");
            assert_protected(&format!("GET {path} ({encoding})"), &full, page);
        }
        let full = client.get(format!("{base}{path}")).send().await.unwrap();
        let etag = header(&full, "etag").to_owned();
        assert!(!etag.is_empty(), "{path} has an ETag");

        // A cache that revalidates takes the 304's headers over: they must be the same.
        let not_modified = client
            .get(format!("{base}{path}"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_protected(&format!("304 {path}"), &not_modified, page);

        let head = client.head(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK, "HEAD {path}");
        assert_protected(&format!("HEAD {path}"), &head, page);
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has no body"
        );
    }
}

#[tokio::test]
async fn the_api_errors_assets_and_signed_in_pages_carry_them_too() {
    let app = TestApp::new().await;
    let (base, _running) = serve(&app).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cases = [
        (Method::GET, "/static/status.css", StatusCode::OK, false),
        (Method::GET, "/static/status.js", StatusCode::OK, false),
        (Method::GET, "/subscribe", StatusCode::OK, true),
        (Method::GET, "/login", StatusCode::OK, true),
        (Method::GET, "/admin", StatusCode::SEE_OTHER, true),
        (Method::GET, "/healthz", StatusCode::OK, false),
        (Method::GET, "/readyz", StatusCode::OK, false),
        (Method::GET, "/metrics", StatusCode::OK, false),
        (Method::GET, "/api/openapi.json", StatusCode::OK, false),
        (Method::GET, "/api/v1/me", StatusCode::UNAUTHORIZED, false),
        (Method::GET, "/nowhere", StatusCode::NOT_FOUND, true),
        (
            Method::GET,
            "/api/v2/nowhere.json",
            StatusCode::NOT_FOUND,
            false,
        ),
        (Method::POST, "/", StatusCode::METHOD_NOT_ALLOWED, false),
    ];
    for (method, path, status, page) in cases {
        let response = client
            .request(method.clone(), format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        assert_protected(&format!("{method} {path}"), &response, page);
    }

    // Bodies over the limit, refused before they are read.
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let big = vec![b'x'; 2 * 1024 * 1024];
    let bodies = [
        ("/api/v1/incidents", "application/json", false),
        ("/subscribe", "application/x-www-form-urlencoded", true),
    ];
    for (path, content_type, page) in bodies {
        let response = client
            .post(format!("{base}{path}"))
            .header("content-type", content_type)
            .bearer_auth(&token)
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_protected(&format!("POST {path}"), &response, page);
    }

    // Signed-in pages also stay out of caches.
    let login = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(header(&login, "cache-control"), "no-store");
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert!(header(&page, "cache-control").starts_with("public"));
}

#[tokio::test]
async fn the_status_page_loads_its_styles_script_and_logo_under_its_policy() {
    let Some(driver) = crate::browser::driver().await else {
        return;
    };
    let app = TestApp::new().await;
    let (base, _running) = serve(&app).await;
    let browser = crate::browser::browser(&driver, 1280).await;
    browser.goto(&format!("{base}/")).await.unwrap();
    let loaded = browser
        .execute(
            "const sheets = Array.from(document.styleSheets);
             const logo = document.querySelector('header .brand img');
             const time = document.querySelector('time[data-local]');
             return {
               sheets: sheets.length,
               rules: sheets.every(s => s.cssRules.length > 0),
               logo: !!logo && logo.complete && logo.naturalWidth === 1,
               script: !!time && time.title !== '',
             };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        loaded,
        serde_json::json!({"sheets": 2, "rules": true, "logo": true, "script": true}),
        "blocked by the policy?"
    );
    browser.close().await;
}
