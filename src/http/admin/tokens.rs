//! The API tokens page: your own tokens (admins see everyone's); a new token is shown once.

use crate::accounts::{token_commands, tokens, AccountError};
use crate::http::extract::EmptyForm;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use uuid::Uuid;

use super::{format_time, rfc3339};
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{CsrfForm, CurrentUser, Path};
use crate::http::page::{render_admin, render_admin_status, Layout};
use crate::http::session::redirect_with_flash;

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

async fn tokens_page(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    new_token: Option<String>,
    name: String,
    error: Option<String>,
) -> Result<TokensPage, AppError> {
    let admin = user.can(Role::Admin);
    let scope = if admin { None } else { Some(user.user.id) };
    let tokens = tokens::list(&state.pool, scope)
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
        layout: Layout::new(state, user, jar, "API tokens", "API tokens"),
        tokens,
        show_owner: admin,
        new_token,
        name,
        error,
    })
}

pub async fn list_tokens(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let page = tokens_page(&state, &user, &jar, None, String::new(), None).await?;
    render_admin(&state, &page.layout, &page)
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
}

/// Every signed-in user may create tokens for themselves: a token can do no more than
/// its user's role allows.
pub async fn create_token(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<NewTokenForm>,
) -> Result<Response, AppError> {
    let name = form.name.trim().to_owned();
    let made = token_commands::create_token(&state.pool, Some(&user.user), user.user.id, &name);
    let token = match made.await {
        Ok((_, token)) => token,
        Err(AccountError::Invalid { message, .. }) => {
            let page = tokens_page(&state, &user, &jar, None, name, Some(message)).await?;
            return render_admin_status(
                &state,
                &page.layout,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Err(err) => return Err(err.into()),
    };
    let page = tokens_page(&state, &user, &jar, Some(token), String::new(), None).await?;
    render_admin(&state, &page.layout, &page)
}

/// Owners revoke their own tokens; admins revoke anyone's.
pub async fn revoke_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    let token = token_commands::revoke_token(&state.pool, Some(&user.user), id).await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/tokens",
        &format!(
            "The token \"{}\" is revoked and stops working now.",
            token.name
        ),
    ))
}
