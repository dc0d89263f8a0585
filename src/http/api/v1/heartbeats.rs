//! `/api/v1/heartbeats`: dead man's switches pinged at `/ping/{uuid}` (viewers read,
//! responders pause and resume, admins make, change and delete).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, missing, Admin, Answer, Edit, ProblemDoc, Reply, Responder};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
use crate::monitors::heartbeats::{self, HeartbeatRow, NewHeartbeat};
use crate::monitors::HeartbeatState;
use crate::platform::command::CommandError;

#[derive(Serialize, ToSchema)]
pub struct HeartbeatJson {
    pub id: Uuid,
    /// The `{uuid}` of its ping URL.
    pub uuid: Uuid,
    /// Where the job pings: append `/start`, `/fail`, `/log` or `/{exit_status}`.
    pub ping_url: String,
    pub name: String,
    /// Expected every so often (or `cron` says when).
    pub period_seconds: Option<i32>,
    /// A five-field cron expression, read in `time_zone`.
    pub cron: Option<String>,
    pub time_zone: Option<String>,
    /// How long after a ping is due it turns down (late meanwhile).
    pub grace_seconds: i32,
    /// Carried by its alert (a `severity` label sets the alert's severity).
    pub labels: BTreeMap<String, String>,
    pub state: HeartbeatState,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_ping_at: Option<OffsetDateTime>,
    /// A run that started and has not finished.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<OffsetDateTime>,
    /// How long the last run took (from its start ping).
    pub last_duration_ms: Option<i64>,
    /// When it turns down unless a ping comes first.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub down_at: Option<OffsetDateTime>,
    /// The component whose job it watches: down marks it in trouble for responders.
    pub component_id: Option<Uuid>,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn json(state: &AppState, h: HeartbeatRow) -> HeartbeatJson {
    HeartbeatJson {
        ping_url: format!("{}/ping/{}", state.settings.base_url, h.ping_key),
        labels: h.labels(),
        id: h.id,
        uuid: h.ping_key,
        name: h.name,
        period_seconds: h.period_seconds,
        cron: h.cron,
        time_zone: h.time_zone,
        grace_seconds: h.grace_seconds,
        state: h.state,
        last_ping_at: h.last_ping_at,
        started_at: h.started_at,
        last_duration_ms: h.last_duration_ms,
        down_at: h.down_at,
        component_id: h.component_id,
        version: h.version,
        created_at: h.created_at,
        updated_at: h.updated_at,
    }
}

async fn find_row(state: &AppState, id: Uuid) -> Result<HeartbeatRow, AppError> {
    heartbeats::find(&state.pool, id)
        .await?
        .ok_or_else(|| missing("heartbeat", id))
}

fn refused(id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing("heartbeat", id),
        other => other.into(),
    }
}

/// Every heartbeat, by name.
#[utoipa::path(get, path = "/heartbeats", tag = "heartbeats",
    responses((status = 200, body = Vec<HeartbeatJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_heartbeats(c: Caller) -> Reply<Vec<HeartbeatJson>> {
    let rows = heartbeats::list(&c.state.pool).await?;
    Ok(Json(rows.into_iter().map(|h| json(&c.state, h)).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHeartbeatJson {
    #[schema(max_length = 100)]
    pub name: String,
    /// 60 s to a year; or give `cron`.
    pub period_seconds: Option<i32>,
    /// A five-field cron expression (`0 3 * * *`); or give `period_seconds`.
    #[schema(max_length = 100)]
    pub cron: Option<String>,
    /// With `cron`; default UTC.
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
    /// 60 s to a year; default an hour.
    pub grace_seconds: Option<i32>,
    /// At most 30; names of letters, digits and `_`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The component whose job it watches, if any.
    pub component_id: Option<Uuid>,
}

/// Make a heartbeat (admin). It is `new` until its first ping.
#[utoipa::path(post, path = "/heartbeats", security(("bearer" = ["admin"])), tag = "heartbeats", request_body = NewHeartbeatJson,
    responses((status = 201, body = HeartbeatJson),
        (status = 422, description = "A blank or taken name, no schedule or two, a period or grace time out of range, a bad cron expression or time zone, a component that does not exist", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_heartbeat(c: Admin, Json(body): Json<NewHeartbeatJson>) -> Answer {
    let new = NewHeartbeat {
        name: body.name,
        period_seconds: body.period_seconds,
        cron: body.cron,
        time_zone: body.time_zone,
        grace_seconds: body.grace_seconds.unwrap_or(3600),
        labels: body.labels,
        component_id: body.component_id,
    };
    let mut tx = c.begin().await?;
    let row = heartbeats::create(&mut tx, Some(c.id()), new).await?;
    tx.commit().await?;
    created(
        format!("/api/v1/heartbeats/{}", row.id),
        json(&c.state, row),
    )
}

/// One heartbeat.
#[utoipa::path(get, path = "/heartbeats/{id}", tag = "heartbeats", params(("id" = Uuid, Path)),
    responses((status = 200, body = HeartbeatJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_heartbeat(c: Caller, Path(id): Path<Uuid>) -> Reply<HeartbeatJson> {
    Ok(Json(json(&c.state, find_row(&c.state, id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatPatchJson {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// Switches it to a period.
    pub period_seconds: Option<i32>,
    /// Switches it to a cron expression.
    #[schema(max_length = 100)]
    pub cron: Option<String>,
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
    pub grace_seconds: Option<i32>,
    pub labels: Option<BTreeMap<String, String>>,
    /// `null`: no component.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Uuid>)]
    pub component_id: Option<Option<Uuid>>,
    /// The version read (required); a stale one gets 409.
    pub version: i32,
}

/// Change a heartbeat (admin); a running one's timers follow the new schedule.
#[utoipa::path(patch, path = "/heartbeats/{id}", security(("bearer" = ["admin"])), tag = "heartbeats", params(("id" = Uuid, Path)), request_body = HeartbeatPatchJson,
    responses((status = 200, body = HeartbeatJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_heartbeat(
    c: Admin,
    Edit(id, body): Edit<HeartbeatPatchJson>,
) -> Reply<HeartbeatJson> {
    let current = find_row(&c.state, id).await?;
    let (period_seconds, cron, time_zone) = match (body.period_seconds, body.cron) {
        (Some(period), None) => (Some(period), None, None),
        (None, Some(cron)) => (None, Some(cron), body.time_zone.or(current.time_zone)),
        (Some(period), Some(cron)) => (Some(period), Some(cron), body.time_zone),
        (None, None) => (
            current.period_seconds,
            current.cron,
            body.time_zone.or(current.time_zone),
        ),
    };
    let change = NewHeartbeat {
        name: body.name.unwrap_or(current.name),
        period_seconds,
        cron,
        time_zone,
        grace_seconds: body.grace_seconds.unwrap_or(current.grace_seconds),
        labels: body
            .labels
            .unwrap_or_else(|| serde_json::from_value(current.labels).unwrap_or_default()),
        component_id: body.component_id.unwrap_or(current.component_id),
    };
    let mut tx = c.begin().await?;
    let row = heartbeats::update(&mut tx, Some(c.id()), id, body.version, change)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(json(&c.state, row)))
}

/// Delete a heartbeat and its pings (admin); an alert it raised resolves.
#[utoipa::path(delete, path = "/heartbeats/{id}", security(("bearer" = ["admin"])), tag = "heartbeats", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_heartbeat(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    let mut tx = c.begin().await?;
    heartbeats::delete(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pause a heartbeat (responder): pings are kept but change nothing, and its alert
/// resolves, until it is resumed.
#[utoipa::path(post, path = "/heartbeats/{id}/pause", security(("bearer" = ["responder"])), tag = "heartbeats", params(("id" = Uuid, Path)),
    responses((status = 200, body = HeartbeatJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn pause_heartbeat(c: Responder, Path(id): Path<Uuid>) -> Reply<HeartbeatJson> {
    let mut tx = c.begin().await?;
    let row = heartbeats::pause(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(json(&c.state, row)))
}

/// Resume a paused heartbeat (responder): it is `new` again until its next ping.
#[utoipa::path(post, path = "/heartbeats/{id}/resume", security(("bearer" = ["responder"])), tag = "heartbeats", params(("id" = Uuid, Path)),
    responses((status = 200, body = HeartbeatJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn resume_heartbeat(c: Responder, Path(id): Path<Uuid>) -> Reply<HeartbeatJson> {
    let mut tx = c.begin().await?;
    let row = heartbeats::resume(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(json(&c.state, row)))
}
