//! Every operation of `/api/v1` driven to success (and to the errors only it can give:
//! stale versions, a pending resend, a shipped template), checked against the document.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::openapi::Checker;
use crate::openapi_ops_rest as rest;
use crate::support::TestApp;
use fireline::accounts::Role;

pub const GET: Method = Method::GET;
pub const POST: Method = Method::POST;
pub const PATCH: Method = Method::PATCH;
pub const DELETE: Method = Method::DELETE;
pub const PUT: Method = Method::PUT;

pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// `expected`, or a panic that shows the body.
pub fn expect(answer: crate::openapi::Answer, expected: StatusCode, what: &str) -> Value {
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
    rest::postmortems(&mut c, &a, &r).await;
    rest::maintenances(&mut c, &r).await;
    rest::subscribers(&mut c, &app, &a).await;
    rest::integrations(&mut c, &a).await;
    rest::alerts(&mut c, &app, &r).await;
    crate::openapi_ops_routing::routing_rules(&mut c, &a, &v).await;
    crate::openapi_ops_silences::silences(&mut c, &app, &r).await;
    crate::openapi_ops_teams::teams(&mut c, &app, &a, &r, &v).await;
    crate::openapi_ops_heartbeats::heartbeats(&mut c, &a, &r).await;
    crate::openapi_ops_checks::checks(&mut c, &app, &a, &r).await;
    crate::openapi_ops_email::email_subscribers(&mut c, &a, &r).await;

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
    let u = [("id", uid.as_str())];
    expect(
        c.call(POST, "/users/{id}/disable", &u, a, None).await,
        StatusCode::OK,
        "disable user",
    );
    let root = expect(c.call(GET, "/me", &[], a, None).await, StatusCode::OK, "me");
    let root_id = id(&root);
    expect(
        c.call(POST, "/users/{id}/disable", &[("id", &root_id)], a, None)
            .await,
        StatusCode::CONFLICT,
        "the last admin",
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
