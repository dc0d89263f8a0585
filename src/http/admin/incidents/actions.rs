//! What responders do on the incident page. Every handler: check the role, run one
//! command in one transaction, and go back to the page (or show it again with the
//! problem explained).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use uuid::Uuid;

use super::show::{render_with, NoteDraft, PageExtras, UpdateDraft};
use super::view::parse_input_time;
use super::{incident_path, load};
use crate::accounts::Role;
use crate::app::AppState;
use crate::components::ComponentStatus;
use crate::http::error::AppError;
use crate::http::extract::{CsrfForm, CurrentUser, Path};
use crate::http::session::redirect_with_flash;
use crate::incidents::{self, workstreams, CommandError, IncidentChanges, NewNote};
use crate::incidents::{Impact, IncidentStatus, Milestone, Severity, Visibility, WorkstreamStatus};
use crate::platform::markdown;

/// The incident page again, with what was wrong said at the top.
pub(super) async fn refuse(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    incident: incidents::IncidentRow,
    message: String,
) -> Result<Response, AppError> {
    let extras = PageExtras {
        alert: Some(message),
        ..Default::default()
    };
    render_with(
        state,
        user,
        jar,
        incident,
        extras,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

pub(super) fn back(state: &AppState, path: &str, anchor: &str, message: &str) -> Response {
    redirect_with_flash(state, &format!("{path}{anchor}"), message)
}

/// `take` means the person submitting; otherwise a user id.
fn person(raw: &str, user: &CurrentUser) -> Result<Uuid, AppError> {
    match raw.trim() {
        "take" => Ok(user.user.id),
        id => Uuid::parse_str(id)
            .map_err(|_| AppError::field("leader_id", "Choose a person from the list.")),
    }
}

#[derive(Deserialize)]
pub struct EditForm {
    version: i32,
    #[serde(default)]
    title: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    visibility: String,
}

pub async fn edit_incident(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<EditForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let incident = load(&state, &reference).await?;
    let enum_field = |field: &'static str, raw: &str, valid: bool| -> Result<(), AppError> {
        if valid || raw.is_empty() {
            Ok(())
        } else {
            Err(AppError::field(
                field,
                format!("{raw:?} is not a valid {field}."),
            ))
        }
    };
    enum_field(
        "severity",
        &form.severity,
        Severity::parse(&form.severity).is_some(),
    )?;
    enum_field(
        "status",
        &form.status,
        IncidentStatus::parse(&form.status).is_some(),
    )?;
    enum_field(
        "impact",
        &form.impact,
        Impact::parse(&form.impact).is_some(),
    )?;
    enum_field(
        "visibility",
        &form.visibility,
        Visibility::parse(&form.visibility).is_some(),
    )?;
    let changes = IncidentChanges {
        version: Some(form.version),
        title: Some(form.title),
        severity: Severity::parse(&form.severity),
        status: IncidentStatus::parse(&form.status),
        impact: Impact::parse(&form.impact),
        impact_follows_severity: form.impact.is_empty(),
        visibility: Visibility::parse(&form.visibility),
        ..Default::default()
    };
    let mut tx = state.pool.begin().await?;
    match incidents::update_fields(&mut tx, &user.user, incident.id, changes).await {
        Ok(updated) => {
            tx.commit().await?;
            Ok(back(&state, &incident_path(&updated), "", "Details saved."))
        }
        Err(CommandError::Conflict { current, .. }) => {
            drop(tx);
            let current = incidents::find(&state.pool, current.id)
                .await?
                .ok_or(CommandError::NotFound)?;
            let alert = format!(
                "Not saved: someone else changed {} while you were editing (it is now at version {}). \
                 The form shows the current values; make your change again.",
                current.reference(),
                current.version
            );
            render_with(
                &state,
                &user,
                &jar,
                current,
                PageExtras {
                    alert: Some(alert),
                    ..Default::default()
                },
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            refuse(&state, &user, &jar, incident, message).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct CommandForm {
    #[serde(default)]
    leader_id: String,
}

pub async fn change_command(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<CommandForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let incident = load(&state, &reference).await?;
    let leader_id = person(&form.leader_id, &user)?;
    let mut tx = state.pool.begin().await?;
    match incidents::hand_over(&mut tx, &user.user, incident.id, leader_id).await {
        Ok(updated) => {
            tx.commit().await?;
            let message = if leader_id == user.user.id {
                "You have command.".to_owned()
            } else {
                format!("{} has command now.", updated.leader_name)
            };
            Ok(back(&state, &incident_path(&updated), "", &message))
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            refuse(&state, &user, &jar, incident, message).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct MilestoneForm {
    #[serde(default)]
    milestone: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn set_milestone(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<MilestoneForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let incident = load(&state, &reference).await?;
    let milestone = Milestone::parse(&form.milestone)
        .ok_or_else(|| AppError::field("milestone", "Choose a lifecycle time."))?;
    let value = match form.value.trim() {
        "" => None,
        raw => Some(
            parse_input_time(raw, &form.time_zone)
                .map_err(|message| AppError::field("value", message))?,
        ),
    };
    let mut tx = state.pool.begin().await?;
    match incidents::set_milestone(
        &mut tx,
        &user.user,
        incident.id,
        milestone,
        value,
        &form.reason,
    )
    .await
    {
        Ok(updated) => {
            tx.commit().await?;
            Ok(back(
                &state,
                &incident_path(&updated),
                "",
                &format!("{} saved.", milestone.label()),
            ))
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            refuse(&state, &user, &jar, incident, message).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    workstream_id: String,
    #[serde(default)]
    occurred_at: String,
    #[serde(default)]
    pinned: Option<String>,
    #[serde(default)]
    corrects: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn add_note(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let incident = load(&state, &reference).await?;
    let redo = |message: String| NoteDraft {
        body: form.body.clone(),
        occurred_at: form.occurred_at.clone(),
        error: Some(message),
    };
    let occurred_at = match form.occurred_at.trim() {
        "" => None,
        raw => match parse_input_time(raw, &form.time_zone) {
            Ok(at) => Some(at),
            Err(message) => {
                let extras = PageExtras {
                    note: Some(redo(message)),
                    ..Default::default()
                };
                return render_with(
                    &state,
                    &user,
                    &jar,
                    incident,
                    extras,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
    };
    let note = NewNote {
        body: form.body.clone(),
        workstream_id: Uuid::parse_str(&form.workstream_id).ok(),
        occurred_at,
        pinned: form.pinned.is_some(),
        corrects: Uuid::parse_str(&form.corrects).ok(),
    };
    let mut tx = state.pool.begin().await?;
    match incidents::add_note(&mut tx, &user.user, incident.id, note).await {
        Ok(id) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("{}#event-{id}", incident_path(&incident))).into_response())
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            let extras = PageExtras {
                note: Some(redo(message)),
                ..Default::default()
            };
            render_with(
                &state,
                &user,
                &jar,
                incident,
                extras,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct PinForm {
    pinned: bool,
}

pub async fn pin_event(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((reference, event_id)): Path<(String, Uuid)>,
    CsrfForm(form): CsrfForm<PinForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let incident = load(&state, &reference).await?;
    let mut tx = state.pool.begin().await?;
    incidents::set_pinned(&mut tx, incident.id, event_id, form.pinned).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}#event-{event_id}", incident_path(&incident))).into_response())
}

/// The composer's fields: status, body, notify, action and `component:<id>` = status.
fn parse_update_form(fields: &[(String, String)]) -> Result<(UpdateDraft, bool, bool), AppError> {
    let mut draft = UpdateDraft {
        notify: false,
        ..Default::default()
    };
    let mut post = false;
    // The title the form was loaded with: unchanged, it renames nothing (a form loaded
    // before someone else renamed the incident must not rename it back).
    let mut title_was = None;
    for (key, value) in fields {
        match key.as_str() {
            "status" => {
                draft.status = Some(IncidentStatus::parse(value).ok_or_else(|| {
                    AppError::field("status", format!("{value:?} is not an incident status."))
                })?)
            }
            "body" => draft.body = value.clone(),
            "title" => draft.title = Some(value.clone()),
            "title_was" => title_was = Some(value.clone()),
            "notify" => draft.notify = true,
            "action" => post = value == "post",
            key => {
                if let Some(id) = key.strip_prefix("component:") {
                    if value.is_empty() {
                        continue;
                    }
                    let id = Uuid::parse_str(id)
                        .map_err(|_| AppError::field("components", "Unknown component."))?;
                    let status = ComponentStatus::parse(value).ok_or_else(|| {
                        AppError::field(
                            "components",
                            format!("{value:?} is not a component status."),
                        )
                    })?;
                    draft.components.push((id, status));
                }
            }
        }
    }
    let untouched = title_was.is_some() && draft.title == title_was;
    Ok((draft, post, untouched))
}

pub async fn post_update(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(reference): Path<String>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let incident = load(&state, &reference).await?;
    let (mut draft, post, title_untouched) = parse_update_form(&fields)?;
    if !post {
        draft.preview_html = Some(markdown::render(&draft.body));
        let extras = PageExtras {
            update: Some(draft),
            ..Default::default()
        };
        return render_with(&state, &user, &jar, incident, extras, StatusCode::OK).await;
    }
    let new = incidents::updates::NewUpdate {
        status: draft.status.unwrap_or(incident.status),
        body: draft.body.clone(),
        components: draft.components.clone(),
        notify: draft.notify,
        title: draft.title.clone().filter(|_| !title_untouched),
    };
    let publishing = incident.visibility == Visibility::Public && incident.published_at.is_none();
    let mut tx = state.pool.begin().await?;
    match incidents::updates::post_update(&mut tx, &user.user, incident.id, new).await {
        Ok(_) => {
            tx.commit().await?;
            let message = if publishing {
                "Public update posted: the incident is now on the status page."
            } else {
                "Public update posted."
            };
            Ok(back(
                &state,
                &incident_path(&incident),
                "#updates-h",
                message,
            ))
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            draft.error = Some(message);
            let extras = PageExtras {
                update: Some(draft),
                ..Default::default()
            };
            render_with(
                &state,
                &user,
                &jar,
                incident,
                extras,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

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

#[derive(Deserialize)]
pub struct PreviewForm {
    #[serde(default)]
    body: String,
}

/// Markdown preview for the composers' live preview (the same sanitiser as everywhere).
pub async fn preview_markdown(
    user: CurrentUser,
    CsrfForm(form): CsrfForm<PreviewForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    Ok(Html(markdown::render(&form.body)).into_response())
}
