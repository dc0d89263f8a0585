//! The incident page's live stream: each new log entry as rendered HTML, over SSE.

use crate::accounts::sessions;
use askama::Template;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use std::convert::Infallible;
use std::time::Duration;

use super::view::{event_view, EventItem};
use super::Reply;
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::extract::{Path, Query, Staff};
use crate::http::session::SESSION_COOKIE;
use crate::http::stream::{log_entries, resume_from, StillAllowed};
use crate::platform::secret::hash_token;

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

/// The stream ends once its session does (sign-out, expiry, disabled user).
fn session_check(state: &AppState, jar: &CookieJar) -> StillAllowed {
    let id_hash = jar.get(SESSION_COOKIE).map(|c| hash_token(c.value()));
    let state = state.clone();
    Box::new(move || {
        let (state, id_hash) = (state.clone(), id_hash.clone());
        Box::pin(async move {
            let Some(hash) = id_hash else {
                return false;
            };
            let idle = state.settings.session_idle;
            !matches!(
                sessions::find_live(&state.pool, &hash, idle).await,
                Ok(None)
            )
        })
    })
}
