//! Browser sessions. The cookie carries a random token; the table keeps its SHA-256.

use sqlx::{PgConnection, PgExecutor};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::model::Role;
use super::rows::{user_row, UserRow};
use crate::platform::secret::TokenHash;

/// Sessions end at the latest this long after sign-in, however active.
pub const ABSOLUTE_LIFETIME: Duration = Duration::days(30);

/// A live session and its (enabled) user.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub csrf_token: String,
    pub last_seen_at: OffsetDateTime,
    pub user: UserRow,
}

pub struct NewSession<'a> {
    pub id_hash: &'a TokenHash,
    pub user_id: Uuid,
    pub csrf_token: &'a str,
    pub user_agent: Option<&'a str>,
    pub client_ip: &'a str,
}

pub async fn insert(db: impl PgExecutor<'_>, session: NewSession<'_>) -> sqlx::Result<()> {
    let user_agent = session
        .user_agent
        .map(|ua| ua.chars().take(300).collect::<String>());
    sqlx::query!(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at, user_agent, client_ip) \
         VALUES ($1, $2, $3, now() + $4::interval, $5, $6)",
        &session.id_hash.0,
        session.user_id,
        session.csrf_token,
        ABSOLUTE_LIFETIME as _,
        user_agent,
        session.client_ip
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The session for a cookie, if it exists, has not expired, has been used within `idle`,
/// and its user is enabled.
pub async fn find_live(
    db: impl PgExecutor<'_>,
    id_hash: &TokenHash,
    idle: Duration,
) -> sqlx::Result<Option<SessionRow>> {
    let row = sqlx::query!(
        r#"SELECT s.csrf_token, s.last_seen_at,
                  u.id, u.email, u.name, u.role AS "role: Role", u.disabled_at, u.created_at,
                  u.time_zone
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id_hash = $1 AND s.expires_at > now() AND s.last_seen_at > now() - $2::interval
             AND u.disabled_at IS NULL"#,
        &id_hash.0,
        idle as _
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| SessionRow {
        csrf_token: r.csrf_token,
        last_seen_at: r.last_seen_at,
        user: user_row!(r),
    }))
}

/// Record activity, at most once a minute per session to spare the database.
pub async fn touch(db: impl PgExecutor<'_>, id_hash: &TokenHash) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sessions SET last_seen_at = now() \
         WHERE id_hash = $1 AND last_seen_at < now() - interval '1 minute'",
        &id_hash.0
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete(db: impl PgExecutor<'_>, id_hash: &TokenHash) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM sessions WHERE id_hash = $1", &id_hash.0)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn delete_for_user(conn: &mut PgConnection, user_id: Uuid) -> sqlx::Result<u64> {
    let done = sqlx::query!("DELETE FROM sessions WHERE user_id = $1", user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Remove sessions that can no longer be used.
pub async fn prune(db: impl PgExecutor<'_>, idle: Duration) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM sessions WHERE expires_at <= now() OR last_seen_at <= now() - $1::interval",
        idle as _
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
