//! `/api/v1/checks`: active checks (viewers read, responders pause and resume, admins
//! make, change and delete), their recent results, and `/api/v1/component-proposals`,
//! the statuses checks propose for components (responders apply or dismiss them).

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{created, missing, Admin, Answer, Edit, ProblemDoc, Reply, Responder};
use crate::app::AppState;
use crate::components::ComponentStatus;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
use crate::monitors::checks::{
    self, ApplyMode, CheckKind, CheckRow, CheckSettings, CheckState, NewCheck,
};
use crate::monitors::effects::{self, ProposalRow, ProposalState};
use crate::monitors::history;
use crate::platform::command::CommandError;

#[derive(Serialize, ToSchema)]
pub struct CheckJson {
    pub id: Uuid,
    pub name: String,
    pub kind: CheckKind,
    /// A URL (http), host:port (tcp) or a host name (dns); a password in the URL is
    /// shown to admins only.
    pub target: String,
    /// Header values are shown to admins only (`••••` to others).
    pub settings: CheckSettings,
    pub interval_seconds: i32,
    pub timeout_ms: i32,
    /// Consecutive failures that take it down.
    pub failures_before_down: i32,
    /// Consecutive successes that bring it up again.
    pub successes_before_up: i32,
    pub labels: BTreeMap<String, String>,
    /// The component it drives, if any.
    pub component_id: Option<Uuid>,
    /// What it proposes for the component when down.
    pub down_status: ComponentStatus,
    pub apply_mode: ApplyMode,
    /// With `after_delay`.
    pub apply_after_minutes: i32,
    /// Coming up restores the component by itself (else a person confirms).
    pub auto_recover: bool,
    pub state: CheckState,
    /// Failures (or successes) in a row so far.
    pub failures: i32,
    pub successes: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_run_at: Option<OffsetDateTime>,
    pub last_ok: Option<bool>,
    pub last_latency_ms: Option<i32>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub next_run_at: OffsetDateTime,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A check as `caller` may see it: admins all of it; others without header values or a
/// password in the URL.
fn json(c: CheckRow, admin: bool) -> CheckJson {
    let (settings, target) = if admin {
        (c.settings(), c.target.clone())
    } else {
        (c.shown_settings(), c.shown_target())
    };
    CheckJson {
        settings,
        target,
        labels: c.labels(),
        id: c.id,
        name: c.name,
        kind: c.kind,
        interval_seconds: c.interval_seconds,
        timeout_ms: c.timeout_ms,
        failures_before_down: c.failures_before_down,
        successes_before_up: c.successes_before_up,
        component_id: c.component_id,
        down_status: c.down_status,
        apply_mode: c.apply_mode,
        apply_after_minutes: c.apply_after_minutes,
        auto_recover: c.auto_recover,
        state: c.state,
        failures: c.failures,
        successes: c.successes,
        last_run_at: c.last_run_at,
        last_ok: c.last_ok,
        last_latency_ms: c.last_latency_ms,
        last_error: c.last_error,
        next_run_at: c.next_run_at,
        version: c.version,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

async fn find_row(state: &AppState, id: Uuid) -> Result<CheckRow, AppError> {
    checks::find(&state.pool, id)
        .await?
        .ok_or_else(|| missing("check", id))
}

fn refused(id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing("check", id),
        other => other.into(),
    }
}

/// Every check, by name.
#[utoipa::path(get, path = "/checks", tag = "checks",
    responses((status = 200, body = Vec<CheckJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_checks(c: Caller) -> Reply<Vec<CheckJson>> {
    let rows = checks::list(&c.state.pool).await?;
    let admin = c.user.role.allows(crate::accounts::Role::Admin);
    Ok(Json(rows.into_iter().map(|r| json(r, admin)).collect()))
}

/// A check to make, or (as a PATCH) the fields to change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBodyJson {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// Required to make one.
    pub kind: Option<CheckKind>,
    /// Required to make one.
    #[schema(max_length = 2000)]
    pub target: Option<String>,
    pub settings: Option<CheckSettings>,
    /// 10 s to a day; default 60.
    pub interval_seconds: Option<i32>,
    /// 100 ms to 60 s and no longer than the interval; default 10 s.
    pub timeout_ms: Option<i32>,
    /// Default 3.
    pub failures_before_down: Option<i32>,
    /// Default 2.
    pub successes_before_up: Option<i32>,
    pub labels: Option<BTreeMap<String, String>>,
    /// `null` ties it to no component.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Uuid>)]
    pub component_id: Option<Option<Uuid>>,
    /// Default `major_outage`.
    pub down_status: Option<ComponentStatus>,
    /// Default `propose`.
    pub apply_mode: Option<ApplyMode>,
    /// 1 to 1440; default 5.
    pub apply_after_minutes: Option<i32>,
    /// Default true.
    pub auto_recover: Option<bool>,
    /// The version read: required to change one; a stale one gets 409.
    pub version: Option<i32>,
}

impl CheckBodyJson {
    /// `base` with the fields given.
    fn onto(self, mut base: NewCheck) -> NewCheck {
        if let Some(v) = self.name {
            base.name = v;
        }
        if let Some(v) = self.kind {
            base.kind = v;
        }
        if let Some(v) = self.target {
            base.target = v;
        }
        if let Some(v) = self.settings {
            base.settings = v;
        }
        if let Some(v) = self.interval_seconds {
            base.interval_seconds = v;
        }
        if let Some(v) = self.timeout_ms {
            base.timeout_ms = v;
        }
        if let Some(v) = self.failures_before_down {
            base.failures_before_down = v;
        }
        if let Some(v) = self.successes_before_up {
            base.successes_before_up = v;
        }
        if let Some(v) = self.labels {
            base.labels = v;
        }
        if let Some(v) = self.component_id {
            base.component_id = v;
        }
        if let Some(v) = self.down_status {
            base.down_status = v;
        }
        if let Some(v) = self.apply_mode {
            base.apply_mode = v;
        }
        if let Some(v) = self.apply_after_minutes {
            base.apply_after_minutes = v;
        }
        if let Some(v) = self.auto_recover {
            base.auto_recover = v;
        }
        base
    }
}

/// The check as it is, to change.
fn as_new(c: &CheckRow) -> NewCheck {
    NewCheck {
        name: c.name.clone(),
        kind: c.kind,
        target: c.target.clone(),
        settings: c.settings(),
        interval_seconds: c.interval_seconds,
        timeout_ms: c.timeout_ms,
        failures_before_down: c.failures_before_down,
        successes_before_up: c.successes_before_up,
        labels: c.labels(),
        component_id: c.component_id,
        down_status: c.down_status,
        apply_mode: c.apply_mode,
        apply_after_minutes: c.apply_after_minutes,
        auto_recover: c.auto_recover,
    }
}

/// Make a check (admin); it runs at once and then every interval.
#[utoipa::path(post, path = "/checks", security(("bearer" = ["admin"])), tag = "checks", request_body = CheckBodyJson,
    responses((status = 201, body = CheckJson),
        (status = 422, description = "No kind or target, a target the kind cannot use, settings of another kind, a value out of range, a taken name or a component that does not exist", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_check(c: Admin, Json(body): Json<CheckBodyJson>) -> Answer {
    let (Some(kind), Some(target)) = (body.kind, body.target.clone()) else {
        return Err(CommandError::invalid(
            "kind",
            "Give the kind (http, tcp or dns) and the target.",
        )
        .into());
    };
    let new = body.onto(NewCheck::new("", kind, &target));
    let mut tx = c.begin().await?;
    let row = checks::create(&mut tx, Some(c.id()), new).await?;
    tx.commit().await?;
    created(format!("/api/v1/checks/{}", row.id), json(row, true))
}

/// One check.
#[utoipa::path(get, path = "/checks/{id}", tag = "checks", params(("id" = Uuid, Path)),
    responses((status = 200, body = CheckJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_check(c: Caller, Path(id): Path<Uuid>) -> Reply<CheckJson> {
    let admin = c.user.role.allows(crate::accounts::Role::Admin);
    Ok(Json(json(find_row(&c.state, id).await?, admin)))
}

/// Change a check (admin): the fields given, as of `version`.
#[utoipa::path(patch, path = "/checks/{id}", security(("bearer" = ["admin"])), tag = "checks", params(("id" = Uuid, Path)), request_body = CheckBodyJson,
    responses((status = 200, body = CheckJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_check(c: Admin, Edit(id, body): Edit<CheckBodyJson>) -> Reply<CheckJson> {
    let current = find_row(&c.state, id).await?;
    let Some(version) = body.version else {
        return Err(CommandError::invalid("version", "Give the version you read.").into());
    };
    let change = body.onto(as_new(&current));
    let mut tx = c.begin().await?;
    let row = checks::update(&mut tx, Some(c.id()), id, version, change)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(json(row, true)))
}

/// Delete a check and its results (admin); an alert it raised resolves.
#[utoipa::path(delete, path = "/checks/{id}", security(("bearer" = ["admin"])), tag = "checks", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_check(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    let mut tx = c.begin().await?;
    checks::delete(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pause a check (responder): no runs, its alert resolves, its proposal is withdrawn.
#[utoipa::path(post, path = "/checks/{id}/pause", security(("bearer" = ["responder"])), tag = "checks", params(("id" = Uuid, Path)),
    responses((status = 200, body = CheckJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn pause_check(c: Responder, Path(id): Path<Uuid>) -> Reply<CheckJson> {
    let mut tx = c.begin().await?;
    let row = checks::pause(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(json(
        row,
        c.user.role.allows(crate::accounts::Role::Admin),
    )))
}

/// Resume a paused check (responder): it is `new` again and runs at once.
#[utoipa::path(post, path = "/checks/{id}/resume", security(("bearer" = ["responder"])), tag = "checks", params(("id" = Uuid, Path)),
    responses((status = 200, body = CheckJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn resume_check(c: Responder, Path(id): Path<Uuid>) -> Reply<CheckJson> {
    let mut tx = c.begin().await?;
    let row = checks::resume(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(json(
        row,
        c.user.role.allows(crate::accounts::Role::Admin),
    )))
}

#[derive(Serialize, ToSchema)]
pub struct CheckResultJson {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub ok: bool,
    pub latency_ms: Option<i32>,
    pub error: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// How many of the latest results to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
}

/// A check's latest results, newest first (raw results are kept 7 days).
#[utoipa::path(get, path = "/checks/{id}/results", tag = "checks", params(("id" = Uuid, Path), ResultsQuery),
    responses((status = 200, body = Vec<CheckResultJson>), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_results(
    c: Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<ResultsQuery>,
) -> Reply<Vec<CheckResultJson>> {
    let limit = super::limit(q.limit)?;
    find_row(&c.state, id).await?;
    let rows = history::latest(&c.state.pool, id, limit).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| CheckResultJson {
                at: r.at,
                ok: r.ok,
                latency_ms: r.latency_ms,
                error: r.error,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ProposalJson {
    pub id: Uuid,
    pub component_id: Uuid,
    pub check_id: Option<Uuid>,
    pub status: ComponentStatus,
    pub reason: String,
    pub state: ProposalState,
    /// When it applies by itself unless someone dismisses it (`after_delay`).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub apply_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub proposed_at: OffsetDateTime,
}

fn proposal_json(p: ProposalRow) -> ProposalJson {
    ProposalJson {
        id: p.id,
        component_id: p.component_id,
        check_id: p.check_id,
        status: p.status,
        reason: p.reason,
        state: p.state,
        apply_at: p.apply_at,
        proposed_at: p.proposed_at,
    }
}

/// The open proposals: component statuses checks propose and no one decided yet.
#[utoipa::path(get, path = "/component-proposals", tag = "checks",
    responses((status = 200, body = Vec<ProposalJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_proposals(c: Caller) -> Reply<Vec<ProposalJson>> {
    let rows = effects::open(&c.state.pool, None).await?;
    Ok(Json(rows.into_iter().map(proposal_json).collect()))
}

fn proposal_refused(id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing("proposal", id),
        other => other.into(),
    }
}

/// Apply a proposal (responder): the component takes its status, on the public page too.
#[utoipa::path(post, path = "/component-proposals/{id}/apply", security(("bearer" = ["responder"])), tag = "checks", params(("id" = Uuid, Path)),
    responses((status = 200, body = ProposalJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Decided already", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn apply_proposal(c: Responder, Path(id): Path<Uuid>) -> Reply<ProposalJson> {
    let mut tx = c.begin().await?;
    let row = effects::apply(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| proposal_refused(id, e))?;
    tx.commit().await?;
    Ok(Json(proposal_json(row)))
}

/// Dismiss a proposal (responder): the component stays as it is.
#[utoipa::path(post, path = "/component-proposals/{id}/dismiss", security(("bearer" = ["responder"])), tag = "checks", params(("id" = Uuid, Path)),
    responses((status = 200, body = ProposalJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Decided already", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn dismiss_proposal(c: Responder, Path(id): Path<Uuid>) -> Reply<ProposalJson> {
    let mut tx = c.begin().await?;
    let row = effects::dismiss(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| proposal_refused(id, e))?;
    tx.commit().await?;
    Ok(Json(proposal_json(row)))
}
