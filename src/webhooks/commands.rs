//! Subscriber commands the front doors share: each change and its audit entry in the
//! caller's transaction.

use sqlx::PgConnection;
use uuid::Uuid;

use super::subscribers::{self, SubscriberRow};
use super::SubscriberState;
use crate::platform::audit::{self, AuditAction};

/// Who removes a subscriber: an administrator, or the subscriber through its link.
#[derive(Debug, Clone, Copy)]
pub enum Removal {
    ByAdmin(Uuid),
    Unsubscribed,
}

/// Remove a subscriber and its delivery log.
#[tracing::instrument(skip_all, fields(subscriber_id = %subscriber.id))]
pub async fn remove(
    conn: &mut PgConnection,
    subscriber: &SubscriberRow,
    by: Removal,
) -> sqlx::Result<()> {
    subscribers::delete(&mut *conn, subscriber.id).await?;
    let (actor, action) = match by {
        Removal::ByAdmin(actor) => (
            Some(actor),
            AuditAction::SubscriberRemoved {
                subscriber_id: subscriber.id,
                url: subscriber.url.clone(),
            },
        ),
        Removal::Unsubscribed => (
            None,
            AuditAction::SubscriberUnsubscribed {
                subscriber_id: subscriber.id,
                url: subscriber.url.clone(),
            },
        ),
    };
    audit::log(conn, actor, &action).await
}

/// Pause, resume, re-enable or disable a subscriber.
#[tracing::instrument(skip_all, fields(subscriber_id = %id, to = %to))]
pub async fn set_state(
    conn: &mut PgConnection,
    actor: Uuid,
    id: Uuid,
    to: SubscriberState,
    reason: Option<&str>,
) -> sqlx::Result<SubscriberRow> {
    let row = subscribers::set_state(&mut *conn, id, to, reason).await?;
    record_change(conn, actor, id, Some(to), None, None).await?;
    Ok(row)
}

/// The audit entry of a change to a subscriber's state, description or components.
pub async fn record_change(
    conn: &mut PgConnection,
    actor: Uuid,
    id: Uuid,
    state: Option<SubscriberState>,
    description: Option<String>,
    component_ids: Option<Vec<Uuid>>,
) -> sqlx::Result<()> {
    let action = AuditAction::SubscriberChanged {
        subscriber_id: id,
        state: state.map(|s| s.as_str().to_owned()),
        description,
        component_ids,
    };
    audit::log(conn, Some(actor), &action).await
}
