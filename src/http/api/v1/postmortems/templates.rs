//! `/api/v1/postmortem-templates`: the templates postmortems start from.

use crate::app::AppState;
use crate::http::api::v1::{created, missing, Admin, Answer, Edit, ProblemDoc, Reply};
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
use crate::incidents::CommandError;
use crate::postmortems::store as pm;
use crate::postmortems::store::TemplateRow;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct TemplateJson {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// Markdown with placeholders such as `{{timeline}}`, `{{impact}}`, `{{action_items}}`.
    pub body: String,
    /// Shipped with Fireline: editable, not deletable.
    pub builtin: bool,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<TemplateRow> for TemplateJson {
    fn from(t: TemplateRow) -> Self {
        TemplateJson {
            id: t.id,
            name: t.name,
            description: t.description,
            body: t.body,
            builtin: t.builtin,
            version: t.version,
            updated_at: t.updated_at,
        }
    }
}

async fn find(state: &AppState, id: Uuid) -> Result<TemplateRow, AppError> {
    let row = pm::template(&state.pool, id).await?;
    row.ok_or_else(|| missing("template", id))
}

/// Postmortem templates.
#[utoipa::path(get, path = "/postmortem-templates", tag = "postmortems",
    responses((status = 200, body = Vec<TemplateJson>)))]
pub async fn list_templates(c: Caller) -> Reply<Vec<TemplateJson>> {
    let rows = pm::templates(&c.state.pool).await?;
    Ok(Json(rows.into_iter().map(TemplateJson::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// Published under its first schema name, which generated clients are built on.
#[schema(as = TemplateInput)]
pub struct NewTemplateJson {
    #[schema(max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    #[schema(max_length = 100000)]
    pub body: String,
}

/// Create a template (admin).
#[utoipa::path(post, path = "/postmortem-templates", security(("bearer" = ["admin"])), tag = "postmortems", request_body = NewTemplateJson,
    responses((status = 201, body = TemplateJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_template(c: Admin, Json(body): Json<NewTemplateJson>) -> Answer {
    let (name, description, text) = (&body.name, &body.description, &body.body);
    let mut tx = c.begin().await?;
    let row = pm::create_template(&mut tx, &c.user, name, description, text).await?;
    tx.commit().await?;
    let location = format!("/api/v1/postmortem-templates/{}", row.id);
    created(location, TemplateJson::from(row))
}

/// One template.
#[utoipa::path(get, path = "/postmortem-templates/{id}", tag = "postmortems",
    responses((status = 200, body = TemplateJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_template(c: Caller, Path(id): Path<Uuid>) -> Reply<TemplateJson> {
    Ok(Json(find(&c.state, id).await?.into()))
}

/// Changes to a template. `version` is required: a stale one gets 409 with `current`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// Published under its first schema name, which generated clients are built on.
#[schema(as = TemplatePatch)]
pub struct TemplatePatchJson {
    pub version: i32,
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(max_length = 100000)]
    pub body: Option<String>,
}

/// Change a template (admin).
#[utoipa::path(patch, path = "/postmortem-templates/{id}", security(("bearer" = ["admin"])), tag = "postmortems", params(("id" = Uuid, Path)), request_body = TemplatePatchJson,
    responses((status = 200, body = TemplateJson),
        (status = 409, description = "Stale version; `current` holds the template", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_template(
    c: Admin,
    Edit(id, patch): Edit<TemplatePatchJson>,
) -> Reply<TemplateJson> {
    let current = find(&c.state, id).await?;
    let name = patch.name.as_deref().unwrap_or(&current.name);
    let description = patch.description.as_deref().unwrap_or(&current.description);
    let text = patch.body.as_deref().unwrap_or(&current.body);
    let mut tx = c.begin().await?;
    match pm::update_template(&mut tx, id, patch.version, name, description, text).await {
        Ok(row) => {
            tx.commit().await?;
            Ok(Json(row.into()))
        }
        Err(CommandError::Stale { expected, .. }) => {
            drop(tx);
            let current = TemplateJson::from(find(&c.state, id).await?);
            Err(AppError::Conflict {
                message: format!(
                    "The template changed since version {expected} (it is at version {}); \
                     nothing was saved. `current` holds it as it is now.",
                    current.version
                ),
                current: serde_json::to_value(current).ok(),
            })
        }
        Err(other) => Err(other.into()),
    }
}

/// Delete a template (admin); the shipped ones stay.
#[utoipa::path(delete, path = "/postmortem-templates/{id}", security(("bearer" = ["admin"])), tag = "postmortems",
    responses((status = 204), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_template(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    find(&c.state, id).await?;
    let mut tx = c.begin().await?;
    pm::delete_template(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
