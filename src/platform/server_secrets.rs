//! Keys the server signs with, shared by every process on the database.

use sqlx::PgPool;

/// The secret called `name`, stored as `fresh` if there is none yet. When two processes
/// race, the first insert wins and both read it.
pub async fn get_or_create(pool: &PgPool, name: &str, fresh: &[u8]) -> sqlx::Result<Vec<u8>> {
    sqlx::query!(
        "INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name,
        fresh
    )
    .execute(pool)
    .await?;
    // A new statement sees a row another process committed meanwhile.
    sqlx::query_scalar!("SELECT secret FROM server_secrets WHERE name = $1", name)
        .fetch_one(pool)
        .await
}
