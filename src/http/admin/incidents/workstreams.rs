//! Workstreams and their tasks on the incident page.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::actions::{back, person};
use super::{incident_path, load};
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{CsrfForm, CurrentUser, Path};
use crate::incidents::{self, workstreams, WorkstreamStatus};

#[derive(Deserialize)]
pub struct WorkstreamForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    lead_id: String,
    #[serde(default)]
    objective: String,
}

pub async fn add_workstream(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<WorkstreamForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let incident = load(&state, &reference).await?;
    let lead = match form.lead_id.trim() {
        "" => None,
        raw => Some(person(raw, &user)?),
    };
    let mut tx = state.pool.begin().await?;
    workstreams::add(
        &mut tx,
        &user.user,
        incident.id,
        &form.title,
        lead,
        &form.objective,
    )
    .await?;
    tx.commit().await?;
    Ok(back(
        &state,
        &incident_path(&incident),
        "#ws-h",
        "Workstream added.",
    ))
}

#[derive(Deserialize)]
pub struct ChangeWorkstreamForm {
    lead_id: Option<String>,
    status: Option<String>,
    objective: Option<String>,
}

pub async fn change_workstream(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<ChangeWorkstreamForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let changes = workstreams::WorkstreamChanges {
        title: None,
        lead_id: form
            .lead_id
            .as_deref()
            .map(|raw| person(raw, &user))
            .transpose()?,
        objective: form.objective,
        status: form
            .status
            .as_deref()
            .map(|s| {
                WorkstreamStatus::parse(s)
                    .ok_or_else(|| AppError::field("status", "Choose active or done."))
            })
            .transpose()?,
    };
    let mut tx = state.pool.begin().await?;
    let ws = workstreams::change(&mut tx, &user.user, id, changes).await?;
    let incident = incidents::find(&mut *tx, ws.incident_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such incident.".into()))?;
    tx.commit().await?;
    Ok(back(
        &state,
        &incident_path(&incident),
        "#ws-h",
        &format!("{} saved.", ws.title),
    ))
}

#[derive(Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    assignee_id: String,
}

pub async fn add_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<TaskForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let assignee = match form.assignee_id.trim() {
        "" => None,
        raw => Some(person(raw, &user)?),
    };
    let mut tx = state.pool.begin().await?;
    let task = workstreams::add_task(&mut tx, &user.user, id, &form.title, assignee).await?;
    let ws = workstreams::find(&mut *tx, task.workstream_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such workstream.".into()))?;
    let incident = incidents::find(&mut *tx, ws.incident_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such incident.".into()))?;
    tx.commit().await?;
    Ok(back(
        &state,
        &incident_path(&incident),
        "#ws-h",
        "Task added.",
    ))
}

#[derive(Deserialize)]
pub struct ChangeTaskForm {
    done: Option<bool>,
    assignee_id: Option<String>,
}

pub async fn change_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<ChangeTaskForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let assignee_id = match form.assignee_id.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(raw) => Some(Some(person(raw, &user)?)),
    };
    let mut tx = state.pool.begin().await?;
    let task = workstreams::change_task(
        &mut tx,
        &user.user,
        id,
        workstreams::TaskChanges {
            title: None,
            assignee_id,
            done: form.done,
        },
    )
    .await?;
    let ws = workstreams::find(&mut *tx, task.workstream_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such workstream.".into()))?;
    let incident = incidents::find(&mut *tx, ws.incident_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such incident.".into()))?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}#ws-{}", incident_path(&incident), ws.id)).into_response())
}
