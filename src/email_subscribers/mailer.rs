//! The mailer: claims due email deliveries in batches, fills in each recipient's own
//! links, sends over a pool of reused SMTP connections, and records the batch's outcomes
//! in one statement. A permanent refusal of an address marks its subscriber bounced.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::compose::{CONFIRM, MANAGE};
use super::links::Links;
use super::outbox::{self, Claimed, MessageRow, Outcome};
use crate::notify::email::SmtpConfig;

/// Deliveries claimed at once.
const BATCH: i64 = 500;
/// How long a claim holds before another process may send the delivery. A batch stops
/// sending at half of it, so that nothing is sent after another process may have taken
/// it over (the last send of each connection may run over by its timeouts).
const LEASE: Duration = Duration::from_secs(300);
/// Attempts before a delivery is given up.
const ATTEMPTS: i32 = 6;

const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");

/// When a delivery that failed for now is tried again.
fn retry_after(attempts: i32) -> time::Duration {
    match attempts {
        ..=1 => time::Duration::minutes(1),
        2 => time::Duration::minutes(5),
        3 => time::Duration::minutes(30),
        4 => time::Duration::hours(2),
        _ => time::Duration::hours(6),
    }
}

#[derive(Clone)]
pub struct Mailer {
    pool: PgPool,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    links: Links,
    connections: usize,
    lease: Duration,
    /// Messages by id: a fan-out of 100,000 deliveries reads its one message once.
    messages: Arc<Mutex<HashMap<Uuid, Arc<MessageRow>>>>,
}

impl Mailer {
    /// A mailer sending through `smtp` over at most `connections` connections at once.
    pub async fn new(pool: PgPool, smtp: &SmtpConfig, connections: usize) -> anyhow::Result<Self> {
        let connections = connections.clamp(1, 64);
        Ok(Mailer {
            transport: smtp.pooled_transport(u32::try_from(connections).unwrap_or(4))?,
            from: smtp.from.clone(),
            links: Links::load(&pool).await?,
            pool,
            connections,
            lease: LEASE,
            messages: Arc::default(),
        })
    }

    /// The same mailer with claims that hold for `lease` (tests of a batch that runs out
    /// of time).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Send what is due, batch after batch, until nothing is (tests, tools).
    pub async fn run_until_empty(&self) -> anyhow::Result<usize> {
        let mut sent = 0;
        loop {
            let n = self.run_once().await?;
            if n == 0 {
                return Ok(sent);
            }
            sent += n;
        }
    }

    /// Send until `shutdown`, woken by `NOTIFY fireline_email` and every 10 s (retries).
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = listen(&self.pool).await;
        tracing::info!(connections = self.connections, "mailer started");
        loop {
            let full = match self.run_once().await {
                Ok(n) => n as i64 == BATCH,
                Err(err) => {
                    tracing::warn!(error = %err, "sending email failed; retrying");
                    false
                }
            };
            if full {
                continue;
            }
            let woken = async {
                match &mut listener {
                    Some(l) => l.recv().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(10)) => {}
                ok = woken => if !ok { listener = None },
            }
            if listener.is_none() {
                listener = listen(&self.pool).await;
            }
        }
        tracing::info!("mailer stopped");
    }

    /// The messages of `claimed`, from the cache or in one query for those not in it.
    async fn messages_of(
        &self,
        claimed: &[Claimed],
    ) -> sqlx::Result<HashMap<Uuid, Arc<MessageRow>>> {
        let mut cache = self.messages.lock().await;
        let mut missing: Vec<Uuid> = claimed
            .iter()
            .map(|c| c.message_id)
            .filter(|id| !cache.contains_key(id))
            .collect();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            if cache.len() > 1000 {
                cache.clear();
            }
            for message in outbox::messages(&self.pool, &missing).await? {
                cache.insert(message.id, Arc::new(message));
            }
        }
        Ok(claimed
            .iter()
            .filter_map(|c| cache.get(&c.message_id).map(|m| (c.message_id, m.clone())))
            .collect())
    }

    /// Claim one batch, send it, record it; how many were claimed. One recipient's mail
    /// goes one after another, in the order it was written ("started" before
    /// "completed"); different recipients' at once, one per connection. What is not sent
    /// by half the lease goes back, untried.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let lease = time::Duration::try_from(self.lease).unwrap_or(time::Duration::minutes(5));
        let claimed = outbox::claim(&self.pool, BATCH, lease).await?;
        let deadline = std::time::Instant::now() + self.lease / 2;
        if claimed.is_empty() {
            return Ok(0);
        }
        let messages = self.messages_of(&claimed).await?;
        let n = claimed.len();
        let mut by_recipient: HashMap<Uuid, Vec<Claimed>> = HashMap::new();
        for c in claimed {
            by_recipient.entry(c.subscriber_id).or_default().push(c);
        }
        let outcomes: Vec<Vec<(Claimed, Outcome)>> = stream::iter(by_recipient.into_values())
            .map(|mut queue| {
                queue.sort_by_key(|c| c.id);
                let messages = &messages;
                async move {
                    let mut done = Vec::with_capacity(queue.len());
                    for c in queue {
                        let outcome = match messages.get(&c.message_id) {
                            _ if std::time::Instant::now() >= deadline => Outcome::NotTried,
                            Some(message) => self.send(&c, message).await,
                            None => Outcome::Failed {
                                error: "the message is gone".into(),
                            },
                        };
                        done.push((c, outcome));
                    }
                    done
                }
            })
            .buffer_unordered(self.connections)
            .collect()
            .await;
        let outcomes: Vec<(Claimed, Outcome)> = outcomes.into_iter().flatten().collect();
        outbox::record(&self.pool, &outcomes).await?;
        Ok(n)
    }

    async fn send(&self, claimed: &Claimed, message: &MessageRow) -> Outcome {
        let letter = match letter(&self.from, &self.links, claimed, message) {
            Ok(letter) => letter,
            Err(error) => return Outcome::Failed { error },
        };
        match self.transport.send(letter).await {
            Ok(_) => Outcome::Sent,
            Err(e) => judge(&e, claimed.attempts),
        }
    }
}

/// What an SMTP error means for the delivery: the address refused for good (5.1.x,
/// 550–553), any other permanent refusal, or worth another try.
fn judge(e: &lettre::transport::smtp::Error, attempts: i32) -> Outcome {
    let error = format!("SMTP: {e}");
    if e.is_permanent() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        if matches!(code.as_str(), "550" | "551" | "553") || error.contains("5.1.") {
            return Outcome::Bounced { error };
        }
        return Outcome::Failed { error };
    }
    if attempts >= ATTEMPTS {
        return Outcome::Failed { error };
    }
    Outcome::Retry {
        at: OffsetDateTime::now_utc() + retry_after(attempts),
        error,
    }
}

/// One recipient's mail: the message with their own links, and for news (not the
/// confirmation) the RFC 8058 one-click unsubscribe headers.
fn letter(
    from: &Mailbox,
    links: &Links,
    claimed: &Claimed,
    message: &MessageRow,
) -> Result<lettre::Message, String> {
    let to: Mailbox = claimed
        .email
        .parse()
        .map_err(|e| format!("{} is not an address: {e}", claimed.email))?;
    let base = &message.base_url;
    let id = claimed.subscriber_id;
    let manage = links.manage_url(base, id);
    let confirm = claimed
        .confirm_sent_at
        .map(|sent| links.confirm_url(base, id, sent))
        .unwrap_or_default();
    let fill = |body: &str| body.replace(MANAGE, &manage).replace(CONFIRM, &confirm);
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&message.subject);
    if message.kind != "confirmation" {
        builder = builder
            .raw_header(HeaderValue::new(
                LIST_UNSUBSCRIBE,
                format!("<{}>", links.unsubscribe_url(base, id)),
            ))
            .raw_header(HeaderValue::new(
                LIST_UNSUBSCRIBE_POST,
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            fill(&message.text_body),
            fill(&message.html_body),
        ))
        .map_err(|e| format!("the mail cannot be made: {e}"))
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.ok()?;
    listener.listen(outbox::CHANNEL).await.ok()?;
    Some(listener)
}
