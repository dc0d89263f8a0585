//! Paging in real browsers: a critical alert's countdown shows on the Alerts page and
//! ticks; a colleague acknowledges in a second browser, and the first sees it live.

use fantoccini::Locator;
use fireline::accounts::Role;
use serde_json::json;
use std::time::Duration;

use crate::browser::{browser, click, driver, serve, sign_in, wait_for_text};
use crate::support::TestApp;

/// The seconds in "Paging ada in 25 s".
async fn seconds_left(client: &fantoccini::Client) -> i64 {
    let text = client
        .find(Locator::Css(".paging-counting"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.split_whitespace()
        .rev()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no seconds in {text:?}"))
}

#[tokio::test]
async fn the_countdown_ticks_on_the_alerts_page_and_an_acknowledgement_elsewhere_shows_live() {
    let Some(driver) = driver().await else { return };
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let ada = app
        .user("ada@example.com", Role::Responder)
        .await
        .id
        .to_string();
    let grace = app
        .user("grace@example.com", Role::Responder)
        .await
        .id
        .to_string();
    let team = app
        .team_on_rotation(&admin, "Platform", &[&ada, &grace])
        .await;
    app.created(
        "/api/v1/routing-rules",
        &admin,
        json!({"name": "Page Platform", "urgency": "critical", "team_id": team["id"]}),
    )
    .await;
    let (_, key) = app.integration("generic").await;
    let (base, shutdown) = serve(&app).await;
    let processor = fireline::alerts::process::Processor::new(app.pool().clone());
    tokio::spawn(processor.run(shutdown.clone()));

    let first = browser(&driver, 1280).await;
    let second = browser(&driver, 1280).await;
    sign_in(&first, &base, "ada@example.com").await;
    sign_in(&second, &base, "grace@example.com").await;
    for b in [&first, &second] {
        b.goto(&format!("{base}/admin/alerts")).await.unwrap();
        wait_for_text(b, "#no-groups", "No alerts yet").await;
    }

    let sent = reqwest::Client::new()
        .post(format!("{base}/ingest/{key}/generic"))
        .json(&json!({"dedup_key": "checkout", "title": "Checkout fails", "status": "firing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    wait_for_text(&first, "#alert-groups .paging-counting", "Paging ada in").await;
    let before = seconds_left(&first).await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let after = seconds_left(&first).await;
    assert!(
        after < before && after > 0,
        "the countdown ticks: {before} then {after}"
    );

    // Grace acknowledges from her own browser; Ada's page says so without a reload.
    wait_for_text(&second, "#alert-groups .paging-counting", "Paging ada in").await;
    click(&second, "#alert-groups button.ack").await;
    wait_for_text(
        &first,
        "#alert-groups .paging-acked",
        "acknowledged by grace",
    )
    .await;
    wait_for_text(&first, "#alert-groups .state", "Acknowledged").await;
    let paged: i64 = app.scalar("SELECT count(*) FROM page_recipients").await;
    assert_eq!(paged, 0, "nobody was paged");

    first.close().await;
    second.close().await;
    shutdown.cancel();
}
