use super::users::UserJson;
use super::Reply;
use crate::http::extract::{Caller, Json};

/// The user the token belongs to.
#[utoipa::path(
    get,
    path = "/me",
    tag = "account",
    responses(
        (status = 200, description = "The token's user", body = UserJson),
        (status = 401, description = "Missing, unknown or revoked token", body = super::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn get_me(c: Caller) -> Reply<UserJson> {
    Ok(Json(UserJson::from(c.user)))
}
