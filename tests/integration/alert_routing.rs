//! Routing rules through the real router and the processor: which rule a group takes,
//! urgency that only rises, the rule API's refusals and audit, and `/test`.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::TestApp;
use fireline::accounts::Role;

const RULES: &str = "/api/v1/routing-rules";

/// An Alertmanager v4 message of one firing alert whose group shares `labels`.
fn am(group: &str, labels: Value) -> String {
    let mut alert_labels = labels.clone();
    alert_labels["alertname"] = json!(group);
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{group}\"}}"),
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "fireline",
        "groupLabels": {"alertname": group},
        "commonLabels": alert_labels,
        "commonAnnotations": {"summary": format!("{group} is bad")},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": "firing",
            "labels": alert_labels,
            "annotations": {"summary": format!("{group} is bad")},
            "startsAt": "2024-05-01T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            "fingerprint": format!("fp-{group}"),
        }],
    })
    .to_string()
}

async fn admin(app: &TestApp) -> String {
    app.token("root@example.com", Role::Admin).await.1
}

async fn rule(app: &TestApp, token: &str, body: Value) -> Value {
    app.created(RULES, token, body).await
}

/// Deliver `body` to the Alertmanager door of `key` and apply it.
async fn deliver(app: &TestApp, key: &str, body: &str) {
    let path = format!("/ingest/{key}/alertmanager");
    assert_eq!(
        app.ingest(&path, None, body).await.status,
        StatusCode::ACCEPTED
    );
    app.process_alerts().await;
}

/// The group of alertname `group`: (urgency, routing rule id).
async fn routed(app: &TestApp, group: &str) -> (String, Option<uuid::Uuid>) {
    sqlx::query_as(
        "SELECT urgency::text, routing_rule_id FROM alert_groups WHERE labels->>'alertname' = $1",
    )
    .bind(group)
    .fetch_one(app.pool())
    .await
    .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(app.pool()).await.unwrap()
}

fn uuid_of(v: &Value) -> Option<uuid::Uuid> {
    v["id"].as_str().and_then(|s| s.parse().ok())
}

#[tokio::test]
async fn the_first_matching_rule_by_position_routes_a_group_and_the_rest_take_the_default() {
    let app = TestApp::new().await;
    let a = admin(&app).await;
    let (_, key) = app.integration("alertmanager").await;
    let later = rule(
        &app,
        &a,
        json!({"name": "any api", "position": 20, "urgency": "low",
        "matchers": [{"label": "service", "op": "=", "value": "api"}]}),
    )
    .await;
    let first = rule(
        &app,
        &a,
        json!({"name": "api in prod", "position": 10, "urgency": "critical",
        "matchers": [{"label": "service", "op": "=", "value": "api"},
                     {"label": "env", "op": "=", "value": "prod"}]}),
    )
    .await;
    deliver(
        &app,
        &key,
        &am("ProdDown", json!({"service": "api", "env": "prod"})),
    )
    .await;
    deliver(
        &app,
        &key,
        &am("DevDown", json!({"service": "api", "env": "dev"})),
    )
    .await;
    deliver(&app, &key, &am("DbDown", json!({"service": "db"}))).await;
    assert_eq!(
        routed(&app, "ProdDown").await,
        ("critical".into(), uuid_of(&first))
    );
    assert_eq!(
        routed(&app, "DevDown").await,
        ("low".into(), uuid_of(&later))
    );
    // No rule: the integration's default route (high), no rule.
    assert_eq!(routed(&app, "DbDown").await, ("high".into(), None));
}

#[tokio::test]
async fn urgency_rises_on_a_later_delivery_and_never_falls() {
    let app = TestApp::new().await;
    let a = admin(&app).await;
    let (_, key) = app.integration("alertmanager").await;
    rule(
        &app,
        &a,
        json!({"name": "pages", "urgency": "critical",
        "matchers": [{"label": "level", "op": "=", "value": "page"}]}),
    )
    .await;
    rule(
        &app,
        &a,
        json!({"name": "tickets", "urgency": "low",
        "matchers": [{"label": "level", "op": "=", "value": "ticket"}]}),
    )
    .await;
    deliver(&app, &key, &am("Latency", json!({"level": "ticket"}))).await;
    assert_eq!(routed(&app, "Latency").await.0, "low");
    deliver(&app, &key, &am("Latency", json!({"level": "page"}))).await;
    assert_eq!(routed(&app, "Latency").await.0, "critical");
    deliver(&app, &key, &am("Latency", json!({"level": "ticket"}))).await;
    assert_eq!(routed(&app, "Latency").await.0, "critical");
    let escalated = "SELECT count(*) FROM alert_group_events WHERE kind = 'escalated'";
    assert_eq!(count(&app, escalated).await, 1);
    let body: String =
        sqlx::query_scalar("SELECT body FROM alert_group_events WHERE kind = 'escalated'")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(
        body,
        "Escalated: urgency low → critical (routing rule \"pages\")."
    );
    let events = "SELECT count(*) FROM domain_events WHERE kind = 'alert_group.escalated'";
    assert_eq!(count(&app, events).await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM alert_groups").await, 1);
}

#[tokio::test]
async fn a_component_status_action_only_proposes_and_changes_no_component() {
    let app = TestApp::new().await;
    let a = admin(&app).await;
    let (_, key) = app.integration("alertmanager").await;
    let component = app
        .created("/api/v1/components", &a, json!({"name": "Checkout"}))
        .await;
    rule(
        &app,
        &a,
        json!({"name": "checkout down", "urgency": "critical",
        "component_status": {"component_label": "component", "status": "major_outage"}}),
    )
    .await;
    deliver(
        &app,
        &key,
        &am("CheckoutDown", json!({"component": "checkout"})),
    )
    .await;
    let proposals: Value = sqlx::query_scalar("SELECT proposals FROM alert_groups")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(
        proposals,
        json!([{"component_id": component["id"], "status": "major_outage"}])
    );
    let body: String =
        sqlx::query_scalar("SELECT body FROM alert_group_events WHERE kind = 'component_proposed'")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert!(
        body.starts_with("Proposed: component Checkout → Major outage"),
        "{body}"
    );
    let now = app
        .api_get(
            &format!("/api/v1/components/{}", component["id"].as_str().unwrap()),
            &a,
        )
        .await;
    assert_eq!(now["status"], "operational");
    let known = json!({"name": "public", "urgency": "high",
        "component_status": {"component_ids": [component["id"]], "status": "major_outage", "apply": "public"}});
    let refused = app.post(RULES, &a, &known.to_string()).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
}

#[tokio::test]
async fn a_stored_rule_that_no_longer_compiles_is_skipped_and_routing_goes_on() {
    let app = TestApp::new().await;
    let a = admin(&app).await;
    let (_, key) = app.integration("alertmanager").await;
    sqlx::query(
        "INSERT INTO routing_rules (id, name, position, matchers, urgency) \
         VALUES (gen_random_uuid(), 'broken', 1, '[{\"label\":\"service\",\"op\":\"=~\",\"value\":\"(\"}]', 'low')",
    )
    .execute(app.pool())
    .await
    .unwrap();
    let good = rule(
        &app,
        &a,
        json!({"name": "api", "position": 2, "urgency": "critical",
        "matchers": [{"label": "service", "op": "=", "value": "api"}]}),
    )
    .await;
    deliver(&app, &key, &am("ApiDown", json!({"service": "api"}))).await;
    assert_eq!(
        routed(&app, "ApiDown").await,
        ("critical".into(), uuid_of(&good))
    );
}

#[tokio::test]
async fn the_rule_api_refuses_bad_regexes_stale_versions_and_viewers_and_audits_changes() {
    let app = TestApp::new().await;
    let a = admin(&app).await;
    let (_, v) = app.token("vic@example.com", Role::Viewer).await;
    let bad = json!({"name": "bad", "urgency": "low",
        "matchers": [{"label": "service", "op": "=~", "value": "(api"}]});
    let refused = app.post(RULES, &a, &bad.to_string()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused.json()["errors"]["matchers"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.starts_with("The regular expression for `service` is invalid"),
        "{}",
        refused.text
    );
    let body = json!({"name": "api", "urgency": "high",
        "matchers": [{"label": "service", "op": "=", "value": "api"}]});
    let viewer = app.post(RULES, &v, &body.to_string()).await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&app, "SELECT count(*) FROM routing_rules").await, 0);

    let made = rule(&app, &a, body).await;
    assert_eq!(made["position"], 1);
    let path = format!("{RULES}/{}", made["id"].as_str().unwrap());
    assert_eq!(app.api_get(&path, &v).await["name"], "api");
    assert_eq!(
        app.api_get(RULES, &v).await.as_array().map(Vec::len),
        Some(1)
    );
    let changed = app
        .patched(
            &path,
            &a,
            json!({"version": made["version"], "urgency": "critical"}),
        )
        .await;
    let stale = app
        .patch(
            &path,
            &a,
            &json!({"version": made["version"], "urgency": "low"}).to_string(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["current"]["urgency"], "critical");
    app.patched(
        &path,
        &a,
        json!({"version": changed["version"], "position": 5}),
    )
    .await;
    assert_eq!(app.delete(&path, &a).await.status, StatusCode::NO_CONTENT);
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE subject = $1 ORDER BY id")
            .bind(format!("routing_rule:{}", made["id"].as_str().unwrap()))
            .fetch_all(app.pool())
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            "routing_rule.created",
            "routing_rule.updated",
            "routing_rule.moved",
            "routing_rule.deleted"
        ]
    );
}

/// The rows `/test` must leave alone.
async fn footprint(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "routing_rules",
        "alert_groups",
        "alerts",
        "alert_intake",
        "audit_log",
        "domain_events",
    ] {
        counts.push(count(app, &format!("SELECT count(*) FROM {table}")).await);
    }
    counts
}

#[tokio::test]
async fn testing_a_pasted_alertmanager_payload_names_the_matching_rule_and_writes_nothing() {
    let app = TestApp::new().await;
    let a = admin(&app).await;
    let (_, v) = app.token("vic@example.com", Role::Viewer).await;
    let saved = rule(
        &app,
        &a,
        json!({"name": "api", "position": 10, "urgency": "high",
        "matchers": [{"label": "service", "op": "=~", "value": "api|web"}]}),
    )
    .await;
    let payload: Value = serde_json::from_str(&am("ApiDown", json!({"service": "api"}))).unwrap();
    let before = footprint(&app).await;
    let test = |body: Value| {
        let app = &app;
        let v = v.clone();
        async move {
            app.api_ok(
                axum::http::Method::POST,
                &format!("{RULES}/test"),
                &v,
                body,
                StatusCode::OK,
            )
            .await
        }
    };
    let answer = test(json!({"integration_kind": "alertmanager", "payload": payload})).await;
    assert_eq!(answer["matched_rule"]["id"], saved["id"]);
    assert_eq!(answer["matched_rule"]["draft"], false);
    assert_eq!(answer["urgency"], "high");
    assert_eq!(answer["labels"]["service"], "api");
    assert_eq!(
        answer["title"].as_str().map(|t| t.contains("ApiDown")),
        Some(true)
    );
    assert_eq!(answer["errors"], json!([]));

    // A draft before the saved rule wins; declare is shown with its rendered title.
    let draft = json!({"name": "draft", "position": 1, "urgency": "critical",
        "matchers": [{"label": "env", "op": "!=", "value": "prod"}],
        "declare": {"title_template": "{{ labels.service }} is down"}});
    let answer =
        test(json!({"integration_kind": "alertmanager", "payload": payload, "rule": draft})).await;
    assert_eq!(answer["matched_rule"]["draft"], true, "{answer}");
    assert_eq!(answer["urgency"], "critical");
    assert_eq!(answer["declare"]["title"], "api is down");

    // Regular expressions are fully anchored: `api` does not match `api-gateway`.
    let gateway: Value =
        serde_json::from_str(&am("GwDown", json!({"service": "api-gateway"}))).unwrap();
    let answer = test(json!({"integration_kind": "alertmanager", "payload": gateway})).await;
    assert_eq!(answer["matched_rule"], Value::Null);
    assert_eq!(answer["urgency"], "high");

    let broken =
        test(json!({"integration_kind": "alertmanager", "payload": {"version": "3"}})).await;
    assert_eq!(broken["matched_rule"], Value::Null);
    assert!(
        broken["errors"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("The payload cannot be read"),
        "{broken}"
    );
    assert_eq!(footprint(&app).await, before);
}
