//! Email subscriptions of the public page: the form's answer (the same whoever
//! subscribes), the confirmation link (it asks before confirming, as mail scanners follow
//! links), the page where a subscriber chooses components or unsubscribes, and the RFC
//! 8058 one-click unsubscribe that mail clients POST without a page or a cookie.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use uuid::Uuid;

use super::subscribe::{
    choices, chrome, email_answer, page, render_page, Choice, EmailForm, TokenQuery,
};
use crate::app::AppState;
use crate::email_subscribers::commands::{self, Asked, PublicRequest, Removal};
use crate::email_subscribers::{store, EmailSubscriberRow};
use crate::http::error::AppError;
use crate::http::extract::{ClientIp, CsrfForm, Path, Query};
use crate::http::session::anon_csrf;
use crate::platform::command::CommandError;
use crate::status_page::render::Chrome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscribe/email", post(subscribe))
        .route(
            "/subscribe/email/{id}/confirm",
            get(show_confirm).post(confirm),
        )
        .route("/subscribe/email/{id}", get(show_manage).post(manage))
        .route(
            "/subscribe/email/{id}/unsubscribe",
            get(unsubscribe_link).post(one_click),
        )
}

fn fields_of(fields: &[(String, String)]) -> (String, Vec<Uuid>, String, String) {
    let (mut email, mut components, mut token, mut action) =
        (String::new(), Vec::new(), String::new(), String::new());
    for (k, v) in fields {
        match k.as_str() {
            "email" => email = v.clone(),
            "component" => components.extend(Uuid::parse_str(v).ok()),
            "token" => token = v.clone(),
            "action" => action = v.clone(),
            _ => {}
        }
    }
    (email, components, token, action)
}

pub async fn subscribe(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (address, components, _, _) = fields_of(&fields);
    if state.settings.notify.smtp.is_none() {
        return Err(AppError::NotFound(
            "This status page does not send email; follow it by feed or webhook instead.".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let request = PublicRequest {
        email: &address,
        component_ids: &components,
        ip: &ip,
    };
    let asked = commands::ask(&mut tx, request).await;
    let refuse = |message: String, status| {
        let form = EmailForm {
            address: address.clone(),
            components: components.clone(),
            error: Some(message),
            sent_to: None,
        };
        (form, status)
    };
    let (form, status) = match asked {
        Ok(Asked::CheckInbox) => {
            tx.commit().await?;
            let form = EmailForm {
                sent_to: Some(address.trim().to_owned()),
                ..EmailForm::default()
            };
            (form, StatusCode::OK)
        }
        Ok(Asked::TooMany) => {
            // The attempt is counted even so.
            tx.commit().await?;
            refuse(
                format!(
                    "Too many subscribe attempts from your network: at most {} an hour. Try again later.",
                    crate::email_subscribers::ATTEMPTS_PER_NETWORK_PER_HOUR
                ),
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            refuse(message, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => return Err(other.into()),
    };
    let mut response = email_answer(&state, jar, form, status).await?;
    if status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("3600"),
        );
    }
    Ok(response)
}

fn invalid_link() -> AppError {
    AppError::NotFound(
        "This link is not valid: it was replaced by a newer one, it expired, or the \
         subscription was removed. You can subscribe again on the Subscribe page."
            .into(),
    )
}

/// The subscriber a manage link names, when its token is right.
async fn managed(state: &AppState, id: &str, token: &str) -> Result<EmailSubscriberRow, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| invalid_link())?;
    let links = state.email_links().await?;
    if !links.manage_matches(id, token) {
        return Err(invalid_link());
    }
    store::find(&state.pool, id).await?.ok_or_else(invalid_link)
}

#[derive(Template)]
#[template(path = "public/email_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    csrf_token: String,
    id: Uuid,
    token: String,
    email: String,
    done: bool,
    /// The components chosen, in words; empty: everything.
    components: String,
}

fn component_words(state: &AppState, ids: &[Uuid]) -> String {
    let names: Vec<String> = choices(state, ids)
        .into_iter()
        .filter(|c| c.checked)
        .map(|c| c.name)
        .collect();
    names.join(", ")
}

async fn confirm_page(
    state: &AppState,
    jar: CookieJar,
    row: &EmailSubscriberRow,
    token: String,
    done: bool,
) -> Result<Response, AppError> {
    let (jar, csrf_token) = anon_csrf(state, jar).await?;
    let body = render_page(&ConfirmPage {
        chrome: chrome(state),
        csrf_token,
        id: row.id,
        token,
        email: row.email.clone(),
        done,
        components: component_words(state, &row.component_ids),
    })?;
    Ok(page(StatusCode::OK, jar, body))
}

/// Asks first: a GET changes nothing, so a mail scanner following the link confirms
/// nobody.
pub async fn show_confirm(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| invalid_link())?;
    let row = store::find(&state.pool, id)
        .await?
        .ok_or_else(invalid_link)?;
    let links = state.email_links().await?;
    let current = row
        .confirm_sent_at
        .is_some_and(|sent| links.confirm_matches(id, sent, &query.token));
    let expired = row
        .confirm_expires_at
        .is_some_and(|at| at <= time::OffsetDateTime::now_utc());
    if !current || expired {
        return Err(invalid_link());
    }
    let done = row.state == crate::email_subscribers::EmailState::Confirmed;
    confirm_page(&state, jar, &row, query.token, done).await
}

pub async fn confirm(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<TokenQuery>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| invalid_link())?;
    let links = state.email_links().await?.clone();
    let mut tx = state.pool.begin().await?;
    let row = commands::confirm(&mut tx, &links, id, &form.token)
        .await?
        .map_err(|_| invalid_link())?;
    tx.commit().await?;
    confirm_page(&state, jar, &row, String::new(), true).await
}

#[derive(Template)]
#[template(path = "public/email_manage.html")]
struct ManagePage {
    chrome: Chrome,
    csrf_token: String,
    id: Uuid,
    token: String,
    email: String,
    choices: Vec<Choice>,
    flash: Option<String>,
    error: Option<String>,
    unsubscribed: bool,
}

struct Outcome {
    flash: Option<String>,
    error: Option<String>,
    unsubscribed: bool,
}

async fn manage_page(
    state: &AppState,
    jar: CookieJar,
    row: &EmailSubscriberRow,
    token: String,
    outcome: Outcome,
) -> Result<Response, AppError> {
    let (jar, csrf_token) = anon_csrf(state, jar).await?;
    let status = if outcome.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = render_page(&ManagePage {
        chrome: chrome(state),
        csrf_token,
        id: row.id,
        token,
        email: row.email.clone(),
        choices: choices(state, &row.component_ids),
        flash: outcome.flash,
        error: outcome.error,
        unsubscribed: outcome.unsubscribed,
    })?;
    Ok(page(status, jar, body))
}

pub async fn show_manage(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let row = managed(&state, &id, &query.token).await?;
    let outcome = Outcome {
        flash: None,
        error: None,
        unsubscribed: false,
    };
    manage_page(&state, jar, &row, query.token, outcome).await
}

pub async fn manage(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (_, components, token, action) = fields_of(&fields);
    let row = managed(&state, &id, &token).await?;
    let mut tx = state.pool.begin().await?;
    if action == "unsubscribe" {
        commands::remove(&mut tx, row.id, Removal::Unsubscribed).await?;
        tx.commit().await?;
        let outcome = Outcome {
            flash: None,
            error: None,
            unsubscribed: true,
        };
        return manage_page(&state, jar, &row, String::new(), outcome).await;
    }
    match commands::choose_components(&mut tx, None, row.id, &components).await {
        Ok(saved) => {
            tx.commit().await?;
            let outcome = Outcome {
                flash: Some("Saved. Your next emails follow this choice.".into()),
                error: None,
                unsubscribed: false,
            };
            manage_page(&state, jar, &saved, token, outcome).await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            let outcome = Outcome {
                flash: None,
                error: Some(message),
                unsubscribed: false,
            };
            manage_page(&state, jar, &row, token, outcome).await
        }
        Err(other) => Err(other.into()),
    }
}

/// A mail client that opens the List-Unsubscribe URL instead of POSTing to it gets the
/// page that asks.
pub async fn unsubscribe_link(
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| invalid_link())?;
    let token: String = url::form_urlencoded::byte_serialize(query.token.as_bytes()).collect();
    Ok(Redirect::to(&format!("/subscribe/email/{id}?token={token}")).into_response())
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct OneClick {
    #[serde(rename = "List-Unsubscribe")]
    list_unsubscribe: String,
}

/// RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the header's URL,
/// with no cookie and no page; the signed token in the URL is the authority. A second
/// POST, or one for a subscription gone already, succeeds too.
pub async fn one_click(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
    Form(body): Form<OneClick>,
) -> Result<Response, AppError> {
    if body.list_unsubscribe != "One-Click" {
        return Err(AppError::BadRequest(
            "A one-click unsubscribe sends List-Unsubscribe=One-Click.".into(),
        ));
    }
    let id = Uuid::parse_str(&id).map_err(|_| invalid_link())?;
    let links = state.email_links().await?;
    if !links.manage_matches(id, &query.token) {
        return Err(invalid_link());
    }
    let mut tx = state.pool.begin().await?;
    commands::remove(&mut tx, id, Removal::Unsubscribed).await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        "Unsubscribed. No more email will be sent to this address.\n",
    )
        .into_response())
}
