//! Incidents, workstreams and tasks as the API shows them.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::components::ComponentStatus;
use crate::http::error::AppError;
use crate::incidents::{self, workstreams, IncidentRow};
use crate::incidents::{
    Impact, IncidentStatus, Severity, Visibility, WorkstreamKind, WorkstreamStatus,
};

#[derive(Serialize, ToSchema)]
pub struct PersonJson {
    pub id: Uuid,
    pub name: String,
}

impl PersonJson {
    /// The person a row names by a joined user's id and name, if it names one.
    pub fn of(id: Option<Uuid>, name: Option<String>) -> Option<PersonJson> {
        id.zip(name).map(|(id, name)| PersonJson { id, name })
    }
}

#[derive(Serialize, ToSchema)]
pub struct AffectedComponentJson {
    pub id: Uuid,
    pub name: String,
    pub status: ComponentStatus,
}

#[derive(Serialize, ToSchema)]
pub struct TaskJson {
    pub id: Uuid,
    pub workstream_id: Uuid,
    pub title: String,
    pub assignee_id: Option<Uuid>,
    pub done: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub done_at: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct WorkstreamJson {
    pub id: Uuid,
    pub kind: WorkstreamKind,
    pub title: String,
    pub lead_id: Option<Uuid>,
    pub lead: Option<PersonJson>,
    /// Markdown.
    pub objective: String,
    pub status: WorkstreamStatus,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub tasks: Vec<TaskJson>,
}

/// An incident with its workstreams and affected components.
#[derive(Serialize, ToSchema)]
pub struct IncidentJson {
    pub id: Uuid,
    pub number: i64,
    /// `INC-<number>`.
    pub reference: String,
    pub title: String,
    pub summary: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub impact: Impact,
    /// Whether the impact was set by hand rather than derived from severity.
    pub impact_overridden: bool,
    pub visibility: Visibility,
    pub leader_id: Uuid,
    pub leader: PersonJson,
    /// Who writes the incident report: the person a page reached, when a page led to the
    /// incident; null otherwise.
    pub report_owner: Option<PersonJson>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub detected_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub declared_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub mitigated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_public_update_at: Option<OffsetDateTime>,
    /// When the first public update put it on the status page; null until then (and for
    /// internal incidents, always).
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    /// The name customers see; null until set (the first public update sets it, from
    /// its `title` or the incident's).
    pub public_title: Option<String>,
    /// Resolved, with the root-cause workstream still active.
    pub root_cause_open: bool,
    /// Send it back with a PATCH; a stale one gets 409.
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub components: Vec<AffectedComponentJson>,
    pub workstreams: Vec<WorkstreamJson>,
}

pub(super) fn task_json(t: &workstreams::TaskRow) -> TaskJson {
    TaskJson {
        id: t.id,
        workstream_id: t.workstream_id,
        title: t.title.clone(),
        assignee_id: t.assignee_id,
        done: t.done_at.is_some(),
        done_at: t.done_at,
    }
}

fn workstream_json(
    w: workstreams::WorkstreamRow,
    tasks: &[workstreams::TaskRow],
) -> WorkstreamJson {
    WorkstreamJson {
        tasks: tasks
            .iter()
            .filter(|t| t.workstream_id == w.id)
            .map(task_json)
            .collect(),
        lead: PersonJson::of(w.lead_id, w.lead_name),
        id: w.id,
        kind: w.kind,
        title: w.title,
        lead_id: w.lead_id,
        objective: w.objective,
        status: w.status,
        completed_at: w.completed_at,
    }
}

pub async fn workstreams_json(
    state: &AppState,
    incident_id: Uuid,
) -> Result<Vec<WorkstreamJson>, AppError> {
    let rows = workstreams::list(&state.pool, incident_id).await?;
    let tasks = workstreams::tasks(&state.pool, incident_id).await?;
    Ok(rows
        .into_iter()
        .map(|w| workstream_json(w, &tasks))
        .collect())
}

/// Incidents as the API shows them: three queries however many there are.
pub async fn incidents_json(
    state: &AppState,
    rows: Vec<IncidentRow>,
) -> Result<Vec<IncidentJson>, AppError> {
    let ids: Vec<Uuid> = rows.iter().map(|i| i.id).collect();
    let components = incidents::affected_components_of(&state.pool, &ids).await?;
    let streams = workstreams::list_of(&state.pool, &ids).await?;
    let tasks = workstreams::tasks_of(&state.pool, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|i| {
            let affected = components
                .iter()
                .filter(|(incident, _)| *incident == i.id)
                .map(|(_, c)| AffectedComponentJson {
                    id: c.id,
                    name: c.name.clone(),
                    status: c.status,
                })
                .collect();
            let ws = streams
                .iter()
                .filter(|w| w.incident_id == i.id)
                .cloned()
                .map(|w| workstream_json(w, &tasks))
                .collect();
            incident_json_with(i, affected, ws)
        })
        .collect())
}

pub async fn incident_json(state: &AppState, i: IncidentRow) -> Result<IncidentJson, AppError> {
    incidents_json(state, vec![i]).await?.pop().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("an incident vanished while it was read"))
    })
}

fn incident_json_with(
    i: IncidentRow,
    components: Vec<AffectedComponentJson>,
    workstreams: Vec<WorkstreamJson>,
) -> IncidentJson {
    IncidentJson {
        reference: i.reference(),
        leader: PersonJson {
            id: i.leader_id,
            name: i.leader_name,
        },
        report_owner: i.report_owner_id.map(|id| PersonJson {
            id,
            name: i.report_owner_name.clone().unwrap_or_default(),
        }),
        id: i.id,
        number: i.number,
        title: i.title,
        summary: i.summary,
        severity: i.severity,
        status: i.status,
        impact: i.impact,
        impact_overridden: i.impact_overridden,
        visibility: i.visibility,
        leader_id: i.leader_id,
        started_at: i.started_at,
        detected_at: i.detected_at,
        declared_at: i.declared_at,
        acknowledged_at: i.acknowledged_at,
        mitigated_at: i.mitigated_at,
        resolved_at: i.resolved_at,
        last_public_update_at: i.last_public_update_at,
        published_at: i.published_at,
        public_title: i.public_title,
        root_cause_open: i.root_cause_open,
        version: i.version,
        created_at: i.created_at,
        updated_at: i.updated_at,
        components,
        workstreams,
    }
}
