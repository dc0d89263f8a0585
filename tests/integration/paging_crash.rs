//! Pages across crashes and processes: a `fireline serve` killed during a countdown or a
//! wait loses nothing; after the restart each step goes out once, on time, even with two
//! processes racing for it.

use fireline::accounts::Role;
use serde_json::{json, Value};
use std::process::Child;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

use crate::support::TestDb;
use crate::webhooks::start_server_with;

async fn call(base: &str, token: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn kill(child: &mut Child) {
    let sent = std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let _ = child.wait();
}

/// Wait until `sql` (one row, one column) says true.
async fn until(db: &TestDb, sql: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done: bool = sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap();
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_page_survives_a_crash_in_its_countdown_and_in_its_wait_and_goes_out_once_on_time() {
    let db = TestDb::new().await;
    let token = db.admin_token("paging").await;
    let (mut first, base) = start_server_with(&db, &[]);
    let grace = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/api/v1/users",
        json!({"email": "grace@example.com", "name": "Grace", "role": "responder"}),
    )
    .await;
    let grace = grace["id"].as_str().unwrap().to_owned();
    let policy = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/api/v1/escalation-policies",
        json!({
        "name": "Fast", "steps": [{"kind": "countdown", "seconds": 4}, {"kind": "page_on_duty"},
                                  {"kind": "wait", "seconds": 10}, {"kind": "page_everyone"}]}),
    )
    .await;
    let team = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/api/v1/teams",
        json!({"name": "Platform", "user_ids": [grace], "escalation_policy_id": policy["id"]}),
    )
    .await;
    let team = team["id"].as_str().unwrap().to_owned();
    let now = OffsetDateTime::now_utc();
    call(
        &base,
        &token,
        reqwest::Method::POST,
        &format!("/api/v1/teams/{team}/overrides"),
        json!({
        "user_id": grace, "starts_at": crate::support::rfc3339(now - time::Duration::minutes(1)),
        "ends_at": crate::support::rfc3339(now + time::Duration::hours(1))}),
    )
    .await;
    call(
        &base,
        &token,
        reqwest::Method::POST,
        "/api/v1/routing-rules",
        json!({"name": "Page Platform", "urgency": "critical", "team_id": team}),
    )
    .await;
    let integration = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/api/v1/integrations",
        json!({"name": "Checks", "kind": "generic"}),
    )
    .await;
    let key = integration["key"].as_str().unwrap();
    let sent = reqwest::Client::new()
        .post(format!("{base}/ingest/{key}/generic"))
        .json(&json!({"dedup_key": "api", "title": "API down", "status": "firing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), reqwest::StatusCode::ACCEPTED);

    // Killed during the countdown.
    until(
        &db,
        "SELECT count(*) = 1 FROM pages WHERE state = 'counting_down'",
        "the countdown",
    )
    .await;
    kill(&mut first);
    let due: OffsetDateTime = sqlx::query_scalar("SELECT due_at FROM pages")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (mut second, _) = start_server_with(&db, &[]);
    let (mut third, _) = start_server_with(&db, &[]);
    until(
        &db,
        "SELECT count(*) = 1 FROM page_recipients",
        "Grace is paged",
    )
    .await;
    let paged_at: OffsetDateTime = sqlx::query_scalar("SELECT paged_at FROM page_recipients")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let late = paged_at - due;
    assert!(
        late >= time::Duration::ZERO && late < time::Duration::seconds(1),
        "paged {late} after the countdown ended"
    );

    // Killed during the wait: the others carry on, and everyone is paged once, on time.
    kill(&mut second);
    let due: OffsetDateTime = sqlx::query_scalar("SELECT due_at FROM pages")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (mut fourth, _) = start_server_with(&db, &[]);
    until(
        &db,
        "SELECT count(*) = 1 FROM pages WHERE state = 'exhausted'",
        "everyone is paged",
    )
    .await;
    let everyone_at: OffsetDateTime =
        sqlx::query_scalar("SELECT paged_at FROM page_recipients WHERE reason = 'everyone'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let late = everyone_at - due;
    assert!(
        late >= time::Duration::ZERO && late < time::Duration::seconds(1),
        "paged everyone {late} after the wait"
    );
    kill(&mut third);
    kill(&mut fourth);

    let paged: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.email, r.reason FROM page_recipients r JOIN users u ON u.id = r.user_id ORDER BY r.paged_at, u.email",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let admin: String = sqlx::query_scalar("SELECT email FROM users WHERE role = $1")
        .bind(Role::Admin)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        paged,
        [
            ("grace@example.com".to_owned(), "on_duty".to_owned()),
            (admin, "everyone".to_owned())
        ]
    );
    let steps: Vec<String> = sqlx::query_scalar("SELECT kind FROM page_events ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        steps,
        [
            "started",
            "countdown",
            "paged",
            "waiting",
            "paged",
            "exhausted"
        ]
    );
}
