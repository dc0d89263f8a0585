//! Runs claimed jobs with bounded concurrency, retries with backoff and jitter, catches
//! panics, and stops on the server's shutdown signal after finishing what it started.

use rand::Rng;
use serde_json::Value;
use sqlx::PgPool;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};
use time::{Duration, OffsetDateTime};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::platform::jobs::queue::{self, JobRow, Leases};

/// How long a claimed job may run before another worker may take it over.
const LEASE: Duration = Duration::minutes(10);
/// A handler running longer than half its lease is stopped and retried (before another
/// worker may take the job over): five minutes, or less for kinds with a shorter lease.
fn handler_timeout(lease: Duration) -> StdDuration {
    StdDuration::try_from(lease / 2).unwrap_or(StdDuration::from_secs(1))
}
const MAX_BACKOFF_SECS: u64 = 6 * 3600;

/// What every handler gets.
#[derive(Clone)]
pub struct JobContext {
    pub pool: PgPool,
    pub session_idle: Duration,
}

/// Why a job failed, and whether to try again.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again; after the given delay, or after the usual backoff.
    #[error("{reason}")]
    Retry {
        reason: String,
        after: Option<StdDuration>,
    },
    /// Trying again would not help.
    #[error("{0}")]
    Permanent(String),
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        JobError::Retry {
            reason: format!("database error: {err}"),
            after: None,
        }
    }
}

impl From<anyhow::Error> for JobError {
    fn from(err: anyhow::Error) -> Self {
        JobError::Retry {
            reason: format!("{err:#}"),
            after: None,
        }
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Handler = Arc<dyn Fn(JobContext, Value) -> HandlerFuture + Send + Sync>;

/// Job kinds and their handlers.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
    /// Kinds the runner enqueues by itself, at most once per interval.
    periodic: Vec<(&'static str, StdDuration)>,
    /// Kinds with a lease shorter than [`LEASE`].
    short_leases: Vec<(&'static str, Duration)>,
}

impl Registry {
    pub fn register<F>(&mut self, kind: &'static str, handler: F)
    where
        F: Fn(JobContext, Value) -> HandlerFuture + Send + Sync + 'static,
    {
        self.handlers.insert(kind, Arc::new(handler));
    }

    /// Have the runner enqueue `kind` by itself at most every `interval`.
    pub fn every(&mut self, kind: &'static str, interval: StdDuration) {
        self.periodic.push((kind, interval));
    }

    /// Let another worker take over a `kind` job `lease` after a worker claimed it (and
    /// stop its handler at half that): for short jobs that must not wait ten minutes when
    /// their process dies.
    pub fn lease(&mut self, kind: &'static str, lease: Duration) {
        self.short_leases.push((kind, lease.min(LEASE)));
    }

    pub fn leases(&self) -> Leases {
        Leases {
            default: LEASE,
            by_kind: self.short_leases.clone(),
        }
    }
}

/// What a run of [`run_until_empty`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub done: usize,
    pub retried: usize,
    pub dead: usize,
}

enum Outcome {
    Done,
    Retried,
    Dead,
}

/// The long-running job runner of `fireline serve`.
pub struct Runner {
    pub ctx: JobContext,
    pub registry: Registry,
    pub concurrency: usize,
    pub poll_interval: StdDuration,
    pub worker_id: String,
}

impl Runner {
    pub fn new(ctx: JobContext, registry: Registry) -> Self {
        Self {
            ctx,
            registry,
            concurrency: 8,
            poll_interval: StdDuration::from_secs(1),
            worker_id: worker_id(),
        }
    }

    /// Claim and run jobs until `shutdown` fires, then wait for the running ones.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut running: JoinSet<()> = JoinSet::new();
        let mut last_scheduled: HashMap<&'static str, Instant> = HashMap::new();
        let mut claim_failing = false;
        let leases = self.registry.leases();
        tracing::info!(worker = %self.worker_id, "job runner started");
        loop {
            // Database calls may wait for a pool timeout when the database is down; a
            // shutdown does not wait for them.
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.schedule_periodic(&mut last_scheduled) => {}
            }
            while running.try_join_next().is_some() {}
            let free = self.concurrency.saturating_sub(running.len());
            let mut claimed = 0;
            if free > 0 {
                let claim = queue::claim(&self.ctx.pool, &self.worker_id, free as i64, &leases);
                let claimed_jobs = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    result = claim => result,
                };
                match claimed_jobs {
                    Ok(jobs) => {
                        claim_failing = false;
                        claimed = jobs.len();
                        for job in jobs {
                            let (ctx, registry) = (self.ctx.clone(), self.registry.clone());
                            running.spawn(async move {
                                execute(&ctx, &registry, job).await;
                            });
                        }
                    }
                    // Say it once per outage, not every second.
                    Err(err) if !claim_failing => {
                        tracing::warn!(error = %err, "claiming jobs failed; retrying quietly");
                        claim_failing = true;
                    }
                    Err(_) => {}
                }
            }
            // A full batch means more may be waiting: look again at once. Otherwise sleep
            // until the next poll, or until the soonest pending job is due if that is
            // sooner (a page's countdown ends on time, not up to a poll later).
            let pause = if claimed > 0 && claimed == free {
                StdDuration::ZERO
            } else {
                match queue::next_due(&self.ctx.pool).await {
                    Ok(Some(due)) => {
                        let wait = due - OffsetDateTime::now_utc();
                        let wait = StdDuration::try_from(wait).unwrap_or(StdDuration::ZERO);
                        wait.min(self.poll_interval)
                    }
                    _ => self.poll_interval,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        tracing::info!(
            in_flight = running.len(),
            "job runner stopping; finishing running jobs"
        );
        while running.join_next().await.is_some() {}
        tracing::info!("job runner stopped");
    }

    async fn schedule_periodic(&self, last: &mut HashMap<&'static str, Instant>) {
        for &(kind, every) in &self.registry.periodic {
            if last.get(kind).is_some_and(|at| at.elapsed() < every) {
                continue;
            }
            let mut job = queue::NewJob::new(kind, Value::Null);
            job.dedupe_key = Some(kind.to_owned());
            job.max_attempts = 3;
            match queue::enqueue(&self.ctx.pool, job).await {
                Ok(_) => {
                    last.insert(kind, Instant::now());
                }
                Err(err) => tracing::warn!(kind, error = %err, "scheduling a periodic job failed"),
            }
        }
    }
}

/// Run every due job now, one at a time, until none is left (for tests and tools).
/// Jobs scheduled for later by a retry are left alone.
pub async fn run_until_empty(ctx: &JobContext, registry: &Registry) -> anyhow::Result<RunSummary> {
    let mut summary = RunSummary::default();
    loop {
        let jobs = queue::claim(&ctx.pool, "run-until-empty", 100, &registry.leases()).await?;
        if jobs.is_empty() {
            return Ok(summary);
        }
        for job in jobs {
            match execute(ctx, registry, job).await {
                Outcome::Done => summary.done += 1,
                Outcome::Retried => summary.retried += 1,
                Outcome::Dead => summary.dead += 1,
            }
        }
    }
}

async fn execute(ctx: &JobContext, registry: &Registry, job: JobRow) -> Outcome {
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
    let _enter = span.enter();
    let result = match registry.handlers.get(job.kind.as_str()) {
        None => Err(JobError::Permanent(format!(
            "no handler for job kind {:?}",
            job.kind
        ))),
        Some(handler) => {
            // A separate task, so a panic in the handler is caught and recorded.
            let task = tokio::spawn(handler(ctx.clone(), job.payload.clone()));
            let timeout = handler_timeout(registry.leases().of(&job.kind));
            match tokio::time::timeout(timeout, task).await {
                Ok(Ok(result)) => result,
                Ok(Err(join_err)) if join_err.is_panic() => Err(JobError::Retry {
                    reason: format!("the handler panicked: {}", panic_message(join_err)),
                    after: None,
                }),
                Ok(Err(join_err)) => Err(JobError::Retry {
                    reason: format!("the handler was cancelled: {join_err}"),
                    after: None,
                }),
                Err(_) => Err(JobError::Retry {
                    reason: "the handler timed out".into(),
                    after: None,
                }),
            }
        }
    };
    let (outcome, stored) = match result {
        Ok(()) => (Outcome::Done, queue::complete(&ctx.pool, job.id).await),
        Err(err) => {
            let retry_at = match &err {
                JobError::Permanent(_) => None,
                JobError::Retry { .. } if job.attempts >= job.max_attempts => None,
                JobError::Retry { after, .. } => {
                    let delay = after.unwrap_or_else(|| backoff(job.attempts));
                    Some(OffsetDateTime::now_utc() + delay)
                }
            };
            let outcome = if retry_at.is_some() {
                tracing::warn!(error = %err, "job failed; will retry");
                Outcome::Retried
            } else {
                tracing::error!(error = %err, "job failed for good");
                Outcome::Dead
            };
            (
                outcome,
                queue::fail(&ctx.pool, job.id, &err.to_string(), retry_at).await,
            )
        }
    };
    if let Err(err) = stored {
        // The lease runs out and another worker picks the job up again.
        tracing::error!(error = %err, "recording the job's outcome failed");
    }
    outcome
}

/// Exponential backoff with "equal jitter": half fixed, half random.
pub fn backoff(attempts: i32) -> StdDuration {
    let exp = attempts.clamp(0, 20) as u32;
    let base = 2u64.saturating_pow(exp).clamp(1, MAX_BACKOFF_SECS);
    let half = base as f64 / 2.0;
    let jitter = rand::thread_rng().gen_range(0.0..=half);
    StdDuration::from_secs_f64(half + jitter)
}

fn panic_message(err: tokio::task::JoinError) -> String {
    let payload = err.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "fireline".to_owned())
}

/// This process, as the rows it claims name it: host and process id.
pub fn worker_id() -> String {
    format!("{}-{}", hostname(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_within_its_jitter_band() {
        for attempts in 1..12 {
            let base = 2u64.pow(attempts as u32) as f64;
            let d = backoff(attempts).as_secs_f64();
            assert!(d >= base / 2.0 && d <= base, "attempt {attempts}: {d}");
        }
    }

    #[test]
    fn backoff_is_capped() {
        assert!(backoff(40).as_secs() <= MAX_BACKOFF_SECS);
    }
}
