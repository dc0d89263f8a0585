//! `/api/v1/silences` and `/alert-groups/{id}/silence` driven through every operation,
//! checked against the document.

use axum::http::StatusCode;
use serde_json::json;

use crate::openapi::Checker;
use crate::openapi_ops::{expect, id, DELETE, GET, POST};
use crate::support::TestApp;

pub async fn silences(c: &mut Checker<'_>, app: &TestApp, r: &str) {
    let (_, key) = app.integration("alertmanager").await;
    let body = crate::alerts::am("Silenced", &[("a", "firing", "2026-03-01T10:00:00Z", None)]);
    let sent = app
        .ingest(&format!("/ingest/{key}/alertmanager"), None, &body)
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text);
    app.process_alerts().await;
    let gid: String = app
        .scalar("SELECT id::text FROM alert_groups WHERE title LIKE 'Silenced%'")
        .await;
    let g = [("id", gid.as_str())];
    let made = expect(
        c.call(
            POST,
            "/alert-groups/{id}/silence",
            &g,
            r,
            Some(json!({"minutes": 30, "reason": "Known"})),
        )
        .await,
        StatusCode::CREATED,
        "silence a group",
    );
    expect(
        c.call(
            POST,
            "/alert-groups/{id}/silence",
            &g,
            r,
            Some(json!({"minutes": 0, "reason": "Known"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "zero minutes",
    );
    let matcher = json!({"matchers": [{"label": "alertname", "op": "=", "value": "Silenced"}],
        "ends_at": "2099-01-01T00:00:00Z", "reason": "Far"});
    expect(
        c.call(POST, "/silences", &[], r, Some(matcher)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too far",
    );
    let matcher = json!({"matchers": [{"label": "alertname", "op": "=", "value": "Silenced"}],
        "minutes": 60, "reason": "Migration"});
    expect(
        c.call(POST, "/silences", &[], r, Some(matcher)).await,
        StatusCode::CREATED,
        "matcher silence",
    );
    let page = expect(
        c.call(GET, "/silences", &[], r, None).await,
        StatusCode::OK,
        "list",
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let sid = id(&made);
    let s = [("id", sid.as_str())];
    let ended = expect(
        c.call(DELETE, "/silences/{id}", &s, r, None).await,
        StatusCode::OK,
        "end",
    );
    assert_eq!(ended["active"], false);
}
