//! The `jobs` table: enqueue in the caller's transaction, claim, finish, retry. The
//! runner in `crate::platform::jobs` drives it.

use serde_json::Value;
use sqlx::{PgExecutor, PgPool};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// A job to enqueue. `dedupe_key` keeps at most one pending or running job per key.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: Value,
    pub run_at: Option<OffsetDateTime>,
    pub max_attempts: i32,
    pub dedupe_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: Value) -> Self {
        Self {
            kind,
            payload,
            run_at: None,
            max_attempts: 10,
            dedupe_key: None,
        }
    }
}

/// Enqueue a job. Call it with the transaction that makes the change the job is about,
/// so both commit or neither does. Returns `None` when a job with the same dedupe key is
/// already pending or running.
pub async fn enqueue(db: impl PgExecutor<'_>, job: NewJob) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "INSERT INTO jobs (kind, payload, run_at, max_attempts, dedupe_key) \
         VALUES ($1, $2, coalesce($3, now()), $4, $5) \
         ON CONFLICT (dedupe_key) WHERE state IN ('pending', 'running') DO NOTHING \
         RETURNING id",
        job.kind,
        job.payload,
        job.run_at,
        job.max_attempts,
        job.dedupe_key
    )
    .fetch_optional(db)
    .await
}

/// How long a claimed job may run before another worker may take it over: one lease for
/// every kind, and shorter ones for kinds that must not wait long for a dead worker (a
/// page's steps).
#[derive(Debug, Clone, PartialEq)]
pub struct Leases {
    pub default: Duration,
    pub by_kind: Vec<(&'static str, Duration)>,
}

impl Leases {
    /// The same lease for every kind.
    pub fn uniform(default: Duration) -> Leases {
        Leases {
            default,
            by_kind: Vec::new(),
        }
    }

    pub fn of(&self, kind: &str) -> Duration {
        self.by_kind
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(self.default, |(_, lease)| *lease)
    }
}

/// Claim up to `limit` due jobs, and jobs whose worker vanished (lease expired).
pub async fn claim(
    pool: &PgPool,
    worker: &str,
    limit: i64,
    leases: &Leases,
) -> sqlx::Result<Vec<JobRow>> {
    let (kinds, seconds): (Vec<String>, Vec<f64>) = leases
        .by_kind
        .iter()
        .map(|(kind, lease)| ((*kind).to_owned(), lease.as_seconds_f64()))
        .unzip();
    sqlx::query_as!(
        JobRow,
        "UPDATE jobs SET state = 'running', locked_at = now(), locked_by = $1, \
                attempts = attempts + 1 \
         WHERE id IN ( \
             SELECT id FROM jobs \
             WHERE (state = 'pending' AND run_at <= now()) \
                OR (state = 'running' AND locked_at < now() - make_interval(secs => COALESCE( \
                    (SELECT l.secs FROM unnest($4::text[], $5::float8[]) AS l (kind, secs) \
                     WHERE l.kind = jobs.kind), $3))) \
             ORDER BY run_at, id \
             LIMIT $2 \
             FOR UPDATE SKIP LOCKED) \
         RETURNING id, kind, payload, attempts, max_attempts",
        worker,
        limit,
        leases.default.as_seconds_f64(),
        &kinds,
        &seconds
    )
    .fetch_all(pool)
    .await
}

/// When the soonest pending job is due (the runner sleeps until then, not a whole poll
/// interval, so timers fire on time).
pub async fn next_due(pool: &PgPool) -> sqlx::Result<Option<OffsetDateTime>> {
    sqlx::query_scalar!("SELECT min(run_at) FROM jobs WHERE state = 'pending'")
        .fetch_one(pool)
        .await
}

/// When a `kind` job last finished (the newest of them).
pub async fn last_finished(
    db: impl PgExecutor<'_>,
    kind: &str,
) -> sqlx::Result<Option<OffsetDateTime>> {
    sqlx::query_scalar!(
        "SELECT finished_at FROM jobs WHERE kind = $1 AND state = 'done' \
         ORDER BY id DESC LIMIT 1",
        kind
    )
    .fetch_optional(db)
    .await
    .map(Option::flatten)
}

pub async fn complete(pool: &PgPool, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE jobs SET state = 'done', finished_at = now(), locked_at = NULL, locked_by = NULL \
         WHERE id = $1",
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Record a failure: back to pending at `retry_at`, or dead when there is none.
pub async fn fail(
    pool: &PgPool,
    id: i64,
    error: &str,
    retry_at: Option<OffsetDateTime>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE jobs SET \
             state = CASE WHEN $3::timestamptz IS NULL THEN 'dead'::job_state ELSE 'pending' END, \
             run_at = coalesce($3, run_at), \
             finished_at = CASE WHEN $3::timestamptz IS NULL THEN now() END, \
             last_error = $2, locked_at = NULL, locked_by = NULL \
         WHERE id = $1",
        id,
        error.chars().take(2000).collect::<String>(),
        retry_at
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Number of jobs in each state (for `/metrics`).
pub async fn counts_by_state(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT s.state::text AS "state!", count(j.id) AS "count!"
           FROM unnest(enum_range(NULL::job_state)) AS s(state)
           LEFT JOIN jobs j ON j.state = s.state
           GROUP BY s.state ORDER BY s.state"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.state, r.count)).collect())
}

/// Forget finished jobs older than `age`.
pub async fn prune_finished(db: impl PgExecutor<'_>, age: Duration) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM jobs WHERE state IN ('done', 'dead') \
         AND finished_at < now() - make_interval(secs => $1)",
        age.as_seconds_f64()
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
