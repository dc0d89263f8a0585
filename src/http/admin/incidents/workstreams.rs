//! Workstreams and their tasks on the incident page.

use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::actions::{back, person, Responder};
use super::{incident_path, load, Posted, Reply};
use crate::http::error::AppError;
use crate::incidents::workstreams::{self, TaskRow, WorkstreamRow};
use crate::incidents::{self, IncidentRow, WorkstreamStatus};

/// Nobody when left empty, else [`person`].
fn maybe_person(raw: &str, s: &Responder) -> Result<Option<Uuid>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        raw => person(raw, s).map(Some),
    }
}

/// The incident a workstream belongs to.
async fn incident_of(
    tx: &mut Transaction<'_, Postgres>,
    ws: &WorkstreamRow,
) -> Result<IncidentRow, AppError> {
    incidents::find(&mut **tx, ws.incident_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such incident.".into()))
}

/// The workstream of a task just written, and its incident.
async fn task_place(
    tx: &mut Transaction<'_, Postgres>,
    task: &TaskRow,
) -> Result<(WorkstreamRow, IncidentRow), AppError> {
    let ws = workstreams::find(&mut **tx, task.workstream_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such workstream.".into()))?;
    let incident = incident_of(tx, &ws).await?;
    Ok((ws, incident))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct WorkstreamForm {
    title: String,
    lead_id: String,
    objective: String,
}

pub async fn add_workstream(Posted { s, at, form }: Posted<String, WorkstreamForm>) -> Reply {
    let incident = load(&s.state, &at).await?;
    let lead = maybe_person(&form.lead_id, &s)?;
    let (title, objective) = (&form.title, &form.objective);
    let mut tx = s.begin().await?;
    workstreams::add(&mut tx, &s.user.user, incident.id, title, lead, objective).await?;
    tx.commit().await?;
    Ok(back(
        &s,
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
    Posted { s, at: id, form }: Posted<Uuid, ChangeWorkstreamForm>,
) -> Reply {
    let status = |raw: &str| {
        WorkstreamStatus::parse(raw)
            .ok_or_else(|| AppError::field("status", "Choose active or done."))
    };
    let changes = workstreams::WorkstreamChanges {
        title: None,
        lead_id: form
            .lead_id
            .as_deref()
            .map(|raw| person(raw, &s))
            .transpose()?,
        objective: form.objective,
        status: form.status.as_deref().map(status).transpose()?,
    };
    let mut tx = s.begin().await?;
    let ws = workstreams::change(&mut tx, &s.user.user, id, changes).await?;
    let incident = incident_of(&mut tx, &ws).await?;
    tx.commit().await?;
    let saved = format!("{} saved.", ws.title);
    Ok(back(&s, &incident_path(&incident), "#ws-h", &saved))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TaskForm {
    title: String,
    assignee_id: String,
}

pub async fn add_task(Posted { s, at: id, form }: Posted<Uuid, TaskForm>) -> Reply {
    let assignee = maybe_person(&form.assignee_id, &s)?;
    let mut tx = s.begin().await?;
    let task = workstreams::add_task(&mut tx, &s.user.user, id, &form.title, assignee).await?;
    let (_, incident) = task_place(&mut tx, &task).await?;
    tx.commit().await?;
    Ok(back(&s, &incident_path(&incident), "#ws-h", "Task added."))
}

#[derive(Deserialize)]
pub struct ChangeTaskForm {
    done: Option<bool>,
    assignee_id: Option<String>,
}

pub async fn change_task(Posted { s, at: id, form }: Posted<Uuid, ChangeTaskForm>) -> Reply {
    let assignee_id = form
        .assignee_id
        .as_deref()
        .map(|raw| maybe_person(raw, &s))
        .transpose()?;
    let changes = workstreams::TaskChanges {
        title: None,
        assignee_id,
        done: form.done,
    };
    let mut tx = s.begin().await?;
    let task = workstreams::change_task(&mut tx, &s.user.user, id, changes).await?;
    let (ws, incident) = task_place(&mut tx, &task).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}#ws-{}", incident_path(&incident), ws.id)).into_response())
}
