//! Bad input gets a clear 4xx in the client's format, never a 500.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use fireline::accounts::Role;

use crate::support::TestApp;

async fn admin_token(app: &TestApp) -> String {
    let admin = app.user("root@example.com", Role::Admin).await;
    let mut conn = app.pool().acquire().await.unwrap();
    fireline::accounts::tokens::create(&mut conn, admin.id, "t")
        .await
        .unwrap()
        .1
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::new().await;
    let token = admin_token(&app).await;
    let r = app.post("/api/v1/users", &token, r#"{"email": "#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .starts_with("The body is not valid JSON"));
}

#[tokio::test]
async fn unknown_enum_values_and_wrong_types_are_422_naming_the_field() {
    let app = TestApp::new().await;
    let token = admin_token(&app).await;
    let r = app
        .post(
            "/api/v1/users",
            &token,
            r#"{"email": "a@b.c", "name": "A", "role": "king"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = r.json()["errors"]["role"].as_str().unwrap().to_owned();
    assert!(message.contains("unknown variant `king`"), "{message}");
    assert!(message.contains("admin"), "{message}");

    let r = app
        .post(
            "/api/v1/users",
            &token,
            r#"{"email": 7, "name": "A", "role": "admin"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["errors"]["email"].is_string());

    let r = app
        .post("/api/v1/users", &token, r#"{"name": "A", "role": "admin"}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"]["email"], "`email` is required.");

    let r = app
        .post(
            "/api/v1/users",
            &token,
            r#"{"email": "x", "name": "", "role": "admin", "password": "short"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = &r.json()["errors"];
    assert!(
        errors["email"].is_string() && errors["name"].is_string() && errors["password"].is_string(),
        "{errors}"
    );
}

#[tokio::test]
async fn json_without_its_content_type_is_a_415() {
    let app = TestApp::new().await;
    let token = admin_token(&app).await;
    let req = Request::post("/api/v1/users")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(
            r#"{"email": "a@b.c", "name": "A", "role": "admin"}"#,
        ))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("application/json"));
}

#[tokio::test]
async fn oversized_bodies_are_a_413() {
    let app = TestApp::new().await;
    let token = admin_token(&app).await;
    let huge = format!(
        r#"{{"email": "a@b.c", "name": "{}", "role": "admin"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let r = app.post("/api/v1/users", &token, &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.header("content-type"), "application/problem+json");

    let mut browser = app.signed_in("ada@example.com", Role::Admin).await;
    let page = browser.get("/admin/tokens").await;
    let csrf = page.attr("input[name=csrf_token]", "value").unwrap();
    let name = "x".repeat(2 * 1024 * 1024);
    let r = browser
        .post_raw("/admin/tokens", &[("csrf_token", &csrf), ("name", &name)])
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.header("content-type").starts_with("text/html"));
}

#[tokio::test]
async fn malformed_forms_get_an_html_4xx() {
    let app = TestApp::new().await;
    let mut browser = app.signed_in("ada@example.com", Role::Admin).await;
    let page = browser.get("/admin/users").await;
    let csrf = page.attr("input[name=csrf_token]", "value").unwrap();
    let req = Request::post("/admin/tokens")
        .header(
            "cookie",
            format!("fireline_session={}", browser.cookies["fireline_session"]),
        )
        .header("content-type", "text/plain")
        .body(Body::from(format!("csrf_token={csrf}&name=x")))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.header("content-type").starts_with("text/html"));
    assert!(!r.select("h1").is_empty());

    // Not a UUID where one is expected: nothing there.
    let r = browser
        .press("/admin/users", "/admin/users/not-a-uuid/disable")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = browser
        .press(
            "/admin/users",
            &format!("/admin/users/{}/disable", uuid::Uuid::new_v4()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r
        .select("main")
        .join(" ")
        .contains("There is no such user."));
}

#[tokio::test]
async fn unknown_addresses_and_methods_answer_in_the_clients_format() {
    let app = TestApp::new().await;
    let r = app.get("/api/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert_eq!(r.json()["status"], 404);

    let r = app.get("/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.header("content-type").starts_with("text/html"));
    let request_id = r.header("x-request-id").to_owned();
    assert!(!request_id.is_empty());
    assert!(
        r.select("main code").contains(&request_id),
        "the page shows the request id"
    );

    let req = Request::builder()
        .method(Method::DELETE)
        .uri("/api/v1/me")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("content-type"), "application/problem+json");
}
