//! What responders do on the incident page. Every handler: check the role, run one
//! command in one transaction, and go back to the page (or show it again with the
//! problem explained).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use sqlx::{Postgres, Transaction};
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
use crate::incidents::{self, CommandError, IncidentChanges, NewNote};
use crate::incidents::{Impact, IncidentStatus, Milestone, Severity, Visibility};
use crate::platform::markdown;

/// The incident page again, with what was wrong said at the top.
pub(super) async fn refuse(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    incident: incidents::IncidentRow,
    message: String,
) -> Result<Response, AppError> {
    render_with(
        state,
        user,
        jar,
        incident,
        alert(message),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// The end of every action: commit and go on with `done`, or, if the command refused,
/// show the incident page again with `refused(message)` (status 422).
pub(super) async fn finish<T>(
    (state, user, jar): (&AppState, &CurrentUser, &CookieJar),
    tx: Transaction<'_, Postgres>,
    incident: incidents::IncidentRow,
    outcome: Result<T, CommandError>,
    refused: impl FnOnce(String) -> PageExtras,
    done: impl FnOnce(T) -> Response,
) -> Result<Response, AppError> {
    match outcome {
        Ok(value) => {
            tx.commit().await?;
            Ok(done(value))
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            let extras = refused(message);
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
        Err(other) => Err(other.into()),
    }
}

/// What [`finish`] shows for most refusals: the message at the top of the page.
pub(super) fn alert(message: String) -> PageExtras {
    PageExtras {
        alert: Some(message),
        ..Default::default()
    }
}

pub(super) fn back(state: &AppState, path: &str, anchor: &str, message: &str) -> Response {
    redirect_with_flash(state, &format!("{path}{anchor}"), message)
}

/// `take` means the person submitting; otherwise a user id.
pub(super) fn person(raw: &str, user: &CurrentUser) -> Result<Uuid, AppError> {
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
    let outcome = incidents::hand_over(&mut tx, &user.user, incident.id, leader_id).await;
    finish(
        (&state, &user, &jar),
        tx,
        incident,
        outcome,
        alert,
        |updated| {
            let message = if leader_id == user.user.id {
                "You have command.".to_owned()
            } else {
                format!("{} has command now.", updated.leader_name)
            };
            back(&state, &incident_path(&updated), "", &message)
        },
    )
    .await
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
    let outcome = incidents::set_milestone(
        &mut tx,
        &user.user,
        incident.id,
        milestone,
        value,
        &form.reason,
    )
    .await;
    finish(
        (&state, &user, &jar),
        tx,
        incident,
        outcome,
        alert,
        |updated| {
            back(
                &state,
                &incident_path(&updated),
                "",
                &format!("{} saved.", milestone.label()),
            )
        },
    )
    .await
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
    let outcome = incidents::add_note(&mut tx, &user.user, incident.id, note).await;
    let path = incident_path(&incident);
    let refused = |message| PageExtras {
        note: Some(redo(message)),
        ..Default::default()
    };
    finish(
        (&state, &user, &jar),
        tx,
        incident,
        outcome,
        refused,
        |id| Redirect::to(&format!("{path}#event-{id}")).into_response(),
    )
    .await
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
    let outcome = incidents::updates::post_update(&mut tx, &user.user, incident.id, new).await;
    let path = incident_path(&incident);
    let refused = |message| {
        draft.error = Some(message);
        PageExtras {
            update: Some(draft),
            ..Default::default()
        }
    };
    finish(
        (&state, &user, &jar),
        tx,
        incident,
        outcome,
        refused,
        |_| {
            let message = if publishing {
                "Public update posted: the incident is now on the status page."
            } else {
                "Public update posted."
            };
            back(&state, &path, "#updates-h", message)
        },
    )
    .await
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
