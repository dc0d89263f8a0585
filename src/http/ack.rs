//! `/ack/{token}`: the signed acknowledge link of a notification, no sign-in needed.
//! `GET` shows the page and a button (mail scanners and link previews follow links and
//! must not acknowledge); `POST` acknowledges. The signed token is the credential: it
//! names one page and one person and works until the page ends or the link expires, so
//! the form carries no separate CSRF token (a third party cannot know the token), and
//! ntfy's action button can `POST` it directly.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use time::OffsetDateTime;

use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::Path;
use crate::paging::links::{self, AckLink, LinkError};
use crate::paging::{self, AckOutcome, AckVia, PageRow, PageState};
use crate::platform::time::format_utc;

pub fn router() -> Router<AppState> {
    Router::new().route("/ack/{token}", get(show).post(acknowledge))
}

#[derive(Template)]
#[template(path = "auth/ack.html")]
struct AckPage {
    page_name: String,
    heading: String,
    group: String,
    title: String,
    status: String,
    person: String,
    can_acknowledge: bool,
    group_url: String,
}

async fn read(state: &AppState, token: &str) -> Result<(AckLink, PageRow, String), AppError> {
    let key = links::key(&state.pool).await?;
    let link = links::verify(&key, token, OffsetDateTime::now_utc()).map_err(|e| match e {
        LinkError::Forged => AppError::Forbidden(
            "This acknowledge link is not valid: it was changed, or it is not from this Fireline.".into(),
        ),
        LinkError::Expired => AppError::Forbidden(
            "This acknowledge link has expired. Sign in to Fireline to acknowledge the alert there.".into(),
        ),
    })?;
    let page = paging::store::find(&state.pool, link.page_id)
        .await?
        .ok_or_else(|| AppError::NotFound("This page no longer exists.".into()))?;
    let person = crate::oncall::duty::names(&state.pool, &[link.user_id])
        .await?
        .remove(&link.user_id)
        .ok_or_else(|| {
            AppError::Forbidden("The person this link was sent to no longer exists.".into())
        })?;
    Ok((link, page, person))
}

fn render(
    state: &AppState,
    page: &PageRow,
    person: String,
    heading: &str,
    status: String,
) -> Result<Response, AppError> {
    let view = AckPage {
        page_name: state.settings.page_name.clone(),
        heading: heading.to_owned(),
        group: crate::alerts::commands::reference(page.group_number),
        title: page.group_title.clone(),
        status,
        can_acknowledge: page.state.running() || page.state == PageState::Exhausted,
        person,
        group_url: format!("/admin/alert-groups/{}", page.group_number),
    };
    Ok(Html(view.render().map_err(|e| AppError::Internal(e.into()))?).into_response())
}

fn how_it_stands(page: &PageRow, now: OffsetDateTime) -> String {
    match page.state {
        PageState::CountingDown => match (page.countdown_seconds(now), &page.countdown_target) {
            (Some(s), Some(who)) => format!("Paging {who} in {s} s unless someone acknowledges."),
            _ => "Counting down before someone is paged.".into(),
        },
        PageState::Paging => "People are being paged and nobody has acknowledged yet.".into(),
        PageState::Acknowledged => format!(
            "Already acknowledged by {} at {}: nothing more happens.",
            page.acknowledged_by_name.as_deref().unwrap_or("the monitoring tool"),
            page.acknowledged_at.map(format_utc).unwrap_or_default()
        ),
        PageState::Resolved => "This page has ended: the alert resolved (or was silenced) first.".into(),
        PageState::Exhausted => "This page has ended: every step ran and nobody acknowledged. Open the alert to take it on.".into(),
        PageState::Muted => "Nobody was paged: the team was in acked mode, someone is watching already.".into(),
    }
}

async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (_, page, person) = read(&state, &token).await?;
    let heading = format!("{} for {person}", page.reference());
    let status = how_it_stands(&page, OffsetDateTime::now_utc());
    render(&state, &page, person, &heading, status)
}

async fn acknowledge(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (link, page, person) = read(&state, &token).await?;
    let now = OffsetDateTime::now_utc();
    let mut tx = state.pool.begin().await?;
    let outcome = paging::acknowledge(&mut tx, page.id, link.user_id, AckVia::Link, now).await?;
    tx.commit().await?;
    let page = paging::store::find(&state.pool, page.id)
        .await?
        .ok_or_else(|| AppError::NotFound("This page no longer exists.".into()))?;
    let (heading, status) = match outcome {
        AckOutcome::Acknowledged => (
            "Acknowledged".to_owned(),
            format!(
                "Thank you, {person}: nobody else is paged for it, and you are named as the one looking at it.{}",
                page.team_name
                    .as_ref()
                    .map(|t| format!(" {t} is in acked mode: further critical alerts page nobody for a while."))
                    .unwrap_or_default()
            ),
        ),
        AckOutcome::Already { .. } | AckOutcome::Ended(_) => (page.reference(), how_it_stands(&page, now)),
    };
    render(&state, &page, person, &heading, status)
}
