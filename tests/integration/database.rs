//! Finding, creating and migrating the database; the private cluster.

use fireline::app::config::DatabaseArgs;
use fireline::platform::db::DatabaseSource;
use sqlx::{Connection, PgConnection};

use crate::support::{cluster_dir, have_postgres_binaries, server_url, url_for};

/// Options naming no server, so that a private cluster in `data_dir` is the fallback.
fn private_cluster_args(data_dir: &std::path::Path) -> DatabaseArgs {
    DatabaseArgs {
        database_url: None,
        data_dir: data_dir.to_owned(),
        private_db: false,
        pool_size: 2,
    }
}

async fn drop_database(name: &str) {
    let mut conn = PgConnection::connect(&url_for("postgres")).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_missing_database_is_created_and_migrated_even_by_two_processes_at_once() {
    let name = format!("fireline_new_{}", uuid::Uuid::new_v4().simple());
    let url = url_for(&name);
    let (a, b) = tokio::join!(
        fireline::platform::db::open(&url, 3),
        fireline::platform::db::open(&url, 3)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(fireline::platform::db::is_migrated(&a).await.unwrap());
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&b)
            .await
            .unwrap();
    let embedded: Vec<i64> = fireline::platform::db::MIGRATOR
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(applied, embedded, "each migration applied exactly once");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('users', 'sessions', 'api_tokens', 'jobs')",
    )
    .fetch_one(&a)
    .await
    .unwrap();
    assert_eq!(tables, 4);
    a.close().await;
    b.close().await;
    drop_database(&name).await;
}

#[tokio::test]
async fn an_unreachable_database_url_fails_with_a_message_naming_it_without_its_password() {
    let args = DatabaseArgs {
        database_url: Some("postgres://fl:s3cret@127.0.0.1:1/fireline".into()),
        data_dir: "unused".into(),
        private_db: false,
        pool_size: 2,
    };
    let err = match fireline::platform::db::connect(&args).await {
        Ok(_) => panic!("connected to nothing"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}

/// With no server at the default addresses, Fireline starts a private cluster from the
/// machine's PostgreSQL binaries, and stops it at shutdown.
#[tokio::test]
async fn with_no_server_reachable_a_private_cluster_is_started_and_stopped() {
    if fireline::platform::db::find_postgres_binaries().is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install the PostgreSQL server binaries (initdb, pg_ctl)"
        );
        eprintln!("skipped: no PostgreSQL binaries on this machine");
        return;
    }
    let dir = cluster_dir();
    let data_dir = dir.path().join("data");
    let args = private_cluster_args(&data_dir);
    let nowhere = vec!["postgres://postgres@127.0.0.1:1/fireline".to_owned()];
    let database = fireline::platform::db::connect_with(&args, &nowhere)
        .await
        .unwrap();
    assert_eq!(database.source, DatabaseSource::Private);
    assert!(
        database.url.contains("host="),
        "a Unix socket: {}",
        database.url
    );
    assert!(fireline::platform::db::is_migrated(&database.pool)
        .await
        .unwrap());
    let listen: String = sqlx::query_scalar("SHOW listen_addresses")
        .fetch_one(&database.pool)
        .await
        .unwrap();
    assert_eq!(listen, "", "no TCP port is opened");
    let pid_file = data_dir.join("postgres").join("postmaster.pid");
    assert!(pid_file.exists());
    database.shutdown().await;
    assert!(!pid_file.exists(), "the cluster was stopped");

    // The next start finds the same cluster and its data.
    let again = fireline::platform::db::connect_with(&args, &nowhere)
        .await
        .unwrap();
    assert!(fireline::platform::db::is_migrated(&again.pool)
        .await
        .unwrap());
    again.shutdown().await;
}

/// Log lines written while `f` runs on this thread (the test runtime's only thread).
async fn logged<T>(f: impl std::future::Future<Output = T>) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let value = f.await;
    drop(guard);
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    (value, text)
}

/// `server_url()` as `user`, for `database`.
fn as_role(user: &str, database: &str) -> String {
    let mut url = url::Url::parse(&url_for(database)).unwrap();
    url.set_username(user).unwrap();
    url.set_password(None).unwrap();
    url.to_string()
}

/// A local server that answers but refuses (no such role; a role that may not create the
/// database) is not used silently: one line says why and how to use it.
#[tokio::test]
async fn falling_back_from_a_server_that_refused_says_why_and_how_to_use_it() {
    if !have_postgres_binaries() {
        return;
    }
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let ghost = format!("fireline_ghost_{suffix}");
    let meek = format!("fireline_meek_{suffix}");
    let missing = format!("fireline_missing_{suffix}");
    let mut admin = PgConnection::connect(&url_for("postgres")).await.unwrap();
    sqlx::query(&format!("CREATE ROLE {meek} LOGIN NOCREATEDB"))
        .execute(&mut admin)
        .await
        .unwrap();

    let dir = cluster_dir();
    let data_dir = dir.path().join("data");
    let args = private_cluster_args(&data_dir);
    let candidates = vec![as_role(&ghost, "fireline"), as_role(&meek, &missing)];
    let (database, logs) = logged(fireline::platform::db::connect_with(&args, &candidates)).await;
    let database = database.unwrap();
    assert_eq!(database.source, DatabaseSource::Private);
    database.shutdown().await;
    sqlx::query(&format!("DROP ROLE {meek}"))
        .execute(&mut admin)
        .await
        .unwrap();

    let server = url::Url::parse(&server_url()).unwrap();
    let address = format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    );
    let explained: Vec<&str> = logs.lines().filter(|l| l.contains("refused")).collect();
    assert_eq!(explained.len(), 1, "one line: {logs}");
    let line = explained[0];
    for expected in [
        format!("PostgreSQL at {address} answered but refused: role \"{ghost}\" does not exist"),
        format!("using a private cluster in {} instead", data_dir.display()),
        format!("set DATABASE_URL=postgres://USER:PASSWORD@{address}/fireline"),
        format!("createuser --createdb {ghost}"),
        format!("database \"{missing}\" does not exist and role \"{meek}\" may not create it"),
    ] {
        assert!(line.contains(&expected), "{expected:?} in {line}");
    }
    assert!(
        line.contains(" INFO "),
        "an explanation, not an alarm: {line}"
    );
}

/// Only refusals are explained: with no server answering at all, the private cluster is
/// simply used.
#[tokio::test]
async fn with_no_server_answering_nothing_is_said_to_have_refused() {
    let candidates = vec!["postgres://postgres@127.0.0.1:1/fireline".to_owned()];
    let args = DatabaseArgs {
        database_url: None,
        // A file, so starting a private cluster fails fast after the probe.
        data_dir: "/dev/null/fireline".into(),
        private_db: false,
        pool_size: 2,
    };
    let (result, logs) = logged(fireline::platform::db::connect_with(&args, &candidates)).await;
    assert!(result.is_err());
    assert!(!logs.contains("refused"), "{logs}");
}
