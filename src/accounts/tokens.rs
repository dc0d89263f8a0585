//! API tokens: stored as SHA-256, shown once at creation.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::model::Role;
use super::rows::UserRow;
use crate::platform::secret::TokenHash;

/// A token's name (trimmed, 1 to 100 characters): what it is for, shown in the lists.
pub fn check_name(name: &str) -> Result<(), crate::platform::text::FieldError> {
    if name.trim().is_empty() {
        return Err(crate::platform::text::FieldError {
            field: "name",
            message: "Give the token a name of 1 to 100 characters, e.g. \"deploy pipeline\"."
                .into(),
        });
    }
    crate::platform::text::NAME.check("name", name.trim())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub user_name: String,
    pub user_email: String,
    pub name: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    name: &str,
    hash: &TokenHash,
    prefix: &str,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        Uuid::new_v4(),
        user_id,
        name,
        &hash.0,
        prefix
    )
    .fetch_one(db)
    .await
}

/// The enabled user a live token belongs to, marking the token used (at most once a minute).
pub async fn authenticate(
    db: impl PgExecutor<'_>,
    hash: &TokenHash,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        r#"WITH t AS (
               UPDATE api_tokens SET last_used_at = CASE
                   WHEN last_used_at IS NULL OR last_used_at < now() - interval '1 minute'
                   THEN now() ELSE last_used_at END
               WHERE token_hash = $1 AND revoked_at IS NULL
               RETURNING user_id)
           SELECT u.id, u.email, u.name, u.role AS "role: Role", u.disabled_at, u.created_at,
                  u.time_zone
           FROM t JOIN users u ON u.id = t.user_id WHERE u.disabled_at IS NULL"#,
        &hash.0
    )
    .fetch_optional(db)
    .await
}

/// Tokens of one user, or of everybody with `None`; live ones first, newest first.
pub async fn list(db: impl PgExecutor<'_>, user_id: Option<Uuid>) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as!(
        TokenRow,
        "SELECT t.id, t.user_id, u.name AS user_name, u.email AS user_email, \
                t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at \
         FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE ($1::uuid IS NULL OR t.user_id = $1) \
         ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id",
        user_id
    )
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<TokenRow>> {
    sqlx::query_as!(
        TokenRow,
        "SELECT t.id, t.user_id, u.name AS user_name, u.email AS user_email, \
                t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at \
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

/// Revoke a token; revoking it again changes nothing.
pub async fn revoke(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revoke every live token of a user; returns how many there were.
pub async fn revoke_for_user(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
/// Create a token for `user_id` and return its id and the token itself (shown once).
pub async fn create(
    conn: &mut sqlx::PgConnection,
    user_id: Uuid,
    name: &str,
) -> sqlx::Result<(Uuid, String)> {
    let token = crate::platform::secret::random_token("fl_");
    let prefix: String = token.chars().take(10).collect();
    let id = insert(
        conn,
        user_id,
        name,
        &crate::platform::secret::hash_token(&token),
        &prefix,
    )
    .await?;
    Ok((id, token))
}
