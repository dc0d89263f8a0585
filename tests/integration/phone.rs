//! In headless Chromium: times in the browser's zone, and the admin UI and status page
//! at a phone's 390 px.

use fantoccini::{key::Key, Client, Locator};
use fireline::accounts::Role;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

use crate::browser::{
    browser, click, driver, driver_in_zone, serve, sign_in, type_into, wait_for_text,
};
use crate::support::TestApp;

async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap()
}

async fn no_sideways_scroll(client: &Client, what: &str) {
    let overflow = js(
        client,
        "return document.documentElement.scrollWidth - window.innerWidth;",
    )
    .await;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "{what} scrolls sideways on a phone by {overflow}px"
    );
}

/// An incident declared through the API whose impact began at `started_at`.
async fn incident(app: &TestApp, token: &str, started_at: &str) -> Value {
    app.declare(
        token,
        json!({
            "title": "Checkout failing",
            "severity": "sev2",
            "started_at": started_at,
            "initial_update": "We are looking into failed checkouts."
        }),
    )
    .await
}

#[tokio::test]
async fn a_browser_in_new_york_reads_the_incident_page_in_new_york_time() {
    let Some(driver) = driver_in_zone(Some("America/New_York")).await else {
        return;
    };
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let i = incident(&app, &token, "2026-01-15T14:30:00Z").await;
    let (base, shutdown) = serve(&app).await;
    let client = browser(&driver, 1280).await;
    sign_in(&client, &base, "ada@example.com").await;
    client
        .goto(&format!(
            "{base}/admin/incidents/{}",
            i["reference"].as_str().unwrap()
        ))
        .await
        .unwrap();
    wait_for_text(&client, "h1", "Checkout failing").await;
    let times = js(
        &client,
        "return Array.from(document.querySelectorAll('time')).map(t => \
           [t.getAttribute('datetime'), t.textContent, t.title]);",
    )
    .await;
    let times = times.as_array().unwrap();
    assert!(!times.is_empty());
    for t in times {
        let (datetime, text, title) = (
            t[0].as_str().unwrap(),
            t[1].as_str().unwrap(),
            t[2].as_str().unwrap(),
        );
        assert!(datetime.ends_with('Z'), "{t}");
        assert!(title.ends_with(" UTC"), "{t}");
        assert!(text.ends_with(" EST") || text.ends_with(" EDT"), "{t}");
    }
    // Impact began at 14:30 UTC, which is 09:30 in New York in January.
    let started = js(
        &client,
        "return document.querySelector('#lifecycle time[datetime=\"2026-01-15T14:30:00Z\"]').textContent;",
    )
    .await;
    assert_eq!(started, json!("2026-01-15 09:30 EST"));
    // The time inputs name and send the browser's zone.
    let zone = js(
        &client,
        "return [document.querySelector('#note-form input[name=time_zone]').value, \
                 document.querySelector('label[for=n-at] [data-zone-name]').textContent, \
                 document.querySelector('#ms-started').value];",
    )
    .await;
    assert_eq!(
        zone,
        json!(["America/New_York", "America/New_York", "2026-01-15T09:30"])
    );

    // Declaring with the prefilled "now" stores now: the value and its zone agree.
    client
        .goto(&format!("{base}/admin/incidents/new"))
        .await
        .unwrap();
    wait_for_text(&client, "label[for=d-started]", "America/New_York").await;
    type_into(&client, "#d-title", "Search slow").await;
    click(&client, "input[name=severity][value=sev3]").await;
    click(&client, "form.stack button.primary").await;
    wait_for_text(&client, "h1", "Search slow").await;
    let started: time::OffsetDateTime = app
        .scalar("SELECT started_at FROM incidents WHERE title = 'Search slow'")
        .await;
    let off = (time::OffsetDateTime::now_utc() - started).abs();
    assert!(
        off < time::Duration::minutes(3),
        "stored {started}, {off} off"
    );
    client.close().await;
    shutdown.cancel();
}

#[tokio::test]
async fn the_admin_ui_fits_a_phone_and_d_declares() {
    let Some(driver) = driver().await else { return };
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let i = incident(&app, &token, "2026-01-15T14:30:00Z").await;
    let (base, shutdown) = serve(&app).await;
    let phone = browser(&driver, 390).await;
    sign_in(&phone, &base, "ada@example.com").await;
    assert!(
        js(&phone, "return window.innerWidth;")
            .await
            .as_i64()
            .unwrap()
            <= 400
    );

    // The navigation is one closed menu, not four lines of links.
    let menu = js(
        &phone,
        "const m = document.getElementById('menu'); \
         return [m.open, document.getElementById('topbar').getBoundingClientRect().height];",
    )
    .await;
    assert_eq!(menu[0], json!(false), "the menu starts closed on a phone");
    assert!(
        menu[1].as_f64().unwrap() < 130.0,
        "the top bar is {}px tall",
        menu[1]
    );
    no_sideways_scroll(&phone, "the dashboard").await;
    click(&phone, "#menu > summary").await;
    // Open, every link is on one line (no word broken in two).
    let lines = js(
        &phone,
        "return Array.from(document.querySelectorAll('#menu nav a')).map(a => \
           [a.textContent, a.getClientRects().length, \
            a.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(a).lineHeight || 24)]);",
    )
    .await;
    for l in lines.as_array().unwrap() {
        assert_eq!(l[1], json!(1), "{l}");
        assert_eq!(l[2], json!(true), "{l} wraps");
    }
    no_sideways_scroll(&phone, "the open menu").await;

    // "d" outside a field declares; the title field has focus.
    assert!(phone.find(Locator::Css("a.declare kbd")).await.is_ok());
    type_into(&phone, "body", "d").await;
    wait_for_text(&phone, "h1", "Declare an incident").await;
    let focused = js(&phone, "return document.activeElement.id;").await;
    assert_eq!(focused, json!("d-title"));
    // Typing "d" into the title stays in the title.
    type_into(&phone, "#d-title", "db down").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        js(&phone, "return document.getElementById('d-title').value;").await,
        json!("db down")
    );
    no_sideways_scroll(&phone, "the declare page").await;

    // The incident page: status, leader and next step on the first screen, the update
    // form soon after, nothing sideways.
    phone
        .goto(&format!(
            "{base}/admin/incidents/{}",
            i["reference"].as_str().unwrap()
        ))
        .await
        .unwrap();
    wait_for_text(&phone, "h1", "Checkout failing").await;
    let place = js(
        &phone,
        "const top = (css) => document.querySelector(css).getBoundingClientRect().top; \
         return [top('#summary .ist'), top('#leader'), top('.next-action'), top('#update-form'), \
                 top('#log'), top('#workstreams-fold'), window.innerHeight, \
                 document.getElementById('workstreams-fold').open, \
                 document.getElementById('lifecycle-fold').open];",
    )
    .await;
    let p: Vec<f64> = place.as_array().unwrap()[..7]
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let screen = p[6];
    assert!(p[0] < screen && p[1] < screen && p[2] < screen, "{place}");
    assert!(p[3] < 2.0 * screen, "the update form starts at {}px", p[3]);
    assert!(
        p[4] < p[5],
        "the log comes before the folded workstreams: {place}"
    );
    assert_eq!(place[7], json!(false));
    assert_eq!(place[8], json!(false));
    no_sideways_scroll(&phone, "the incident page").await;
    phone.close().await;
    shutdown.cancel();
}

#[tokio::test]
async fn the_status_page_folds_quiet_days_and_shows_uptime_by_tap_and_keyboard() {
    let Some(driver) = driver().await else { return };
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    app.created("/api/v1/components", &token, json!({"name": "API"}))
        .await;
    let (base, shutdown) = serve(&app).await;
    app.state.status_page.refresh().await.unwrap();
    let phone = browser(&driver, 390).await;
    phone.goto(&format!("{base}/")).await.unwrap();
    let quiet = phone.find_all(Locator::Css("p.day.quiet")).await.unwrap();
    assert_eq!(quiet.len(), 1, "fourteen quiet days are one line");
    let line = quiet[0].text().await.unwrap();
    assert!(
        line.contains(" – ") && line.ends_with("No incidents reported."),
        "{line}"
    );
    no_sideways_scroll(&phone, "the status page").await;

    // One tab stop per strip: today's bar.
    let stops = js(
        &phone,
        "return document.querySelectorAll('.bars i[tabindex=\"0\"]').length;",
    )
    .await;
    assert_eq!(stops, json!(1));
    let detail = "const el = document.activeElement; \
                  return [el.matches('.bars > i'), el.getAttribute('aria-label'), \
                          getComputedStyle(el, '::after').content, \
                          Array.from(el.parentElement.children).indexOf(el)];";
    // Tap a bar: its detail shows.
    click(&phone, ".bars i:nth-child(45)").await;
    let tapped = js(&phone, detail).await;
    assert_eq!(tapped[0], json!(true), "{tapped}");
    assert_eq!(tapped[3], json!(44));
    let label = tapped[1].as_str().unwrap();
    assert!(tapped[2].as_str().unwrap().contains(label), "{tapped}");
    // The keyboard moves between days.
    let deadline = Instant::now() + Duration::from_secs(2);
    type_into(&phone, ".bars i:nth-child(45)", &Key::Left.to_string()).await;
    loop {
        let moved = js(&phone, detail).await;
        if moved[3] == json!(43) {
            assert!(moved[2]
                .as_str()
                .unwrap()
                .contains(moved[1].as_str().unwrap()));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "arrow keys did not move: {moved}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    phone.close().await;
    shutdown.cancel();
}
