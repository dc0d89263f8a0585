use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;

use crate::app::AppState;
use crate::db;
use crate::error::AppError;
use crate::http::extract::CurrentUser;
use crate::http::page::{render_admin, Layout};

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    user_count: usize,
    token_count: usize,
}

pub async fn show_dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let users = db::users::list(&state.pool).await?;
    let tokens = db::tokens::list(&state.pool, Some(user.user.id)).await?;
    let page = DashboardPage {
        layout: Layout::new(&state, &user, &jar, "Dashboard", "Dashboard"),
        user_count: users.iter().filter(|u| !u.is_disabled()).count(),
        token_count: tokens.iter().filter(|t| t.revoked_at.is_none()).count(),
    };
    render_admin(&state, &page.layout, &page)
}
