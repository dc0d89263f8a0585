//! Finding a database: `DATABASE_URL`, a local server, or a private cluster we start.

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Postgres};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::platform::args::DatabaseArgs;
use crate::platform::db::private_cluster::{find_postgres_binaries, PrivateCluster};
use crate::platform::db::redact_url;

/// Where the database came from, for the log line that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseSource {
    /// `DATABASE_URL` was set.
    Configured,
    /// A server answered at one of the default addresses.
    Local(String),
    /// A private cluster in the data directory.
    Private,
}

/// A connected, migrated database and, if we started one, its private cluster.
pub struct Database {
    pub pool: PgPool,
    pub source: DatabaseSource,
    pub url: String,
    cluster: Option<PrivateCluster>,
}

impl Database {
    /// A pool that connects on first use, for starting while the configured server is
    /// down: the caller keeps retrying [`open`] and serves what it can meanwhile.
    pub fn unreachable(url: &str, pool_size: u32) -> anyhow::Result<Database> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| anyhow::anyhow!("DATABASE_URL {} is not valid: {e}", redact_url(url)))?
            .application_name("fireline");
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(2))
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        Ok(Database {
            pool,
            source: DatabaseSource::Configured,
            url: url.to_owned(),
            cluster: None,
        })
    }

    /// Close the pool, then stop the private cluster unless another Fireline still uses it.
    pub async fn shutdown(self) {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            if let Err(err) = cluster.stop().await {
                tracing::warn!(error = %format!("{err:#}"), "stopping the private PostgreSQL cluster failed");
            }
        }
    }
}

/// The addresses tried, in order, when `DATABASE_URL` is not set.
pub const DEFAULT_CANDIDATES: [&str; 2] = [
    "postgres:///fireline",
    "postgres://postgres@127.0.0.1:5432/fireline",
];

/// Find or start the database, create it if missing, connect and migrate.
pub async fn connect(args: &DatabaseArgs) -> anyhow::Result<Database> {
    let candidates: Vec<String> = DEFAULT_CANDIDATES.iter().map(|s| s.to_string()).collect();
    connect_with(args, &candidates).await
}

/// [`connect`] with the default candidates replaced (tests use unreachable ones to reach
/// the private-cluster path on a machine that has a server).
pub async fn connect_with(args: &DatabaseArgs, candidates: &[String]) -> anyhow::Result<Database> {
    let (url, source, cluster) = match (&args.database_url, args.private_db) {
        (Some(url), false) => (url.clone(), DatabaseSource::Configured, None),
        (_, true) => {
            let cluster = start_private(&args.data_dir).await?;
            (
                cluster.url("fireline"),
                DatabaseSource::Private,
                Some(cluster),
            )
        }
        (None, false) => match first_usable(candidates).await {
            Ok(url) => (url.clone(), DatabaseSource::Local(redact_url(&url)), None),
            Err(refusals) => {
                if let Some(explanation) = explain_fallback(&refusals, &args.data_dir) {
                    tracing::info!("{explanation}");
                }
                let cluster = start_private(&args.data_dir).await?;
                (
                    cluster.url("fireline"),
                    DatabaseSource::Private,
                    Some(cluster),
                )
            }
        },
    };
    match &source {
        DatabaseSource::Configured => {
            tracing::info!(url = %redact_url(&url), "using the database from DATABASE_URL")
        }
        DatabaseSource::Local(shown) => {
            tracing::info!(url = %shown, "no DATABASE_URL; using the local PostgreSQL server")
        }
        DatabaseSource::Private => tracing::info!(
            data_dir = %args.data_dir.display(),
            "using a private PostgreSQL cluster in the data directory"
        ),
    }
    let pool = match open(&url, args.pool_size).await {
        Ok(pool) => pool,
        Err(err) => {
            if let Some(cluster) = cluster {
                let _ = cluster.stop().await;
            }
            return Err(err);
        }
    };
    Ok(Database {
        pool,
        source,
        url,
        cluster,
    })
}

async fn start_private(data_dir: &Path) -> anyhow::Result<PrivateCluster> {
    let Some(bin_dir) = find_postgres_binaries() else {
        anyhow::bail!(
            "no PostgreSQL server answered at {} and no PostgreSQL binaries (initdb, pg_ctl) \
             were found to start a private one. Either\n  \
             1. set DATABASE_URL to a PostgreSQL server, e.g. DATABASE_URL=postgres://user:pass@host/fireline, or\n  \
             2. install PostgreSQL (e.g. `apt-get install postgresql`), so Fireline can start its own, or\n  \
             3. run `docker compose up` in the Fireline directory.",
            DEFAULT_CANDIDATES.join(" or ")
        );
    };
    PrivateCluster::start(data_dir, &bin_dir).await
}

/// A local server that answered but would not let us in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    /// `127.0.0.1:5432`, or the socket directory.
    server: String,
    /// What the server said, e.g. `role "root" does not exist`.
    reason: String,
    /// How to use it after all.
    remedy: String,
}

/// The first candidate we can use (its database exists or we may create it), or what
/// every server that answered refused.
async fn first_usable(candidates: &[String]) -> Result<String, Vec<Refusal>> {
    let mut refusals = Vec::new();
    for url in candidates {
        let Ok(opts) = PgConnectOptions::from_str(url) else {
            continue;
        };
        match probe(&opts).await {
            Probe::Usable => return Ok(url.clone()),
            Probe::Refused(refusal) => {
                tracing::debug!(url = %redact_url(url), reason = %refusal.reason, "a server answered but refused");
                refusals.push(refusal);
            }
            Probe::Absent(why) => {
                tracing::debug!(url = %redact_url(url), error = %why, "no server here")
            }
        }
    }
    Err(refusals)
}

enum Probe {
    Usable,
    Refused(Refusal),
    Absent(String),
}

/// Why a connection attempt failed: the server answered with an error, or none answered.
enum Failure {
    Answered(Box<dyn sqlx::error::DatabaseError>),
    Silent(String),
}

async fn try_connect(opts: PgConnectOptions) -> Result<PgConnection, Failure> {
    match tokio::time::timeout(Duration::from_secs(3), opts.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(sqlx::Error::Database(db))) => Err(Failure::Answered(db)),
        Ok(Err(err)) => Err(Failure::Silent(err.to_string())),
        Err(_) => Err(Failure::Silent("no answer within 3 s".to_owned())),
    }
}

async fn probe(opts: &PgConnectOptions) -> Probe {
    let database = opts.get_database().unwrap_or("postgres").to_owned();
    let refused = |code: Option<&str>, reason: String| {
        Probe::Refused(Refusal {
            server: server_of(opts),
            remedy: remedy(opts, code, &reason, &database),
            reason,
        })
    };
    let missing = match try_connect(opts.clone()).await {
        Ok(conn) => {
            let _ = conn.close().await;
            return Probe::Usable;
        }
        Err(Failure::Answered(db)) if db.code().as_deref() == Some("3D000") => db,
        Err(Failure::Answered(db)) => {
            return refused(db.code().as_deref(), db.message().to_owned());
        }
        Err(Failure::Silent(why)) => return Probe::Absent(why),
    };
    // The database is missing: usable if we may create it.
    let mut conn = match try_connect(opts.clone().database("postgres")).await {
        Ok(conn) => conn,
        Err(Failure::Answered(db)) => {
            return refused(db.code().as_deref(), db.message().to_owned())
        }
        Err(Failure::Silent(why)) => return Probe::Absent(why),
    };
    let may_create: Result<bool, _> = sqlx::query_scalar(
        "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await;
    let _ = conn.close().await;
    match may_create {
        Ok(false) => refused(
            Some("42501"),
            format!(
                "{} and role \"{}\" may not create it",
                missing.message(),
                opts.get_username()
            ),
        ),
        _ => Probe::Usable,
    }
}

fn server_of(opts: &PgConnectOptions) -> String {
    match opts.get_socket() {
        Some(dir) => dir.display().to_string(),
        None if opts.get_host().starts_with('/') => opts.get_host().to_owned(),
        None => format!("{}:{}", opts.get_host(), opts.get_port()),
    }
}

/// What to do to use the server that refused, by the error it answered with.
fn remedy(opts: &PgConnectOptions, code: Option<&str>, reason: &str, database: &str) -> String {
    let user = opts.get_username();
    let server = server_of(opts);
    let url = if server.starts_with('/') {
        format!("postgres://USER@/{database}?host={server}")
    } else {
        format!("postgres://USER:PASSWORD@{server}/{database}")
    };
    let set_url = format!("set DATABASE_URL={url} for a role it accepts");
    match code {
        // invalid_authorization_specification: no such role, or no pg_hba.conf entry.
        Some("28000") if reason.contains("does not exist") => {
            format!("{set_url}, or create the role: sudo -u postgres createuser --createdb {user}")
        }
        Some("28000") => format!("{set_url}, or allow this connection in its pg_hba.conf"),
        Some("28P01") => format!("{set_url}, with the role's password"),
        Some("42501") => format!(
            "{set_url}, or create the database: sudo -u postgres createdb -O {user} {database}"
        ),
        _ => set_url,
    }
}

/// The one line that says why a local server that answered is not used, and how to use it.
fn explain_fallback(refusals: &[Refusal], data_dir: &Path) -> Option<String> {
    let (first, others) = refusals.split_first()?;
    let mut line = format!(
        "PostgreSQL at {} answered but refused: {}; using a private cluster in {} instead. \
         To use that server, {}.",
        first.server,
        first.reason,
        data_dir.display(),
        first.remedy
    );
    for other in others {
        line.push_str(&format!(
            " (PostgreSQL at {} refused too: {}.)",
            other.server, other.reason
        ));
    }
    Some(line)
}

/// Create the database if it does not exist, connect a pool and apply migrations.
pub async fn open(url: &str, pool_size: u32) -> anyhow::Result<PgPool> {
    let shown = redact_url(url);
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("DATABASE_URL {shown} is not valid: {e}"))?
        .application_name("fireline")
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500));
    // Connect to the database itself first: managed servers often refuse connections to
    // the `postgres` maintenance database, which is only needed to create ours.
    match options.connect().await {
        Ok(conn) => {
            let _ = conn.close().await;
        }
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("3D000") => {
            match Postgres::create_database(url).await {
                Ok(()) => tracing::info!(url = %shown, "created the database"),
                // Another process starting at the same moment may have created it first.
                Err(e) if Postgres::database_exists(url).await.unwrap_or(false) => {
                    tracing::debug!(error = %e, "the database was created by another process");
                }
                Err(e) => anyhow::bail!("cannot create the database at {shown}: {e}"),
            }
        }
        Err(e) => anyhow::bail!("cannot reach the database at {shown}: {e}"),
    }
    let pool = PgPoolOptions::new()
        .max_connections(pool_size.max(2))
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database at {shown}: {e}"))?;
    crate::platform::db::migrate(&pool).await?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(url: &str) -> PgConnectOptions {
        PgConnectOptions::from_str(url).unwrap()
    }

    #[test]
    fn each_refusal_names_its_own_remedy() {
        let tcp = opts("postgres://ada@db.local:5433/fireline");
        let missing_role = remedy(
            &tcp,
            Some("28000"),
            "role \"ada\" does not exist",
            "fireline",
        );
        assert!(
            missing_role.contains("DATABASE_URL=postgres://USER:PASSWORD@db.local:5433/fireline")
        );
        assert!(missing_role.contains("createuser --createdb ada"));
        let hba = remedy(
            &tcp,
            Some("28000"),
            "no pg_hba.conf entry for host",
            "fireline",
        );
        assert!(hba.contains("pg_hba.conf") && !hba.contains("createuser"));
        assert!(remedy(
            &tcp,
            Some("28P01"),
            "password authentication failed",
            "fireline"
        )
        .contains("password"));
        assert!(remedy(&tcp, Some("42501"), "may not create it", "fireline")
            .contains("createdb -O ada fireline"));

        let socket = opts("postgres://ada@localhost/fireline?host=/var/run/postgresql");
        assert_eq!(server_of(&socket), "/var/run/postgresql");
        assert!(remedy(&socket, None, "", "fireline")
            .contains("DATABASE_URL=postgres://USER@/fireline?host=/var/run/postgresql"));
    }

    #[test]
    fn the_fallback_is_explained_in_one_line_only_when_a_server_refused() {
        assert_eq!(explain_fallback(&[], Path::new("fireline-data")), None);
        let refusal = |server: &str| Refusal {
            server: server.to_owned(),
            reason: "role \"root\" does not exist".to_owned(),
            remedy: "create the role".to_owned(),
        };
        let line = explain_fallback(
            &[refusal("/var/run/postgresql"), refusal("127.0.0.1:5432")],
            Path::new("fireline-data"),
        )
        .unwrap();
        assert!(!line.contains('\n'));
        assert!(line.starts_with(
            "PostgreSQL at /var/run/postgresql answered but refused: role \"root\" does not exist; \
             using a private cluster in fireline-data instead. To use that server, create the role."
        ));
        assert!(line.contains("PostgreSQL at 127.0.0.1:5432 refused too"));
    }
}
