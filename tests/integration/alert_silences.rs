//! Silences through the API, the job that ends them and the admin forms: a group or the
//! groups label matchers select go `silenced`, on the record, and fire again when the
//! silence ends (early, or on time, once).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::alerts::am;
use crate::support::{TestApp, TestResponse};
use fireline::accounts::Role;

const T0: &str = "2026-03-01T10:00:00Z";

/// Send an Alertmanager group `name` with `alerts` (instance, status) and apply it.
async fn send(app: &TestApp, key: &str, name: &str, alerts: &[(&str, &str)]) {
    let alerts: Vec<_> = alerts
        .iter()
        .map(|(i, s)| {
            let ends = (*s == "resolved").then_some("2026-03-01T11:00:00Z");
            (*i, *s, T0, ends)
        })
        .collect();
    let path = format!("/ingest/{key}/alertmanager");
    let r = app.ingest(&path, None, &am(name, &alerts)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    app.process_alerts().await;
}

/// The id of the newest group whose title starts with `name`.
async fn group_id(app: &TestApp, name: &str) -> String {
    let sql = format!(
        "SELECT id::text FROM alert_groups WHERE title LIKE '{name}%' ORDER BY number DESC LIMIT 1"
    );
    app.scalar::<String>(&sql).await
}

async fn group(app: &TestApp, token: &str, id: &str) -> Value {
    app.api_get(&format!("/api/v1/alert-groups/{id}"), token)
        .await
}

/// The group's history as (kind, actor name or "").
async fn history(app: &TestApp, token: &str, id: &str) -> Vec<(String, String)> {
    let page = app
        .api_get(
            &format!("/api/v1/alert-groups/{id}/events?limit=200"),
            token,
        )
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let actor = e["actor"]["name"].as_str().unwrap_or("").to_owned();
            (e["kind"].as_str().unwrap().to_owned(), actor)
        })
        .collect()
}

fn kinds<'a>(h: &'a [(String, String)], kind: &str) -> Vec<&'a (String, String)> {
    h.iter().filter(|(k, _)| k == kind).collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar::<i64>(sql).await
}

async fn silence_group(app: &TestApp, token: &str, id: &str, body: Value) -> TestResponse {
    let path = format!("/api/v1/alert-groups/{id}/silence");
    app.post(&path, token, &body.to_string()).await
}

/// Run every due job, as the runner of a serving process does.
async fn run_jobs(app: &TestApp) -> fireline::platform::jobs::RunSummary {
    let ctx = fireline::platform::jobs::JobContext {
        pool: app.pool().clone(),
        session_idle: time::Duration::hours(1),
    };
    fireline::platform::jobs::run_until_empty(&ctx, &fireline::app::jobs::registry())
        .await
        .unwrap()
}

/// Move every silence's time into the past, as if it had run its course, and make its
/// job due.
async fn let_time_pass(app: &TestApp) {
    app.exec(
        "UPDATE silences SET starts_at = now() - interval '2 hours', \
             ends_at = now() - interval '1 minute', created_at = now() - interval '2 hours'",
    )
    .await;
    app.exec("UPDATE jobs SET run_at = now() WHERE kind = 'alerts.end_silence'")
        .await;
}

#[tokio::test]
async fn a_group_silence_silences_it_on_the_record_and_ending_it_early_fires_it_again() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing"), ("b", "firing")]).await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let gid = group_id(&app, "DiskFull").await;

    let made = silence_group(
        &app,
        &r,
        &gid,
        json!({"minutes": 30, "reason": "Known, resizing"}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let silence = made.json();
    let sid = silence["id"].as_str().unwrap().to_owned();
    assert_eq!(made.header("location"), format!("/api/v1/silences/{sid}"));
    assert_eq!(silence["group_id"], gid.as_str());
    assert_eq!(silence["reason"], "Known, resizing");
    assert_eq!(silence["created_by"]["name"], "rita");
    assert_eq!(silence["active"], true);
    assert_eq!(silence["groups_silenced"], 1);

    let g = group(&app, &r, &gid).await;
    assert_eq!(g["state"], "silenced");
    assert_eq!(g["silence"]["id"], sid.as_str());
    assert_eq!(g["silence"]["reason"], "Known, resizing");
    assert_eq!(g["silence"]["ends_at"], silence["ends_at"]);
    assert!(g["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["silenced"] == true));
    let h = history(&app, &r, &gid).await;
    assert_eq!(kinds(&h, "silenced"), [&("silenced".into(), "rita".into())]);
    let audited = "SELECT count(*) FROM audit_log WHERE action = 'silence.created'";
    assert_eq!(count(&app, audited).await, 1);
    let events = "SELECT count(*) FROM domain_events WHERE kind = 'alert_group.silenced'";
    assert_eq!(count(&app, events).await, 1);
    let listed = app.api_get("/api/v1/silences?active=true", &r).await;
    assert_eq!(listed["items"][0]["id"], sid.as_str());

    let end = format!("/api/v1/silences/{sid}");
    let ended = app.delete(&end, &r).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    let ended = ended.json();
    assert_eq!(ended["active"], false);
    assert_eq!(ended["ended_by"]["name"], "rita");
    assert_eq!(ended["groups_silenced"], 0);
    let g = group(&app, &r, &gid).await;
    assert_eq!(g["state"], "firing");
    assert_eq!(g["silence"], Value::Null);
    assert!(g["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["silenced"] == false));
    // Ending it again changes nothing.
    let again = app.delete(&end, &r).await;
    assert_eq!(again.status, StatusCode::OK);
    let h = history(&app, &r, &gid).await;
    assert_eq!(
        kinds(&h, "unsilenced"),
        [&("unsilenced".into(), "rita".into())]
    );
    let ended_audit = "SELECT count(*) FROM audit_log WHERE action = 'silence.ended'";
    assert_eq!(count(&app, ended_audit).await, 1);
    // Its job finds it ended and does nothing.
    let_time_pass(&app).await;
    run_jobs(&app).await;
    assert_eq!(history(&app, &r, &gid).await.len(), h.len());
    let active = app.api_get("/api/v1/silences?active=true", &r).await;
    assert_eq!(active["items"], json!([]));
}

#[tokio::test]
async fn an_acknowledged_group_is_acknowledged_again_when_its_silence_ends() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let gid = group_id(&app, "DiskFull").await;
    let ack = format!("/api/v1/alert-groups/{gid}/acknowledge");
    assert_eq!(app.post(&ack, &r, "").await.status, StatusCode::OK);
    let made = silence_group(&app, &r, &gid, json!({"minutes": 5, "reason": "Noisy"})).await;
    let sid = made.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(group(&app, &r, &gid).await["state"], "silenced");
    app.delete(&format!("/api/v1/silences/{sid}"), &r).await;
    assert_eq!(group(&app, &r, &gid).await["state"], "acknowledged");
}

#[tokio::test]
async fn a_matcher_silence_covers_open_groups_and_groups_and_alerts_that_arrive_later() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    send(&app, &key, "HighLatency", &[("a", "firing")]).await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let body = json!({"matchers": [{"label": "alertname", "op": "=~", "value": "Disk.*"}],
        "minutes": 60, "reason": "Storage migration"});
    let made = app.post("/api/v1/silences", &r, &body.to_string()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let silence = made.json();
    assert_eq!(silence["groups_silenced"], 1);
    assert_eq!(silence["group_id"], Value::Null);
    assert_eq!(silence["matchers"][0]["value"], "Disk.*");

    let disk = group_id(&app, "DiskFull").await;
    let latency = group_id(&app, "HighLatency").await;
    assert_eq!(group(&app, &r, &disk).await["state"], "silenced");
    assert_eq!(group(&app, &r, &latency).await["state"], "firing");

    // A new group that matches opens silenced; one that does not opens firing.
    send(&app, &key, "DiskSlow", &[("a", "firing")]).await;
    send(&app, &key, "CpuHot", &[("a", "firing")]).await;
    let slow = group_id(&app, "DiskSlow").await;
    let g = group(&app, &r, &slow).await;
    assert_eq!(g["state"], "silenced");
    assert_eq!(g["alerts"][0]["silenced"], true);
    let h = history(&app, &r, &slow).await;
    assert_eq!(kinds(&h, "opened").len(), 1);
    // Silenced by the silence, not by a person pressing a button now.
    assert_eq!(kinds(&h, "silenced"), [&("silenced".into(), String::new())]);
    let cpu = group_id(&app, "CpuHot").await;
    assert_eq!(group(&app, &r, &cpu).await["state"], "firing");

    // A new alert in a silenced group is silenced with it.
    send(&app, &key, "DiskFull", &[("a", "firing"), ("b", "firing")]).await;
    let g = group(&app, &r, &disk).await;
    assert_eq!(g["alerts_firing"], 2);
    assert!(g["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["silenced"] == true));
    let found = app.api_get("/api/v1/silences", &r).await;
    assert_eq!(found["items"][0]["groups_silenced"], 2);
}

#[tokio::test]
async fn the_end_silence_job_fires_the_groups_again_once_even_when_it_runs_twice() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let gid = group_id(&app, "DiskFull").await;
    let made = silence_group(&app, &r, &gid, json!({"minutes": 10, "reason": "Known"})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let sid = made.json()["id"].as_str().unwrap().to_owned();

    // Not due yet: the job waits.
    assert_eq!(run_jobs(&app).await.done, 0);
    assert_eq!(group(&app, &r, &gid).await["state"], "silenced");

    let_time_pass(&app).await;
    // A second job for the same silence, as a second process might have run it.
    app.exec(&format!(
        "INSERT INTO jobs (kind, payload) VALUES ('alerts.end_silence', \
         '{{\"silence_id\": \"{sid}\"}}')"
    ))
    .await;
    let ran = run_jobs(&app).await;
    assert_eq!((ran.done, ran.dead), (2, 0), "{ran:?}");
    let g = group(&app, &r, &gid).await;
    assert_eq!(g["state"], "firing");
    let h = history(&app, &r, &gid).await;
    assert_eq!(
        kinds(&h, "unsilenced"),
        [&("unsilenced".into(), String::new())]
    );
    let events = "SELECT count(*) FROM domain_events WHERE kind = 'alert_group.unsilenced'";
    assert_eq!(count(&app, events).await, 1);
    let s = app.api_get("/api/v1/silences?active=false", &r).await;
    let s = &s["items"][0];
    assert_eq!(s["active"], false);
    assert_eq!(s["ended_by"], Value::Null);
    assert_eq!(s["ended_at"], s["ends_at"]);
    let audited = "SELECT count(*) FROM audit_log WHERE action = 'silence.ended'";
    assert_eq!(count(&app, audited).await, 1);
}

#[tokio::test]
async fn a_silenced_group_still_resolves_when_its_alerts_resolve() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let gid = group_id(&app, "DiskFull").await;
    let made = silence_group(&app, &r, &gid, json!({"minutes": 10, "reason": "Known"})).await;
    let sid = made.json()["id"].as_str().unwrap().to_owned();
    send(&app, &key, "DiskFull", &[("a", "resolved")]).await;
    assert_eq!(group(&app, &r, &gid).await["state"], "resolved");
    // Ending the silence leaves the resolved group alone.
    app.delete(&format!("/api/v1/silences/{sid}"), &r).await;
    let h = history(&app, &r, &gid).await;
    assert!(kinds(&h, "unsilenced").is_empty(), "{h:?}");
    assert_eq!(group(&app, &r, &gid).await["state"], "resolved");
}

fn assert_problem(r: &TestResponse, status: StatusCode, field: Option<&str>, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    assert_eq!(
        r.header("content-type"),
        "application/problem+json",
        "{what}"
    );
    if let Some(field) = field {
        assert!(r.json()["errors"][field].is_string(), "{what}: {}", r.text);
    }
}

#[tokio::test]
async fn bad_silences_are_refused_with_the_reason_and_nothing_is_written() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    let (_, t) = app.token("rita@example.com", Role::Responder).await;
    let gid = group_id(&app, "DiskFull").await;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let past = "2020-01-01T00:00:00Z";
    for (body, field) in [
        (json!({"minutes": 0, "reason": "x"}), "minutes"),
        (json!({"minutes": 10081, "reason": "x"}), "minutes"),
        (json!({"reason": "x"}), "minutes"),
        (
            json!({"minutes": 5, "ends_at": past, "reason": "x"}),
            "ends_at",
        ),
        (json!({"ends_at": past, "reason": "x"}), "ends_at"),
        (json!({"minutes": 5, "reason": "   "}), "reason"),
    ] {
        let r = silence_group(&app, &t, &gid, body.clone()).await;
        assert_problem(&r, unprocessable, Some(field), &body.to_string());
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = silence_group(&app, &t, &unknown, json!({"minutes": 5, "reason": "x"})).await;
    assert_problem(&r, StatusCode::NOT_FOUND, None, "unknown group");
    assert!(r.json()["detail"].as_str().unwrap().contains("alert group"));

    for (matchers, what) in [
        (json!([]), "no matcher"),
        (
            json!([{"label": "alertname", "op": "=~", "value": "("}]),
            "bad regex",
        ),
        (
            json!([{"label": "1bad", "op": "=", "value": "x"}]),
            "bad label",
        ),
    ] {
        let body = json!({"matchers": matchers, "minutes": 5, "reason": "x"});
        let r = app.post("/api/v1/silences", &t, &body.to_string()).await;
        assert_problem(&r, unprocessable, Some("matchers"), what);
    }
    let bad_op = json!({"matchers": [{"label": "a", "op": "==", "value": "x"}],
        "minutes": 5, "reason": "x"});
    let r = app.post("/api/v1/silences", &t, &bad_op.to_string()).await;
    assert_problem(&r, unprocessable, None, "bad operator");

    let end = format!("/api/v1/silences/{unknown}");
    assert_problem(
        &app.delete(&end, &t).await,
        StatusCode::NOT_FOUND,
        None,
        "end",
    );

    let resolve = format!("/api/v1/alert-groups/{gid}/resolve");
    assert_eq!(app.post(&resolve, &t, "").await.status, StatusCode::OK);
    let refused = silence_group(&app, &t, &gid, json!({"minutes": 5, "reason": "x"})).await;
    assert_problem(&refused, unprocessable, Some("state"), "resolved group");
    assert!(refused.json()["detail"]
        .as_str()
        .unwrap()
        .contains("resolved already"));
    assert_eq!(count(&app, "SELECT count(*) FROM silences").await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM jobs WHERE kind = 'alerts.end_silence'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_viewer_can_read_silences_but_not_make_or_end_them() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let (_, v) = app.token("vic@example.com", Role::Viewer).await;
    let gid = group_id(&app, "DiskFull").await;
    let body = json!({"minutes": 5, "reason": "x"});
    let refused = silence_group(&app, &v, &gid, body.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let matcher = json!({"matchers": [{"label": "alertname", "op": "=", "value": "DiskFull"}],
        "minutes": 5, "reason": "x"});
    let refused = app.post("/api/v1/silences", &v, &matcher.to_string()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let made = silence_group(&app, &r, &gid, body).await;
    let sid = made.json()["id"].as_str().unwrap().to_owned();
    let end = format!("/api/v1/silences/{sid}");
    assert_eq!(app.delete(&end, &v).await.status, StatusCode::FORBIDDEN);
    let listed = app.api_get("/api/v1/silences", &v).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let mut browser = app.signed_in("val@example.com", Role::Viewer).await;
    let page = browser.get("/admin/silences").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.select("#new-silence").is_empty());
    assert!(page.select("button.end").is_empty());
    assert_eq!(page.select("tr.silence .reason"), ["x"]);
    let list = browser.get("/admin/alerts").await;
    assert!(list.select("button.silence").is_empty());
    let end_form = format!("/admin/silences/{sid}/end");
    let r = browser.submit("/admin/silences", &end_form, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_admin_forms_silence_a_group_and_labels_and_end_a_silence_with_csrf() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    send(&app, &key, "HighLatency", &[("a", "firing")]).await;
    let number: i64 = app
        .scalar("SELECT number FROM alert_groups WHERE title LIKE 'DiskFull%'")
        .await;
    let reference = format!("ALR-{number}");
    let mut browser = app.signed_in("rita@example.com", Role::Responder).await;
    let list = browser.get("/admin/alerts").await;
    assert_eq!(list.select("#silences-link"), ["Silences"]);
    assert_eq!(list.select("button.silence").len(), 2);

    let silence = format!("/admin/alert-groups/{reference}/silence?from=list");
    let fields = [("minutes", "45"), ("reason", "Resizing the disk")];
    let no_csrf = browser.post_raw(&silence, &fields).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    // Refused: the group's page again, saying why, with the form as typed.
    let bad = browser
        .submit(
            "/admin/alerts",
            &silence,
            &[("minutes", "lots"), ("reason", "Resizing")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.select("#form-error")[0].contains("whole number"));
    assert_eq!(bad.select("h1 .ref"), [reference.as_str()]);
    let form = ".silence-form input[name=reason]";
    assert_eq!(bad.attr(form, "value").as_deref(), Some("Resizing"));
    let blank = browser
        .submit(
            "/admin/alerts",
            &silence,
            &[("minutes", "5"), ("reason", " ")],
        )
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.select("#form-error")[0].contains("reason"));
    let minutes = ".silence-form input[name=minutes]";
    assert_eq!(blank.attr(minutes, "value").as_deref(), Some("5"));
    assert_eq!(count(&app, "SELECT count(*) FROM silences").await, 0);

    let r = browser.submit("/admin/alerts", &silence, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.location(), "/admin/alerts");
    let page = browser.get("/admin/alerts").await;
    assert_eq!(
        page.select(".flash"),
        [format!("{reference} silenced for 45 minutes.")]
    );
    assert_eq!(page.select(".state.al-silenced"), ["Silenced"]);
    let group_page = browser
        .get(&format!("/admin/alert-groups/{reference}"))
        .await;
    assert!(group_page
        .select(".history li")
        .iter()
        .any(|h| h.contains("Resizing the disk")));
    let until = &group_page.select(".silenced-until")[0];
    assert!(
        until.starts_with("Silenced until ") && until.contains("Resizing the disk"),
        "{until}"
    );

    let matchers = [
        ("matchers", "alertname=\"HighLatency\""),
        ("minutes", "30"),
        ("reason", "Load test"),
    ];
    let r = browser
        .submit("/admin/silences", "/admin/silences", &matchers)
        .await;
    assert_eq!(r.location(), "/admin/silences");
    let page = browser.get("/admin/silences").await;
    assert_eq!(
        page.select(".flash"),
        ["Silenced alertname=\"HighLatency\" for 30 minutes: 1 open group now, and any that open meanwhile."]
    );
    assert_eq!(page.select("table.active tr.silence").len(), 2);
    let bad = [
        ("matchers", "alertname=~\"(\""),
        ("minutes", "30"),
        ("reason", "x"),
    ];
    let page = browser
        .submit("/admin/silences", "/admin/silences", &bad)
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.text
    );
    assert!(page.select("#form-error")[0].contains("regular expression"));
    assert_eq!(
        page.attr("#s-matchers", "value").as_deref(),
        Some("alertname=~\"(\"")
    );
    assert_eq!(page.attr("#s-reason", "value").as_deref(), Some("x"));
    assert_eq!(page.select("table.active tr.silence").len(), 2);

    let sid: String = app
        .scalar("SELECT id::text FROM silences WHERE group_id IS NOT NULL")
        .await;
    let end = format!("/admin/silences/{sid}/end");
    assert_eq!(
        browser.post_raw(&end, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let r = browser.press("/admin/silences", &end).await;
    assert_eq!(r.location(), "/admin/silences");
    let page = browser.get("/admin/silences").await;
    assert_eq!(
        page.select(".flash"),
        ["Silence ended: its groups fire again."]
    );
    assert_eq!(page.select("table.active tr.silence").len(), 1);
    assert_eq!(
        page.select("table.recent .ended-by"),
        ["(ended early by rita)"]
    );
    let g = browser
        .get(&format!("/admin/alert-groups/{reference}"))
        .await;
    assert_eq!(g.select(".state.al-firing"), ["Firing"]);
}

#[tokio::test]
async fn a_matcher_silence_waits_for_the_processor_round_holding_its_groups() {
    let app = TestApp::new().await;
    let (_, key) = app.integration("alertmanager").await;
    send(&app, &key, "DiskFull", &[("a", "firing")]).await;
    let (integration_id, group_key): (String, String) =
        sqlx::query_as("SELECT integration_id::text, group_key FROM alert_groups")
            .fetch_one(app.pool())
            .await
            .unwrap();
    // A processor's round holds the group, as `alerts::process` takes it.
    let mut round = app.pool().begin().await.unwrap();
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtext('fireline_alert_group'), hashtext($1 || ':' || $2))",
    )
    .bind(&integration_id)
    .bind(&group_key)
    .execute(&mut *round)
    .await
    .unwrap();
    let (_, t) = app.token("rita@example.com", Role::Responder).await;
    let body = json!({"matchers": [{"label": "alertname", "op": "=", "value": "DiskFull"}],
        "minutes": 5, "reason": "Resizing"});
    let body = body.to_string();
    let silence = app.post("/api/v1/silences", &t, &body);
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let made = count(&app, "SELECT count(*) FROM silences").await;
        round.commit().await.unwrap();
        made
    };
    let (made, before) = tokio::join!(silence, release);
    assert_eq!(before, 0, "the silence waited for the round");
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.json()["groups_silenced"], 1);
}
