//! Commands on components and groups: validation, the change and its audit entry, for
//! every front door (admin UI, API, CLI) alike.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{ComponentRow, ComponentStatus, GroupRow, NewComponentRow};
use crate::incidents::CommandError;
use crate::platform::audit::{self, AuditAction};
use crate::platform::text::{self, FieldError};

/// A component's or group's name: trimmed, 1 to 100 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentName(String);

impl ComponentName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError {
                field: "name",
                message: "The name needs 1 to 100 characters.".into(),
            });
        }
        text::NAME.check("name", name)?;
        Ok(ComponentName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name and a description, as every surface takes them.
fn details(name: &str, description: Option<&str>) -> Result<ComponentName, FieldError> {
    let name = ComponentName::parse(name)?;
    if let Some(description) = description {
        text::DESCRIPTION.check("description", description)?;
    }
    Ok(name)
}

/// Turn a refused insert or update into the error its front door shows.
fn refused(err: sqlx::Error, what: &str, name: &ComponentName) -> CommandError {
    if matches!(
        crate::platform::db::violated_constraint(&err),
        Some("components_name_key" | "component_groups_name_key")
    ) {
        CommandError::invalid(
            "name",
            format!("A {what} called \"{}\" exists already.", name.as_str()),
        )
    } else if err
        .as_database_error()
        .is_some_and(|e| e.is_foreign_key_violation())
    {
        CommandError::invalid("group_id", "That group no longer exists.")
    } else {
        err.into()
    }
}

/// What a new component is made of.
pub struct NewComponent<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub group_id: Option<Uuid>,
    pub status: ComponentStatus,
    /// 1-based within its group; default: last.
    pub position: Option<i32>,
}

/// Add a component (at the end of its group, or at `position`).
#[tracing::instrument(skip_all, fields(name = new.name))]
pub async fn create(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    new: NewComponent<'_>,
) -> Result<ComponentRow, CommandError> {
    let name = details(new.name, new.description)?;
    let row = NewComponentRow {
        name: name.as_str(),
        description: new.description,
        group_id: new.group_id,
        status: new.status,
        changed_by: actor,
    };
    let component = super::insert(&mut *conn, row)
        .await
        .map_err(|e| refused(e, "component", &name))?;
    if let Some(position) = new.position {
        super::reposition(&mut *conn, component.id, position).await?;
    }
    let action = AuditAction::ComponentCreated {
        component_id: component.id,
        name: component.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(component)
}

/// New details of a component; `None` keeps the current value.
#[derive(Default)]
pub struct ComponentChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub group_id: Option<Option<Uuid>>,
    pub position: Option<i32>,
    /// A status set by hand (recorded in the history, shown to customers).
    pub status: Option<ComponentStatus>,
}

/// Change a component's details (moving it to another group puts it at the end there).
#[tracing::instrument(skip_all, fields(component_id = %id))]
pub async fn update(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    change: ComponentChanges,
) -> Result<ComponentRow, CommandError> {
    let current = super::lock(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let description = change.description.unwrap_or(current.description);
    let name = details(
        change.name.as_deref().unwrap_or(&current.name),
        description.as_deref(),
    )?;
    let group_id = change.group_id.unwrap_or(current.group_id);
    super::update_details(
        &mut *conn,
        id,
        name.as_str(),
        description.as_deref(),
        group_id,
    )
    .await
    .map_err(|e| refused(e, "component", &name))?
    .ok_or(CommandError::NotFound)?;
    if let Some(position) = change.position {
        super::reposition(&mut *conn, id, position).await?;
    }
    if let Some(status) = change.status {
        super::set_status(
            &mut *conn,
            id,
            status,
            actor,
            super::Cause::None,
            super::Audience::Public,
        )
        .await?;
    }
    let action = AuditAction::ComponentUpdated {
        component_id: id,
        name: name.as_str().to_owned(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    super::find(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)
}

/// Delete a component with its status history; returns what it was.
#[tracing::instrument(skip_all, fields(component_id = %id))]
pub async fn delete(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<ComponentRow, CommandError> {
    let component = super::lock(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)?;
    super::delete(&mut *conn, id).await?;
    let action = AuditAction::ComponentDeleted {
        component_id: id,
        name: component.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(component)
}

/// Add a group (last, or at `position`).
#[tracing::instrument(skip_all, fields(name))]
pub async fn create_group(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    name: &str,
    description: Option<&str>,
    position: Option<i32>,
) -> Result<GroupRow, CommandError> {
    let name = details(name, description)?;
    let group = super::insert_group(&mut *conn, name.as_str(), description)
        .await
        .map_err(|e| refused(e, "group", &name))?;
    if let Some(position) = position {
        super::reposition_group(&mut *conn, group.id, position).await?;
    }
    let action = AuditAction::ComponentGroupCreated {
        group_id: group.id,
        name: group.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(group)
}

/// Change a group's name, description or position; `None` keeps the current value.
#[tracing::instrument(skip_all, fields(group_id = %id))]
pub async fn update_group(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    name: Option<&str>,
    description: Option<Option<String>>,
    position: Option<i32>,
) -> Result<GroupRow, CommandError> {
    let current = super::lock_group(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let description = description.unwrap_or(current.description);
    let name = details(name.unwrap_or(&current.name), description.as_deref())?;
    let group = super::update_group(&mut *conn, id, name.as_str(), description.as_deref())
        .await
        .map_err(|e| refused(e, "group", &name))?
        .ok_or(CommandError::NotFound)?;
    if let Some(position) = position {
        super::reposition_group(&mut *conn, id, position).await?;
    }
    let action = AuditAction::ComponentGroupUpdated {
        group_id: id,
        name: group.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(group)
}

/// Delete a group; its components stay, ungrouped. Returns what it was.
#[tracing::instrument(skip_all, fields(group_id = %id))]
pub async fn delete_group(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<GroupRow, CommandError> {
    let group = super::lock_group(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)?;
    super::delete_group(&mut *conn, id).await?;
    let action = AuditAction::ComponentGroupDeleted {
        group_id: id,
        name: group.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_name_is_trimmed_and_never_empty() {
        assert_eq!(ComponentName::parse("  API ").unwrap().as_str(), "API");
        assert_eq!(ComponentName::parse("   ").unwrap_err().field, "name");
        assert!(ComponentName::parse(&"x".repeat(101)).is_err());
        assert!(ComponentName::parse("a\nb").is_err());
    }
}
