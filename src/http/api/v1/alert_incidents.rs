//! `/api/v1/alert-groups/{id}/declare` and `…/attach`: alert groups turned into
//! incidents, or joined to one. Nothing public changes.

use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::alerts::{detail, AlertGroupDetailJson};
use super::incidents::{incident_json, IncidentJson};
use super::{created, missing, Answer, ProblemDoc, Reply, Responder};
use crate::alerts::incident_link::{Declaration, LinkError};
use crate::http::error::AppError;
use crate::http::extract::{Json, OptionalJson, Path};
use crate::incidents::Severity;
use crate::platform::command::CommandError;

/// What to change of what the group prefills; every field may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareFromGroupJson {
    /// Default: the group's title.
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// Default: from the group's severity (critical → sev2, error → sev3, else sev4).
    pub severity: Option<Severity>,
    /// Affected components, at the status the group's severity implies (critical → major
    /// outage, error → partial outage, else degraded performance), for responders only.
    #[serde(default)]
    pub components: Vec<Uuid>,
}

/// The incident to attach a group to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachJson {
    pub incident_id: Uuid,
}

/// A refusal as the API words it: 404 for the group, 409 when it is attached already.
fn refused(id: Uuid, err: LinkError) -> AppError {
    match err {
        LinkError::Command(CommandError::NotFound) => missing("alert group", id),
        LinkError::AlreadyAttached { incident_id, .. } => AppError::Conflict {
            message: format!("{err} A group belongs to one incident at a time."),
            current: Some(serde_json::json!({ "incident_id": incident_id })),
        },
        LinkError::Command(other) => other.into(),
    }
}

/// Declare an incident from a group (responder): title, severity and components
/// prefilled from the group, started at its first alert, detected when Fireline received
/// it, acknowledged when the group was, led by whoever acknowledged its page (else the
/// caller), with its report assigned to the person paged; its history goes into the incident's log at the
/// times things happened. No public update is posted and nothing public changes.
#[utoipa::path(post, path = "/alert-groups/{id}/declare", security(("bearer" = ["responder"])), tag = "alerts",
    params(("id" = Uuid, Path)), request_body = DeclareFromGroupJson,
    responses((status = 201, body = IncidentJson, headers(("location" = String))),
        (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The group is attached to an incident already", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn declare_from_alert_group(
    c: Responder,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<DeclareFromGroupJson>,
) -> Answer {
    let declaration = Declaration {
        title: body.title,
        severity: body.severity,
        component_ids: body.components,
        by_rule: None,
        leader_id: None,
    };
    let mut tx = c.begin().await?;
    let done = crate::paging::incident::declare_from_group(&mut tx, &c.user, id, declaration).await;
    let incident = done.map_err(|e| refused(id, e))?;
    tx.commit().await?;
    let location = format!("/api/v1/incidents/{}", incident.id);
    created(location, incident_json(&c.state, incident).await?)
}

/// Attach a group to an incident (responder). An incident holds many groups; a group
/// attached to another incident is refused (409). The incident's detection moves to the
/// group's first alert when that came earlier.
#[utoipa::path(post, path = "/alert-groups/{id}/attach", security(("bearer" = ["responder"])), tag = "alerts",
    params(("id" = Uuid, Path)), request_body = AttachJson,
    responses((status = 200, body = AlertGroupDetailJson),
        (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The group is attached to another incident", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn attach_alert_group(
    c: Responder,
    Path(id): Path<Uuid>,
    Json(body): Json<AttachJson>,
) -> Reply<AlertGroupDetailJson> {
    let mut tx = c.begin().await?;
    let done = crate::paging::incident::attach(&mut tx, &c.user, id, body.incident_id).await;
    done.map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(detail(&c.state, id).await?))
}
