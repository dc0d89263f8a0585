//! The paging consumer of the domain-event stream: a critical group that opens (or rises
//! to critical) starts a page; an acknowledgement, a resolution or a silence of the group
//! ends its running page. Each event is applied once, in the consumer's transaction.

use futures_util::future::BoxFuture;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::model::{AckVia, PageState};
use super::{acknowledge, engine, store};
use crate::alerts::groups;
use crate::alerts::happened::AlertGroupEvent;
use crate::alerts::model::AlertUrgency;
use crate::platform::events::{Consumer, StoredEvent};

/// The consumer's name in `event_consumers`.
pub const CONSUMER: &str = "paging";

pub struct Paging;

impl Consumer for Paging {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            if !event.kind.starts_with("alert_group.") {
                return Ok(());
            }
            let event: AlertGroupEvent = serde_json::from_value(event.payload.clone())?;
            apply(conn, event, OffsetDateTime::now_utc()).await?;
            Ok(())
        })
    }
}

async fn apply(
    conn: &mut PgConnection,
    event: AlertGroupEvent,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    match event {
        AlertGroupEvent::Opened {
            group_id,
            urgency: AlertUrgency::Critical,
            ..
        }
        | AlertGroupEvent::Escalated {
            group_id,
            urgency: AlertUrgency::Critical,
        } => {
            engine::start(conn, group_id, at).await?;
        }
        AlertGroupEvent::Opened {
            group_id,
            urgency: AlertUrgency::High,
            ..
        }
        | AlertGroupEvent::Escalated {
            group_id,
            urgency: AlertUrgency::High,
        } => {
            super::announce::notice_high(conn, group_id, at).await?;
        }
        AlertGroupEvent::Acknowledged { group_id, by } => {
            let via = if by.is_some() {
                AckVia::Web
            } else {
                AckVia::Source
            };
            if let Some(page) = unanswered(conn, group_id).await? {
                acknowledge::mark(conn, &page, by, via, at).await?;
            }
        }
        AlertGroupEvent::Resolved { group_id, .. } => {
            if let Some(page) = running(conn, group_id).await? {
                let body = "The alert resolved before anyone acknowledged: nobody more is paged.";
                acknowledge::end(conn, &page, PageState::Resolved, body, at).await?;
            }
        }
        AlertGroupEvent::Silenced { group_id, .. } => {
            if let Some(page) = running(conn, group_id).await? {
                let body = "The alert was silenced: nobody more is paged.";
                acknowledge::end(conn, &page, PageState::Resolved, body, at).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The group's page still waiting for an acknowledgement, locked after the group.
async fn unanswered(
    conn: &mut PgConnection,
    group_id: Uuid,
) -> sqlx::Result<Option<super::PageRow>> {
    if groups::lock(&mut *conn, group_id).await?.is_none() {
        return Ok(None);
    }
    match store::unanswered_of_group(&mut *conn, group_id).await? {
        Some(id) => store::lock(&mut *conn, id).await,
        None => Ok(None),
    }
}

/// The group's running page, locked (after the group) for a change.
async fn running(conn: &mut PgConnection, group_id: Uuid) -> sqlx::Result<Option<super::PageRow>> {
    if groups::lock(&mut *conn, group_id).await?.is_none() {
        return Ok(None);
    }
    match store::running_of_group(&mut *conn, group_id).await? {
        Some(id) => store::lock(&mut *conn, id).await,
        None => Ok(None),
    }
}
