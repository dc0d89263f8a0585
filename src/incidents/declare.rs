//! Declaring an incident: the incident, its two workstreams, affected components, the
//! first log entries and an optional first public update, in one transaction.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::events::{self, NewEvent};
use super::{not_in_future, person, responder, workstreams, CommandError, IncidentRow};
use crate::accounts::users::UserRow;
use crate::components::Audience;
use crate::components::ComponentStatus;
use crate::incidents::{EventKind, Impact, IncidentStatus, Severity, Visibility, WorkstreamKind};
use crate::platform::text;

#[derive(Debug, Clone)]
pub struct NewIncident {
    pub title: String,
    pub severity: Severity,
    pub summary: String,
    pub visibility: Visibility,
    /// Overrides the impact derived from severity.
    pub impact: Option<Impact>,
    /// Defaults to the person declaring.
    pub leader_id: Option<Uuid>,
    pub components: Vec<(Uuid, ComponentStatus)>,
    /// When impact began; defaults to now.
    pub started_at: Option<OffsetDateTime>,
    pub detected_at: Option<OffsetDateTime>,
    /// Acknowledged before the declaration (an alert group someone acknowledged); `None`:
    /// the leader declaring acknowledges it now.
    pub acknowledged_at: Option<OffsetDateTime>,
    /// Declared by this routing rule on the actor's behalf (the rule's owner, who leads):
    /// the log says so, its entries have no author, and nobody has acknowledged it yet.
    pub declared_by_rule: Option<String>,
    /// Body of a first public update, which puts the incident on the status page.
    pub initial_update: Option<String>,
    /// The name customers see, for the first public update.
    pub public_title: Option<String>,
    /// Show the component changes on the status page now, before any public update.
    pub show_components: bool,
}

#[tracing::instrument(skip_all)]
pub async fn declare(
    conn: &mut PgConnection,
    actor: &UserRow,
    new: NewIncident,
) -> Result<IncidentRow, CommandError> {
    let if_empty = "Give the incident a title of 1 to 200 characters.";
    let title = text::TITLE.trimmed("title", &new.title, if_empty)?;
    text::SUMMARY.check("summary", &new.summary)?;
    if let Some(body) = &new.initial_update {
        text::MARKDOWN.check("initial_update", body)?;
    }
    not_in_future(
        "started_at",
        new.started_at,
        "Impact cannot start in the future.",
    )?;
    let now = OffsetDateTime::now_utc();
    let started_at = new.started_at.unwrap_or(now);
    let leader = match new.leader_id {
        Some(id) if id != actor.id => responder(conn, id, "leader_id").await?,
        _ => actor.clone(),
    };
    let impact = new.impact.unwrap_or(new.severity.default_impact());
    // The leader declaring is the leader acting: that acknowledges the incident.
    let by_person = new.declared_by_rule.is_none();
    let acknowledged_at = new
        .acknowledged_at
        .or((by_person && leader.id == actor.id).then_some(now));
    let author = by_person.then_some(actor.id);
    let id = sqlx::query_scalar!(
        "INSERT INTO incidents (id, title, summary, severity, impact, impact_overridden, visibility,
             leader_id, created_by, started_at, detected_at, declared_at, acknowledged_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        Uuid::new_v4(),
        title,
        new.summary.trim(),
        new.severity as Severity,
        impact as Impact,
        new.impact.is_some(),
        new.visibility as Visibility,
        leader.id,
        actor.id,
        started_at,
        new.detected_at,
        now,
        acknowledged_at
    )
    .fetch_one(&mut *conn)
    .await?;

    let by = match &new.declared_by_rule {
        Some(rule) => format!("Routing rule \"{rule}\""),
        None => actor.name.clone(),
    };
    let body = format!(
        "{by} declared this {} incident, led by {}.",
        new.severity.label(),
        leader.name
    );
    let data = json!({
        "title": title,
        "severity": new.severity,
        "impact": impact,
        "visibility": new.visibility,
        "leader": person(&leader),
    });
    let declared = NewEvent {
        author_id: author,
        ..NewEvent::change(id, EventKind::Declared, actor.id, body, data)
    };
    events::insert(conn, declared).await?;

    for (kind, title, objective) in [
        (
            WorkstreamKind::Recovery,
            "Recovery",
            "Restore service: degrade, fail over, roll back.",
        ),
        (
            WorkstreamKind::RootCause,
            "Root cause",
            "Find out why: logs, metrics, dumps, changes.",
        ),
    ] {
        let ws = workstreams::insert(conn, id, kind, title, Some(leader.id), objective).await?;
        let body = format!("{title} workstream opened, led by {}.", leader.name);
        let data =
            json!({ "workstream_id": ws, "kind": kind, "title": title, "lead": person(&leader) });
        let added = NewEvent {
            author_id: author,
            ..NewEvent::change(id, EventKind::WorkstreamAdded, actor.id, body, data)
        };
        events::insert(conn, added.in_workstream(ws)).await?;
    }

    let incident = super::find(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let mut components = new.components.clone();
    components.sort_by_key(|(id, _)| *id);
    components.dedup_by_key(|(id, _)| *id);
    // A first update publishes the incident in this same transaction.
    let publishing = new.visibility == Visibility::Public
        && new
            .initial_update
            .as_deref()
            .is_some_and(|b| !b.trim().is_empty());
    let audience = if new.show_components || publishing {
        Audience::Public
    } else {
        Audience::Responders
    };
    for (component_id, status) in &components {
        super::add_component(conn, actor, &incident, *component_id, *status, audience).await?;
    }
    if let Some(body) = new
        .initial_update
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        super::updates::post_update(
            conn,
            actor,
            id,
            super::updates::NewUpdate {
                status: IncidentStatus::Investigating,
                body: body.to_owned(),
                components: Vec::new(),
                notify: true,
                title: new.public_title.clone(),
            },
        )
        .await?;
    } else if let Some(title) = new.public_title.as_deref().filter(|t| !t.trim().is_empty()) {
        super::publish::set_public_title(conn, actor, &incident, title).await?;
    }
    super::find(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)
}
