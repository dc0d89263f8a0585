//! One-time first-run links. Only the newest is valid, until used or until an enabled
//! admin exists.

use sqlx::{PgConnection, PgExecutor};

use crate::platform::secret::TokenHash;

/// Make `hash` the only valid link: every link printed before stops working. Inside the
/// caller's transaction.
pub async fn replace(conn: &mut PgConnection, hash: &TokenHash) -> sqlx::Result<()> {
    // Two processes starting at once: the later one's link wins, never both.
    sqlx::query!("LOCK TABLE setup_tokens IN EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM setup_tokens")
        .execute(&mut *conn)
        .await?;
    sqlx::query!("INSERT INTO setup_tokens (token_hash) VALUES ($1)", &hash.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the link is valid: the token is known and no enabled admin exists yet.
pub async fn is_valid(db: impl PgExecutor<'_>, hash: &TokenHash) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE token_hash = $1)
              AND NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND disabled_at IS NULL)
              AS "valid!""#,
        &hash.0
    )
    .fetch_one(db)
    .await
}

/// Use up the link inside the caller's transaction: locks out a concurrent setup and
/// returns false if the token is unknown or an admin already exists.
pub async fn consume(conn: &mut PgConnection, hash: &TokenHash) -> sqlx::Result<bool> {
    // Serialise setups so two people using two links at once cannot both become admin.
    sqlx::query!("LOCK TABLE setup_tokens IN EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await?;
    if !is_valid(&mut *conn, hash).await? {
        return Ok(false);
    }
    sqlx::query!("DELETE FROM setup_tokens")
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// Links are useless once an admin exists; forget them.
pub async fn clear(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM setup_tokens").execute(db).await?;
    Ok(())
}
