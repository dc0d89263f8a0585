//! The Teams pages: an admin creates a team and sets its rotation; members take, hand
//! back and pass duty with the buttons; an override is added and removed; the
//! dashboard and the alert group page say who is on duty.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;
use fireline::accounts::Role;

#[tokio::test]
async fn an_admin_makes_a_team_and_its_members_take_and_pass_duty_from_its_page() {
    let app = TestApp::new().await;
    let ada = app
        .user("ada@example.com", Role::Responder)
        .await
        .id
        .to_string();
    let grace = app
        .user("grace@example.com", Role::Responder)
        .await
        .id
        .to_string();
    let mut admin = app.signed_in("root@example.com", Role::Admin).await;

    let made = admin
        .submit(
            "/admin/teams",
            "/admin/teams",
            &[("name", "Platform"), ("member", &ada), ("member", &grace)],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let team_path = made.location().to_owned();
    let page = admin.get(&team_path).await;
    assert!(
        page.text.contains("Team Platform created."),
        "{}",
        page.text
    );
    assert_eq!(page.select("#on-duty strong"), ["Nobody"]);

    // A daily rotation that started today, Ada first.
    let version = page
        .attr("#team-settings input[name=version]", "value")
        .unwrap();
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let saved = admin
        .submit(
            &team_path,
            &team_path,
            &[
                ("version", &version),
                ("name", "Platform"),
                ("member", &ada),
                ("member", &grace),
                ("rotation", "daily"),
                ("handoff", "00:00"),
                ("rotation_zone", "UTC"),
                ("starts_on", &today),
                ("order", "ada@example.com\ngrace@example.com"),
                ("work_day", "1"),
                ("work_day", "2"),
                ("work_starts", "09:00"),
                ("work_ends", "17:00"),
                ("work_zone", "Europe/Berlin"),
                ("acked_minutes", "45"),
                ("policy", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let page = admin.get(&team_path).await;
    assert_eq!(page.select("#on-duty strong"), ["ada"]);
    assert!(
        page.select("#next-duty")[0].contains("Next: grace"),
        "{:?}",
        page.select("#next-duty")
    );

    // A rotation naming someone who is not a member is refused, saying who.
    let version = page
        .attr("#team-settings input[name=version]", "value")
        .unwrap();
    let refused = admin
        .submit(
            &team_path,
            &team_path,
            &[
                ("version", &version),
                ("name", "Platform"),
                ("member", &ada),
                ("rotation", "daily"),
                ("handoff", "00:00"),
                ("rotation_zone", "UTC"),
                ("order", "grace@example.com"),
                ("work_day", "1"),
                ("work_starts", "09:00"),
                ("work_ends", "17:00"),
                ("work_zone", "UTC"),
                ("acked_minutes", "30"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.select("#form-error")[0].contains("grace@example.com is not a member"),
        "{}",
        refused.text
    );

    // Grace takes over knowingly, then passes it to Ada, who is warned.
    let mut grace_browser = app.browser();
    assert_eq!(
        grace_browser.sign_in_as("grace@example.com").await,
        StatusCode::SEE_OTHER
    );
    let took = grace_browser
        .press(&team_path, &format!("{team_path}/take"))
        .await;
    assert_eq!(took.status, StatusCode::SEE_OTHER, "{}", took.text);
    let page = grace_browser.get(&team_path).await;
    assert_eq!(page.select("#on-duty strong"), ["grace"]);
    assert_eq!(page.select("#release").len(), 1);
    let passed = grace_browser
        .submit(
            &team_path,
            &format!("{team_path}/pass"),
            &[("user_id", &ada)],
        )
        .await;
    assert_eq!(passed.status, StatusCode::SEE_OTHER, "{}", passed.text);
    let page = grace_browser.get(&team_path).await;
    assert!(page.text.contains("take it knowingly"), "{}", page.text);
    assert_eq!(page.select("#on-duty strong"), ["ada"]);

    // An override, added and removed.
    let added = grace_browser
        .submit(
            &team_path,
            &format!("{team_path}/overrides"),
            &[
                ("user_id", &grace),
                ("time_zone", "UTC"),
                ("starts_at", "2026-01-01T09:00"),
                ("ends_at", "2099-01-01T09:00"),
                ("reason", "Swap"),
            ],
        )
        .await;
    assert_eq!(
        added.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an override of decades is refused"
    );
    let now = time::OffsetDateTime::now_utc();
    let local = |t: time::OffsetDateTime| format!("{}T{:02}:{:02}", t.date(), t.hour(), t.minute());
    let added = grace_browser
        .submit(
            &team_path,
            &format!("{team_path}/overrides"),
            &[
                ("user_id", &grace),
                ("time_zone", "UTC"),
                ("starts_at", &local(now - time::Duration::minutes(5))),
                ("ends_at", &local(now + time::Duration::hours(3))),
                ("reason", "Ada is at the dentist"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    let page = grace_browser.get(&team_path).await;
    assert_eq!(page.select("#on-duty strong"), ["grace"]);
    assert!(page.text.contains("Ada is at the dentist"));
    let remove = page
        .attr("form[action^='/admin/duty-overrides/']", "action")
        .unwrap();
    let removed = grace_browser.press(&team_path, &remove).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text);

    // The dashboard says who is on duty.
    let dashboard = admin.get("/admin").await;
    let line = dashboard.select("#on-duty li");
    assert_eq!(line.len(), 1);
    assert!(line[0].starts_with("Platform: ada (took duty)"), "{line:?}");
}

#[tokio::test]
async fn viewers_see_duty_but_cannot_take_it_and_only_admins_make_teams() {
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    let team = app
        .created("/api/v1/teams", &token, json!({"name": "Payments"}))
        .await;
    let path = format!("/admin/teams/{}", team["id"].as_str().unwrap());
    let mut viewer = app.signed_in("vic@example.com", Role::Viewer).await;
    let page = viewer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.select("#take").is_empty());
    assert!(page.select("#team-settings").is_empty());
    let r = viewer.post_raw(&format!("{path}/take"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut responder = app.signed_in("rita@example.com", Role::Responder).await;
    assert!(responder
        .get("/admin/teams")
        .await
        .select("form[action='/admin/teams']")
        .is_empty());
    let r = responder
        .submit("/admin/alerts", "/admin/teams", &[("name", "Mine")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn people_add_test_and_remove_their_contact_methods_on_their_profile() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;
    let page = ada.get("/admin/profile").await;
    assert_eq!(
        page.select("#no-contacts").len(),
        1,
        "a warning when no page can reach you"
    );
    let added = ada
        .submit(
            "/admin/profile",
            "/admin/profile/contact-methods",
            &[
                ("kind", "ntfy"),
                ("target", "ada-pages"),
                ("server", "https://ntfy.example.com"),
                ("urgency", "critical"),
                ("urgency", "high"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    let page = ada.get("/admin/profile").await;
    assert!(page.text.contains("ntfy push added"), "{}", page.text);
    let row = page.select("tr.contact");
    assert_eq!(row.len(), 1);
    assert!(
        row[0].contains("ada-pages on ntfy.example.com") && row[0].contains("Critical, High"),
        "{row:?}"
    );

    let refused = ada
        .submit(
            "/admin/profile",
            "/admin/profile/contact-methods",
            &[("kind", "twilio_sms"), ("target", "0151 123")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let page = ada.get("/admin/profile").await;
    assert!(
        page.text
            .contains("Not added: Write the number with its country code"),
        "{}",
        page.text
    );

    let test = page.attr("form[action$='/test']", "action").unwrap();
    let sent = ada.press("/admin/profile", &test).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let queued: serde_json::Value = app.scalar("SELECT message FROM notifications").await;
    assert_eq!(queued["test"], true);

    // A provider's refusal shows on the profile.
    app.exec(
        "UPDATE contact_methods SET failure = 'ntfy push refused it (HTTP 401)', failed_at = now()",
    )
    .await;
    let page = ada.get("/admin/profile").await;
    assert_eq!(
        page.select("tr.contact .failure"),
        ["ntfy push refused it (HTTP 401)"]
    );

    // Another person's method is not theirs to test or remove.
    let mut grace = app.signed_in("grace@example.com", Role::Responder).await;
    let r = grace.press("/admin/profile", &test).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let remove = page.attr("form[action$='/remove']", "action").unwrap();
    let removed = ada.press("/admin/profile", &remove).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let left: i64 = app.scalar("SELECT count(*) FROM contact_methods").await;
    assert_eq!(left, 0);
}

#[tokio::test]
async fn an_integration_names_the_team_its_alerts_page_in_the_api_and_on_its_page() {
    let app = TestApp::new().await;
    let (token, team_id) = admin_and_team(&app, "Platform").await;

    // The API: made with a team, shown, taken off with null; an unknown team is refused.
    let made = app
        .created(
            "/api/v1/integrations",
            &token,
            json!({"name": "Prometheus", "kind": "alertmanager", "team_id": team_id}),
        )
        .await;
    assert_eq!(made["team_id"], team_id.as_str(), "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/integrations/{id}");
    let nobody = app
        .patched(
            &path,
            &token,
            json!({"version": made["version"], "team_id": null}),
        )
        .await;
    assert_eq!(nobody["team_id"], serde_json::Value::Null, "{nobody}");
    // Leaving the field out keeps what is set.
    let renamed = app
        .patched(
            &path,
            &token,
            json!({"version": nobody["version"], "name": "Prom"}),
        )
        .await;
    assert_eq!(renamed["team_id"], serde_json::Value::Null);
    let unknown = uuid::Uuid::new_v4().to_string();
    let refused = app
        .patch(
            &path,
            &token,
            &json!({"version": renamed["version"], "team_id": unknown}).to_string(),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("There is no such team."),
        "{}",
        refused.text
    );
    let refused = app
        .post(
            "/api/v1/integrations",
            &token,
            &json!({"name": "Other", "kind": "generic", "team_id": unknown}).to_string(),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );

    // The page: the select offers "No team" and Platform; saving it sets the team.
    let mut admin = app.signed_in("admin@example.com", Role::Admin).await;
    let page_path = format!("/admin/integrations/{id}");
    let page = admin.get(&page_path).await;
    assert_eq!(page.select("#i-team option"), ["No team", "Platform"]);
    let version = page
        .attr("#edit-integration input[name=version]", "value")
        .unwrap();
    let fields = [
        ("version", version.as_str()),
        ("name", "Prom"),
        ("default_urgency", "high"),
        ("default_severity", "error"),
        ("team", team_id.as_str()),
    ];
    let saved = admin.submit(&page_path, &page_path, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let shown = app.api_get(&path, &token).await;
    assert_eq!(shown["team_id"], team_id.as_str());
    let page = admin.get(&page_path).await;
    assert_eq!(page.select("#i-team option[selected]"), ["Platform"]);
}

#[tokio::test]
async fn the_routing_rule_form_chooses_the_team_to_page_and_the_policy() {
    let app = TestApp::new().await;
    let (token, team_id) = admin_and_team(&app, "Payments").await;
    let policy = app
        .created(
            "/api/v1/escalation-policies",
            &token,
            json!({"name": "Page at once", "steps": [{"kind": "page_on_duty"}]}),
        )
        .await;
    let policy_id = policy["id"].as_str().unwrap().to_owned();
    let mut admin = app.signed_in("admin@example.com", Role::Admin).await;
    let list = "/admin/routing-rules";
    let page = admin.get(list).await;
    assert_eq!(
        page.select("#r-team option"),
        ["The integration's team", "Payments"]
    );
    assert!(page
        .select("#r-policy option")
        .contains(&"Page at once".to_owned()));
    let fields = [
        ("name", "Payments pages"),
        ("matchers", "team=\"payments\""),
        ("urgency", "critical"),
        ("enabled", "on"),
        ("team", team_id.as_str()),
        ("policy", policy_id.as_str()),
    ];
    let made = admin.submit(list, list, &fields).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let rules = app.api_get("/api/v1/routing-rules", &token).await;
    assert_eq!(rules[0]["team_id"], team_id.as_str(), "{rules}");
    assert_eq!(rules[0]["escalation_policy_id"], policy_id.as_str());
    // Its page shows them chosen; saving "the integration's team" clears the team.
    let edit = format!("{list}/{}", rules[0]["id"].as_str().unwrap());
    let page = admin.get(&edit).await;
    assert_eq!(page.select("#r-team option[selected]"), ["Payments"]);
    assert_eq!(page.select("#r-policy option[selected]"), ["Page at once"]);
    let version = rules[0]["version"].to_string();
    let fields = [
        ("name", "Payments pages"),
        ("urgency", "critical"),
        ("enabled", "on"),
        ("team", ""),
        ("policy", policy_id.as_str()),
        ("version", version.as_str()),
    ];
    let saved = admin.submit(&edit, &edit, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let rule = app
        .api_get(&edit.replace("/admin/", "/api/v1/"), &token)
        .await;
    assert_eq!(rule["team_id"], serde_json::Value::Null, "{rule}");
    assert_eq!(rule["escalation_policy_id"], policy_id.as_str());
    // A team id that is not one is refused with words, nothing saved.
    let version = rule["version"].to_string();
    let fields = [
        ("name", "Payments pages"),
        ("urgency", "critical"),
        ("team", "not-a-team"),
        ("version", version.as_str()),
    ];
    let refused = admin.submit(&edit, &edit, &fields).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("Choose the team from the list."),
        "{}",
        refused.text
    );
}

/// An admin's API token and the id of a team `name` with Ada on its rotation.
async fn admin_and_team(app: &TestApp, name: &str) -> (String, String) {
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    let ada = app.user("ada@example.com", Role::Responder).await.id;
    let team = app
        .team_on_rotation(&token, name, &[&ada.to_string()])
        .await;
    let team_id = team["id"].as_str().unwrap().to_owned();
    (token, team_id)
}
