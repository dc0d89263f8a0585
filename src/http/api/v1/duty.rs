//! `/api/v1/teams/{id}/duty` and the overrides: who is on duty, taking, handing back and
//! passing duty (members), and overrides (responders).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::incidents::PersonJson;
use super::teams::{refused, DutyJson};
use super::{created, missing, Answer, Edit, ProblemDoc, Reply, Responder};
use crate::http::extract::{Caller, Json, Path};
use crate::oncall::duty;
use crate::oncall::model::OverrideRow;
use crate::oncall::overrides::{self, NewOverride};
use crate::oncall::teams;
use crate::platform::command::CommandError;

/// Who is on duty for the team now, why, since when, and who is next.
#[utoipa::path(get, path = "/teams/{id}/duty", tag = "teams", params(("id" = Uuid, Path)),
    responses((status = 200, body = DutyJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_duty(c: Caller, Path(id): Path<Uuid>) -> Reply<DutyJson> {
    let mut conn = c.state.pool.acquire().await?;
    let team = teams::find(&mut *conn, id)
        .await?
        .ok_or_else(|| missing("team", id))?;
    Ok(Json(
        duty::now(&mut conn, &team, OffsetDateTime::now_utc())
            .await?
            .into(),
    ))
}

/// `take`: the caller takes duty knowingly; `release`: the caller hands back duty they
/// took; `pass`: the caller passes duty to `user_id` (allowed, but discouraged).
#[derive(Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum DutyActionJson {
    Take,
    Release,
    Pass { user_id: Uuid },
}

/// Duty after the change; a pass carries a warning.
#[derive(Serialize, ToSchema)]
pub struct DutyChangedJson {
    #[serde(flatten)]
    pub duty: DutyJson,
    /// Set when duty was passed: the person on duty should take it knowingly.
    pub warning: Option<String>,
}

/// Take, hand back or pass the team's duty (responder; a member of the team).
#[utoipa::path(post, path = "/teams/{id}/duty", security(("bearer" = ["responder"])), tag = "teams", params(("id" = Uuid, Path)), request_body = DutyActionJson,
    responses((status = 200, body = DutyChangedJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a member, nothing to hand back, or someone else holds it", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn post_duty(
    c: Responder,
    Edit(id, body): Edit<DutyActionJson>,
) -> Reply<DutyChangedJson> {
    let now = OffsetDateTime::now_utc();
    let mut tx = c.begin().await?;
    let warning = match body {
        DutyActionJson::Take => duty::take(&mut tx, id, c.id(), now).await.map(|()| None),
        DutyActionJson::Release => duty::release(&mut tx, id, c.id(), now).await.map(|()| None),
        DutyActionJson::Pass { user_id } => duty::pass(&mut tx, id, c.id(), user_id, now)
            .await
            .map(|()| Some(duty::PASS_WARNING.to_owned())),
    }
    .map_err(|e| refused(id, e))?;
    let team = teams::find(&mut *tx, id)
        .await?
        .ok_or_else(|| missing("team", id))?;
    let now_duty = duty::now(&mut tx, &team, now).await?;
    tx.commit().await?;
    Ok(Json(DutyChangedJson {
        duty: now_duty.into(),
        warning,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct OverrideJson {
    pub id: Uuid,
    pub team_id: Uuid,
    pub user: PersonJson,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub reason: Option<String>,
}

impl From<OverrideRow> for OverrideJson {
    fn from(o: OverrideRow) -> Self {
        OverrideJson {
            id: o.id,
            team_id: o.team_id,
            user: PersonJson {
                id: o.user_id,
                name: o.user_name,
            },
            starts_at: o.starts_at,
            ends_at: o.ends_at,
            reason: o.reason,
        }
    }
}

/// The team's overrides that have not ended, the soonest first.
#[utoipa::path(get, path = "/teams/{id}/overrides", tag = "teams", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<OverrideJson>), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_overrides(c: Caller, Path(id): Path<Uuid>) -> Reply<Vec<OverrideJson>> {
    teams::find(&c.state.pool, id)
        .await?
        .ok_or_else(|| missing("team", id))?;
    let rows = overrides::overrides(&c.state.pool, id, OffsetDateTime::now_utc()).await?;
    Ok(Json(rows.into_iter().map(OverrideJson::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOverrideJson {
    pub user_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: OffsetDateTime,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Someone covers the team from `starts_at` to `ends_at` (responder): an override comes
/// before taken duty and the rotation.
#[utoipa::path(post, path = "/teams/{id}/overrides", security(("bearer" = ["responder"])), tag = "teams", params(("id" = Uuid, Path)), request_body = NewOverrideJson,
    responses((status = 201, body = OverrideJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_override(c: Responder, Edit(id, body): Edit<NewOverrideJson>) -> Answer {
    let now = OffsetDateTime::now_utc();
    let new = NewOverride {
        user_id: body.user_id,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        reason: body.reason,
    };
    let mut tx = c.begin().await?;
    let override_id = overrides::add_override(&mut tx, Some(c.id()), id, new, now)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    let row = overrides::overrides(&c.state.pool, id, now)
        .await?
        .into_iter()
        .find(|o| o.id == override_id)
        .ok_or_else(|| missing("override", override_id))?;
    created(
        format!("/api/v1/teams/{id}/overrides"),
        OverrideJson::from(row),
    )
}

/// Remove an override (responder).
#[utoipa::path(delete, path = "/duty-overrides/{id}", security(("bearer" = ["responder"])), tag = "teams", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_override(c: Responder, Path(id): Path<Uuid>) -> Answer<axum::http::StatusCode> {
    let mut tx = c.begin().await?;
    match overrides::remove_override(&mut tx, Some(c.id()), id).await {
        Ok(()) => {}
        Err(CommandError::NotFound) => return Err(missing("override", id)),
        Err(other) => return Err(other.into()),
    }
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
