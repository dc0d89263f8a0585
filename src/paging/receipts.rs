//! Pushover emergencies repeat on the phone until someone acknowledges them in the app.
//! The poller reads their receipts (every 5 s at most, as Pushover asks) and counts an
//! acknowledgement there as one in Fireline; when the page ended otherwise, it cancels
//! the repeats.

use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};
use tokio_util::sync::CancellationToken;

use super::{acknowledge, store, AckVia};
use crate::notify::outbox::{self, DueReceipt};
use crate::notify::providers::ProviderConfig;

/// How often one receipt is read.
const EVERY: Duration = Duration::seconds(5);
/// Pushover gives up on an emergency after `expire` (3600 s, as we send it).
const EXPIRE: Duration = Duration::hours(1);

pub struct Poller {
    pool: sqlx::PgPool,
    client: reqwest::Client,
    config: ProviderConfig,
}

impl Poller {
    pub fn new(pool: sqlx::PgPool, config: ProviderConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Poller {
            pool,
            client,
            config,
        })
    }

    /// Poll until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            if let Err(err) = self.poll_due().await {
                tracing::warn!(error = %err, "polling Pushover receipts failed; retrying");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(StdDuration::from_secs(1)) => {}
            }
        }
    }

    /// Read every receipt that is due once; how many were read.
    pub async fn poll_due(&self) -> anyhow::Result<usize> {
        let due = outbox::due_receipts(&self.pool, 50, EVERY).await?;
        for receipt in &due {
            self.poll(receipt).await?;
        }
        Ok(due.len())
    }

    async fn poll(&self, r: &DueReceipt) -> anyhow::Result<()> {
        let Some(token) = &self.config.pushover_token else {
            return Ok(outbox::close_receipt(&self.pool, r.id).await?);
        };
        let base = self.config.pushover_url.trim_end_matches('/');
        let running = match r.page_id {
            Some(id) => store::find(&self.pool, id)
                .await?
                .is_some_and(|p| p.state.running()),
            None => false,
        };
        if !running {
            // Acknowledged elsewhere, or over: stop the phone ringing.
            let cancel = format!("{base}/1/receipts/{}/cancel.json", r.receipt);
            let _ = self
                .client
                .post(cancel)
                .form(&[("token", token.as_str())])
                .send()
                .await;
            return Ok(outbox::close_receipt(&self.pool, r.id).await?);
        }
        let url = format!("{base}/1/receipts/{}.json", r.receipt);
        let answer: serde_json::Value = match self
            .client
            .get(url)
            .query(&[("token", token.as_str())])
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => {
                response.json().await.unwrap_or_default()
            }
            // Tried again at its next turn.
            _ => return Ok(()),
        };
        let flag = |name: &str| answer.get(name).and_then(|v| v.as_i64()) == Some(1);
        if flag("acknowledged") {
            if let (Some(page), Some(user)) = (r.page_id, r.user_id) {
                let mut tx = self.pool.begin().await?;
                let outcome = acknowledge::acknowledge(
                    &mut tx,
                    page,
                    user,
                    AckVia::Pushover,
                    OffsetDateTime::now_utc(),
                )
                .await
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
                tx.commit().await?;
                tracing::info!(?outcome, "a page was acknowledged in Pushover");
            }
            return Ok(outbox::close_receipt(&self.pool, r.id).await?);
        }
        if flag("expired") || OffsetDateTime::now_utc() - r.created_at > EXPIRE {
            outbox::close_receipt(&self.pool, r.id).await?;
        }
        Ok(())
    }
}
