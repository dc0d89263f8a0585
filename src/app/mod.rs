//! The application state, the router with its layers, and serving it.

pub mod config;
pub mod jobs;
mod prune;

use sqlx::PgPool;
use std::ops::Deref;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::alerts::keys::KeyCache;
use crate::alerts::queue::writer::IntakeWriter;
use crate::app::config::Settings;
use crate::platform::events::{self, Consumer, ConsumerRunner};
use crate::platform::live::EventHub;
use crate::platform::metrics::Metrics;
use crate::status_page::StatusPage;
use crate::webhooks::fan_out::WebhookFanOut;

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<App>);

pub struct App {
    pub pool: PgPool,
    pub settings: Settings,
    pub metrics: Metrics,
    pub hub: EventHub,
    /// The public page, rendered and kept in memory.
    pub status_page: Arc<StatusPage>,
    /// Cancelled when the process shuts down: long-lived responses (live streams) end.
    pub shutdown: CancellationToken,
    /// Stores what the alert doors receive, in batches.
    pub intake: IntakeWriter,
    /// What integration keys opened lately (the alert doors look keys up here).
    pub integration_keys: KeyCache,
    /// The key anonymous CSRF cookies are signed with, read from the database once.
    pub anon_csrf_key: tokio::sync::OnceCell<crate::platform::signed::SigningKey>,
    /// The key email subscribers' links are signed with, read from the database once.
    pub email_links: tokio::sync::OnceCell<crate::email_subscribers::Links>,
}

impl AppState {
    /// The state of one app; the intake writer's tasks start on the current runtime.
    pub fn new(pool: PgPool, settings: Settings) -> Self {
        let shutdown = CancellationToken::new();
        let hub = EventHub::new(pool.clone(), shutdown.clone());
        Self(Arc::new(App {
            intake: IntakeWriter::new(&pool, settings.intake),
            integration_keys: KeyCache::new(hub.clone()),
            hub,
            status_page: Arc::new(StatusPage::new(
                pool.clone(),
                &settings.page_name,
                &settings.base_url,
            )),
            pool,
            settings,
            metrics: Metrics::new(),
            shutdown,
            anon_csrf_key: tokio::sync::OnceCell::new(),
            email_links: tokio::sync::OnceCell::new(),
        }))
    }
}

impl AppState {
    /// The signer of email subscribers' links.
    pub async fn email_links(&self) -> sqlx::Result<&crate::email_subscribers::Links> {
        self.email_links
            .get_or_try_init(|| crate::email_subscribers::Links::load(&self.pool))
            .await
    }
}

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// The durable consumers of the domain-event stream, in the order they are run.
pub fn consumers() -> Vec<Arc<dyn Consumer>> {
    vec![
        Arc::new(WebhookFanOut),
        Arc::new(crate::email_subscribers::fan_out::EmailFanOut),
        Arc::new(crate::paging::consumer::Paging),
    ]
}

/// Apply every pending domain event for every consumer, now, in this task (the CLI
/// after a change, and tests, which have no background runner).
pub async fn apply_events(pool: &PgPool) -> sqlx::Result<u64> {
    let mut applied = 0;
    for consumer in consumers() {
        applied += events::apply_pending(pool, consumer.as_ref()).await?;
    }
    Ok(applied)
}

/// The background task that applies domain events as they are recorded.
pub fn consumer_runner(pool: PgPool) -> ConsumerRunner {
    ConsumerRunner::new(pool, consumers())
}
