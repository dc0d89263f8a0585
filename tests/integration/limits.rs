//! Limits on text fields, the same through the API and the admin forms: length, and no
//! control characters (line breaks and tabs only where text has lines). And a role too
//! low is refused before the body is looked at.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;
use fireline::accounts::Role;

#[tokio::test]
async fn the_api_refuses_overlong_text_and_control_characters_naming_the_field() {
    let app = TestApp::new().await;
    let (_, token) = app.token("rita@example.com", Role::Admin).await;
    let incident = app
        .declare(&token, json!({"title": "Slow", "severity": "sev3"}))
        .await;
    let iid = incident["id"].as_str().unwrap();
    let pm = app
        .created(
            &format!("/api/v1/incidents/{iid}/postmortem"),
            &token,
            json!({}),
        )
        .await;
    let pid = pm["id"].as_str().unwrap();
    let cases = [
        // A title: one line, 200 characters.
        (
            "/api/v1/incidents".to_owned(),
            Method::POST,
            json!({"title": "x".repeat(201), "severity": "sev3"}),
            "title",
        ),
        (
            "/api/v1/incidents".to_owned(),
            Method::POST,
            json!({"title": "db-3\u{7} on fire", "severity": "sev3"}),
            "title",
        ),
        (
            "/api/v1/incidents".to_owned(),
            Method::POST,
            json!({"title": "two\nlines", "severity": "sev3"}),
            "title",
        ),
        // A summary: 5,000 characters (the adversarial run sent 200,000).
        (
            "/api/v1/incidents".to_owned(),
            Method::POST,
            json!({"title": "ok", "severity": "sev3", "summary": "s".repeat(200_000)}),
            "summary",
        ),
        // A Markdown body takes lines but not escape sequences.
        (
            format!("/api/v1/incidents/{iid}/updates"),
            Method::POST,
            json!({"status": "identified", "body": "red \u{1b}[31m"}),
            "body",
        ),
        // A name: 100 characters.
        (
            "/api/v1/components".to_owned(),
            Method::POST,
            json!({"name": "n".repeat(101)}),
            "name",
        ),
        (
            "/api/v1/components".to_owned(),
            Method::POST,
            json!({"name": "ok", "description": "d".repeat(501)}),
            "description",
        ),
        // The postmortem itself: 200,000 characters.
        (
            format!("/api/v1/postmortems/{pid}"),
            Method::PATCH,
            json!({"version": pm["version"], "body": "p".repeat(200_001)}),
            "body",
        ),
        (
            format!("/api/v1/incidents/{iid}/workstreams"),
            Method::POST,
            json!({"title": "ok", "objective": "o".repeat(5_001)}),
            "objective",
        ),
    ];
    for (path, method, body, field) in cases {
        let r = app
            .api(method.clone(), &path, &token, Some(&body.to_string()))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {path} {field}: {}",
            r.text
        );
        let message = r.json()["errors"][field]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            !message.is_empty(),
            "{method} {path}: no message for {field}: {}",
            r.text
        );
    }
    // Nothing was made, and the limits are what the document says.
    let incidents = app.api_get("/api/v1/incidents", &token).await;
    assert_eq!(incidents["items"].as_array().unwrap().len(), 1);
    let doc = app.get("/api/openapi.json").await.json();
    let declare = &doc["components"]["schemas"]["DeclareJson"]["properties"];
    assert_eq!(declare["title"]["maxLength"], 200);
    assert_eq!(declare["summary"]["maxLength"], 5000);
    let patch = &doc["components"]["schemas"]["PostmortemPatch"]["properties"];
    assert_eq!(patch["body"]["maxLength"], 200_000);

    // At the limit, with line breaks and tabs where text has lines, all is well.
    let body = json!({"title": "é".repeat(200), "severity": "sev3", "summary": format!("line\n\tindented{}", "s".repeat(4_980))});
    app.created("/api/v1/incidents", &token, body).await;
}

#[tokio::test]
async fn admin_forms_refuse_the_same_text_with_the_same_words() {
    let app = TestApp::new().await;
    let mut browser = app.signed_in("root@example.com", Role::Admin).await;
    let r = browser
        .submit(
            "/admin/incidents/new",
            "/admin/incidents",
            &[
                ("title", "db-3\u{7} on fire"),
                ("severity", "sev2"),
                ("summary", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.select(".alert")[0].contains("control characters"),
        "{:?}",
        r.select(".alert")
    );
    let long = "s".repeat(5_001);
    let r = browser
        .submit(
            "/admin/incidents/new",
            "/admin/incidents",
            &[
                ("title", "Fine"),
                ("severity", "sev2"),
                ("summary", long.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.select(".alert")[0].contains("at most 5000"),
        "{:?}",
        r.select(".alert")
    );

    let name = "n".repeat(101);
    let r = browser
        .form(
            "/admin/components",
            &[
                ("name", name.as_str()),
                ("description", ""),
                ("status", "operational"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.select(".alert")[0].contains("at most 100"),
        "{:?}",
        r.select(".alert")
    );
    let count: i64 = app.scalar("SELECT count(*) FROM incidents").await;
    assert_eq!(count, 0, "nothing was declared");
}

#[tokio::test]
async fn a_viewer_is_refused_before_the_body_is_read() {
    let app = TestApp::new().await;
    let (_, viewer) = app.token("vic@example.com", Role::Viewer).await;
    let (_, responder) = app.token("rita@example.com", Role::Responder).await;
    let bodies = [
        r#"{"title": "#,
        r#"{"title": ""}"#,
        r#"{"no_such_field": true}"#,
        "[]",
    ];
    let paths = [
        (Method::POST, "/api/v1/incidents", &viewer),
        (Method::POST, "/api/v1/maintenances", &viewer),
        (Method::POST, "/api/v1/components", &responder),
        (Method::POST, "/api/v1/users", &responder),
        (Method::PATCH, "/api/v1/incidents/INC-1", &viewer),
    ];
    for (method, path, token) in paths {
        for body in bodies {
            let r = app.api(method.clone(), path, token, Some(body)).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {path} {body}: {}",
                r.text
            );
            assert_eq!(r.header("content-type"), "application/problem+json");
        }
    }
}
