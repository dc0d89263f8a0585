use serde::Deserialize;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, missing, Admin, Answer, ListQuery, Page, Reply};
use crate::accounts::user_commands::{self, NewUser};
use crate::accounts::users::{self, UserRow};
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::api::cursor::Cursor;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path, Query};

/// A person who uses Fireline.
#[derive(Serialize, ToSchema)]
pub struct UserJson {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
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
        (status = 401, description = "Missing, unknown or revoked token", body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit or cursor", body = super::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn list_users(c: Caller, Query(query): Query<ListQuery>) -> Reply<Page<UserJson>> {
    let limit = query.limit()?;
    // Before the shared cursor, the list gave out the bare email in base64.
    let after = query.cursor.as_deref();
    let after = after
        .map(|raw| Cursor::parse_after(raw, Cursor::text))
        .transpose()?;
    let rows = users::page_by_email(&c.state.pool, after.as_deref(), limit + 1).await?;
    Ok(Json(Page::of(rows, limit, |u| Cursor::after(&u.email))))
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
        (status = 201, description = "Created", body = CreatedUserJson, headers(("location" = String, description = "The new user's URL"))),
        (status = 400, description = "Malformed JSON", body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or taken fields", body = super::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn create_user(c: Admin, Json(body): Json<NewUserJson>) -> Answer {
    let input = NewUser {
        email: body.email,
        name: body.name,
        role: Some(body.role),
        password: body.password,
    };
    let made = user_commands::create_user(&c.state.pool, Some(&c.user), input).await?;
    let location = format!("/api/v1/users/{}", made.user.id);
    let body = CreatedUserJson {
        user: UserJson::from(made.user),
        password: made.generated,
    };
    created(location, body)
}

async fn find(state: &AppState, id: Uuid) -> Result<UserJson, AppError> {
    let user = users::find(&state.pool, id).await?;
    user.map(UserJson::from)
        .ok_or_else(|| missing("user with the id", id))
}

/// One user.
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserJson),
        (status = 404, description = "No such user", body = super::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn get_user(c: Caller, Path(id): Path<Uuid>) -> Reply<UserJson> {
    Ok(Json(find(&c.state, id).await?))
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
        (status = 403, description = "Not an admin", body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = super::ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The last enabled admin", body = super::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn disable_user(c: Admin, Path(id): Path<Uuid>) -> Reply<UserJson> {
    user_commands::disable_user(&c.state.pool, Some(&c.user), id).await?;
    Ok(Json(find(&c.state, id).await?))
}
