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

use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

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
            get(list::list_incidents).post(declare::declare_incident),
        )
        .route("/admin/incidents/new", get(declare::show_declare))
        .route("/admin/incidents/{number}", get(show::show_incident))
        .route("/admin/incidents/{number}/live", get(live::live_incident))
        .route(
            "/admin/incidents/{number}/edit",
            post(actions::edit_incident),
        )
        .route(
            "/admin/incidents/{number}/command",
            post(actions::change_command),
        )
        .route(
            "/admin/incidents/{number}/milestones",
            post(actions::set_milestone),
        )
        .route("/admin/incidents/{number}/notes", post(actions::add_note))
        .route(
            "/admin/incidents/{number}/events/{event}/pin",
            post(actions::pin_event),
        )
        .route(
            "/admin/incidents/{number}/updates",
            post(actions::post_update),
        )
        .route(
            "/admin/incidents/{number}/components",
            post(components::set_components),
        )
        .route(
            "/admin/incidents/{number}/workstreams",
            post(workstreams::add_workstream),
        )
        .route(
            "/admin/workstreams/{id}",
            post(workstreams::change_workstream),
        )
        .route("/admin/workstreams/{id}/tasks", post(workstreams::add_task))
        .route("/admin/tasks/{id}", post(workstreams::change_task))
        .route("/admin/markdown/preview", post(actions::preview_markdown))
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
