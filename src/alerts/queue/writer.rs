//! The intake writer: the doors hand it deliveries, and it stores those of concurrent
//! requests together, one `INSERT … SELECT FROM unnest(…)` and one commit for up to
//! [`BATCH_MAX`] of them. Each request is answered only once its row is committed.
//!
//! It never makes a request wait for room: when its queue is full, or the processors
//! are far behind (the backlog is over its limit), a delivery is refused at once and the
//! door answers with its format's "come back later". A burst of alerts therefore costs
//! the database one statement per batch instead of one per request, and cannot pile up
//! in memory. The writer has its own small pool, so the admin UI never waits behind it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::encode;
use crate::alerts::intake::Delivery;

/// The most deliveries stored by one statement.
pub const BATCH_MAX: usize = 256;
/// How often a backlog over its limit is looked at again.
const BACKLOG_FRESH: Duration = Duration::from_secs(1);

/// How much the writer takes before it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeLimits {
    /// Deliveries waiting to be written, at most.
    pub queue: usize,
    /// Deliveries stored and not yet applied, at most (the processors' backlog).
    pub backlog: i64,
    /// Statements in flight at once (each on its own connection).
    pub writers: usize,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        IntakeLimits {
            queue: 2048,
            backlog: 100_000,
            writers: 2,
        }
    }
}

/// Why a delivery was not stored. The door answers each as "overloaded".
#[derive(Debug, thiserror::Error)]
pub enum NotStored {
    #[error("the intake queue is full")]
    QueueFull,
    #[error("{0} deliveries wait to be applied, over the limit")]
    Backlog(i64),
    #[error("storing the delivery failed: {0}")]
    Database(String),
    #[error("the delivery cannot be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

struct Pending {
    integration_id: Uuid,
    format: &'static str,
    group_key: String,
    stored: String,
    digest: Vec<u8>,
    /// The alerts' fingerprints as a JSON array.
    fingerprints: String,
    done: oneshot::Sender<Result<(), String>>,
}

/// The last known backlog and when it was learnt.
struct Backlog {
    value: AtomicI64,
    learnt: Mutex<Instant>,
    /// Held while one request looks the backlog up again; the others meanwhile go by the
    /// last value.
    refreshing: tokio::sync::Mutex<()>,
}

/// Stores deliveries in batches; cheap to clone. Its writer tasks end when the last
/// clone is dropped.
#[derive(Clone)]
pub struct IntakeWriter {
    sender: mpsc::Sender<Pending>,
    pool: PgPool,
    limit: i64,
    backlog: Arc<Backlog>,
}

impl IntakeWriter {
    /// A writer storing through its own connections to the database of `pool`; its
    /// tasks start now (on the current Tokio runtime).
    pub fn new(pool: &PgPool, limits: IntakeLimits) -> Self {
        let writers = limits.writers.max(1);
        let own = PgPoolOptions::new()
            .max_connections(writers as u32)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(pool.connect_options().as_ref().clone());
        let (sender, receiver) = mpsc::channel(limits.queue.max(1));
        let backlog = Arc::new(Backlog {
            value: AtomicI64::new(0),
            learnt: Mutex::new(Instant::now()),
            refreshing: tokio::sync::Mutex::new(()),
        });
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..writers {
            tokio::spawn(write(own.clone(), receiver.clone(), backlog.clone()));
        }
        IntakeWriter {
            sender,
            pool: own,
            limit: limits.backlog,
            backlog,
        }
    }

    /// Store `delivery` for `integration_id`; committed (and the processors woken) when
    /// this returns `Ok`. Refused at once when the writer is full or the processors are
    /// behind.
    pub async fn submit(&self, integration_id: Uuid, delivery: &Delivery) -> Result<(), NotStored> {
        if let Some(waiting) = self.over_backlog().await {
            return Err(NotStored::Backlog(waiting));
        }
        let (done, answer) = oneshot::channel();
        let pending = Pending {
            integration_id,
            format: delivery.format.as_str(),
            group_key: delivery.group_key.clone(),
            stored: encode(delivery)?,
            digest: delivery.digest().to_vec(),
            fingerprints: serde_json::to_string(&delivery.fingerprints())?,
            done,
        };
        self.sender
            .try_send(pending)
            .map_err(|_| NotStored::QueueFull)?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(NotStored::Database(err)),
            Err(_) => Err(NotStored::Database("the writer stopped".into())),
        }
    }

    /// How many deliveries wait in this process to be stored.
    pub fn queued(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }

    /// The backlog when it is over the limit. A value over the limit older than a
    /// second is looked up again first, so intake resumes as soon as the processors
    /// have caught up.
    async fn over_backlog(&self) -> Option<i64> {
        let value = self.backlog.value.load(Ordering::Relaxed);
        if value < self.limit {
            return None;
        }
        let stale = self
            .backlog
            .learnt
            .lock()
            .map(|at| at.elapsed() >= BACKLOG_FRESH)
            .unwrap_or(true);
        if !stale {
            return Some(value);
        }
        let Ok(_refreshing) = self.backlog.refreshing.try_lock() else {
            return Some(value);
        };
        match measure_backlog(&self.pool).await {
            Ok(now) => {
                self.backlog.learn(now);
                (now >= self.limit).then_some(now)
            }
            Err(err) => {
                tracing::warn!(error = %err, "measuring the alert intake backlog failed");
                Some(value)
            }
        }
    }
}

impl Backlog {
    fn learn(&self, value: i64) {
        self.value.store(value, Ordering::Relaxed);
        if let Ok(mut at) = self.learnt.lock() {
            *at = Instant::now();
        }
    }
}

/// One writer task: take what is waiting (at least one, at most [`BATCH_MAX`]), store
/// it in one statement, answer each request, again.
async fn write(
    pool: PgPool,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Pending>>>,
    backlog: Arc<Backlog>,
) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    loop {
        {
            let mut receiver = receiver.lock().await;
            // `0`: every sender is gone, the app was dropped.
            if receiver.recv_many(&mut batch, BATCH_MAX).await == 0 {
                return;
            }
        }
        let answer = match insert(&pool, &batch).await {
            Ok(waiting) => {
                backlog.learn(waiting);
                Ok(())
            }
            Err(err) => {
                tracing::warn!(error = %err, deliveries = batch.len(), "storing alert deliveries failed");
                Err(err.to_string())
            }
        };
        for pending in batch.drain(..) {
            // A request that gave up waiting is gone; its row is stored all the same
            // and its sender's retry is a repeat, which changes nothing.
            let _ = pending.done.send(answer.clone());
        }
    }
}

/// Store `batch` in one statement, waking the processors; returns the backlog after it.
async fn insert(pool: &PgPool, batch: &[Pending]) -> sqlx::Result<i64> {
    let mut integration_ids = Vec::with_capacity(batch.len());
    let mut formats = Vec::with_capacity(batch.len());
    let mut group_keys = Vec::with_capacity(batch.len());
    let mut stored = Vec::with_capacity(batch.len());
    let mut digests = Vec::with_capacity(batch.len());
    let mut fingerprints = Vec::with_capacity(batch.len());
    for pending in batch {
        integration_ids.push(pending.integration_id);
        formats.push(pending.format);
        group_keys.push(pending.group_key.as_str());
        stored.push(pending.stored.as_str());
        digests.push(pending.digest.as_slice());
        fingerprints.push(pending.fingerprints.as_str());
    }
    // `unnest` yields the rows in the order of the arrays, so ids follow arrival order
    // and a group's deliveries are applied in the order they came.
    sqlx::query_scalar!(
        r#"WITH stored AS (
               INSERT INTO alert_intake (integration_id, format, group_key, delivery,
                                         digest, fingerprints)
               SELECT i, f::alert_format, g, d, h, ARRAY(SELECT jsonb_array_elements_text(p::jsonb))
               FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[],
                           $6::text[]) AS r(i, f, g, d, h, p)
               RETURNING id),
           woken AS (SELECT pg_notify('fireline_alert_intake', ''))
           SELECT (SELECT max(id) FROM stored)
                  - coalesce((SELECT min(id) FROM alert_intake WHERE state = 'pending'),
                             (SELECT min(id) FROM stored)) + 1 AS "waiting!"
           FROM woken"#,
        &integration_ids,
        &formats as &[&str],
        &group_keys as &[&str],
        &stored as &[&str],
        &digests as &[&[u8]],
        &fingerprints as &[&str]
    )
    .fetch_one(pool)
    .await
}

/// How many deliveries wait, counted as the span of pending ids (cheap on the primary
/// key; failed rows in between count too).
async fn measure_backlog(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(max(id) - min(id) + 1, 0) AS "waiting!"
           FROM alert_intake WHERE state = 'pending'"#
    )
    .fetch_one(pool)
    .await
}
