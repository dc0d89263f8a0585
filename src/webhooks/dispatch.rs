//! The dispatcher: claims due deliveries, sends them with a global and a per-destination
//! concurrency limit, and records every attempt in batches. A slow or hanging endpoint
//! only ever holds its own destination's slots, so it cannot delay anyone else.

use futures_util::StreamExt;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::guard::{self, GuardedResolver};
use super::signing::{message_id, Secret};
use super::wire::{body, describe_error, describe_status, parse_retry_after};
use crate::webhooks::deliveries::{self, AttemptRecord, Claimed, MessageRow, Next};
use crate::webhooks::retry_delay;

/// How much of a response body is read (and kept in the log).
pub const RESPONSE_EXCERPT: usize = 1024;

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Attempts in flight at once, in all.
    pub concurrency: usize,
    /// Attempts in flight at once to one destination (scheme, host and port).
    pub per_destination: usize,
    /// The whole attempt: connecting, sending, and the answer's headers and excerpt.
    pub timeout: Duration,
    /// How long a claim lasts before another worker may take the delivery over.
    pub lease: Duration,
    /// Send to loopback, private and link-local addresses too (tests, private networks).
    pub allow_private: bool,
    /// How often to look for due deliveries when nothing announces them.
    pub poll_interval: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            concurrency: 256,
            per_destination: 32,
            timeout: Duration::from_secs(15),
            lease: Duration::from_secs(30),
            allow_private: false,
            poll_interval: Duration::from_secs(1),
        }
    }
}

pub struct Dispatcher {
    pool: PgPool,
    config: DeliveryConfig,
    client: reqwest::Client,
}

/// Attempts in flight, per destination and in all.
#[derive(Default)]
struct InFlight {
    per_destination: HashMap<String, usize>,
    total: usize,
}

impl Dispatcher {
    pub fn new(pool: PgPool, config: DeliveryConfig) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .no_proxy()
            .pool_max_idle_per_host(config.per_destination)
            .user_agent(concat!("Fireline-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        // Claims and attempt records need not wait for the disk: losing one in a database
        // crash only means a delivery is claimed, or sent, again (at least once, same
        // webhook-id). The dispatcher gets a few connections of its own that say so.
        let options = pool
            .connect_options()
            .as_ref()
            .clone()
            .options([("synchronous_commit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            client: builder.build()?,
            config,
        })
    }

    /// Deliver until `shutdown`, then finish the attempts in flight and record them.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let (records, writer_rx) = mpsc::channel::<AttemptRecord>(4096);
        let writer = tokio::spawn(write_records(this.pool.clone(), writer_rx));
        let in_flight = Arc::new(Mutex::new(InFlight::default()));
        let finished = Arc::new(Notify::new());
        let mut running = JoinSet::new();
        let mut messages: HashMap<Uuid, Arc<MessageRow>> = HashMap::new();
        let mut listener = tokio::select! {
            _ = shutdown.cancelled() => None,
            fresh = listen(&this.pool) => fresh,
        };
        let mut claim_failing = false;
        tracing::info!("webhook dispatcher started");
        loop {
            while running.try_join_next().is_some() {}
            let (free, busy) = {
                let guard = in_flight.lock().unwrap_or_else(|e| e.into_inner());
                let busy: Vec<(String, i64)> = guard
                    .per_destination
                    .iter()
                    .map(|(d, n)| {
                        (
                            d.clone(),
                            this.config.per_destination.saturating_sub(*n) as i64,
                        )
                    })
                    .collect();
                (this.config.concurrency.saturating_sub(guard.total), busy)
            };
            let mut more = false;
            if free > 0 {
                let claim = deliveries::claim(
                    &this.pool,
                    free.min(500) as i64,
                    this.config.per_destination as i64,
                    &busy,
                    time::Duration::try_from(this.config.lease)
                        .unwrap_or(time::Duration::SECOND * 30),
                );
                let claimed = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    result = claim => result,
                };
                match claimed {
                    Ok(claimed) => {
                        claim_failing = false;
                        more = claimed.len() == free.min(500);
                        if let Err(err) = this.load_messages(&mut messages, &claimed).await {
                            tracing::warn!(error = %err, "loading webhook messages failed");
                        }
                        for delivery in claimed {
                            let Some(message) = messages.get(&delivery.message_id).cloned() else {
                                // Its lease runs out and it is claimed again.
                                continue;
                            };
                            {
                                let mut guard = in_flight.lock().unwrap_or_else(|e| e.into_inner());
                                *guard
                                    .per_destination
                                    .entry(delivery.destination.clone())
                                    .or_default() += 1;
                                guard.total += 1;
                            }
                            let (this, records, in_flight, finished) = (
                                this.clone(),
                                records.clone(),
                                in_flight.clone(),
                                finished.clone(),
                            );
                            running.spawn(async move {
                                let destination = delivery.destination.clone();
                                let record = this.attempt(&delivery, &message).await;
                                let _ = records.send(record).await;
                                {
                                    let mut guard =
                                        in_flight.lock().unwrap_or_else(|e| e.into_inner());
                                    if let Some(n) = guard.per_destination.get_mut(&destination) {
                                        *n -= 1;
                                        if *n == 0 {
                                            guard.per_destination.remove(&destination);
                                        }
                                    }
                                    guard.total -= 1;
                                }
                                finished.notify_one();
                            });
                        }
                    }
                    Err(err) if !claim_failing => {
                        tracing::warn!(error = %err, "claiming webhook deliveries failed; retrying quietly");
                        claim_failing = true;
                    }
                    Err(_) => {}
                }
            }
            if messages.len() > 1000 {
                messages.clear();
            }
            if more {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(this.config.poll_interval) => {}
                _ = finished.notified() => {
                    // Let a few more finish, so claims come in small batches.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                woke = next_notification(&mut listener) => {
                    if !woke {
                        listener = None;
                    }
                }
            }
            if listener.is_none() {
                // Connecting may wait for a timeout while the database is away; a shutdown
                // does not wait for it.
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    fresh = listen(&this.pool) => listener = fresh,
                }
            }
        }
        tracing::info!(in_flight = running.len(), "webhook dispatcher stopping");
        while running.join_next().await.is_some() {}
        drop(records);
        let _ = writer.await;
        // Our own connections end before the caller closes the database (or stops a
        // private cluster) under them.
        drop(listener);
        this.pool.close().await;
        tracing::info!("webhook dispatcher stopped");
    }

    async fn load_messages(
        &self,
        cache: &mut HashMap<Uuid, Arc<MessageRow>>,
        claimed: &[Claimed],
    ) -> sqlx::Result<()> {
        let mut missing: Vec<Uuid> = claimed
            .iter()
            .map(|c| c.message_id)
            .filter(|id| !cache.contains_key(id))
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        for message in deliveries::messages(&self.pool, &missing).await? {
            cache.insert(message.id, Arc::new(message));
        }
        Ok(())
    }

    /// One attempt, and what it means for the delivery.
    async fn attempt(&self, delivery: &Claimed, message: &MessageRow) -> AttemptRecord {
        let attempted_at = OffsetDateTime::now_utc();
        let started = Instant::now();
        let outcome = self.send(delivery, message).await;
        let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let (status, error, response, retry_after) = match outcome {
            Ok(answer) => (
                Some(i32::from(answer.status)),
                (!(200..300).contains(&answer.status)).then(|| describe_status(answer.status)),
                Some(answer.excerpt),
                answer.retry_after,
            ),
            Err(error) => (None, Some(error), None, None),
        };
        let next = match status {
            Some(s) if (200..300).contains(&s) => Next::Delivered,
            Some(410) => Next::Gone,
            _ => match retry_delay(delivery.attempts, retry_after) {
                Some(wait) => Next::Retry(OffsetDateTime::now_utc() + wait),
                None => Next::Failed,
            },
        };
        AttemptRecord {
            delivery_id: delivery.id,
            subscriber_id: delivery.subscriber_id,
            attempted_at,
            status,
            latency_ms,
            error,
            response,
            next,
        }
    }

    async fn send(&self, delivery: &Claimed, message: &MessageRow) -> Result<Answer, String> {
        let url = guard::parse_url(&delivery.url)?;
        guard::check_literal(&url, self.config.allow_private)?;
        let secret = Secret::parse(&delivery.secret)
            .ok_or_else(|| "the subscriber's secret is unreadable".to_owned())?;
        let body = body(message, delivery.subscriber_id, &secret);
        let id = message_id(message.id);
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = secret.sign(&id, timestamp, &body);
        let mut response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(describe_error)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        // Read no more than the excerpt: the rest is of no use, and a huge or endless body
        // must not cost memory or time.
        let mut excerpt = Vec::new();
        while excerpt.len() < RESPONSE_EXCERPT {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(RESPONSE_EXCERPT);
        Ok(Answer {
            status,
            retry_after,
            excerpt: String::from_utf8_lossy(&excerpt).replace('\0', ""),
        })
    }
}

struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    excerpt: String,
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.ok()?;
    listener.listen("fireline_webhooks").await.ok()?;
    Some(listener)
}

/// Wait for a notification; `false` when the listener broke. Without a listener, waits
/// forever (the poll interval still runs).
async fn next_notification(listener: &mut Option<PgListener>) -> bool {
    match listener {
        Some(l) => l.recv().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Write attempt records in batches: whatever has arrived, up to 500 at a time.
async fn write_records(pool: PgPool, rx: mpsc::Receiver<AttemptRecord>) {
    let mut rx = tokio_stream_chunks(rx);
    while let Some(batch) = rx.next().await {
        let mut pending = batch;
        let mut wait = Duration::from_millis(100);
        loop {
            match deliveries::record_attempts(&pool, &pending).await {
                Ok(disabled) => {
                    for id in disabled {
                        tracing::warn!(subscriber = %id, "webhook subscriber disabled");
                    }
                    break;
                }
                Err(sqlx::Error::Database(err)) => {
                    // The database refused a record (say, its subscriber was just
                    // removed): write the others one by one, so that one cannot lose them.
                    tracing::warn!(error = %err, "recording webhook attempts failed; writing one at a time");
                    if pending.len() > 1 {
                        for record in pending.drain(..) {
                            if let Err(err) = deliveries::record_attempts(&pool, &[record]).await {
                                tracing::warn!(error = %err, "recording a webhook attempt failed");
                            }
                        }
                    }
                    break;
                }
                Err(err) => {
                    // The database is away: keep the records and try again. If this process
                    // dies meanwhile, the lease runs out and the delivery is sent again.
                    tracing::warn!(error = %err, "recording a webhook attempt failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                    if wait >= Duration::from_secs(5) && pool.is_closed() {
                        break;
                    }
                }
            }
        }
    }
}

/// Batches of whatever the channel holds, waiting for at least one.
fn tokio_stream_chunks(
    mut rx: mpsc::Receiver<AttemptRecord>,
) -> impl futures_util::Stream<Item = Vec<AttemptRecord>> {
    futures_util::stream::poll_fn(move |cx| {
        let mut batch = Vec::new();
        loop {
            match rx.poll_recv(cx) {
                std::task::Poll::Ready(Some(record)) => {
                    batch.push(record);
                    if batch.len() >= 500 {
                        return std::task::Poll::Ready(Some(batch));
                    }
                }
                std::task::Poll::Ready(None) => {
                    return std::task::Poll::Ready((!batch.is_empty()).then_some(batch));
                }
                std::task::Poll::Pending => {
                    return if batch.is_empty() {
                        std::task::Poll::Pending
                    } else {
                        std::task::Poll::Ready(Some(batch))
                    };
                }
            }
        }
    })
}
