//! `/api/v1/incidents/{id}/workstreams`, workstreams and their tasks.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{present, ProblemDoc};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{ApiUser, AsResponder, Authorized, Json, Path};
use crate::incidents::workstreams;
use crate::incidents::WorkstreamStatus;

use super::json::task_json;
use super::{find_incident, workstreams_json, TaskJson, WorkstreamJson};

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
