//! Notifications to people: their contact methods (which urgencies reach which), the
//! outbox every notification goes through, the providers' request shapes, and the
//! sender that delivers with retries and an SSRF guard.

pub mod contacts;
pub mod email;
pub mod outbox;
pub mod providers;
pub mod sender;

use sqlx::PgConnection;
use uuid::Uuid;

pub use contacts::{ContactKind, ContactRow};
pub use outbox::Message;
pub use sender::{NotifyConfig, Sender};

use crate::alerts::AlertUrgency;

/// Tell each of `user_ids` `message` on every contact method `urgency` reaches, in the
/// caller's transaction; `ack_url` gives each person their own acknowledge link. Returns
/// how many notifications were queued.
pub async fn tell(
    conn: &mut PgConnection,
    page_id: Option<Uuid>,
    user_ids: &[Uuid],
    urgency: AlertUrgency,
    message: impl Fn(Uuid) -> Message,
) -> sqlx::Result<usize> {
    let contacts = contacts::reaching(&mut *conn, user_ids, urgency).await?;
    for contact in &contacts {
        if let Some(user) = contact.user_id {
            outbox::enqueue(&mut *conn, page_id, contact, &message(user)).await?;
        }
    }
    Ok(contacts.len())
}

/// Post `message` to every channel of the team that `urgency` reaches, in the caller's
/// transaction. Returns how many were queued.
pub async fn announce(
    conn: &mut PgConnection,
    page_id: Option<Uuid>,
    team_id: Uuid,
    urgency: AlertUrgency,
    message: &Message,
) -> sqlx::Result<usize> {
    let channels = contacts::team_channels(&mut *conn, team_id, urgency).await?;
    for channel in &channels {
        outbox::enqueue(&mut *conn, page_id, channel, message).await?;
    }
    Ok(channels.len())
}
