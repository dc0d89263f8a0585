//! Sign-in throttling, kept in Postgres so every process sees the same counts.

use sqlx::PgExecutor;
use time::{Duration, OffsetDateTime};

/// Failed attempts allowed per account within [`WINDOW`].
pub const PER_ACCOUNT: i64 = 5;
/// Failed attempts allowed per client address within [`WINDOW`].
pub const PER_CLIENT: i64 = 20;
pub const WINDOW: Duration = Duration::minutes(15);

/// Count an attempt before the password is checked, so parallel guesses cannot slip
/// past the limit: returns the attempt's id, or when the next attempt is allowed.
/// The attempt counts as failed until [`mark_succeeded`].
pub async fn begin(
    conn: &mut sqlx::PgConnection,
    email: &str,
    client_ip: &str,
) -> Result<Result<i64, OffsetDateTime>, sqlx::Error> {
    // One check-and-count at a time per account and per address.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('fireline.login.' || $1)), pg_advisory_xact_lock(hashtext('fireline.login-ip.' || $2))")
        .bind(email)
        .bind(client_ip)
        .execute(&mut *conn)
        .await?;
    if let Some(until) = locked_until(&mut *conn, email, client_ip).await? {
        return Ok(Err(until));
    }
    let id = sqlx::query_scalar(
        "INSERT INTO login_attempts (email, client_ip, succeeded) VALUES ($1, $2, false) RETURNING id",
    )
    .bind(email)
    .bind(client_ip)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Ok(id))
}

pub async fn mark_succeeded(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE login_attempts SET succeeded = true WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// When the next attempt is allowed, if the account or the address is over its limit.
/// Failures before the account's last success do not count against the account.
pub async fn locked_until(
    db: impl PgExecutor<'_>,
    email: &str,
    client_ip: &str,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH account AS ( \
             SELECT attempted_at FROM login_attempts a \
             WHERE email = $1 AND NOT succeeded AND attempted_at > now() - $3 \
               AND attempted_at > coalesce((SELECT max(attempted_at) FROM login_attempts \
                                            WHERE email = $1 AND succeeded), '-infinity') \
             ORDER BY attempted_at DESC LIMIT $4), \
         client AS ( \
             SELECT attempted_at FROM login_attempts \
             WHERE client_ip = $2 AND NOT succeeded AND attempted_at > now() - $3 \
             ORDER BY attempted_at DESC LIMIT $5) \
         SELECT max(until) FROM ( \
             SELECT min(attempted_at) + $3 AS until FROM account HAVING count(*) >= $4 \
             UNION ALL \
             SELECT min(attempted_at) + $3 FROM client HAVING count(*) >= $5) limits",
    )
    .bind(email)
    .bind(client_ip)
    .bind(WINDOW)
    .bind(PER_ACCOUNT)
    .bind(PER_CLIENT)
    .fetch_one(db)
    .await
}

pub async fn prune(db: impl PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM login_attempts WHERE attempted_at < now() - interval '1 day'")
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}
