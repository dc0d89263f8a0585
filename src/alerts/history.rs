//! A group's history (`alert_group_events`): append-only, each entry at the source's own
//! time. Everything that changes a group writes its entry through [`record`], so this is
//! where mirroring into an attached incident's log hooks in.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::commands::reference;
use crate::incidents::{record_alert_event, AlertEntry};
use crate::platform::labelled_enum;

labelled_enum!(
    /// What an entry of a group's history says happened.
    GroupEventKind, "alert_group_event_kind" {
        Opened => "opened", "Opened";
        AlertFired => "alert_fired", "Alert fired";
        AlertRefired => "alert_refired", "Alert fired again";
        AlertResolved => "alert_resolved", "Alert resolved";
        Acknowledged => "acknowledged", "Acknowledged";
        Silenced => "silenced", "Silenced";
        Unsilenced => "unsilenced", "Silence ended";
        Resolved => "resolved", "Resolved";
        Escalated => "escalated", "Escalated";
        Declared => "declared", "Incident declared";
        Attached => "attached", "Attached to an incident";
        ComponentProposed => "component_proposed", "Component status proposed";
        ActionFailed => "action_failed", "Action failed";
    }
);

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewGroupEvent {
    pub kind: GroupEventKind,
    pub alert_id: Option<Uuid>,
    /// `None`: the source or a rule.
    pub actor_id: Option<Uuid>,
    pub body: String,
    pub data: serde_json::Value,
    pub occurred_at: OffsetDateTime,
}

impl NewGroupEvent {
    /// An entry written on the source's behalf.
    pub fn by_source(kind: GroupEventKind, body: String, occurred_at: OffsetDateTime) -> Self {
        NewGroupEvent {
            kind,
            alert_id: None,
            actor_id: None,
            body,
            data: serde_json::json!({}),
            occurred_at,
        }
    }

    /// The same entry, about one alert of the group.
    pub fn about(mut self, alert_id: Uuid) -> Self {
        self.alert_id = Some(alert_id);
        self
    }

    /// The same entry with `data`.
    pub fn with(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

/// Up to this many alerts in a group, each alert's firing and resolving is mirrored into
/// the incident's log entry by entry; a larger group gets one summary line per delivery,
/// so a storm does not bury the log.
pub const MIRROR_EACH_UP_TO: i32 = 50;

impl GroupEventKind {
    /// About one alert of the group rather than the group as a whole.
    pub fn is_per_alert(self) -> bool {
        matches!(
            self,
            GroupEventKind::AlertFired
                | GroupEventKind::AlertRefired
                | GroupEventKind::AlertResolved
        )
    }
}

/// The incident a group is attached to, as its mirrored entries name the group.
#[derive(Debug, Clone, Copy)]
pub struct Attached {
    pub incident_id: Uuid,
    pub group_id: Uuid,
    pub number: i64,
    pub alerts_total: i32,
}

impl Attached {
    /// Whether its per-alert entries are summarised rather than mirrored one by one.
    pub fn summarised(&self) -> bool {
        self.alerts_total > MIRROR_EACH_UP_TO
    }

    /// The incident log's copy of a history entry.
    pub fn entry(&self, event: &NewGroupEvent) -> AlertEntry {
        let mut data = json!({
            "group_id": self.group_id,
            "number": self.number,
            "transition": event.kind,
        });
        if let Some(alert_id) = event.alert_id {
            data["alert_id"] = json!(alert_id);
        }
        if event.data.as_object().is_some_and(|o| !o.is_empty()) {
            data["detail"] = event.data.clone();
        }
        AlertEntry {
            incident_id: self.incident_id,
            joined: false,
            author_id: event.actor_id,
            body: format!("{}: {}", reference(self.number), event.body),
            data,
            occurred_at: event.occurred_at,
        }
    }
}

/// Append `event` to the history of `group_id`, and to the log of the incident the group
/// is attached to (per-alert entries of a large group are summarised per delivery by
/// [`summarise_since`] instead).
pub async fn record(
    conn: &mut PgConnection,
    group_id: Uuid,
    event: NewGroupEvent,
) -> sqlx::Result<()> {
    // One round trip: the insert, and the group's incident when it has one.
    let attached = sqlx::query_as!(
        Attached,
        r#"WITH added AS (
               INSERT INTO alert_group_events (group_id, alert_id, kind, actor_id, body, data, occurred_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING group_id)
           SELECT g.incident_id AS "incident_id!", g.id AS group_id, g.number, g.alerts_total
           FROM alert_groups g WHERE g.id = $1 AND g.incident_id IS NOT NULL"#,
        group_id,
        event.alert_id,
        event.kind as GroupEventKind,
        event.actor_id,
        event.body,
        event.data,
        event.occurred_at
    )
    .fetch_optional(&mut *conn)
    .await?;
    match attached {
        Some(a) if !(event.kind.is_per_alert() && a.summarised()) => {
            record_alert_event(conn, a.entry(&event)).await?;
        }
        _ => {}
    }
    Ok(())
}

/// Where a delivery to a large attached group starts in its history: the last entry's
/// id, for [`summarise_since`]. `None` when the group's entries are mirrored one by one
/// (or not at all).
pub async fn summary_mark(conn: &mut PgConnection, group_id: Uuid) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT (SELECT coalesce(max(e.id), 0) FROM alert_group_events e
                   WHERE e.group_id = g.id) AS "mark!"
           FROM alert_groups g
           WHERE g.id = $1 AND g.incident_id IS NOT NULL AND g.alerts_total > $2"#,
        group_id,
        MIRROR_EACH_UP_TO
    )
    .fetch_optional(conn)
    .await
}

/// How many alerts fired, fired again and resolved, in words.
fn tally(fired: i64, refired: i64, resolved: i64) -> String {
    let plural = |n: i64| if n == 1 { "alert" } else { "alerts" };
    let mut parts = Vec::new();
    if fired > 0 {
        parts.push(format!("{fired} {} fired", plural(fired)));
    }
    if refired > 0 {
        parts.push(format!("{refired} {} fired again", plural(refired)));
    }
    if resolved > 0 {
        parts.push(format!("{resolved} {} resolved", plural(resolved)));
    }
    parts.join(", ")
}

/// One summary line in the incident's log for the per-alert entries of `group_id`
/// recorded after `mark` (one delivery, or one person's resolve).
pub async fn summarise_since(
    conn: &mut PgConnection,
    group_id: Uuid,
    mark: i64,
) -> sqlx::Result<()> {
    let Some(a) = attached(&mut *conn, group_id).await? else {
        return Ok(());
    };
    let counts = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE kind = 'alert_fired') AS "fired!",
                  count(*) FILTER (WHERE kind = 'alert_refired') AS "refired!",
                  count(*) FILTER (WHERE kind = 'alert_resolved') AS "resolved!",
                  min(occurred_at) AS first
           FROM alert_group_events
           WHERE group_id = $1 AND id > $2
             AND kind IN ('alert_fired', 'alert_refired', 'alert_resolved')"#,
        group_id,
        mark
    )
    .fetch_one(&mut *conn)
    .await?;
    let Some(first) = counts.first else {
        return Ok(());
    };
    summary(
        conn,
        &a,
        (counts.fired, counts.refired, counts.resolved),
        first,
    )
    .await
}

async fn summary(
    conn: &mut PgConnection,
    a: &Attached,
    (fired, refired, resolved): (i64, i64, i64),
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let entry = AlertEntry {
        incident_id: a.incident_id,
        joined: false,
        author_id: None,
        body: format!(
            "{}: {}.",
            reference(a.number),
            tally(fired, refired, resolved)
        ),
        data: json!({
            "group_id": a.group_id,
            "number": a.number,
            "transition": "summary",
            "fired": fired,
            "refired": refired,
            "resolved": resolved,
        }),
        occurred_at: at,
    };
    record_alert_event(conn, entry).await?;
    Ok(())
}

/// The incident `group_id` is attached to.
pub async fn attached(conn: &mut PgConnection, group_id: Uuid) -> sqlx::Result<Option<Attached>> {
    sqlx::query_as!(
        Attached,
        r#"SELECT incident_id AS "incident_id!", id AS group_id, number, alerts_total
           FROM alert_groups WHERE id = $1 AND incident_id IS NOT NULL"#,
        group_id
    )
    .fetch_optional(conn)
    .await
}

/// Copy the history of a group just attached into its incident's log, each entry at its
/// own time; the entries about the attachment itself are left out (the incident has its
/// own). A large group's per-alert entries become a summary per delivery (the entries
/// recorded together).
pub async fn copy_to_incident(conn: &mut PgConnection, a: &Attached) -> sqlx::Result<()> {
    let rows = sqlx::query!(
        r#"SELECT kind AS "kind: GroupEventKind", alert_id, actor_id, body, data, occurred_at,
               recorded_at
           FROM alert_group_events WHERE group_id = $1 ORDER BY id"#,
        a.group_id
    )
    .fetch_all(&mut *conn)
    .await?;
    // recorded_at → (fired, refired, resolved, first occurred_at)
    let mut batches: Vec<(OffsetDateTime, (i64, i64, i64), OffsetDateTime)> = Vec::new();
    for row in rows {
        if matches!(
            row.kind,
            GroupEventKind::Declared | GroupEventKind::Attached
        ) {
            continue;
        }
        if row.kind.is_per_alert() && a.summarised() {
            let at = batches.iter().position(|b| b.0 == row.recorded_at);
            let at = at.unwrap_or_else(|| {
                batches.push((row.recorded_at, (0, 0, 0), row.occurred_at));
                batches.len() - 1
            });
            let batch = &mut batches[at];
            match row.kind {
                GroupEventKind::AlertFired => batch.1 .0 += 1,
                GroupEventKind::AlertRefired => batch.1 .1 += 1,
                _ => batch.1 .2 += 1,
            }
            batch.2 = batch.2.min(row.occurred_at);
            continue;
        }
        let event = NewGroupEvent {
            kind: row.kind,
            alert_id: row.alert_id,
            actor_id: row.actor_id,
            body: row.body,
            data: row.data,
            occurred_at: row.occurred_at,
        };
        record_alert_event(&mut *conn, a.entry(&event)).await?;
    }
    for (_, counts, first) in batches {
        summary(conn, a, counts, first).await?;
    }
    Ok(())
}

/// One entry of a group's history as people read it.
#[derive(Debug, Clone)]
pub struct GroupEventRow {
    pub id: i64,
    pub kind: GroupEventKind,
    pub alert_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub body: String,
    pub data: serde_json::Value,
    pub occurred_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
}

/// The history of `group_id`, oldest first: at most `limit` entries after `after`
/// (an entry's occurred_at and id).
pub async fn list(
    db: impl sqlx::PgExecutor<'_>,
    group_id: Uuid,
    after: Option<(OffsetDateTime, i64)>,
    limit: i64,
) -> sqlx::Result<Vec<GroupEventRow>> {
    let after_at = after.map(|a| a.0);
    let after_id = after.map(|a| a.1);
    sqlx::query_as!(
        GroupEventRow,
        r#"SELECT e.id, e.kind AS "kind: GroupEventKind", e.alert_id, e.actor_id,
               u.name AS "actor_name?", e.body, e.data, e.occurred_at, e.recorded_at
           FROM alert_group_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.group_id = $1
             AND ($2::timestamptz IS NULL OR (e.occurred_at, e.id) > ($2, $3))
           ORDER BY e.occurred_at, e.id
           LIMIT $4"#,
        group_id,
        after_at,
        after_id,
        limit
    )
    .fetch_all(db)
    .await
}
