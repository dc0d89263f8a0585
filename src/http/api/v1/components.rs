//! `/api/v1/component-groups` and `/api/v1/components`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{present, ProblemDoc};
use crate::app::AppState;
use crate::components::commands::{self, ComponentChange, CreateComponent};
use crate::components::ComponentStatus;
use crate::components::{self, ComponentRow, GroupRow};
use crate::http::error::AppError;
use crate::http::extract::{ApiUser, AsAdmin, Authorized, Json, Path};
use crate::incidents::CommandError;

/// A group of components.
#[derive(Serialize, ToSchema)]
pub struct GroupJson {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// 1-based.
    pub position: i32,
    pub component_ids: Vec<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A component customers see on the status page.
#[derive(Serialize, ToSchema)]
pub struct ComponentJson {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub group_id: Option<Uuid>,
    /// 1-based within its group.
    pub position: i32,
    pub status: ComponentStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn component_json(c: ComponentRow, position: i32) -> ComponentJson {
    ComponentJson {
        id: c.id,
        name: c.name,
        description: c.description,
        group_id: c.group_id,
        position,
        status: c.status,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// Components with 1-based positions within their groups, in display order.
async fn all_components(state: &AppState) -> Result<Vec<ComponentJson>, AppError> {
    let rows = components::list(&state.pool).await?;
    let mut counters: std::collections::HashMap<Option<Uuid>, i32> = Default::default();
    Ok(rows
        .into_iter()
        .map(|c| {
            let n = counters.entry(c.group_id).or_default();
            *n += 1;
            let position = *n;
            component_json(c, position)
        })
        .collect())
}

async fn all_groups(state: &AppState) -> Result<Vec<GroupJson>, AppError> {
    let groups = components::list_groups(&state.pool).await?;
    let components = components::list(&state.pool).await?;
    Ok(groups
        .into_iter()
        .enumerate()
        .map(|(i, g): (usize, GroupRow)| GroupJson {
            component_ids: components
                .iter()
                .filter(|c| c.group_id == Some(g.id))
                .map(|c| c.id)
                .collect(),
            id: g.id,
            name: g.name,
            description: g.description,
            position: i as i32 + 1,
            created_at: g.created_at,
            updated_at: g.updated_at,
        })
        .collect())
}

/// A refused command as the API answers it (a missing thing names its id).
fn refused(err: CommandError, what: &str, id: Uuid) -> AppError {
    match err {
        CommandError::NotFound => {
            AppError::NotFound(format!("There is no {what} with the id {id}."))
        }
        err => err.into(),
    }
}

/// All component groups.
#[utoipa::path(get, path = "/component-groups", tag = "components",
    responses((status = 200, body = Vec<GroupJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_groups(
    State(state): State<AppState>,
    _caller: ApiUser,
) -> Result<Json<Vec<GroupJson>>, AppError> {
    Ok(Json(all_groups(&state).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupJson {
    #[schema(max_length = 100)]
    pub name: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// 1-based; default: last.
    pub position: Option<i32>,
}

/// Create a group (admin).
#[utoipa::path(post, path = "/component-groups", security(("bearer" = ["admin"])), tag = "components", request_body = NewGroupJson,
    responses((status = 201, body = GroupJson), (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_group(
    State(state): State<AppState>,
    caller: Authorized<AsAdmin>,
    Json(body): Json<NewGroupJson>,
) -> Result<Response, AppError> {
    let mut tx = state.pool.begin().await?;
    let group = commands::create_group(
        &mut tx,
        Some(caller.0.id),
        &body.name,
        body.description.as_deref(),
        body.position,
    )
    .await?;
    tx.commit().await?;
    let json = find_group_json(&state, group.id).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/component-groups/{}", group.id),
        )],
        Json(json),
    )
        .into_response())
}

async fn find_group_json(state: &AppState, id: Uuid) -> Result<GroupJson, AppError> {
    all_groups(state)
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(|| AppError::NotFound(format!("There is no component group with the id {id}.")))
}

/// One group.
#[utoipa::path(get, path = "/component-groups/{id}", tag = "components", params(("id" = Uuid, Path)),
    responses((status = 200, body = GroupJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_group(
    State(state): State<AppState>,
    _caller: ApiUser,
    Path(id): Path<Uuid>,
) -> Result<Json<GroupJson>, AppError> {
    Ok(Json(find_group_json(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatchJson {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 500, value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub position: Option<i32>,
}

/// Change a group (admin).
#[utoipa::path(patch, path = "/component-groups/{id}", security(("bearer" = ["admin"])), tag = "components", params(("id" = Uuid, Path)), request_body = GroupPatchJson,
    responses((status = 200, body = GroupJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_group(
    State(state): State<AppState>,
    _caller: Authorized<AsAdmin>,
    Path(id): Path<Uuid>,
    Json(body): Json<GroupPatchJson>,
) -> Result<Json<GroupJson>, AppError> {
    let mut tx = state.pool.begin().await?;
    commands::update_group(
        &mut tx,
        id,
        body.name.as_deref(),
        body.description,
        body.position,
    )
    .await
    .map_err(|e| refused(e, "component group", id))?;
    tx.commit().await?;
    Ok(Json(find_group_json(&state, id).await?))
}

/// Delete a group (admin); its components stay, ungrouped.
#[utoipa::path(delete, path = "/component-groups/{id}", security(("bearer" = ["admin"])), tag = "components", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_group(
    State(state): State<AppState>,
    caller: Authorized<AsAdmin>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    let mut tx = state.pool.begin().await?;
    commands::delete_group(&mut tx, Some(caller.0.id), id)
        .await
        .map_err(|e| refused(e, "component group", id))?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// All components, in display order.
#[utoipa::path(get, path = "/components", tag = "components",
    responses((status = 200, body = Vec<ComponentJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_components(
    State(state): State<AppState>,
    _caller: ApiUser,
) -> Result<Json<Vec<ComponentJson>>, AppError> {
    Ok(Json(all_components(&state).await?))
}

async fn find_component_json(state: &AppState, id: Uuid) -> Result<ComponentJson, AppError> {
    all_components(state)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AppError::NotFound(format!("There is no component with the id {id}.")))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComponentJson {
    #[schema(max_length = 100)]
    pub name: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    pub group_id: Option<Uuid>,
    pub position: Option<i32>,
    pub status: Option<ComponentStatus>,
}

/// Create a component (admin).
#[utoipa::path(post, path = "/components", security(("bearer" = ["admin"])), tag = "components", request_body = NewComponentJson,
    responses((status = 201, body = ComponentJson), (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_component(
    State(state): State<AppState>,
    caller: Authorized<AsAdmin>,
    Json(body): Json<NewComponentJson>,
) -> Result<Response, AppError> {
    let new = CreateComponent {
        name: &body.name,
        description: body.description.as_deref(),
        group_id: body.group_id,
        status: body.status.unwrap_or(ComponentStatus::Operational),
        position: body.position,
    };
    let mut tx = state.pool.begin().await?;
    let component = commands::create(&mut tx, Some(caller.0.id), new).await?;
    tx.commit().await?;
    let json = find_component_json(&state, component.id).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/components/{}", component.id),
        )],
        Json(json),
    )
        .into_response())
}

/// One component.
#[utoipa::path(get, path = "/components/{id}", tag = "components", params(("id" = Uuid, Path)),
    responses((status = 200, body = ComponentJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_component(
    State(state): State<AppState>,
    _caller: ApiUser,
    Path(id): Path<Uuid>,
) -> Result<Json<ComponentJson>, AppError> {
    Ok(Json(find_component_json(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentPatchJson {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 500, value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub group_id: Option<Option<Uuid>>,
    pub position: Option<i32>,
    pub status: Option<ComponentStatus>,
}

/// Change a component (admin). A status change is recorded in its history.
#[utoipa::path(patch, path = "/components/{id}", security(("bearer" = ["admin"])), tag = "components", params(("id" = Uuid, Path)), request_body = ComponentPatchJson,
    responses((status = 200, body = ComponentJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_component(
    State(state): State<AppState>,
    caller: Authorized<AsAdmin>,
    Path(id): Path<Uuid>,
    Json(body): Json<ComponentPatchJson>,
) -> Result<Json<ComponentJson>, AppError> {
    let change = ComponentChange {
        name: body.name,
        description: body.description,
        group_id: body.group_id,
        position: body.position,
        status: body.status,
    };
    let mut tx = state.pool.begin().await?;
    commands::update(&mut tx, Some(caller.0.id), id, change)
        .await
        .map_err(|e| refused(e, "component", id))?;
    tx.commit().await?;
    Ok(Json(find_component_json(&state, id).await?))
}

/// Delete a component (admin), with its status history.
#[utoipa::path(delete, path = "/components/{id}", security(("bearer" = ["admin"])), tag = "components", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_component(
    State(state): State<AppState>,
    caller: Authorized<AsAdmin>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    let mut tx = state.pool.begin().await?;
    commands::delete(&mut tx, Some(caller.0.id), id)
        .await
        .map_err(|e| refused(e, "component", id))?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
