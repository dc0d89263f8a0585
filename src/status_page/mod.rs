//! The public status page, served from memory.
//!
//! Every public document (the page, the Statuspage JSON, the feeds, recent incident
//! pages) is rendered once per change and kept as bytes, with gzip and brotli variants
//! and an ETag. A change committed by any process notifies `fireline_status_page`; every
//! process rebuilds within a second, and every 30 s anyway. In steady state a request
//! touches no database; when the database is unreachable, the last good snapshot keeps
//! being served, marked as stale.

mod model;
pub mod settings;
pub mod uptime;
pub mod uptime_job;

pub use model::{breakdown, rollup, uptime_percent, utc_day, DayBreakdown, Indicator};

pub mod changes;
pub mod clock;
pub mod data;
pub mod feeds;
pub mod history;
pub mod json;
pub mod render;

use askama::Template;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::platform::live::EventHub;
use clock::Clock;
use data::PageData;

/// How often the page is rebuilt without a notification (relative times, uptime bars,
/// and a safety net for missed notifications).
pub const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// A rendered document and its compressed variants.
#[derive(Debug)]
pub struct Cached {
    pub body: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    pub etag: String,
    /// The ETag as a ready header value (no work per request).
    pub etag_header: axum::http::HeaderValue,
    pub content_type: &'static str,
}

impl Cached {
    pub fn new(body: impl Into<Bytes>, content_type: &'static str) -> Cached {
        let body: Bytes = body.into();
        let digest = Sha256::digest(&body);
        let etag = format!(
            "\"{}\"",
            digest
                .iter()
                .take(12)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        let gzip = gz
            .write_all(&body)
            .and_then(|_| gz.finish())
            .unwrap_or_default();
        let mut brotli = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut brotli, 4096, 6, 22);
            let _ = writer.write_all(&body);
        }
        let etag_header = axum::http::HeaderValue::from_str(&etag)
            .unwrap_or(axum::http::HeaderValue::from_static("\"0\""));
        Cached {
            body,
            gzip: gzip.into(),
            brotli: brotli.into(),
            etag,
            etag_header,
            content_type,
        }
    }
}

/// One consistent set of rendered documents.
pub struct Snapshot {
    pub data: Arc<PageData>,
    pub stale: bool,
    pub clock: Clock,
    docs: HashMap<String, Arc<Cached>>,
}

impl Snapshot {
    pub fn get(&self, path: &str) -> Option<Arc<Cached>> {
        self.docs.get(path).cloned()
    }
}

pub struct StatusPage {
    pool: PgPool,
    default_name: String,
    default_url: String,
    current: RwLock<Option<Arc<Snapshot>>>,
    wake: Notify,
}

impl StatusPage {
    pub fn new(pool: PgPool, default_name: &str, default_url: &str) -> Self {
        StatusPage {
            pool,
            default_name: default_name.to_owned(),
            default_url: default_url.to_owned(),
            current: RwLock::new(None),
            wake: Notify::new(),
        }
    }

    /// The current snapshot; `None` until the first successful build.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.current.read().ok().and_then(|s| s.clone())
    }

    /// Ask the background loop to rebuild now.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// Load, render and swap in a new snapshot. When the database cannot be read, the
    /// last good data is re-rendered once with a "not current" note and kept.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let loaded = tokio::time::timeout(Duration::from_secs(10), async {
            let data = data::load(&self.pool, &self.default_name, &self.default_url).await?;
            let logo = if data.settings.has_logo {
                crate::status_page::settings::logo(&self.pool).await?
            } else {
                None
            };
            Ok::<_, sqlx::Error>((data, logo))
        })
        .await;
        match loaded {
            Ok(Ok((data, logo))) => {
                let previous = self.snapshot();
                let snapshot = build(Arc::new(data), logo, false, previous.as_deref());
                self.swap(snapshot);
                tracing::debug!(
                    took_ms = started.elapsed().as_millis() as u64,
                    "status page rebuilt"
                );
                Ok(())
            }
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out after 10 s".to_owned(),
                };
                if let Some(previous) = self.snapshot().filter(|s| !s.stale) {
                    let logo = previous
                        .get("/logo")
                        .map(|c| (c.body.to_vec(), c.content_type.to_owned()));
                    self.swap(build(previous.data.clone(), logo, true, Some(&previous)));
                }
                anyhow::bail!("the status page could not be refreshed: {reason}")
            }
        }
    }

    fn swap(&self, snapshot: Snapshot) {
        if let Ok(mut current) = self.current.write() {
            *current = Some(Arc::new(snapshot));
        }
    }

    /// Rebuild on every change notification (debounced), on [`poke`], and every
    /// [`REFRESH_EVERY`], until `shutdown`.
    pub async fn run(self: Arc<Self>, hub: EventHub, shutdown: CancellationToken) {
        let mut changes = hub.subscribe_status();
        let mut failing = false;
        loop {
            match self.refresh().await {
                Ok(()) if failing => {
                    tracing::info!("status page: the database is back; serving current data again");
                    failing = false;
                }
                Ok(()) => {}
                Err(err) if !failing => {
                    tracing::warn!(error = %format!("{err:#}"), "status page: serving the last good version");
                    failing = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = changes.recv() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(if failing { Duration::from_secs(3) } else { REFRESH_EVERY }) => {}
            }
            // Let a burst of changes (one transaction touches several tables) settle.
            tokio::time::sleep(Duration::from_millis(50)).await;
            while changes.try_recv().is_ok() {}
        }
    }
}

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

fn html(template: &impl Template) -> Option<Bytes> {
    match template.render() {
        Ok(body) => Some(body.into()),
        Err(err) => {
            tracing::error!(error = %err, "rendering a public page failed");
            None
        }
    }
}

/// Render every document. Documents whose bytes did not change keep their compressed
/// variants from `previous`, so a rebuild only compresses what changed.
fn build(
    data: Arc<PageData>,
    logo: Option<(Vec<u8>, String)>,
    stale: bool,
    previous: Option<&Snapshot>,
) -> Snapshot {
    let clock = Clock::new(&data.settings.time_zone);
    let mut docs: HashMap<String, Arc<Cached>> = HashMap::new();
    let mut put = |path: String, body: Option<Bytes>, content_type: &'static str| {
        let Some(body) = body else { return };
        let unchanged = previous
            .and_then(|p| p.docs.get(&path))
            .filter(|old| old.body == body && old.content_type == content_type)
            .cloned();
        let doc = unchanged.unwrap_or_else(|| Arc::new(Cached::new(body, content_type)));
        docs.insert(path, doc);
    };
    put(
        "/".into(),
        html(&render::status_page(&data, &clock, stale)),
        HTML,
    );
    let cutoff = OffsetDateTime::now_utc() - time::Duration::days(100);
    let recent: Vec<_> = data
        .incidents
        .iter()
        .filter(|i| i.declared_at >= cutoff)
        .cloned()
        .collect();
    let recent_m: Vec<_> = data
        .maintenances
        .iter()
        .filter(|m| m.row.scheduled_for >= cutoff)
        .cloned()
        .collect();
    let history = render::history_page(&data, &clock, stale, 1, &recent, &recent_m, true);
    put("/history".into(), html(&history), HTML);
    for i in &data.incidents {
        put(
            format!("/incidents/{}", i.id),
            html(&render::incident_page(&data, &clock, stale, i)),
            HTML,
        );
    }
    for m in &data.maintenances {
        put(
            format!("/incidents/{}", m.row.id),
            html(&render::maintenance_page(&data, &clock, stale, m)),
            HTML,
        );
    }
    for (path, value) in json::documents(&data) {
        put(path.into(), Some(value.to_string().into()), JSON);
    }
    put(
        "/history.atom".into(),
        Some(feeds::atom(&data, &clock).into()),
        "application/atom+xml; charset=utf-8",
    );
    put(
        "/history.rss".into(),
        Some(feeds::rss(&data, &clock).into()),
        "application/rss+xml; charset=utf-8",
    );
    put(
        "/theme.css".into(),
        Some(render::theme_css(&data.settings.accent).into()),
        "text/css; charset=utf-8",
    );
    if let Some((bytes, kind)) = logo {
        let kind: &'static str = match kind.as_str() {
            "image/png" => "image/png",
            "image/jpeg" => "image/jpeg",
            "image/webp" => "image/webp",
            _ => "application/octet-stream",
        };
        put("/logo".into(), Some(bytes.into()), kind);
    }
    Snapshot {
        data,
        stale,
        clock,
        docs,
    }
}
