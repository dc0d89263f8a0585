//! `/api/v1/checks` and `/api/v1/component-proposals` driven through every operation,
//! checked against the document.

use axum::http::StatusCode;
use serde_json::json;

use crate::openapi::Checker;
use crate::openapi_ops::{expect, id, DELETE, GET, PATCH, POST, PUT};
use crate::support::TestApp;
use fireline::monitors::probe::Probes;

pub async fn checks(c: &mut Checker<'_>, app: &TestApp, a: &str, r: &str) {
    let component = app.component(a, "Checked API").await;
    let cache = app.component(a, "Checked cache").await;
    let d = [("id", component.as_str())];
    let set = expect(
        c.call(
            PUT,
            "/components/{id}/dependencies",
            &d,
            a,
            Some(json!({"depends_on": [cache]})),
        )
        .await,
        StatusCode::OK,
        "set dependencies",
    );
    assert_eq!(set["depends_on"], json!([cache]));
    expect(
        c.call(
            PUT,
            "/components/{id}/dependencies",
            &[("id", cache.as_str())],
            a,
            Some(json!({"depends_on": [component]})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a cycle",
    );
    let nobody = uuid::Uuid::new_v4().to_string();
    expect(
        c.call(
            PUT,
            "/components/{id}/dependencies",
            &[("id", nobody.as_str())],
            a,
            Some(json!({"depends_on": []})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "no such component",
    );
    expect(
        c.call(GET, "/components/{id}/dependencies", &d, r, None)
            .await,
        StatusCode::OK,
        "dependencies",
    );
    expect(
        c.call(
            GET,
            "/components/{id}/dependencies",
            &[("id", nobody.as_str())],
            r,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "dependencies of nothing",
    );
    let made = expect(
        c.call(
            POST,
            "/checks",
            &[],
            a,
            Some(
                json!({"name": "Refused port", "kind": "tcp", "target": "127.0.0.1:9",
                "failures_before_down": 1, "component_id": component,
                "labels": {"service": "api"}}),
            ),
        )
        .await,
        StatusCode::CREATED,
        "create",
    );
    assert_eq!(made["state"], "new");
    let cid = id(&made);
    let k = [("id", cid.as_str())];
    expect(
        c.call(
            POST,
            "/checks",
            &[],
            a,
            Some(json!({"name": "x", "kind": "tcp", "target": "nohost"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad target",
    );
    let list = expect(
        c.call(GET, "/checks", &[], r, None).await,
        StatusCode::OK,
        "list",
    );
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == made["id"]));
    expect(
        c.call(GET, "/checks/{id}", &k, r, None).await,
        StatusCode::OK,
        "get",
    );
    let changed = expect(
        c.call(
            PATCH,
            "/checks/{id}",
            &k,
            a,
            Some(json!({"interval_seconds": 30, "version": made["version"]})),
        )
        .await,
        StatusCode::OK,
        "patch",
    );
    assert_eq!(changed["interval_seconds"], 30);
    expect(
        c.call(
            PATCH,
            "/checks/{id}",
            &k,
            a,
            Some(json!({"name": "Stale", "version": made["version"]})),
        )
        .await,
        StatusCode::CONFLICT,
        "stale version",
    );
    // One run: the port refuses, the check goes down and proposes a status.
    let ran = fireline::monitors::runner::run_due(app.pool(), &Probes::new().unwrap(), "openapi")
        .await
        .unwrap();
    assert_eq!(ran.len(), 1, "the new check was due: {ran:?}");
    let results = expect(
        c.call(GET, "/checks/{id}/results", &k, r, None).await,
        StatusCode::OK,
        "results",
    );
    assert_eq!(
        results[0]["ok"], false,
        "the run of the refused port: {results}"
    );
    let proposals = expect(
        c.call(GET, "/component-proposals", &[], r, None).await,
        StatusCode::OK,
        "proposals",
    );
    let pid = id(&proposals[0]);
    let p = [("id", pid.as_str())];
    expect(
        c.call(POST, "/component-proposals/{id}/dismiss", &p, r, None)
            .await,
        StatusCode::OK,
        "dismiss",
    );
    expect(
        c.call(POST, "/component-proposals/{id}/apply", &p, r, None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "apply a decided one",
    );
    expect(
        c.call(POST, "/component-proposals/{id}/dismiss", &p, r, None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "dismiss a decided one",
    );
    let paused = expect(
        c.call(POST, "/checks/{id}/pause", &k, r, None).await,
        StatusCode::OK,
        "pause",
    );
    assert_eq!(paused["state"], "paused");
    let resumed = expect(
        c.call(POST, "/checks/{id}/resume", &k, r, None).await,
        StatusCode::OK,
        "resume",
    );
    assert_eq!(resumed["state"], "new");
    // Down again, proposing again: applied this time.
    fireline::monitors::runner::run_due(app.pool(), &Probes::new().unwrap(), "openapi")
        .await
        .unwrap();
    let proposals = expect(
        c.call(GET, "/component-proposals", &[], r, None).await,
        StatusCode::OK,
        "proposals again",
    );
    let pid = id(&proposals[0]);
    expect(
        c.call(
            POST,
            "/component-proposals/{id}/apply",
            &[("id", pid.as_str())],
            r,
            None,
        )
        .await,
        StatusCode::OK,
        "apply",
    );
    expect(
        c.call(DELETE, "/checks/{id}", &k, a, None).await,
        StatusCode::NO_CONTENT,
        "delete",
    );
}
