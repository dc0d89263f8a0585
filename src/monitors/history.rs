//! What checks found over time: the latest results, the points of a chart over 24 hours
//! (each run), 7 or 90 days (each hour), and the share of runs that succeeded.

use sqlx::PgExecutor;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// One run as kept.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub at: OffsetDateTime,
    pub ok: bool,
    pub latency_ms: Option<i32>,
    pub error: Option<String>,
}

/// A check's latest results, newest first.
pub async fn latest(
    db: impl PgExecutor<'_>,
    check_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<ResultRow>> {
    sqlx::query_as!(
        ResultRow,
        "SELECT at, ok, latency_ms, error FROM check_results \
         WHERE check_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        check_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// One point of a chart: when, how many runs and failures, the mean and slowest answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub at: OffsetDateTime,
    pub runs: i64,
    pub failures: i64,
    pub mean_ms: i64,
    pub max_ms: i64,
}

/// The window a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Day,
    Week,
    Quarter,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::Day, Window::Week, Window::Quarter];

    pub fn parse(raw: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Day => "24h",
            Window::Week => "7d",
            Window::Quarter => "90d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::Day => "24 hours",
            Window::Week => "7 days",
            Window::Quarter => "90 days",
        }
    }

    pub fn length(self) -> Duration {
        match self {
            Window::Day => Duration::hours(24),
            Window::Week => Duration::days(7),
            Window::Quarter => Duration::days(90),
        }
    }
}

/// The chart's points since `now - window`, oldest first: each run over a day, each hour
/// over longer windows.
pub async fn series(
    db: impl PgExecutor<'_>,
    check_id: Uuid,
    window: Window,
    now: OffsetDateTime,
) -> sqlx::Result<Vec<Point>> {
    let since = now - window.length();
    match window {
        Window::Day => {
            let rows = sqlx::query!(
                r#"SELECT at, ok, coalesce(latency_ms, 0) AS "ms!" FROM check_results
                   WHERE check_id = $1 AND at >= $2 ORDER BY at"#,
                check_id,
                since
            )
            .fetch_all(db)
            .await?;
            Ok(rows
                .into_iter()
                .map(|r| Point {
                    at: r.at,
                    runs: 1,
                    failures: i64::from(!r.ok),
                    mean_ms: i64::from(r.ms),
                    max_ms: i64::from(r.ms),
                })
                .collect())
        }
        Window::Week | Window::Quarter => {
            let rows = sqlx::query!(
                "SELECT hour, runs, failures, latency_ms_sum, latency_ms_max FROM check_hours \
                 WHERE check_id = $1 AND hour >= date_trunc('hour', $2::timestamptz) ORDER BY hour",
                check_id,
                since
            )
            .fetch_all(db)
            .await?;
            Ok(rows
                .into_iter()
                .map(|r| Point {
                    at: r.hour,
                    runs: i64::from(r.runs),
                    failures: i64::from(r.failures),
                    mean_ms: r.latency_ms_sum / i64::from(r.runs.max(1)),
                    max_ms: i64::from(r.latency_ms_max),
                })
                .collect())
        }
    }
}

/// The share of runs that succeeded since `since` (of one check, or of every check of a
/// component); `None` without runs.
pub async fn success_ratio(
    db: impl PgExecutor<'_>,
    check_id: Option<Uuid>,
    component_id: Option<Uuid>,
    since: OffsetDateTime,
) -> sqlx::Result<Option<f64>> {
    let row = sqlx::query!(
        r#"SELECT coalesce(sum(h.runs), 0)::bigint AS "runs!", coalesce(sum(h.failures), 0)::bigint AS "failures!"
           FROM check_hours h JOIN checks c ON c.id = h.check_id
           WHERE h.hour >= date_trunc('hour', $3::timestamptz)
             AND ($1::uuid IS NULL OR c.id = $1) AND ($2::uuid IS NULL OR c.component_id = $2)"#,
        check_id,
        component_id,
        since
    )
    .fetch_one(db)
    .await?;
    Ok((row.runs > 0).then(|| (row.runs - row.failures) as f64 / row.runs as f64))
}

/// The share of runs that passed since `since`, of every check that ran (one query for a
/// whole list).
pub async fn success_ratios(
    db: impl PgExecutor<'_>,
    since: OffsetDateTime,
) -> sqlx::Result<Vec<(Uuid, f64)>> {
    let rows = sqlx::query!(
        r#"SELECT check_id, sum(runs)::bigint AS "runs!", sum(failures)::bigint AS "failures!"
           FROM check_hours WHERE hour >= date_trunc('hour', $1::timestamptz)
           GROUP BY check_id"#,
        since
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.runs > 0)
        .map(|r| (r.check_id, (r.runs - r.failures) as f64 / r.runs as f64))
        .collect())
}

/// Forget raw results older than `age` and hourly roll-ups older than `hours_age`.
pub async fn prune(
    db: impl PgExecutor<'_> + Copy,
    age: Duration,
    hours_age: Duration,
) -> sqlx::Result<u64> {
    let now = OffsetDateTime::now_utc();
    let results = sqlx::query!("DELETE FROM check_results WHERE at < $1", now - age)
        .execute(db)
        .await?
        .rows_affected();
    let hours = sqlx::query!("DELETE FROM check_hours WHERE hour < $1", now - hours_age)
        .execute(db)
        .await?
        .rows_affected();
    Ok(results + hours)
}
