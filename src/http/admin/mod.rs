//! The signed-in admin UI under `/admin`.

mod dashboard;
mod tokens;
mod users;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard::show_dashboard))
        .route(
            "/admin/users",
            get(users::list_users).post(users::create_user),
        )
        .route("/admin/users/{id}/role", post(users::change_role))
        .route("/admin/users/{id}/disable", post(users::disable_user))
        .route("/admin/users/{id}/enable", post(users::enable_user))
        .route("/admin/users/{id}/password", post(users::reset_password))
        .route(
            "/admin/tokens",
            get(tokens::list_tokens).post(tokens::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke_token))
}

pub(crate) use crate::domain::{format_utc as format_time, rfc3339};
