//! Who may do what: viewers look, responders run incidents, admins manage people.

use axum::http::{Method, StatusCode};
use fireline::accounts::users::UserRow;
use fireline::accounts::Role;
use serde_json::{json, Value};

use crate::support::{Browser, TestApp};

#[tokio::test]
async fn viewers_and_responders_see_users_but_cannot_change_them() {
    let app = TestApp::new().await;
    for (email, role) in [
        ("viewer@example.com", Role::Viewer),
        ("resp@example.com", Role::Responder),
    ] {
        let mut browser = app.signed_in(email, role).await;
        let page = browser.get("/admin/users").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.select("form[action='/admin/users']").is_empty(),
            "no add form for {role}"
        );
        assert!(
            page.select("tbody form").is_empty(),
            "no row actions for {role}"
        );
        // Forging the form anyway is refused.
        let csrf = page.attr("input[name=csrf_token]", "value").unwrap();
        let r = browser
            .post_raw(
                "/admin/users",
                &[
                    ("csrf_token", &csrf),
                    ("email", "new@example.com"),
                    ("name", "New"),
                    ("role", "admin"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
        assert!(r
            .select("main")
            .join(" ")
            .contains("Your role does not allow this."));
    }
    let count: i64 = app
        .scalar("SELECT count(*) FROM users WHERE email = 'new@example.com'")
        .await;
    assert_eq!(count, 0);
}

#[tokio::test]
async fn an_admin_adds_a_user_with_a_generated_password_shown_once() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("root@example.com", Role::Admin).await;
    let r = admin
        .form(
            "/admin/users",
            &[
                ("email", "Grace@Example.com"),
                ("name", "Grace Hopper"),
                ("role", "responder"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let password = r
        .select("#shown-password")
        .pop()
        .expect("generated password shown");
    let mut grace = app.browser();
    assert_eq!(
        grace.sign_in_status("grace@example.com", &password).await,
        StatusCode::SEE_OTHER
    );
    let page = admin.get("/admin/users").await;
    assert!(page.select("#shown-password").is_empty());
    assert!(page
        .select("tbody td")
        .contains(&"grace@example.com".to_owned()));
}

#[tokio::test]
async fn an_admin_changes_roles_and_resets_passwords_but_never_removes_the_last_admin() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("root@example.com", Role::Admin).await;
    let root_id: uuid::Uuid = app.scalar("SELECT id FROM users").await;
    let grace = app.user("grace@example.com", Role::Viewer).await;

    let r = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{}/role", grace.id),
            &[("role", "responder")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let role: Role = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(grace.id)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(role, Role::Responder);

    let r = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{}/role", grace.id),
            &[("role", "emperor")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{root_id}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.select("main").join(" ").contains("last enabled admin"));
    let r = admin
        .press("/admin/users", &format!("/admin/users/{root_id}/disable"))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let r = admin
        .press(
            "/admin/users",
            &format!("/admin/users/{}/password", grace.id),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let password = r.select("#shown-password").pop().unwrap();
    let mut g = app.browser();
    assert_eq!(
        g.sign_in_status("grace@example.com", &password).await,
        StatusCode::SEE_OTHER
    );

    let audit: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(app.pool())
        .await
        .unwrap();
    assert_eq!(audit, ["user.role_changed", "user.password_reset"]);
}

#[tokio::test]
async fn only_admin_tokens_create_users_through_the_api() {
    let app = TestApp::new().await;
    let viewer = app.user("viewer@example.com", Role::Viewer).await;
    let admin = app.user("root@example.com", Role::Admin).await;
    let mut conn = app.pool().acquire().await.unwrap();
    let (_, viewer_token) = fireline::accounts::tokens::create(&mut conn, viewer.id, "v")
        .await
        .unwrap();
    let (_, admin_token) = fireline::accounts::tokens::create(&mut conn, admin.id, "a")
        .await
        .unwrap();
    let body = r#"{"email": "grace@example.com", "name": "Grace", "role": "responder"}"#;

    let r = app.post("/api/v1/users", &viewer_token, body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("needs the admin role"));

    let r = app.post("/api/v1/users", &admin_token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let created = r.json();
    assert_eq!(
        r.location(),
        format!("/api/v1/users/{}", created["id"].as_str().unwrap())
    );
    assert!(created["password"].as_str().unwrap().len() >= 24);
    let fetched = app
        .api(Method::GET, r.location(), &viewer_token, None)
        .await;
    assert_eq!(fetched.json()["email"], "grace@example.com");

    let again = app.post("/api/v1/users", &admin_token, body).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        again.json()["errors"]["email"],
        "An account with this email already exists."
    );
}

#[tokio::test]
async fn the_user_list_pages_with_a_cursor() {
    let app = TestApp::new().await;
    let admin = app.user("a0@example.com", Role::Admin).await;
    for i in 1..5 {
        app.user(&format!("a{i}@example.com"), Role::Viewer).await;
    }
    let mut conn = app.pool().acquire().await.unwrap();
    let (_, token) = fireline::accounts::tokens::create(&mut conn, admin.id, "a")
        .await
        .unwrap();

    let first = app
        .api(Method::GET, "/api/v1/users?limit=3", &token, None)
        .await
        .json();
    let emails: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["a0@example.com", "a1@example.com", "a2@example.com"]
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .api(
            Method::GET,
            &format!("/api/v1/users?limit=3&cursor={cursor}"),
            &token,
            None,
        )
        .await
        .json();
    let emails: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["a3@example.com", "a4@example.com"]);
    assert!(second["next_cursor"].is_null());

    let bad = app
        .api(Method::GET, "/api/v1/users?limit=500", &token, None)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["errors"]["limit"].is_string());
    let bad = app
        .api(Method::GET, "/api/v1/users?limit=ten", &token, None)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app
        .api(Method::GET, "/api/v1/users?cursor=%%%", &token, None)
        .await;
    assert!(bad.status.is_client_error());
}

/// The three ways an admin can disable someone.
#[derive(Debug, Clone, Copy)]
enum Door {
    AdminUi,
    Api,
    Cli,
}

const DOORS: [Door; 3] = [Door::AdminUi, Door::Api, Door::Cli];

/// An admin signed in to the admin UI, with an API token of theirs.
struct Admin<'a> {
    browser: Browser<'a>,
    token: String,
}

async fn admin(app: &TestApp) -> (Admin<'_>, UserRow) {
    let browser = app.signed_in("root@example.com", Role::Admin).await;
    let root = fireline::accounts::users::find_by_email(app.pool(), "root@example.com")
        .await
        .unwrap()
        .unwrap();
    let mut conn = app.pool().acquire().await.unwrap();
    let (_, token) = fireline::accounts::tokens::create(&mut conn, root.id, "root")
        .await
        .unwrap();
    (Admin { browser, token }, root)
}

/// What a front door answered: whether it refused, and what it said.
#[derive(Debug)]
struct Answer {
    refused: bool,
    said: String,
}

async fn disable_through(
    app: &TestApp,
    admin: &mut Admin<'_>,
    door: Door,
    user: &UserRow,
) -> Answer {
    match door {
        Door::AdminUi => {
            let path = format!("/admin/users/{}/disable", user.id);
            let r = admin.browser.press("/admin/users", &path).await;
            assert!(
                matches!(r.status, StatusCode::SEE_OTHER | StatusCode::CONFLICT),
                "{}",
                r.text
            );
            Answer {
                refused: r.status == StatusCode::CONFLICT,
                said: r.select("main").join(" "),
            }
        }
        Door::Api => {
            let path = format!("/api/v1/users/{}/disable", user.id);
            let r = app.api(Method::POST, &path, &admin.token, None).await;
            assert!(
                matches!(r.status, StatusCode::OK | StatusCode::CONFLICT),
                "{}",
                r.text
            );
            Answer {
                refused: r.status == StatusCode::CONFLICT,
                said: r.json()["detail"].as_str().unwrap_or_default().to_owned(),
            }
        }
        Door::Cli => {
            let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_fireline"));
            cli.args(["user", "disable", "--email", &user.email])
                .env("DATABASE_URL", app.db.url())
                .env("FIRELINE_LOG", "warn");
            // Off the test's runtime thread, so its pool can tidy up while the CLI runs.
            let out = tokio::task::spawn_blocking(move || cli.output().unwrap())
                .await
                .unwrap();
            Answer {
                refused: !out.status.success(),
                said: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        }
    }
}

async fn is_disabled(app: &TestApp, user: &UserRow) -> bool {
    let found = fireline::accounts::users::find(app.pool(), user.id)
        .await
        .unwrap();
    found.unwrap().is_disabled()
}

/// The audit log as (action, subject, data), oldest first.
async fn audit_rows(app: &TestApp) -> Vec<(String, String, Value)> {
    sqlx::query_as("SELECT action, subject, data FROM audit_log ORDER BY id")
        .fetch_all(app.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn no_front_door_disables_the_last_admin() {
    let app = TestApp::new().await;
    let (mut admin, root) = admin(&app).await;
    for door in DOORS {
        let answer = disable_through(&app, &mut admin, door, &root).await;
        assert!(answer.refused, "{door:?} disabled the last admin");
        assert!(
            answer.said.contains(fireline::accounts::LAST_ADMIN),
            "{door:?} said {:?}",
            answer.said
        );
        assert!(!is_disabled(&app, &root).await, "{door:?}");
    }
    assert!(audit_rows(&app).await.is_empty());
}

#[tokio::test]
async fn every_front_door_disables_another_admin_with_the_same_audit_entry() {
    let app = TestApp::new().await;
    let (mut admin, _) = admin(&app).await;
    for door in DOORS {
        let email = format!("{door:?}@example.com").to_lowercase();
        let other = app.user(&email, Role::Admin).await;
        let answer = disable_through(&app, &mut admin, door, &other).await;
        assert!(!answer.refused, "{door:?}: {}", answer.said);
        assert!(is_disabled(&app, &other).await, "{door:?}");
        let expected = (
            "user.disabled".to_owned(),
            format!("user:{}", other.id),
            json!({ "user_id": other.id }),
        );
        assert_eq!(audit_rows(&app).await.pop(), Some(expected), "{door:?}");
    }
    assert_eq!(audit_rows(&app).await.len(), DOORS.len());
}
