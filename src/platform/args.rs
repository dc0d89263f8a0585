//! The infrastructure's own command-line and environment options: where the database
//! is and how to log. The application's options (`app::config`) include them.

use clap::{Args, ValueEnum};
use std::fmt;
use std::path::PathBuf;

/// Where the database is. Without `DATABASE_URL`, Fireline looks for a local server and
/// otherwise starts a private PostgreSQL cluster in `--data-dir`.
#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL, e.g. postgres://user:pass@host:5432/fireline. The database is
    /// created if it does not exist.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the private PostgreSQL cluster used when no server is reachable.
    #[arg(
        long,
        env = "FIRELINE_DATA_DIR",
        default_value = "fireline-data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Always use the private cluster in --data-dir, even if a server is reachable.
    #[arg(long, env = "FIRELINE_PRIVATE_DB", global = true)]
    pub private_db: bool,

    /// Largest number of database connections this process opens.
    #[arg(
        long,
        env = "FIRELINE_DB_POOL_SIZE",
        default_value_t = 20,
        global = true
    )]
    pub pool_size: u32,
}

impl fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(crate::platform::db::redact_url),
            )
            .field("data_dir", &self.data_dir)
            .field("private_db", &self.private_db)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log filter, e.g. `info` or `fireline=debug,tower_http=info`.
    #[arg(
        long = "log",
        env = "FIRELINE_LOG",
        default_value = "info",
        global = true
    )]
    pub filter: String,

    /// Log line format.
    #[arg(
        long,
        env = "FIRELINE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}
