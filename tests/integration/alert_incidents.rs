//! Alerts and incidents: declaring an incident from an alert group, attaching groups to
//! an incident, the group's history in the incident's log at the source's times, the
//! lifecycle measured from the first alert, a rule's declare action, and nothing public
//! changing on the way.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::alerts::am;
use crate::support::TestApp;
use fireline::accounts::Role;

const T0: &str = "2026-03-01T10:00:00Z";

async fn send(app: &TestApp, key: &str, name: &str, alerts: &[(&str, &str)]) {
    let alerts: Vec<_> = alerts.iter().map(|(i, s)| (*i, *s, T0, None)).collect();
    let path = format!("/ingest/{key}/alertmanager");
    let r = app.ingest(&path, None, &am(name, &alerts)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    app.process_alerts().await;
}

/// The open group of alertname `name`, as the API shows it.
async fn group(app: &TestApp, token: &str, name: &str) -> Value {
    let page = app
        .api_get(
            "/api/v1/alert-groups?state=firing&state=acknowledged",
            token,
        )
        .await;
    let found = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["labels"]["alertname"] == name)
        .unwrap_or_else(|| panic!("no open group {name}: {page}"));
    let id = found["id"].as_str().unwrap();
    app.api_get(&format!("/api/v1/alert-groups/{id}"), token)
        .await
}

/// The incident's log, oldest first.
async fn log(app: &TestApp, token: &str, incident: &Value) -> Vec<Value> {
    let id = incident["id"].as_str().unwrap();
    let page = app
        .api_get(&format!("/api/v1/incidents/{id}/events?limit=200"), token)
        .await;
    let mut items = page["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

fn of_kind<'a>(entries: &'a [Value], kind: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["kind"] == kind).collect()
}

fn declare_path(group: &Value) -> String {
    format!(
        "/api/v1/alert-groups/{}/declare",
        group["id"].as_str().unwrap()
    )
}

fn attach_path(group: &Value) -> String {
    format!(
        "/api/v1/alert-groups/{}/attach",
        group["id"].as_str().unwrap()
    )
}

#[tokio::test]
async fn declaring_from_a_group_prefills_the_incident_from_its_alerts_and_changes_nothing_public() {
    let app = TestApp::new().await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing"), ("b", "firing")]).await;
    let g = group(&app, &r, "DiskFull").await;
    let ack = format!(
        "/api/v1/alert-groups/{}/acknowledge",
        g["id"].as_str().unwrap()
    );
    assert_eq!(app.post(&ack, &r, "").await.status, StatusCode::OK);
    let g = group(&app, &r, "DiskFull").await;

    let before = app.public_surfaces().await;
    let answer = app.post(&declare_path(&g), &r, "").await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let incident = answer.json();
    assert_eq!(
        answer.header("location"),
        format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap())
    );
    assert_eq!(
        app.public_surfaces().await,
        before,
        "nothing public changed"
    );
    assert_eq!(incident["title"], g["title"]);
    // The group is critical: the prefilled severity is sev2.
    assert_eq!(incident["severity"], "sev2");
    assert!(incident["published_at"].is_null());
    assert_eq!(incident["started_at"], T0);
    assert_eq!(incident["detected_at"], g["opened_at"]);
    assert_eq!(incident["acknowledged_at"], g["acknowledged_at"]);

    // The lifecycle is measured from the first alert, not from the declaration.
    let row = fireline::incidents::find(
        app.pool(),
        incident["id"].as_str().unwrap().parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let d = row.lifecycle().durations();
    let started = row.started_at;
    assert_eq!(d.to_detect, row.detected_at.map(|at| at - started));
    assert!(d.to_detect.unwrap() > time::Duration::days(1), "{d:?}");
    assert_eq!(d.to_acknowledge, row.acknowledged_at.map(|at| at - started));

    // The group's history is in the incident's log at the source's times, authorless.
    let entries = log(&app, &r, &incident).await;
    let alerts = of_kind(&entries, "alert");
    let fired: Vec<_> = alerts
        .iter()
        .filter(|e| e["data"]["transition"] == "alert_fired")
        .collect();
    assert_eq!(fired.len(), 2, "{alerts:?}");
    assert!(fired
        .iter()
        .all(|e| e["occurred_at"] == T0 && e["author"].is_null()));
    assert!(fired.iter().all(|e| e["data"]["group_id"] == g["id"]));
    assert!(fired[0]["data"]["alert_id"].is_string());
    let acked = alerts
        .iter()
        .find(|e| e["data"]["transition"] == "acknowledged")
        .expect("the acknowledgement is mirrored");
    assert_eq!(acked["occurred_at"], g["acknowledged_at"]);
    let joined = of_kind(&entries, "alert_attached");
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0]["author"]["name"], "rita");

    let g = group(&app, &r, "DiskFull").await;
    assert_eq!(g["incident"]["id"], incident["id"]);
    assert_eq!(g["incident"]["reference"], incident["reference"]);
    let events = app
        .api_get(
            &format!("/api/v1/alert-groups/{}/events", g["id"].as_str().unwrap()),
            &r,
        )
        .await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"declared"), "{kinds:?}");

    // The postmortem's timeline starts with the first alert.
    let id = incident["id"].as_str().unwrap();
    let pm = app
        .created(&format!("/api/v1/incidents/{id}/postmortem"), &r, json!({}))
        .await;
    let markdown = format!(
        "/api/v1/postmortems/{}/markdown",
        pm["id"].as_str().unwrap()
    );
    let md = app.api(Method::GET, &markdown, &r, None).await.text;
    let first_row = md
        .lines()
        .skip_while(|l| !l.starts_with("| Time (UTC)"))
        .nth(2)
        .unwrap_or_else(|| panic!("no timeline: {md}"));
    assert!(first_row.starts_with("| 2026-03-01 10:00"), "{first_row}");
    assert!(first_row.contains("DiskFull on a fired"), "{first_row}");

    // Declare-once.
    let again = app.post(&declare_path(&g), &r, "").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert!(again.text.contains("attached to INC-"), "{}", again.text);
    let incidents: i64 = app.scalar("SELECT count(*) FROM incidents").await;
    assert_eq!(incidents, 1);
}

#[tokio::test]
async fn an_incident_holds_many_groups_a_group_one_incident_and_later_alerts_reach_its_log() {
    let app = TestApp::new().await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "Api5xx", &[("a", "firing"), ("b", "firing")]).await;
    send(&app, &key, "DbSlow", &[("c", "firing")]).await;
    let api = group(&app, &r, "Api5xx").await;
    let db = group(&app, &r, "DbSlow").await;
    let incident = app
        .declare(&r, json!({"title": "Checkout broken", "severity": "sev2"}))
        .await;
    let other = app
        .declare(&r, json!({"title": "Something else", "severity": "sev4"}))
        .await;
    let before = app.public_surfaces().await;

    let nowhere = json!({"incident_id": uuid::Uuid::new_v4()}).to_string();
    let unknown = app.post(&attach_path(&db), &r, &nowhere).await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    for g in [&api, &db] {
        let body = json!({"incident_id": incident["id"]}).to_string();
        let r = app.post(&attach_path(g), &r, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json()["incident"]["id"], incident["id"]);
    }
    // Attaching it again to the same incident changes nothing; to another is refused.
    let same = json!({"incident_id": incident["id"]}).to_string();
    assert_eq!(
        app.post(&attach_path(&api), &r, &same).await.status,
        StatusCode::OK
    );
    let elsewhere = json!({"incident_id": other["id"]}).to_string();
    let refused = app.post(&attach_path(&api), &r, &elsewhere).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);

    let entries = log(&app, &r, &incident).await;
    assert_eq!(of_kind(&entries, "alert_attached").len(), 2);
    // The first alert came before the declaration: detection moved to it, with a reason.
    let moved = of_kind(&entries, "timestamp_changed");
    assert!(
        moved
            .iter()
            .any(|e| e["body"].as_str().unwrap().contains(&format!(
                "first alert of {}",
                api["reference"].as_str().unwrap()
            ))),
        "{moved:?}"
    );
    let id = incident["id"].as_str().unwrap();
    let now = app.api_get(&format!("/api/v1/incidents/{id}"), &r).await;
    assert_eq!(now["detected_at"], api["opened_at"]);
    // Its start is left alone, but the log says the alerts began before it.
    assert_eq!(now["started_at"], incident["started_at"]);
    assert!(entries
        .iter()
        .any(|e| e["data"]["transition"] == "began_before_start"));

    // A later resolution by the source goes into the incident's log at its own time.
    let ends = "2026-03-01T10:30:00Z";
    let body = am(
        "Api5xx",
        &[("a", "resolved", T0, Some(ends)), ("b", "firing", T0, None)],
    );
    let path = format!("/ingest/{key}/alertmanager");
    assert_eq!(
        app.ingest(&path, None, &body).await.status,
        StatusCode::ACCEPTED
    );
    app.process_alerts().await;
    // A repeat writes nothing.
    assert_eq!(
        app.ingest(&path, None, &body).await.status,
        StatusCode::ACCEPTED
    );
    app.process_alerts().await;
    let entries = log(&app, &r, &incident).await;
    let resolved: Vec<_> = of_kind(&entries, "alert")
        .into_iter()
        .filter(|e| e["data"]["transition"] == "alert_resolved")
        .collect();
    assert_eq!(resolved.len(), 1, "{entries:?}");
    assert_eq!(resolved[0]["occurred_at"], ends);
    assert!(resolved[0]["author"].is_null());
    // Alerts never change the incident or anything public.
    let after = app.api_get(&format!("/api/v1/incidents/{id}"), &r).await;
    assert_eq!(after["status"], "investigating");
    assert_eq!(app.public_surfaces().await, before);
}

#[tokio::test]
async fn a_large_group_is_summarised_per_delivery_in_the_incident_log() {
    let app = TestApp::new().await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let (_, key) = app.integration("alertmanager").await;
    let names: Vec<String> = (0..60).map(|i| format!("host-{i}")).collect();
    let firing: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "firing")).collect();
    send(&app, &key, "Storm", &firing).await;
    let g = group(&app, &r, "Storm").await;
    let incident = app.created(&declare_path(&g), &r, json!({})).await;
    let entries = log(&app, &r, &incident).await;
    let alerts = of_kind(&entries, "alert");
    let summaries: Vec<_> = alerts
        .iter()
        .filter(|e| e["data"]["transition"] == "summary")
        .collect();
    assert_eq!(summaries.len(), 1, "{alerts:?}");
    assert!(summaries[0]["body"]
        .as_str()
        .unwrap()
        .ends_with("60 alerts fired."));
    assert_eq!(summaries[0]["occurred_at"], T0);
    assert!(!alerts
        .iter()
        .any(|e| e["data"]["transition"] == "alert_fired"));

    let mut next = firing.clone();
    for alert in next.iter_mut().take(3) {
        alert.1 = "resolved";
    }
    send(&app, &key, "Storm", &next).await;
    let entries = log(&app, &r, &incident).await;
    let bodies: Vec<&str> = of_kind(&entries, "alert")
        .iter()
        .filter(|e| e["data"]["transition"] == "summary")
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies.iter().any(|b| b.ends_with("3 alerts resolved.")),
        "{bodies:?}"
    );
}

#[tokio::test]
async fn a_rules_declare_action_declares_one_incident_for_a_group_however_often_it_repeats() {
    let app = TestApp::new().await;
    let (_, a) = app.token("root@example.com", Role::Admin).await;
    let (_, key) = app.integration("alertmanager").await;
    let component = app.component(&a, "Storage").await;
    // A component with a public history today: a change held back for responders must
    // not show in its uptime bar either.
    for status in ["degraded_performance", "operational"] {
        app.patched(
            &format!("/api/v1/components/{component}"),
            &a,
            json!({"status": status}),
        )
        .await;
    }
    let before = app.public_surfaces().await;
    app.created(
        "/api/v1/routing-rules",
        &a,
        json!({"name": "disk pages", "urgency": "critical",
            "matchers": [{"label": "alertname", "op": "=", "value": "DiskFull"}],
            "declare": {"severity": "sev1", "component_ids": [component],
                "title_template": "Disk full ({{ count }} alerts)"}}),
    )
    .await;
    for _ in 0..3 {
        send(&app, &key, "DiskFull", &[("a", "firing"), ("b", "firing")]).await;
    }
    send(
        &app,
        &key,
        "DiskFull",
        &[("a", "firing"), ("b", "firing"), ("c", "firing")],
    )
    .await;
    let incidents = app.api_get("/api/v1/incidents", &a).await;
    let items = incidents["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{incidents}");
    let incident = &items[0];
    assert_eq!(incident["title"], "Disk full (2 alerts)");
    assert_eq!(incident["severity"], "sev1");
    assert_eq!(incident["started_at"], T0);
    assert_eq!(incident["leader"]["name"], "root");
    // Nobody acknowledged it: a rule is not a person.
    assert!(incident["acknowledged_at"].is_null());
    assert_eq!(
        incident["components"][0]["id"].as_str(),
        Some(component.as_str())
    );
    assert_eq!(
        app.public_surfaces().await,
        before,
        "nothing public changed"
    );
    let entries = log(&app, &a, incident).await;
    let declared = of_kind(&entries, "declared");
    assert!(declared[0]["body"]
        .as_str()
        .unwrap()
        .starts_with("Routing rule \"disk pages\""));
    assert!(declared[0]["author"].is_null());
    // The third alert, after the declaration, reaches the log too.
    let fired = of_kind(&entries, "alert")
        .into_iter()
        .filter(|e| e["data"]["transition"] == "alert_fired")
        .count();
    assert_eq!(fired, 3);
}

#[tokio::test]
async fn a_rule_whose_owner_is_disabled_records_why_it_did_not_declare() {
    let app = TestApp::new().await;
    let (owner, a) = app.token("root@example.com", Role::Admin).await;
    let (_, key) = app.integration("alertmanager").await;
    app.created(
        "/api/v1/routing-rules",
        &a,
        json!({"name": "disk pages", "urgency": "critical", "declare": {}}),
    )
    .await;
    app.exec(&format!(
        "UPDATE users SET disabled_at = now() WHERE id = '{}'",
        owner.id
    ))
    .await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    let incidents: i64 = app.scalar("SELECT count(*) FROM incidents").await;
    assert_eq!(incidents, 0);
    let why: String = app
        .scalar("SELECT body FROM alert_group_events WHERE kind = 'action_failed'")
        .await;
    assert!(why.contains("could not declare"), "{why}");
    assert!(why.contains("disabled"), "{why}");
}

#[tokio::test]
async fn viewers_can_neither_declare_from_a_group_nor_attach_it() {
    let app = TestApp::new().await;
    let (_, v) = app.token("vic@example.com", Role::Viewer).await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    let g = group(&app, &v, "DiskFull").await;
    let incident = app
        .declare(&r, json!({"title": "x", "severity": "sev3"}))
        .await;
    let declare = app.api(Method::POST, &declare_path(&g), &v, None).await;
    assert_eq!(declare.status, StatusCode::FORBIDDEN, "{}", declare.text);
    let body = json!({"incident_id": incident["id"]}).to_string();
    let attach = app
        .api(Method::POST, &attach_path(&g), &v, Some(&body))
        .await;
    assert_eq!(attach.status, StatusCode::FORBIDDEN, "{}", attach.text);
    let missing = format!("/api/v1/alert-groups/{}/declare", uuid::Uuid::new_v4());
    assert_eq!(
        app.post(&missing, &r, "").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(group(&app, &v, "DiskFull").await["incident"].is_null());
}

#[tokio::test]
async fn the_declare_button_opens_the_new_incident_whose_log_links_back_to_the_group() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    send(&app, &key, "DbSlow", &[("c", "firing")]).await;
    let mut browser = app.signed_in("rita@example.com", Role::Responder).await;
    let (_, r) = app.token("ron@example.com", Role::Responder).await;
    let disk = group(&app, &r, "DiskFull").await;
    let db = group(&app, &r, "DbSlow").await;
    let disk_page = format!(
        "/admin/alert-groups/{}",
        disk["reference"].as_str().unwrap()
    );
    let page = browser.get(&disk_page).await;
    let declare = format!("{disk_page}/declare");
    assert_eq!(
        page.attr("form button.declare", "class").as_deref(),
        Some("declare")
    );
    let answer = browser.press(&disk_page, &declare).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let number: i64 = app.scalar("SELECT number FROM incidents").await;
    assert_eq!(answer.location(), format!("/admin/incidents/{number}"));
    let incident_page = browser.get(answer.location()).await;
    assert_eq!(incident_page.status, StatusCode::OK);
    let links = incident_page.select("li.event a.alert-group");
    assert!(
        links
            .iter()
            .any(|l| l == disk["reference"].as_str().unwrap()),
        "{links:?}"
    );
    assert_eq!(
        incident_page
            .attr("li.event a.alert-group", "href")
            .as_deref(),
        Some(disk_page.as_str())
    );
    // Declared: no declare button, a link to the incident.
    let page = browser.get(&disk_page).await;
    assert!(page.select("button.declare").is_empty());
    assert_eq!(page.select("p.incident-link a"), [format!("INC-{number}")]);

    // The other group is attached through the picker of open incidents.
    let db_page = format!("/admin/alert-groups/{}", db["reference"].as_str().unwrap());
    let page = browser.get(&db_page).await;
    let choice = page
        .attr("select[name=incident] option", "value")
        .expect("the open incident is offered");
    let answer = browser
        .submit(
            &db_page,
            &format!("{db_page}/attach"),
            &[("incident", &choice)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), db_page);
    let db = group(&app, &r, "DbSlow").await;
    assert_eq!(db["incident"]["number"], number);

    // Without the form's token nothing happens; a viewer gets no buttons.
    let forged = browser.post_raw(&format!("{db_page}/declare"), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut viewer = app.signed_in("vic@example.com", Role::Viewer).await;
    let page = viewer.get(&db_page).await;
    assert!(page.select("button.declare").is_empty());
    assert!(page.select("select[name=incident]").is_empty());
}
