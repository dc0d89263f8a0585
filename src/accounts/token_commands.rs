//! Creating and revoking API tokens, with their audit entries.

use sqlx::PgPool;
use uuid::Uuid;

use super::error::{AccountError, AccountResult};
use super::model::Role;
use super::rows::UserRow;
use super::tokens::{self, TokenRow};
use crate::platform::audit::{self, AuditAction};

/// A token for `owner` named `name` (trimmed); returns its id and the token, shown once.
#[tracing::instrument(skip_all, fields(user_id = %owner))]
pub async fn create_token(
    pool: &PgPool,
    actor: Option<&UserRow>,
    owner: Uuid,
    name: &str,
) -> AccountResult<(Uuid, String)> {
    let name = name.trim();
    tokens::check_name(name).map_err(|e| AccountError::invalid(e.field, e.message))?;
    let mut tx = pool.begin().await?;
    let (id, token) = tokens::create(&mut tx, owner, name).await?;
    let action = AuditAction::TokenCreated {
        token_id: id,
        name: name.to_owned(),
    };
    audit::log(&mut *tx, actor.map(|a| a.id), &action).await?;
    tx.commit().await?;
    Ok((id, token))
}

/// Revoke a token: its owner or an admin may (the command line always may).
#[tracing::instrument(skip_all, fields(token_id = %id))]
pub async fn revoke_token(
    pool: &PgPool,
    actor: Option<&UserRow>,
    id: Uuid,
) -> AccountResult<TokenRow> {
    let mut tx = pool.begin().await?;
    let token = tokens::find(&mut *tx, id)
        .await?
        .ok_or(AccountError::NoSuchToken)?;
    if let Some(actor) = actor {
        if actor.id != token.user_id && !actor.role.allows(Role::Admin) {
            return Err(AccountError::Forbidden);
        }
    }
    tokens::revoke(&mut *tx, id).await?;
    audit::log(
        &mut *tx,
        actor.map(|a| a.id),
        &AuditAction::TokenRevoked { token_id: id },
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}
