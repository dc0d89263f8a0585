//! What responders do on the incident page. Every handler: run one command in one
//! transaction, and go back to the page (or show it again with the problem explained).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::show::{render_with, NoteDraft, PageExtras, UpdateDraft};
use super::view::parse_input_time;
use super::{incident_path, load, refusal, Posted, Reply};
use crate::components::ComponentStatus;
use crate::http::error::AppError;
use crate::http::extract::{AsResponder, CsrfForm, Staff};
use crate::incidents::{self, CommandError, IncidentChanges, IncidentRow, NewNote};
use crate::incidents::{Impact, IncidentStatus, Milestone, Severity, Visibility};
use crate::platform::markdown;

/// Who may act on an incident.
pub(super) type Responder = Staff<AsResponder>;

/// A form of named fields, in the order sent.
pub(super) type Fields = Vec<(String, String)>;

/// The end of every action: commit and go on with `done`, or, if the command refused,
/// show the incident page again with `refused(message)` (status 422).
pub(super) async fn finish<T>(
    s: &Responder,
    tx: Transaction<'_, Postgres>,
    incident: IncidentRow,
    outcome: Result<T, CommandError>,
    refused: impl FnOnce(String) -> PageExtras,
    done: impl FnOnce(T) -> Response,
) -> Reply {
    match refusal(outcome)? {
        Ok(value) => {
            tx.commit().await?;
            Ok(done(value))
        }
        Err(message) => {
            drop(tx);
            refuse(s, incident, refused(message)).await
        }
    }
}

/// The incident page again with what was wrong (status 422).
async fn refuse(s: &Responder, incident: IncidentRow, extras: PageExtras) -> Reply {
    render_with(s, incident, extras, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// What [`finish`] shows for most refusals: the message at the top of the page.
pub(super) fn alert(message: String) -> PageExtras {
    PageExtras {
        alert: Some(message),
        ..Default::default()
    }
}

pub(super) fn back(s: &Responder, path: &str, anchor: &str, message: &str) -> Response {
    s.flash(&format!("{path}{anchor}"), message)
}

/// Back to the incident's page, at its reference as it is after the change.
fn to_page<'a>(s: &'a Responder, message: &'a str) -> impl FnOnce(IncidentRow) -> Response + 'a {
    move |updated| back(s, &incident_path(&updated), "", message)
}

/// `take` means the person submitting; otherwise a user id.
pub(super) fn person(raw: &str, s: &Responder) -> Result<Uuid, AppError> {
    match raw.trim() {
        "take" => Ok(s.id()),
        id => Uuid::parse_str(id)
            .map_err(|_| AppError::field("leader_id", "Choose a person from the list.")),
    }
}

/// `component:<id>` = status, as the forms send a component's new status.
pub(super) fn component_status(id: &str, value: &str) -> Result<(Uuid, ComponentStatus), AppError> {
    let id =
        Uuid::parse_str(id).map_err(|_| AppError::field("components", "Unknown component."))?;
    let status = ComponentStatus::parse(value).ok_or_else(|| {
        AppError::field(
            "components",
            format!("{value:?} is not a component status."),
        )
    })?;
    Ok((id, status))
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

pub async fn edit_incident(Posted { s, at, form }: Posted<String, EditForm>) -> Reply {
    let incident = load(&s.state, &at).await?;
    let severity = Severity::parse(&form.severity);
    let status = IncidentStatus::parse(&form.status);
    let impact = Impact::parse(&form.impact);
    let visibility = Visibility::parse(&form.visibility);
    for (field, raw, valid) in [
        ("severity", &form.severity, severity.is_some()),
        ("status", &form.status, status.is_some()),
        ("impact", &form.impact, impact.is_some()),
        ("visibility", &form.visibility, visibility.is_some()),
    ] {
        if !valid && !raw.is_empty() {
            let message = format!("{raw:?} is not a valid {field}.");
            return Err(AppError::field(field, message));
        }
    }
    let changes = IncidentChanges {
        version: Some(form.version),
        title: Some(form.title),
        severity,
        status,
        impact,
        impact_follows_severity: form.impact.is_empty(),
        visibility,
        ..Default::default()
    };
    let mut tx = s.begin().await?;
    let outcome = incidents::update_fields(&mut tx, &s.user.user, incident.id, changes).await;
    let current = match outcome {
        Err(CommandError::Conflict { current, .. }) => current,
        outcome => {
            let done = to_page(&s, "Details saved.");
            return finish(&s, tx, incident, outcome, alert, done).await;
        }
    };
    drop(tx);
    let current = incidents::find(&s.state.pool, current.id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let message = format!(
        "Not saved: someone else changed {} while you were editing (it is now at version {}). \
         The form shows the current values; make your change again.",
        current.reference(),
        current.version
    );
    render_with(&s, current, alert(message), StatusCode::CONFLICT).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CommandForm {
    leader_id: String,
}

pub async fn change_command(Posted { s, at, form }: Posted<String, CommandForm>) -> Reply {
    let incident = load(&s.state, &at).await?;
    let leader_id = person(&form.leader_id, &s)?;
    let mut tx = s.begin().await?;
    let outcome = incidents::hand_over(&mut tx, &s.user.user, incident.id, leader_id).await;
    finish(&s, tx, incident, outcome, alert, |updated| {
        let message = if leader_id == s.id() {
            "You have command.".to_owned()
        } else {
            format!("{} has command now.", updated.leader_name)
        };
        back(&s, &incident_path(&updated), "", &message)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MilestoneForm {
    milestone: String,
    value: String,
    reason: String,
    time_zone: String,
}

pub async fn set_milestone(Posted { s, at, form }: Posted<String, MilestoneForm>) -> Reply {
    let incident = load(&s.state, &at).await?;
    let milestone = Milestone::parse(&form.milestone)
        .ok_or_else(|| AppError::field("milestone", "Choose a lifecycle time."))?;
    let value = match form.value.trim() {
        "" => None,
        raw => Some(
            parse_input_time(raw, &form.time_zone)
                .map_err(|message| AppError::field("value", message))?,
        ),
    };
    let mut tx = s.begin().await?;
    let outcome = incidents::set_milestone(
        &mut tx,
        &s.user.user,
        incident.id,
        milestone,
        value,
        &form.reason,
    )
    .await;
    let saved = format!("{} saved.", milestone.label());
    finish(&s, tx, incident, outcome, alert, to_page(&s, &saved)).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoteForm {
    body: String,
    workstream_id: String,
    occurred_at: String,
    pinned: Option<String>,
    corrects: String,
    time_zone: String,
}

pub async fn add_note(Posted { s, at, form }: Posted<String, NoteForm>) -> Reply {
    let incident = load(&s.state, &at).await?;
    let redo = |message: String| PageExtras {
        note: Some(NoteDraft {
            body: form.body.clone(),
            occurred_at: form.occurred_at.clone(),
            error: Some(message),
        }),
        ..Default::default()
    };
    let occurred_at = match form.occurred_at.trim() {
        "" => None,
        raw => match parse_input_time(raw, &form.time_zone) {
            Ok(at) => Some(at),
            Err(message) => return refuse(&s, incident, redo(message)).await,
        },
    };
    let note = NewNote {
        body: form.body.clone(),
        workstream_id: Uuid::parse_str(&form.workstream_id).ok(),
        occurred_at,
        pinned: form.pinned.is_some(),
        corrects: Uuid::parse_str(&form.corrects).ok(),
    };
    let mut tx = s.begin().await?;
    let outcome = incidents::add_note(&mut tx, &s.user.user, incident.id, note).await;
    let path = incident_path(&incident);
    finish(&s, tx, incident, outcome, redo, |id| {
        Redirect::to(&format!("{path}#event-{id}")).into_response()
    })
    .await
}

#[derive(Deserialize)]
pub struct PinForm {
    pinned: bool,
}

pub async fn pin_event(
    Posted {
        s,
        at: (number, event_id),
        form,
    }: Posted<(String, Uuid), PinForm>,
) -> Reply {
    let incident = load(&s.state, &number).await?;
    let mut tx = s.begin().await?;
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
                    draft.components.push(component_status(id, value)?);
                }
            }
        }
    }
    let untouched = title_was.is_some() && draft.title == title_was;
    Ok((draft, post, untouched))
}

pub async fn post_update(Posted { s, at, form }: Posted<String, Fields>) -> Reply {
    let incident = load(&s.state, &at).await?;
    let (mut draft, post, title_untouched) = parse_update_form(&form)?;
    if !post {
        draft.preview_html = Some(markdown::render(&draft.body));
        let extras = PageExtras {
            update: Some(draft),
            ..Default::default()
        };
        return render_with(&s, incident, extras, StatusCode::OK).await;
    }
    let new = incidents::updates::NewUpdate {
        status: draft.status.unwrap_or(incident.status),
        body: draft.body.clone(),
        components: draft.components.clone(),
        notify: draft.notify,
        title: draft.title.clone().filter(|_| !title_untouched),
    };
    let publishing = incident.visibility == Visibility::Public && incident.published_at.is_none();
    let mut tx = s.begin().await?;
    let outcome = incidents::updates::post_update(&mut tx, &s.user.user, incident.id, new).await;
    let path = incident_path(&incident);
    let refused = |message| {
        draft.error = Some(message);
        PageExtras {
            update: Some(draft),
            ..Default::default()
        }
    };
    finish(&s, tx, incident, outcome, refused, |_| {
        let message = if publishing {
            "Public update posted: the incident is now on the status page."
        } else {
            "Public update posted."
        };
        back(&s, &path, "#updates-h", message)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PreviewForm {
    body: String,
}

/// Markdown preview for the composers' live preview (the same sanitiser as everywhere).
pub async fn preview_markdown(_: Responder, CsrfForm(form): CsrfForm<PreviewForm>) -> Reply {
    Ok(Html(markdown::render(&form.body)).into_response())
}
