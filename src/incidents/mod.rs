//! Incidents: reads here; the commands that change them (each writing its events to the
//! log in the caller's transaction) in the submodules.

mod happened;
pub use happened::IncidentEvent;

mod change;
mod declare;
pub mod events;
mod model;
mod notes;
pub mod publish;
pub mod updates;
pub mod workstreams;

pub use change::{
    add_component, assign_report, hand_over, set_milestone, update_fields, IncidentChanges,
};
pub use declare::{declare, NewIncident};
pub use events::{record_alert_event, AlertEntry};
pub use model::{
    format_duration, overdue_update_minutes, Durations, EventKind, Impact, IncidentRef,
    IncidentStatus, Lifecycle, Milestone, Nudges, Severity, Visibility, WorkstreamKind,
    WorkstreamStatus,
};
pub use notes::{add_note, set_pinned, NewNote};
pub use publish::set_components;

pub use crate::platform::command::CommandError;

pub use crate::platform::db::{Found, Rows};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::users::UserRow;
use crate::components::ComponentStatus;

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct IncidentRow {
    pub id: Uuid,
    pub number: i64,
    pub title: String,
    pub summary: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub impact_overridden: bool,
    pub visibility: Visibility,
    pub leader_id: Uuid,
    pub leader_name: String,
    pub created_by: Uuid,
    pub started_at: OffsetDateTime,
    pub detected_at: Option<OffsetDateTime>,
    pub declared_at: OffsetDateTime,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub mitigated_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    pub last_public_update_at: Option<OffsetDateTime>,
    /// When the first public update put it on the status page; `None` until then.
    pub published_at: Option<OffsetDateTime>,
    /// The name customers see, when it differs from the title.
    pub public_title: Option<String>,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub root_cause_open: bool,
    /// Who writes the report: the person a page reached, when a page led to it.
    pub report_owner_id: Option<Uuid>,
    pub report_owner_name: Option<String>,
}

impl IncidentRow {
    /// The human reference, `INC-42`.
    pub fn reference(&self) -> String {
        format!("INC-{}", self.number)
    }

    pub fn lifecycle(&self) -> Lifecycle {
        Lifecycle {
            started: self.started_at,
            detected: self.detected_at,
            declared: self.declared_at,
            acknowledged: self.acknowledged_at,
            mitigated: self.mitigated_at,
            resolved: self.resolved_at,
        }
    }

    pub fn milestone(&self, milestone: Milestone) -> Option<OffsetDateTime> {
        self.lifecycle().get(milestone)
    }

    /// On the status page: public and published.
    pub fn is_on_status_page(&self) -> bool {
        self.visibility == Visibility::Public && self.published_at.is_some()
    }

    /// The name customers see (or will see).
    pub fn public_name(&self) -> &str {
        self.public_title.as_deref().unwrap_or(&self.title)
    }
}

/// A query for whole incident rows, checked at compile time: `$rest` follows
/// `SELECT <every column> FROM incidents i JOIN users u ON u.id = i.leader_id`.
macro_rules! incident_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            $crate::incidents::IncidentRow,
            r#"SELECT i.id, i.number, i.title, i.summary,
                      i.severity AS "severity: crate::incidents::Severity",
                      i.status AS "status: crate::incidents::IncidentStatus",
                      i.impact AS "impact: crate::incidents::Impact", i.impact_overridden,
                      i.visibility AS "visibility: crate::incidents::Visibility", i.leader_id,
                      u.name AS "leader_name!", i.created_by, i.started_at, i.detected_at,
                      i.declared_at, i.acknowledged_at, i.mitigated_at, i.resolved_at,
                      i.last_public_update_at, i.published_at, i.public_title, i.version,
                      i.created_at, i.updated_at,
                      EXISTS (SELECT 1 FROM workstreams w WHERE w.incident_id = i.id
                              AND w.kind = 'root_cause' AND w.status = 'active')
                          AS "root_cause_open!",
                      i.report_owner_id,
                      (SELECT o.name FROM users o WHERE o.id = i.report_owner_id)
                          AS report_owner_name
               FROM incidents i JOIN users u ON u.id = i.leader_id "# + $rest
            $(, $arg)*
        )
    };
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Found<IncidentRow> {
    incident_rows!("WHERE i.id = $1", id)
        .fetch_optional(db)
        .await
}

pub async fn find_by_number(db: impl PgExecutor<'_>, number: i64) -> Found<IncidentRow> {
    incident_rows!("WHERE i.number = $1", number)
        .fetch_optional(db)
        .await
}

/// The incident `reference` names.
pub async fn find_ref(db: impl PgExecutor<'_>, reference: IncidentRef) -> Found<IncidentRow> {
    match reference {
        IncidentRef::Id(id) => find(db, id).await,
        IncidentRef::Number(number) => find_by_number(db, number).await,
    }
}

/// Lock the incident row for a command, so concurrent commands apply one after another.
pub(crate) async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<IncidentRow, CommandError> {
    sqlx::query_scalar!("SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CommandError::NotFound)?;
    find(&mut *conn, id).await?.ok_or(CommandError::NotFound)
}

/// Finish a change by `actor`: the leader's first action acknowledges the incident, and
/// the version is bumped (every change makes older forms stale).
pub(crate) async fn changed_by(
    conn: &mut PgConnection,
    incident: &IncidentRow,
    actor: &UserRow,
) -> sqlx::Result<()> {
    acknowledge_if_leader(conn, incident, actor).await?;
    sqlx::query!(
        "UPDATE incidents SET version = version + 1, updated_at = now() WHERE id = $1",
        incident.id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A conflict on an incident: its current values as the generic HTTP 409 body shows them.
pub(crate) fn conflict(expected: i32, current: &IncidentRow) -> CommandError {
    CommandError::Conflict {
        expected,
        current: Box::new(crate::platform::command::Current {
            id: current.id,
            version: current.version,
            reference: current.reference(),
            snapshot: json!({
                "id": current.id,
                "number": current.number,
                "version": current.version,
                "title": current.title,
                "public_title": current.public_title,
                "published_at": current.published_at.map(crate::platform::time::rfc3339),
                "severity": current.severity,
                "status": current.status,
                "impact": current.impact,
                "visibility": current.visibility,
                "leader_id": current.leader_id,
            }),
        }),
    }
}

/// A person, as stored in event data.
pub fn person(user: &UserRow) -> Value {
    json!({ "id": user.id, "name": user.name })
}

/// Filters of the incident list.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// `Some(true)`: open only; `Some(false)`: resolved only.
    pub open: Option<bool>,
    pub status: Option<IncidentStatus>,
    pub severity: Option<Severity>,
    pub component_id: Option<Uuid>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub text: Option<String>,
    /// Keyset: incidents declared before this (declared_at, id).
    pub before: Option<(OffsetDateTime, Uuid)>,
}

/// Incidents, newest declared first, filtered; at most `limit`.
pub async fn list(db: impl PgExecutor<'_>, filter: &ListFilter, limit: i64) -> Rows<IncidentRow> {
    let text = filter.text.as_deref().map(|t| {
        format!(
            "%{}%",
            t.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    incident_rows!(
        "WHERE ($1::bool IS NULL OR ($1 = (i.status <> 'resolved')))
           AND ($2::incident_status IS NULL OR i.status = $2)
           AND ($3::severity IS NULL OR i.severity = $3)
           AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM incident_components ic
                                          WHERE ic.incident_id = i.id AND ic.component_id = $4))
           AND ($5::timestamptz IS NULL OR i.declared_at >= $5)
           AND ($6::timestamptz IS NULL OR i.declared_at < $6)
           AND ($7::text IS NULL OR lower(i.title) LIKE $7)
           AND ($8::timestamptz IS NULL OR (i.declared_at, i.id) < ($8, $9))
         ORDER BY i.declared_at DESC, i.id DESC LIMIT $10",
        filter.open,
        filter.status as Option<IncidentStatus>,
        filter.severity as Option<Severity>,
        filter.component_id,
        filter.since,
        filter.until,
        text,
        filter.before.map(|b| b.0),
        filter.before.map(|b| b.1),
        limit
    )
    .fetch_all(db)
    .await
}

/// Open incidents, worst severity first, then oldest first.
pub async fn open(db: impl PgExecutor<'_>) -> Rows<IncidentRow> {
    incident_rows!("WHERE i.status <> 'resolved' ORDER BY i.severity, i.declared_at")
        .fetch_all(db)
        .await
}

/// Resolved incidents whose root-cause workstream is still active.
pub async fn root_cause_open(db: impl PgExecutor<'_>) -> Rows<IncidentRow> {
    incident_rows!(
        "WHERE i.status = 'resolved' AND EXISTS (SELECT 1 FROM workstreams w
             WHERE w.incident_id = i.id AND w.kind = 'root_cause' AND w.status = 'active')
         ORDER BY i.resolved_at DESC"
    )
    .fetch_all(db)
    .await
}

/// Incidents resolved within `days`, newest first.
pub async fn recently_resolved(
    db: impl PgExecutor<'_>,
    days: i64,
    limit: i64,
) -> Rows<IncidentRow> {
    incident_rows!(
        "WHERE i.status = 'resolved' AND i.resolved_at > now() - make_interval(days => $1::int)
         ORDER BY i.resolved_at DESC LIMIT $2",
        days as i32,
        limit
    )
    .fetch_all(db)
    .await
}

/// An affected component of an incident, with its current status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AffectedRow {
    pub id: Uuid,
    pub name: String,
    pub status: ComponentStatus,
    /// What customers see (differs while the change is held back).
    pub public_status: ComponentStatus,
}

pub async fn affected_components(db: impl PgExecutor<'_>, incident_id: Uuid) -> Rows<AffectedRow> {
    sqlx::query_as!(
        AffectedRow,
        r#"SELECT c.id, c.name, c.status AS "status: ComponentStatus",
                  c.public_status AS "public_status: ComponentStatus"
           FROM incident_components ic JOIN components c ON c.id = ic.component_id
           WHERE ic.incident_id = $1 ORDER BY c.position, lower(c.name)"#,
        incident_id
    )
    .fetch_all(db)
    .await
}

/// The user named in `field` if they may take part in a response (enabled, not a viewer).
pub(crate) async fn responder(
    conn: &mut PgConnection,
    id: Uuid,
    field: &'static str,
) -> Result<UserRow, CommandError> {
    let user = crate::accounts::users::find(&mut *conn, id)
        .await?
        .ok_or_else(|| CommandError::invalid(field, "There is no such user."))?;
    if user.is_disabled() {
        return Err(CommandError::invalid(
            field,
            format!("{} is disabled.", user.name),
        ));
    }
    if !user.role.allows(crate::accounts::Role::Responder) {
        return Err(CommandError::invalid(
            field,
            format!(
                "{} is a viewer; only responders and admins can lead or take tasks.",
                user.name
            ),
        ));
    }
    Ok(user)
}

/// Refuse a time someone gives that lies ahead of now (by more than a few minutes: their
/// clock may run fast).
pub(crate) fn not_in_future(
    field: &'static str,
    at: Option<OffsetDateTime>,
    message: &str,
) -> Result<(), CommandError> {
    match at {
        Some(at) if at > OffsetDateTime::now_utc() + time::Duration::minutes(5) => {
            Err(CommandError::invalid(field, message))
        }
        _ => Ok(()),
    }
}

/// The leader's first action acknowledges the incident.
pub(crate) async fn acknowledge_if_leader(
    conn: &mut PgConnection,
    incident: &IncidentRow,
    actor: &UserRow,
) -> sqlx::Result<()> {
    if incident.acknowledged_at.is_some() || incident.leader_id != actor.id {
        return Ok(());
    }
    let at = sqlx::query_scalar!(
        r#"UPDATE incidents SET acknowledged_at = now() WHERE id = $1 AND acknowledged_at IS NULL
           RETURNING acknowledged_at AS "acknowledged_at!""#,
        incident.id
    )
    .fetch_one(&mut *conn)
    .await?;
    events::insert(
        conn,
        events::NewEvent::change(
            incident.id,
            crate::incidents::EventKind::TimestampChanged,
            actor.id,
            format!("Acknowledged by {}, the incident leader.", actor.name),
            json!({ "milestone": "acknowledged", "old": null, "new": crate::platform::time::rfc3339(at), "automatic": true }),
        ),
    )
    .await?;
    Ok(())
}

/// Affected components of several incidents at once: `(incident_id, component)`.
pub async fn affected_components_of(
    db: impl PgExecutor<'_>,
    incident_ids: &[Uuid],
) -> Rows<(Uuid, AffectedRow)> {
    let rows = sqlx::query!(
        r#"SELECT ic.incident_id, c.id, c.name, c.status AS "status: ComponentStatus",
                  c.public_status AS "public_status: ComponentStatus"
           FROM incident_components ic JOIN components c ON c.id = ic.component_id
           WHERE ic.incident_id = ANY($1) ORDER BY c.position, lower(c.name)"#,
        incident_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let component = AffectedRow {
                id: r.id,
                name: r.name,
                status: r.status,
                public_status: r.public_status,
            };
            (r.incident_id, component)
        })
        .collect())
}
