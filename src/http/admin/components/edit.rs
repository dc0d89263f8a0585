//! One component's page: its details form and its status history.

use askama::Template;
use uuid::Uuid;

use super::views::{group_options, GroupOption};
use super::Reply;
use crate::accounts::Role;
use crate::components;
use crate::http::error::AppError;
use crate::http::extract::{Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};

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

async fn edit_page<R>(
    staff: &Staff<R>,
    id: Uuid,
    error: Option<String>,
) -> Result<EditPage, AppError> {
    let pool = &staff.state.pool;
    let component = components::find(pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such component.".into()))?;
    let groups = components::list_groups(pool).await?;
    let mut history = components::history(pool, id).await?;
    history.reverse();
    history.truncate(50);
    Ok(EditPage {
        layout: Layout::of(staff, &component.name, "Components"),
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
        can_manage: staff.user.can(Role::Admin),
        error,
    })
}

pub async fn show_component(staff: Staff, Path(id): Path<Uuid>) -> Reply {
    let page = edit_page(&staff, id, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// The edit page again, with `message` above the form.
pub(super) async fn refuse_edit<R>(staff: &Staff<R>, id: Uuid, message: String) -> Reply {
    let page = edit_page(staff, id, Some(message)).await?;
    render_refused(&staff.state, &page.layout, &page)
}
