//! The API tokens page: your own tokens (admins see everyone's); a new token is shown once.

use crate::accounts::{token_commands, tokens, AccountError};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{format_time, rfc3339, Reply};
use crate::accounts::Role;
use crate::http::error::AppError;
use crate::http::extract::{Button, CsrfForm, Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};

pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub owner: String,
    pub created: super::Stamp,
    pub last_used: Option<String>,
    pub last_used_iso: String,
    pub revoked: Option<super::Stamp>,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenView>,
    show_owner: bool,
    new_token: Option<String>,
    name: String,
    error: Option<String>,
}

/// The tokens page with a token just made (shown once), or the name typed and what was
/// wrong with it.
async fn tokens_page(
    staff: &Staff,
    new_token: Option<String>,
    name: String,
    error: Option<String>,
) -> Result<TokensPage, AppError> {
    let admin = staff.user.can(Role::Admin);
    let scope = if admin { None } else { Some(staff.id()) };
    let tokens = tokens::list(&staff.state.pool, scope)
        .await?
        .into_iter()
        .map(|t| TokenView {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            owner: format!("{} <{}>", t.user_name, t.user_email),
            created: super::stamp(t.created_at),
            last_used: t.last_used_at.map(format_time),
            last_used_iso: t.last_used_at.map(rfc3339).unwrap_or_default(),
            revoked: t.revoked_at.map(super::stamp),
        })
        .collect();
    Ok(TokensPage {
        layout: Layout::of(staff, "API tokens", "API tokens"),
        tokens,
        show_owner: admin,
        new_token,
        name,
        error,
    })
}

pub async fn list_tokens(staff: Staff) -> Reply {
    let page = tokens_page(&staff, None, String::new(), None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct NewTokenForm {
    name: String,
}

/// Every signed-in user may create tokens for themselves: a token can do no more than
/// its user's role allows.
pub async fn create_token(staff: Staff, CsrfForm(form): CsrfForm<NewTokenForm>) -> Reply {
    let name = form.name.trim().to_owned();
    let (pool, by) = (&staff.state.pool, Some(&staff.user.user));
    let token = match token_commands::create_token(pool, by, staff.id(), &name).await {
        Ok((_, token)) => token,
        Err(AccountError::Invalid { message, .. }) => {
            let page = tokens_page(&staff, None, name, Some(message)).await?;
            return render_refused(&staff.state, &page.layout, &page);
        }
        Err(err) => return Err(err.into()),
    };
    let page = tokens_page(&staff, Some(token), String::new(), None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// Owners revoke their own tokens; admins revoke anyone's.
pub async fn revoke_token(staff: Staff, Path(id): Path<Uuid>, _: Button) -> Reply {
    let token = token_commands::revoke_token(&staff.state.pool, Some(&staff.user.user), id).await?;
    let message = format!(
        "The token \"{}\" is revoked and stops working now.",
        token.name
    );
    Ok(staff.flash("/admin/tokens", &message))
}
