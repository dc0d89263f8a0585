//! Users and their roles.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::model::Role;
use super::rows::user_row;
pub use super::rows::UserRow;

/// A query for whole user rows, checked at compile time: `$rest` follows the column list.
macro_rules! user_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            UserRow,
            r#"SELECT id, email, name, role AS "role: Role", disabled_at, created_at, time_zone "#
                + $rest
            $(, $arg)*
        )
    };
}

pub struct NewUserRow<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

/// Insert a user. A taken email fails with the `users_email_key` constraint.
pub async fn insert(db: impl PgExecutor<'_>, user: NewUserRow<'_>) -> sqlx::Result<UserRow> {
    sqlx::query_as!(
        UserRow,
        r#"INSERT INTO users (id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5)
           RETURNING id, email, name, role AS "role: Role", disabled_at, created_at, time_zone"#,
        Uuid::new_v4(),
        user.email,
        user.name,
        user.role as Role,
        user.password_hash
    )
    .fetch_one(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<UserRow>> {
    user_rows!("FROM users WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

pub async fn find_by_email(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<UserRow>> {
    user_rows!("FROM users WHERE email = $1", email)
        .fetch_optional(db)
        .await
}

/// The account signing in with `email` and its stored password hash.
pub async fn credentials(
    db: impl PgExecutor<'_>,
    email: &str,
) -> sqlx::Result<Option<Credentials>> {
    let row = sqlx::query!(
        r#"SELECT id, email, name, role AS "role: Role", disabled_at, created_at, time_zone,
                  password_hash
           FROM users WHERE email = $1"#,
        email
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Credentials {
        user: user_row!(r),
        password_hash: r.password_hash,
    }))
}

pub struct Credentials {
    pub user: UserRow,
    pub password_hash: String,
}

/// All users, admins first, then by name.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<UserRow>> {
    user_rows!("FROM users ORDER BY disabled_at IS NOT NULL, role DESC, lower(name), id")
        .fetch_all(db)
        .await
}

/// Whether an enabled admin exists (if not, the first-run setup link is offered).
pub async fn admin_exists(db: impl PgExecutor<'_>) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND disabled_at IS NULL)
           AS "exists!""#
    )
    .fetch_one(db)
    .await
}

pub async fn set_role(conn: &mut PgConnection, id: Uuid, role: Role) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET role = $2, updated_at = now() WHERE id = $1",
        id,
        role as Role
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    password_hash: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        id,
        password_hash
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Disable or enable a user (the command also ends their sessions and revokes their
/// tokens).
pub async fn set_disabled(conn: &mut PgConnection, id: Uuid, disabled: bool) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END, \
         updated_at = now() WHERE id = $1",
        id,
        disabled
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Number of enabled admins other than `id` (so the last admin is never locked out).
pub async fn other_enabled_admins(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM users
           WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1"#,
        id
    )
    .fetch_one(db)
    .await
}

/// Serialise changes to who is admin until the transaction ends, so two admins cannot
/// demote each other at the same moment.
pub async fn lock_admin_changes(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!(
        r#"SELECT true AS "locked!" FROM pg_advisory_xact_lock(hashtext('fireline.admins'))"#
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// Users ordered by email, after `after` (keyset pagination).
pub async fn page_by_email(
    db: impl PgExecutor<'_>,
    after: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<UserRow>> {
    user_rows!(
        "FROM users WHERE ($1::text IS NULL OR email > $1) ORDER BY email LIMIT $2",
        after,
        limit
    )
    .fetch_all(db)
    .await
}

/// Set (or with `None`, clear) the user's own time zone.
pub async fn set_time_zone(
    db: impl PgExecutor<'_>,
    id: Uuid,
    time_zone: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET time_zone = $2 WHERE id = $1",
        id,
        time_zone
    )
    .execute(db)
    .await?;
    Ok(())
}
