//! The admin surfaces of alerts: integrations with their key shown once, routing rules
//! with their test against a pasted payload, the live Alerts page, the navigation's
//! count and the scrape-time gauges.

use axum::http::StatusCode;
use fireline::accounts::Role;
use fireline::alerts::{keys, IntegrationKind};
use serde_json::json;
use std::time::Duration;

use crate::alerts::am;
use crate::live::{read_until, second_instance};
use crate::support::{Browser, TestApp};

const T0: &str = "2026-03-01T10:00:00Z";

/// Send a firing Alertmanager group `name` to `key` and apply it.
async fn fire(app: &TestApp, key: &str, name: &str) {
    let body = am(name, &[("a", "firing", T0, None)]);
    let r = app
        .ingest(&format!("/ingest/{key}/alertmanager"), None, &body)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    app.process_alerts().await;
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar::<i64>(sql).await
}

/// The single value of the form field `name` on `page`.
async fn field(browser: &mut Browser<'_>, page: &str, css: &str) -> String {
    let r = browser.get(page).await;
    r.attr(css, "value")
        .unwrap_or_else(|| panic!("no {css} on {page}: {}", r.text))
}

#[tokio::test]
async fn a_new_integration_shows_its_key_once_with_the_urls_and_the_alertmanager_receiver() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let made = admin
        .form(
            "/admin/integrations",
            &[
                ("name", "Production Alertmanager"),
                ("kind", "alertmanager"),
                ("default_urgency", "critical"),
                ("default_severity", "warning"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    assert_eq!(made.header("cache-control"), "no-store");
    let key = made.select("#key").remove(0);
    assert!(keys::is_well_formed(&key), "{key}");
    assert_eq!(
        made.select("#url-with-key"),
        [format!("http://fireline.test/ingest/{key}/alertmanager")]
    );
    assert_eq!(
        made.select("#url-bearer"),
        ["http://fireline.test/ingest/alertmanager"]
    );
    let config = made.html();
    let config = config
        .select(&scraper::Selector::parse("#config").unwrap())
        .next()
        .unwrap()
        .text()
        .collect::<String>();
    assert!(config.contains("webhook_configs:"), "{config}");
    assert!(
        config.contains("url: http://fireline.test/ingest/alertmanager\n"),
        "{config}"
    );
    assert!(config.contains("send_resolved: true"), "{config}");
    assert!(config.contains("type: Bearer"), "{config}");
    assert!(config.contains(&format!("credentials: {key}")), "{config}");

    // The key opens the door, with the defaults chosen.
    fire(&app, &key, "DiskFull").await;
    let urgency: String = app.scalar("SELECT urgency::text FROM alert_groups").await;
    assert_eq!(urgency, "critical");

    // Never again: not on the list, not on the integration's page.
    let list = admin.get("/admin/integrations").await;
    assert_eq!(
        list.select("tr.integration a.name"),
        ["Production Alertmanager"]
    );
    assert_eq!(
        list.select("tr.integration code.prefix"),
        [format!("{}…", &key[..4])]
    );
    let page_path = list.attr("tr.integration a.name", "href").unwrap();
    let page = admin.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.select("#key").is_empty());
    assert!(!page.text.contains(&key), "the key is shown once only");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'integration.created'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_admin_rotates_edits_and_deletes_an_integration() {
    let app = TestApp::new().await;
    let (id, old) = app.integration("pagerduty").await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let page = format!("/admin/integrations/{id}");

    let rotated = admin
        .submit(
            &page,
            &format!("{page}/rotate-key"),
            &[("grace_minutes", "0")],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_eq!(rotated.header("cache-control"), "no-store");
    let new = rotated.select("#key").remove(0);
    assert_ne!(new, old);
    assert_eq!(
        rotated.select("#url-events-v2"),
        ["http://fireline.test/v2/enqueue"]
    );
    assert_eq!(
        rotated.select("#url-events-v1"),
        ["http://fireline.test/generic/2010-04-15/create_event.json"]
    );
    assert!(rotated.text.contains(&format!("routing_key: {new}")));
    let kind = IntegrationKind::Pagerduty;
    let cache = &app.state.integration_keys;
    assert!(cache
        .lookup(app.pool(), &old, kind)
        .await
        .unwrap()
        .is_none());
    assert!(cache
        .lookup(app.pool(), &new, kind)
        .await
        .unwrap()
        .is_some());
    assert!(!admin.get(&page).await.text.contains(&new));

    let bad = admin
        .submit(
            &page,
            &format!("{page}/rotate-key"),
            &[("grace_minutes", "99999")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.select("#form-error")[0].contains("at most 10080 minutes"));

    let version = field(&mut admin, &page, "#edit-integration input[name=version]").await;
    let fields = [
        ("name", "PagerDuty clients"),
        ("default_urgency", "low"),
        ("default_severity", "info"),
        ("version", version.as_str()),
    ];
    let saved = admin.form(&page, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let shown = admin.get(&page).await;
    assert_eq!(shown.select("h1"), ["PagerDuty clients"]);
    let stale = admin.form(&page, &fields).await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stale.select("#form-error")[0].contains("Someone changed"));

    let deleted = admin.press(&page, &format!("{page}/delete")).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(deleted.location(), "/admin/integrations");
    assert_eq!(count(&app, "SELECT count(*) FROM integrations").await, 0);
    assert_eq!(admin.get(&page).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn viewers_and_responders_cannot_manage_integrations_or_routing_rules() {
    let app = TestApp::new().await;
    let (id, _) = app.integration("generic").await;
    for (email, role) in [
        ("vic@example.com", Role::Viewer),
        ("rita@example.com", Role::Responder),
    ] {
        let mut browser = app.signed_in(email, role).await;
        for path in [
            "/admin/integrations".to_owned(),
            format!("/admin/integrations/{id}"),
            "/admin/routing-rules".to_owned(),
        ] {
            let r = browser.get(&path).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} GET {path}");
        }
        for path in [
            "/admin/integrations".to_owned(),
            format!("/admin/integrations/{id}/rotate-key"),
            format!("/admin/integrations/{id}/delete"),
            "/admin/routing-rules".to_owned(),
            "/admin/routing-rules/test".to_owned(),
        ] {
            let r = browser
                .submit("/admin", &path, &[("name", "x"), ("kind", "generic")])
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} POST {path}");
        }
        let page = browser.get("/admin/alerts").await;
        assert!(page.select("#alert-admin").is_empty());
    }
    assert_eq!(count(&app, "SELECT count(*) FROM integrations").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM routing_rules").await, 0);
}

/// The rules' names in the order the page lists them.
async fn rule_names(admin: &mut Browser<'_>) -> Vec<String> {
    admin
        .get("/admin/routing-rules")
        .await
        .select("tr.rule a.name")
}

#[tokio::test]
async fn an_admin_creates_edits_moves_and_deletes_routing_rules() {
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let list = "/admin/routing-rules";
    let db = [
        ("name", "Database"),
        ("matchers", "team=\"db\"\nenv !~ dev|staging\n"),
        ("severity", "critical"),
        ("urgency", "critical"),
        ("enabled", "on"),
    ];
    let r = admin.form(list, &db).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let web = [
        ("name", "Web"),
        ("matchers", "service=~\"web.*\""),
        ("urgency", "low"),
        ("enabled", "on"),
        ("status", "degraded_performance"),
        ("status_component_label", "service"),
    ];
    assert_eq!(admin.form(list, &web).await.status, StatusCode::SEE_OTHER);
    assert_eq!(rule_names(&mut admin).await, ["Database", "Web"]);
    let page = admin.get(list).await;
    assert_eq!(
        page.select("tr.rule:first-child ul.matchers code"),
        ["team=\"db\"", "env!~\"dev|staging\""]
    );

    let rules = app.api_get("/api/v1/routing-rules", &token).await;
    let (db_id, web_id) = (
        rules[0]["id"].as_str().unwrap().to_owned(),
        rules[1]["id"].as_str().unwrap().to_owned(),
    );
    assert_eq!(rules[0]["severities"], json!(["critical"]));
    assert_eq!(rules[1]["component_status"]["apply"], "propose");

    // Edit: the form shows the rule as saved; unchecking "enabled" disables it.
    let edit = format!("{list}/{db_id}");
    let shown = admin.get(&edit).await;
    assert!(shown.select("#r-matchers")[0].contains("team=\"db\""));
    let version = field(&mut admin, &edit, "#rule-form input[name=version]").await;
    let fields = [
        ("name", "Database pages"),
        ("matchers", "team=\"db\""),
        ("urgency", "high"),
        ("version", version.as_str()),
    ];
    let saved = admin.form(&edit, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let rule = app
        .api_get(&format!("/api/v1/routing-rules/{db_id}"), &token)
        .await;
    assert_eq!(rule["enabled"], false);
    assert_eq!(rule["urgency"], "high");
    assert_eq!(rule["severities"], json!([]));

    // Move the second up, enable the first again, delete one.
    let version = rules[1]["version"].to_string();
    let fields = [("version", version.as_str()), ("direction", "up")];
    let moved = admin
        .submit(list, &format!("{list}/{web_id}/move"), &fields)
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text);
    assert_eq!(rule_names(&mut admin).await, ["Web", "Database pages"]);
    let stale = admin
        .submit(list, &format!("{list}/{web_id}/move"), &fields)
        .await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
    assert_eq!(rule_names(&mut admin).await, ["Web", "Database pages"]);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'routing_rule.moved'"
        )
        .await,
        2
    );
    let rule = app
        .api_get(&format!("/api/v1/routing-rules/{db_id}"), &token)
        .await;
    let version = rule["version"].to_string();
    let fields = [("version", version.as_str()), ("enabled", "true")];
    let enabled = admin
        .submit(list, &format!("{list}/{db_id}/enabled"), &fields)
        .await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER);
    let rule = app
        .api_get(&format!("/api/v1/routing-rules/{db_id}"), &token)
        .await;
    assert_eq!(rule["enabled"], true);

    let deleted = admin.press(list, &format!("{list}/{web_id}/delete")).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(rule_names(&mut admin).await, ["Database pages"]);
}

#[tokio::test]
async fn a_bad_matcher_or_regular_expression_is_refused_with_a_page_saying_why() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let list = "/admin/routing-rules";
    let bad = admin
        .form(
            list,
            &[
                ("name", "Broken"),
                ("matchers", "team=~\"db((\""),
                ("urgency", "high"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    let message = &bad.select("#form-error")[0];
    assert!(
        message.contains("regular expression for `team` is invalid"),
        "{message}"
    );
    assert_eq!(
        bad.select("#r-matchers"),
        ["team=~\"db((\""],
        "kept as typed"
    );
    let no_operator = admin
        .form(
            list,
            &[
                ("name", "Broken"),
                ("matchers", "\nteam db"),
                ("urgency", "high"),
            ],
        )
        .await;
    assert_eq!(no_operator.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_operator.select("#form-error")[0].contains("Matcher on line 2"));
    assert_eq!(count(&app, "SELECT count(*) FROM routing_rules").await, 0);
}

#[tokio::test]
async fn testing_the_rules_on_a_pasted_payload_shows_the_match_and_writes_nothing() {
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    let (id, _) = app.integration("alertmanager").await;
    let rule = json!({"name": "Disks", "matchers": [{"label": "alertname", "op": "=", "value": "DiskFull"}],
                      "urgency": "critical", "declare": {"severity": "sev2"}});
    app.created("/api/v1/routing-rules", &token, rule).await;
    let mut admin = app.signed_in("ada@example.com", Role::Admin).await;
    let tables = [
        "routing_rules",
        "alert_groups",
        "alerts",
        "alert_intake",
        "audit_log",
        "domain_events",
        "incidents",
    ];
    let mut before = Vec::new();
    for t in tables {
        before.push(count(&app, &format!("SELECT count(*) FROM {t}")).await);
    }

    let list = "/admin/routing-rules";
    let test = format!("{list}/test");
    let payload = am("DiskFull", &[("a", "firing", T0, None)]);
    let fields = [
        ("kind", "alertmanager"),
        ("integration_id", id.as_str()),
        ("payload", payload.as_str()),
    ];
    let r = admin.submit(list, &test, &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.select("#matched-rule"), ["Disks"]);
    assert_eq!(r.select("#result-urgency"), ["Critical"]);
    assert!(
        r.select("#would-declare")[0].starts_with("SEV2"),
        "{:?}",
        r.select("#would-declare")
    );

    let other = am("CpuHot", &[("a", "firing", T0, None)]);
    let fields = [
        ("kind", "alertmanager"),
        ("integration_id", ""),
        ("payload", other.as_str()),
    ];
    let r = admin.submit(list, &test, &fields).await;
    assert_eq!(
        r.select("#matched-rule"),
        ["No rule: the integration's default route"]
    );
    assert_eq!(r.select("#result-urgency"), ["High"]);

    let fields = [
        ("kind", "alertmanager"),
        ("integration_id", ""),
        ("payload", "{not json"),
    ];
    let r = admin.submit(list, &test, &fields).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.select(".test-error")[0].contains("cannot be read"),
        "{}",
        r.text
    );
    assert!(r.select("#result-urgency").is_empty());

    for (t, n) in tables.iter().zip(before) {
        assert_eq!(
            count(&app, &format!("SELECT count(*) FROM {t}")).await,
            n,
            "{t}"
        );
    }
}

#[tokio::test]
async fn the_alerts_page_stream_sends_the_rows_after_an_alert_is_processed() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let mut browser = app.signed_in("rita@example.com", Role::Responder).await;
    let page = browser.get("/admin/alerts?state=firing").await;
    assert_eq!(
        page.attr("#alert-groups", "data-live").as_deref(),
        Some("/admin/alerts/live?state=firing")
    );
    let cookie = format!("fireline_session={}", browser.cookies["fireline_session"]);
    let (base, shutdown) = second_instance(&app).await;
    let mut stream = reqwest::Client::new()
        .get(format!("{base}/admin/alerts/live?state=firing"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let (first, _) = read_until(
        &mut stream,
        "No alert group matches",
        Duration::from_secs(5),
    )
    .await;
    assert!(first.contains("event: groups"), "{first}");

    fire(&app, &key, "DiskFull").await;
    let (text, took) =
        read_until(&mut stream, "class=\"alert-group\"", Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(text.contains("event: groups"), "{text}");
    assert!(text.contains("DiskFull"), "{text}");
    assert!(
        text.contains("/acknowledge?from=list"),
        "responders get the buttons: {text}"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn the_navigation_counts_the_firing_groups() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    let mut viewer = app.signed_in("vic@example.com", Role::Viewer).await;
    let nav = "nav a[href=\"/admin/alerts\"] .count";
    assert!(viewer.get("/admin").await.select(nav).is_empty());
    fire(&app, &key, "DiskFull").await;
    fire(&app, &key, "CpuHot").await;
    assert_eq!(viewer.get("/admin/incidents").await.select(nav), ["2"]);
    app.exec(
        "UPDATE alert_groups SET state = 'acknowledged' WHERE labels->>'alertname' = 'CpuHot'",
    )
    .await;
    assert_eq!(viewer.get("/admin").await.select(nav), ["1"]);
}

#[tokio::test]
async fn the_scrape_reports_groups_by_state_and_urgency_and_each_integration() {
    let app = TestApp::new().await;
    let (id, key) = app.integration("alertmanager").await;
    fire(&app, &key, "DiskFull").await;
    fire(&app, &key, "CpuHot").await;
    app.exec("UPDATE alert_groups SET state = 'resolved', resolved_at = now() WHERE labels->>'alertname' = 'CpuHot'")
        .await;
    let name: String = app.scalar("SELECT name FROM integrations").await;
    let text = app.get("/metrics").await.text;
    assert!(
        text.contains("fireline_alert_groups{state=\"firing\",urgency=\"high\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("fireline_alert_groups{state=\"resolved\",urgency=\"high\"} 1\n"));
    assert!(text.contains("fireline_alert_groups{state=\"acknowledged\",urgency=\"critical\"} 0\n"));
    assert!(text.contains(&format!(
        "fireline_integration_info{{integration_id=\"{id}\",name=\"{name}\",kind=\"alertmanager\"}} 1\n"
    )), "{text}");

    app.exec("DELETE FROM integrations").await;
    let text = app.get("/metrics").await.text;
    assert!(
        !text.contains(&id),
        "a deleted integration leaves the scrape"
    );
    assert!(text.contains("fireline_alert_groups{state=\"firing\",urgency=\"high\"} 0\n"));
}
