//! The rest of `/api/v1` driven for the document check: postmortems, action items and
//! templates, maintenances, subscribers and their deliveries.

use axum::http::StatusCode;
use serde_json::json;

use crate::openapi::Checker;
use crate::openapi_ops::{expect, id, DELETE, GET, PATCH, POST};
use crate::support::rfc3339;
use crate::support::TestApp;

pub async fn postmortems(c: &mut Checker<'_>, a: &str, r: &str) {
    let declare = json!({"title": "Queue stuck", "severity": "sev3"});
    let incident = expect(
        c.call(POST, "/incidents", &[], r, Some(declare)).await,
        StatusCode::CREATED,
        "declare",
    );
    let iid = id(&incident);
    let pm = expect(
        c.call(POST, "/incidents/{id}/postmortem", &[("id", &iid)], r, None)
            .await,
        StatusCode::CREATED,
        "start",
    );
    let pid = id(&pm);
    let p = [("id", pid.as_str())];
    expect(
        c.call(GET, "/postmortems", &[], r, None).await,
        StatusCode::OK,
        "list",
    );
    expect(
        c.call(GET, "/postmortems/{id}", &p, r, None).await,
        StatusCode::OK,
        "get",
    );
    let patch = json!({"version": pm["version"], "body": "# What happened\n\nA queue."});
    expect(
        c.call(PATCH, "/postmortems/{id}", &p, r, Some(patch.clone()))
            .await,
        StatusCode::OK,
        "patch",
    );
    let stale = expect(
        c.call(PATCH, "/postmortems/{id}", &p, r, Some(patch)).await,
        StatusCode::CONFLICT,
        "stale",
    );
    assert!(stale["current"]["body"].is_string());
    expect(
        c.call(GET, "/postmortems/{id}/markdown", &p, r, None).await,
        StatusCode::OK,
        "md",
    );

    let new = json!({"title": "Alert on queue age", "priority": "high"});
    let item = expect(
        c.call(POST, "/postmortems/{id}/action-items", &p, r, Some(new))
            .await,
        StatusCode::CREATED,
        "item",
    );
    let item_id = id(&item);
    let t = [("id", item_id.as_str())];
    expect(
        c.call(GET, "/postmortems/{id}/action-items", &p, r, None)
            .await,
        StatusCode::OK,
        "items",
    );
    expect(
        c.call(GET, "/action-items", &[], r, None).await,
        StatusCode::OK,
        "all items",
    );
    let patch = json!({"version": item["version"], "status": "in_progress"});
    expect(
        c.call(PATCH, "/action-items/{id}", &t, r, Some(patch.clone()))
            .await,
        StatusCode::OK,
        "patch item",
    );
    expect(
        c.call(PATCH, "/action-items/{id}", &t, r, Some(patch))
            .await,
        StatusCode::CONFLICT,
        "stale item",
    );

    let templates = expect(
        c.call(GET, "/postmortem-templates", &[], r, None).await,
        StatusCode::OK,
        "templates",
    );
    let builtin = id(&templates[0]);
    let new = json!({"name": "Short", "body": "# {{title}}\n\n{{timeline}}"});
    let tpl = expect(
        c.call(POST, "/postmortem-templates", &[], a, Some(new))
            .await,
        StatusCode::CREATED,
        "template",
    );
    let tid = id(&tpl);
    let t = [("id", tid.as_str())];
    expect(
        c.call(GET, "/postmortem-templates/{id}", &t, r, None).await,
        StatusCode::OK,
        "get",
    );
    let patch = json!({"version": tpl["version"], "name": "Shorter"});
    expect(
        c.call(
            PATCH,
            "/postmortem-templates/{id}",
            &t,
            a,
            Some(patch.clone()),
        )
        .await,
        StatusCode::OK,
        "patch template",
    );
    let stale = expect(
        c.call(PATCH, "/postmortem-templates/{id}", &t, a, Some(patch))
            .await,
        StatusCode::CONFLICT,
        "stale template",
    );
    assert_eq!(stale["current"]["name"], "Shorter");
    expect(
        c.call(
            DELETE,
            "/postmortem-templates/{id}",
            &[("id", &builtin)],
            a,
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "shipped template",
    );
    expect(
        c.call(DELETE, "/postmortem-templates/{id}", &t, a, None)
            .await,
        StatusCode::NO_CONTENT,
        "delete template",
    );
}

pub async fn maintenances(c: &mut Checker<'_>, r: &str) {
    let now = time::OffsetDateTime::now_utc();
    let new = json!({
        "title": "Database upgrade",
        "scheduled_for": rfc3339(now + time::Duration::days(1)),
        "scheduled_until": rfc3339(now + time::Duration::days(1) + time::Duration::hours(1)),
    });
    let m = expect(
        c.call(POST, "/maintenances", &[], r, Some(new)).await,
        StatusCode::CREATED,
        "schedule",
    );
    let mid = id(&m);
    let k = [("id", mid.as_str())];
    expect(
        c.call(GET, "/maintenances", &[], r, None).await,
        StatusCode::OK,
        "list",
    );
    expect(
        c.call(GET, "/maintenances/{id}", &k, r, None).await,
        StatusCode::OK,
        "get",
    );
    let patch = json!({"version": m["version"], "title": "Database upgrade to 17"});
    expect(
        c.call(PATCH, "/maintenances/{id}", &k, r, Some(patch.clone()))
            .await,
        StatusCode::OK,
        "patch",
    );
    let stale = expect(
        c.call(PATCH, "/maintenances/{id}", &k, r, Some(patch))
            .await,
        StatusCode::CONFLICT,
        "stale",
    );
    assert_eq!(stale["current"]["title"], "Database upgrade to 17");
    let update = json!({"status": "in_progress", "body": "Started."});
    expect(
        c.call(POST, "/maintenances/{id}/updates", &k, r, Some(update))
            .await,
        StatusCode::CREATED,
        "update",
    );
}

pub async fn subscribers(c: &mut Checker<'_>, app: &TestApp, a: &str) {
    let new = json!({"url": "http://127.0.0.1:9/hook", "description": "Ops"});
    let s = expect(
        c.call(POST, "/subscribers", &[], a, Some(new)).await,
        StatusCode::CREATED,
        "subscribe",
    );
    let sid = id(&s);
    let k = [("id", sid.as_str())];
    expect(
        c.call(GET, "/subscribers", &[], a, None).await,
        StatusCode::OK,
        "list",
    );
    expect(
        c.call(GET, "/subscribers/{id}", &k, a, None).await,
        StatusCode::OK,
        "get",
    );
    let patch = json!({"version": s["version"], "description": "Ops pager"});
    expect(
        c.call(PATCH, "/subscribers/{id}", &k, a, Some(patch.clone()))
            .await,
        StatusCode::OK,
        "patch",
    );
    let stale = expect(
        c.call(PATCH, "/subscribers/{id}", &k, a, Some(patch)).await,
        StatusCode::CONFLICT,
        "stale",
    );
    assert_eq!(stale["current"]["description"], "Ops pager");
    expect(
        c.call(POST, "/subscribers/{id}/test", &k, a, None).await,
        StatusCode::ACCEPTED,
        "test",
    );
    let log = expect(
        c.call(GET, "/subscribers/{id}/deliveries", &k, a, None)
            .await,
        StatusCode::OK,
        "deliveries",
    );
    let delivery = log["items"][0]["id"].to_string();
    let d = [("id", sid.as_str()), ("delivery_id", delivery.as_str())];
    let resend = "/subscribers/{id}/deliveries/{delivery_id}/resend";
    expect(
        c.call(POST, resend, &d, a, None).await,
        StatusCode::CONFLICT,
        "pending",
    );
    sqlx::query("UPDATE deliveries SET state = 'dead' WHERE subscriber_id = $1::uuid")
        .bind(&sid)
        .execute(app.pool())
        .await
        .unwrap();
    expect(
        c.call(POST, resend, &d, a, None).await,
        StatusCode::ACCEPTED,
        "resend",
    );
    let new = json!({"url": "http://127.0.0.1:9/other"});
    let other = expect(
        c.call(POST, "/subscribers", &[], a, Some(new)).await,
        StatusCode::CREATED,
        "another",
    );
    expect(
        c.call(DELETE, "/subscribers/{id}", &[("id", &id(&other))], a, None)
            .await,
        StatusCode::NO_CONTENT,
        "delete",
    );
}

pub async fn integrations(c: &mut Checker<'_>, a: &str) {
    let new = json!({"name": "Prometheus", "kind": "alertmanager"});
    let made = expect(
        c.call(POST, "/integrations", &[], a, Some(new)).await,
        StatusCode::CREATED,
        "create",
    );
    assert_eq!(made["key"].as_str().map(str::len), Some(32));
    let iid = id(&made);
    let k = [("id", iid.as_str())];
    expect(
        c.call(GET, "/integrations", &[], a, None).await,
        StatusCode::OK,
        "list",
    );
    expect(
        c.call(GET, "/integrations/{id}", &k, a, None).await,
        StatusCode::OK,
        "get",
    );
    let patch = json!({"version": made["version"], "default_urgency": "critical"});
    expect(
        c.call(PATCH, "/integrations/{id}", &k, a, Some(patch.clone()))
            .await,
        StatusCode::OK,
        "patch",
    );
    let stale = expect(
        c.call(PATCH, "/integrations/{id}", &k, a, Some(patch))
            .await,
        StatusCode::CONFLICT,
        "stale",
    );
    assert_eq!(stale["current"]["default_urgency"], "critical");
    let rotated = expect(
        c.call(
            POST,
            "/integrations/{id}/rotate-key",
            &k,
            a,
            Some(json!({})),
        )
        .await,
        StatusCode::OK,
        "rotate",
    );
    assert_ne!(rotated["key"], made["key"]);
    let new = json!({"name": "Uptime Kuma", "kind": "pagerduty"});
    let other = expect(
        c.call(POST, "/integrations", &[], a, Some(new)).await,
        StatusCode::CREATED,
        "another",
    );
    expect(
        c.call(
            DELETE,
            "/integrations/{id}",
            &[("id", &id(&other))],
            a,
            None,
        )
        .await,
        StatusCode::NO_CONTENT,
        "delete",
    );
}

pub async fn alerts(c: &mut Checker<'_>, app: &TestApp, r: &str) {
    let (_, key) = app.integration("alertmanager").await;
    let body = crate::alerts::am("DiskFull", &[("a", "firing", "2026-03-01T10:00:00Z", None)]);
    let sent = app
        .ingest(&format!("/ingest/{key}/alertmanager"), None, &body)
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text);
    app.process_alerts().await;
    let page = expect(
        c.call(GET, "/alert-groups", &[], r, None).await,
        StatusCode::OK,
        "list groups",
    );
    let gid = id(&page["items"][0]);
    expect(
        c.call_query("/alert-groups", "state=firing&state=acknowledged", r)
            .await,
        StatusCode::OK,
        "list by state",
    );
    let g = [("id", gid.as_str())];
    expect(
        c.call(GET, "/alert-groups/{id}", &g, r, None).await,
        StatusCode::OK,
        "get group",
    );
    expect(
        c.call(GET, "/alert-groups/{id}/events", &g, r, None).await,
        StatusCode::OK,
        "history",
    );
    let acked = expect(
        c.call(POST, "/alert-groups/{id}/acknowledge", &g, r, None)
            .await,
        StatusCode::OK,
        "acknowledge",
    );
    assert_eq!(acked["state"], "acknowledged");
    expect(
        c.call(POST, "/alert-groups/{id}/resolve", &g, r, None)
            .await,
        StatusCode::OK,
        "resolve",
    );
    for action in ["acknowledge", "resolve"] {
        let template = format!("/alert-groups/{{id}}/{action}");
        let refused = expect(
            c.call(POST, &template, &g, r, None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            action,
        );
        assert!(refused["detail"]
            .as_str()
            .unwrap()
            .contains("resolved already"));
    }
    let declared = expect(
        c.call(POST, "/alert-groups/{id}/declare", &g, r, None)
            .await,
        StatusCode::CREATED,
        "declare",
    );
    expect(
        c.call(POST, "/alert-groups/{id}/declare", &g, r, None)
            .await,
        StatusCode::CONFLICT,
        "declare again",
    );
    let attach = json!({"incident_id": declared["id"]});
    let attached = expect(
        c.call(POST, "/alert-groups/{id}/attach", &g, r, Some(attach))
            .await,
        StatusCode::OK,
        "attach",
    );
    assert_eq!(attached["incident"]["id"], declared["id"]);
    let other = expect(
        c.call(
            POST,
            "/incidents",
            &[],
            r,
            Some(json!({"title": "Other", "severity": "sev3"})),
        )
        .await,
        StatusCode::CREATED,
        "declare another",
    );
    expect(
        c.call(
            POST,
            "/alert-groups/{id}/attach",
            &g,
            r,
            Some(json!({"incident_id": other["id"]})),
        )
        .await,
        StatusCode::CONFLICT,
        "attach elsewhere",
    );
    let alerts = expect(
        c.call(GET, "/alerts", &[], r, None).await,
        StatusCode::OK,
        "alerts",
    );
    assert_eq!(alerts["items"][0]["status"], "resolved");
}
