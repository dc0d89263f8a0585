//! The responders' surfaces of alerts: the API's groups, alerts and history, acknowledge
//! and resolve by a person, and the admin Alerts and group pages with their buttons.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::alerts::am;
use crate::support::TestApp;
use fireline::accounts::Role;

const T0: &str = "2026-03-01T10:00:00Z";

/// A firing Alertmanager group `name` of two alerts, applied; the integration's key.
async fn firing_group(app: &TestApp, name: &str) -> String {
    let (_, key) = app.integration("alertmanager").await;
    send(app, &key, name, &[("a", "firing"), ("b", "firing")]).await;
    key
}

async fn send(app: &TestApp, key: &str, name: &str, alerts: &[(&str, &str)]) {
    let alerts: Vec<_> = alerts.iter().map(|(i, s)| (*i, *s, T0, None)).collect();
    let r = app
        .ingest(
            &format!("/ingest/{key}/alertmanager"),
            None,
            &am(name, &alerts),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    app.process_alerts().await;
}

async fn only_group(app: &TestApp, token: &str) -> Value {
    let page = app.api_get("/api/v1/alert-groups", token).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    page["items"][0].clone()
}

#[tokio::test]
async fn the_api_lists_groups_open_first_and_shows_one_with_its_alerts_and_history() {
    let app = TestApp::new().await;
    let (_, v) = app.token("vic@example.com", Role::Viewer).await;
    let key = firing_group(&app, "DiskFull").await;
    send(&app, &key, "Old", &[("x", "firing")]).await;
    send(&app, &key, "Old", &[("x", "resolved")]).await;
    let page = app.api_get("/api/v1/alert-groups", &v).await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["state"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["firing", "resolved"]);
    let firing = &page["items"][0];
    assert_eq!(firing["reference"], format!("ALR-{}", firing["number"]));
    assert_eq!(firing["alerts_firing"], 2);
    assert_eq!(firing["integration"]["kind"], "alertmanager");

    let only = app
        .api_get("/api/v1/alert-groups?state=resolved&state=silenced", &v)
        .await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1);
    assert_eq!(only["items"][0]["state"], "resolved");
    let bad = app
        .api(Method::GET, "/api/v1/alert-groups?state=asleep", &v, None)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);

    let one = app.api_get("/api/v1/alert-groups?limit=1", &v).await;
    let cursor = one["next_cursor"].as_str().unwrap();
    let next = app
        .api_get(&format!("/api/v1/alert-groups?limit=1&cursor={cursor}"), &v)
        .await;
    assert_eq!(next["items"][0]["state"], "resolved");
    assert!(next["next_cursor"].is_null());

    let gid = firing["id"].as_str().unwrap();
    let group = app
        .api_get(&format!("/api/v1/alert-groups/{gid}"), &v)
        .await;
    assert_eq!(group["alerts"].as_array().unwrap().len(), 2);
    // The sender's own object, as it sent it.
    let payload = &group["alerts"][0]["payload"];
    assert_eq!(
        payload["generatorURL"], "http://prometheus/graph",
        "{payload}"
    );
    assert_eq!(payload["labels"]["alertname"], "DiskFull");
    let events = app
        .api_get(&format!("/api/v1/alert-groups/{gid}/events"), &v)
        .await;
    // At the source's own times: the alerts began (T0) before the group opened here.
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["alert_fired", "alert_fired", "opened"]);
    let alerts = app
        .api_get(&format!("/api/v1/alerts?group_id={gid}&status=firing"), &v)
        .await;
    assert_eq!(alerts["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn paging_through_alerts_loses_none_while_monitoring_keeps_repeating_them() {
    let app = TestApp::new().await;
    let (_, v) = app.token("vic@example.com", Role::Viewer).await;
    let key = firing_group(&app, "DiskFull").await;
    send(&app, &key, "CpuHot", &[("c", "firing")]).await;
    let fingerprints = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["fingerprint"].as_str().unwrap().to_owned())
            .collect()
    };

    let mut page = app.api_get("/api/v1/alerts?limit=1", &v).await;
    // The newest first: CpuHot arrived after DiskFull.
    assert_eq!(fingerprints(&page), ["fp-c"]);
    let mut seen = fingerprints(&page);
    // Alertmanager re-sends DiskFull while the reader is between pages: its alerts are
    // seen again, and stay where the reader expects them.
    send(&app, &key, "DiskFull", &[("a", "firing"), ("b", "firing")]).await;
    while let Some(cursor) = page["next_cursor"].as_str() {
        page = app
            .api_get(&format!("/api/v1/alerts?limit=1&cursor={cursor}"), &v)
            .await;
        seen.extend(fingerprints(&page));
    }
    seen.sort();
    assert_eq!(seen, ["fp-a", "fp-b", "fp-c"]);
    let repeated = app.api_get("/api/v1/alerts?status=firing", &v).await;
    let received: Vec<i64> = repeated["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["times_received"].as_i64().unwrap())
        .collect();
    assert_eq!(received, [1, 2, 2], "{repeated}");
}

#[tokio::test]
async fn a_responder_acknowledges_a_group_and_a_viewer_cannot() {
    let app = TestApp::new().await;
    let (_, v) = app.token("vic@example.com", Role::Viewer).await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    firing_group(&app, "DiskFull").await;
    let gid = only_group(&app, &v).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/alert-groups/{gid}/acknowledge");

    let refused = app.post(&path, &v, "").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let acked = app
        .api_ok(Method::POST, &path, &r, json!(null), StatusCode::OK)
        .await;
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["acknowledged_by"]["name"], "rita");
    let again = app
        .api_ok(Method::POST, &path, &r, json!(null), StatusCode::OK)
        .await;
    assert_eq!(again["acknowledged_at"], acked["acknowledged_at"]);
    let events = app
        .api_get(&format!("/api/v1/alert-groups/{gid}/events"), &v)
        .await;
    let acks: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "acknowledged")
        .collect();
    assert_eq!(acks.len(), 1, "{events}");
    assert_eq!(acks[0]["actor"]["name"], "rita");
    let recorded: i64 = app
        .scalar("SELECT count(*) FROM domain_events WHERE kind = 'alert_group.acknowledged'")
        .await;
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn resolving_by_hand_resolves_the_alerts_and_the_next_firing_send_opens_a_new_group() {
    let app = TestApp::new().await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let key = firing_group(&app, "DiskFull").await;
    let gid = only_group(&app, &r).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resolve = format!("/api/v1/alert-groups/{gid}/resolve");
    let done = app
        .api_ok(Method::POST, &resolve, &r, json!(null), StatusCode::OK)
        .await;
    assert_eq!(done["state"], "resolved");
    assert_eq!(done["resolved_by"]["name"], "rita");
    assert_eq!(done["alerts_firing"], 0);
    assert!(done["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["status"] == "resolved"));

    for action in ["acknowledge", "resolve"] {
        let late = app
            .post(&format!("/api/v1/alert-groups/{gid}/{action}"), &r, "")
            .await;
        assert_eq!(
            late.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            late.text
        );
        assert!(late.text.contains("resolved already"), "{}", late.text);
    }

    send(&app, &key, "DiskFull", &[("a", "firing"), ("b", "firing")]).await;
    let page = app.api_get("/api/v1/alert-groups", &r).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["state"], "firing");
    assert_ne!(items[0]["id"], gid.as_str());
}

#[tokio::test]
async fn the_alerts_page_lists_groups_with_safe_runbook_links() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let mut body: Value = serde_json::from_str(&am("Safe", &[("a", "firing", T0, None)])).unwrap();
    body["commonAnnotations"] = json!({"runbook_url": "https://runbooks.example/disk"});
    let path = format!("/ingest/{key}/alertmanager");
    app.ingest(&path, None, &body.to_string()).await;
    let mut evil: Value = serde_json::from_str(&am("Evil", &[("a", "firing", T0, None)])).unwrap();
    evil["commonAnnotations"] = json!({"runbook_url": "javascript:alert(1)"});
    app.ingest(&path, None, &evil.to_string()).await;
    app.process_alerts().await;

    let mut browser = app.signed_in("vic@example.com", Role::Viewer).await;
    let page = browser.get("/admin/alerts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.select("tr.alert-group").len(), 2);
    assert_eq!(
        page.select("tr.alert-group .state.al-firing"),
        ["Firing", "Firing"]
    );
    assert_eq!(
        page.select("#menu nav a[href=\"/admin/alerts\"] .count"),
        ["2"]
    );
    assert_eq!(
        page.select(".chip")
            .iter()
            .filter(|c| c.as_str() == "alertname=Safe")
            .count(),
        1
    );
    let runbooks: Vec<String> = page
        .html()
        .select(&scraper::Selector::parse("a.runbook").unwrap())
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(runbooks, ["https://runbooks.example/disk"]);
    assert!(!page.text.contains("javascript:"));
    // A viewer gets no buttons.
    assert!(page.select("button.ack").is_empty());

    let urgent = browser.get("/admin/alerts?urgency=critical").await;
    assert!(urgent.select("tr.alert-group").is_empty());
    let resolved = browser.get("/admin/alerts?state=resolved").await;
    assert_eq!(resolved.select("#no-groups").len(), 1);
}

#[tokio::test]
async fn the_buttons_acknowledge_and_resolve_through_the_form_and_say_so() {
    let app = TestApp::new().await;
    firing_group(&app, "DiskFull").await;
    let number: i64 = app.scalar("SELECT number FROM alert_groups").await;
    let reference = format!("ALR-{number}");
    let mut browser = app.signed_in("rita@example.com", Role::Responder).await;
    let list = browser.get("/admin/alerts").await;
    assert_eq!(list.select("button.ack"), ["Acknowledge"]);

    let ack = format!("/admin/alert-groups/{reference}/acknowledge?from=list");
    let missing_csrf = browser.post_raw(&ack, &[]).await;
    assert_ne!(missing_csrf.status, StatusCode::SEE_OTHER);
    let r = browser.press("/admin/alerts", &ack).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.location(), "/admin/alerts");
    let after = browser.get("/admin/alerts").await;
    assert_eq!(
        after.select(".flash"),
        [format!("{reference} acknowledged: you are on it.")]
    );
    assert_eq!(after.select(".state.al-acknowledged"), ["Acknowledged"]);
    assert!(after.select("button.ack").is_empty());

    let group_page = format!("/admin/alert-groups/{reference}");
    let page = browser.get(&group_page).await;
    assert_eq!(page.select(".acknowledged-by"), ["Acknowledged by rita."]);
    assert_eq!(page.select("li.alert").len(), 2);
    assert!(page
        .select(".history li")
        .iter()
        .any(|h| h.contains("Acknowledged")));

    let resolve = format!("{group_page}/resolve");
    let r = browser.press(&group_page, &resolve).await;
    assert_eq!(r.location(), group_page);
    let page = browser.get(&group_page).await;
    assert!(page.select(".flash")[0].starts_with(&format!("{reference} resolved.")));
    assert_eq!(page.select(".state.al-resolved"), ["Resolved"]);
    assert!(page.select("button.resolve").is_empty());

    // Pressed again from a stale page: refused with the reason, nothing changes.
    let r = browser.press("/admin/alerts", &resolve).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = browser.get(&group_page).await;
    assert!(page.select(".flash")[0].contains("resolved already"));
}

#[tokio::test]
async fn alert_text_is_shown_as_plain_text() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("generic").await;
    let body = json!({"dedup_key": "k1", "title": "<b>bold</b> **title**", "status": "firing",
        "description": "<script>alert(1)</script> *not markdown*"});
    let r = app
        .ingest(&format!("/ingest/{key}/generic"), None, &body.to_string())
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    app.process_alerts().await;
    let number: i64 = app.scalar("SELECT number FROM alert_groups").await;
    let mut browser = app.signed_in("vic@example.com", Role::Viewer).await;
    let page = browser
        .get(&format!("/admin/alert-groups/ALR-{number}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page
        .select("script")
        .iter()
        .all(|s| !s.contains("alert(1)")));
    assert_eq!(
        page.select(".description"),
        ["<script>alert(1)</script> *not markdown*"]
    );
    assert!(page.select("h1 b").is_empty());
    // The payload excerpt is text too.
    let payload = &page.select(".payload pre")[0];
    assert!(
        payload.contains("\"<script>alert(1)</script> *not markdown*\""),
        "{payload}"
    );
}
