//! Postmortem templates: the shipped ones and those admins write.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::users::UserRow;
use crate::incidents::CommandError;
use crate::platform::audit::{self, AuditAction};
use crate::platform::text;

/// The "Standard" template shipped with Fireline: the default.
pub const STANDARD_TEMPLATE: Uuid = Uuid::from_u128(0x5f0c2a5e_0000_4000_8000_000000000001);

#[derive(Debug, Clone)]
pub struct TemplateRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub body: String,
    pub builtin: bool,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

pub async fn templates(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<TemplateRow>> {
    sqlx::query_as!(
        TemplateRow,
        "SELECT id, name, description, body, builtin, version, created_at, updated_at \
         FROM postmortem_templates ORDER BY builtin DESC, lower(name)"
    )
    .fetch_all(db)
    .await
}

pub async fn template(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<TemplateRow>> {
    sqlx::query_as!(
        TemplateRow,
        "SELECT id, name, description, body, builtin, version, created_at, updated_at \
         FROM postmortem_templates WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

fn check_template(name: &str, description: &str, body: &str) -> Result<(), CommandError> {
    if name.contains('\0') || body.contains('\0') {
        return Err(CommandError::invalid(
            "body",
            "The text contains a NUL character.",
        ));
    }
    let if_empty = "Give the template a name of 1 to 100 characters.";
    text::NAME.trimmed("name", name, if_empty)?;
    text::DESCRIPTION.check("description", description.trim())?;
    if body.trim().is_empty() {
        return Err(CommandError::invalid(
            "body",
            "A template needs a body of at most 100,000 characters.",
        ));
    }
    text::TEMPLATE.check("body", body)?;
    Ok(())
}

/// Create a template, audited as created by `actor`.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create_template(
    conn: &mut PgConnection,
    actor: &UserRow,
    name: &str,
    description: &str,
    body: &str,
) -> Result<TemplateRow, CommandError> {
    check_template(name, description, body)?;
    let row = sqlx::query_as!(
        TemplateRow,
        "INSERT INTO postmortem_templates (id, name, description, body, created_by) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING \
         RETURNING id, name, description, body, builtin, version, created_at, updated_at",
        Uuid::new_v4(),
        name.trim(),
        description.trim(),
        body,
        actor.id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| CommandError::invalid("name", "A template with this name exists."))?;
    audit::log(
        &mut *conn,
        Some(actor.id),
        &AuditAction::PostmortemTemplateCreated {
            template_id: row.id,
            name: row.name.clone(),
        },
    )
    .await?;
    Ok(row)
}

#[tracing::instrument(skip_all, fields(template = %id, version = version))]
pub async fn update_template(
    conn: &mut PgConnection,
    id: Uuid,
    version: i32,
    name: &str,
    description: &str,
    body: &str,
) -> Result<TemplateRow, CommandError> {
    check_template(name, description, body)?;
    let current = sqlx::query_scalar!(
        "SELECT version FROM postmortem_templates WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CommandError::NotFound)?;
    if version != current {
        return Err(CommandError::Stale {
            expected: version,
            current,
        });
    }
    let row = sqlx::query_as!(
        TemplateRow,
        "UPDATE postmortem_templates SET name = $2, description = $3, body = $4, \
             version = version + 1, updated_at = now() WHERE id = $1 \
         RETURNING id, name, description, body, builtin, version, created_at, updated_at",
        id,
        name.trim(),
        description.trim(),
        body
    )
    .fetch_one(&mut *conn)
    .await;
    match row {
        Ok(row) => Ok(row),
        Err(err) if crate::platform::db::violated_constraint(&err).is_some() => Err(
            CommandError::invalid("name", "A template with this name exists."),
        ),
        Err(err) => Err(err.into()),
    }
}

/// Delete a template; the ones shipped with Fireline stay.
#[tracing::instrument(skip_all, fields(template = %id))]
pub async fn delete_template(conn: &mut PgConnection, id: Uuid) -> Result<(), CommandError> {
    let builtin = sqlx::query_scalar!("SELECT builtin FROM postmortem_templates WHERE id = $1", id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CommandError::NotFound)?;
    if builtin {
        return Err(CommandError::invalid(
            "id",
            "The templates shipped with Fireline can be edited but not deleted.",
        ));
    }
    sqlx::query!("DELETE FROM postmortem_templates WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}
