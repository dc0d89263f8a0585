//! The `notifications` outbox: written in the transaction that decides someone must be
//! told (a page, a test), claimed by the sender with `FOR UPDATE SKIP LOCKED` and a lease,
//! and marked sent, retried with backoff, or failed.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::contacts::{ContactKind, ContactRow};
use crate::alerts::AlertUrgency;

/// The channel the sender listens on.
pub const CHANNEL: &str = "fireline_notifications";

/// What a notification says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub title: String,
    pub body: String,
    /// The signed acknowledge link, for a page.
    pub ack_url: Option<String>,
    pub urgency: AlertUrgency,
    /// A "send a test" notification.
    #[serde(default)]
    pub test: bool,
}

impl Message {
    /// The "send a test" message of a contact method, at the highest urgency it takes.
    pub fn test_for(contact: &ContactRow) -> Message {
        Message {
            title: "Fireline test notification".into(),
            body: format!(
                "This is how {} reaches you. Nothing is wrong.",
                contact.kind.label()
            ),
            ack_url: None,
            urgency: contact
                .urgencies
                .iter()
                .copied()
                .max()
                .unwrap_or(AlertUrgency::Critical),
            test: true,
        }
    }
}

/// Where a contact method's requests go, for the per-destination limit.
fn destination(contact: &ContactRow) -> String {
    let s = &contact.settings;
    let url = match contact.kind {
        ContactKind::Ntfy => s.server.as_deref(),
        ContactKind::Matrix => s.homeserver.as_deref(),
        ContactKind::Slack
        | ContactKind::Mattermost
        | ContactKind::Discord
        | ContactKind::Webhook => s.url.as_deref(),
        ContactKind::Pushover | ContactKind::TwilioSms | ContactKind::Email => None,
    };
    match url.and_then(|u| url::Url::parse(u).ok()) {
        Some(url) => crate::webhooks::guard::destination(&url),
        None => contact.kind.as_str().to_owned(),
    }
}

/// Queue `message` for `contact`, in the caller's transaction.
pub async fn enqueue(
    conn: &mut PgConnection,
    page_id: Option<Uuid>,
    contact: &ContactRow,
    message: &Message,
) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar!(
        "INSERT INTO notifications (page_id, contact_method_id, user_id, destination, message)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        page_id,
        contact.id,
        contact.user_id,
        destination(contact),
        serde_json::to_value(message).unwrap_or_default()
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("SELECT pg_notify($1, '')", CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// A notification claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub contact_method_id: Uuid,
    pub destination: String,
    pub message: serde_json::Value,
    pub attempts: i32,
    /// To a person's own method (a page), not a team's channel: sent first.
    pub to_person: bool,
}

/// Claim up to `limit` due notifications for `lease`: those to people first (a page
/// must not wait behind a channel's countdown chatter), then the oldest.
pub async fn claim(pool: &PgPool, limit: i64, lease: Duration) -> sqlx::Result<Vec<Claimed>> {
    sqlx::query_as!(
        Claimed,
        r#"UPDATE notifications SET attempts = attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2)
         WHERE id IN (SELECT id FROM notifications
                      WHERE state = 'pending' AND next_attempt_at <= now()
                      ORDER BY user_id IS NULL, next_attempt_at, id
                      LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, contact_method_id, destination, message, attempts,
             user_id IS NOT NULL AS "to_person!""#,
        limit,
        lease.as_seconds_f64()
    )
    .fetch_all(pool)
    .await
}

/// What became of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent,
    /// Try again at.
    Retry(OffsetDateTime),
    /// Trying again would not help (an invalid number, a revoked token, a gone webhook).
    Failed,
}

pub async fn record(
    db: impl PgExecutor<'_>,
    id: i64,
    outcome: &Outcome,
    status: Option<i32>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    let (state, next) = match outcome {
        Outcome::Sent => ("sent", None),
        Outcome::Retry(at) => ("pending", Some(*at)),
        Outcome::Failed => ("failed", None),
    };
    sqlx::query!(
        "UPDATE notifications SET state = $2::text::notification_state, next_attempt_at = $3,
                last_attempt_at = now(), last_status = $4, last_error = $5,
                sent_at = CASE WHEN $2 = 'sent' THEN now() END
         WHERE id = $1",
        id,
        state,
        next,
        status,
        error.map(|e| e.chars().take(1000).collect::<String>())
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Keep a Pushover emergency's receipt, to be polled from now on.
pub async fn set_receipt(db: impl PgExecutor<'_>, id: i64, receipt: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE notifications SET receipt = $2, receipt_due_at = now() WHERE id = $1",
        id,
        receipt
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A receipt due for a poll.
#[derive(Debug, Clone)]
pub struct DueReceipt {
    pub id: i64,
    pub page_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub receipt: String,
    pub created_at: OffsetDateTime,
}

/// Claim receipts due for a poll; each is due again in `every` unless it is closed.
pub async fn due_receipts(
    pool: &PgPool,
    limit: i64,
    every: Duration,
) -> sqlx::Result<Vec<DueReceipt>> {
    sqlx::query_as!(
        DueReceipt,
        r#"UPDATE notifications SET receipt_due_at = now() + make_interval(secs => $2)
           WHERE id IN (SELECT id FROM notifications
                        WHERE receipt IS NOT NULL AND receipt_due_at <= now()
                        ORDER BY receipt_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING id, page_id, user_id, receipt AS "receipt!", created_at"#,
        limit,
        every.as_seconds_f64()
    )
    .fetch_all(pool)
    .await
}

/// Stop polling a receipt.
pub async fn close_receipt(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE notifications SET receipt = NULL, receipt_due_at = NULL WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One notification as a page's log shows it.
#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub user_id: Option<Uuid>,
    /// The person's name, or the team's for a channel.
    pub to_name: String,
    pub kind: ContactKind,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub sent_at: Option<OffsetDateTime>,
}

/// The notifications of a page, in order.
pub async fn of_page(db: impl PgExecutor<'_>, page_id: Uuid) -> sqlx::Result<Vec<NotificationRow>> {
    sqlx::query_as!(
        NotificationRow,
        r#"SELECT n.user_id, coalesce(u.name, t.name) AS "to_name!",
                  c.kind AS "kind: ContactKind", n.state::text AS "state!", n.attempts,
                  n.last_error, n.sent_at
           FROM notifications n JOIN contact_methods c ON c.id = n.contact_method_id
           LEFT JOIN users u ON u.id = n.user_id LEFT JOIN teams t ON t.id = c.team_id
           WHERE n.page_id = $1 ORDER BY n.id"#,
        page_id
    )
    .fetch_all(db)
    .await
}
