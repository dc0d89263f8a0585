//! Server-Sent Events of an incident's log, shared by the browser page and the API.

use axum::http::HeaderMap;
use axum_extra::extract::cookie::CookieJar;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, Stream, StreamExt};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::accounts::sessions;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::session::SESSION_COOKIE;
use crate::incidents::events::{self, EventRow};
use crate::platform::secret::hash_token;

/// How often a live stream re-checks that its reader may still read.
pub const RECHECK: Duration = Duration::from_secs(15);

/// Whether the reader of a stream may still read (session or token still valid).
pub type StillAllowed = Box<dyn FnMut() -> BoxFuture<'static, bool> + Send>;

/// The stream ends once its session does (sign-out, expiry, disabled user).
pub fn session_check(state: &AppState, jar: &CookieJar) -> StillAllowed {
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

/// Where a stream starts: after `Last-Event-ID` when the client reconnects, else after
/// `after` (the newest entry the page was rendered with), else after the newest entry.
pub async fn resume_from(
    state: &AppState,
    headers: &HeaderMap,
    after: Option<i64>,
    incident_id: Uuid,
) -> Result<i64, AppError> {
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(after);
    match resumed {
        Some(seq) => Ok(seq),
        None => Ok(events::last_seq(&state.pool, incident_id).await?),
    }
}

struct Cursor<F> {
    state: AppState,
    incident_id: Uuid,
    seq: i64,
    pending: VecDeque<EventRow>,
    receiver: tokio::sync::broadcast::Receiver<crate::platform::live::EventSignal>,
    still_allowed: StillAllowed,
    render: F,
}

/// Every entry of the incident's log recorded after `from`, as it is committed by any
/// process, rendered by `render`. It ends when the server shuts down, or when
/// `still_allowed` says the reader lost access (signed out, disabled, token revoked).
pub fn log_entries<F, T, E>(
    state: AppState,
    incident_id: Uuid,
    from: i64,
    still_allowed: StillAllowed,
    render: F,
) -> impl Stream<Item = Result<T, E>> + Send
where
    F: FnMut(EventRow) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let receiver = state.hub.subscribe();
    let shutdown = state.shutdown.clone();
    let cursor = Cursor {
        state,
        incident_id,
        seq: from,
        pending: VecDeque::new(),
        receiver,
        still_allowed,
        render,
    };
    stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(row) = c.pending.pop_front() {
                c.seq = c.seq.max(row.seq);
                let item = (c.render)(row);
                return Some((item, c));
            }
            // Catch up first (entries committed before we subscribed, or missed on lag).
            match events::since(&c.state.pool, c.incident_id, c.seq).await {
                Ok(rows) if !rows.is_empty() => {
                    c.pending.extend(rows);
                    continue;
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "live stream: reading the log failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
            loop {
                tokio::select! {
                    received = c.receiver.recv() => match received {
                        Ok(signal) if signal.incident_id == c.incident_id && signal.seq > c.seq => break,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => return None,
                    },
                    _ = tokio::time::sleep(RECHECK) => {
                        if !(c.still_allowed)().await {
                            return None;
                        }
                    }
                }
            }
        }
    })
    .take_until(shutdown.cancelled_owned())
    .boxed()
}
