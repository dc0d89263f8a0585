//! Components and groups: everyone looks; admins add, edit, reorder, delete and set status.

use crate::platform::audit;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::accounts::Role;
use crate::app::AppState;
use crate::components::ComponentStatus;
use crate::components::{self, Audience, Cause, ComponentRow, GroupRow};
use crate::http::error::AppError;
use crate::http::extract::{CsrfForm, CurrentUser, Path};
use crate::http::page::{render_admin, render_admin_status, Layout};
use crate::http::session::redirect_with_flash;

pub struct StatusOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub fn status_options(selected: ComponentStatus) -> Vec<StatusOption> {
    ComponentStatus::ALL
        .iter()
        .map(|s| StatusOption {
            value: s.as_str(),
            label: s.label(),
            selected: *s == selected,
        })
        .collect()
}

pub struct GroupOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

fn group_options(groups: &[GroupRow], selected: Option<Uuid>) -> Vec<GroupOption> {
    groups
        .iter()
        .map(|g| GroupOption {
            id: g.id.to_string(),
            name: g.name.clone(),
            selected: Some(g.id) == selected,
        })
        .collect()
}

pub struct ComponentView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub status_label: &'static str,
    pub status_class: &'static str,
    /// What customers see instead, while an unpublished incident holds the change back.
    pub held_back: Option<&'static str>,
    pub statuses: Vec<StatusOption>,
    pub first: bool,
    pub last: bool,
    pub position: i32,
}

pub struct GroupView {
    pub id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub worst_label: &'static str,
    pub worst_class: &'static str,
    pub components: Vec<ComponentView>,
    pub first: bool,
    pub last: bool,
    pub position: i32,
}

#[derive(Template)]
#[template(path = "admin/components.html")]
struct ComponentsPage {
    layout: Layout,
    groups: Vec<GroupView>,
    group_options: Vec<GroupOption>,
    new_statuses: Vec<StatusOption>,
    can_manage: bool,
    error: Option<String>,
}

fn views(rows: &[ComponentRow]) -> Vec<ComponentView> {
    let n = rows.len();
    rows.iter()
        .enumerate()
        .map(|(i, c)| ComponentView {
            id: c.id,
            name: c.name.clone(),
            description: c.description.clone().unwrap_or_default(),
            status_label: c.status.label(),
            status_class: c.status.css_class(),
            held_back: (c.public_status != c.status).then(|| c.public_status.label()),
            statuses: status_options(c.status),
            first: i == 0,
            last: i + 1 == n,
            position: i as i32 + 1,
        })
        .collect()
}

/// Groups (and the ungrouped components first) with their components, in display order.
fn group_views(groups: &[GroupRow], components: &[ComponentRow]) -> Vec<GroupView> {
    let mut out = Vec::new();
    let ungrouped: Vec<ComponentRow> = components
        .iter()
        .filter(|c| c.group_id.is_none())
        .cloned()
        .collect();
    if !ungrouped.is_empty() {
        let worst = ComponentStatus::worst(ungrouped.iter().map(|c| c.status));
        out.push(GroupView {
            id: None,
            name: "Not in a group".into(),
            description: String::new(),
            worst_label: worst.label(),
            worst_class: worst.css_class(),
            components: views(&ungrouped),
            first: true,
            last: true,
            position: 0,
        });
    }
    let n = groups.len();
    for (i, g) in groups.iter().enumerate() {
        let members: Vec<ComponentRow> = components
            .iter()
            .filter(|c| c.group_id == Some(g.id))
            .cloned()
            .collect();
        let worst = ComponentStatus::worst(members.iter().map(|c| c.status));
        out.push(GroupView {
            id: Some(g.id),
            name: g.name.clone(),
            description: g.description.clone().unwrap_or_default(),
            worst_label: worst.label(),
            worst_class: worst.css_class(),
            components: views(&members),
            first: i == 0,
            last: i + 1 == n,
            position: i as i32 + 1,
        });
    }
    out
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    error: Option<String>,
) -> Result<ComponentsPage, AppError> {
    let groups = components::list_groups(&state.pool).await?;
    let components = components::list(&state.pool).await?;
    Ok(ComponentsPage {
        layout: Layout::new(state, user, jar, "Components", "Components"),
        group_options: group_options(&groups, None),
        groups: group_views(&groups, &components),
        new_statuses: status_options(ComponentStatus::Operational),
        can_manage: user.can(Role::Admin),
        error,
    })
}

pub async fn list_components(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let page = page(&state, &user, &jar, None).await?;
    render_admin(&state, &page.layout, &page)
}

async fn refuse(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    message: String,
) -> Result<Response, AppError> {
    let page = page(state, user, jar, Some(message)).await?;
    render_admin_status(state, &page.layout, &page, StatusCode::UNPROCESSABLE_ENTITY)
}

fn clean_name(raw: &str, description: &str) -> Result<String, String> {
    components::clean_details(raw, optional(description)).map_err(|e| e.message)
}

fn optional(raw: &str) -> Option<&str> {
    let t = raw.trim();
    (!t.is_empty()).then_some(t)
}

fn parse_group(raw: &str) -> Result<Option<Uuid>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        id => Uuid::parse_str(id)
            .map(Some)
            .map_err(|_| AppError::field("group_id", "Choose a group from the list.")),
    }
}

fn is_missing_group(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_foreign_key_violation())
}

fn name_taken(err: &sqlx::Error) -> bool {
    matches!(
        crate::platform::db::violated_constraint(err),
        Some("components_name_key" | "component_groups_name_key")
    )
}

#[derive(Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create_group(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<GroupForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let name = match clean_name(&form.name, &form.description) {
        Ok(name) => name,
        Err(message) => return refuse(&state, &user, &jar, message).await,
    };
    let mut tx = state.pool.begin().await?;
    let group = match components::insert_group(&mut tx, &name, optional(&form.description)).await {
        Ok(group) => group,
        Err(err) if name_taken(&err) => {
            return refuse(
                &state,
                &user,
                &jar,
                format!("A group called \"{name}\" exists already."),
            )
            .await
        }
        Err(err) => return Err(err.into()),
    };
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "component_group.created",
        &format!("component_group:{}", group.id),
        json!({ "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/components",
        &format!("Group \"{name}\" added."),
    ))
}

#[derive(Deserialize)]
pub struct NewComponentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    group_id: String,
    #[serde(default)]
    status: String,
}

pub async fn create_component(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<NewComponentForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let name = match clean_name(&form.name, &form.description) {
        Ok(name) => name,
        Err(message) => return refuse(&state, &user, &jar, message).await,
    };
    let group_id = parse_group(&form.group_id)?;
    let status = ComponentStatus::parse(&form.status).unwrap_or(ComponentStatus::Operational);
    let mut tx = state.pool.begin().await?;
    let new = components::NewComponent {
        name: &name,
        description: optional(&form.description),
        group_id,
        status,
        changed_by: Some(user.user.id),
    };
    let component = match components::insert(&mut tx, new).await {
        Ok(c) => c,
        Err(err) if name_taken(&err) => {
            return refuse(
                &state,
                &user,
                &jar,
                format!("A component called \"{name}\" exists already."),
            )
            .await
        }
        Err(err)
            if err
                .as_database_error()
                .is_some_and(|e| e.is_foreign_key_violation()) =>
        {
            return refuse(&state, &user, &jar, "That group no longer exists.".into()).await
        }
        Err(err) => return Err(err.into()),
    };
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "component.created",
        &format!("component:{}", component.id),
        json!({ "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/components",
        &format!("Component \"{name}\" added."),
    ))
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

/// Set a component's status by hand (outside an incident).
pub async fn set_status(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let status = ComponentStatus::parse(&form.status)
        .ok_or_else(|| AppError::field("status", "Choose a status from the list."))?;
    let mut tx = state.pool.begin().await?;
    let component = components::find(&mut *tx, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such component.".into()))?;
    components::set_status(
        &mut tx,
        id,
        status,
        Some(user.user.id),
        Cause::None,
        Audience::Public,
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/components",
        &format!(
            "{} is now {}.",
            component.name,
            status.label().to_lowercase()
        ),
    ))
}

#[derive(Deserialize)]
pub struct MoveForm {
    position: i32,
}

pub async fn move_component(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    if !components::reposition(&mut tx, id, form.position).await? {
        return Err(AppError::NotFound("There is no such component.".into()));
    }
    tx.commit().await?;
    Ok(axum::response::IntoResponse::into_response(
        axum::response::Redirect::to("/admin/components"),
    ))
}

pub async fn move_group(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    if !components::reposition_group(&mut tx, id, form.position).await? {
        return Err(AppError::NotFound("There is no such group.".into()));
    }
    tx.commit().await?;
    Ok(axum::response::IntoResponse::into_response(
        axum::response::Redirect::to("/admin/components"),
    ))
}

pub struct HistoryView {
    pub at: super::Stamp,
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
                at: super::stamp(h.changed_at),
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

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    group_id: String,
}

pub async fn update_component(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<EditForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let group_id = parse_group(&form.group_id)?;
    let name = match clean_name(&form.name, &form.description) {
        Ok(name) => name,
        Err(message) => {
            let page = edit_page(&state, &user, &jar, id, Some(message)).await?;
            return render_admin_status(
                &state,
                &page.layout,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let mut tx = state.pool.begin().await?;
    match components::update_details(&mut tx, id, &name, optional(&form.description), group_id)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => return Err(AppError::NotFound("There is no such component.".into())),
        Err(err) if name_taken(&err) || is_missing_group(&err) => {
            let message = if is_missing_group(&err) {
                "That group no longer exists.".to_owned()
            } else {
                format!("A component called \"{name}\" exists already.")
            };
            drop(tx);
            let page = edit_page(&state, &user, &jar, id, Some(message)).await?;
            return render_admin_status(
                &state,
                &page.layout,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Err(err) => return Err(err.into()),
    }
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "component.updated",
        &format!("component:{id}"),
        json!({ "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/components",
        &format!("Component \"{name}\" saved."),
    ))
}

#[derive(Deserialize)]
pub struct EmptyForm {}

pub async fn delete_component(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let component = components::find(&mut *tx, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such component.".into()))?;
    components::delete(&mut tx, id).await?;
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "component.deleted",
        &format!("component:{id}"),
        json!({ "name": component.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/components",
        &format!("Component \"{}\" deleted.", component.name),
    ))
}

pub async fn delete_group(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let group = components::find_group(&mut *tx, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such group.".into()))?;
    components::delete_group(&mut tx, id).await?;
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "component_group.deleted",
        &format!("component_group:{id}"),
        json!({ "name": group.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/components",
        &format!(
            "Group \"{}\" deleted; its components are now ungrouped.",
            group.name
        ),
    ))
}
