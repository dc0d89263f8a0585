//! Paging: a critical alert starts its team's escalation policy; the countdown, the page
//! of the person on duty and the page of everyone run as durable jobs at their due
//! times; anyone can acknowledge (API, link), which stops every later step and turns on
//! acked mode; a resolved alert pages nobody.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::support::TestApp;
use fireline::accounts::Role;
use fireline::paging::engine::{self, StepJob};

/// A team, Platform, of Ada (on duty by its rotation) and Grace; a routing rule that
/// sends every alert of a generic integration to it as critical.
pub struct Setup {
    pub app: TestApp,
    pub key: String,
    pub team: String,
    pub ada: String,
    pub grace: String,
    pub ada_token: String,
    pub grace_token: String,
    /// root@example.com, an admin, who made the routing rule.
    pub admin_token: String,
}

pub async fn setup() -> Setup {
    let app = TestApp::new().await;
    let (_, admin) = app.token("root@example.com", Role::Admin).await;
    let (ada, ada_token) = app.token("ada@example.com", Role::Responder).await;
    let (grace, grace_token) = app.token("grace@example.com", Role::Responder).await;
    let (ada, grace) = (ada.id.to_string(), grace.id.to_string());
    let team = app
        .team_on_rotation(&admin, "Platform", &[&ada, &grace])
        .await;
    let team = team["id"].as_str().unwrap().to_owned();
    app.created(
        "/api/v1/routing-rules",
        &admin,
        json!({"name": "Everything pages Platform", "urgency": "critical", "team_id": team}),
    )
    .await;
    let (_, key) = app.integration("generic").await;
    Setup {
        app,
        key,
        team,
        ada,
        grace,
        ada_token,
        grace_token,
        admin_token: admin,
    }
}

impl Setup {
    /// Fire (or resolve) the generic alert `dedup` and apply what follows.
    pub async fn alert(&self, dedup: &str, status: &str) {
        let body = json!({"dedup_key": dedup, "title": format!("{dedup} is down"), "status": status, "severity": "critical"});
        let r = self
            .app
            .ingest(
                &format!("/ingest/{}/generic", self.key),
                None,
                &body.to_string(),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        self.app.process_alerts().await;
        self.app.apply_events().await;
    }

    pub async fn page_of(&self, dedup: &str) -> Value {
        let id: String = sqlx::query_scalar(
            "SELECT p.id::text FROM pages p JOIN alert_groups g ON g.id = p.alert_group_id
             WHERE g.group_key = $1 ORDER BY p.started_at DESC LIMIT 1",
        )
        .bind(dedup)
        .fetch_one(self.app.pool())
        .await
        .unwrap();
        self.app
            .api_get(&format!("/api/v1/pages/{id}"), &self.ada_token)
            .await
    }

    /// Run the page steps (and countdown announcements) due by `until`, each at its due
    /// time, as the job runner does; how many steps ran.
    pub async fn run_steps_until(&self, until: OffsetDateTime) -> usize {
        let mut ran = 0;
        loop {
            let job: Option<(i64, String, Value, OffsetDateTime)> = sqlx::query_as(
                "SELECT id, kind, payload, run_at FROM jobs
                 WHERE kind IN ('paging.step', 'paging.tick') AND state = 'pending'
                   AND run_at <= $1
                 ORDER BY run_at, id LIMIT 1",
            )
            .bind(until)
            .fetch_optional(self.app.pool())
            .await
            .unwrap();
            let Some((id, kind, payload, run_at)) = job else {
                return ran;
            };
            if kind == "paging.tick" {
                let ctx = fireline::platform::jobs::JobContext {
                    pool: self.app.pool().clone(),
                    session_idle: time::Duration::hours(1),
                };
                fireline::paging::announce::tick_job(ctx, payload)
                    .await
                    .unwrap();
            } else {
                let step: StepJob = serde_json::from_value(payload).unwrap();
                let mut tx = self.app.pool().begin().await.unwrap();
                engine::run_step(&mut tx, step, run_at).await.unwrap();
                tx.commit().await.unwrap();
                ran += 1;
            }
            sqlx::query("UPDATE jobs SET state = 'done', finished_at = now() WHERE id = $1")
                .bind(id)
                .execute(self.app.pool())
                .await
                .unwrap();
            self.app.apply_events().await;
        }
    }

    pub async fn paged(&self) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT u.email, r.reason FROM page_recipients r JOIN users u ON u.id = r.user_id
             ORDER BY r.paged_at, u.email",
        )
        .fetch_all(self.app.pool())
        .await
        .unwrap()
    }
}

fn kinds(page: &Value) -> Vec<String> {
    page["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn later(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::minutes(minutes)
}

#[tokio::test]
async fn a_critical_alert_counts_down_to_paging_the_person_on_duty() {
    let s = setup().await;
    s.alert("api", "firing").await;
    let page = s.page_of("api").await;
    assert_eq!(page["state"], "counting_down", "{page}");
    assert_eq!(page["team_id"], s.team.as_str());
    assert_eq!(page["countdown"]["target"], "ada");
    let left = page["countdown"]["seconds_left"].as_i64().unwrap();
    assert!((28..=30).contains(&left), "{left}");
    assert_eq!(kinds(&page), ["started", "announced", "countdown"]);
    assert_eq!(
        page["steps"][2]["text"],
        "Paging ada in 30 s unless someone acknowledges."
    );
    assert!(s.paged().await.is_empty());
    // The page is listed, counting down, by state and team.
    let list = s
        .app
        .api_get(
            &format!("/api/v1/pages?state=counting_down&team_id={}", s.team),
            &s.ada_token,
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], page["id"]);
}

#[tokio::test]
async fn nobody_answering_pages_the_person_on_duty_then_everyone() {
    let s = setup().await;
    s.alert("api", "firing").await;
    // The countdown ends: Ada, on duty, is paged; the wait begins.
    assert_eq!(s.run_steps_until(later(1)).await, 1);
    assert_eq!(
        s.paged().await,
        [("ada@example.com".to_owned(), "on_duty".to_owned())]
    );
    let page = s.page_of("api").await;
    assert_eq!(page["state"], "paging");
    assert_eq!(kinds(&page)[3..], ["paged", "waiting"]);
    // Five minutes without an answer: everyone is paged (Ada only once), and it ends.
    assert_eq!(s.run_steps_until(later(6)).await, 1);
    // Everyone: every enabled responder and admin (the integration's maker too).
    let paged: Vec<String> = s.paged().await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(paged.len(), 4, "{paged:?}");
    assert_eq!(paged[0], "ada@example.com");
    assert!(["grace@example.com", "root@example.com"]
        .iter()
        .all(|e| paged.contains(&e.to_string())));
    let page = s.page_of("api").await;
    assert_eq!(page["state"], "exhausted");
    assert_eq!(kinds(&page).last().unwrap(), "exhausted");
    assert_eq!(page["paged"].as_array().unwrap().len(), 4);
    // A step job run twice (two processes, a retry) pages nobody twice.
    let again = StepJob {
        page_id: page["id"].as_str().unwrap().parse().unwrap(),
        round: 0,
        step: 4,
    };
    let mut tx = s.app.pool().begin().await.unwrap();
    engine::run_step(&mut tx, again, later(7)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(s.paged().await.len(), 4);
}

#[tokio::test]
async fn acknowledging_during_the_countdown_pages_nobody_and_names_the_acknowledger() {
    let s = setup().await;
    s.alert("api", "firing").await;
    let page = s.page_of("api").await;
    let pid = page["id"].as_str().unwrap();
    let acked = s
        .app
        .api_ok(
            Method::POST,
            &format!("/api/v1/pages/{pid}/acknowledge"),
            &s.grace_token,
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["acknowledged_by"]["id"], s.grace.as_str());
    assert_eq!(acked["acknowledged_via"], "api");
    assert_eq!(acked["next_step_at"], Value::Null);
    // The group is acknowledged by Grace too.
    let group: (String, Option<String>) = sqlx::query_as(
        "SELECT state::text, acknowledged_by::text FROM alert_groups WHERE group_key = 'api'",
    )
    .fetch_one(s.app.pool())
    .await
    .unwrap();
    assert_eq!(group, ("acknowledged".to_owned(), Some(s.grace.clone())));
    // The countdown's job still comes due and does nothing.
    s.run_steps_until(later(10)).await;
    assert!(s.paged().await.is_empty());
    // Acknowledging again answers how it stands and changes nothing.
    let again = s
        .app
        .api_ok(
            Method::POST,
            &format!("/api/v1/pages/{pid}/acknowledge"),
            &s.ada_token,
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(again["acknowledged_by"]["id"], s.grace.as_str());
}

#[tokio::test]
async fn acknowledging_the_group_on_the_alerts_side_during_the_wait_stops_the_escalation() {
    let s = setup().await;
    s.alert("api", "firing").await;
    s.run_steps_until(later(1)).await;
    let gid: String = s
        .app
        .scalar("SELECT id::text FROM alert_groups WHERE group_key = 'api'")
        .await;
    let r = s
        .app
        .post(
            &format!("/api/v1/alert-groups/{gid}/acknowledge"),
            &s.ada_token,
            "{}",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let page = s.page_of("api").await;
    assert_eq!(page["state"], "acknowledged", "{page}");
    assert_eq!(page["acknowledged_by"]["id"], s.ada.as_str());
    s.run_steps_until(later(10)).await;
    assert_eq!(s.paged().await.len(), 1, "only Ada, before she answered");
}

#[tokio::test]
async fn an_alert_that_resolves_during_its_countdown_pages_nobody() {
    let s = setup().await;
    s.alert("api", "firing").await;
    s.alert("api", "resolved").await;
    let page = s.page_of("api").await;
    assert_eq!(page["state"], "resolved", "{page}");
    s.run_steps_until(later(10)).await;
    assert!(s.paged().await.is_empty());
}

#[tokio::test]
async fn acked_mode_mutes_a_second_alert_until_it_expires_or_is_ended() {
    let s = setup().await;
    s.alert("api", "firing").await;
    let pid = s.page_of("api").await["id"].as_str().unwrap().to_owned();
    s.app
        .api_ok(
            Method::POST,
            &format!("/api/v1/pages/{pid}/acknowledge"),
            &s.grace_token,
            json!({}),
            StatusCode::OK,
        )
        .await;
    let team = s
        .app
        .api_get(&format!("/api/v1/teams/{}", s.team), &s.ada_token)
        .await;
    assert_eq!(team["acked_mode"]["by"]["id"], s.grace.as_str(), "{team}");
    assert_eq!(team["acked_mode"]["page_id"], pid.as_str());

    // A second critical alert for Platform is listed and announced, and pages nobody.
    s.alert("db", "firing").await;
    let muted = s.page_of("db").await;
    assert_eq!(muted["state"], "muted", "{muted}");
    assert!(
        muted["steps"][1]["text"]
            .as_str()
            .unwrap()
            .contains("acked mode"),
        "{muted}"
    );
    s.run_steps_until(later(10)).await;
    assert!(s.paged().await.is_empty());

    // Only Grace (or an admin) ends it early; then alerts page again.
    let r = s
        .app
        .delete(
            &format!("/api/v1/teams/{}/acked-mode", s.team),
            &s.ada_token,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let ended = s
        .app
        .api_ok(
            Method::DELETE,
            &format!("/api/v1/teams/{}/acked-mode", s.team),
            &s.grace_token,
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(ended["acked_mode"], Value::Null);
    s.alert("cache", "firing").await;
    assert_eq!(s.page_of("cache").await["state"], "counting_down");

    // Acked mode also runs out by itself.
    let cache = s.page_of("cache").await["id"].as_str().unwrap().to_owned();
    s.app
        .api_ok(
            Method::POST,
            &format!("/api/v1/pages/{cache}/acknowledge"),
            &s.ada_token,
            json!({}),
            StatusCode::OK,
        )
        .await;
    s.app
        .exec("UPDATE teams SET acked_until = now() - interval '1 second'")
        .await;
    s.alert("queue", "firing").await;
    assert_eq!(s.page_of("queue").await["state"], "counting_down");
}

#[tokio::test]
async fn the_link_in_a_notification_acknowledges_once_and_forged_or_expired_ones_do_nothing() {
    let s = setup().await;
    s.alert("api", "firing").await;
    s.run_steps_until(later(1)).await;
    let page = s.page_of("api").await;
    let pid: uuid::Uuid = page["id"].as_str().unwrap().parse().unwrap();
    let ada: uuid::Uuid = s.ada.parse().unwrap();
    let key = fireline::paging::links::key(s.app.pool()).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let token = fireline::paging::links::token(&key, pid, ada, now);

    // Opening the link shows a button and changes nothing (mail scanners open links).
    let shown = s.app.get(&format!("/ack/{token}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert!(shown.text.contains("Acknowledge as ada"), "{}", shown.text);
    assert_eq!(s.page_of("api").await["state"], "paging");

    // A forged one (another key) and an expired one are refused, and change nothing.
    let other = fireline::platform::signed::SigningKey::new(vec![1; 32]);
    let forged = fireline::paging::links::token(&other, pid, ada, now);
    let expired = fireline::paging::links::token(&key, pid, ada, now - Duration::days(2));
    for (bad, says) in [(&forged, "not valid"), (&expired, "expired")] {
        let r = post_link(&s.app, bad).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        assert!(r.text.contains(says), "{}", r.text);
    }
    assert_eq!(s.page_of("api").await["state"], "paging");

    let r = post_link(&s.app, &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Thank you, ada"), "{}", r.text);
    let page = s.page_of("api").await;
    assert_eq!(page["state"], "acknowledged");
    assert_eq!(page["acknowledged_by"]["id"], s.ada.as_str());
    assert_eq!(page["acknowledged_via"], "link");
    // Used again, it says who acknowledged and does nothing more.
    let r = post_link(&s.app, &token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Already acknowledged by ada"), "{}", r.text);
    let acks: i64 = s
        .app
        .scalar("SELECT count(*) FROM page_events WHERE kind = 'acknowledged'")
        .await;
    assert_eq!(acks, 1);
    s.run_steps_until(later(10)).await;
    assert_eq!(s.paged().await.len(), 1);
}

async fn post_link(app: &TestApp, token: &str) -> crate::support::TestResponse {
    // As ntfy's action button sends it: a bare POST, no cookies, no Origin.
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/ack/{token}"))
        .header("x-forwarded-for", "10.0.0.9")
        .body(axum::body::Body::empty())
        .unwrap();
    app.send(req).await
}

#[tokio::test]
async fn the_oncall_report_adds_up_a_constructed_month() {
    let s = setup().await;
    let ack = |pid: String, token: String| {
        let app = &s.app;
        async move {
            app.api_ok(
                Method::POST,
                &format!("/api/v1/pages/{pid}/acknowledge"),
                &token,
                json!({}),
                StatusCode::OK,
            )
            .await;
        }
    };
    // One page Ada answers herself; one she misses and Grace answers after everyone is paged.
    s.alert("one", "firing").await;
    s.run_steps_until(later(1)).await;
    let one = s.page_of("one").await["id"].as_str().unwrap().to_owned();
    ack(one.clone(), s.ada_token.clone()).await;
    let r = s
        .app
        .delete(
            &format!("/api/v1/teams/{}/acked-mode", s.team),
            &s.ada_token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    s.alert("two", "firing").await;
    s.run_steps_until(later(1)).await;
    s.run_steps_until(later(6)).await;
    let two = s.page_of("two").await["id"].as_str().unwrap().to_owned();
    ack(two.clone(), s.grace_token.clone()).await;
    let incident = s
        .app
        .declare(&s.ada_token, json!({"title": "Checkout fails", "severity": "sev2", "initial_update": "Investigating."}))
        .await;

    // Moved into November 2026: a daily rotation from 1 November at 09:00 UTC, Ada
    // first; working hours Monday to Friday, 09:00 to 17:00 UTC.
    for sql in [
        "UPDATE teams SET rotation_starts_on = '2026-11-01', rotation_handoff = '09:00', rotation_time_zone = 'UTC'".to_owned(),
        format!("UPDATE page_recipients SET paged_at = '2026-11-10 03:00Z' WHERE page_id = '{one}'"),
        format!("UPDATE pages SET started_at = '2026-11-10 02:59Z', acknowledged_at = '2026-11-10 03:02Z' WHERE id = '{one}'"),
        format!("UPDATE page_recipients SET paged_at = CASE WHEN reason = 'on_duty' THEN '2026-11-11 10:00Z'::timestamptz ELSE '2026-11-11 10:05Z' END WHERE page_id = '{two}'"),
        format!("UPDATE pages SET started_at = '2026-11-11 09:59Z', acknowledged_at = '2026-11-11 10:06Z' WHERE id = '{two}'"),
        format!("UPDATE incidents SET declared_at = '2026-11-12 08:00Z' WHERE id = '{}'", incident["id"].as_str().unwrap()),
        "UPDATE duty_takes SET started_at = '2026-12-02 00:00Z'".to_owned(),
    ] {
        s.app.exec(&sql).await;
    }
    let report = s
        .app
        .api_get(
            &format!("/api/v1/oncall-report?month=2026-11&team_id={}", s.team),
            &s.ada_token,
        )
        .await;
    let person = |email: &str| {
        let name = email.split('@').next().unwrap();
        report["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {report}"))
    };
    let ada = person("ada@example.com");
    // Shifts 0, 2, …, 28 of the 30 that begin in November: 15 days.
    assert_eq!(ada["hours_on_duty"], 360.0);
    assert_eq!(ada["pages"], 2);
    assert_eq!(ada["acknowledged"], 2);
    assert_eq!(ada["acknowledged_by_them"], 1);
    assert_eq!(ada["ack_seconds_p50"], 120.0);
    assert_eq!(ada["ack_seconds_p90"], 360.0);
    assert_eq!(ada["pages_outside_working_hours"], 1);
    assert_eq!(ada["missed"], 1);
    assert_eq!(ada["incidents_led"], 1);
    let grace = person("grace@example.com");
    // Shifts 1, 3, …, 27, and 15 hours of shift 29 before the month ends.
    assert_eq!(grace["hours_on_duty"], 351.0);
    assert_eq!(grace["pages"], 1);
    assert_eq!(grace["acknowledged_by_them"], 1);
    assert_eq!(grace["ack_seconds_p50"], 60.0);
    assert_eq!(grace["missed"], 0);
    assert_eq!(grace["pages_outside_working_hours"], 0);

    // The same as CSV, for the payroll sheet.
    let req = axum::http::Request::builder()
        .uri(format!(
            "/api/v1/oncall-report?month=2026-11&team_id={}",
            s.team
        ))
        .header("authorization", format!("Bearer {}", s.ada_token))
        .header("accept", "text/csv")
        .header("x-forwarded-for", "10.0.0.9")
        .body(axum::body::Body::empty())
        .unwrap();
    let csv = s.app.send(req).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").starts_with("text/csv"));
    let line = csv.text.lines().find(|l| l.contains("\"ada\"")).unwrap();
    assert!(
        line.ends_with(",\"ada\",360.00,2,2,1,120,360,1,1,1"),
        "{line}"
    );
    let bad = s
        .app
        .api(
            Method::GET,
            "/api/v1/oncall-report?month=November",
            &s.ada_token,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_command_line_lists_running_pages_and_acknowledges_one() {
    let s = setup().await;
    s.alert("api", "firing").await;
    let page = s.page_of("api").await;
    let reference = page["reference"].as_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fireline"))
            .args(args)
            .env("DATABASE_URL", s.app.db.url())
            .env("FIRELINE_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let listed = run(&["page", "list"]);
    let out = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(out.starts_with(&format!("{reference}\t")), "{out}");
    assert!(out.contains("api is down\tpaging ada in"), "{out}");
    let acked = run(&["page", "ack", &reference, "--user", "grace@example.com"]);
    let err = String::from_utf8_lossy(&acked.stderr).into_owned();
    assert!(acked.status.success(), "{err}");
    assert!(err.contains("acknowledged by grace"), "{err}");
    let page = s.page_of("api").await;
    assert_eq!(page["acknowledged_via"], "cli");
    assert_eq!(page["acknowledged_by"]["id"], s.grace.as_str());
    let again = run(&["page", "ack", &reference, "--user", "ada@example.com"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("acknowledged already, by grace"));
    let missing = run(&["page", "ack", "PAGE-999", "--user", "ada@example.com"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("There is no page PAGE-999"));
}
