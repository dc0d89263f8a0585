//! `/api/v1/maintenances`: scheduled maintenance.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, missing, Answer, Edit, ProblemDoc, Reply, Responder};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
use crate::incidents::CommandError;
use crate::maintenance::MaintenanceStatus;
use crate::maintenance::{self, MaintenanceDraft, MaintenanceRow};

#[derive(Serialize, ToSchema)]
pub struct MaintenanceUpdateJson {
    pub id: Uuid,
    pub status: MaintenanceStatus,
    pub body: String,
    pub notify: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct MaintenanceJson {
    pub id: Uuid,
    pub title: String,
    /// Markdown.
    pub description: String,
    pub status: MaintenanceStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_for: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_until: OffsetDateTime,
    /// Put the components under maintenance during the window, and restore them after.
    pub auto_components: bool,
    pub component_ids: Vec<Uuid>,
    /// When email subscribers are reminded, in minutes before the start.
    pub reminder_minutes: Vec<i32>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub version: i32,
    pub updates: Vec<MaintenanceUpdateJson>,
}

async fn to_json(state: &AppState, m: MaintenanceRow) -> Result<MaintenanceJson, AppError> {
    let updates = maintenance::updates(&state.pool, &[m.id]).await?;
    let component_ids = maintenance::component_links(&state.pool, &[m.id])
        .await?
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let reminder_minutes = maintenance::reminder_minutes(&state.pool, m.id).await?;
    Ok(MaintenanceJson {
        id: m.id,
        title: m.title,
        description: m.description,
        status: m.status,
        scheduled_for: m.scheduled_for,
        scheduled_until: m.scheduled_until,
        auto_components: m.auto_components,
        component_ids,
        reminder_minutes,
        started_at: m.started_at,
        completed_at: m.completed_at,
        version: m.version,
        updates: updates
            .into_iter()
            .map(|u| MaintenanceUpdateJson {
                id: u.id,
                status: u.status,
                body: u.body,
                notify: u.notify,
                created_at: u.created_at,
            })
            .collect(),
    })
}

/// A refused command as the API answers it: a stale version is a 409 with `current`.
async fn command_error(state: &AppState, id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing("maintenance", id),
        CommandError::Stale { expected, .. } => match find_json(state, id).await {
            Ok(current) => AppError::Conflict {
                message: format!(
                    "The maintenance changed since version {expected} (it is at version {}); \
                         nothing was saved. `current` holds it as it is now.",
                    current.version
                ),
                current: serde_json::to_value(current).ok(),
            },
            Err(e) => e,
        },
        other => other.into(),
    }
}

async fn find(state: &AppState, id: Uuid) -> Result<MaintenanceRow, AppError> {
    let row = maintenance::find(&state.pool, id).await?;
    row.ok_or_else(|| missing("maintenance", id))
}

/// The maintenance as it is now, as JSON.
async fn find_json(state: &AppState, id: Uuid) -> Result<MaintenanceJson, AppError> {
    to_json(state, find(state, id).await?).await
}

/// Maintenances, newest window first (at most 200).
#[utoipa::path(get, path = "/maintenances", tag = "maintenances",
    responses((status = 200, body = Vec<MaintenanceJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_maintenances(c: Caller) -> Reply<Vec<MaintenanceJson>> {
    let mut out = Vec::new();
    for m in maintenance::list(&c.state.pool, false, 200).await? {
        out.push(to_json(&c.state, m).await?);
    }
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMaintenanceJson {
    #[schema(max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_for: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_until: OffsetDateTime,
    #[serde(default)]
    pub component_ids: Vec<Uuid>,
    /// Default true.
    pub auto_components: Option<bool>,
    /// When email subscribers are reminded, in minutes before the start (5 to 43,200, at
    /// most five). Default `[4320, 1440, 60]`: 3 days, 24 hours and 1 hour ahead.
    pub reminder_minutes: Option<Vec<i32>>,
}

/// Schedule a maintenance (responder). It starts and ends on its own.
#[utoipa::path(post, path = "/maintenances", security(("bearer" = ["responder"])), tag = "maintenances", request_body = NewMaintenanceJson,
    responses((status = 201, body = MaintenanceJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_maintenance(c: Responder, Json(body): Json<NewMaintenanceJson>) -> Answer {
    let draft = MaintenanceDraft {
        title: body.title,
        description: body.description,
        scheduled_for: body.scheduled_for,
        scheduled_until: body.scheduled_until,
        components: body.component_ids,
        auto_components: body.auto_components.unwrap_or(true),
        reminder_minutes: Some(
            body.reminder_minutes
                .unwrap_or_else(|| maintenance::DEFAULT_REMINDERS.to_vec()),
        ),
    };
    let mut tx = c.begin().await?;
    let m = maintenance::schedule(&mut tx, &c.user, draft).await?;
    tx.commit().await?;
    let location = format!("/api/v1/maintenances/{}", m.id);
    created(location, to_json(&c.state, m).await?)
}

/// One maintenance.
#[utoipa::path(get, path = "/maintenances/{id}", tag = "maintenances", params(("id" = Uuid, Path)),
    responses((status = 200, body = MaintenanceJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_maintenance(c: Caller, Path(id): Path<Uuid>) -> Reply<MaintenanceJson> {
    Ok(Json(find_json(&c.state, id).await?))
}

/// Changes to a maintenance. `version` is required: a stale one gets 409 with `current`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenancePatchJson {
    pub version: i32,
    #[schema(max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub scheduled_for: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub scheduled_until: Option<OffsetDateTime>,
    pub component_ids: Option<Vec<Uuid>>,
    pub auto_components: Option<bool>,
    /// When email subscribers are reminded, in minutes before the start.
    pub reminder_minutes: Option<Vec<i32>>,
    /// Move it by hand: `in_progress`, `verifying`, `completed`, or `cancelled`.
    pub status: Option<MaintenanceStatus>,
    /// The update posted with a status change (default: the usual words).
    #[schema(max_length = 20000)]
    pub body: Option<String>,
}

/// Change the plan, or move the maintenance by hand (responder).
#[utoipa::path(patch, path = "/maintenances/{id}", security(("bearer" = ["responder"])), tag = "maintenances", params(("id" = Uuid, Path)), request_body = MaintenancePatchJson,
    responses((status = 200, body = MaintenanceJson),
        (status = 409, description = "Stale version; `current` holds the maintenance", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_maintenance(
    c: Responder,
    Edit(id, body): Edit<MaintenancePatchJson>,
) -> Reply<MaintenanceJson> {
    let mut tx = c.begin().await?;
    let current = match maintenance::lock_version(&mut tx, id, body.version).await {
        Ok(current) => current,
        Err(err) => {
            drop(tx);
            return Err(command_error(&c.state, id, err).await);
        }
    };
    let planning = body.title.is_some()
        || body.description.is_some()
        || body.scheduled_for.is_some()
        || body.scheduled_until.is_some()
        || body.component_ids.is_some()
        || body.auto_components.is_some()
        || body.reminder_minutes.is_some();
    if planning {
        let components = match body.component_ids {
            Some(ids) => ids,
            None => maintenance::component_links(&mut *tx, &[id])
                .await?
                .into_iter()
                .map(|(_, c)| c)
                .collect(),
        };
        let draft = MaintenanceDraft {
            title: body.title.unwrap_or(current.title),
            description: body.description.unwrap_or(current.description),
            scheduled_for: body.scheduled_for.unwrap_or(current.scheduled_for),
            scheduled_until: body.scheduled_until.unwrap_or(current.scheduled_until),
            components,
            auto_components: body.auto_components.unwrap_or(current.auto_components),
            reminder_minutes: body.reminder_minutes,
        };
        maintenance::reschedule(&mut tx, id, body.version, draft).await?;
    }
    if let Some(status) = body.status {
        let words = body.body.as_deref();
        maintenance::transition(&mut tx, Some(&c.user), id, status, words, true).await?;
    }
    tx.commit().await?;
    Ok(Json(find_json(&c.state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// Published under its first schema name, which generated clients are built on.
#[schema(as = MaintenanceUpdateInput)]
pub struct NewMaintenanceUpdateJson {
    pub status: MaintenanceStatus,
    #[schema(max_length = 20000)]
    pub body: String,
    pub notify: Option<bool>,
}

/// Post an update (responder); its status moves the maintenance.
#[utoipa::path(post, path = "/maintenances/{id}/updates", security(("bearer" = ["responder"])), tag = "maintenances", params(("id" = Uuid, Path)), request_body = NewMaintenanceUpdateJson,
    responses((status = 201, body = MaintenanceJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn post_maintenance_update(
    c: Responder,
    Edit(id, body): Edit<NewMaintenanceUpdateJson>,
) -> Answer {
    let (status, words, notify) = (body.status, &body.body, body.notify.unwrap_or(true));
    let mut tx = c.begin().await?;
    let posted = maintenance::post_update(&mut tx, &c.user, id, status, words, notify).await;
    let m = posted.map_err(|err| match err {
        CommandError::NotFound => missing("maintenance", id),
        other => other.into(),
    })?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(to_json(&c.state, m).await?)).into_response())
}
