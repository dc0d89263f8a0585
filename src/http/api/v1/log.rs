//! The event log, public updates and the live stream of an incident.

use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::incidents::{find_incident, ComponentStatusJson, PersonJson};
use super::{created, limit, Answer, Edit, Page, ProblemDoc, Reply, Responder};
use crate::app::AppState;
use crate::http::api::cursor::Cursor;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path, Query};
use crate::http::stream::{log_entries, resume_from, StillAllowed};
use crate::incidents::events::{EventRow, LogFilter};
use crate::incidents::updates::UpdateRow;
use crate::incidents::{self, NewNote};
use crate::incidents::{EventKind, IncidentStatus};

/// An entry of the event log.
#[derive(Serialize, ToSchema)]
pub struct EventJson {
    pub id: Uuid,
    /// Increases with every entry recorded (the SSE event id).
    pub seq: i64,
    pub kind: EventKind,
    /// Markdown for notes and corrections; a sentence for automatic entries.
    pub body: String,
    /// For automatic entries: what changed (`old`, `new`, ...).
    #[schema(value_type = Object)]
    pub data: Value,
    pub author: Option<PersonJson>,
    pub workstream_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub pinned: bool,
    /// The entry this one corrects.
    pub corrects: Option<Uuid>,
    /// The newest entry correcting this one.
    pub corrected_by: Option<Uuid>,
}

impl From<EventRow> for EventJson {
    fn from(e: EventRow) -> Self {
        EventJson {
            author: PersonJson::of(e.author_id, e.author_name),
            id: e.id,
            seq: e.seq,
            kind: e.kind,
            body: e.body,
            data: e.data,
            workstream_id: e.workstream_id,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            pinned: e.pinned,
            corrects: e.corrects,
            corrected_by: e.corrected_by,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    pub workstream_id: Option<Uuid>,
    pub kind: Option<EventKind>,
    /// Only pinned entries.
    #[serde(default)]
    pub pinned: bool,
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The log, newest first by when things happened.
#[utoipa::path(get, path = "/incidents/{id}/events", tag = "events", params(("id" = String, Path), EventQuery),
    responses((status = 200, body = Page<EventJson>), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_events(
    c: Caller,
    Path(id): Path<String>,
    Query(query): Query<EventQuery>,
) -> Reply<Page<EventJson>> {
    let incident = find_incident(&c.state, &id).await?;
    let limit = limit(query.limit)?;
    let before = query
        .cursor
        .as_deref()
        .map(Cursor::parse_keyset)
        .transpose()?;
    let filter = LogFilter {
        workstream_id: query.workstream_id,
        kinds: query.kind.into_iter().collect(),
        pinned_only: query.pinned,
        before,
    };
    let rows = incidents::events::list(&c.state.pool, incident.id, &filter, limit + 1).await?;
    Ok(Json(Page::of(rows, limit, |e| {
        Cursor::keyset(e.occurred_at, e.seq)
    })))
}

/// A note to append.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteJson {
    /// Markdown.
    #[schema(max_length = 50000)]
    pub body: String,
    pub workstream_id: Option<Uuid>,
    /// When it happened; default now; may be in the past.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub pinned: bool,
    /// The id of an entry this note corrects.
    pub corrects: Option<Uuid>,
}

/// Append a note or a correction (responder).
#[utoipa::path(post, path = "/incidents/{id}/events", security(("bearer" = ["responder"])), tag = "events", params(("id" = String, Path)), request_body = NoteJson,
    responses((status = 201, body = EventJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn add_event(c: Responder, Path(id): Path<String>, Json(body): Json<NoteJson>) -> Answer {
    let incident = find_incident(&c.state, &id).await?;
    let note = NewNote {
        body: body.body,
        workstream_id: body.workstream_id,
        occurred_at: body.occurred_at,
        pinned: body.pinned,
        corrects: body.corrects,
    };
    let mut tx = c.begin().await?;
    let event_id = incidents::add_note(&mut tx, &c.user, incident.id, note).await?;
    tx.commit().await?;
    let row = incidents::events::find(&c.state.pool, event_id).await?;
    let row = row.ok_or_else(|| AppError::NotFound("The entry vanished.".into()))?;
    let location = format!("/api/v1/incidents/{}/events/{event_id}", incident.id);
    created(location, EventJson::from(row))
}

/// One entry of the log.
#[utoipa::path(get, path = "/incidents/{id}/events/{event_id}", tag = "events", params(("id" = String, Path), ("event_id" = Uuid, Path)),
    responses((status = 200, body = EventJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_event(c: Caller, Path((id, event_id)): Path<(String, Uuid)>) -> Reply<EventJson> {
    let incident = find_incident(&c.state, &id).await?;
    let row = incidents::events::find(&c.state.pool, event_id).await?;
    let row = row
        .filter(|e| e.incident_id == incident.id)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "There is no entry {event_id} in this incident's log."
            ))
        })?;
    Ok(Json(EventJson::from(row)))
}

/// A public update.
#[derive(Serialize, ToSchema)]
pub struct UpdateJson {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub status: IncidentStatus,
    /// Markdown.
    pub body: String,
    /// Whether subscribers are notified.
    pub notify: bool,
    pub author: Option<PersonJson>,
    /// `[{"code", "name", "old_status", "new_status"}]` or null.
    #[schema(value_type = Option<Vec<Object>>)]
    pub affected_components: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub display_at: OffsetDateTime,
}

impl From<UpdateRow> for UpdateJson {
    fn from(u: UpdateRow) -> Self {
        UpdateJson {
            author: PersonJson::of(u.author_id, u.author_name),
            id: u.id,
            incident_id: u.incident_id,
            status: u.status,
            body: u.body,
            notify: u.notify,
            affected_components: u.affected_components,
            created_at: u.created_at,
            display_at: u.display_at,
        }
    }
}

/// Public updates, newest first.
#[utoipa::path(get, path = "/incidents/{id}/updates", tag = "updates", params(("id" = String, Path)),
    responses((status = 200, body = Page<UpdateJson>), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_updates(c: Caller, Path(id): Path<String>) -> Reply<Page<UpdateJson>> {
    let incident = find_incident(&c.state, &id).await?;
    let rows = incidents::updates::list(&c.state.pool, incident.id).await?;
    let items = rows.into_iter().map(UpdateJson::from).collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpdateJson {
    pub status: IncidentStatus,
    /// Markdown.
    #[schema(max_length = 20000)]
    pub body: String,
    #[serde(default)]
    pub components: Vec<ComponentStatusJson>,
    /// Notify subscribers (default true).
    pub notify: Option<bool>,
    /// The name customers see. The first update of a public incident puts it on the
    /// status page under this title (default: the incident's title); a later one
    /// renames it there.
    #[schema(max_length = 200)]
    pub title: Option<String>,
}

/// One public update.
#[utoipa::path(get, path = "/incidents/{id}/updates/{update_id}", tag = "updates", params(("id" = String, Path), ("update_id" = Uuid, Path)),
    responses((status = 200, body = UpdateJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_update(
    c: Caller,
    Path((id, update_id)): Path<(String, Uuid)>,
) -> Reply<UpdateJson> {
    let incident = find_incident(&c.state, &id).await?;
    let row = incidents::updates::find(&c.state.pool, update_id).await?;
    let row = row
        .filter(|u| u.incident_id == incident.id)
        .ok_or_else(|| {
            AppError::NotFound(format!("There is no update {update_id} of this incident."))
        })?;
    Ok(Json(UpdateJson::from(row)))
}

/// Post a public update (responder): it sets the incident's status and the components'.
#[utoipa::path(post, path = "/incidents/{id}/updates", security(("bearer" = ["responder"])), tag = "updates", params(("id" = String, Path)), request_body = NewUpdateJson,
    responses((status = 201, body = UpdateJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn post_update(c: Responder, Edit(id, body): Edit<NewUpdateJson, String>) -> Answer {
    let incident = find_incident(&c.state, &id).await?;
    let new = incidents::updates::NewUpdate {
        status: body.status,
        body: body.body,
        components: body
            .components
            .into_iter()
            .map(|c| (c.id, c.status))
            .collect(),
        notify: body.notify.unwrap_or(true),
        title: body.title,
    };
    let mut tx = c.begin().await?;
    let update = incidents::updates::post_update(&mut tx, &c.user, incident.id, new).await?;
    tx.commit().await?;
    let location = format!("/api/v1/incidents/{}/updates/{}", incident.id, update.id);
    created(location, UpdateJson::from(update))
}

/// Server-Sent Events: every new entry of the log (`event: incident_event`, JSON data,
/// `id` = `seq`). Reconnect with `Last-Event-ID` to resume without gaps.
#[utoipa::path(get, path = "/incidents/{id}/stream", tag = "events", params(("id" = String, Path)),
    responses((status = 200, description = "text/event-stream of EventJson", content_type = "text/event-stream"),
              (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn stream_events(c: Caller, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let state = c.state;
    let incident = find_incident(&state, &id).await?;
    let from = resume_from(&state, &headers, None, incident.id).await?;
    let allowed = token_check(&state, &headers);
    let stream = log_entries(state.clone(), incident.id, from, allowed, |row| {
        let seq = row.seq;
        Event::default()
            .event("incident_event")
            .id(seq.to_string())
            .json_data(EventJson::from(row))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// The stream ends once its token stops working (revoked, or its user disabled).
fn token_check(state: &AppState, headers: &HeaderMap) -> StillAllowed {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.get(7..))
        .map(|t| crate::platform::secret::hash_token(t.trim()));
    let state = state.clone();
    Box::new(move || {
        let (state, token) = (state.clone(), token.clone());
        Box::pin(async move {
            match token {
                Some(hash) => !matches!(
                    crate::accounts::tokens::authenticate(&state.pool, &hash).await,
                    Ok(None)
                ),
                None => false,
            }
        })
    })
}
