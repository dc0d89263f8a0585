//! `/api/v1/routing-rules` driven through every operation, checked against the document.

use axum::http::StatusCode;
use serde_json::json;

use crate::openapi::Checker;
use crate::openapi_ops::{expect, id, DELETE, GET, PATCH, POST};

pub async fn routing_rules(c: &mut Checker<'_>, a: &str, v: &str) {
    let new = json!({"name": "api", "urgency": "critical",
        "matchers": [{"label": "service", "op": "=~", "value": "api|web"}],
        "severities": ["critical"],
        "declare": {"severity": "sev2", "title_template": "{{ labels.service }} down"}});
    let made = expect(
        c.call(POST, "/routing-rules", &[], a, Some(new)).await,
        StatusCode::CREATED,
        "create",
    );
    let bad = json!({"name": "bad", "urgency": "low",
        "matchers": [{"label": "service", "op": "=~", "value": "("}]});
    expect(
        c.call(POST, "/routing-rules", &[], a, Some(bad)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad regex",
    );
    let rid = id(&made);
    let k = [("id", rid.as_str())];
    expect(
        c.call(GET, "/routing-rules", &[], v, None).await,
        StatusCode::OK,
        "list",
    );
    expect(
        c.call(GET, "/routing-rules/{id}", &k, v, None).await,
        StatusCode::OK,
        "get",
    );
    let patch = json!({"version": made["version"], "position": 3, "declare": null});
    expect(
        c.call(PATCH, "/routing-rules/{id}", &k, a, Some(patch.clone()))
            .await,
        StatusCode::OK,
        "patch",
    );
    let stale = expect(
        c.call(PATCH, "/routing-rules/{id}", &k, a, Some(patch))
            .await,
        StatusCode::CONFLICT,
        "stale",
    );
    assert_eq!(stale["current"]["position"], 3);
    let payload = json!({"routing_key": "x".repeat(32), "event_action": "trigger",
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "critical"}});
    let test = json!({"integration_kind": "pagerduty", "payload": payload,
        "rule": {"name": "draft", "position": 1, "urgency": "low"}});
    let answer = expect(
        c.call(POST, "/routing-rules/test", &[], v, Some(test))
            .await,
        StatusCode::OK,
        "test",
    );
    assert_eq!(answer["matched_rule"]["draft"], true, "{answer}");
    expect(
        c.call(DELETE, "/routing-rules/{id}", &k, a, None).await,
        StatusCode::NO_CONTENT,
        "delete",
    );
}
