//! The job queue and runner: retries, the dead state, panics, SKIP LOCKED, shutdown.

use fireline::platform::jobs::{
    queue, HandlerFuture, JobContext, JobError, NewJob, Registry, Runner,
};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::support::TestDb;

fn ctx(db: &TestDb) -> JobContext {
    JobContext {
        pool: db.pool.clone(),
        session_idle: time::Duration::hours(12),
    }
}

/// A handler that records its payload in the audit log, so tests can see it ran.
fn record(ctx: JobContext, payload: Value) -> HandlerFuture {
    Box::pin(async move {
        fireline::platform::audit::record(&ctx.pool, None, "job.ran", "test", payload).await?;
        Ok(())
    })
}

fn always_fails(_: JobContext, _: Value) -> HandlerFuture {
    Box::pin(async {
        Err(JobError::Retry {
            reason: "receiver said 503".into(),
            after: None,
        })
    })
}

fn panics(_: JobContext, _: Value) -> HandlerFuture {
    Box::pin(async { panic!("boom in the handler") })
}

/// Fireline's own job kinds (and its periodic housekeeping), plus the test's.
fn registry() -> Registry {
    let mut registry = fireline::app::jobs::registry();
    registry.register("record", record);
    registry.register("fails", always_fails);
    registry.register("panics", panics);
    registry
}

/// Enqueue `job`; panics unless it is new.
async fn enqueue(db: &TestDb, job: NewJob) -> i64 {
    fireline::platform::jobs::enqueue(&db.pool, job)
        .await
        .unwrap()
        .unwrap()
}

/// Run this file's handlers until the queue is empty.
async fn run(db: &TestDb) -> fireline::platform::jobs::RunSummary {
    fireline::platform::jobs::run_until_empty(&ctx(db), &registry())
        .await
        .unwrap()
}

async fn ran(db: &TestDb) -> Vec<Value> {
    sqlx::query_scalar("SELECT data FROM audit_log WHERE action = 'job.ran' ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

async fn state_of(db: &TestDb, id: i64) -> (String, i32, Option<String>) {
    sqlx::query_as("SELECT state::text, attempts, last_error FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn run_until_empty_runs_every_due_job_once() {
    let db = TestDb::new().await;
    for n in 0..3 {
        fireline::platform::jobs::enqueue(&db.pool, NewJob::new("record", json!({ "n": n })))
            .await
            .unwrap();
    }
    let mut later = NewJob::new("record", json!({ "n": "later" }));
    later.run_at = Some(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    fireline::platform::jobs::enqueue(&db.pool, later)
        .await
        .unwrap();

    let summary = run(&db).await;
    assert_eq!((summary.done, summary.retried, summary.dead), (3, 0, 0));
    assert_eq!(
        ran(&db).await,
        [json!({"n": 0}), json!({"n": 1}), json!({"n": 2})]
    );
    let again = run(&db).await;
    assert_eq!(again.done, 0, "nothing runs twice, the future job waits");
}

#[tokio::test]
async fn a_failing_job_backs_off_then_dies_after_its_last_attempt() {
    let db = TestDb::new().await;
    let mut job = NewJob::new("fails", json!({}));
    job.max_attempts = 2;
    let id = enqueue(&db, job).await;

    let s = run(&db).await;
    assert_eq!(s.retried, 1);
    let (state, attempts, error) = state_of(&db, id).await;
    assert_eq!((state.as_str(), attempts), ("pending", 1));
    assert_eq!(error.as_deref(), Some("receiver said 503"));
    let wait: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM run_at - now())::float8 FROM jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        wait > 0.0 && wait <= 2.0,
        "first retry backs off ~1-2 s, got {wait}"
    );

    sqlx::query("UPDATE jobs SET run_at = now()")
        .execute(&db.pool)
        .await
        .unwrap();
    let s = run(&db).await;
    assert_eq!(s.dead, 1);
    let (state, attempts, _) = state_of(&db, id).await;
    assert_eq!((state.as_str(), attempts), ("dead", 2));
}

#[tokio::test]
async fn a_panicking_handler_is_caught_and_retried() {
    let db = TestDb::new().await;
    let id = enqueue(&db, NewJob::new("panics", json!({}))).await;
    let s = run(&db).await;
    assert_eq!(s.retried, 1);
    let (state, _, error) = state_of(&db, id).await;
    assert_eq!(state, "pending");
    assert!(error.unwrap().contains("panicked: boom in the handler"));
}

#[tokio::test]
async fn an_unknown_job_kind_goes_dead_at_once() {
    let db = TestDb::new().await;
    let id = enqueue(&db, NewJob::new("no_such_kind", json!({}))).await;
    let s = run(&db).await;
    assert_eq!(s.dead, 1);
    assert_eq!(state_of(&db, id).await.0, "dead");
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_exists() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap();
    fireline::platform::jobs::enqueue(&mut *tx, NewJob::new("record", json!({})))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_dedupe_key_keeps_one_pending_job() {
    let db = TestDb::new().await;
    let mut job = NewJob::new("record", json!({}));
    job.dedupe_key = Some("nightly".into());
    assert!(fireline::platform::jobs::enqueue(&db.pool, job.clone())
        .await
        .unwrap()
        .is_some());
    assert!(fireline::platform::jobs::enqueue(&db.pool, job.clone())
        .await
        .unwrap()
        .is_none());
    run(&db).await;
    assert!(
        fireline::platform::jobs::enqueue(&db.pool, job)
            .await
            .unwrap()
            .is_some(),
        "after it ran, a new one may queue"
    );
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_job() {
    let db = TestDb::new().await;
    for n in 0..60 {
        fireline::platform::jobs::enqueue(&db.pool, NewJob::new("record", json!({ "n": n })))
            .await
            .unwrap();
    }
    let claim = |worker: &'static str| {
        let pool = db.pool.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let batch = queue::claim(&pool, worker, 7, &ten_minutes())
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return ids;
                }
                ids.extend(batch.into_iter().map(|j| j.id));
            }
        })
    };
    let (a, b, c) = (claim("a"), claim("b"), claim("c"));
    let mut all = a.await.unwrap();
    all.extend(b.await.unwrap());
    all.extend(c.await.unwrap());
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 60);
    assert_eq!(unique.len(), 60);
}

#[tokio::test]
async fn a_job_whose_worker_vanished_is_claimed_again_after_its_lease() {
    let db = TestDb::new().await;
    let id = enqueue(&db, NewJob::new("record", json!({}))).await;
    let claimed = queue::claim(&db.pool, "crashed", 10, &ten_minutes())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(queue::claim(&db.pool, "other", 10, &ten_minutes())
        .await
        .unwrap()
        .is_empty());
    sqlx::query("UPDATE jobs SET locked_at = now() - interval '11 minutes' WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let again = queue::claim(&db.pool, "other", 10, &ten_minutes())
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
}

fn ten_minutes() -> queue::Leases {
    queue::Leases::uniform(time::Duration::minutes(10))
}

#[tokio::test]
async fn a_kind_with_a_short_lease_is_taken_over_sooner_than_the_others() {
    let db = TestDb::new().await;
    let step = enqueue(&db, NewJob::new("step", json!({}))).await;
    let slow = enqueue(&db, NewJob::new("record", json!({}))).await;
    let leases = queue::Leases {
        default: time::Duration::minutes(10),
        by_kind: vec![("step", time::Duration::seconds(20))],
    };
    assert_eq!(leases.of("step"), time::Duration::seconds(20));
    assert_eq!(leases.of("record"), time::Duration::minutes(10));
    assert_eq!(
        queue::claim(&db.pool, "crashed", 10, &leases)
            .await
            .unwrap()
            .len(),
        2
    );
    // Half a minute later the worker is gone: only the step is taken over.
    sqlx::query("UPDATE jobs SET locked_at = now() - interval '30 seconds'")
        .execute(&db.pool)
        .await
        .unwrap();
    let again = queue::claim(&db.pool, "other", 10, &leases).await.unwrap();
    assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), [step]);
    assert_eq!(again[0].attempts, 2);
    // The other waits for its own lease.
    sqlx::query("UPDATE jobs SET locked_at = now() - interval '11 minutes' WHERE id = $1")
        .bind(slow)
        .execute(&db.pool)
        .await
        .unwrap();
    let last = queue::claim(&db.pool, "third", 10, &leases).await.unwrap();
    assert_eq!(last.iter().map(|j| j.id).collect::<Vec<_>>(), [slow]);
}

#[tokio::test]
async fn the_registry_gives_a_page_step_a_short_lease() {
    let leases = fireline::app::jobs::registry().leases();
    assert!(leases.of(fireline::paging::engine::STEP_JOB) <= time::Duration::seconds(30));
    assert_eq!(leases.of("status_page.uptime"), time::Duration::minutes(10));
}

#[tokio::test]
async fn the_runner_works_in_the_background_and_stops_on_shutdown() {
    let db = TestDb::new().await;
    let shutdown = CancellationToken::new();
    let mut runner = Runner::new(ctx(&db), registry());
    runner.poll_interval = Duration::from_millis(50);
    let handle = tokio::spawn(runner.run(shutdown.clone()));
    fireline::platform::jobs::enqueue(&db.pool, NewJob::new("record", json!({ "bg": true })))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ran(&db).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the runner did not run the job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // It also scheduled its periodic housekeeping.
    let prune: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'prune_expired'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(prune, 1);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("runner stops")
        .unwrap();
}

#[tokio::test]
async fn housekeeping_removes_expired_sessions_and_old_attempts() {
    let db = TestDb::new().await;
    let hash = fireline::accounts::hash_password("x").unwrap();
    let user = fireline::accounts::users::insert(
        &db.pool,
        fireline::accounts::users::NewUserRow {
            email: "a@b.c",
            name: "A",
            role: fireline::accounts::Role::Viewer,
            password_hash: &hash.0,
        },
    )
    .await
    .unwrap();
    for (i, seen) in ["now()", "now() - interval '2 days'"].iter().enumerate() {
        sqlx::query(&format!(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at, last_seen_at) \
             VALUES ($1, $2, 'x', now() + interval '1 day', {seen})"
        ))
        .bind(vec![i as u8; 32])
        .bind(user.id)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO login_attempts (email, client_ip, succeeded, attempted_at) VALUES ('a', 'b', false, now() - interval '2 days')")
        .execute(&db.pool)
        .await
        .unwrap();
    fireline::platform::jobs::enqueue(&db.pool, NewJob::new("prune_expired", Value::Null))
        .await
        .unwrap();
    let s = fireline::platform::jobs::run_until_empty(&ctx(&db), &fireline::app::jobs::registry())
        .await
        .unwrap();
    assert_eq!(s.done, 1);
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM login_attempts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!((sessions, attempts), (1, 0));
}
