//! Teams and duty: who is on duty is an override, else whoever took duty, else the
//! rotation; taking, handing back and passing duty are on the record; every front door
//! (API, CLI) gives the same answer.

use axum::http::StatusCode;
use serde_json::{json, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::{rfc3339, TestApp};
use fireline::accounts::Role;
use fireline::oncall::duty;
use fireline::oncall::team_commands::{self, NewTeam, RotationInput};
use fireline::oncall::{teams, DutySource, RotationInterval};

/// A team of Ada and Grace (and an admin's token) with a daily rotation that handed
/// off to Ada an hour ago.
async fn platform(app: &TestApp) -> (String, Value, String, String) {
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
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
    let team = app
        .team_on_rotation(&admin, "Platform", &[&ada, &grace])
        .await;
    (admin, team, ada, grace)
}

#[tokio::test]
async fn the_rotation_says_who_is_on_duty_now_and_who_takes_over_next() {
    let app = TestApp::new().await;
    let (admin, team, ada, grace) = platform(&app).await;
    let duty = &team["duty"];
    assert_eq!(duty["source"], "rotation", "{team}");
    assert_eq!(duty["on_duty"]["id"], ada.as_str());
    assert_eq!(duty["on_duty"]["name"], "ada");
    assert_eq!(duty["next"]["user"]["id"], grace.as_str());
    assert_eq!(duty["next"]["source"], "rotation");
    let since = OffsetDateTime::parse(
        duty["since"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let next = OffsetDateTime::parse(
        duty["next"]["at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(next - since, Duration::days(1));
    let tid = team["id"].as_str().unwrap();
    assert_eq!(
        app.api_get(&format!("/api/v1/teams/{tid}/duty"), &admin)
            .await,
        team["duty"]
    );
}

#[tokio::test]
async fn an_override_beats_taken_duty_which_beats_the_rotation() {
    let app = TestApp::new().await;
    let (admin, team, ada, grace) = platform(&app).await;
    let tid = team["id"].as_str().unwrap();
    let (_, grace_token) = {
        let mut conn = app.pool().acquire().await.unwrap();
        let id = grace.parse().unwrap();
        fireline::accounts::tokens::create(&mut conn, id, "test")
            .await
            .unwrap()
    };
    let duty_path = format!("/api/v1/teams/{tid}/duty");

    let taken = app
        .api_ok(
            axum::http::Method::POST,
            &duty_path,
            &grace_token,
            json!({"action": "take"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(taken["source"], "taken");
    assert_eq!(taken["on_duty"]["id"], grace.as_str());
    assert_eq!(taken["warning"], Value::Null);
    // Held until handed back: nothing is known to come next.
    assert_eq!(taken["next"], Value::Null, "{taken}");

    let now = OffsetDateTime::now_utc();
    let over = app
        .created(
            &format!("/api/v1/teams/{tid}/overrides"),
            &admin,
            json!({"user_id": ada, "starts_at": rfc3339(now - Duration::minutes(1)),
                   "ends_at": rfc3339(now + Duration::hours(2)), "reason": "Grace is at the dentist"}),
        )
        .await;
    let duty = app.api_get(&duty_path, &admin).await;
    assert_eq!(duty["source"], "override");
    assert_eq!(duty["on_duty"]["id"], ada.as_str());
    // When the override ends, the taken duty is Grace's again.
    assert_eq!(duty["next"]["user"]["id"], grace.as_str());
    assert_eq!(duty["next"]["source"], "taken");
    assert_eq!(duty["next"]["at"], over["ends_at"]);

    let oid = over["id"].as_str().unwrap();
    let r = app
        .delete(&format!("/api/v1/duty-overrides/{oid}"), &admin)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.api_get(&duty_path, &admin).await["source"], "taken");

    let released = app
        .api_ok(
            axum::http::Method::POST,
            &duty_path,
            &grace_token,
            json!({"action": "release"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(released["source"], "rotation");
    assert_eq!(released["on_duty"]["id"], ada.as_str());
    let again = app
        .post(&duty_path, &grace_token, r#"{"action": "release"}"#)
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.json()["detail"]
            .as_str()
            .unwrap()
            .contains("nothing to hand back"),
        "{}",
        again.text
    );

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE subject = $1 OR action LIKE 'duty_override.%' ORDER BY id",
    )
    .bind(format!("team:{tid}"))
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "team.created",
            "duty.taken",
            "duty_override.added",
            "duty_override.removed",
            "duty.released"
        ]
    );
}

#[tokio::test]
async fn passing_duty_is_allowed_on_the_record_with_a_warning() {
    let app = TestApp::new().await;
    let (_, team, ada, grace) = platform(&app).await;
    let tid = team["id"].as_str().unwrap();
    let (_, ada_token) = {
        let mut conn = app.pool().acquire().await.unwrap();
        fireline::accounts::tokens::create(&mut conn, ada.parse().unwrap(), "test")
            .await
            .unwrap()
    };
    let passed = app
        .api_ok(
            axum::http::Method::POST,
            &format!("/api/v1/teams/{tid}/duty"),
            &ada_token,
            json!({"action": "pass", "user_id": grace}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(passed["on_duty"]["id"], grace.as_str());
    assert_eq!(passed["source"], "taken");
    assert!(
        passed["warning"]
            .as_str()
            .unwrap()
            .contains("take it knowingly"),
        "{passed}"
    );
    let (kind, passed_by): (String, String) = sqlx::query_as(
        "SELECT kind::text, passed_by::text FROM duty_takes WHERE team_id = $1::uuid AND ended_at IS NULL",
    )
    .bind(tid)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), passed_by.as_str()),
        ("passed", ada.as_str())
    );
    let data: Value = app
        .scalar("SELECT data FROM audit_log WHERE action = 'duty.passed'")
        .await;
    assert_eq!(data["from_user_id"], ada.as_str());
    assert_eq!(data["to_user_id"], grace.as_str());
}

#[tokio::test]
async fn only_members_take_duty_and_viewers_change_nothing() {
    let app = TestApp::new().await;
    let (admin, team, _, _) = platform(&app).await;
    let tid = team["id"].as_str().unwrap();
    let path = format!("/api/v1/teams/{tid}/duty");
    // The admin is no member of Platform.
    let r = app.post(&path, &admin, r#"{"action": "take"}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("join the team first"));
    let (_, viewer) = app.token("vic@example.com", Role::Viewer).await;
    let r = app.post(&path, &viewer, r#"{"action": "take"}"#).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post(&path, &admin, r#"{"action": "steal"}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let takes: i64 = app.scalar("SELECT count(*) FROM duty_takes").await;
    assert_eq!(takes, 0);
}

#[tokio::test]
async fn bad_team_settings_are_refused_with_the_field_that_is_wrong() {
    let app = TestApp::new().await;
    let (admin, team, ada, _) = platform(&app).await;
    let stranger = app
        .user("sam@example.com", Role::Responder)
        .await
        .id
        .to_string();
    for (body, field) in [
        (json!({"name": "  "}), "name"),
        (
            json!({"name": "X", "rotation": {"interval": "daily", "handoff_time": "09:00", "time_zone": "Mars/Olympus", "user_ids": [ada]}, "user_ids": [ada]}),
            "rotation.time_zone",
        ),
        (
            json!({"name": "X", "rotation": {"interval": "daily", "handoff_time": "25:00", "time_zone": "UTC", "user_ids": [ada]}, "user_ids": [ada]}),
            "rotation.handoff_time",
        ),
        (
            json!({"name": "X", "rotation": {"interval": "daily", "handoff_time": "09:00", "time_zone": "UTC", "user_ids": [stranger]}, "user_ids": [ada]}),
            "rotation.user_ids",
        ),
        (
            json!({"name": "X", "working_hours": {"days": [0], "start": "09:00", "end": "17:00", "time_zone": "UTC"}}),
            "working_hours.days",
        ),
        (
            json!({"name": "X", "working_hours": {"days": [1], "start": "18:00", "end": "17:00", "time_zone": "UTC"}}),
            "working_hours.end",
        ),
        (
            json!({"name": "X", "acked_mode_minutes": 0}),
            "acked_mode_minutes",
        ),
        (
            json!({"name": "X", "escalation_policy_id": uuid::Uuid::new_v4()}),
            "escalation_policy_id",
        ),
    ] {
        let r = app.post("/api/v1/teams", &admin, &body.to_string()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert!(r.json()["errors"][field].is_string(), "{body}: {}", r.text);
    }
    let r = app
        .post("/api/v1/teams", &admin, r#"{"name": "X", "rotation": {"interval": "hourly", "handoff_time": "09:00", "time_zone": "UTC", "user_ids": []}}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let teams: i64 = app.scalar("SELECT count(*) FROM teams").await;
    assert_eq!(teams, 1, "only Platform: {}", team["id"]);
}

#[tokio::test]
async fn leaving_the_team_leaves_the_rotation_and_hands_back_taken_duty() {
    let app = TestApp::new().await;
    let (admin, team, ada, grace) = platform(&app).await;
    let tid = team["id"].as_str().unwrap();
    let mut conn = app.pool().acquire().await.unwrap();
    duty::take(
        &mut conn,
        tid.parse().unwrap(),
        ada.parse().unwrap(),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    drop(conn);
    let after = app
        .api_ok(
            axum::http::Method::PUT,
            &format!("/api/v1/teams/{tid}/members"),
            &admin,
            json!({"user_ids": [grace]}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(after["rotation"]["user_ids"], json!([grace]));
    assert_eq!(after["duty"]["source"], "rotation");
    assert_eq!(after["duty"]["on_duty"]["id"], grace.as_str());
    let open: i64 = app
        .scalar("SELECT count(*) FROM duty_takes WHERE ended_at IS NULL")
        .await;
    assert_eq!(open, 0);
}

#[tokio::test]
async fn duty_follows_the_record_across_a_hand_off_and_a_dst_change() {
    let app = TestApp::new().await;
    let ada = app.user("ada@example.com", Role::Responder).await.id;
    let grace = app.user("grace@example.com", Role::Responder).await.id;
    let linus = app.user("linus@example.com", Role::Responder).await.id;
    let mut conn = app.pool().acquire().await.unwrap();
    // Berlin moves its clocks forward on 29 March 2026: the 09:00 hand-off is at 08:00
    // UTC on the 28th and at 07:00 UTC on the 29th.
    let new = NewTeam {
        name: "Payments".into(),
        member_ids: vec![ada, grace, linus],
        rotation: Some(RotationInput {
            interval: RotationInterval::Daily,
            handoff: time::macros::time!(09:00),
            time_zone: "Europe/Berlin".into(),
            starts_on: Some(time::macros::date!(2026 - 03 - 28)),
            user_ids: vec![ada, grace],
        }),
        ..NewTeam::default()
    };
    let id = team_commands::create(&mut conn, None, new, datetime!(2026-03-01 00:00 UTC))
        .await
        .unwrap();
    let team = teams::find(&mut *conn, id).await.unwrap().unwrap();

    let pool = app.pool().clone();
    let at = |t| {
        let (team, pool) = (team.clone(), pool.clone());
        async move {
            let mut conn = pool.acquire().await.unwrap();
            duty::now(&mut conn, &team, t).await.unwrap()
        }
    };
    let before = at(datetime!(2026-03-29 06:59 UTC)).await;
    assert_eq!(before.on_duty.as_ref().map(|p| p.id), Some(ada));
    assert_eq!(before.since, Some(datetime!(2026-03-28 08:00 UTC)));
    let next = before.next.unwrap();
    assert_eq!(
        (next.person.map(|p| p.id), next.at),
        (Some(grace), datetime!(2026-03-29 07:00 UTC))
    );
    let after = at(datetime!(2026-03-29 07:00 UTC)).await;
    assert_eq!(after.on_duty.map(|p| p.id), Some(grace));
    assert_eq!(after.source, Some(DutySource::Rotation));

    // Linus takes duty on the 28th: it holds across the hand-off until he hands it back.
    duty::take(&mut conn, id, linus, datetime!(2026-03-28 20:00 UTC))
        .await
        .unwrap();
    let held = at(datetime!(2026-03-29 12:00 UTC)).await;
    assert_eq!(held.on_duty.map(|p| p.id), Some(linus));
    assert_eq!(held.source, Some(DutySource::Taken));
    assert_eq!(held.since, Some(datetime!(2026-03-28 20:00 UTC)));
    duty::release(&mut conn, id, linus, datetime!(2026-03-29 13:00 UTC))
        .await
        .unwrap();
    let back = at(datetime!(2026-03-29 13:00 UTC)).await;
    assert_eq!(back.on_duty.map(|p| p.id), Some(grace));
    // And the record still says Linus held it that morning.
    assert_eq!(
        at(datetime!(2026-03-29 12:00 UTC))
            .await
            .on_duty
            .map(|p| p.id),
        Some(linus)
    );
}
