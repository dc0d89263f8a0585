//! `/api/v1/postmortem-templates`: the templates postmortems start from.

use crate::app::AppState;
use crate::http::api::v1::ProblemDoc;
use crate::http::error::AppError;
use crate::http::extract::{ApiUser, AsAdmin, Authorized, Json, Path};
use crate::incidents::CommandError;
use crate::postmortems::store as pm;
use crate::postmortems::store::TemplateRow;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
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
    #[schema(value_type = String, format = DateTime)]
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

/// Postmortem templates.
#[utoipa::path(get, path = "/postmortem-templates", tag = "postmortems",
    responses((status = 200, body = Vec<TemplateJson>)))]
pub async fn list_templates(
    State(state): State<AppState>,
    _caller: ApiUser,
) -> Result<Json<Vec<TemplateJson>>, AppError> {
    Ok(Json(
        pm::templates(&state.pool)
            .await?
            .into_iter()
            .map(TemplateJson::from)
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    #[schema(max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    #[schema(max_length = 100000)]
    pub body: String,
}

/// Create a template (admin).
#[utoipa::path(post, path = "/postmortem-templates", security(("bearer" = ["admin"])), tag = "postmortems", request_body = TemplateInput,
    responses((status = 201, body = TemplateJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_template(
    State(state): State<AppState>,
    caller: Authorized<AsAdmin>,
    Json(body): Json<TemplateInput>,
) -> Result<Response, AppError> {
    let mut tx = state.pool.begin().await?;
    let row = pm::create_template(
        &mut tx,
        &caller.0,
        &body.name,
        &body.description,
        &body.body,
    )
    .await?;
    tx.commit().await?;
    let location = format!("/api/v1/postmortem-templates/{}", row.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(TemplateJson::from(row)),
    )
        .into_response())
}

/// One template.
#[utoipa::path(get, path = "/postmortem-templates/{id}", tag = "postmortems",
    responses((status = 200, body = TemplateJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_template(
    State(state): State<AppState>,
    _caller: ApiUser,
    Path(id): Path<Uuid>,
) -> Result<Json<TemplateJson>, AppError> {
    pm::template(&state.pool, id)
        .await?
        .map(|t| Json(t.into()))
        .ok_or_else(|| AppError::NotFound(format!("There is no template {id}.")))
}

/// Changes to a template. `version` is required: a stale one gets 409 with `current`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    pub version: i32,
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(max_length = 100000)]
    pub body: Option<String>,
}

/// Change a template (admin).
#[utoipa::path(patch, path = "/postmortem-templates/{id}", security(("bearer" = ["admin"])), tag = "postmortems", request_body = TemplatePatch,
    responses((status = 200, body = TemplateJson),
        (status = 409, description = "Stale version; `current` holds the template", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_template(
    State(state): State<AppState>,
    _caller: Authorized<AsAdmin>,
    Path(id): Path<Uuid>,
    Json(patch): Json<TemplatePatch>,
) -> Result<Json<TemplateJson>, AppError> {
    let current = pm::template(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no template {id}.")))?;
    let mut tx = state.pool.begin().await?;
    let row = pm::update_template(
        &mut tx,
        id,
        patch.version,
        patch.name.as_deref().unwrap_or(&current.name),
        patch.description.as_deref().unwrap_or(&current.description),
        patch.body.as_deref().unwrap_or(&current.body),
    )
    .await;
    match row {
        Ok(row) => {
            tx.commit().await?;
            Ok(Json(row.into()))
        }
        Err(CommandError::Stale { expected, .. }) => {
            drop(tx);
            let current = pm::template(&state.pool, id)
                .await?
                .map(TemplateJson::from)
                .ok_or_else(|| AppError::NotFound(format!("There is no template {id}.")))?;
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
pub async fn delete_template(
    State(state): State<AppState>,
    _caller: Authorized<AsAdmin>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    pm::template(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no template {id}.")))?;
    let mut tx = state.pool.begin().await?;
    pm::delete_template(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
