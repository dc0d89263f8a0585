//! The first-run setup link.

use axum::http::StatusCode;
use fireline::accounts::Role;
use fireline::platform::secret::{hash_token, random_token};

use crate::support::{Browser, TestApp, TestResponse};

async fn setup_link(app: &TestApp) -> String {
    let token = random_token("");
    let mut tx = app.pool().begin().await.unwrap();
    fireline::accounts::setup_tokens::replace(&mut tx, &hash_token(&token))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    format!("/setup?token={token}")
}

/// Submits the setup form shown at `page` for Ada, with the token of `link`.
async fn create_ada(browser: &mut Browser<'_>, page: &str, link: &str) -> TestResponse {
    let token = link.trim_start_matches("/setup?token=");
    browser
        .submit(
            page,
            "/setup",
            &[
                ("token", token),
                ("name", "Ada Lovelace"),
                ("email", "ada@example.com"),
                ("password", "analytical engine 1843"),
                ("password_confirm", "analytical engine 1843"),
            ],
        )
        .await
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = TestApp::new().await;
    let link = setup_link(&app).await;
    let mut browser = app.browser();
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.select("h1"), ["Welcome to Fireline"]);
    let created = create_ada(&mut browser, &link, &link).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    assert_eq!(
        created.location(),
        "/admin",
        "signed in, not sent to sign in"
    );
    assert!(
        created
            .set_cookies()
            .iter()
            .any(|c| c.contains("fireline_session=") && c.contains("HttpOnly")),
        "{:?}",
        created.set_cookies()
    );
    let dashboard = browser.get("/admin").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert_eq!(
        dashboard.select("[role=status]"),
        ["Your admin account is ready and you are signed in."]
    );

    let role: Role = app
        .scalar("SELECT role FROM users WHERE email = 'ada@example.com'")
        .await;
    assert_eq!(role, Role::Admin);
    // An admin page that needs the admin role works with that session.
    assert_eq!(browser.get("/admin/users").await.status, StatusCode::OK);

    // The link is spent.
    let mut late = app.browser();
    let again = late.get(&link).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.select("h1"), ["This setup link is not valid"]);
}

#[tokio::test]
async fn a_made_up_setup_token_shows_nothing_to_use() {
    let app = TestApp::new().await;
    setup_link(&app).await;
    let mut browser = app.browser();
    assert_eq!(
        browser.get("/setup?token=guess").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(browser.get("/setup").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_setup_link_stops_working_once_an_admin_exists() {
    let app = TestApp::new().await;
    let link = setup_link(&app).await;
    app.user("root@example.com", Role::Admin).await;
    let mut browser = app.browser();
    assert_eq!(browser.get(&link).await.status, StatusCode::NOT_FOUND);
    let token = link.trim_start_matches("/setup?token=");
    let csrf = browser
        .get("/login")
        .await
        .attr("input[name=csrf_token]", "value")
        .unwrap();
    let r = browser
        .post_raw(
            "/setup",
            &[
                ("csrf_token", &csrf),
                ("token", token),
                ("name", "Mallory"),
                ("email", "mallory@example.com"),
                ("password", "a long enough password"),
                ("password_confirm", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let count: i64 = app.scalar("SELECT count(*) FROM users").await;
    assert_eq!(count, 1);
}

#[tokio::test]
async fn the_setup_form_explains_what_is_wrong_with_each_field() {
    let app = TestApp::new().await;
    let link = setup_link(&app).await;
    let token = link.trim_start_matches("/setup?token=").to_owned();
    let mut browser = app.browser();
    let r = browser
        .submit(
            &link,
            "/setup",
            &[
                ("token", &token),
                ("name", " "),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "different"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.select("#name-error"), ["Enter a name."]);
    assert_eq!(
        r.select("#email-error"),
        ["\"not-an-email\" is not an email address."]
    );
    assert_eq!(
        r.select("#password-error"),
        ["A password needs at least 12 characters."]
    );
    assert_eq!(
        r.select("#password_confirm-error"),
        ["The two passwords differ."]
    );
    assert_eq!(r.attr("#email", "value").as_deref(), Some("not-an-email"));
    // The link still works after a failed attempt.
    assert_eq!(browser.get(&link).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_new_setup_link_revokes_the_one_before() {
    let app = TestApp::new().await;
    let old = setup_link(&app).await;
    let new = setup_link(&app).await;
    let mut browser = app.browser();
    assert_eq!(browser.get(&old).await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get(&new).await.status, StatusCode::OK);
    let refused = create_ada(&mut browser, &new, &old).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let users: i64 = app.scalar("SELECT count(*) FROM users").await;
    assert_eq!(users, 0);
}

#[tokio::test]
async fn behind_https_setup_removes_the_anonymous_host_cookie_once_signed_in() {
    let app = TestApp::with_settings(fireline::app::config::Settings::for_base_url(
        "https://status.example.com",
    ))
    .await;
    let link = setup_link(&app).await;
    let mut browser = app.browser();
    browser.get(&link).await;
    assert!(browser.cookies.contains_key("__Host-fireline_csrf"));
    let created = create_ada(&mut browser, &link, &link).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    assert!(
        created
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-fireline_csrf=") && c.contains("Max-Age=0")),
        "the anonymous cookie is removed under its own name: {:?}",
        created.set_cookies()
    );
    assert!(!browser.cookies.contains_key("__Host-fireline_csrf"));
}
