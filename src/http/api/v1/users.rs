use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListQuery, Page};
use crate::accounts::user_commands::{self, CreateUser};
use crate::accounts::users::{self, UserRow};
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{ApiUser, AsAdmin, Authorized, Json, Path, Query};

/// A person who uses Fireline.
#[derive(Serialize, ToSchema)]
pub struct UserJson {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<UserRow> for UserJson {
    fn from(u: UserRow) -> Self {
        UserJson {
            disabled: u.is_disabled(),
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role,
            created_at: u.created_at,
        }
    }
}

/// Every user, ordered by email.
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of users", body = Page<UserJson>),
        (status = 401, description = "Missing, unknown or revoked token", body = super::ProblemDoc,
         content_type = "application/problem+json"),
        (status = 422, description = "Bad limit or cursor", body = super::ProblemDoc,
         content_type = "application/problem+json"),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    _caller: ApiUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<UserJson>>, AppError> {
    let limit = query.limit()?;
    let after = match &query.cursor {
        None => None,
        Some(cursor) => Some(
            URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|s| !s.contains('\0'))
                .ok_or_else(|| AppError::field("cursor", "This cursor is not one we gave out."))?,
        ),
    };
    let mut rows = users::page_by_email(&state.pool, after.as_deref(), limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|u| URL_SAFE_NO_PAD.encode(u.email.as_bytes()))
    } else {
        None
    };
    Ok(Json(Page {
        items: rows.into_iter().map(UserJson::from).collect(),
        next_cursor,
    }))
}

/// A user to create. Without `password`, one is generated and returned once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserJson {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 100)]
    pub name: String,
    pub role: Role,
    #[schema(max_length = 1024)]
    pub password: Option<String>,
}

/// The created user, and the generated password if none was given.
#[derive(Serialize, ToSchema)]
pub struct CreatedUserJson {
    #[serde(flatten)]
    pub user: UserJson,
    /// Only when generated; shown this once.
    pub password: Option<String>,
}

/// Create a user (admin only).
#[utoipa::path(
    post,
    path = "/users", security(("bearer" = ["admin"])),
    tag = "users",
    request_body = NewUserJson,
    responses(
        (status = 201, description = "Created", body = CreatedUserJson,
         headers(("location" = String, description = "The new user's URL"))),
        (status = 400, description = "Malformed JSON", body = super::ProblemDoc,
         content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = super::ProblemDoc,
         content_type = "application/problem+json"),
        (status = 422, description = "Invalid or taken fields", body = super::ProblemDoc,
         content_type = "application/problem+json"),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Authorized<AsAdmin>,
    Json(body): Json<NewUserJson>,
) -> Result<Response, AppError> {
    let input = CreateUser {
        email: body.email,
        name: body.name,
        role: Some(body.role),
        password: body.password,
    };
    let created = user_commands::create_user(&state.pool, Some(&caller.0), input).await?;
    let user = created.user;
    let location = format!("/api/v1/users/{}", user.id);
    let body = CreatedUserJson {
        user: UserJson::from(user),
        password: created.generated,
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// One user.
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserJson),
        (status = 404, description = "No such user", body = super::ProblemDoc,
         content_type = "application/problem+json"),
    )
)]
pub async fn get_user(
    State(state): State<AppState>,
    _caller: ApiUser,
    Path(id): Path<Uuid>,
) -> Result<Json<UserJson>, AppError> {
    users::find(&state.pool, id)
        .await?
        .map(|u| Json(UserJson::from(u)))
        .ok_or_else(|| AppError::NotFound(format!("There is no user with the id {id}.")))
}

/// Disable a user (admin only): they are signed out everywhere and their tokens revoked.
/// The last enabled admin cannot be disabled.
#[utoipa::path(
    post,
    path = "/users/{id}/disable", security(("bearer" = ["admin"])),
    tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user, now disabled", body = UserJson),
        (status = 403, description = "Not an admin", body = super::ProblemDoc,
         content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = super::ProblemDoc,
         content_type = "application/problem+json"),
        (status = 409, description = "The last enabled admin", body = super::ProblemDoc,
         content_type = "application/problem+json"),
    )
)]
pub async fn disable_user(
    State(state): State<AppState>,
    caller: Authorized<AsAdmin>,
    Path(id): Path<Uuid>,
) -> Result<Json<UserJson>, AppError> {
    user_commands::disable_user(&state.pool, Some(&caller.0), id).await?;
    let user = users::find(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no user with the id {id}.")))?;
    Ok(Json(UserJson::from(user)))
}
