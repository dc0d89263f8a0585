//! Components and groups: everyone looks; admins add, edit, reorder, delete and set status.

mod edit;
mod views;

pub use edit::{set_dependencies, show_component};
pub use views::list_components;

use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::Reply;
use crate::app::AppState;
use crate::components::commands::{self, ComponentChanges, NewComponent};
use crate::components::{self, ComponentStatus};
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, Button, CsrfForm, Path, Staff};
use crate::incidents::CommandError;

/// A component to tick in a form (a maintenance's, a subscriber's).
pub struct ComponentChoice {
    pub id: Uuid,
    pub name: String,
    pub checked: bool,
}

/// Every component, ticked when it is among `checked`.
pub async fn choices(state: &AppState, checked: &[Uuid]) -> Result<Vec<ComponentChoice>, AppError> {
    Ok(components::list(&state.pool)
        .await?
        .into_iter()
        .map(|c| ComponentChoice {
            checked: checked.contains(&c.id),
            id: c.id,
            name: c.name,
        })
        .collect())
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
async fn conclude<T>(
    staff: &Staff<AsAdmin>,
    tx: Transaction<'_, Postgres>,
    outcome: Result<T, CommandError>,
    (what, edit): (&str, Option<Uuid>),
    flash: impl FnOnce(&T) -> String,
) -> Reply {
    match outcome {
        Ok(done_with) => {
            tx.commit().await?;
            Ok(staff.flash(BACK, &flash(&done_with)))
        }
        Err(err) => {
            drop(tx);
            match (refusal(err, what), edit) {
                (Refusal::Message(message), Some(id)) => {
                    edit::refuse_edit(staff, id, message).await
                }
                (Refusal::Message(message), None) => views::refuse(staff, message).await,
                (Refusal::Error(err), _) => Err(err),
            }
        }
    }
}

/// Where every change goes back to.
const BACK: &str = "/admin/components";

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GroupForm {
    name: String,
    description: String,
}

pub async fn create_group(staff: Staff<AsAdmin>, CsrfForm(form): CsrfForm<GroupForm>) -> Reply {
    let mut tx = staff.begin().await?;
    let description = optional(&form.description);
    let actor = Some(staff.id());
    let outcome = commands::create_group(&mut tx, actor, &form.name, description, None).await;
    conclude(&staff, tx, outcome, ("group", None), |g| {
        format!("Group \"{}\" added.", g.name)
    })
    .await
}

/// A component's form: adding one sends all of it; editing, all but the status.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ComponentForm {
    name: String,
    description: String,
    group_id: String,
    status: String,
}

pub async fn create_component(staff: Staff<AsAdmin>, form: CsrfForm<ComponentForm>) -> Reply {
    let CsrfForm(form) = form;
    let new = NewComponent {
        name: &form.name,
        description: optional(&form.description),
        group_id: parse_group(&form.group_id)?,
        status: ComponentStatus::parse(&form.status).unwrap_or(ComponentStatus::Operational),
        position: None,
    };
    let mut tx = staff.begin().await?;
    let outcome = commands::create(&mut tx, Some(staff.id()), new).await;
    conclude(&staff, tx, outcome, ("component", None), |c| {
        format!("Component \"{}\" added.", c.name)
    })
    .await
}

pub async fn update_component(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<ComponentForm>,
) -> Reply {
    let change = ComponentChanges {
        group_id: Some(parse_group(&form.group_id)?),
        description: Some(optional(&form.description).map(str::to_owned)),
        name: Some(form.name),
        ..ComponentChanges::default()
    };
    let mut tx = staff.begin().await?;
    let outcome = commands::update(&mut tx, Some(staff.id()), id, change).await;
    conclude(&staff, tx, outcome, ("component", Some(id)), |c| {
        format!("Component \"{}\" saved.", c.name)
    })
    .await
}

pub async fn delete_component(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    let deleted = commands::delete(&mut tx, Some(staff.id()), id).await;
    let component = deleted.map_err(|err| not_found(err, "component"))?;
    let message = format!("Component \"{}\" deleted.", component.name);
    staff.commit_and_flash(tx, BACK, &message).await
}

pub async fn delete_group(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    let deleted = commands::delete_group(&mut tx, Some(staff.id()), id).await;
    let group = deleted.map_err(|err| not_found(err, "group"))?;
    let ungrouped = "its components are now ungrouped";
    let message = format!("Group \"{}\" deleted; {ungrouped}.", group.name);
    staff.commit_and_flash(tx, BACK, &message).await
}

fn not_found(err: CommandError, what: &str) -> AppError {
    match refusal(err, what) {
        Refusal::Message(message) => AppError::field("name", message),
        Refusal::Error(err) => err,
    }
}

/// The status chosen for a component by hand.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct NewStatus {
    status: String,
}

/// Set a component's status by hand (outside an incident).
pub async fn set_status(staff: Staff<AsAdmin>, id: Path<Uuid>, form: CsrfForm<NewStatus>) -> Reply {
    let (Path(id), CsrfForm(form)) = (id, form);
    let status = ComponentStatus::parse(&form.status)
        .ok_or_else(|| AppError::field("status", "Choose a status from the list."))?;
    let mut tx = staff.begin().await?;
    let change = ComponentChanges {
        status: Some(status),
        ..Default::default()
    };
    let updated = commands::update(&mut tx, Some(staff.id()), id, change).await;
    let component = updated.map_err(|err| not_found(err, "component"))?;
    let label = status.label().to_lowercase();
    let message = format!("{} is now {label}.", component.name);
    staff.commit_and_flash(tx, BACK, &message).await
}

#[derive(Deserialize)]
pub struct MoveForm {
    position: i32,
}

/// Move a component within its group; audited like any change to it.
pub async fn move_component(
    staff: Staff<AsAdmin>,
    id: Path<Uuid>,
    form: CsrfForm<MoveForm>,
) -> Reply {
    let change = ComponentChanges {
        position: Some(form.0.position),
        ..Default::default()
    };
    let mut tx = staff.begin().await?;
    let moved = commands::update(&mut tx, Some(staff.id()), id.0, change).await;
    moved.map_err(|err| not_found(err, "component"))?;
    tx.commit().await?;
    Ok(Redirect::to(BACK).into_response())
}

/// Move a group among the groups; audited like any change to it.
pub async fn move_group(staff: Staff<AsAdmin>, id: Path<Uuid>, form: CsrfForm<MoveForm>) -> Reply {
    let mut tx = staff.begin().await?;
    let position = Some(form.0.position);
    let moved = commands::update_group(&mut tx, Some(staff.id()), id.0, None, None, position).await;
    moved.map_err(|err| not_found(err, "group"))?;
    tx.commit().await?;
    Ok(Redirect::to(BACK).into_response())
}
