use axum::extract::State;

use super::users::UserJson;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{ApiUser, Json};

/// The user the token belongs to.
#[utoipa::path(
    get,
    path = "/me",
    tag = "account",
    responses(
        (status = 200, description = "The token's user", body = UserJson),
        (status = 401, description = "Missing, unknown or revoked token", body = super::ProblemDoc,
         content_type = "application/problem+json"),
    )
)]
pub async fn get_me(
    State(_state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<UserJson>, AppError> {
    Ok(Json(UserJson::from(user)))
}
