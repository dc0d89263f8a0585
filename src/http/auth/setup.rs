//! First run: a one-time link printed by `fireline serve` lets the first person create
//! the admin account.

use crate::accounts::setup_tokens;
use crate::accounts::user_commands;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::start_session;
use crate::accounts::{Email, NewPassword, PersonName};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{ClientIp, CsrfForm, Query};
use crate::http::page::render_status;
use crate::http::session::{
    anon_csrf, anon_csrf_cookie_name, redirect_with_flash, removal, session_cookie,
};
use crate::platform::secret::hash_token;

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    page_name: String,
    csrf_token: String,
    token: String,
    email: String,
    name: String,
    errors: BTreeMap<String, String>,
    min_password: usize,
}

impl SetupPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

#[derive(Template)]
#[template(path = "auth/setup_invalid.html")]
struct SetupInvalidPage {
    page_name: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

fn invalid_link(state: &AppState) -> Result<Response, AppError> {
    render_status(
        StatusCode::NOT_FOUND,
        &SetupInvalidPage {
            page_name: state.settings.page_name.clone(),
        },
    )
}

pub async fn show_setup(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    if !setup_tokens::is_valid(&state.pool, &hash_token(&query.token)).await? {
        return invalid_link(&state);
    }
    let (jar, csrf_token) = anon_csrf(&state, jar).await?;
    let page = SetupPage {
        page_name: state.settings.page_name.clone(),
        csrf_token,
        token: query.token,
        email: String::new(),
        name: String::new(),
        errors: BTreeMap::new(),
        min_password: NewPassword::MIN_CHARS,
    };
    Ok((jar, render_status(StatusCode::OK, &page)?).into_response())
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct SetupForm {
    token: String,
    email: String,
    name: String,
    password: String,
    password_confirm: String,
}

/// Create the first admin and sign them in: the next page is the dashboard.
pub async fn create_admin(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SetupForm>,
) -> Result<Response, AppError> {
    let token_hash = hash_token(&form.token);
    if !setup_tokens::is_valid(&state.pool, &token_hash).await? {
        return invalid_link(&state);
    }
    let mut errors = BTreeMap::new();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.insert("email".into(), e.0))
        .ok();
    let name = PersonName::parse(&form.name)
        .map_err(|e| errors.insert("name".into(), e.0))
        .ok();
    let password = NewPassword::parse(form.password.clone())
        .map_err(|e| errors.insert("password".into(), e.0))
        .ok();
    if form.password != form.password_confirm {
        errors.insert(
            "password_confirm".into(),
            "The two passwords differ.".into(),
        );
    }
    let (Some(email), Some(name), Some(password), true) =
        (email, name, password, errors.is_empty())
    else {
        let (jar, csrf_token) = anon_csrf(&state, jar).await?;
        let page = SetupPage {
            page_name: state.settings.page_name.clone(),
            csrf_token,
            token: form.token,
            email: form.email,
            name: form.name,
            errors,
            min_password: NewPassword::MIN_CHARS,
        };
        return Ok((jar, render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)?).into_response());
    };
    let mut tx = state.pool.begin().await?;
    let created =
        user_commands::create_setup_admin(&mut tx, &token_hash, &email, &name, password).await?;
    let Some(user) = created else {
        return invalid_link(&state);
    };
    let session = start_session(&mut tx, user.id, &headers, &client_ip).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "the first admin account was created and signed in");
    let jar = jar
        .add(session_cookie(&state, session))
        .add(removal(&state, anon_csrf_cookie_name(&state)));
    let welcome = redirect_with_flash(
        &state,
        "/admin",
        "Your admin account is ready and you are signed in.",
    );
    Ok((jar, welcome).into_response())
}
