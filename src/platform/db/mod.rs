//! The database: finding or starting the server, and migrations.

mod bootstrap;
mod private_cluster;

pub use bootstrap::{connect, connect_with, open, Database, DatabaseSource};
pub use private_cluster::{find_postgres_binaries, PrivateCluster};

use sqlx::migrate::Migrator;
use sqlx::PgPool;

/// The result of a query for one row that may not exist.
pub type Found<T> = Result<Option<T>, sqlx::Error>;
/// The result of a query for rows.
pub type Rows<T> = Result<Vec<T>, sqlx::Error>;

/// The migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Apply pending migrations. sqlx holds an advisory lock while it does, so several
/// processes starting at once apply each migration exactly once.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let failed =
        |e: &dyn std::fmt::Display| anyhow::anyhow!("applying database migrations failed: {e}");
    let mut conn = pool.acquire().await.map_err(|e| failed(&e))?;
    // The migrator's `CREATE TABLE IF NOT EXISTS` answers every start with a NOTICE
    // ("relation ... already exists, skipping"), which sqlx logs at INFO. Warnings and
    // errors still come through.
    sqlx::query("SET client_min_messages TO warning")
        .execute(&mut *conn)
        .await
        .map_err(|e| failed(&e))?;
    let applied = MIGRATOR
        .run_direct(&mut *conn)
        .await
        .map_err(|e| failed(&e));
    if applied.is_ok() {
        sqlx::query("RESET client_min_messages")
            .execute(&mut *conn)
            .await
            .map_err(|e| failed(&e))?;
    } else {
        // Do not hand a connection in an unknown state back to the pool.
        conn.detach();
    }
    applied
}

/// Whether every embedded migration has been applied (for `/readyz`).
pub async fn is_migrated(pool: &PgPool) -> sqlx::Result<bool> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    Ok(applied.unwrap_or(0) >= latest)
}

/// A URL with its password replaced, safe for logs and error messages.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparseable database URL>".to_owned(),
    }
}

/// The unique or foreign-key constraint a database error violated, if any.
pub fn violated_constraint(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() || db.is_foreign_key_violation() => {
            db.constraint()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_removed_from_database_urls() {
        let shown = redact_url("postgres://fl:s3cret@db.internal:5432/fireline");
        assert!(!shown.contains("s3cret"));
        assert!(shown.contains("db.internal"));
    }
}
