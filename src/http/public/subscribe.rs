//! `/subscribe`: email for people (double opt-in, in `super::email`), feeds, and for
//! developers JSON and webhook subscriptions. A webhook's secret is shown once with how
//! to verify signatures; every message carries a link to `/subscribe/manage/{id}?token=…`,
//! which asks before unsubscribing.

use crate::webhooks::commands::{self, Removal};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::admin::subscribers::read_form;
use crate::http::error::AppError;
use crate::http::extract::{ClientIp, CsrfForm, Path, Query};
use crate::http::session::anon_csrf;
use crate::incidents::CommandError;
use crate::status_page::render::{self, Chrome};
use crate::webhooks::subscribers::{self, SubscriberRow};
use crate::webhooks::{self, SubscribeRequest, SUBSCRIBES_PER_HOUR};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscribe", get(show_subscribe).post(subscribe))
        .route(
            "/subscribe/manage/{id}",
            get(show_unsubscribe).post(unsubscribe),
        )
}

pub struct Choice {
    pub id: Uuid,
    pub name: String,
    pub group: Option<String>,
    pub checked: bool,
}

pub struct Created {
    pub url: String,
    pub secret: String,
    pub unsubscribe: String,
}

#[derive(Template)]
#[template(path = "public/subscribe.html")]
struct SubscribePage {
    chrome: Chrome,
    csrf_token: String,
    choices: Vec<Choice>,
    url: String,
    error: Option<String>,
    created: Option<Created>,
    /// Mail can be sent (SMTP is configured), so the email form is offered.
    email_enabled: bool,
    email: EmailForm,
    email_choices: Vec<Choice>,
}

/// The email form as a visitor filled it in, and what came of it.
#[derive(Default)]
pub struct EmailForm {
    pub address: String,
    pub components: Vec<Uuid>,
    pub error: Option<String>,
    /// The address a confirmation was (or would have been) sent to.
    pub sent_to: Option<String>,
}

#[derive(Template)]
#[template(path = "public/unsubscribe.html")]
struct UnsubscribePage {
    chrome: Chrome,
    csrf_token: String,
    id: Uuid,
    token: String,
    url: String,
    done: bool,
}

/// The layout's data from the snapshot; before the first snapshot, plain defaults.
pub(super) fn chrome(state: &AppState) -> Chrome {
    match state.status_page.snapshot() {
        Some(snapshot) => render::chrome(&snapshot.data, &snapshot.clock, snapshot.stale),
        None => Chrome {
            name: state.settings.page_name.clone(),
            url: state.settings.base_url.clone(),
            has_logo: false,
            footer_links: Vec::new(),
            updated: String::new(),
            updated_iso: String::new(),
            updated_utc: String::new(),
            stale: None,
        },
    }
}

pub(super) fn choices(state: &AppState, checked: &[Uuid]) -> Vec<Choice> {
    let Some(snapshot) = state.status_page.snapshot() else {
        return Vec::new();
    };
    let data = &snapshot.data;
    data.components
        .iter()
        .map(|c| Choice {
            id: c.id,
            name: c.name.clone(),
            group: c
                .group_id
                .and_then(|g| data.groups.iter().find(|x| x.id == g))
                .map(|g| g.name.clone()),
            checked: checked.contains(&c.id),
        })
        .collect()
}

/// A personal page (it holds a CSRF token): never cached.
pub(super) fn page(status: StatusCode, jar: CookieJar, body: String) -> Response {
    let mut response = (status, jar, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn render_page(template: &impl Template) -> Result<String, AppError> {
    template
        .render()
        .map_err(|e| AppError::Internal(anyhow::Error::from(e)))
}

pub async fn show_subscribe(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let (jar, csrf_token) = anon_csrf(&state, jar).await?;
    let form = SubscribeForm::default();
    subscribe_page(&state, (jar, csrf_token), form, StatusCode::OK)
}

/// The subscribe page with the email form as given, or what came of it.
pub(super) async fn email_answer(
    state: &AppState,
    jar: CookieJar,
    email: EmailForm,
    status: StatusCode,
) -> Result<Response, AppError> {
    let visitor = anon_csrf(state, jar).await?;
    let form = SubscribeForm {
        email,
        ..SubscribeForm::default()
    };
    subscribe_page(state, visitor, form, status)
}

/// The subscribe form as a visitor filled it in, what was wrong with it, or the
/// subscription just made.
#[derive(Default)]
struct SubscribeForm {
    url: String,
    components: Vec<Uuid>,
    error: Option<String>,
    created: Option<Created>,
    email: EmailForm,
}

/// The subscribe page for a visitor with its anonymous CSRF cookie and token.
fn subscribe_page(
    state: &AppState,
    (jar, csrf_token): (CookieJar, String),
    form: SubscribeForm,
    status: StatusCode,
) -> Result<Response, AppError> {
    let body = render_page(&SubscribePage {
        chrome: chrome(state),
        csrf_token,
        choices: choices(state, &form.components),
        url: form.url,
        error: form.error,
        created: form.created,
        email_enabled: state.settings.notify.smtp.is_some(),
        email_choices: choices(state, &form.email.components),
        email: form.email,
    })?;
    Ok(page(status, jar, body))
}

pub async fn subscribe(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (url, _, components) = read_form(&fields);
    let visitor = anon_csrf(&state, jar).await?;
    let refuse = |status: StatusCode, message: String, visitor| {
        let (url, components) = (url.clone(), components.clone());
        let form = SubscribeForm {
            url,
            components,
            error: Some(message),
            ..SubscribeForm::default()
        };
        subscribe_page(&state, visitor, form, status)
    };
    let mut tx = state.pool.begin().await?;
    let attempts = subscribers::count_subscribe_attempt(&mut tx, &webhooks::rate_key(&ip)).await?;
    tx.commit().await?;
    if attempts > SUBSCRIBES_PER_HOUR {
        let mut response = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many subscribe attempts from your address: at most {SUBSCRIBES_PER_HOUR} an hour. Try again later."
            ),
            visitor,
        )?;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
        return Ok(response);
    }
    let made = webhooks::subscribe(
        &state.pool,
        state.settings.webhooks.allow_private,
        SubscribeRequest {
            url: &url,
            description: "Subscribed on the public page",
            component_ids: &components,
            created_by: None,
            created_ip: Some(&ip),
        },
    )
    .await;
    let made = match made {
        Ok(made) => made,
        Err(CommandError::Invalid { message, .. }) => {
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, message, visitor)
        }
        Err(err) => return Err(err.into()),
    };
    let created = Created {
        url: made.subscriber.url.clone(),
        unsubscribe: webhooks::unsubscribe_link(&chrome(&state).url, &made.subscriber)
            .unwrap_or_default(),
        secret: made.secret,
    };
    let form = SubscribeForm {
        created: Some(created),
        ..SubscribeForm::default()
    };
    subscribe_page(&state, visitor, form, StatusCode::CREATED)
}

/// The token of a link, in its query string or sent back in the form it opened.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    pub(super) token: String,
}

/// The subscriber the link names, when its token is right.
async fn linked(state: &AppState, id: &str, token: &str) -> Result<SubscriberRow, AppError> {
    let invalid = || {
        AppError::NotFound(
            "This unsubscribe link is not valid, or the subscription was already removed.".into(),
        )
    };
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    let subscriber = subscribers::find(&state.pool, id)
        .await?
        .ok_or_else(invalid)?;
    if !webhooks::unsubscribe_token_matches(&subscriber, token) {
        return Err(invalid());
    }
    Ok(subscriber)
}

/// Asks first: link checkers and mail scanners follow links, and must not unsubscribe.
pub async fn show_unsubscribe(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let subscriber = linked(&state, &id, &query.token).await?;
    unsubscribe_page(&state, jar, subscriber, (query.token, false)).await
}

pub async fn unsubscribe(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<TokenQuery>,
) -> Result<Response, AppError> {
    let subscriber = linked(&state, &id, &form.token).await?;
    let mut tx = state.pool.begin().await?;
    commands::remove(&mut tx, &subscriber, Removal::Unsubscribed).await?;
    tx.commit().await?;
    unsubscribe_page(&state, jar, subscriber, (String::new(), true)).await
}

/// The page that asks before unsubscribing (with the link's `token`), or says it is `done`.
async fn unsubscribe_page(
    state: &AppState,
    jar: CookieJar,
    subscriber: SubscriberRow,
    (token, done): (String, bool),
) -> Result<Response, AppError> {
    let (jar, csrf_token) = anon_csrf(state, jar).await?;
    let body = render_page(&UnsubscribePage {
        chrome: chrome(state),
        csrf_token,
        id: subscriber.id,
        token,
        done,
        url: subscriber.url,
    })?;
    Ok(page(StatusCode::OK, jar, body))
}
