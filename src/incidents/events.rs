//! The append-only event log of an incident.

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::incidents::{EventKind, Found, Rows};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub seq: i64,
    pub incident_id: Uuid,
    pub kind: EventKind,
    pub body: String,
    pub data: Value,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    pub workstream_id: Option<Uuid>,
    pub workstream_title: Option<String>,
    pub occurred_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
    pub pinned: bool,
    pub corrects: Option<Uuid>,
    /// The newest correction of this event, if any (the event is then shown struck through).
    pub corrected_by: Option<Uuid>,
}

impl EventRow {
    /// Whether this entry was written by a person (rendered as Markdown) rather than
    /// generated from a change (plain text).
    pub fn is_written(&self) -> bool {
        matches!(self.kind, EventKind::Note | EventKind::Correction)
    }

    /// Backdated (or post-dated) by more than a minute: both times are shown.
    pub fn is_backdated(&self) -> bool {
        (self.recorded_at - self.occurred_at).whole_seconds().abs() > 60
    }
}

/// A query for whole log entries, checked at compile time: `$rest` follows
/// `SELECT <every column> FROM incident_events e LEFT JOIN users u, workstreams w`.
macro_rules! event_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            EventRow,
            r#"SELECT e.id, e.seq, e.incident_id, e.kind AS "kind: EventKind", e.body, e.data,
                      e.author_id, u.name AS "author_name?", e.workstream_id,
                      w.title AS "workstream_title?", e.occurred_at, e.recorded_at, e.pinned,
                      e.corrects,
                      (SELECT c.id FROM incident_events c WHERE c.corrects = e.id
                       ORDER BY c.seq DESC LIMIT 1) AS "corrected_by?"
               FROM incident_events e
               LEFT JOIN users u ON u.id = e.author_id
               LEFT JOIN workstreams w ON w.id = e.workstream_id "# + $rest
            $(, $arg)*
        )
    };
}

/// A new entry. `occurred_at` defaults to now.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub incident_id: Uuid,
    pub kind: EventKind,
    pub body: String,
    pub data: Value,
    pub author_id: Option<Uuid>,
    pub workstream_id: Option<Uuid>,
    pub occurred_at: Option<OffsetDateTime>,
    pub pinned: bool,
    pub corrects: Option<Uuid>,
}

impl NewEvent {
    /// An automatic event recording a change.
    pub fn change(
        incident_id: Uuid,
        kind: EventKind,
        author_id: Uuid,
        body: String,
        data: Value,
    ) -> Self {
        NewEvent {
            incident_id,
            kind,
            body,
            data,
            author_id: Some(author_id),
            workstream_id: None,
            occurred_at: None,
            pinned: false,
            corrects: None,
        }
    }

    pub fn in_workstream(mut self, workstream_id: Uuid) -> Self {
        self.workstream_id = Some(workstream_id);
        self
    }
}

pub async fn insert(conn: &mut PgConnection, event: NewEvent) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO incident_events
             (id, incident_id, kind, body, data, author_id, workstream_id, occurred_at, pinned,
              corrects)
         VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now()), $9, $10) RETURNING id",
        Uuid::new_v4(),
        event.incident_id,
        event.kind as EventKind,
        event.body,
        event.data,
        event.author_id,
        event.workstream_id,
        event.occurred_at,
        event.pinned,
        event.corrects
    )
    .fetch_one(conn)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Found<EventRow> {
    event_rows!("WHERE e.id = $1", id).fetch_optional(db).await
}

/// Filters of the log.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub workstream_id: Option<Uuid>,
    pub kinds: Vec<EventKind>,
    pub pinned_only: bool,
    /// Keyset: entries older than this (occurred_at, seq).
    pub before: Option<(OffsetDateTime, i64)>,
}

/// A page of the log, newest first by when things happened.
pub async fn list(
    db: impl PgExecutor<'_>,
    incident_id: Uuid,
    filter: &LogFilter,
    limit: i64,
) -> Rows<EventRow> {
    let kinds: Option<Vec<EventKind>> = (!filter.kinds.is_empty()).then(|| filter.kinds.clone());
    event_rows!(
        "WHERE e.incident_id = $1
           AND ($2::uuid IS NULL OR e.workstream_id = $2)
           AND ($3::event_kind[] IS NULL OR e.kind = ANY($3))
           AND (NOT $4 OR e.pinned)
           AND ($5::timestamptz IS NULL OR (e.occurred_at, e.seq) < ($5, $6))
         ORDER BY e.occurred_at DESC, e.seq DESC LIMIT $7",
        incident_id,
        filter.workstream_id,
        kinds as Option<Vec<EventKind>>,
        filter.pinned_only,
        filter.before.map(|b| b.0),
        filter.before.map(|b| b.1).unwrap_or(i64::MAX),
        limit
    )
    .fetch_all(db)
    .await
}

/// The whole log in the order things happened (capped at 20,000 entries).
pub async fn all(db: impl PgExecutor<'_>, incident_id: Uuid) -> Rows<EventRow> {
    event_rows!(
        "WHERE e.incident_id = $1 ORDER BY e.occurred_at, e.seq LIMIT 20000",
        incident_id
    )
    .fetch_all(db)
    .await
}

/// Entries recorded after `seq`, in the order they were recorded (for live streams).
pub async fn since(db: impl PgExecutor<'_>, incident_id: Uuid, seq: i64) -> Rows<EventRow> {
    event_rows!(
        "WHERE e.incident_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT 500",
        incident_id,
        seq
    )
    .fetch_all(db)
    .await
}

/// The newest `seq` of the incident's log (0 when empty).
pub async fn last_seq(db: impl PgExecutor<'_>, incident_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(max(seq), 0) AS "seq!" FROM incident_events WHERE incident_id = $1"#,
        incident_id
    )
    .fetch_one(db)
    .await
}

/// Pin or unpin an entry (the only thing about an entry that may change).
pub async fn set_pinned(
    conn: &mut PgConnection,
    incident_id: Uuid,
    id: Uuid,
    pinned: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE incident_events SET pinned = $3 WHERE id = $2 AND incident_id = $1",
        incident_id,
        id,
        pinned
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn count(db: impl PgExecutor<'_>, incident_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM incident_events WHERE incident_id = $1"#,
        incident_id
    )
    .fetch_one(db)
    .await
}

/// An entry the alerts capability writes into an incident's log: an event of an alert
/// group attached to the incident, at the time it happened at the source.
#[derive(Debug, Clone)]
pub struct AlertEntry {
    pub incident_id: Uuid,
    /// The group joined the incident (`alert_attached`) rather than something happening
    /// to it (`alert`).
    pub joined: bool,
    /// `None`: the source or a rule.
    pub author_id: Option<Uuid>,
    pub body: String,
    /// `{group_id, number, alert_id?, transition}`.
    pub data: Value,
    pub occurred_at: OffsetDateTime,
}

/// Append an alert group's event to the incident's log. The incident itself does not
/// change: alerts never move its status, version or public face.
pub async fn record_alert_event(conn: &mut PgConnection, entry: AlertEntry) -> sqlx::Result<Uuid> {
    let kind = match entry.joined {
        true => EventKind::AlertAttached,
        false => EventKind::Alert,
    };
    insert(
        conn,
        NewEvent {
            incident_id: entry.incident_id,
            kind,
            body: entry.body,
            data: entry.data,
            author_id: entry.author_id,
            workstream_id: None,
            occurred_at: Some(entry.occurred_at),
            pinned: false,
            corrects: None,
        },
    )
    .await
}
