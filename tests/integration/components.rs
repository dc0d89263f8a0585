//! Components and groups: admin pages, the API, and the status history.

use axum::http::{Method, StatusCode};
use fireline::accounts::Role;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn an_admin_builds_the_component_list_in_the_browser() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("root@example.com", Role::Admin).await;
    let r = admin
        .submit(
            "/admin/components",
            "/admin/component-groups",
            &[("name", "Core platform"), ("description", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let group: uuid::Uuid = app.scalar("SELECT id FROM component_groups").await;
    for name in ["API", "Website", "Checkout"] {
        let r = admin
            .form(
                "/admin/components",
                &[
                    ("name", name),
                    ("description", ""),
                    ("group_id", &group.to_string()),
                    ("status", "operational"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let dup = admin
        .form(
            "/admin/components",
            &[("name", "api"), ("group_id", ""), ("status", "operational")],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup
        .select("[role=alert]")
        .join("")
        .contains("exists already"));

    // Move Checkout to the top.
    let checkout: uuid::Uuid = app
        .scalar("SELECT id FROM components WHERE name = 'Checkout'")
        .await;
    let r = admin
        .submit(
            "/admin/components",
            &format!("/admin/components/{checkout}/move"),
            &[("position", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = admin.get("/admin/components").await;
    let names: Vec<String> = page.select("tbody td:first-child a");
    assert_eq!(names, ["Checkout", "API", "Website"]);

    // Set a status by hand: shown with words, recorded in the history.
    let r = admin
        .submit(
            "/admin/components",
            &format!("/admin/components/{checkout}/status"),
            &[("status", "partial_outage")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = admin.get("/admin/components").await;
    assert!(page
        .select(".status.st-partial")
        .contains(&"Partial outage".to_owned()));
    assert!(
        page.select("h2 .status")
            .contains(&"Partial outage".to_owned()),
        "the group shows its worst component"
    );
    let history: Vec<(Option<String>, String)> =
        sqlx::query_as("SELECT old_status::text, new_status::text FROM component_status_changes WHERE component_id = $1 ORDER BY id")
            .bind(checkout)
            .fetch_all(app.pool())
            .await
            .unwrap();
    assert_eq!(
        history,
        [
            (None, "operational".to_owned()),
            (Some("operational".to_owned()), "partial_outage".to_owned())
        ]
    );
    let detail = admin.get(&format!("/admin/components/{checkout}")).await;
    assert_eq!(detail.select("tbody tr").len(), 2);
}

#[tokio::test]
async fn responders_and_viewers_cannot_manage_components() {
    let app = TestApp::new().await;
    for (email, role) in [
        ("r@example.com", Role::Responder),
        ("v@example.com", Role::Viewer),
    ] {
        let mut browser = app.signed_in(email, role).await;
        let page = browser.get("/admin/components").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.select("form[action='/admin/components']").is_empty());
        let r = browser
            .form(
                "/admin/components",
                &[("name", "Sneaky"), ("status", "operational")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let (_, token) = app.token(&format!("t-{email}"), role).await;
        let r = app
            .post("/api/v1/components", &token, r#"{"name": "Sneaky"}"#)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let count: i64 = app.scalar("SELECT count(*) FROM components").await;
    assert_eq!(count, 0);
}

#[tokio::test]
async fn the_component_api_creates_orders_changes_and_deletes() {
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    let group = app
        .created("/api/v1/component-groups", &token, json!({"name": "Edge"}))
        .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    let a = app
        .created(
            "/api/v1/components",
            &token,
            json!({"name": "CDN", "group_id": gid}),
        )
        .await;
    let b = app
        .created(
            "/api/v1/components",
            &token,
            json!({"name": "DNS", "group_id": gid, "position": 1}),
        )
        .await;
    assert_eq!(b["position"], 1);
    let a_now = app
        .api_get(
            &format!("/api/v1/components/{}", a["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(a_now["position"], 2);
    let group = app
        .api_get(&format!("/api/v1/component-groups/{gid}"), &token)
        .await;
    assert_eq!(group["component_ids"], json!([b["id"], a["id"]]));

    let patched = app
        .patched(
            &format!("/api/v1/components/{}", a["id"].as_str().unwrap()),
            &token,
            json!({"status": "major_outage", "description": "Static files"}),
        )
        .await;
    assert_eq!(patched["status"], "major_outage");
    assert_eq!(patched["description"], "Static files");

    let bad = app
        .patch(
            &format!("/api/v1/components/{}", a["id"].as_str().unwrap()),
            &token,
            r#"{"status": "on_fire"}"#,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["errors"]["status"]
        .as_str()
        .unwrap()
        .contains("unknown variant `on_fire`"));
    let unknown_field = app
        .patch(
            &format!("/api/v1/components/{}", a["id"].as_str().unwrap()),
            &token,
            r#"{"colour": "red"}"#,
        )
        .await;
    assert_eq!(unknown_field.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = app
        .delete(&format!("/api/v1/component-groups/{gid}"), &token)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let list = app.api_get("/api/v1/components", &token).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["group_id"].is_null()),
        "components survive their group"
    );
    let r = app
        .delete(
            &format!("/api/v1/components/{}", a["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .api(
            Method::GET,
            &format!("/api/v1/components/{}", a["id"].as_str().unwrap()),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Run the `fireline` binary on the test app's database.
fn fireline_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fireline"))
        .args(args)
        .env("DATABASE_URL", app.db.url())
        .env("FIRELINE_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test]
async fn every_front_door_creates_the_same_component_and_refuses_the_same_name() {
    let app = TestApp::new().await;
    let (_, token) = app.token("api@example.com", Role::Admin).await;
    let mut admin = app.signed_in("root@example.com", Role::Admin).await;
    let group = app
        .created(
            "/api/v1/component-groups",
            &token,
            json!({ "name": "Core" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = admin
        .form(
            "/admin/components",
            &[
                ("name", " By form "),
                ("description", "Seen by customers"),
                ("group_id", &group),
                ("status", "operational"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    app.created(
        "/api/v1/components",
        &token,
        json!({ "name": " By API ", "description": "Seen by customers", "group_id": group }),
    )
    .await;
    let out = fireline_cli(
        &app,
        &[
            "component",
            "add",
            " By CLI ",
            "--group",
            "Core",
            "--description",
            "Seen by customers",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    type Row = (
        uuid::Uuid,
        String,
        Option<uuid::Uuid>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, group_id, description, status::text FROM components ORDER BY position",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(names, ["By form", "By API", "By CLI"]);
    for (id, name, group_id, description, status) in &rows {
        assert_eq!(group_id.map(|g| g.to_string()).as_deref(), Some(&*group));
        assert_eq!(description.as_deref(), Some("Seen by customers"), "{name}");
        assert_eq!(status, "operational", "{name}");
        let (action, subject, data): (String, String, serde_json::Value) =
            sqlx::query_as("SELECT action, subject, data FROM audit_log WHERE subject = $1")
                .bind(format!("component:{id}"))
                .fetch_one(app.pool())
                .await
                .unwrap();
        assert_eq!(action, "component.created", "{name}");
        assert_eq!(subject, format!("component:{id}"));
        assert_eq!(data, json!({ "component_id": id, "name": name }));
    }

    // A name with a tab in it is refused alike, and nothing is added.
    let refusal = "The name cannot contain line breaks, tabs or other control characters";
    let r = admin
        .form(
            "/admin/components",
            &[
                ("name", "Bad\tname"),
                ("group_id", ""),
                ("status", "operational"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.select("[role=alert]").join("").contains(refusal),
        "{}",
        r.text
    );
    let r = app
        .post(
            "/api/v1/components",
            &token,
            &json!({ "name": "Bad\tname" }).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains(refusal), "{}", r.text);
    let out = fireline_cli(&app, &["component", "add", "Bad\tname"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(refusal),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count: i64 = app.scalar("SELECT count(*) FROM components").await;
    assert_eq!(count, 3);
}

#[tokio::test]
async fn changing_a_group_through_the_api_leaves_an_audit_entry() {
    let app = TestApp::new().await;
    let (admin, token) = app.token("root@example.com", Role::Admin).await;
    let group = app
        .created("/api/v1/component-groups", &token, json!({"name": "Edge"}))
        .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    let patched = app
        .patched(
            &format!("/api/v1/component-groups/{gid}"),
            &token,
            json!({"name": "Edge network"}),
        )
        .await;
    assert_eq!(patched["name"], "Edge network");
    let (action, actor, data): (String, Option<uuid::Uuid>, serde_json::Value) = sqlx::query_as(
        "SELECT action, actor_id, data FROM audit_log WHERE subject = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(format!("component_group:{gid}"))
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(action, "component_group.updated");
    assert_eq!(actor, Some(admin.id));
    assert_eq!(data, json!({ "group_id": gid, "name": "Edge network" }));
}

#[tokio::test]
async fn a_status_set_or_a_move_in_the_admin_ui_is_audited_like_the_api_change() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("root@example.com", Role::Admin).await;
    let (_, token) = app.token("api@example.com", Role::Admin).await;
    let id = app.component(&token, "Checkout").await;
    app.component(&token, "Search").await;
    let r = admin
        .submit(
            "/admin/components",
            &format!("/admin/components/{id}/status"),
            &[("status", "partial_outage")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = admin
        .submit(
            "/admin/components",
            &format!("/admin/components/{id}/move"),
            &[("position", "2")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let entries: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT action, data FROM audit_log WHERE subject = $1 ORDER BY id")
            .bind(format!("component:{id}"))
            .fetch_all(app.pool())
            .await
            .unwrap();
    let updated = json!({ "component_id": id, "name": "Checkout" });
    assert_eq!(
        entries,
        [
            ("component.created".to_owned(), updated.clone()),
            ("component.updated".to_owned(), updated.clone()),
            ("component.updated".to_owned(), updated),
        ]
    );
    let status: String = app
        .scalar(&format!(
            "SELECT status::text FROM components WHERE id = '{id}'"
        ))
        .await;
    assert_eq!(status, "partial_outage");

    // Nothing to change: the same "no such" page as before.
    let missing = uuid::Uuid::new_v4();
    let r = admin
        .submit(
            "/admin/components",
            &format!("/admin/components/{missing}/move"),
            &[("position", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
