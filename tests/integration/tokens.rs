//! API tokens: created in the UI, used as bearer tokens, revoked.

use axum::http::{Method, StatusCode};
use fireline::accounts::Role;

use crate::support::TestApp;

#[tokio::test]
async fn a_token_from_the_ui_is_shown_once_works_and_stops_when_revoked() {
    let app = TestApp::new().await;
    let mut browser = app.signed_in("ada@example.com", Role::Responder).await;
    let created = browser
        .form("/admin/tokens", &[("name", "deploy pipeline")])
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let token = created
        .select("#new-token")
        .pop()
        .expect("the new token is shown");
    assert!(token.starts_with("fl_"), "{token}");
    assert!(
        created
            .attr("button[data-copy=new-token]", "type")
            .is_some(),
        "a copy button"
    );

    // Stored hashed: the token itself is nowhere in the database.
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE token_hash = sha256($1::bytea)")
            .bind(token.as_bytes())
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(stored, 1);

    let me = app.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json()["email"], "ada@example.com");
    assert_eq!(me.json()["role"], "responder");

    // The list shows it with a last-used time, and never the token again.
    let list = browser.get("/admin/tokens").await;
    assert!(list.select("#new-token").is_empty());
    assert!(!list.text.contains(&token));
    let row = list.select("tbody tr").join(" ");
    assert!(row.contains("deploy pipeline"), "{row}");
    assert!(!row.contains("never"), "last used is shown: {row}");

    let id: uuid::Uuid = app.scalar("SELECT id FROM api_tokens").await;
    let revoked = browser
        .press("/admin/tokens", &format!("/admin/tokens/{id}/revoke"))
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let me = app.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.header("content-type"), "application/problem+json");
    assert!(me.json()["detail"].as_str().unwrap().contains("revoked"));
}

#[tokio::test]
async fn a_disabled_users_tokens_stop_working_at_once() {
    let app = TestApp::new().await;
    let user = app.user("ada@example.com", Role::Admin).await;
    let mut conn = app.pool().acquire().await.unwrap();
    let (_, token) = fireline::accounts::tokens::create(&mut conn, user.id, "ci")
        .await
        .unwrap();
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", &token, None)
            .await
            .status,
        StatusCode::OK
    );
    fireline::accounts::users::set_disabled(&mut conn, user.id, true)
        .await
        .unwrap();
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", &token, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn re_enabling_a_user_in_the_admin_ui_does_not_bring_their_tokens_back() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("root@example.com", Role::Admin).await;
    let (ada, token) = app.token("ada@example.com", Role::Responder).await;
    let (_, other) = app.token("grace@example.com", Role::Responder).await;
    let me = |token: String| {
        let app = &app;
        async move {
            app.api(Method::GET, "/api/v1/me", &token, None)
                .await
                .status
        }
    };
    assert_eq!(me(token.clone()).await, StatusCode::OK);

    let disabled = admin
        .press("/admin/users", &format!("/admin/users/{}/disable", ada.id))
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    let notice = admin
        .get("/admin/users")
        .await
        .select("[role=status]")
        .join(" ");
    assert!(notice.contains("API tokens revoked"), "{notice}");
    let revoked: Vec<Option<time::OffsetDateTime>> =
        sqlx::query_scalar("SELECT revoked_at FROM api_tokens WHERE user_id = $1")
            .bind(ada.id)
            .fetch_all(app.pool())
            .await
            .unwrap();
    assert!(matches!(revoked.as_slice(), [Some(_)]), "{revoked:?}");

    let enabled = admin
        .press("/admin/users", &format!("/admin/users/{}/enable", ada.id))
        .await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER);
    let notice = admin
        .get("/admin/users")
        .await
        .select("[role=status]")
        .join(" ");
    assert!(notice.contains("old API tokens stay revoked"), "{notice}");
    assert_eq!(
        me(token).await,
        StatusCode::UNAUTHORIZED,
        "the old token stays dead"
    );
    // Someone else's tokens were not touched, and Ada can make a new one.
    assert_eq!(me(other).await, StatusCode::OK);
    let (_, fresh) =
        fireline::accounts::tokens::create(&mut app.pool().acquire().await.unwrap(), ada.id, "new")
            .await
            .unwrap();
    assert_eq!(me(fresh).await, StatusCode::OK);
}

#[tokio::test]
async fn api_requests_without_a_usable_token_get_a_clear_problem() {
    let app = TestApp::new().await;
    let missing = app.get("/api/v1/me").await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.header("www-authenticate"), "Bearer");
    let problem = missing.json();
    assert_eq!(problem["status"], 401);
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
    assert!(problem["request_id"].is_string());

    let unknown = app.api(Method::GET, "/api/v1/me", "fl_made_up", None).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);

    let req = axum::http::Request::get("/api/v1/me")
        .header("authorization", "Basic YWRhOnB3")
        .body(axum::body::Body::empty())
        .unwrap();
    let basic = app.send(req).await;
    assert_eq!(basic.status, StatusCode::BAD_REQUEST);
    assert!(basic.json()["detail"]
        .as_str()
        .unwrap()
        .contains("Bearer <token>"));
}

#[tokio::test]
async fn people_revoke_their_own_tokens_and_only_admins_revoke_others() {
    let app = TestApp::new().await;
    let grace = app.user("grace@example.com", Role::Responder).await;
    let mut conn = app.pool().acquire().await.unwrap();
    let (grace_token_id, grace_token) =
        fireline::accounts::tokens::create(&mut conn, grace.id, "grace's")
            .await
            .unwrap();

    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;
    let page = ada.get("/admin/tokens").await;
    assert!(
        page.select("tbody td").iter().all(|t| t != "grace's"),
        "responders see only their own"
    );
    let r = ada
        .press(
            "/admin/tokens",
            &format!("/admin/tokens/{grace_token_id}/revoke"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", &grace_token, None)
            .await
            .status,
        StatusCode::OK
    );

    let mut admin = app.signed_in("root@example.com", Role::Admin).await;
    let page = admin.get("/admin/tokens").await;
    assert!(
        page.select("tbody td").iter().any(|t| t == "grace's"),
        "admins see all tokens"
    );
    let r = admin
        .press(
            "/admin/tokens",
            &format!("/admin/tokens/{grace_token_id}/revoke"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", &grace_token, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_token_needs_a_name() {
    let app = TestApp::new().await;
    let mut browser = app.signed_in("ada@example.com", Role::Viewer).await;
    let r = browser.form("/admin/tokens", &[("name", "  ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .select("#token-name-error")
        .join("")
        .contains("Give the token a name"));
}
