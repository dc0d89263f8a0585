//! `/api/v1/incidents`; workstreams and tasks in [`workstreams`].

mod json;
pub mod workstreams;

pub use json::{
    incident_json, incidents_json, workstreams_json, IncidentJson, PersonJson, TaskJson,
    WorkstreamJson,
};

use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, limit, more, present, Answer, Edit, Page, ProblemDoc, Reply, Responder};
use crate::app::AppState;
use crate::components::ComponentStatus;
use crate::http::api::cursor::Cursor;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path, Query};
use crate::incidents::{self, CommandError, IncidentChanges, IncidentRow, ListFilter, NewIncident};
use crate::incidents::{Impact, IncidentStatus, Milestone, Severity, Visibility};

/// The incident an API path names: its UUID, `INC-42` or `42`.
pub async fn find_incident(state: &AppState, id: &str) -> Result<IncidentRow, AppError> {
    let missing = || AppError::NotFound(format!("There is no incident {id}."));
    let parsed = crate::incidents::IncidentRef::parse(id).ok_or_else(missing)?;
    incidents::find_ref(&state.pool, parsed)
        .await?
        .ok_or_else(missing)
}

/// API errors of commands: a conflict carries the current incident as the API shows it.
pub async fn command_error(state: &AppState, err: CommandError) -> AppError {
    match err {
        CommandError::Conflict { expected, current } => {
            let current = match incidents::find(&state.pool, current.id).await {
                Ok(Some(row)) => match incident_json(state, row).await {
                    Ok(json) => serde_json::to_value(json).ok(),
                    Err(_) => None,
                },
                _ => None,
            };
            AppError::Conflict {
                message: format!("The incident changed since version {expected}; nothing was saved. `current` holds it as it is now."),
                current,
            }
        }
        other => other.into(),
    }
}

/// Which incidents a list holds, by status.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Open,
    Resolved,
    Investigating,
    Identified,
    Monitoring,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    /// `open` (not resolved), `resolved`, or one open status.
    #[param(inline)]
    pub status: Option<StatusFilter>,
    pub severity: Option<Severity>,
    /// Declared at or after (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Incidents, newest declared first.
#[utoipa::path(get, path = "/incidents", tag = "incidents", params(IncidentQuery),
    responses((status = 200, body = Page<IncidentJson>), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_incidents(
    c: Caller,
    Query(query): Query<IncidentQuery>,
) -> Reply<Page<IncidentJson>> {
    let limit = limit(query.limit)?;
    let mut filter = ListFilter {
        severity: query.severity,
        since: query.since,
        ..Default::default()
    };
    match query.status {
        None => {}
        Some(StatusFilter::Open) => filter.open = Some(true),
        Some(StatusFilter::Resolved) => filter.open = Some(false),
        Some(StatusFilter::Investigating) => filter.status = Some(IncidentStatus::Investigating),
        Some(StatusFilter::Identified) => filter.status = Some(IncidentStatus::Identified),
        Some(StatusFilter::Monitoring) => filter.status = Some(IncidentStatus::Monitoring),
    }
    if let Some(cursor) = &query.cursor {
        filter.before = Some(Cursor::parse_keyset(cursor)?);
    }
    let mut rows = incidents::list(&c.state.pool, &filter, limit + 1).await?;
    let next_cursor = more(&mut rows, limit, |i| Cursor::keyset(i.declared_at, i.id));
    let items = incidents_json(&c.state, rows).await?;
    Ok(Json(Page { items, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentStatusJson {
    pub id: Uuid,
    pub status: ComponentStatus,
}

/// An incident to declare.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareJson {
    #[schema(max_length = 200)]
    pub title: String,
    pub severity: Severity,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub summary: String,
    pub visibility: Option<Visibility>,
    /// Default: derived from severity (sev1 → critical, sev2 → major, sev3 → minor, sev4 → none).
    pub impact: Option<Impact>,
    /// Default: the caller.
    pub leader_id: Option<Uuid>,
    #[serde(default)]
    pub components: Vec<ComponentStatusJson>,
    /// When impact began; default now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub detected_at: Option<OffsetDateTime>,
    /// Body (Markdown) of a first public update, which puts the incident on the status
    /// page at once. Without it the incident stays off every public surface until its
    /// first public update.
    #[schema(max_length = 20000)]
    pub initial_update: Option<String>,
    /// The name customers see (default: `title`).
    #[schema(max_length = 200)]
    pub public_title: Option<String>,
    /// Show the `components` changes on the status page now, before any public update
    /// (default false: they are held back until the incident is published).
    #[serde(default)]
    pub show_components: bool,
}

/// Declare an incident (responder). It starts `investigating`, with a recovery and a
/// root-cause workstream.
#[utoipa::path(post, path = "/incidents", security(("bearer" = ["responder"])), tag = "incidents", request_body = DeclareJson,
    responses((status = 201, body = IncidentJson, headers(("location" = String))),
              (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn declare_incident(c: Responder, Json(body): Json<DeclareJson>) -> Answer {
    let new = NewIncident {
        title: body.title,
        severity: body.severity,
        summary: body.summary,
        visibility: body.visibility.unwrap_or(Visibility::Public),
        impact: body.impact,
        leader_id: body.leader_id,
        components: body
            .components
            .into_iter()
            .map(|c| (c.id, c.status))
            .collect(),
        started_at: body.started_at,
        detected_at: body.detected_at,
        acknowledged_at: None,
        declared_by_rule: None,
        initial_update: body.initial_update,
        public_title: body.public_title,
        show_components: body.show_components,
    };
    let mut tx = c.begin().await?;
    let incident = incidents::declare(&mut tx, &c.user, new).await?;
    tx.commit().await?;
    let location = format!("/api/v1/incidents/{}", incident.id);
    created(location, incident_json(&c.state, incident).await?)
}

/// One incident (by id or `INC-42`).
#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents", params(("id" = String, Path, description = "UUID or INC-42")),
    responses((status = 200, body = IncidentJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_incident(c: Caller, Path(id): Path<String>) -> Reply<IncidentJson> {
    let incident = find_incident(&c.state, &id).await?;
    Ok(Json(incident_json(&c.state, incident).await?))
}

/// Changes to an incident. `version` is required: a stale one gets 409 with `current`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatchJson {
    pub version: i32,
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// The name customers see (before publication: the one the first update uses).
    #[schema(max_length = 200)]
    pub public_title: Option<String>,
    #[schema(max_length = 5000)]
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    pub status: Option<IncidentStatus>,
    /// Overrides the impact derived from severity.
    pub impact: Option<Impact>,
    /// `true` goes back to the impact derived from severity.
    #[serde(default)]
    pub impact_follows_severity: bool,
    pub visibility: Option<Visibility>,
    pub leader_id: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub detected_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub declared_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub mitigated_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Option<String>>,
    /// Why lifecycle timestamps change (required when any does; logged).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

fn parse_time(
    field: &'static str,
    raw: Option<String>,
) -> Result<Option<OffsetDateTime>, AppError> {
    raw.map(|s| {
        OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| AppError::field(field, format!("{s:?} is not an RFC 3339 timestamp.")))
    })
    .transpose()
}

/// Change an incident (responder). Each change is logged with its old and new value.
#[utoipa::path(patch, path = "/incidents/{id}", security(("bearer" = ["responder"])), tag = "incidents", params(("id" = String, Path)), request_body = IncidentPatchJson,
    responses((status = 200, body = IncidentJson), (status = 409, description = "Stale version; `current` holds the incident", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_incident(
    c: Responder,
    Edit(id, body): Edit<IncidentPatchJson, String>,
) -> Reply<IncidentJson> {
    let (state, caller) = (&c.state, &c.user);
    let incident = find_incident(state, &id).await?;
    let mut milestones = Vec::new();
    for (milestone, raw, field) in [
        (Milestone::Started, body.started_at, "started_at"),
        (Milestone::Detected, body.detected_at, "detected_at"),
        (Milestone::Declared, body.declared_at, "declared_at"),
        (
            Milestone::Acknowledged,
            body.acknowledged_at,
            "acknowledged_at",
        ),
        (Milestone::Mitigated, body.mitigated_at, "mitigated_at"),
        (Milestone::Resolved, body.resolved_at, "resolved_at"),
    ] {
        if let Some(value) = raw {
            milestones.push((milestone, parse_time(field, value)?));
        }
    }
    let changes = IncidentChanges {
        version: Some(body.version),
        title: body.title,
        public_title: body.public_title,
        summary: body.summary,
        severity: body.severity,
        status: body.status,
        impact: body.impact,
        impact_follows_severity: body.impact_follows_severity,
        visibility: body.visibility,
        leader_id: body.leader_id,
    };
    let mut tx = c.begin().await?;
    let result = async {
        let mut updated = incidents::update_fields(&mut tx, caller, incident.id, changes).await?;
        for (milestone, value) in milestones {
            let reason = body.reason.as_deref().unwrap_or("");
            updated =
                incidents::set_milestone(&mut tx, caller, incident.id, milestone, value, reason)
                    .await?;
        }
        Ok::<_, CommandError>(updated)
    }
    .await;
    match result {
        Ok(updated) => {
            tx.commit().await?;
            Ok(Json(incident_json(state, updated).await?))
        }
        Err(err) => {
            drop(tx);
            Err(command_error(state, err).await)
        }
    }
}
