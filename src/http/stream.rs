//! Server-Sent Events of an incident's log, shared by the browser page and the API.

use axum::http::HeaderMap;
use futures_util::stream::{self, Stream, StreamExt};
use std::collections::VecDeque;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::app::AppState;
use crate::db::incidents::events::{self, EventRow};
use crate::error::AppError;

/// Where a stream starts: after `Last-Event-ID` when the client reconnects, else after
/// the newest entry (the page already shows everything before it).
pub async fn resume_from(
    state: &AppState,
    headers: &HeaderMap,
    incident_id: Uuid,
) -> Result<i64, AppError> {
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
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
    receiver: tokio::sync::broadcast::Receiver<crate::live::EventSignal>,
    render: F,
}

/// Every entry of the incident's log recorded after `from`, as it is committed by any
/// process, rendered by `render`.
pub fn log_entries<F, T, E>(
    state: AppState,
    incident_id: Uuid,
    from: i64,
    render: F,
) -> impl Stream<Item = Result<T, E>> + Send
where
    F: FnMut(EventRow) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let receiver = state.hub.subscribe();
    let cursor = Cursor {
        state,
        incident_id,
        seq: from,
        pending: VecDeque::new(),
        receiver,
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
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            }
            loop {
                match c.receiver.recv().await {
                    Ok(signal) if signal.incident_id == c.incident_id && signal.seq > c.seq => {
                        break
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
    .boxed()
}
