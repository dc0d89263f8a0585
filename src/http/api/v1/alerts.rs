//! `/api/v1/alert-groups` and `/api/v1/alerts`: what monitoring sent, grouped, and what
//! responders do about it (acknowledge, resolve).

use axum::extract::RawQuery;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::incidents::PersonJson;
use super::{limit, missing, Page, ProblemDoc, Reply, Responder};
use crate::alerts::history::{self, GroupEventKind, GroupEventRow};
use crate::alerts::queries::{self, AlertFilter, AlertView, GroupFilter, GroupView};
use crate::alerts::IntegrationKind;
use crate::alerts::{commands, AlertGroupState, AlertSeverity, AlertStatus, AlertUrgency};
use crate::app::AppState;
use crate::http::api::cursor::{not_ours, Cursor};
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path, Query};
use crate::platform::command::CommandError;

/// The integration a group came through.
#[derive(Serialize, ToSchema)]
pub struct GroupIntegrationJson {
    pub id: Uuid,
    pub name: String,
    pub kind: IntegrationKind,
}

/// The routing rule that routed a group.
#[derive(Serialize, ToSchema)]
pub struct RoutingRuleRefJson {
    pub id: Uuid,
    pub name: String,
}

/// The incident a group is attached to.
#[derive(Serialize, ToSchema)]
pub struct IncidentRefJson {
    pub id: Uuid,
    pub number: i64,
    /// `INC-42`.
    pub reference: String,
}

/// The silence that covers a group.
#[derive(Serialize, ToSchema)]
pub struct CoveringSilenceJson {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub reason: String,
}

/// An alert group: alerts monitoring sends as one (an Alertmanager group, a PagerDuty
/// `dedup_key`), with its state.
#[derive(Serialize, ToSchema)]
pub struct AlertGroupJson {
    pub id: Uuid,
    pub number: i64,
    /// `ALR-17`.
    pub reference: String,
    pub integration: GroupIntegrationJson,
    /// The group's identity within its integration.
    pub group_key: String,
    /// The sender's own key (Alertmanager's `groupKey`), when it has one.
    pub source_key: Option<String>,
    pub title: String,
    pub state: AlertGroupState,
    /// The worst severity among its firing alerts.
    pub severity: AlertSeverity,
    pub urgency: AlertUrgency,
    /// Null: the integration's default route.
    pub routing_rule: Option<RoutingRuleRefJson>,
    #[schema(value_type = Object)]
    pub labels: Value,
    #[schema(value_type = Object)]
    pub annotations: Value,
    pub runbook_url: Option<String>,
    pub source_url: Option<String>,
    pub alerts_firing: i32,
    pub alerts_total: i32,
    /// Alerts the sender left out of its last message.
    pub truncated_alerts: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub first_alert_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    pub times_received: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<OffsetDateTime>,
    /// Null with `acknowledged_at` set: acknowledged by the source.
    pub acknowledged_by: Option<PersonJson>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<OffsetDateTime>,
    /// Null with `resolved_at` set: its alerts resolved at the source.
    pub resolved_by: Option<PersonJson>,
    /// The incident it is attached to; null: none.
    pub incident: Option<IncidentRefJson>,
    /// The silence that covers it while `state` is `silenced`; null: none.
    pub silence: Option<CoveringSilenceJson>,
    pub version: i32,
}

impl From<GroupView> for AlertGroupJson {
    fn from(g: GroupView) -> Self {
        AlertGroupJson {
            reference: g.reference(),
            id: g.id,
            number: g.number,
            integration: GroupIntegrationJson {
                id: g.integration_id,
                name: g.integration_name,
                kind: g.integration_kind,
            },
            group_key: g.group_key,
            source_key: g.source_key,
            title: g.title,
            state: g.state,
            severity: g.severity,
            urgency: g.urgency,
            routing_rule: g
                .routing_rule_id
                .zip(g.routing_rule_name)
                .map(|(id, name)| RoutingRuleRefJson { id, name }),
            labels: g.labels,
            annotations: g.annotations,
            runbook_url: g.runbook_url,
            source_url: g.source_url,
            alerts_firing: g.alerts_firing,
            alerts_total: g.alerts_total,
            truncated_alerts: g.truncated_alerts,
            first_alert_at: g.first_alert_at,
            opened_at: g.opened_at,
            last_seen_at: g.last_seen_at,
            times_received: g.times_received,
            acknowledged_at: g.acknowledged_at,
            acknowledged_by: PersonJson::of(g.acknowledged_by, g.acknowledged_by_name),
            resolved_at: g.resolved_at,
            resolved_by: PersonJson::of(g.resolved_by, g.resolved_by_name),
            incident: g
                .incident_id
                .zip(g.incident_number)
                .map(|(id, number)| IncidentRefJson {
                    id,
                    number,
                    reference: format!("INC-{number}"),
                }),
            silence: match (g.silence_id, g.silence_ends_at, g.silence_reason) {
                (Some(id), Some(ends_at), Some(reason)) => Some(CoveringSilenceJson {
                    id,
                    ends_at,
                    reason,
                }),
                _ => None,
            },
            version: g.version,
        }
    }
}

/// One alert: a signal with its own identity within its group.
#[derive(Serialize, ToSchema)]
pub struct AlertJson {
    pub id: Uuid,
    pub group_id: Uuid,
    /// Alertmanager's fingerprint, or the PagerDuty / generic `dedup_key`.
    pub fingerprint: String,
    pub status: AlertStatus,
    pub severity: AlertSeverity,
    pub summary: String,
    pub description: Option<String>,
    #[schema(value_type = Object)]
    pub labels: Value,
    #[schema(value_type = Object)]
    pub annotations: Value,
    /// `[{"href", "text"}]`: the sender's links (graph, dashboard, silence, ...).
    #[schema(value_type = Vec<Object>)]
    pub links: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    pub times_received: i32,
    pub silenced: bool,
    /// The sender's own object for the alert as last received; a string excerpt when it
    /// was over 16 KiB.
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<AlertView> for AlertJson {
    fn from(a: AlertView) -> Self {
        AlertJson {
            id: a.id,
            group_id: a.group_id,
            fingerprint: a.fingerprint,
            status: a.status,
            severity: a.severity,
            summary: a.summary,
            description: a.description,
            labels: a.labels,
            annotations: a.annotations,
            links: a.links,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            first_seen_at: a.first_seen_at,
            last_seen_at: a.last_seen_at,
            times_received: a.times_received,
            silenced: a.silenced,
            payload: a.payload,
        }
    }
}

/// A group with its alerts.
#[derive(Serialize, ToSchema)]
pub struct AlertGroupDetailJson {
    #[serde(flatten)]
    pub group: AlertGroupJson,
    pub alerts: Vec<AlertJson>,
}

/// An entry of a group's history.
#[derive(Serialize, ToSchema)]
pub struct AlertGroupEventJson {
    pub id: i64,
    pub kind: GroupEventKind,
    /// The alert the entry is about, if one.
    pub alert_id: Option<Uuid>,
    /// Null: the source (or a rule).
    pub actor: Option<PersonJson>,
    pub body: String,
    #[schema(value_type = Object)]
    pub data: Value,
    /// When it happened at the source.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

impl From<GroupEventRow> for AlertGroupEventJson {
    fn from(e: GroupEventRow) -> Self {
        AlertGroupEventJson {
            id: e.id,
            kind: e.kind,
            alert_id: e.alert_id,
            actor: PersonJson::of(e.actor_id, e.actor_name),
            body: e.body,
            data: e.data,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertGroupQuery {
    pub integration_id: Option<Uuid>,
    pub urgency: Option<AlertUrgency>,
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The values of a repeatable parameter (`state=firing&state=acknowledged`).
fn states(raw: Option<&str>) -> Result<Vec<AlertGroupState>, AppError> {
    let allowed = "firing, acknowledged, silenced or resolved";
    super::repeated(raw, "state", AlertGroupState::parse, allowed)
}

/// The group list's cursor: its `opened_at`, and its rank and id as the key.
fn group_cursor(g: &GroupView) -> Cursor {
    Cursor::keyset(g.opened_at, format!("{}.{}", g.rank, g.id))
}

fn parse_group_cursor(raw: &str) -> Result<(i32, OffsetDateTime, Uuid), AppError> {
    let (at, key) = Cursor::parse_keyset::<String>(raw)?;
    let (rank, id) = key.split_once('.').ok_or_else(not_ours)?;
    let rank = rank.parse().map_err(|_| not_ours())?;
    let id = Uuid::parse_str(id).map_err(|_| not_ours())?;
    Ok((rank, at, id))
}

/// Alert groups: open ones first (by urgency, then the newest), then resolved ones.
#[utoipa::path(get, path = "/alert-groups", tag = "alerts",
    params(AlertGroupQuery,
        ("state" = Option<Vec<AlertGroupState>>, Query, explode, style = Form,
            description = "Only groups in these states; repeatable (`state=firing&state=acknowledged`).")),
    responses((status = 200, body = Page<AlertGroupJson>), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_alert_groups(
    c: Caller,
    RawQuery(raw): RawQuery,
    Query(query): Query<AlertGroupQuery>,
) -> Reply<Page<AlertGroupJson>> {
    let limit = limit(query.limit)?;
    let filter = GroupFilter {
        states: states(raw.as_deref())?,
        integration_id: query.integration_id,
        urgency: query.urgency,
        after: query
            .cursor
            .as_deref()
            .map(parse_group_cursor)
            .transpose()?,
        ..Default::default()
    };
    let rows = queries::list_groups(&c.state.pool, &filter, limit + 1).await?;
    Ok(Json(Page::of(rows, limit, group_cursor)))
}

pub async fn detail(state: &AppState, id: Uuid) -> Result<AlertGroupDetailJson, AppError> {
    let group = queries::find_group(&state.pool, id).await?;
    let group = group.ok_or_else(|| missing("alert group", id))?;
    let filter = AlertFilter {
        group_id: Some(id),
        ..Default::default()
    };
    let alerts = queries::list_alerts(&state.pool, &filter, i64::from(i32::MAX)).await?;
    Ok(AlertGroupDetailJson {
        group: group.into(),
        alerts: alerts.into_iter().map(AlertJson::from).collect(),
    })
}

/// One alert group, with its alerts (the newest first).
#[utoipa::path(get, path = "/alert-groups/{id}", tag = "alerts", params(("id" = Uuid, Path)),
    responses((status = 200, body = AlertGroupDetailJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_alert_group(c: Caller, Path(id): Path<Uuid>) -> Reply<AlertGroupDetailJson> {
    Ok(Json(detail(&c.state, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A group's history, oldest first, each entry at the time it happened at the source.
#[utoipa::path(get, path = "/alert-groups/{id}/events", tag = "alerts", params(("id" = Uuid, Path), HistoryQuery),
    responses((status = 200, body = Page<AlertGroupEventJson>),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_alert_group_events(
    c: Caller,
    Path(id): Path<Uuid>,
    Query(query): Query<HistoryQuery>,
) -> Reply<Page<AlertGroupEventJson>> {
    let limit = limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(Cursor::parse_keyset)
        .transpose()?;
    if queries::find_group(&c.state.pool, id).await?.is_none() {
        return Err(missing("alert group", id));
    }
    let rows = history::list(&c.state.pool, id, after, limit + 1).await?;
    Ok(Json(Page::of(rows, limit, |e| {
        Cursor::keyset(e.occurred_at, e.id)
    })))
}

/// A command's refusal as the API words it.
fn refused(id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing("alert group", id),
        other => other.into(),
    }
}

/// Acknowledge a group (responder): someone is on it. Acknowledging it again changes
/// nothing; a resolved group cannot be acknowledged (422).
#[utoipa::path(post, path = "/alert-groups/{id}/acknowledge", security(("bearer" = ["responder"])), tag = "alerts", params(("id" = Uuid, Path)),
    responses((status = 200, body = AlertGroupDetailJson),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "The group is resolved already", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn acknowledge_alert_group(
    c: Responder,
    Path(id): Path<Uuid>,
) -> Reply<AlertGroupDetailJson> {
    let mut tx = c.begin().await?;
    let done = commands::acknowledge(&mut tx, c.id(), id).await;
    done.map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(detail(&c.state, id).await?))
}

/// Resolve a group and its firing alerts (responder). If the source keeps firing, its
/// next message opens a new group. A resolved group cannot be resolved again (422).
#[utoipa::path(post, path = "/alert-groups/{id}/resolve", security(("bearer" = ["responder"])), tag = "alerts", params(("id" = Uuid, Path)),
    responses((status = 200, body = AlertGroupDetailJson),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "The group is resolved already", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn resolve_alert_group(
    c: Responder,
    Path(id): Path<Uuid>,
) -> Reply<AlertGroupDetailJson> {
    let mut tx = c.begin().await?;
    let done = commands::resolve(&mut tx, c.id(), id).await;
    done.map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(detail(&c.state, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    pub group_id: Option<Uuid>,
    pub status: Option<AlertStatus>,
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Alerts, the newest first (by when Fireline first saw them).
#[utoipa::path(get, path = "/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = Page<AlertJson>), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_alerts(c: Caller, Query(query): Query<AlertQuery>) -> Reply<Page<AlertJson>> {
    let limit = limit(query.limit)?;
    let filter = AlertFilter {
        group_id: query.group_id,
        status: query.status,
        after: query
            .cursor
            .as_deref()
            .map(Cursor::parse_keyset)
            .transpose()?,
    };
    let rows = queries::list_alerts(&c.state.pool, &filter, limit + 1).await?;
    Ok(Json(Page::of(rows, limit, |a| {
        Cursor::keyset(a.first_seen_at, a.id)
    })))
}
