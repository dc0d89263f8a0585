//! The Alerts page's live stream: its rows re-rendered as a `groups` event whenever alert
//! groups changed in any process (`fireline_alerts`), at most one a second.

use askama::Template;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use futures_util::stream::{self, StreamExt};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;
use tokio::time::Instant;

use super::list::{items, AlertGroupRows, AlertsQuery, Filter, RowsLayout};
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::admin::Reply;
use crate::http::extract::{Query, Staff};
use crate::http::stream::{session_check, StillAllowed, RECHECK};
use crate::http::zone::{self, Reader};

/// The least time between two `groups` events of one stream.
const GAP: Duration = Duration::from_secs(1);

struct Follower {
    state: AppState,
    filter: Filter,
    receiver: Receiver<()>,
    still_allowed: StillAllowed,
    reader: Reader,
    csrf_token: String,
    can_respond: bool,
    last: Option<Instant>,
}

impl Follower {
    /// Wait for a change; `false` when the stream should end.
    async fn changed(&mut self) -> bool {
        loop {
            tokio::select! {
                received = self.receiver.recv() => match received {
                    Ok(()) | Err(RecvError::Lagged(_)) => return true,
                    Err(RecvError::Closed) => return false,
                },
                _ = tokio::time::sleep(RECHECK) => {
                    if !(self.still_allowed)().await {
                        return false;
                    }
                }
            }
        }
    }

    /// The rows as they are now.
    async fn render(&mut self) -> Event {
        let groups = match self.filter.groups(&self.state.pool).await {
            Ok(groups) => groups,
            Err(err) => {
                tracing::warn!(error = %err, "live alerts: reading the groups failed");
                return Event::default().comment("the groups could not be read");
            }
        };
        let groups = match items(&self.state.pool, &groups, self.can_respond).await {
            Ok(groups) => groups,
            Err(err) => {
                tracing::warn!(error = %err, "live alerts: reading the pages failed");
                return Event::default().comment("the pages could not be read");
            }
        };
        let rows = zone::within(self.reader.clone(), || AlertGroupRows {
            layout: RowsLayout {
                csrf_token: self.csrf_token.clone(),
                can_respond: self.can_respond,
            },
            groups,
            filtered: self.filter.is_set(),
        });
        Event::default()
            .event("groups")
            .data(rows.render().unwrap_or_default())
    }
}

pub async fn live_alert_groups(
    Staff {
        state, user, jar, ..
    }: Staff,
    Query(query): Query<AlertsQuery>,
) -> Reply {
    let filter = Filter::read(&query)?;
    let follower = Follower {
        receiver: state.hub.subscribe_alerts(),
        still_allowed: session_check(&state, &jar),
        reader: zone::reader(),
        csrf_token: user.csrf_token.clone(),
        can_respond: user.can(Role::Responder),
        last: None,
        filter,
        state: state.clone(),
    };
    let events = stream::unfold(follower, |mut f| async move {
        if !f.changed().await {
            return None;
        }
        if let Some(last) = f.last {
            tokio::time::sleep_until(last + GAP).await;
        }
        // What changed meanwhile is in this rendering too.
        while let Ok(()) | Err(TryRecvError::Lagged(_)) = f.receiver.try_recv() {}
        f.last = Some(Instant::now());
        let event = f.render().await;
        Some((Ok::<_, Infallible>(event), f))
    })
    .take_until(state.shutdown.clone().cancelled_owned());
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
