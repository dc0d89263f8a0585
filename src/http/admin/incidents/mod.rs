//! The incident pages: list, declare, and the incident itself (command, lifecycle,
//! workstreams, public updates, the live event log).

mod actions;
mod components;
mod declare;
pub mod list;
mod live;
mod posted;
mod show;
pub mod view;
mod workstreams;

use actions::{
    add_note, change_command, edit_incident, pin_event, post_update, preview_markdown,
    set_milestone,
};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use components::set_components;
use declare::{declare_incident, show_declare};
use list::list_incidents;
use live::live_incident;
use show::show_incident;
use workstreams::{add_task, add_workstream, change_task, change_workstream};

use crate::app::AppState;
use crate::http::error::AppError;
use crate::incidents::{self, CommandError, IncidentRow};

pub(crate) use posted::Posted;

/// What an admin handler answers.
pub(crate) type Reply = Result<Response, AppError>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/incidents",
            get(list_incidents).post(declare_incident),
        )
        .route("/admin/incidents/new", get(show_declare))
        .route("/admin/incidents/{number}", get(show_incident))
        .route("/admin/incidents/{number}/live", get(live_incident))
        .route("/admin/incidents/{number}/edit", post(edit_incident))
        .route("/admin/incidents/{number}/command", post(change_command))
        .route("/admin/incidents/{number}/milestones", post(set_milestone))
        .route("/admin/incidents/{number}/notes", post(add_note))
        .route(
            "/admin/incidents/{number}/events/{event}/pin",
            post(pin_event),
        )
        .route("/admin/incidents/{number}/updates", post(post_update))
        .route("/admin/incidents/{number}/components", post(set_components))
        .route(
            "/admin/incidents/{number}/workstreams",
            post(add_workstream),
        )
        .route("/admin/workstreams/{id}", post(change_workstream))
        .route("/admin/workstreams/{id}/tasks", post(add_task))
        .route("/admin/tasks/{id}", post(change_task))
        .route("/admin/markdown/preview", post(preview_markdown))
}

/// `INC-42`, `42` or its UUID → the incident.
pub(crate) async fn load(state: &AppState, reference: &str) -> Result<IncidentRow, AppError> {
    let missing = || AppError::NotFound(format!("There is no incident {reference}."));
    let parsed = crate::incidents::IncidentRef::parse(reference).ok_or_else(missing)?;
    incidents::find_ref(&state.pool, parsed)
        .await?
        .ok_or_else(missing)
}

/// The URL of an incident's admin page.
pub fn incident_path(incident: &IncidentRow) -> String {
    format!("/admin/incidents/{}", incident.reference())
}

/// A command's outcome with its refusal (`Ok(Err(message))`, shown on the form again)
/// apart from the errors that end the request.
pub(crate) fn refusal<T>(outcome: Result<T, CommandError>) -> Result<Result<T, String>, AppError> {
    match outcome {
        Ok(value) => Ok(Ok(value)),
        Err(CommandError::Invalid { message, .. }) => Ok(Err(message)),
        Err(err) => Err(err.into()),
    }
}
