//! The alert pages: `/admin/alerts` (open groups first, by urgency and age, then recently
//! resolved ones) and `/admin/alert-groups/{number}` (one group with its alerts and
//! history), with the responders' acknowledge, resolve and silence buttons, and
//! `/admin/silences`.

mod actions;
mod group;
mod link;
mod list;
mod live;
mod silences;
mod view;

use axum::routing::{get, post};
use axum::Router;

use crate::alerts::queries::{self, GroupView};
use crate::app::AppState;
use crate::http::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/alerts", get(list::list_alert_groups))
        .route("/admin/alerts/live", get(live::live_alert_groups))
        .route("/admin/alert-groups/{number}", get(group::show_alert_group))
        .route(
            "/admin/alert-groups/{number}/acknowledge",
            post(actions::acknowledge_group),
        )
        .route(
            "/admin/alert-groups/{number}/resolve",
            post(actions::resolve_group),
        )
        .route(
            "/admin/alert-groups/{number}/declare",
            post(link::declare_group),
        )
        .route(
            "/admin/alert-groups/{number}/attach",
            post(link::attach_group),
        )
        .route(
            "/admin/alert-groups/{number}/silence",
            post(silences::silence_group),
        )
        .route(
            "/admin/silences",
            get(silences::list_silences).post(silences::create_silence),
        )
        .route("/admin/silences/{id}/end", post(silences::end_silence))
}

/// `ALR-17` or `17` → the group.
async fn load(state: &AppState, reference: &str) -> Result<GroupView, AppError> {
    let missing = || AppError::NotFound(format!("There is no alert group {reference}."));
    let digits = reference.strip_prefix("ALR-").unwrap_or(reference);
    let number: i64 = digits.parse().map_err(|_| missing())?;
    queries::find_group_by_number(&state.pool, number)
        .await?
        .ok_or_else(missing)
}
