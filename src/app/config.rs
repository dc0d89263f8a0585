//! Command line and environment configuration (clap builds it from flags and `FIRELINE_*`).

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;

use crate::accounts::Role;
pub use crate::platform::args::{DatabaseArgs, LogArgs, LogFormat};

/// Fireline: incident response and a public status page, on one Postgres database.
#[derive(Debug, Parser)]
#[command(name = "fireline", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub log: LogArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and the background job runner.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage status-page components.
    #[command(subcommand)]
    Component(ComponentCommand),
    /// Who is on duty for each team; take duty knowingly, or hand it back.
    #[command(subcommand)]
    Duty(DutyCommand),
    /// Pages of critical alerts: list the running ones, acknowledge one.
    #[command(subcommand)]
    Page(PageCommand),
    /// Watch a Fireline from another machine (needs no database): ask its /readyz and
    /// /healthz/scheduler every interval, and when it has been unwell for a while tell
    /// everyone on this watchdog's own list directly, until it recovers.
    Watchdog {
        /// The watchdog's TOML config: what to watch, whom to tell, how.
        #[arg(long, env = "FIRELINE_WATCHDOG_CONFIG")]
        config: std::path::PathBuf,
    },
    /// Fill an empty database with a realistic sample (components, 90 days of history,
    /// incidents, a maintenance) to try Fireline out.
    Demo {
        /// Replace existing components, incidents and maintenance with the sample.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FIRELINE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Public URL of this Fireline (used in links, feeds and webhooks). Default: http://<bind>.
    #[arg(long, env = "FIRELINE_BASE_URL")]
    pub base_url: Option<String>,

    /// Name of the status page.
    #[arg(long, env = "FIRELINE_PAGE_NAME", default_value = "Fireline")]
    pub page_name: String,

    /// Sign a session out after this many minutes without activity.
    #[arg(long, env = "FIRELINE_SESSION_IDLE_MINUTES", default_value_t = 12 * 60)]
    pub session_idle_minutes: u32,

    /// Take the client address from X-Forwarded-For (only behind a proxy you trust).
    #[arg(long, env = "FIRELINE_TRUST_PROXY")]
    pub trust_proxy: bool,

    /// Say "no public update for N minutes" on open sev1/sev2 incidents after this long.
    #[arg(long, env = "FIRELINE_NUDGE_MINUTES_SEV12", default_value_t = 30)]
    pub nudge_minutes_sev12: u32,

    /// The same for sev3/sev4 incidents.
    #[arg(long, env = "FIRELINE_NUDGE_MINUTES_SEV34", default_value_t = 60)]
    pub nudge_minutes_sev34: u32,

    /// Do not run background work in this process: the job runner, the domain-event
    /// consumers, webhook delivery and applying queued alerts (another process does).
    #[arg(long, env = "FIRELINE_NO_JOBS")]
    pub no_jobs: bool,

    /// Ping this URL every minute from the job runner (a Healthchecks check, another
    /// Fireline's heartbeat, any dead man's switch): proof that the scheduler and the
    /// database work, not only that HTTP answers. Kept out of the logs.
    #[arg(long, env = "FIRELINE_HEARTBEAT_URL", hide_env_values = true)]
    pub heartbeat_url: Option<String>,

    /// How often the outbound heartbeat pings, in seconds.
    #[arg(long, env = "FIRELINE_HEARTBEAT_EVERY", default_value_t = 60)]
    pub heartbeat_every: u64,

    /// Allow webhooks to loopback, private and link-local addresses (for tests and
    /// private networks; otherwise refused, against server-side request forgery).
    #[arg(long, env = "FIRELINE_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// Webhook attempts in flight at once, in all.
    #[arg(long, env = "FIRELINE_WEBHOOK_CONCURRENCY", default_value_t = 256)]
    pub webhook_concurrency: usize,

    /// Webhook attempts in flight at once to one destination (scheme, host and port).
    #[arg(long, env = "FIRELINE_WEBHOOK_PER_DESTINATION", default_value_t = 32)]
    pub webhook_per_destination: usize,

    /// Notifications in flight at once to one destination (a push service, a chat
    /// server); pages to people go before channel messages.
    #[arg(long, env = "FIRELINE_NOTIFY_PER_DESTINATION", default_value_t = 8)]
    pub notify_per_destination: usize,

    /// Where email notifications go: `smtp://user:pass@host:port?tls=starttls|tls|none`.
    #[arg(long, env = "FIRELINE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of Fireline's mail, e.g. `Fireline <pager@example.com>`.
    #[arg(long, env = "FIRELINE_MAIL_FROM")]
    pub mail_from: Option<String>,

    /// SMTP connections the status page's subscriber mail is sent over at once (each
    /// reused for mail after mail).
    #[arg(long, env = "FIRELINE_SMTP_CONNECTIONS", default_value_t = 8)]
    pub smtp_connections: usize,

    /// Pushover's API (for tests and proxies).
    #[arg(
        long,
        env = "FIRELINE_PUSHOVER_URL",
        default_value = "https://api.pushover.net"
    )]
    pub pushover_url: String,

    /// Fireline's Pushover application token (people give their user keys).
    #[arg(long, env = "FIRELINE_PUSHOVER_TOKEN", hide_env_values = true)]
    pub pushover_token: Option<String>,

    /// Twilio's API (for tests and proxies).
    #[arg(
        long,
        env = "FIRELINE_TWILIO_URL",
        default_value = "https://api.twilio.com"
    )]
    pub twilio_url: String,

    /// The Twilio account that sends SMS.
    #[arg(long, env = "FIRELINE_TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,

    /// Its auth token.
    #[arg(long, env = "FIRELINE_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<String>,

    /// The number (or messaging service) SMS come from.
    #[arg(long, env = "FIRELINE_TWILIO_FROM")]
    pub twilio_from: Option<String>,

    /// Alert deliveries waiting to be stored, at most; past it the alert doors answer
    /// "come back later" (503 or 429 with Retry-After).
    #[arg(long, env = "FIRELINE_INTAKE_QUEUE", default_value_t = 2048)]
    pub intake_queue: usize,

    /// Stored alert deliveries not yet applied, at most; past it the doors answer "come
    /// back later" until the processors catch up.
    #[arg(long, env = "FIRELINE_INTAKE_BACKLOG_LIMIT", default_value_t = 100_000)]
    pub intake_backlog_limit: i64,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input when it is not a
    /// terminal, and prompted for otherwise.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Generate a strong password and print it instead of reading one.
        #[arg(long)]
        generate_password: bool,
    },
    /// List users.
    List,
    /// Set a user's password (read like `user create` does).
    SetPassword {
        #[arg(long)]
        email: String,
        /// Generate a strong password and print it instead of reading one.
        #[arg(long)]
        generate_password: bool,
    },
    /// Disable a user: they cannot sign in, and their sessions and tokens stop working.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (only the token) on standard output.
    Create {
        #[arg(long)]
        email: String,
        /// What the token is for, e.g. "deploy pipeline".
        #[arg(long)]
        name: String,
    },
    /// List API tokens (never the tokens themselves).
    List {
        /// Only the tokens of this user.
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke an API token by its id.
    Revoke {
        #[arg(long)]
        id: uuid::Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum PageCommand {
    /// List the pages still counting down or paging.
    List,
    /// Acknowledge a page (`PAGE-12` or `12`): every later step stops, and your team goes
    /// into acked mode.
    Ack {
        /// The page, e.g. PAGE-12.
        page: String,
        /// Your email address.
        #[arg(long, env = "FIRELINE_USER")]
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DutyCommand {
    /// Show who is on duty now, why, and who is next, for every team or one.
    Show {
        /// The team's name.
        #[arg(long)]
        team: Option<String>,
    },
    /// Take a team's duty knowingly ("I'm taking over"), until you hand it back or
    /// someone else takes it.
    Take {
        /// The team's name.
        #[arg(long)]
        team: String,
        /// Your email address (you must be a member of the team).
        #[arg(long, env = "FIRELINE_USER")]
        user: String,
    },
    /// Hand back duty you took: the rotation (or an override) decides again.
    Release {
        /// The team's name.
        #[arg(long)]
        team: String,
        /// Your email address.
        #[arg(long, env = "FIRELINE_USER")]
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Add a component (operational, at the end of its group) and print its id.
    Add {
        /// The component's name, e.g. "API".
        name: String,
        /// The name of the group to put it in (it must exist).
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
}

/// Settings of the running server, resolved from [`ServeArgs`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// Public URL without a trailing slash.
    pub base_url: String,
    pub page_name: String,
    pub session_idle: time::Duration,
    pub trust_proxy: bool,
    pub nudges: crate::incidents::Nudges,
    pub webhooks: crate::webhooks::DeliveryConfig,
    pub intake: crate::alerts::queue::writer::IntakeLimits,
    /// How notifications to people are sent (private destinations as for webhooks).
    pub notify: crate::notify::NotifyConfig,
    /// SMTP connections for subscriber mail.
    pub smtp_connections: usize,
}

impl Settings {
    pub fn from_args(args: &ServeArgs, bound: SocketAddr) -> anyhow::Result<Self> {
        let base_url = match &args.base_url {
            Some(url) => normalize_base_url(url)?,
            None => format!("http://{bound}"),
        };
        Ok(Self {
            base_url,
            page_name: args.page_name.clone(),
            session_idle: time::Duration::minutes(i64::from(args.session_idle_minutes.max(1))),
            trust_proxy: args.trust_proxy,
            nudges: crate::incidents::Nudges {
                high_minutes: i64::from(args.nudge_minutes_sev12.max(1)),
                low_minutes: i64::from(args.nudge_minutes_sev34.max(1)),
            },
            webhooks: crate::webhooks::DeliveryConfig {
                allow_private: args.webhook_allow_private,
                concurrency: args.webhook_concurrency.max(1),
                per_destination: args
                    .webhook_per_destination
                    .clamp(1, args.webhook_concurrency.max(1)),
                ..Default::default()
            },
            intake: crate::alerts::queue::writer::IntakeLimits {
                queue: args.intake_queue.max(1),
                backlog: args.intake_backlog_limit.max(1),
                ..Default::default()
            },
            notify: crate::notify::NotifyConfig {
                smtp: crate::notify::email::SmtpConfig::parse(
                    args.smtp_url.as_deref(),
                    args.mail_from.as_deref(),
                )?,
                allow_private: args.webhook_allow_private,
                providers: crate::notify::providers::ProviderConfig {
                    pushover_url: args.pushover_url.clone(),
                    pushover_token: args.pushover_token.clone(),
                    twilio_url: args.twilio_url.clone(),
                    twilio_account_sid: args.twilio_account_sid.clone(),
                    twilio_auth_token: args.twilio_auth_token.clone(),
                    twilio_from: args.twilio_from.clone(),
                },
                per_destination: args.notify_per_destination.clamp(1, 256),
                ..Default::default()
            },
            smtp_connections: args.smtp_connections.clamp(1, 64),
        })
    }

    /// Settings for tests and tools that build an app without a command line.
    pub fn for_base_url(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            page_name: "Fireline".to_owned(),
            session_idle: time::Duration::hours(12),
            trust_proxy: false,
            nudges: crate::incidents::Nudges::default(),
            webhooks: crate::webhooks::DeliveryConfig::default(),
            intake: Default::default(),
            notify: Default::default(),
            smtp_connections: 4,
        }
    }

    /// Cookies get `Secure` when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

fn normalize_base_url(raw: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(raw)
        .map_err(|e| anyhow::anyhow!("FIRELINE_BASE_URL {raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        anyhow::bail!("FIRELINE_BASE_URL must be an http(s) URL with a host, got {raw:?}");
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_loses_its_trailing_slash() {
        assert_eq!(
            normalize_base_url("https://status.example.com/").unwrap(),
            "https://status.example.com"
        );
    }

    #[test]
    fn base_url_must_be_http() {
        assert!(normalize_base_url("ftp://example.com").is_err());
        assert!(normalize_base_url("not a url").is_err());
    }

    #[test]
    fn database_url_password_is_not_in_debug_output() {
        let args = DatabaseArgs {
            database_url: Some("postgres://fl:hunter2@db/fireline".into()),
            data_dir: "x".into(),
            private_db: false,
            pool_size: 5,
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
