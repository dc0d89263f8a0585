//! Components and groups: everyone looks; admins add, edit, reorder, delete and set status.

mod edit;
mod views;

pub use edit::show_component;
pub use views::list_components;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::accounts::Role;
use crate::app::AppState;
use crate::components::commands::{self, ComponentChange, CreateComponent};
use crate::components::{self, Audience, Cause, ComponentStatus};
use crate::http::error::AppError;
use crate::http::extract::EmptyForm;
use crate::http::extract::{CsrfForm, CurrentUser, Path};
use crate::http::session::redirect_with_flash;
use crate::incidents::CommandError;

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

/// What a refused command shows: the message above the form, or a "no such" page.
enum Refusal {
    Message(String),
    Error(AppError),
}

fn refusal(err: CommandError, what: &str) -> Refusal {
    match err {
        CommandError::Invalid { message, .. } => Refusal::Message(message),
        CommandError::NotFound => {
            Refusal::Error(AppError::NotFound(format!("There is no such {what}.")))
        }
        err => Refusal::Error(err.into()),
    }
}

/// Commit and go back to the components page with `flash` of what the command gave;
/// when it refused, show the message on the components page (or on the edit page of
/// `edit`).
#[allow(clippy::too_many_arguments)]
async fn conclude<T>(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    tx: Transaction<'_, Postgres>,
    outcome: Result<T, CommandError>,
    what: &str,
    edit: Option<Uuid>,
    flash: impl FnOnce(&T) -> String,
) -> Result<Response, AppError> {
    match outcome {
        Ok(done_with) => {
            tx.commit().await?;
            Ok(done(state, &flash(&done_with)))
        }
        Err(err) => {
            drop(tx);
            match (refusal(err, what), edit) {
                (Refusal::Message(message), Some(id)) => {
                    edit::refuse_edit(state, user, jar, id, message).await
                }
                (Refusal::Message(message), None) => views::refuse(state, user, jar, message).await,
                (Refusal::Error(err), _) => Err(err),
            }
        }
    }
}

/// Back to the components page with `flash`.
fn done(state: &AppState, flash: &str) -> Response {
    redirect_with_flash(state, "/admin/components", flash)
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
    let mut tx = state.pool.begin().await?;
    let description = optional(&form.description);
    let actor = Some(user.user.id);
    let outcome = commands::create_group(&mut tx, actor, &form.name, description, None).await;
    conclude(&state, &user, &jar, tx, outcome, "group", None, |g| {
        format!("Group \"{}\" added.", g.name)
    })
    .await
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
    let new = CreateComponent {
        name: &form.name,
        description: optional(&form.description),
        group_id: parse_group(&form.group_id)?,
        status: ComponentStatus::parse(&form.status).unwrap_or(ComponentStatus::Operational),
        position: None,
    };
    let mut tx = state.pool.begin().await?;
    let outcome = commands::create(&mut tx, Some(user.user.id), new).await;
    conclude(&state, &user, &jar, tx, outcome, "component", None, |c| {
        format!("Component \"{}\" added.", c.name)
    })
    .await
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
    let change = ComponentChange {
        group_id: Some(parse_group(&form.group_id)?),
        description: Some(optional(&form.description).map(str::to_owned)),
        name: Some(form.name),
        ..ComponentChange::default()
    };
    let mut tx = state.pool.begin().await?;
    let outcome = commands::update(&mut tx, Some(user.user.id), id, change).await;
    conclude(
        &state,
        &user,
        &jar,
        tx,
        outcome,
        "component",
        Some(id),
        |c| format!("Component \"{}\" saved.", c.name),
    )
    .await
}

pub async fn delete_component(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let component = commands::delete(&mut tx, Some(user.user.id), id)
        .await
        .map_err(|err| not_found(err, "component"))?;
    tx.commit().await?;
    Ok(done(
        &state,
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
    let group = commands::delete_group(&mut tx, Some(user.user.id), id)
        .await
        .map_err(|err| not_found(err, "group"))?;
    tx.commit().await?;
    Ok(done(
        &state,
        &format!(
            "Group \"{}\" deleted; its components are now ungrouped.",
            group.name
        ),
    ))
}

fn not_found(err: CommandError, what: &str) -> AppError {
    match refusal(err, what) {
        Refusal::Message(message) => AppError::field("name", message),
        Refusal::Error(err) => err,
    }
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
    Ok(Redirect::to("/admin/components").into_response())
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
    Ok(Redirect::to("/admin/components").into_response())
}
