//! The application state, the router with its layers, and serving it.

pub mod jobs;
mod prune;

use axum::Router;
use sqlx::PgPool;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::platform::config::Settings;
use crate::platform::live::EventHub;
use crate::platform::metrics::Metrics;
use crate::status_page::StatusPage;

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
    /// The key anonymous CSRF cookies are signed with, read from the database once.
    pub anon_csrf_key: tokio::sync::OnceCell<crate::platform::signed::SigningKey>,
}

impl AppState {
    pub fn new(pool: PgPool, settings: Settings) -> Self {
        let shutdown = CancellationToken::new();
        Self(Arc::new(App {
            hub: EventHub::new(pool.clone(), shutdown.clone()),
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
        }))
    }
}

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// The whole HTTP application.
pub fn build_router(state: AppState) -> Router {
    crate::http::router(state)
}

/// Serve `router` on `listener` until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
