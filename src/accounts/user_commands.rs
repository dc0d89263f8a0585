//! What admins (in the UI, through the API or on the command line) do to users, and the
//! first-run admin. Each command validates, applies the rules (never leave the last
//! enabled admin out) and records its audit entry in the transaction that makes the change.

use std::collections::BTreeMap;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::error::{AccountError, AccountResult};
use super::model::{Email, NewPassword, PersonName, Role};
use super::password::{generate_password, hash_password, PasswordHash};
use super::rows::UserRow;
use super::{sessions, setup_tokens, tokens, users};
use crate::platform::audit::{self, AuditAction};
use crate::platform::secret::TokenHash;

/// A role from a form field.
pub fn parse_role(raw: &str) -> AccountResult<Role> {
    Role::parse(raw).ok_or_else(|| AccountError::invalid("role", ROLE_CHOICES))
}

const ROLE_CHOICES: &str = "Choose admin, responder or viewer.";

/// A user to create, as typed.
pub struct NewUser {
    pub email: String,
    pub name: String,
    /// `None`: the role given was not one of ours.
    pub role: Option<Role>,
    /// `None`: generate one, returned once in [`Created::generated`].
    pub password: Option<String>,
}

pub struct Created {
    pub user: UserRow,
    /// The generated password, shown this once; never stored in plain text.
    pub generated: Option<String>,
}

fn actor_id(actor: Option<&UserRow>) -> Option<Uuid> {
    actor.map(|a| a.id)
}

async fn hash(password: &NewPassword) -> AccountResult<PasswordHash> {
    let plain = password.expose().to_owned();
    tokio::task::spawn_blocking(move || hash_password(&plain))
        .await
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .map_err(AccountError::from)
}

fn new_password(raw: String) -> AccountResult<NewPassword> {
    NewPassword::parse(raw).map_err(|e| AccountError::invalid("password", e.0))
}

/// Create a user. A new admin also voids any first-run setup link.
#[tracing::instrument(skip_all, fields(role = ?input.role))]
pub async fn create_user(
    pool: &PgPool,
    actor: Option<&UserRow>,
    input: NewUser,
) -> AccountResult<Created> {
    let mut errors = BTreeMap::new();
    let mut refuse = |field: &str, message: String| errors.insert(field.to_owned(), message);
    let email = Email::parse(&input.email)
        .map_err(|e| refuse("email", e.0))
        .ok();
    let name = PersonName::parse(&input.name)
        .map_err(|e| refuse("name", e.0))
        .ok();
    if input.role.is_none() {
        refuse("role", ROLE_CHOICES.to_owned());
    }
    let generated = input.password.is_none();
    let password = NewPassword::parse(input.password.unwrap_or_else(generate_password))
        .map_err(|e| refuse("password", e.0))
        .ok();
    let (Some(email), Some(name), Some(role), Some(password)) = (email, name, input.role, password)
    else {
        return Err(AccountError::Fields(errors));
    };
    let hash = hash(&password).await?;
    let mut tx = pool.begin().await?;
    let user = insert_user(&mut tx, &email, &name, role, &hash).await?;
    audit::log(
        &mut *tx,
        actor_id(actor),
        &AuditAction::UserCreated {
            user_id: user.id,
            email: user.email.clone(),
            role: role.to_string(),
        },
    )
    .await?;
    if role == Role::Admin {
        setup_tokens::clear(&mut *tx).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "user created");
    Ok(Created {
        user,
        generated: generated.then(|| password.expose().to_owned()),
    })
}

async fn insert_user(
    conn: &mut PgConnection,
    email: &Email,
    name: &PersonName,
    role: Role,
    hash: &PasswordHash,
) -> AccountResult<UserRow> {
    users::insert(
        &mut *conn,
        users::NewUserRow {
            email: email.as_str(),
            name: name.as_str(),
            role,
            password_hash: &hash.0,
        },
    )
    .await
    .map_err(|err| match crate::platform::db::violated_constraint(&err) {
        Some("users_email_key") => {
            AccountError::invalid("email", "An account with this email already exists.")
        }
        _ => err.into(),
    })
}

/// The first admin, through a one-time setup link, in the caller's transaction (which
/// also signs them in). `None`: the link is used up or an admin exists already.
#[tracing::instrument(skip_all)]
pub async fn create_setup_admin(
    conn: &mut PgConnection,
    link: &TokenHash,
    email: &Email,
    name: &PersonName,
    password: NewPassword,
) -> AccountResult<Option<UserRow>> {
    let hash = hash(&password).await?;
    if !setup_tokens::consume(&mut *conn, link).await? {
        return Ok(None);
    }
    let user = insert_user(&mut *conn, email, name, Role::Admin, &hash).await?;
    audit::log(
        &mut *conn,
        Some(user.id),
        &AuditAction::SetupAdminCreated {
            user_id: user.id,
            email: user.email.clone(),
        },
    )
    .await?;
    Ok(Some(user))
}

async fn load(conn: &mut PgConnection, id: Uuid) -> AccountResult<UserRow> {
    users::find(&mut *conn, id)
        .await?
        .ok_or(AccountError::NoSuchUser)
}

/// Refuse a change that would leave no enabled admin. Holds the admin lock until the
/// transaction ends, so two admins cannot demote each other at once.
async fn keep_an_admin(conn: &mut PgConnection, id: Uuid) -> AccountResult<()> {
    users::lock_admin_changes(&mut *conn).await?;
    if users::other_enabled_admins(&mut *conn, id).await? == 0 {
        return Err(AccountError::LastAdmin);
    }
    Ok(())
}

/// Give a user another role; returns the user as they were.
#[tracing::instrument(skip_all, fields(user_id = %id, role = %role))]
pub async fn change_role(
    pool: &PgPool,
    actor: Option<&UserRow>,
    id: Uuid,
    role: Role,
) -> AccountResult<UserRow> {
    let mut tx = pool.begin().await?;
    let target = load(&mut tx, id).await?;
    if target.role == Role::Admin && role != Role::Admin {
        keep_an_admin(&mut tx, id).await?;
    }
    users::set_role(&mut tx, id, role).await?;
    let action = AuditAction::UserRoleChanged {
        user_id: id,
        old: target.role.to_string(),
        new: role.to_string(),
    };
    audit::log(&mut *tx, actor_id(actor), &action).await?;
    tx.commit().await?;
    Ok(target)
}

/// Disable a user: they are signed out everywhere and their API tokens are revoked, so
/// enabling them again brings neither back. The last enabled admin stays.
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn disable_user(
    pool: &PgPool,
    actor: Option<&UserRow>,
    id: Uuid,
) -> AccountResult<UserRow> {
    set_disabled(pool, actor, id, true).await
}

/// Let a disabled user sign in again.
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn enable_user(
    pool: &PgPool,
    actor: Option<&UserRow>,
    id: Uuid,
) -> AccountResult<UserRow> {
    set_disabled(pool, actor, id, false).await
}

async fn set_disabled(
    pool: &PgPool,
    actor: Option<&UserRow>,
    id: Uuid,
    disabled: bool,
) -> AccountResult<UserRow> {
    let mut tx = pool.begin().await?;
    let target = load(&mut tx, id).await?;
    if disabled && target.role == Role::Admin {
        keep_an_admin(&mut tx, id).await?;
    }
    users::set_disabled(&mut tx, id, disabled).await?;
    let action = if disabled {
        sessions::delete_for_user(&mut tx, id).await?;
        tokens::revoke_for_user(&mut *tx, id).await?;
        AuditAction::UserDisabled { user_id: id }
    } else {
        AuditAction::UserEnabled { user_id: id }
    };
    audit::log(&mut *tx, actor_id(actor), &action).await?;
    tx.commit().await?;
    Ok(target)
}

pub struct PasswordSet {
    pub user: UserRow,
    /// The generated password, shown this once.
    pub generated: Option<String>,
    /// Sessions ended (all of the user's, unless they reset their own).
    pub ended_sessions: u64,
}

/// Set a user's password (`None`: generate one) and end their sessions.
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn reset_password(
    pool: &PgPool,
    actor: Option<&UserRow>,
    id: Uuid,
    password: Option<String>,
) -> AccountResult<PasswordSet> {
    let generated = password.is_none();
    let password = new_password(password.unwrap_or_else(generate_password))?;
    let hash = hash(&password).await?;
    let mut tx = pool.begin().await?;
    let user = load(&mut tx, id).await?;
    users::set_password(&mut tx, id, &hash.0).await?;
    let ended_sessions = if actor_id(actor) == Some(id) {
        0
    } else {
        sessions::delete_for_user(&mut tx, id).await?
    };
    audit::log(
        &mut *tx,
        actor_id(actor),
        &AuditAction::UserPasswordReset { user_id: id },
    )
    .await?;
    tx.commit().await?;
    Ok(PasswordSet {
        user,
        generated: generated.then(|| password.expose().to_owned()),
        ended_sessions,
    })
}
