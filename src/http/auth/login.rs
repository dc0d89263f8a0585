use crate::accounts::sessions;
use crate::accounts::users;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{safe_next, start_session};
use crate::accounts::login_attempts::{self, Throttled};
use crate::accounts::verify_password;
use crate::accounts::Email;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{ClientIp, CsrfForm, MaybeUser, Query};
use crate::http::page::render_status;
use crate::http::session::{
    anon_csrf, anon_csrf_cookie_name, removal, session_cookie, take_flash, FLASH_COOKIE,
    SESSION_COOKIE,
};
use crate::platform::secret::hash_token;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page_name: String,
    csrf_token: String,
    email: String,
    next: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn show_login(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    jar: CookieJar,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(query.next.as_deref());
    if user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let notice = take_flash(&jar);
    let jar = if notice.is_some() {
        jar.add(removal(&state, FLASH_COOKIE))
    } else {
        jar
    };
    let (jar, csrf_token) = anon_csrf(&state, jar).await?;
    let page = LoginPage {
        page_name: state.settings.page_name.clone(),
        csrf_token,
        email: String::new(),
        next,
        notice,
        error: None,
    };
    Ok((jar, render_status(StatusCode::OK, &page)?).into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(form.next.as_deref());
    // For the form shown again when the attempt is refused.
    let (jar, csrf_token) = anon_csrf(&state, jar).await?;
    let refuse =
        |status: StatusCode, message: String, jar: CookieJar| -> Result<Response, AppError> {
            let page = LoginPage {
                page_name: state.settings.page_name.clone(),
                csrf_token: csrf_token.clone(),
                email: form.email.trim().to_owned(),
                next: next.clone(),
                notice: None,
                error: Some(message),
            };
            Ok((jar, render_status(status, &page)?).into_response())
        };

    let Ok(email) = Email::parse(&form.email) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter the email address of your account.".into(),
            jar,
        );
    };
    // The attempt is counted before the password is checked (see `login_attempts::begin`),
    // under the address, or its /64 for IPv6.
    let client_key = crate::webhooks::rate_key(&client_ip);
    let mut tx = state.pool.begin().await?;
    let attempt = match login_attempts::begin(&mut tx, email.as_str(), &client_key).await? {
        Ok(attempt) => attempt,
        Err(throttled) => {
            let (message, until) = throttled_message(throttled, OffsetDateTime::now_utc());
            let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, message, jar)?;
            let seconds = (until - OffsetDateTime::now_utc()).whole_seconds().max(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return Ok(response);
        }
    };
    tx.commit().await?;
    let credentials = users::credentials(&state.pool, email.as_str()).await?;
    // Unknown emails are checked against a dummy hash so both take the same time.
    let stored = credentials
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_owned());
    let password = form.password.clone();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password check failed: {e}")))?;
    let user = match credentials {
        Some(c) if matches && !c.user.is_disabled() => c.user,
        Some(c) if matches => {
            tracing::info!(user_id = %c.user.id, "a disabled user tried to sign in");
            return refuse(
                StatusCode::FORBIDDEN,
                "This account is disabled. Ask an administrator to enable it.".into(),
                jar,
            );
        }
        _ => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "That email and password do not match an account.".into(),
                jar,
            );
        }
    };

    // A fresh session id at every sign-in; the old session, if any, ends.
    let mut tx = state.pool.begin().await?;
    if let Some(old) = jar.get(SESSION_COOKIE) {
        sessions::delete(&mut *tx, &hash_token(old.value())).await?;
    }
    let token = start_session(&mut tx, user.id, &headers, &client_ip).await?;
    login_attempts::mark_succeeded(&mut *tx, attempt).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "signed in");
    let jar = jar
        .add(session_cookie(&state, token))
        .add(removal(&state, anon_csrf_cookie_name(&state)));
    Ok((jar, Redirect::to(&next)).into_response())
}

/// A valid argon2id hash of a random string, for timing-equal checks of unknown emails.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2dTuTuqnBO5qAMoySrkuXyxdGlDb8eW1mb2qRUpOTYo";

/// What to tell someone who must wait, and until when.
fn throttled_message(throttled: Throttled, now: OffsetDateTime) -> (String, OffsetDateTime) {
    match throttled {
        Throttled::Client { until } => {
            let minutes = ((until - now).whole_seconds().max(1) + 59) / 60;
            let at = until
                .format(time::macros::format_description!("[hour]:[minute]"))
                .unwrap_or_default();
            let message = format!(
                "Too many failed sign-in attempts from your address. Try again in {minutes} \
                 minute{} (at {at} UTC).",
                if minutes == 1 { "" } else { "s" }
            );
            (message, until)
        }
        Throttled::Account { until } => {
            let seconds = (until - now).whole_seconds().max(1);
            let at = until
                .format(time::macros::format_description!(
                    "[hour]:[minute]:[second]"
                ))
                .unwrap_or_default();
            let message = format!(
                "This account has had several failed sign-in attempts, so each new one waits \
                 a little. Try again in {seconds} second{} (at {at} UTC).",
                if seconds == 1 { "" } else { "s" }
            );
            (message, until)
        }
    }
}

#[derive(Template)]
#[template(path = "auth/logout.html")]
struct LogoutPage {
    page_name: String,
    csrf_token: String,
    user_name: String,
}

pub async fn show_logout(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
) -> Result<Response, AppError> {
    let Some(user) = user else {
        return Ok(Redirect::to("/login").into_response());
    };
    render_status(
        StatusCode::OK,
        &LogoutPage {
            page_name: state.settings.page_name.clone(),
            csrf_token: user.csrf_token,
            user_name: user.user.name,
        },
    )
}

#[derive(Deserialize)]
pub struct LogoutForm {}

pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm(_): CsrfForm<LogoutForm>,
) -> Result<Response, AppError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        sessions::delete(&state.pool, &hash_token(cookie.value())).await?;
    }
    let jar = jar.add(removal(&state, SESSION_COOKIE));
    Ok((jar, Redirect::to("/login")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("", DUMMY_HASH));
    }

    #[test]
    fn throttled_messages_say_when_to_try_again() {
        let now = OffsetDateTime::now_utc();
        let until = now + time::Duration::minutes(7);
        let (message, at) = throttled_message(Throttled::Client { until }, now);
        assert_eq!(at, until);
        assert!(message.contains("from your address"), "{message}");
        assert!(message.contains("Try again in 7 minutes"), "{message}");
        assert!(message.contains("UTC"), "{message}");

        let until = now + time::Duration::seconds(8);
        let (message, _) = throttled_message(Throttled::Account { until }, now);
        assert!(message.contains("Try again in 8 seconds"), "{message}");
        let (message, _) = throttled_message(Throttled::Account { until: now }, now);
        assert!(message.contains("Try again in 1 second "), "{message}");
    }
}
