//! The incident page's live stream: each new log entry as rendered HTML, over SSE.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;

use super::view::{event_view, EventItem};
use crate::app::AppState;
use crate::domain::Role;
use crate::error::AppError;
use crate::http::extract::{CurrentUser, Path};
use crate::http::stream::{log_entries, resume_from};

pub async fn live_incident(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Result<Response, AppError> {
    let incident = super::load(&state, &reference).await?;
    let path = super::incident_path(&incident);
    let csrf = user.csrf_token.clone();
    let can_respond = user.can(Role::Responder);
    let from = resume_from(&state, &headers, incident.id).await?;
    let stream = log_entries(state.clone(), incident.id, from, move |row| {
        let seq = row.seq;
        let view = event_view(row);
        let html = EventItem {
            e: &view,
            incident_path: &path,
            csrf_token: &csrf,
            can_respond,
        }
        .render()
        .unwrap_or_default();
        Ok::<_, Infallible>(Event::default().event("log").id(seq.to_string()).data(html))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
