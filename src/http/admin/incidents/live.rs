//! The incident page's live stream: each new log entry as rendered HTML, over SSE.

use askama::Template;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use std::convert::Infallible;
use std::time::Duration;

use super::view::{event_view, EventItem};
use super::Reply;
use crate::accounts::Role;
use crate::http::extract::{Path, Query, Staff};
use crate::http::stream::{log_entries, resume_from, session_check};

#[derive(serde::Deserialize)]
pub struct LiveQuery {
    after: Option<i64>,
}

pub async fn live_incident(
    Staff {
        state, user, jar, ..
    }: Staff,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Query(query): Query<LiveQuery>,
) -> Reply {
    let incident = super::load(&state, &reference).await?;
    let path = super::incident_path(&incident);
    let csrf = user.csrf_token.clone();
    let can_respond = user.can(Role::Responder);
    let from = resume_from(&state, &headers, query.after, incident.id).await?;
    // Entries are rendered as the stream is read, outside this request's task.
    let reader = crate::http::zone::reader();
    let stream = log_entries(
        state.clone(),
        incident.id,
        from,
        session_check(&state, &jar),
        move |row| {
            let seq = row.seq;
            let view = crate::http::zone::within(reader.clone(), || event_view(row));
            let html = EventItem {
                e: &view,
                incident_path: &path,
                csrf_token: &csrf,
                can_respond,
            }
            .render()
            .unwrap_or_default();
            Ok::<_, Infallible>(Event::default().event("log").id(seq.to_string()).data(html))
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
