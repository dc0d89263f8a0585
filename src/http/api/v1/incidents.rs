//! `/api/v1/incidents`, workstreams and tasks.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{present, ListQuery, Page, ProblemDoc};
use crate::app::AppState;
use crate::components::ComponentStatus;
use crate::http::error::AppError;
use crate::http::extract::{ApiUser, AsResponder, Authorized, Json, Path, Query};
use crate::incidents::{
    self, workstreams, CommandError, IncidentChanges, IncidentRow, ListFilter, NewIncident,
};
use crate::incidents::{
    Impact, IncidentStatus, Milestone, Severity, Visibility, WorkstreamKind, WorkstreamStatus,
};

#[derive(Serialize, ToSchema)]
pub struct PersonJson {
    pub id: Uuid,
    pub name: String,
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

fn task_json(t: &workstreams::TaskRow) -> TaskJson {
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
        lead: w
            .lead_id
            .zip(w.lead_name.clone())
            .map(|(id, name)| PersonJson { id, name }),
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

/// The incident an API path names: its UUID, `INC-42` or `42`.
pub async fn find_incident(state: &AppState, id: &str) -> Result<IncidentRow, AppError> {
    let missing = || AppError::NotFound(format!("There is no incident {id}."));
    let parsed = crate::incidents::IncidentRef::parse(id).ok_or_else(missing)?;
    incidents::find_ref(&state.pool, parsed)
        .await?
        .ok_or_else(missing)
}

/// API errors of commands: a conflict carries the current incident as the API shows it.
pub async fn command_error(state: &AppState, err: CommandError) -> AppError {
    match err {
        CommandError::Conflict { expected, current } => {
            let current = match incidents::find(&state.pool, current.id).await {
                Ok(Some(row)) => match incident_json(state, row).await {
                    Ok(json) => serde_json::to_value(json).ok(),
                    Err(_) => None,
                },
                _ => None,
            };
            AppError::Conflict {
                message: format!("The incident changed since version {expected}; nothing was saved. `current` holds it as it is now."),
                current,
            }
        }
        other => other.into(),
    }
}

/// Which incidents a list holds, by status.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Open,
    Resolved,
    Investigating,
    Identified,
    Monitoring,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    /// `open` (not resolved), `resolved`, or one open status.
    #[param(inline)]
    pub status: Option<StatusFilter>,
    pub severity: Option<Severity>,
    /// Declared at or after (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Incidents, newest declared first.
#[utoipa::path(get, path = "/incidents", tag = "incidents", params(IncidentQuery),
    responses((status = 200, body = Page<IncidentJson>), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_incidents(
    State(state): State<AppState>,
    _caller: ApiUser,
    Query(query): Query<IncidentQuery>,
) -> Result<Json<Page<IncidentJson>>, AppError> {
    let limit = ListQuery {
        limit: query.limit,
        cursor: None,
    }
    .limit()?;
    let mut filter = ListFilter {
        severity: query.severity,
        since: query.since,
        ..Default::default()
    };
    match query.status {
        None => {}
        Some(StatusFilter::Open) => filter.open = Some(true),
        Some(StatusFilter::Resolved) => filter.open = Some(false),
        Some(StatusFilter::Investigating) => filter.status = Some(IncidentStatus::Investigating),
        Some(StatusFilter::Identified) => filter.status = Some(IncidentStatus::Identified),
        Some(StatusFilter::Monitoring) => filter.status = Some(IncidentStatus::Monitoring),
    }
    if let Some(cursor) = &query.cursor {
        let decoded = URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let parsed = decoded
            .as_deref()
            .and_then(|s| s.split_once('_'))
            .and_then(|(nanos, id)| {
                Some((
                    OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?,
                    Uuid::parse_str(id).ok()?,
                ))
            });
        filter.before = Some(
            parsed
                .ok_or_else(|| AppError::field("cursor", "This cursor is not one we gave out."))?,
        );
    }
    let mut rows = incidents::list(&state.pool, &filter, limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|i| {
            URL_SAFE_NO_PAD.encode(format!("{}_{}", i.declared_at.unix_timestamp_nanos(), i.id))
        })
    } else {
        None
    };
    let items = incidents_json(&state, rows).await?;
    Ok(Json(Page { items, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentStatusJson {
    pub id: Uuid,
    pub status: ComponentStatus,
}

/// An incident to declare.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareJson {
    #[schema(max_length = 200)]
    pub title: String,
    pub severity: Severity,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub summary: String,
    pub visibility: Option<Visibility>,
    /// Default: derived from severity (sev1 → critical, sev2 → major, sev3 → minor, sev4 → none).
    pub impact: Option<Impact>,
    /// Default: the caller.
    pub leader_id: Option<Uuid>,
    #[serde(default)]
    pub components: Vec<ComponentStatusJson>,
    /// When impact began; default now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub detected_at: Option<OffsetDateTime>,
    /// Body (Markdown) of a first public update, which puts the incident on the status
    /// page at once. Without it the incident stays off every public surface until its
    /// first public update.
    #[schema(max_length = 20000)]
    pub initial_update: Option<String>,
    /// The name customers see (default: `title`).
    #[schema(max_length = 200)]
    pub public_title: Option<String>,
    /// Show the `components` changes on the status page now, before any public update
    /// (default false: they are held back until the incident is published).
    #[serde(default)]
    pub show_components: bool,
}

/// Declare an incident (responder). It starts `investigating`, with a recovery and a
/// root-cause workstream.
#[utoipa::path(post, path = "/incidents", security(("bearer" = ["responder"])), tag = "incidents", request_body = DeclareJson,
    responses((status = 201, body = IncidentJson, headers(("location" = String))),
              (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn declare_incident(
    State(state): State<AppState>,
    caller: Authorized<AsResponder>,
    Json(body): Json<DeclareJson>,
) -> Result<Response, AppError> {
    let new = NewIncident {
        title: body.title,
        severity: body.severity,
        summary: body.summary,
        visibility: body.visibility.unwrap_or(Visibility::Public),
        impact: body.impact,
        leader_id: body.leader_id,
        components: body
            .components
            .into_iter()
            .map(|c| (c.id, c.status))
            .collect(),
        started_at: body.started_at,
        detected_at: body.detected_at,
        initial_update: body.initial_update,
        public_title: body.public_title,
        show_components: body.show_components,
    };
    let mut tx = state.pool.begin().await?;
    let incident = incidents::declare(&mut tx, &caller.0, new).await?;
    tx.commit().await?;
    let location = format!("/api/v1/incidents/{}", incident.id);
    let json = incident_json(&state, incident).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json),
    )
        .into_response())
}

/// One incident (by id or `INC-42`).
#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents", params(("id" = String, Path, description = "UUID or INC-42")),
    responses((status = 200, body = IncidentJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_incident(
    State(state): State<AppState>,
    _caller: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<IncidentJson>, AppError> {
    let incident = find_incident(&state, &id).await?;
    Ok(Json(incident_json(&state, incident).await?))
}

/// Changes to an incident. `version` is required: a stale one gets 409 with `current`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatchJson {
    pub version: i32,
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// The name customers see (before publication: the one the first update uses).
    #[schema(max_length = 200)]
    pub public_title: Option<String>,
    #[schema(max_length = 5000)]
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    pub status: Option<IncidentStatus>,
    /// Overrides the impact derived from severity.
    pub impact: Option<Impact>,
    /// `true` goes back to the impact derived from severity.
    #[serde(default)]
    pub impact_follows_severity: bool,
    pub visibility: Option<Visibility>,
    pub leader_id: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub detected_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub declared_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub mitigated_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Option<String>>,
    /// Why lifecycle timestamps change (required when any does; logged).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

fn parse_time(
    field: &'static str,
    raw: Option<String>,
) -> Result<Option<OffsetDateTime>, AppError> {
    raw.map(|s| {
        OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| AppError::field(field, format!("{s:?} is not an RFC 3339 timestamp.")))
    })
    .transpose()
}

/// Change an incident (responder). Each change is logged with its old and new value.
#[utoipa::path(patch, path = "/incidents/{id}", security(("bearer" = ["responder"])), tag = "incidents", params(("id" = String, Path)), request_body = IncidentPatchJson,
    responses((status = 200, body = IncidentJson), (status = 409, description = "Stale version; `current` holds the incident", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_incident(
    State(state): State<AppState>,
    caller: Authorized<AsResponder>,
    Path(id): Path<String>,
    Json(body): Json<IncidentPatchJson>,
) -> Result<Json<IncidentJson>, AppError> {
    let incident = find_incident(&state, &id).await?;
    let mut milestones = Vec::new();
    for (milestone, raw, field) in [
        (Milestone::Started, body.started_at, "started_at"),
        (Milestone::Detected, body.detected_at, "detected_at"),
        (Milestone::Declared, body.declared_at, "declared_at"),
        (
            Milestone::Acknowledged,
            body.acknowledged_at,
            "acknowledged_at",
        ),
        (Milestone::Mitigated, body.mitigated_at, "mitigated_at"),
        (Milestone::Resolved, body.resolved_at, "resolved_at"),
    ] {
        if let Some(value) = raw {
            milestones.push((milestone, parse_time(field, value)?));
        }
    }
    let changes = IncidentChanges {
        version: Some(body.version),
        title: body.title,
        public_title: body.public_title,
        summary: body.summary,
        severity: body.severity,
        status: body.status,
        impact: body.impact,
        impact_follows_severity: body.impact_follows_severity,
        visibility: body.visibility,
        leader_id: body.leader_id,
    };
    let mut tx = state.pool.begin().await?;
    let result = async {
        let mut updated =
            incidents::update_fields(&mut tx, &caller.0, incident.id, changes).await?;
        for (milestone, value) in milestones {
            let reason = body.reason.as_deref().unwrap_or("");
            updated =
                incidents::set_milestone(&mut tx, &caller.0, incident.id, milestone, value, reason)
                    .await?;
        }
        Ok::<_, CommandError>(updated)
    }
    .await;
    match result {
        Ok(updated) => {
            tx.commit().await?;
            Ok(Json(incident_json(&state, updated).await?))
        }
        Err(err) => {
            drop(tx);
            Err(command_error(&state, err).await)
        }
    }
}

/// The workstreams of an incident, with their tasks.
#[utoipa::path(get, path = "/incidents/{id}/workstreams", tag = "workstreams", params(("id" = String, Path)),
    responses((status = 200, body = Vec<WorkstreamJson>), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_workstreams(
    State(state): State<AppState>,
    _caller: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<WorkstreamJson>>, AppError> {
    let incident = find_incident(&state, &id).await?;
    Ok(Json(workstreams_json(&state, incident.id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkstreamJson {
    #[schema(max_length = 200)]
    pub title: String,
    pub lead_id: Option<Uuid>,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub objective: String,
}

async fn one_workstream(state: &AppState, id: Uuid) -> Result<WorkstreamJson, AppError> {
    let ws = workstreams::find(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no workstream {id}.")))?;
    workstreams_json(state, ws.incident_id)
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or_else(|| AppError::NotFound(format!("There is no workstream {id}.")))
}

/// Add a custom workstream (responder).
#[utoipa::path(post, path = "/incidents/{id}/workstreams", security(("bearer" = ["responder"])), tag = "workstreams", params(("id" = String, Path)), request_body = NewWorkstreamJson,
    responses((status = 201, body = WorkstreamJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn add_workstream(
    State(state): State<AppState>,
    caller: Authorized<AsResponder>,
    Path(id): Path<String>,
    Json(body): Json<NewWorkstreamJson>,
) -> Result<Response, AppError> {
    let incident = find_incident(&state, &id).await?;
    let mut tx = state.pool.begin().await?;
    let ws = workstreams::add(
        &mut tx,
        &caller.0,
        incident.id,
        &body.title,
        body.lead_id,
        &body.objective,
    )
    .await?;
    tx.commit().await?;
    let json = one_workstream(&state, ws).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/workstreams/{ws}"))],
        Json(json),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkstreamPatchJson {
    #[schema(max_length = 200)]
    pub title: Option<String>,
    pub lead_id: Option<Uuid>,
    #[schema(max_length = 5000)]
    pub objective: Option<String>,
    pub status: Option<WorkstreamStatus>,
}

/// Change a workstream (responder). Marking recovery done sets "mitigated" unless set.
#[utoipa::path(patch, path = "/workstreams/{id}", security(("bearer" = ["responder"])), tag = "workstreams", params(("id" = Uuid, Path)), request_body = WorkstreamPatchJson,
    responses((status = 200, body = WorkstreamJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_workstream(
    State(state): State<AppState>,
    caller: Authorized<AsResponder>,
    Path(id): Path<Uuid>,
    Json(body): Json<WorkstreamPatchJson>,
) -> Result<Json<WorkstreamJson>, AppError> {
    let changes = workstreams::WorkstreamChanges {
        title: body.title,
        lead_id: body.lead_id,
        objective: body.objective,
        status: body.status,
    };
    let mut tx = state.pool.begin().await?;
    workstreams::change(&mut tx, &caller.0, id, changes).await?;
    tx.commit().await?;
    Ok(Json(one_workstream(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaskJson {
    #[schema(max_length = 200)]
    pub title: String,
    pub assignee_id: Option<Uuid>,
}

/// Add a task to a workstream (responder).
#[utoipa::path(post, path = "/workstreams/{id}/tasks", security(("bearer" = ["responder"])), tag = "workstreams", params(("id" = Uuid, Path)), request_body = NewTaskJson,
    responses((status = 201, body = TaskJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn add_task(
    State(state): State<AppState>,
    caller: Authorized<AsResponder>,
    Path(id): Path<Uuid>,
    Json(body): Json<NewTaskJson>,
) -> Result<Response, AppError> {
    let mut tx = state.pool.begin().await?;
    let task = workstreams::add_task(&mut tx, &caller.0, id, &body.title, body.assignee_id).await?;
    tx.commit().await?;
    let json = task_json(&task);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/tasks/{}", task.id))],
        Json(json),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatchJson {
    #[schema(max_length = 200)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Option<Option<Uuid>>,
    pub done: Option<bool>,
}

/// Change a task (responder).
#[utoipa::path(patch, path = "/tasks/{id}", security(("bearer" = ["responder"])), tag = "workstreams", params(("id" = Uuid, Path)), request_body = TaskPatchJson,
    responses((status = 200, body = TaskJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_task(
    State(state): State<AppState>,
    caller: Authorized<AsResponder>,
    Path(id): Path<Uuid>,
    Json(body): Json<TaskPatchJson>,
) -> Result<Json<TaskJson>, AppError> {
    let mut tx = state.pool.begin().await?;
    let task = workstreams::change_task(
        &mut tx,
        &caller.0,
        id,
        workstreams::TaskChanges {
            title: body.title,
            assignee_id: body.assignee_id,
            done: body.done,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(task_json(&task)))
}
