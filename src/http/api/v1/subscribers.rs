//! `/api/v1/subscribers`: webhook subscribers and their delivery log (admins).

use crate::components;
use crate::webhooks::commands::{self, Removal};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, missing, more, Admin, Answer, Edit, ListQuery, Page, ProblemDoc, Reply};
use crate::app::AppState;
use crate::http::api::cursor::Cursor;
use crate::http::error::AppError;
use crate::http::extract::{ClientIp, Json, Path, Query};
use crate::webhooks::deliveries::{self, Resend};
use crate::webhooks::subscribers::{self, SubscriberRow};
use crate::webhooks::{self, DeliveryState, SubscriberState};
use crate::webhooks::{outbox, SubscribeRequest};

/// A webhook subscriber. The secret is only in the answer to the POST that creates it.
#[derive(Serialize, ToSchema)]
pub struct SubscriberJson {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// Only changes touching these components are sent; empty: every public change.
    pub component_ids: Vec<Uuid>,
    pub state: SubscriberState,
    /// Why it was disabled (410 Gone, or three days of failures).
    pub disabled_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub disabled_at: Option<OffsetDateTime>,
    /// Since when every attempt has failed, if they do.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub failing_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// HTTP status of the last attempt (null: no answer).
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_success_at: Option<OffsetDateTime>,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// `whsec_…`: only when just created. Keep it; it cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<SubscriberRow> for SubscriberJson {
    fn from(s: SubscriberRow) -> Self {
        SubscriberJson {
            id: s.id,
            url: s.url,
            description: s.description,
            component_ids: s.component_ids,
            state: s.state,
            disabled_reason: s.disabled_reason,
            disabled_at: s.disabled_at,
            failing_since: s.failing_since,
            last_attempt_at: s.last_attempt_at,
            last_status: s.last_status,
            last_error: s.last_error,
            last_success_at: s.last_success_at,
            version: s.version,
            created_at: s.created_at,
            secret: None,
        }
    }
}

async fn find(state: &AppState, id: Uuid) -> Result<SubscriberRow, AppError> {
    let row = subscribers::find(&state.pool, id).await?;
    row.ok_or_else(|| missing("subscriber", id))
}

/// Subscribers, newest first (admin).
#[utoipa::path(get, path = "/subscribers", security(("bearer" = ["admin"])), tag = "subscribers", params(ListQuery),
    responses((status = 200, body = Page<SubscriberJson>),
        (status = 403, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_subscribers(
    c: Admin,
    Query(query): Query<ListQuery>,
) -> Reply<Page<SubscriberJson>> {
    let limit = query.limit()?;
    let after = query
        .cursor
        .as_deref()
        .map(Cursor::parse_keyset)
        .transpose()?;
    let rows = subscribers::list(&c.state.pool, after, limit + 1).await?;
    Ok(Json(Page::of(rows, limit, |s| {
        Cursor::keyset(s.created_at, s.id)
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriberJson {
    /// http(s) URL to POST to, at most 2000 characters.
    #[schema(max_length = 2000)]
    pub url: String,
    /// Only changes touching these components; leave out for every public change.
    #[serde(default)]
    pub component_ids: Vec<Uuid>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
}

/// Subscribe a URL (admin). The answer holds the signing `secret`, shown only here.
#[utoipa::path(post, path = "/subscribers", security(("bearer" = ["admin"])), tag = "subscribers", request_body = NewSubscriberJson,
    responses((status = 201, body = SubscriberJson),
        (status = 422, description = "Bad, refused or already subscribed URL", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_subscriber(
    c: Admin,
    ClientIp(ip): ClientIp,
    Json(body): Json<NewSubscriberJson>,
) -> Answer {
    let request = SubscribeRequest {
        url: &body.url,
        description: &body.description,
        component_ids: &body.component_ids,
        created_by: Some(c.id()),
        created_ip: Some(&ip),
    };
    let allow_private = c.state.settings.webhooks.allow_private;
    let made = webhooks::subscribe(&c.state.pool, allow_private, request).await?;
    let location = format!("/api/v1/subscribers/{}", made.subscriber.id);
    let mut out = SubscriberJson::from(made.subscriber);
    out.secret = Some(made.secret);
    created(location, out)
}

/// One subscriber (admin).
#[utoipa::path(get, path = "/subscribers/{id}", security(("bearer" = ["admin"])), tag = "subscribers",
    responses((status = 200, body = SubscriberJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_subscriber(c: Admin, Path(id): Path<Uuid>) -> Reply<SubscriberJson> {
    Ok(Json(find(&c.state, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// Published under its first schema name, which generated clients are built on.
#[schema(as = SubscriberPatch)]
pub struct SubscriberPatchJson {
    /// `active` resumes a paused subscriber or re-enables a disabled one; `paused` holds
    /// its messages until it is resumed; `disabled` stops it.
    pub state: Option<SubscriberState>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    pub component_ids: Option<Vec<Uuid>>,
    /// The version read (required); a stale one gets 409 with `current`.
    pub version: i32,
}

/// Pause, resume, re-enable, or change the description and components (admin).
#[utoipa::path(patch, path = "/subscribers/{id}", security(("bearer" = ["admin"])), tag = "subscribers", params(("id" = Uuid, Path)), request_body = SubscriberPatchJson,
    responses((status = 200, body = SubscriberJson),
        (status = 409, description = "Stale version; `current` holds the subscriber", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_subscriber(
    c: Admin,
    Edit(id, body): Edit<SubscriberPatchJson>,
) -> Reply<SubscriberJson> {
    let mut tx = c.begin().await?;
    let current = subscribers::lock(&mut tx, id).await?;
    let current = current.ok_or_else(|| missing("subscriber", id))?;
    if body.version != current.version {
        return Err(AppError::Conflict {
            message: format!(
                "The subscriber changed since version {}; it is now at version {}. Nothing was \
                 saved; `current` holds it as it is now.",
                body.version, current.version
            ),
            current: serde_json::to_value(SubscriberJson::from(current)).ok(),
        });
    }
    let mut row = current.clone();
    if body.description.is_some() || body.component_ids.is_some() {
        let description = body.description.as_deref().unwrap_or(&current.description);
        webhooks::check_description(description.trim())?;
        let mut components = body
            .component_ids
            .clone()
            .unwrap_or(current.component_ids.clone());
        components.sort();
        components.dedup();
        let known = components::find_many(&mut *tx, &components).await?;
        if let Some(unknown) = components
            .iter()
            .find(|c| !known.iter().any(|k| k.id == **c))
        {
            return Err(AppError::field(
                "component_ids",
                format!("There is no component with the id {unknown}."),
            ));
        }
        row = subscribers::update_details(&mut tx, id, description.trim(), &components).await?;
    }
    if let Some(new_state) = body.state.filter(|s| *s != current.state) {
        let reason = (new_state == SubscriberState::Disabled)
            .then(|| format!("Disabled by {}.", c.user.name));
        row = subscribers::set_state(&mut tx, id, new_state, reason.as_deref()).await?;
    }
    let (state, description, components) = (body.state, body.description, body.component_ids);
    commands::record_change(&mut tx, c.id(), id, state, description, components).await?;
    tx.commit().await?;
    Ok(Json(row.into()))
}

/// Remove a subscriber and its delivery log (admin).
#[utoipa::path(delete, path = "/subscribers/{id}", security(("bearer" = ["admin"])), tag = "subscribers",
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_subscriber(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    let subscriber = find(&c.state, id).await?;
    let mut tx = c.begin().await?;
    commands::remove(&mut tx, &subscriber, Removal::ByAdmin(c.id())).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One attempt to deliver a message.
#[derive(Serialize, ToSchema)]
pub struct AttemptJson {
    #[serde(with = "time::serde::rfc3339")]
    pub attempted_at: OffsetDateTime,
    /// HTTP status (null: no answer, see `error`).
    pub status: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    /// The first KiB of the response body.
    pub response: Option<String>,
}

/// One message to one subscriber, with every attempt.
#[derive(Serialize, ToSchema)]
pub struct DeliveryJson {
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt and resend.
    pub webhook_id: String,
    /// What changed: `incident.created`, `incident.updated`, `incident.resolved`,
    /// `component.updated`, `maintenance.*` or `test`.
    pub event: String,
    pub state: DeliveryState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When pending: when the next attempt is due (null while held for a paused or
    /// disabled subscriber).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<OffsetDateTime>,
    pub attempts: Vec<AttemptJson>,
}

/// A subscriber's delivery log, newest first (admin).
#[utoipa::path(get, path = "/subscribers/{id}/deliveries", security(("bearer" = ["admin"])), tag = "subscribers", params(ListQuery),
    responses((status = 200, body = Page<DeliveryJson>), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_deliveries(
    c: Admin,
    Path(id): Path<Uuid>,
    Query(query): Query<ListQuery>,
) -> Reply<Page<DeliveryJson>> {
    let pool = &c.state.pool;
    find(&c.state, id).await?;
    let limit = query.limit()?;
    // Before the shared cursor, the log gave out the last id in decimal.
    let before = query.cursor.as_deref();
    let before = before.map(|raw| Cursor::parse_after(raw, |raw| raw.parse().ok()));
    let mut rows = deliveries::deliveries(pool, id, before.transpose()?, limit + 1).await?;
    let next_cursor = more(&mut rows, limit, |d| Cursor::after(d.id));
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let attempts = deliveries::attempts_of(pool, &ids).await?;
    let items = rows
        .into_iter()
        .map(|d| DeliveryJson {
            id: d.id,
            webhook_id: webhooks::signing::message_id(d.message_id),
            event: d.event,
            state: d.state,
            created_at: d.created_at,
            next_attempt_at: d
                .next_attempt_at
                .filter(|_| d.state == DeliveryState::Pending),
            delivered_at: d.delivered_at,
            attempts: attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .map(|a| AttemptJson {
                    attempted_at: a.attempted_at,
                    status: a.status,
                    latency_ms: a.latency_ms,
                    error: a.error.clone(),
                    response: a.response.clone(),
                })
                .collect(),
        })
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

/// Send a test message to this subscriber now (admin).
#[utoipa::path(post, path = "/subscribers/{id}/test", security(("bearer" = ["admin"])), tag = "subscribers",
    responses((status = 202, description = "Queued; see the delivery log"), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn send_test(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    find(&c.state, id).await?;
    let mut tx = c.begin().await?;
    outbox::test(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}

/// Send a delivery again, from a first attempt, with the same `webhook-id` (admin).
#[utoipa::path(post, path = "/subscribers/{id}/deliveries/{delivery_id}/resend", security(("bearer" = ["admin"])), tag = "subscribers",
    responses((status = 202, description = "Queued"), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The delivery is still pending", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn resend_delivery(
    c: Admin,
    Path((id, delivery_id)): Path<(Uuid, i64)>,
) -> Answer<StatusCode> {
    let mut tx = c.begin().await?;
    match deliveries::resend(&mut tx, id, delivery_id).await? {
        Resend::Queued => {
            tx.commit().await?;
            Ok(StatusCode::ACCEPTED)
        }
        Resend::StillPending => Err(AppError::Conflict {
            message: "This delivery is still pending: it is sent (or retried) on its own; resend it once it is delivered or has failed.".into(),
            current: None,
        }),
        Resend::Missing => Err(AppError::NotFound(format!(
            "Subscriber {id} has no delivery {delivery_id}."
        ))),
    }
}
