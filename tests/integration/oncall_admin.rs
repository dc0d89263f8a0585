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
