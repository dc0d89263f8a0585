//! `fireline watchdog`: the same binary, run on another machine with a small config of
//! its own, watching Fireline from outside. Every interval it asks each target: a
//! Fireline's `/readyz` and `/healthz/scheduler` (the job runner works, not only HTTP), or
//! another watchdog's `/healthz`. When a target has failed for `down_after_seconds`, it
//! tells everyone on its own list directly, through the channel code Fireline uses
//! (email, ntfy, Pushover, SMS, chat, webhook) but not through Fireline, repeats every
//! `repeat_minutes` until the target answers again, and then says so. It answers
//! `/healthz` itself when `listen` is set, so two watchdogs can watch each other.
//! It needs no database.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Deserialize;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::alerts::AlertUrgency;
use crate::notify::contacts::{self, ContactKind, ContactRow, ContactSettings};
use crate::notify::email::SmtpConfig;
use crate::notify::outbox::Message;
use crate::notify::providers::{self, ProviderConfig};

/// The watchdog's own configuration (TOML).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How often each target is asked, in seconds (default 30).
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    /// How long a target fails before anyone is told, in seconds (default 120).
    #[serde(default = "default_down_after")]
    pub down_after_seconds: u64,
    /// How often the news is repeated while it stays down, in minutes (default 15).
    #[serde(default = "default_repeat")]
    pub repeat_minutes: u64,
    /// How long one question may take, in seconds (default 10).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Where this watchdog answers `/healthz` (for another watchdog), if anywhere.
    pub listen: Option<SocketAddr>,
    pub watch: Vec<Target>,
    pub notify: Vec<ContactConfig>,
    pub smtp: Option<SmtpSection>,
    #[serde(default)]
    pub providers: ProvidersSection,
}

fn default_interval() -> u64 {
    30
}
fn default_down_after() -> u64 {
    120
}
fn default_repeat() -> u64 {
    15
}
fn default_timeout() -> u64 {
    10
}

/// What to watch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub name: String,
    /// Its base URL.
    pub url: String,
    #[serde(default)]
    pub kind: TargetKind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A Fireline: `/readyz` and `/healthz/scheduler`.
    #[default]
    Fireline,
    /// Another watchdog: `/healthz`.
    Watchdog,
}

/// Someone (or a channel) to tell: the kind and its settings, as a contact method has
/// them in Fireline (`address`, `server` and `topic`, `user_key`, `phone`, `url`, ...).
#[derive(Debug, Clone, Deserialize)]
pub struct ContactConfig {
    pub kind: ContactKind,
    #[serde(flatten)]
    pub settings: ContactSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    /// `smtp://user:password@host:587?tls=starttls`
    pub url: String,
    pub from: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersSection {
    pub pushover_url: Option<String>,
    pub pushover_token: Option<String>,
    pub twilio_url: Option<String>,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<String>,
    pub twilio_from: Option<String>,
}

impl Config {
    /// Read and check the file at `path`.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let config: Config = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid watchdog config", path.display()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.interval_seconds == 0 || self.timeout_seconds == 0 {
            anyhow::bail!("interval_seconds and timeout_seconds are at least 1");
        }
        if self.watch.is_empty() {
            anyhow::bail!("nothing to watch: add a [[watch]] with a name and a url");
        }
        if self.notify.is_empty() {
            anyhow::bail!("nobody to tell: add a [[notify]] with a kind and its settings");
        }
        for t in &self.watch {
            let url = url::Url::parse(&t.url)
                .with_context(|| format!("[[watch]] {}: {:?} is not a URL", t.name, t.url))?;
            if !matches!(url.scheme(), "http" | "https") {
                anyhow::bail!(
                    "[[watch]] {}: the URL must start with http:// or https://",
                    t.name
                );
            }
        }
        for (i, c) in self.notify.iter().enumerate() {
            contacts::check(c.kind, c.settings.clone())
                .map_err(|e| anyhow::anyhow!("[[notify]] number {} ({}): {e}", i + 1, c.kind))?;
            if c.kind == ContactKind::Email && self.smtp.is_none() {
                anyhow::bail!("[[notify]] number {}: email needs an [smtp] section", i + 1);
            }
        }
        Ok(())
    }

    fn providers(&self) -> ProviderConfig {
        let p = &self.providers;
        let base = ProviderConfig::default();
        ProviderConfig {
            pushover_url: p.pushover_url.clone().unwrap_or(base.pushover_url),
            pushover_token: p.pushover_token.clone(),
            twilio_url: p.twilio_url.clone().unwrap_or(base.twilio_url),
            twilio_account_sid: p.twilio_account_sid.clone(),
            twilio_auth_token: p.twilio_auth_token.clone(),
            twilio_from: p.twilio_from.clone(),
        }
    }
}

/// Where a target stands, as the watchdog's own `/healthz` reports it.
#[derive(Debug, Clone)]
struct Watch {
    target: Target,
    /// When its failures began, and the latest reason.
    failing: Option<(Instant, OffsetDateTime, String)>,
    /// Everyone was told it is down; when last.
    told: Option<Instant>,
}

/// A message waiting to reach one contact (kept until it does, or for a day).
struct Pending {
    contact: usize,
    message: Message,
    id: i64,
    since: Instant,
}

/// The watchdog: its targets, its contacts and how it reaches them.
pub struct Watchdog {
    config: Config,
    client: reqwest::Client,
    providers: ProviderConfig,
    smtp: Option<(
        SmtpConfig,
        lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    )>,
    contacts: Vec<ContactRow>,
    watches: Arc<Mutex<Vec<Watch>>>,
    pending: Vec<Pending>,
    next_id: i64,
}

impl Watchdog {
    pub fn new(config: Config) -> anyhow::Result<Watchdog> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Fireline-Watchdog/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let smtp = match &config.smtp {
            Some(s) => {
                let parsed = SmtpConfig::parse(Some(&s.url), Some(&s.from))?
                    .context("the [smtp] section needs url and from")?;
                let transport = parsed.transport()?;
                Some((parsed, transport))
            }
            None => None,
        };
        let contacts = config
            .notify
            .iter()
            .map(|c| ContactRow {
                id: Uuid::new_v4(),
                user_id: None,
                team_id: None,
                kind: c.kind,
                settings: contacts::check(c.kind, c.settings.clone()).unwrap_or_default(),
                urgencies: AlertUrgency::ALL.to_vec(),
                label: None,
                failure: None,
                failed_at: None,
                created_at: OffsetDateTime::now_utc(),
            })
            .collect();
        let watches = config
            .watch
            .iter()
            .map(|t| Watch {
                target: t.clone(),
                failing: None,
                told: None,
            })
            .collect();
        Ok(Watchdog {
            providers: config.providers(),
            config,
            client,
            smtp,
            contacts,
            watches: Arc::new(Mutex::new(watches)),
            pending: Vec::new(),
            next_id: OffsetDateTime::now_utc().unix_timestamp() * 1000,
        })
    }

    /// Watch until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        if let Some(addr) = self.config.listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            tracing::info!(address = %listener.local_addr()?, "the watchdog answers /healthz");
            let app = health_router(self.watches.clone());
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
            });
        }
        let targets = self.config.watch.len();
        tracing::info!(
            targets,
            contacts = self.contacts.len(),
            "the watchdog is watching"
        );
        let every = Duration::from_secs(self.config.interval_seconds);
        loop {
            let started = Instant::now();
            self.tick().await;
            let wait = every.saturating_sub(started.elapsed());
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("the watchdog stopped");
        Ok(())
    }

    /// Ask every target once, tell who must be told, and send what waits.
    async fn tick(&mut self) {
        let targets: Vec<Target> = self.config.watch.clone();
        let mut answers = Vec::new();
        for t in &targets {
            answers.push(self.ask(t).await);
        }
        let down_after = Duration::from_secs(self.config.down_after_seconds);
        let repeat = Duration::from_secs(self.config.repeat_minutes.max(1) * 60);
        let mut news = Vec::new();
        {
            let mut watches = self.watches.lock().unwrap_or_else(|e| e.into_inner());
            for (w, answer) in watches.iter_mut().zip(answers) {
                match answer {
                    Ok(()) => {
                        if let (Some(_), Some((_, since, _))) = (w.told, &w.failing) {
                            tracing::info!(target = %w.target.name, "it answers again");
                            news.push(back(&w.target, *since));
                        }
                        w.failing = None;
                        w.told = None;
                    }
                    Err(reason) => {
                        let (began, since) = match &w.failing {
                            Some((began, since, _)) => (*began, *since),
                            None => (Instant::now(), OffsetDateTime::now_utc()),
                        };
                        w.failing = Some((began, since, reason.clone()));
                        let due = match w.told {
                            None => began.elapsed() >= down_after,
                            Some(at) => at.elapsed() >= repeat,
                        };
                        if due {
                            tracing::warn!(target = %w.target.name, reason = %reason, "it is down; telling everyone");
                            news.push(down(&w.target, since, &reason, w.told.is_some()));
                            w.told = Some(Instant::now());
                        }
                    }
                }
            }
        }
        for message in news {
            for contact in 0..self.contacts.len() {
                self.next_id += 1;
                self.pending.push(Pending {
                    contact,
                    message: message.clone(),
                    id: self.next_id,
                    since: Instant::now(),
                });
            }
        }
        let waiting = std::mem::take(&mut self.pending);
        for p in waiting {
            match self.send(&p).await {
                Ok(()) => {}
                Err(why) if p.since.elapsed() < Duration::from_secs(86_400) => {
                    tracing::warn!(kind = %self.contacts[p.contact].kind, error = %why, "a notification failed; trying again next round");
                    self.pending.push(p);
                }
                Err(why) => {
                    tracing::error!(kind = %self.contacts[p.contact].kind, error = %why, "a notification failed for a day; giving up");
                }
            }
        }
    }

    /// Whether `t` is well: `Err` says why not.
    async fn ask(&self, t: &Target) -> Result<(), String> {
        let base = t.url.trim_end_matches('/');
        let paths: &[&str] = match t.kind {
            TargetKind::Fireline => &["/readyz", "/healthz/scheduler"],
            TargetKind::Watchdog => &["/healthz"],
        };
        for path in paths {
            let answer = self
                .client
                .get(format!("{base}{path}"))
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        format!(
                            "{path} did not answer within {} s",
                            self.config.timeout_seconds
                        )
                    } else if e.is_connect() {
                        "it cannot be reached (connection failed)".to_owned()
                    } else {
                        format!("{path} failed: {e}")
                    }
                })?;
            let status = answer.status();
            if !status.is_success() {
                let body: serde_json::Value = answer.json().await.unwrap_or_default();
                let detail = body["database"]
                    .as_str()
                    .map(|d| format!(" (database {d})"))
                    .or_else(|| {
                        body["seconds_ago"]
                            .as_i64()
                            .map(|s| format!(" (its last sweep ran {s} s ago)"))
                    })
                    .unwrap_or_default();
                return Err(if *path == "/healthz/scheduler" {
                    format!("its scheduler is stalled{detail}")
                } else {
                    format!("{path} answered {status}{detail}")
                });
            }
        }
        Ok(())
    }

    async fn send(&self, p: &Pending) -> Result<(), String> {
        let contact = &self.contacts[p.contact];
        if contact.kind == ContactKind::Email {
            let Some((config, transport)) = &self.smtp else {
                return Err("email needs an [smtp] section".into());
            };
            let to = contact.settings.address.clone().unwrap_or_default();
            let mail = crate::notify::email::mail(&config.from, &to, &p.message)?;
            return crate::notify::email::send(transport, mail)
                .await
                .map_err(|(_, why)| why);
        }
        let request = providers::request(&self.client, &self.providers, contact, &p.message, p.id)?;
        let answer = request.send().await.map_err(|e| format!("{e}"))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", answer.status()))
        }
    }
}

fn host() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "the watchdog".to_owned())
}

fn down(t: &Target, since: OffsetDateTime, reason: &str, again: bool) -> Message {
    let still = if again { "still " } else { "" };
    Message {
        title: format!("{} is {still}DOWN", t.name),
        body: format!(
            "{} ({}) has not been well since {}: {reason}. Fireline cannot page anyone while it is down; this comes from the watchdog on {}, which repeats it until {} answers again.",
            t.name,
            t.url,
            crate::platform::time::format_utc(since),
            host(),
            t.name
        ),
        ack_url: None,
        urgency: AlertUrgency::Critical,
        test: false,
    }
}

fn back(t: &Target, since: OffsetDateTime) -> Message {
    let lasted = OffsetDateTime::now_utc() - since;
    Message {
        title: format!("{} is back", t.name),
        body: format!(
            "{} ({}) answers again, after {} min {} s down. (The watchdog on {}.)",
            t.name,
            t.url,
            lasted.whole_minutes(),
            lasted.whole_seconds() % 60,
            host()
        ),
        ack_url: None,
        urgency: AlertUrgency::High,
        test: false,
    }
}

/// The watchdog's own `/healthz`: it runs, and what it sees.
fn health_router(watches: Arc<Mutex<Vec<Watch>>>) -> axum::Router {
    axum::Router::new().route(
        "/healthz",
        axum::routing::get(move || {
            let watches = watches.clone();
            async move {
                let seen: Vec<serde_json::Value> = watches
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .map(|w| {
                        serde_json::json!({
                            "name": w.target.name,
                            "state": match (&w.failing, w.told) {
                                (None, _) => "up",
                                (Some(_), None) => "failing",
                                (Some(_), Some(_)) => "down",
                            },
                        })
                    })
                    .collect();
                axum::Json(serde_json::json!({ "status": "ok", "watching": seen }))
            }
        }),
    )
}
