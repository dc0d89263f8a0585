//! `/api/v1/escalation-policies`: what a critical alert does, step by step (viewers
//! read, admins write).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, missing, Admin, Answer, Edit, ProblemDoc, Reply};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
use crate::oncall::policies::{self, NewPolicy, PolicyChanges, PolicyRow, Step};
use crate::platform::command::CommandError;

#[derive(Serialize, ToSchema)]
pub struct EscalationPolicyJson {
    pub id: Uuid,
    pub name: String,
    /// Run in order; after the last, the steps run again `repeat` more times while
    /// nobody acknowledges.
    pub steps: Vec<Step>,
    pub repeat: i32,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<PolicyRow> for EscalationPolicyJson {
    fn from(p: PolicyRow) -> Self {
        EscalationPolicyJson {
            id: p.id,
            name: p.name,
            steps: p.steps,
            repeat: p.repeat,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

async fn find_json(state: &AppState, id: Uuid) -> Result<EscalationPolicyJson, AppError> {
    let row = policies::find(&state.pool, id).await?;
    Ok(row.ok_or_else(|| missing("escalation policy", id))?.into())
}

fn refused(id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing("escalation policy", id),
        other => other.into(),
    }
}

/// Every escalation policy, by name.
#[utoipa::path(get, path = "/escalation-policies", tag = "escalation-policies",
    responses((status = 200, body = Vec<EscalationPolicyJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_policies(c: Caller) -> Reply<Vec<EscalationPolicyJson>> {
    let rows = policies::list(&c.state.pool).await?;
    Ok(Json(
        rows.into_iter().map(EscalationPolicyJson::from).collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEscalationPolicyJson {
    #[schema(max_length = 100)]
    pub name: String,
    /// 1 to 20 steps, at least one of which pages someone.
    pub steps: Vec<Step>,
    /// 0 to 10, default 0.
    pub repeat: Option<i32>,
}

/// Create an escalation policy (admin).
#[utoipa::path(post, path = "/escalation-policies", security(("bearer" = ["admin"])), tag = "escalation-policies", request_body = NewEscalationPolicyJson,
    responses((status = 201, body = EscalationPolicyJson),
        (status = 422, description = "A blank or taken name, no step that pages, a countdown over 600 s, a wait outside 10 s to 24 h, an unknown user", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_policy(c: Admin, Json(body): Json<NewEscalationPolicyJson>) -> Answer {
    let new = NewPolicy {
        name: body.name,
        steps: body.steps,
        repeat: body.repeat,
    };
    let mut tx = c.begin().await?;
    let id = policies::create(&mut tx, Some(c.id()), new).await?;
    tx.commit().await?;
    created(
        format!("/api/v1/escalation-policies/{id}"),
        find_json(&c.state, id).await?,
    )
}

/// One escalation policy.
#[utoipa::path(get, path = "/escalation-policies/{id}", tag = "escalation-policies", params(("id" = Uuid, Path)),
    responses((status = 200, body = EscalationPolicyJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_policy(c: Caller, Path(id): Path<Uuid>) -> Reply<EscalationPolicyJson> {
    Ok(Json(find_json(&c.state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyPatchJson {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    pub steps: Option<Vec<Step>>,
    pub repeat: Option<i32>,
    /// The version the change was made against: a newer one answers 409.
    pub version: Option<i32>,
}

/// Change an escalation policy (admin). Pages already running keep the steps they
/// started with.
#[utoipa::path(patch, path = "/escalation-policies/{id}", security(("bearer" = ["admin"])), tag = "escalation-policies", params(("id" = Uuid, Path)), request_body = EscalationPolicyPatchJson,
    responses((status = 200, body = EscalationPolicyJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_policy(
    c: Admin,
    Edit(id, body): Edit<EscalationPolicyPatchJson>,
) -> Reply<EscalationPolicyJson> {
    let change = PolicyChanges {
        name: body.name,
        steps: body.steps,
        repeat: body.repeat,
        version: body.version,
    };
    let mut tx = c.begin().await?;
    policies::update(&mut tx, Some(c.id()), id, change)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(find_json(&c.state, id).await?))
}

/// Delete an escalation policy no team or routing rule uses (admin).
#[utoipa::path(delete, path = "/escalation-policies/{id}", security(("bearer" = ["admin"])), tag = "escalation-policies", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A team or routing rule uses it", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_policy(c: Admin, Path(id): Path<Uuid>) -> Answer<axum::http::StatusCode> {
    let mut tx = c.begin().await?;
    policies::delete(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
