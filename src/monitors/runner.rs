//! The check runner of every `fireline serve`. Each check row is its own schedule: a
//! process claims a due check with `FOR UPDATE SKIP LOCKED`, taking its slot (the run due)
//! and a lease, and moving its next run on by the interval in the same statement, so no
//! other process runs that slot. It runs the probe, then records the result in one
//! transaction with what it changes: the counts, the state, the alert, the component.
//! A process that dies holding a check leaves its lease to expire; the next slot is then
//! claimed by whichever process is alive. One result per check and slot is kept
//! (`check_results_once`), whoever ran it.

use std::time::Duration as StdDuration;

use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::checks::{check_rows, ApplyMode, CheckKind, CheckRow, CheckState};
use super::probe::{Outcome, Probes};
use crate::components::ComponentStatus;

/// How long a claimed check may take beyond its timeout before another process may take
/// over its next run.
const LEASE_SLACK_SECONDS: f64 = 5.0;

/// Raw results are kept this long; the hourly roll-ups for 90 days.
pub const RESULTS_KEPT: time::Duration = time::Duration::days(7);
pub const HOURS_KEPT: time::Duration = time::Duration::days(90);

/// Claim up to `limit` due checks for `worker`.
pub async fn claim(pool: &PgPool, worker: &str, limit: i64) -> sqlx::Result<Vec<CheckRow>> {
    check_rows!(
        "WITH due AS ( \
             SELECT id AS due_id FROM checks \
             WHERE state <> 'paused' AND next_run_at <= now() \
               AND (lease_until IS NULL OR lease_until < now()) \
             ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE checks SET running_slot = next_run_at, leased_by = $1, \
             lease_until = now() + make_interval(secs => timeout_ms / 1000.0::float8 + $3::float8), \
             next_run_at = greatest(next_run_at + make_interval(secs => interval_seconds), \
                                    now() + make_interval(secs => interval_seconds / 2.0::float8)) \
         FROM due WHERE id = due.due_id RETURNING ",
        "",
        worker,
        limit,
        LEASE_SLACK_SECONDS
    )
    .fetch_all(pool)
    .await
}

/// When the soonest check is due.
async fn next_due(pool: &PgPool) -> sqlx::Result<Option<OffsetDateTime>> {
    sqlx::query_scalar!("SELECT min(next_run_at) FROM checks WHERE state <> 'paused'")
        .fetch_one(pool)
        .await
}

/// What a result changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The state stayed (the counts moved).
    Same(CheckState),
    /// It went up or down.
    Changed(CheckState),
    /// Another process took the check over, or it was paused or deleted meanwhile.
    Dropped,
}

/// Record the outcome of the run of `slot` that `worker` claimed, with what it changes.
pub async fn record(
    pool: &PgPool,
    claimed: &CheckRow,
    worker: &str,
    outcome: &Outcome,
    at: OffsetDateTime,
) -> sqlx::Result<Recorded> {
    let Some(slot) = claimed.running_slot else {
        return Ok(Recorded::Dropped);
    };
    let mut tx = pool.begin().await?;
    let found = check_rows!(
        "SELECT ",
        "FROM checks WHERE id = $1 FOR UPDATE",
        claimed.id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(check) = found else {
        return Ok(Recorded::Dropped);
    };
    let ours = check.running_slot == Some(slot) && check.leased_by.as_deref() == Some(worker);
    if !ours || check.state == CheckState::Paused {
        return Ok(Recorded::Dropped);
    }
    let inserted = sqlx::query!(
        "INSERT INTO check_results (check_id, slot, at, ok, latency_ms, error, ran_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT ON CONSTRAINT check_results_once DO NOTHING",
        check.id,
        slot,
        at,
        outcome.ok,
        outcome.latency_ms,
        outcome.error,
        worker
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Recorded::Dropped);
    }
    sqlx::query!(
        "INSERT INTO check_hours (check_id, hour, runs, failures, latency_ms_sum, latency_ms_max) \
         VALUES ($1, date_trunc('hour', $2::timestamptz), 1, $3, $4::integer, $4::integer) \
         ON CONFLICT (check_id, hour) DO UPDATE SET runs = check_hours.runs + 1, \
             failures = check_hours.failures + EXCLUDED.failures, \
             latency_ms_sum = check_hours.latency_ms_sum + EXCLUDED.latency_ms_sum, \
             latency_ms_max = greatest(check_hours.latency_ms_max, EXCLUDED.latency_ms_max)",
        check.id,
        at,
        i32::from(!outcome.ok),
        outcome.latency_ms
    )
    .execute(&mut *tx)
    .await?;
    let (failures, successes) = if outcome.ok {
        (0, check.successes.saturating_add(1))
    } else {
        (check.failures.saturating_add(1), 0)
    };
    let next = match check.state {
        // A new check has nothing to flap from: its first success brings it up.
        CheckState::New if outcome.ok => CheckState::Up,
        CheckState::New | CheckState::Up if failures >= check.failures_before_down => {
            CheckState::Down
        }
        CheckState::Down if successes >= check.successes_before_up => CheckState::Up,
        state => state,
    };
    sqlx::query!(
        "UPDATE checks SET failures = $2, successes = $3, state = $4, \
             state_since = CASE WHEN state <> $4 THEN $5 ELSE state_since END, \
             last_run_at = $5, last_ok = $6, last_latency_ms = $7, last_error = $8, \
             running_slot = NULL, lease_until = NULL, leased_by = NULL \
         WHERE id = $1",
        check.id,
        failures,
        successes,
        next as CheckState,
        at,
        outcome.ok,
        outcome.latency_ms,
        outcome.error
    )
    .execute(&mut *tx)
    .await?;
    let why = outcome.error.clone().unwrap_or_default();
    let answer = match (check.state, next) {
        (CheckState::Down, CheckState::Up) => {
            super::alerting::resolve_check(&mut tx, &check, at, "is up again").await?;
            super::effects::on_up(&mut tx, &check).await?;
            Recorded::Changed(next)
        }
        (_, CheckState::Down) if check.state != CheckState::Down => {
            let mut summary = format!(
                "{} failed {failures} times in a row: {why}",
                describe(&check)
            );
            if let Some(component) = check.component_id {
                let upstream =
                    crate::components::dependencies::upstream_trouble(&mut *tx, &[component])
                        .await?;
                for u in upstream {
                    summary.push_str(&format!(" ({})", u.words()));
                }
            }
            super::alerting::raise_check(&mut tx, &check, summary, at).await?;
            super::effects::on_down(&mut tx, &check, &why, at).await?;
            Recorded::Changed(next)
        }
        (before, after) if before != after => Recorded::Changed(after),
        _ => Recorded::Same(next),
    };
    tx.commit().await?;
    Ok(answer)
}

/// "GET https://example.com/health", "TCP db:5432", "DNS example.com" (a password in
/// the URL hidden).
pub fn describe(check: &CheckRow) -> String {
    match check.kind {
        CheckKind::Http => format!("{} {}", check.settings().method, check.shown_target()),
        CheckKind::Tcp => format!("TCP {}", check.target),
        CheckKind::Dns => format!("DNS {}", check.target),
    }
}

/// Run every due check once, now, and wait for their results (for tests and tools).
pub async fn run_due(
    pool: &PgPool,
    probes: &Probes,
    worker: &str,
) -> sqlx::Result<Vec<(Uuid, Recorded)>> {
    // Wait for whoever holds a due check (a command whose transaction is ending), so
    // that the claim, which skips locked rows, sees every due check.
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "SELECT id FROM checks WHERE state <> 'paused' AND next_run_at <= now() FOR UPDATE"
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut done = Vec::new();
    for check in claim(pool, worker, 1000).await? {
        let outcome = probes.run(&check).await;
        let recorded = record(pool, &check, worker, &outcome, OffsetDateTime::now_utc()).await?;
        done.push((check.id, recorded));
    }
    Ok(done)
}

/// The long-running check runner of `fireline serve`.
pub struct CheckRunner {
    pub pool: PgPool,
    pub probes: Probes,
    pub worker: String,
    /// Checks run at once, at most.
    pub concurrency: usize,
}

impl CheckRunner {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut running: JoinSet<()> = JoinSet::new();
        let mut failing = false;
        loop {
            while running.try_join_next().is_some() {}
            let free = self.concurrency.saturating_sub(running.len());
            if free > 0 {
                let claimed = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    c = claim(&self.pool, &self.worker, free as i64) => c,
                };
                match claimed {
                    Ok(checks) => {
                        failing = false;
                        for check in checks {
                            let (pool, probes, worker) =
                                (self.pool.clone(), self.probes.clone(), self.worker.clone());
                            running.spawn(async move {
                                let outcome = probes.run(&check).await;
                                let at = OffsetDateTime::now_utc();
                                if let Err(err) = record(&pool, &check, &worker, &outcome, at).await {
                                    tracing::warn!(check_id = %check.id, error = %err, "recording a check result failed");
                                }
                            });
                        }
                    }
                    Err(err) if !failing => {
                        tracing::warn!(error = %err, "claiming checks failed; retrying quietly");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
            let pause = match next_due(&self.pool).await {
                Ok(Some(due)) => StdDuration::try_from(due - OffsetDateTime::now_utc())
                    .unwrap_or(StdDuration::ZERO)
                    .clamp(StdDuration::from_millis(50), StdDuration::from_secs(1)),
                _ => StdDuration::from_secs(1),
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        while running.join_next().await.is_some() {}
    }
}
