//! Headless Chromium (from the distribution's packages) driving the real server.

use fantoccini::{Client, ClientBuilder, Locator};
use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::app::AppState;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::{TestApp, PASSWORD};

/// A chromedriver process for the test, killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

/// Start chromedriver, or `None` (a skip) when Chromium is not installed outside CI.
pub async fn driver() -> Option<Driver> {
    driver_in_zone(None).await
}

/// [`driver`], with the browsers it starts set to the time zone `tz` (an IANA name, via
/// `TZ`, which Chromium inherits from chromedriver).
pub async fn driver_in_zone(tz: Option<&str>) -> Option<Driver> {
    let Some(chromedriver) = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])
    else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install chromium and chromium-driver"
        );
        eprintln!(
            "skipped: chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(chromedriver);
    if let Some(tz) = tz {
        command.env("TZ", tz);
    }
    let child = command
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(Driver { child, url })
}

/// A headless browser with a profile of its own, removed when it closes.
pub struct Browser {
    client: Client,
    _profile: tempfile::TempDir,
}

impl std::ops::Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A new headless browser with its own profile (cookies are not shared between them).
pub async fn browser(driver: &Driver, width: u32) -> Browser {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().to_owned();
    let chromium = find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"])
        .unwrap_or_else(|| "chromium".into());
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", format!("--window-size={width},1000"),
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let mut caps = caps.as_object().unwrap().clone();
    // Chromium keeps windows wider than a phone; emulate the phone's viewport instead.
    if width < 500 {
        caps["goog:chromeOptions"]["mobileEmulation"] = serde_json::json!({
            "deviceMetrics": {"width": width, "height": 844, "pixelRatio": 2, "touch": false}
        });
    }
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    Browser {
        client,
        _profile: dir,
    }
}

/// The real server on a free port.
pub async fn serve(app: &TestApp) -> (String, CancellationToken) {
    serve_with(app, |_| {}).await
}

/// The real server on a free port, with `adjust` applied to its settings.
pub async fn serve_with(
    app: &TestApp,
    adjust: impl FnOnce(&mut Settings),
) -> (String, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut settings = Settings::for_base_url(&base);
    adjust(&mut settings);
    let state = AppState::new(app.pool().clone(), settings);
    let shutdown = CancellationToken::new();
    // The public page rebuilds itself as in `fireline serve`.
    tokio::spawn(
        state
            .status_page
            .clone()
            .run(state.hub.clone(), shutdown.clone()),
    );
    tokio::spawn(fireline::app::consumer_runner(app.pool().clone()).run(shutdown.clone()));
    tokio::spawn(fireline::http::serve(
        listener,
        fireline::http::router(state),
        shutdown.clone().cancelled_owned(),
    ));
    (base, shutdown)
}

pub async fn sign_in(client: &Client, base: &str, email: &str) {
    client.goto(&format!("{base}/login")).await.unwrap();
    type_into(client, "#email", email).await;
    type_into(client, "#password", PASSWORD).await;
    click(client, "form button[type=submit]").await;
    wait_for_text(client, "h1", "Dashboard").await;
}

/// Wait until an element matching `css` contains `text` (up to 15 s: CI shares two cores
/// between the server, Chromium and the other tests).
pub async fn wait_for_text(client: &Client, css: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut seen = Vec::new();
        if let Ok(elements) = client.find_all(Locator::Css(css)).await {
            for el in elements {
                let t = el.text().await.unwrap_or_default();
                if t.contains(text) {
                    return;
                }
                seen.push(t);
            }
        }
        if Instant::now() > deadline {
            panic!("{text:?} did not appear in {css} within 15 s; saw {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_leaders_flow_in_a_real_browser_with_a_second_one_watching() {
    let Some(driver) = driver().await else { return };
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Responder).await;
    app.user("grace@example.com", Role::Responder).await;
    let (base, shutdown) = serve(&app).await;
    let leader = browser(&driver, 1280).await;
    let watcher = browser(&driver, 1280).await;

    sign_in(&leader, &base, "ada@example.com").await;
    // Declare from the button on every admin page, naming Grace as leader.
    click(&leader, "a.declare").await;
    wait_for_text(&leader, "h1", "Declare an incident").await;
    type_into(&leader, "#d-title", "Payments failing").await;
    click(&leader, "input[name=severity][value=sev1]").await;
    choose(&leader, "#d-leader", "grace").await;
    click(&leader, "form.stack button.primary").await;
    wait_for_text(&leader, "#leader", "grace").await;
    let incident_url = leader.current_url().await.unwrap();

    // Grace watches the same incident in another browser.
    sign_in(&watcher, &base, "grace@example.com").await;
    watcher.goto(incident_url.as_str()).await.unwrap();
    wait_for_text(&watcher, "h1", "Payments failing").await;

    // Ada takes command.
    click(&leader, ".command button.primary").await;
    wait_for_text(&leader, "#leader", "ada").await;
    wait_for_text(&watcher, "#leader", "ada").await;

    // A note in the root-cause workstream appears live for Grace.
    type_into(&leader, "#n-body", "Card processor returns 502 since 09:58").await;
    choose(&leader, "#n-ws", "Root cause").await;
    click(&leader, "#note-form button.primary").await;
    wait_for_text(&leader, "#log", "Card processor returns 502").await;
    wait_for_text(&watcher, "#log .event-body", "Card processor returns 502").await;

    // A public update, with the live preview.
    type_into(
        &leader,
        "#u-body",
        "We are **failing over** to the backup processor.",
    )
    .await;
    wait_for_text(&leader, "#u-preview strong", "failing over").await;
    choose(&leader, "#u-status", "Identified").await;
    click(&leader, "#update-form button[value=post]").await;
    wait_for_text(&leader, "#updates", "failing over").await;
    wait_for_text(&watcher, "#updates", "failing over").await;
    wait_for_text(&watcher, "#summary .ist", "Identified").await;

    leader.close().await;
    watcher.close().await;
    shutdown.cancel();
}

#[tokio::test]
async fn the_alerts_page_follows_groups_live_as_monitoring_sends_and_a_colleague_acknowledges() {
    let Some(driver) = driver().await else { return };
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Responder).await;
    let (_, grace) = app.token("grace@example.com", Role::Responder).await;
    let (_, key) = app.integration("alertmanager").await;
    let (base, shutdown) = serve(&app).await;
    // The processor of a serving process applies what the door stores.
    let processor = fireline::alerts::process::Processor::new(app.pool().clone());
    tokio::spawn(processor.run(shutdown.clone()));
    let ada = browser(&driver, 1280).await;
    sign_in(&ada, &base, "ada@example.com").await;
    ada.goto(&format!("{base}/admin/alerts")).await.unwrap();
    wait_for_text(&ada, "#no-groups", "No alerts yet").await;

    // Alertmanager sends; the row appears without a reload.
    let body = crate::alerts::am(
        "DiskFull",
        &[("db-1", "firing", "2026-03-01T10:00:00Z", None)],
    );
    let sent = reqwest::Client::new()
        .post(format!("{base}/ingest/{key}/alertmanager"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    wait_for_text(&ada, "#alert-groups tr.alert-group .title", "DiskFull").await;
    wait_for_text(&ada, "#alert-groups .state", "Firing").await;

    // Grace acknowledges through the API; Ada's page says so, again without a reload.
    let id: String = app.scalar("SELECT id::text FROM alert_groups").await;
    let acked = app
        .post(
            &format!("/api/v1/alert-groups/{id}/acknowledge"),
            &grace,
            "",
        )
        .await;
    assert_eq!(acked.status, axum::http::StatusCode::OK, "{}", acked.text);
    wait_for_text(&ada, "#alert-groups .state", "Acknowledged").await;

    ada.close().await;
    shutdown.cancel();
}

#[tokio::test]
async fn a_responders_update_shows_on_the_public_page_which_works_on_a_phone() {
    let Some(driver) = driver().await else { return };
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    for name in ["API", "Website"] {
        app.api_ok(
            axum::http::Method::POST,
            "/api/v1/components",
            &token,
            serde_json::json!({"name": name}),
            axum::http::StatusCode::CREATED,
        )
        .await;
    }
    app.user("ada@example.com", Role::Responder).await;
    let (base, shutdown) = serve(&app).await;
    app.state.status_page.refresh().await.unwrap();
    let responder = browser(&driver, 1280).await;
    sign_in(&responder, &base, "ada@example.com").await;
    responder
        .goto(&format!("{base}/admin/incidents/new"))
        .await
        .unwrap();
    type_into(&responder, "#d-title", "Website slow").await;
    click(&responder, "input[name=severity][value=sev3]").await;
    click(&responder, "form.stack button.primary").await;
    wait_for_text(&responder, "h1", "Website slow").await;
    type_into(&responder, "#u-body", "Pages load slowly; we are on it.").await;
    click(&responder, "#update-form button[value=post]").await;
    wait_for_text(&responder, "#updates", "Pages load slowly").await;
    responder.close().await;

    // The public page, as a customer on a phone sees it.
    let phone = browser(&driver, 390).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        phone.goto(&format!("{base}/")).await.unwrap();
        let text = phone
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("Pages load slowly; we are on it.") {
            assert!(text.contains("Website slow"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the update never reached the public page: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let overflow = phone
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(0) <= 0,
        "the page scrolls sideways on a phone by {overflow}px"
    );
    let banner = phone
        .find(Locator::Css(".banner h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(banner, "Partially Degraded Service");
    phone.close().await;
    shutdown.cancel();
}

/// Click the first element matching `css`.
pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Replace the text of the field matching `css` with `text`.
pub async fn fill(client: &Client, css: &str, text: &str) {
    let field = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Type `text` into the field matching `css`, after what it holds.
pub async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Pick the option labelled `label` in the select matching `css`.
pub async fn choose(client: &Client, css: &str, label: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .select_by_label(label)
        .await
        .unwrap();
}
