//! One component's page: its details form and its status history.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use uuid::Uuid;

use super::views::{group_options, GroupOption};
use crate::accounts::Role;
use crate::app::AppState;
use crate::components;
use crate::http::error::AppError;
use crate::http::extract::{CurrentUser, Path};
use crate::http::page::{render_admin, render_admin_status, Layout};

pub struct HistoryView {
    pub at: crate::http::admin::Stamp,
    pub old: &'static str,
    pub new: &'static str,
    pub cause: String,
}

#[derive(Template)]
#[template(path = "admin/component_edit.html")]
struct EditPage {
    layout: Layout,
    id: Uuid,
    name: String,
    description: String,
    groups: Vec<GroupOption>,
    history: Vec<HistoryView>,
    can_manage: bool,
    error: Option<String>,
}

async fn edit_page(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    id: Uuid,
    error: Option<String>,
) -> Result<EditPage, AppError> {
    let component = components::find(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such component.".into()))?;
    let groups = components::list_groups(&state.pool).await?;
    let mut history = components::history(&state.pool, id).await?;
    history.reverse();
    history.truncate(50);
    Ok(EditPage {
        layout: Layout::new(state, user, jar, &component.name, "Components"),
        id,
        name: component.name,
        description: component.description.unwrap_or_default(),
        groups: group_options(&groups, component.group_id),
        history: history
            .into_iter()
            .map(|h| HistoryView {
                at: crate::http::admin::stamp(h.changed_at),
                old: h.old_status.map(|s| s.label()).unwrap_or("—"),
                new: h.new_status.label(),
                cause: if h.incident_id.is_some() {
                    "incident".into()
                } else {
                    "by hand".into()
                },
            })
            .collect(),
        can_manage: user.can(Role::Admin),
        error,
    })
}

pub async fn show_component(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let page = edit_page(&state, &user, &jar, id, None).await?;
    render_admin(&state, &page.layout, &page)
}

/// The edit page again, with `message` above the form.
pub(super) async fn refuse_edit(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    id: Uuid,
    message: String,
) -> Result<Response, AppError> {
    let page = edit_page(state, user, jar, id, Some(message)).await?;
    render_admin_status(state, &page.layout, &page, StatusCode::UNPROCESSABLE_ENTITY)
}
