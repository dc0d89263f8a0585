//! `/api/v1/heartbeats` driven through every operation, checked against the document.

use axum::http::StatusCode;
use serde_json::json;

use crate::openapi::Checker;
use crate::openapi_ops::{expect, id, DELETE, GET, PATCH, POST};

pub async fn heartbeats(c: &mut Checker<'_>, a: &str, r: &str) {
    let made = expect(
        c.call(
            POST,
            "/heartbeats",
            &[],
            a,
            Some(json!({"name": "Nightly backup", "cron": "0 3 * * *",
                "time_zone": "Europe/Berlin", "grace_seconds": 1800,
                "labels": {"service": "backup"}})),
        )
        .await,
        StatusCode::CREATED,
        "create",
    );
    assert_eq!(made["state"], "new");
    let hid = id(&made);
    let h = [("id", hid.as_str())];
    let page = expect(
        c.call(GET, "/heartbeats", &[], r, None).await,
        StatusCode::OK,
        "list",
    );
    assert!(page
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == made["id"]));
    expect(
        c.call(GET, "/heartbeats/{id}", &h, r, None).await,
        StatusCode::OK,
        "get",
    );
    let changed = expect(
        c.call(
            PATCH,
            "/heartbeats/{id}",
            &h,
            a,
            Some(json!({"period_seconds": 600, "version": made["version"]})),
        )
        .await,
        StatusCode::OK,
        "patch",
    );
    assert_eq!(changed["period_seconds"], 600);
    assert!(changed["cron"].is_null());
    expect(
        c.call(
            PATCH,
            "/heartbeats/{id}",
            &h,
            a,
            Some(json!({"name": "Stale", "version": made["version"]})),
        )
        .await,
        StatusCode::CONFLICT,
        "stale version",
    );
    let paused = expect(
        c.call(POST, "/heartbeats/{id}/pause", &h, r, None).await,
        StatusCode::OK,
        "pause",
    );
    assert_eq!(paused["state"], "paused");
    let resumed = expect(
        c.call(POST, "/heartbeats/{id}/resume", &h, r, None).await,
        StatusCode::OK,
        "resume",
    );
    assert_eq!(resumed["state"], "new");
    let other = expect(
        c.call(
            POST,
            "/heartbeats",
            &[],
            a,
            Some(json!({"name": "To delete", "period_seconds": 60})),
        )
        .await,
        StatusCode::CREATED,
        "create another",
    );
    let oid = id(&other);
    expect(
        c.call(DELETE, "/heartbeats/{id}", &[("id", oid.as_str())], a, None)
            .await,
        StatusCode::NO_CONTENT,
        "delete",
    );
}
