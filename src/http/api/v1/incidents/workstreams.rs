//! `/api/v1/incidents/{id}/workstreams`, workstreams and their tasks.

use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::super::{created, missing, Answer, Edit, Reply, Responder};
use super::{present, ProblemDoc};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
use crate::incidents::workstreams;
use crate::incidents::WorkstreamStatus;

use super::json::task_json;
use super::{find_incident, workstreams_json, TaskJson, WorkstreamJson};

/// The workstreams of an incident, with their tasks.
#[utoipa::path(get, path = "/incidents/{id}/workstreams", tag = "workstreams", params(("id" = String, Path)),
    responses((status = 200, body = Vec<WorkstreamJson>), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_workstreams(c: Caller, Path(id): Path<String>) -> Reply<Vec<WorkstreamJson>> {
    let incident = find_incident(&c.state, &id).await?;
    Ok(Json(workstreams_json(&c.state, incident.id).await?))
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
    let ws = workstreams::find(&state.pool, id).await?;
    let ws = ws.ok_or_else(|| missing("workstream", id))?;
    let all = workstreams_json(state, ws.incident_id).await?;
    let one = all.into_iter().find(|w| w.id == id);
    one.ok_or_else(|| missing("workstream", id))
}

/// Add a custom workstream (responder).
#[utoipa::path(post, path = "/incidents/{id}/workstreams", security(("bearer" = ["responder"])), tag = "workstreams", params(("id" = String, Path)), request_body = NewWorkstreamJson,
    responses((status = 201, body = WorkstreamJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn add_workstream(
    c: Responder,
    Edit(id, body): Edit<NewWorkstreamJson, String>,
) -> Answer {
    let incident = find_incident(&c.state, &id).await?;
    let (title, lead, objective) = (&body.title, body.lead_id, &body.objective);
    let mut tx = c.begin().await?;
    let ws = workstreams::add(&mut tx, &c.user, incident.id, title, lead, objective).await?;
    tx.commit().await?;
    created(
        format!("/api/v1/workstreams/{ws}"),
        one_workstream(&c.state, ws).await?,
    )
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
    c: Responder,
    Edit(id, body): Edit<WorkstreamPatchJson>,
) -> Reply<WorkstreamJson> {
    let changes = workstreams::WorkstreamChanges {
        title: body.title,
        lead_id: body.lead_id,
        objective: body.objective,
        status: body.status,
    };
    let mut tx = c.begin().await?;
    workstreams::change(&mut tx, &c.user, id, changes).await?;
    tx.commit().await?;
    Ok(Json(one_workstream(&c.state, id).await?))
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
pub async fn add_task(c: Responder, Edit(id, body): Edit<NewTaskJson>) -> Answer {
    let mut tx = c.begin().await?;
    let task = workstreams::add_task(&mut tx, &c.user, id, &body.title, body.assignee_id).await?;
    tx.commit().await?;
    created(format!("/api/v1/tasks/{}", task.id), task_json(&task))
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
pub async fn patch_task(c: Responder, Edit(id, body): Edit<TaskPatchJson>) -> Reply<TaskJson> {
    let changes = workstreams::TaskChanges {
        title: body.title,
        assignee_id: body.assignee_id,
        done: body.done,
    };
    let mut tx = c.begin().await?;
    let task = workstreams::change_task(&mut tx, &c.user, id, changes).await?;
    tx.commit().await?;
    Ok(Json(task_json(&task)))
}
