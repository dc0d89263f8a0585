//! Every operation of `/api/v1` driven to success (and to the errors only it can give:
//! stale versions, a pending resend, a shipped template), checked against the document.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::openapi::Checker;
use crate::support::TestApp;
use fireline::domain::Role;

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// `expected`, or a panic that shows the body.
fn expect(answer: crate::openapi::Answer, expected: StatusCode, what: &str) -> Value {
    assert_eq!(answer.status, expected, "{what}: {}", answer.json);
    answer.json
}

#[tokio::test]
async fn every_operation_answers_as_the_openapi_document_says() {
    let app = TestApp::with_private_webhooks().await;
    let (_, a) = app.token("root@example.com", Role::Admin).await;
    let (_, r) = app.token("rita@example.com", Role::Responder).await;
    let (_, v) = app.token("vic@example.com", Role::Viewer).await;
    let mut c = Checker::new(&app).await;
    c.assert_refs_resolve();
    c.assert_parameters_and_limits();

    people_and_components(&mut c, &a, &v).await;
    incidents(&mut c, &r).await;
    postmortems(&mut c, &a, &r).await;
    maintenances(&mut c, &r).await;
    subscribers(&mut c, &app, &a).await;

    c.drive_common_errors(&a, &r, &v).await;
    c.drive_database_outage(&a).await;
    c.assert_complete();
}

async fn people_and_components(c: &mut Checker<'_>, a: &str, v: &str) {
    expect(c.call(GET, "/me", &[], v, None).await, StatusCode::OK, "me");
    expect(
        c.call(GET, "/users", &[], v, None).await,
        StatusCode::OK,
        "users",
    );
    let body = json!({"email": "new@example.com", "name": "New", "role": "viewer"});
    let user = expect(
        c.call(POST, "/users", &[], a, Some(body.clone())).await,
        StatusCode::CREATED,
        "create user",
    );
    expect(
        c.call(POST, "/users", &[], a, Some(body)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "taken email",
    );
    let uid = id(&user);
    expect(
        c.call(GET, "/users/{id}", &[("id", &uid)], v, None).await,
        StatusCode::OK,
        "user",
    );

    let group = expect(
        c.call(
            POST,
            "/component-groups",
            &[],
            a,
            Some(json!({"name": "Core"})),
        )
        .await,
        StatusCode::CREATED,
        "group",
    );
    let gid = id(&group);
    let g = [("id", gid.as_str())];
    expect(
        c.call(GET, "/component-groups", &[], v, None).await,
        StatusCode::OK,
        "groups",
    );
    expect(
        c.call(GET, "/component-groups/{id}", &g, v, None).await,
        StatusCode::OK,
        "group",
    );
    let patch = json!({"description": "The core"});
    expect(
        c.call(PATCH, "/component-groups/{id}", &g, a, Some(patch))
            .await,
        StatusCode::OK,
        "patch group",
    );
    let new = json!({"name": "API", "group_id": gid, "status": "operational"});
    let component = expect(
        c.call(POST, "/components", &[], a, Some(new)).await,
        StatusCode::CREATED,
        "component",
    );
    let cid = id(&component);
    let k = [("id", cid.as_str())];
    expect(
        c.call(GET, "/components", &[], v, None).await,
        StatusCode::OK,
        "components",
    );
    expect(
        c.call(GET, "/components/{id}", &k, v, None).await,
        StatusCode::OK,
        "component",
    );
    let patch = json!({"status": "degraded_performance"});
    expect(
        c.call(PATCH, "/components/{id}", &k, a, Some(patch)).await,
        StatusCode::OK,
        "patch component",
    );
    let spare = expect(
        c.call(POST, "/components", &[], a, Some(json!({"name": "Spare"})))
            .await,
        StatusCode::CREATED,
        "spare",
    );
    let sid = id(&spare);
    expect(
        c.call(DELETE, "/components/{id}", &[("id", &sid)], a, None)
            .await,
        StatusCode::NO_CONTENT,
        "delete component",
    );
    let spare = expect(
        c.call(
            POST,
            "/component-groups",
            &[],
            a,
            Some(json!({"name": "Spare"})),
        )
        .await,
        StatusCode::CREATED,
        "spare group",
    );
    let sid = id(&spare);
    expect(
        c.call(DELETE, "/component-groups/{id}", &[("id", &sid)], a, None)
            .await,
        StatusCode::NO_CONTENT,
        "delete group",
    );
}

async fn incidents(c: &mut Checker<'_>, r: &str) {
    let declare = json!({"title": "Checkout is slow", "severity": "sev2", "summary": "p99 up"});
    let incident = expect(
        c.call(POST, "/incidents", &[], r, Some(declare)).await,
        StatusCode::CREATED,
        "declare",
    );
    let iid = id(&incident);
    let i = [("id", iid.as_str())];
    expect(
        c.call(GET, "/incidents", &[], r, None).await,
        StatusCode::OK,
        "list",
    );
    let listed = expect(
        c.call_query("/incidents", "status=open&limit=1", r).await,
        StatusCode::OK,
        "filtered",
    );
    assert_eq!(listed["items"][0]["id"], iid.as_str());
    expect(
        c.call_query("/incidents", "status=closed", r).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown status filter",
    );
    expect(
        c.call(GET, "/incidents/{id}", &i, r, None).await,
        StatusCode::OK,
        "get",
    );
    let patch = json!({"version": incident["version"], "severity": "sev1"});
    expect(
        c.call(PATCH, "/incidents/{id}", &i, r, Some(patch.clone()))
            .await,
        StatusCode::OK,
        "patch",
    );
    let stale = expect(
        c.call(PATCH, "/incidents/{id}", &i, r, Some(patch)).await,
        StatusCode::CONFLICT,
        "stale",
    );
    assert!(stale["current"]["version"].is_number());

    let streams = expect(
        c.call(GET, "/incidents/{id}/workstreams", &i, r, None)
            .await,
        StatusCode::OK,
        "workstreams",
    );
    assert!(!streams.as_array().unwrap().is_empty());
    let ws = expect(
        c.call(
            POST,
            "/incidents/{id}/workstreams",
            &i,
            r,
            Some(json!({"title": "Comms"})),
        )
        .await,
        StatusCode::CREATED,
        "add workstream",
    );
    let wid = id(&ws);
    let w = [("id", wid.as_str())];
    let patch = json!({"objective": "Tell customers"});
    expect(
        c.call(PATCH, "/workstreams/{id}", &w, r, Some(patch)).await,
        StatusCode::OK,
        "patch workstream",
    );
    let task = expect(
        c.call(
            POST,
            "/workstreams/{id}/tasks",
            &w,
            r,
            Some(json!({"title": "Draft"})),
        )
        .await,
        StatusCode::CREATED,
        "task",
    );
    let tid = id(&task);
    expect(
        c.call(
            PATCH,
            "/tasks/{id}",
            &[("id", &tid)],
            r,
            Some(json!({"done": true})),
        )
        .await,
        StatusCode::OK,
        "patch task",
    );

    let note = expect(
        c.call(
            POST,
            "/incidents/{id}/events",
            &i,
            r,
            Some(json!({"body": "Looking"})),
        )
        .await,
        StatusCode::CREATED,
        "note",
    );
    let eid = id(&note);
    expect(
        c.call(GET, "/incidents/{id}/events", &i, r, None).await,
        StatusCode::OK,
        "log",
    );
    expect(
        c.call(
            GET,
            "/incidents/{id}/events/{event_id}",
            &[("id", &iid), ("event_id", &eid)],
            r,
            None,
        )
        .await,
        StatusCode::OK,
        "entry",
    );
    let update = json!({"status": "identified", "body": "We found it."});
    let posted = expect(
        c.call(POST, "/incidents/{id}/updates", &i, r, Some(update))
            .await,
        StatusCode::CREATED,
        "update",
    );
    let up = id(&posted);
    expect(
        c.call(GET, "/incidents/{id}/updates", &i, r, None).await,
        StatusCode::OK,
        "updates",
    );
    expect(
        c.call(
            GET,
            "/incidents/{id}/updates/{update_id}",
            &[("id", &iid), ("update_id", &up)],
            r,
            None,
        )
        .await,
        StatusCode::OK,
        "one update",
    );
    expect(
        c.call(GET, "/incidents/{id}/stream", &i, r, None).await,
        StatusCode::OK,
        "stream",
    );
}

async fn postmortems(c: &mut Checker<'_>, a: &str, r: &str) {
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

async fn maintenances(c: &mut Checker<'_>, r: &str) {
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

async fn subscribers(c: &mut Checker<'_>, app: &TestApp, a: &str) {
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
