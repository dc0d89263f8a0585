//! Fireline's own heartbeat: the job runner pings a configured URL every minute (a
//! Healthchecks check, another Fireline's heartbeat), so that whatever watches it hears
//! when the scheduler or the database stops, not only when HTTP stops answering. The
//! URL is a secret of sorts (whoever has it can ping): it is never logged.

use std::time::Duration;

use crate::platform::jobs::{HandlerFuture, JobContext, JobError, Registry};

/// The job that pings.
pub const KIND: &str = "fireline.heartbeat";

/// Have the runner ping `url` every `every`.
pub fn register(registry: &mut Registry, url: &str, every: Duration) -> anyhow::Result<()> {
    let url = url::Url::parse(url.trim())
        .map_err(|e| anyhow::anyhow!("the heartbeat URL is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        anyhow::bail!("the heartbeat URL must start with http:// or https://");
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .user_agent(concat!("Fireline/", env!("CARGO_PKG_VERSION")))
        .build()?;
    registry.register(KIND, move |ctx: JobContext, _| -> HandlerFuture {
        let (client, url) = (client.clone(), url.clone());
        Box::pin(async move { ping(&ctx, &client, url).await })
    });
    registry.every(KIND, every);
    Ok(())
}

async fn ping(ctx: &JobContext, client: &reqwest::Client, url: url::Url) -> Result<(), JobError> {
    // The job was claimed from the database, so both work; say how far behind it is.
    let overdue = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM jobs
           WHERE state = 'pending' AND run_at < now() - interval '1 minute'"#
    )
    .fetch_one(&ctx.pool)
    .await?;
    let body = format!(
        "Fireline {}: the job runner and the database work; {overdue} jobs are over a minute late.",
        env!("CARGO_PKG_VERSION")
    );
    let answer = client.post(url).body(body).send().await.map_err(|e| {
        // Without the URL: reqwest's message names it.
        let why = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "failed"
        };
        JobError::Permanent(format!("the outbound heartbeat {why}"))
    })?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(JobError::Permanent(format!(
            "the outbound heartbeat was answered {}",
            answer.status()
        )))
    }
}
