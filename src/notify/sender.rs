//! The sender: claims due notifications, sends each through its provider with the SSRF
//! guard (every connection's address is checked), a global and a per-destination limit,
//! and records the outcome: sent, retried with backoff, or failed for good (the contact
//! method then shows the failure on the person's profile).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::contacts;
use super::outbox::{self, Claimed, Message, Outcome};
use super::providers::{self, ProviderConfig};
use crate::webhooks::guard::{self, GuardedResolver};

/// How the sender sends.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub providers: ProviderConfig,
    /// Send to loopback and private addresses too (tests, self-hosted ntfy or Matrix).
    pub allow_private: bool,
    pub timeout: Duration,
    /// Sends in flight to one destination.
    pub per_destination: usize,
    /// Where email goes; none: email methods fail, saying so.
    pub smtp: Option<super::email::SmtpConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            providers: ProviderConfig::default(),
            allow_private: false,
            timeout: Duration::from_secs(10),
            per_destination: 8,
            smtp: None,
        }
    }
}

const BATCH: i64 = 64;
const LEASE: time::Duration = time::Duration::seconds(60);

#[derive(Clone)]
pub struct Sender {
    pool: PgPool,
    config: Arc<NotifyConfig>,
    client: reqwest::Client,
    smtp: Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
}

impl Sender {
    pub fn new(pool: PgPool, config: NotifyConfig) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .no_proxy()
            .user_agent(concat!("Fireline/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        let smtp = config.smtp.as_ref().map(|c| c.transport()).transpose()?;
        Ok(Sender {
            pool,
            client: builder.build()?,
            smtp,
            config: Arc::new(config),
        })
    }

    /// Send what is due, one batch after another, until nothing is due (tests, tools).
    pub async fn run_until_empty(&self) -> anyhow::Result<usize> {
        let mut sent = 0;
        loop {
            let n = self.round().await?;
            if n == 0 {
                return Ok(sent);
            }
            sent += n;
        }
    }

    /// Send until `shutdown`, woken by `NOTIFY fireline_notifications` or every second.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = listen(&self.pool).await;
        tracing::info!("notification sender started");
        loop {
            let more = match self.round().await {
                Ok(n) => n as i64 == BATCH,
                Err(err) => {
                    tracing::warn!(error = %err, "sending notifications failed; retrying");
                    false
                }
            };
            if more {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                ok = async { match &mut listener { Some(l) => l.recv().await.is_ok(), None => std::future::pending().await } } => {
                    if !ok { listener = None; }
                }
            }
            if listener.is_none() {
                listener = listen(&self.pool).await;
            }
        }
        tracing::info!("notification sender stopped");
    }

    /// Claim one batch and send it; how many were claimed. The messages to one method
    /// (a team's channel hears a countdown) go one after another, in the order they were
    /// written; different methods go at once, within each destination's limit.
    async fn round(&self) -> sqlx::Result<usize> {
        let mut claimed = outbox::claim(&self.pool, BATCH, LEASE).await?;
        let n = claimed.len();
        // People's methods take their destinations' slots first; each method's messages
        // stay in the order they were written.
        claimed.sort_by_key(|c| (!c.to_person, c.id));
        let mut by_method: Vec<(Uuid, Vec<Claimed>)> = Vec::new();
        for notification in claimed {
            match by_method
                .iter_mut()
                .find(|(id, _)| *id == notification.contact_method_id)
            {
                Some((_, queue)) => queue.push(notification),
                None => by_method.push((notification.contact_method_id, vec![notification])),
            }
        }
        let mut limits: HashMap<String, Arc<Semaphore>> = HashMap::new();
        let mut running = JoinSet::new();
        for (_, queue) in by_method {
            let destination = queue[0].destination.clone();
            let limit = limits
                .entry(destination)
                .or_insert_with(|| Arc::new(Semaphore::new(self.config.per_destination.max(1))))
                .clone();
            let this = self.clone();
            running.spawn(async move {
                let _slot = limit.acquire_owned().await;
                for notification in queue {
                    if let Err(err) = this.send(&notification).await {
                        // Its lease runs out and it is claimed again.
                        tracing::warn!(error = %err, notification = notification.id, "recording a notification failed");
                    }
                }
            });
        }
        while running.join_next().await.is_some() {}
        Ok(n)
    }

    async fn send(&self, n: &Claimed) -> sqlx::Result<()> {
        let Some(contact) = contacts::find(&self.pool, n.contact_method_id).await? else {
            return outbox::record(
                &self.pool,
                n.id,
                &Outcome::Failed,
                None,
                Some("the contact method was removed"),
            )
            .await;
        };
        let message: Message = match serde_json::from_value(n.message.clone()) {
            Ok(m) => m,
            Err(e) => {
                return outbox::record(
                    &self.pool,
                    n.id,
                    &Outcome::Failed,
                    None,
                    Some(&format!("unreadable message: {e}")),
                )
                .await
            }
        };
        if contact.kind == contacts::ContactKind::Email {
            return self.send_mail(n, &contact, &message).await;
        }
        let request = match providers::request(
            &self.client,
            &self.config.providers,
            &contact,
            &message,
            n.id,
        ) {
            Ok(r) => r,
            Err(why) => {
                contacts::record_failure(&self.pool, contact.id, &why).await?;
                return outbox::record(&self.pool, n.id, &Outcome::Failed, None, Some(&why)).await;
            }
        };
        let retry = || match crate::webhooks::retry_delay(n.attempts, None) {
            Some(wait) => Outcome::Retry(OffsetDateTime::now_utc() + wait),
            None => Outcome::Failed,
        };
        // A literal address is not resolved, so the guard checks it here.
        let request = match request.build() {
            Ok(r) => r,
            Err(e) => {
                return outbox::record(
                    &self.pool,
                    n.id,
                    &Outcome::Failed,
                    None,
                    Some(&format!("the request cannot be made: {e}")),
                )
                .await
            }
        };
        if let Err(why) = guard::check_literal(request.url(), self.config.allow_private) {
            contacts::record_failure(&self.pool, contact.id, &why).await?;
            return outbox::record(&self.pool, n.id, &Outcome::Failed, None, Some(&why)).await;
        }
        match self.client.execute(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let emergency = contact.kind == contacts::ContactKind::Pushover
                    && message.urgency == crate::alerts::AlertUrgency::Critical
                    && !message.test;
                if (200..300).contains(&status) && emergency {
                    // Pushover repeats an emergency until someone acknowledges it there;
                    // its receipt says when (`paging::receipts` polls it).
                    let answer: serde_json::Value = response.json().await.unwrap_or_default();
                    if let Some(receipt) = answer.get("receipt").and_then(|r| r.as_str()) {
                        outbox::set_receipt(&self.pool, n.id, receipt).await?;
                    }
                    return outbox::record(
                        &self.pool,
                        n.id,
                        &Outcome::Sent,
                        Some(i32::from(status)),
                        None,
                    )
                    .await;
                }
                if (200..300).contains(&status) {
                    return outbox::record(
                        &self.pool,
                        n.id,
                        &Outcome::Sent,
                        Some(i32::from(status)),
                        None,
                    )
                    .await;
                }
                let body: String = response
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(500)
                    .collect();
                let error = format!("HTTP {status}: {body}");
                let outcome = if providers::permanent(contact.kind, status) {
                    Outcome::Failed
                } else {
                    retry()
                };
                if outcome == Outcome::Failed {
                    let why = format!(
                        "{} refused it ({error}); fix or replace this contact method.",
                        contact.kind.label()
                    );
                    contacts::record_failure(&self.pool, contact.id, &why).await?;
                }
                outbox::record(
                    &self.pool,
                    n.id,
                    &outcome,
                    Some(i32::from(status)),
                    Some(&error),
                )
                .await
            }
            Err(err) => {
                let error = crate::webhooks::describe_error(err);
                outbox::record(&self.pool, n.id, &retry(), None, Some(&error)).await
            }
        }
    }
}

impl Sender {
    async fn send_mail(
        &self,
        n: &Claimed,
        contact: &contacts::ContactRow,
        message: &Message,
    ) -> sqlx::Result<()> {
        let fail = |why: String| async move {
            contacts::record_failure(&self.pool, contact.id, &why).await?;
            outbox::record(&self.pool, n.id, &Outcome::Failed, None, Some(&why)).await
        };
        let (Some(transport), Some(config)) = (&self.smtp, &self.config.smtp) else {
            return fail(
                "Email is not configured on this Fireline (FIRELINE_SMTP_URL, FIRELINE_MAIL_FROM)."
                    .into(),
            )
            .await;
        };
        let to = contact.settings.address.clone().unwrap_or_default();
        let mail = match super::email::mail(&config.from, &to, message) {
            Ok(mail) => mail,
            Err(why) => return fail(why).await,
        };
        match super::email::send(transport, mail).await {
            Ok(()) => outbox::record(&self.pool, n.id, &Outcome::Sent, None, None).await,
            Err((true, why)) => {
                fail(format!(
                    "The mail server refused it ({why}); fix or replace this address."
                ))
                .await
            }
            Err((false, why)) => {
                let outcome = match crate::webhooks::retry_delay(n.attempts, None) {
                    Some(wait) => Outcome::Retry(OffsetDateTime::now_utc() + wait),
                    None => Outcome::Failed,
                };
                outbox::record(&self.pool, n.id, &outcome, None, Some(&why)).await
            }
        }
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.ok()?;
    listener.listen(outbox::CHANNEL).await.ok()?;
    Some(listener)
}
