//! `/api/v1/component-groups` and `/api/v1/components`.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, missing, present, Admin, Answer, Edit, ProblemDoc, Reply};
use crate::app::AppState;
use crate::components::commands::{self, ComponentChanges, NewComponent};
use crate::components::ComponentStatus;
use crate::components::{self, ComponentRow, GroupRow};
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
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
        CommandError::NotFound => not_found(what, id),
        err => err.into(),
    }
}

fn not_found(what: &str, id: Uuid) -> AppError {
    missing(&format!("{what} with the id"), id)
}

/// The one of `all` with this id.
fn one<T>(all: Vec<T>, id: Uuid, id_of: fn(&T) -> Uuid, what: &str) -> Result<T, AppError> {
    let found = all.into_iter().find(|item| id_of(item) == id);
    found.ok_or_else(|| not_found(what, id))
}

async fn find_group_json(state: &AppState, id: Uuid) -> Result<GroupJson, AppError> {
    one(all_groups(state).await?, id, |g| g.id, "component group")
}

async fn find_component_json(state: &AppState, id: Uuid) -> Result<ComponentJson, AppError> {
    one(all_components(state).await?, id, |c| c.id, "component")
}

/// All component groups.
#[utoipa::path(get, path = "/component-groups", tag = "components",
    responses((status = 200, body = Vec<GroupJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_groups(c: Caller) -> Reply<Vec<GroupJson>> {
    Ok(Json(all_groups(&c.state).await?))
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
pub async fn create_group(c: Admin, Json(body): Json<NewGroupJson>) -> Answer {
    let (name, description) = (&body.name, body.description.as_deref());
    let mut tx = c.begin().await?;
    let group =
        commands::create_group(&mut tx, Some(c.id()), name, description, body.position).await?;
    tx.commit().await?;
    let location = format!("/api/v1/component-groups/{}", group.id);
    created(location, find_group_json(&c.state, group.id).await?)
}

/// One group.
#[utoipa::path(get, path = "/component-groups/{id}", tag = "components", params(("id" = Uuid, Path)),
    responses((status = 200, body = GroupJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_group(c: Caller, Path(id): Path<Uuid>) -> Reply<GroupJson> {
    Ok(Json(find_group_json(&c.state, id).await?))
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
pub async fn patch_group(c: Admin, Edit(id, body): Edit<GroupPatchJson>) -> Reply<GroupJson> {
    let mut tx = c.begin().await?;
    commands::update_group(
        &mut tx,
        Some(c.id()),
        id,
        body.name.as_deref(),
        body.description,
        body.position,
    )
    .await
    .map_err(|e| refused(e, "component group", id))?;
    tx.commit().await?;
    Ok(Json(find_group_json(&c.state, id).await?))
}

/// Delete a group (admin); its components stay, ungrouped.
#[utoipa::path(delete, path = "/component-groups/{id}", security(("bearer" = ["admin"])), tag = "components", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_group(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    let mut tx = c.begin().await?;
    let deleted = commands::delete_group(&mut tx, Some(c.id()), id).await;
    deleted.map_err(|e| refused(e, "component group", id))?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// All components, in display order.
#[utoipa::path(get, path = "/components", tag = "components",
    responses((status = 200, body = Vec<ComponentJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_components(c: Caller) -> Reply<Vec<ComponentJson>> {
    Ok(Json(all_components(&c.state).await?))
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
pub async fn create_component(c: Admin, Json(body): Json<NewComponentJson>) -> Answer {
    let new = NewComponent {
        name: &body.name,
        description: body.description.as_deref(),
        group_id: body.group_id,
        status: body.status.unwrap_or(ComponentStatus::Operational),
        position: body.position,
    };
    let mut tx = c.begin().await?;
    let component = commands::create(&mut tx, Some(c.id()), new).await?;
    tx.commit().await?;
    let location = format!("/api/v1/components/{}", component.id);
    created(location, find_component_json(&c.state, component.id).await?)
}

/// One component.
#[utoipa::path(get, path = "/components/{id}", tag = "components", params(("id" = Uuid, Path)),
    responses((status = 200, body = ComponentJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_component(c: Caller, Path(id): Path<Uuid>) -> Reply<ComponentJson> {
    Ok(Json(find_component_json(&c.state, id).await?))
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
    c: Admin,
    Edit(id, body): Edit<ComponentPatchJson>,
) -> Reply<ComponentJson> {
    let change = ComponentChanges {
        name: body.name,
        description: body.description,
        group_id: body.group_id,
        position: body.position,
        status: body.status,
    };
    let mut tx = c.begin().await?;
    let updated = commands::update(&mut tx, Some(c.id()), id, change).await;
    updated.map_err(|e| refused(e, "component", id))?;
    tx.commit().await?;
    Ok(Json(find_component_json(&c.state, id).await?))
}

/// Delete a component (admin), with its status history.
#[utoipa::path(delete, path = "/components/{id}", security(("bearer" = ["admin"])), tag = "components", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_component(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    let mut tx = c.begin().await?;
    let deleted = commands::delete(&mut tx, Some(c.id()), id).await;
    deleted.map_err(|e| refused(e, "component", id))?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A component upstream of another, not operational.
#[derive(Serialize, ToSchema)]
pub struct UpstreamJson {
    pub id: Uuid,
    pub name: String,
    pub status: ComponentStatus,
}

/// What a component depends on, and the trouble upstream of it.
#[derive(Serialize, ToSchema)]
pub struct DependenciesJson {
    /// The components it depends on directly.
    pub depends_on: Vec<Uuid>,
    /// Components it depends on (directly or through others) that are not operational.
    pub upstream_trouble: Vec<UpstreamJson>,
}

async fn dependencies_json(state: &AppState, id: Uuid) -> Result<DependenciesJson, AppError> {
    let depends_on = components::dependencies::of(&state.pool, id)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let upstream_trouble = components::dependencies::upstream_trouble(&state.pool, &[id])
        .await?
        .into_iter()
        .map(|u| UpstreamJson {
            id: u.upstream_id,
            name: u.upstream_name,
            status: u.status,
        })
        .collect();
    Ok(DependenciesJson {
        depends_on,
        upstream_trouble,
    })
}

/// What a component depends on, and what is in trouble upstream of it.
#[utoipa::path(get, path = "/components/{id}/dependencies", tag = "components", params(("id" = Uuid, Path)),
    responses((status = 200, body = DependenciesJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_dependencies(c: Caller, Path(id): Path<Uuid>) -> Reply<DependenciesJson> {
    components::find(&c.state.pool, id)
        .await?
        .ok_or_else(|| missing("component", id))?;
    Ok(Json(dependencies_json(&c.state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDependenciesJson {
    /// Every component it depends on directly (replacing what it had).
    pub depends_on: Vec<Uuid>,
}

/// Set what a component depends on (admin). A cycle is refused.
#[utoipa::path(put, path = "/components/{id}/dependencies", security(("bearer" = ["admin"])), tag = "components", params(("id" = Uuid, Path)), request_body = SetDependenciesJson,
    responses((status = 200, body = DependenciesJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Itself, a component that does not exist, or a cycle", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn put_dependencies(
    c: Admin,
    Edit(id, body): Edit<SetDependenciesJson>,
) -> Reply<DependenciesJson> {
    let mut tx = c.begin().await?;
    components::dependencies::set(&mut tx, Some(c.id()), id, &body.depends_on)
        .await
        .map_err(|e| match e {
            CommandError::NotFound => missing("component", id),
            other => other.into(),
        })?;
    tx.commit().await?;
    Ok(Json(dependencies_json(&c.state, id).await?))
}
