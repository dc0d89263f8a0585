//! `/api/v1` postmortems, action items and postmortem templates.

mod templates;
pub use templates::*;

use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

use super::incidents::find_incident;
use super::{created, limit, missing, Answer, Edit, Page, ProblemDoc, Reply, Responder};
use crate::app::AppState;
use crate::http::api::cursor::{not_ours, Cursor};
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, OptionalJson, Path, Query};
use crate::postmortems::store as pm;
pub use crate::postmortems::store::ActionItemJson;
use crate::postmortems::store::{ItemFields, ItemFilter, PostmortemChanges, PostmortemRow};
use crate::postmortems::today;
use crate::postmortems::{ActionKind, ActionPriority, ActionStatus, PostmortemStatus};

time::serde::format_description!(plain_date, Date, "[year]-[month]-[day]");

#[derive(Serialize, ToSchema)]
pub struct PostmortemJson {
    pub id: Uuid,
    pub incident_id: Uuid,
    /// `INC-42`.
    pub incident: String,
    pub incident_title: String,
    /// The internal document's status; `published` publishes it internally, never on
    /// the status page.
    pub status: PostmortemStatus,
    /// The public summary is on the status page.
    pub public: bool,
    /// When the internal document was published.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<OffsetDateTime>,
    /// The internal document (Markdown). It never leaves the admin UI and this API. The
    /// generated timeline and action-item table sit between `<!-- fireline:… -->`
    /// markers.
    pub body: String,
    /// The text written for customers (Markdown): the only part ever shown publicly, on
    /// the incident's status page entry, in the feeds, the Statuspage JSON
    /// (`postmortem_body`) and webhooks. Empty until written.
    pub public_summary: String,
    /// When the public summary last went out; null while it never has.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub public_summary_published_at: Option<OffsetDateTime>,
    pub template_id: Option<Uuid>,
    pub version: i32,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<PostmortemRow> for PostmortemJson {
    fn from(p: PostmortemRow) -> Self {
        PostmortemJson {
            incident: p.reference(),
            id: p.id,
            incident_id: p.incident_id,
            incident_title: p.incident_title,
            status: p.status,
            public: p.public,
            published_at: p.published_at,
            body: p.body,
            public_summary: p.public_summary,
            public_summary_published_at: p.public_summary_published_at,
            template_id: p.template_id,
            version: p.version,
            created_by: p.created_by_name,
            updated_by: p.updated_by_name,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

async fn to_json(state: &AppState, p: PostmortemRow) -> Result<PostmortemJson, AppError> {
    let body = pm::current_body(&state.pool, &p).await?;
    let mut json = PostmortemJson::from(p);
    json.body = body;
    Ok(json)
}

async fn find(state: &AppState, id: Uuid) -> Result<PostmortemRow, AppError> {
    let row = pm::find(&state.pool, id).await?;
    row.ok_or_else(|| missing("postmortem", id))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StartJson {
    /// Default: the "Standard" template.
    pub template_id: Option<Uuid>,
}

/// Start the postmortem of an incident, drafted from a template (responder).
#[utoipa::path(post, path = "/incidents/{id}/postmortem", security(("bearer" = ["responder"])), tag = "postmortems",
    params(("id" = String, Path, description = "UUID or INC-42")), request_body = StartJson,
    responses((status = 201, body = PostmortemJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn start_postmortem(
    c: Responder,
    Path(id): Path<String>,
    OptionalJson(start): OptionalJson<StartJson>,
) -> Answer {
    let incident = find_incident(&c.state, &id).await?;
    let mut tx = c.begin().await?;
    let row = pm::start(&mut tx, &c.user, incident.id, start.template_id).await?;
    tx.commit().await?;
    let location = format!("/api/v1/postmortems/{}", row.id);
    created(location, to_json(&c.state, row).await?)
}

/// Every postmortem, newest first.
#[utoipa::path(get, path = "/postmortems", tag = "postmortems",
    responses((status = 200, body = Vec<PostmortemJson>)))]
pub async fn list_postmortems(c: Caller) -> Reply<Vec<PostmortemJson>> {
    let rows = pm::list(&c.state.pool).await?;
    Ok(Json(rows.into_iter().map(PostmortemJson::from).collect()))
}

/// One postmortem, with the action-item table as it is now.
#[utoipa::path(get, path = "/postmortems/{id}", tag = "postmortems",
    responses((status = 200, body = PostmortemJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_postmortem(c: Caller, Path(id): Path<Uuid>) -> Reply<PostmortemJson> {
    let row = find(&c.state, id).await?;
    Ok(Json(to_json(&c.state, row).await?))
}

/// Changes to a postmortem. `version` is required: a stale one gets 409 with `current`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// Published under its first schema name, which generated clients are built on.
#[schema(as = PostmortemPatch)]
pub struct PostmortemPatchJson {
    pub version: i32,
    #[schema(max_length = 200000)]
    pub body: Option<String>,
    pub status: Option<PostmortemStatus>,
    /// The text written for customers (Markdown, at most 20,000 characters).
    #[schema(max_length = 20000)]
    pub public_summary: Option<String>,
    /// `true` publishes the public summary on the status page (422 without one, or for
    /// an incident that is internal or not on the page yet); `false` takes it off.
    pub public: Option<bool>,
    /// Refresh the generated timeline from the log, leaving the rest as written.
    #[serde(default)]
    pub regenerate_timeline: bool,
}

/// Edit, regenerate the timeline, change status or publish (responder).
#[utoipa::path(patch, path = "/postmortems/{id}", security(("bearer" = ["responder"])), tag = "postmortems", params(("id" = Uuid, Path)), request_body = PostmortemPatchJson,
    responses((status = 200, body = PostmortemJson), (status = 409, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_postmortem(
    c: Responder,
    Edit(id, patch): Edit<PostmortemPatchJson>,
) -> Reply<PostmortemJson> {
    let state = &c.state;
    let change = PostmortemChanges {
        body: patch.body,
        status: patch.status,
        public_summary: patch.public_summary,
        public: patch.public,
        regenerate_timeline: patch.regenerate_timeline,
    };
    let mut tx = c.begin().await?;
    match pm::change(&mut tx, &c.user, id, patch.version, change).await? {
        Ok(row) => {
            tx.commit().await?;
            Ok(Json(to_json(state, row).await?))
        }
        Err(stale) => {
            // Give the connection back first: under a race every loser would otherwise
            // hold one while waiting for another, and the pool would run dry.
            drop(tx);
            let current = to_json(state, stale.current).await?;
            Err(AppError::Conflict {
                message: format!(
                    "The postmortem was saved by {} since version {} (it is at version {}); merge your changes into the current text and save again.",
                    current.updated_by.as_deref().unwrap_or("someone"),
                    patch.version,
                    current.version
                ),
                current: serde_json::to_value(current).ok(),
            })
        }
    }
}

/// Download as a Markdown file.
#[utoipa::path(get, path = "/postmortems/{id}/markdown", tag = "postmortems",
    responses((status = 200, content_type = "text/markdown", body = String), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_markdown(c: Caller, Path(id): Path<Uuid>) -> Answer {
    let row = find(&c.state, id).await?;
    let file = pm::markdown_file(&c.state.pool, &row).await?;
    Ok((file.headers(), file.body).into_response())
}

// --- Action items ---------------------------------------------------------------------

/// The action items of a postmortem's incident.
#[utoipa::path(get, path = "/postmortems/{id}/action-items", tag = "action items",
    responses((status = 200, body = Vec<ActionItemJson>), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_postmortem_items(c: Caller, Path(id): Path<Uuid>) -> Reply<Vec<ActionItemJson>> {
    let row = find(&c.state, id).await?;
    let today = today();
    let rows = pm::items_of(&c.state.pool, row.incident_id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|a| ActionItemJson::from_row(a, today))
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActionItemJson {
    #[schema(max_length = 300)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub description: String,
    /// high: now, this sprint (due in 7 days by default); medium: backlog (30 days);
    /// low: for future design (no due date).
    pub priority: ActionPriority,
    pub kind: Option<ActionKind>,
    pub owner_id: Option<Uuid>,
    /// Default from the priority.
    #[serde(default, with = "plain_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<Date>,
    pub status: Option<ActionStatus>,
    #[schema(max_length = 2000)]
    pub tracker_url: Option<String>,
    /// The log entry this item comes from.
    pub source_event_id: Option<Uuid>,
}

/// Add an action item to a postmortem's incident (responder).
#[utoipa::path(post, path = "/postmortems/{id}/action-items", security(("bearer" = ["responder"])), tag = "action items", params(("id" = Uuid, Path)), request_body = NewActionItemJson,
    responses((status = 201, body = ActionItemJson), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_postmortem_item(
    c: Responder,
    Edit(id, body): Edit<NewActionItemJson>,
) -> Answer {
    let row = find(&c.state, id).await?;
    let today = today();
    let fields = ItemFields {
        title: body.title,
        description: body.description,
        priority: body.priority,
        kind: body.kind.unwrap_or(ActionKind::Other),
        owner_id: body.owner_id,
        due_on: body.due_on,
        status: body.status.unwrap_or(ActionStatus::Open),
        tracker_url: body.tracker_url,
    };
    let (incident_id, source) = (row.incident_id, body.source_event_id);
    let mut tx = c.begin().await?;
    let item = pm::create_item(&mut tx, &c.user, incident_id, fields, source, today).await?;
    tx.commit().await?;
    let location = format!("/api/v1/action-items/{}", item.id);
    created(location, ActionItemJson::from_row(item, today))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    pub status: Option<ActionStatus>,
    pub priority: Option<ActionPriority>,
    pub owner_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    /// Only items past their due date and not finished.
    pub overdue: Option<bool>,
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Action items across incidents, high priority and soonest due first.
#[utoipa::path(get, path = "/action-items", tag = "action items", params(ItemQuery),
    responses((status = 200, body = Page<ActionItemJson>), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_items(c: Caller, Query(query): Query<ItemQuery>) -> Reply<Page<ActionItemJson>> {
    let limit = limit(query.limit)? as usize;
    let offset = query
        .cursor
        .as_deref()
        .map(Cursor::parse_offset)
        .transpose()?;
    let offset = usize::try_from(offset.unwrap_or(0)).map_err(|_| not_ours())?;
    let today = today();
    let filter = ItemFilter {
        priority: query.priority,
        status: query.status,
        owner_id: query.owner_id,
        incident_id: query.incident_id,
        overdue: query.overdue.unwrap_or(false),
    };
    let rows = pm::items(&c.state.pool, &filter, today).await?;
    let more = rows.len() > offset + limit;
    let items: Vec<ActionItemJson> = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|a| ActionItemJson::from_row(a, today))
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: more.then(|| Cursor::Offset((offset + limit) as i64).encode()),
    }))
}

/// Changes to an action item. `version` is required: a stale one gets 409 with `current`.
/// `null` clears `owner_id`, `due_on` and `tracker_url`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// Published under its first schema name, which generated clients are built on.
#[schema(as = ActionItemPatch)]
pub struct ActionItemPatchJson {
    pub version: i32,
    #[schema(max_length = 300)]
    pub title: Option<String>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    pub priority: Option<ActionPriority>,
    pub kind: Option<ActionKind>,
    #[serde(default, deserialize_with = "super::present")]
    pub owner_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present_date")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<Option<Date>>,
    pub status: Option<ActionStatus>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(max_length = 2000)]
    pub tracker_url: Option<Option<String>>,
}

fn present_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Date>>, D::Error> {
    plain_date::option::deserialize(d).map(Some)
}

/// Change an action item (responder). Every change is recorded.
#[utoipa::path(patch, path = "/action-items/{id}", security(("bearer" = ["responder"])), tag = "action items", params(("id" = Uuid, Path)), request_body = ActionItemPatchJson,
    responses((status = 200, body = ActionItemJson), (status = 409, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_item(
    c: Responder,
    Edit(id, patch): Edit<ActionItemPatchJson>,
) -> Reply<ActionItemJson> {
    let today = today();
    let current = pm::item(&c.state.pool, id).await?;
    let current = current.ok_or_else(|| missing("action item", id))?;
    let fields = ItemFields {
        title: patch.title.unwrap_or(current.title.clone()),
        description: patch.description.unwrap_or(current.description.clone()),
        priority: patch.priority.unwrap_or(current.priority),
        kind: patch.kind.unwrap_or(current.kind),
        owner_id: patch.owner_id.unwrap_or(current.owner_id),
        due_on: patch.due_on.unwrap_or(current.due_on),
        status: patch.status.unwrap_or(current.status),
        tracker_url: patch.tracker_url.unwrap_or(current.tracker_url.clone()),
    };
    let mut tx = c.begin().await?;
    match pm::update_item(&mut tx, &c.user, id, patch.version, fields).await? {
        Ok(row) => {
            tx.commit().await?;
            Ok(Json(ActionItemJson::from_row(row, today)))
        }
        Err(current) => Err(AppError::Conflict {
            message: format!(
                "The action item changed since version {} (it is at version {}); reload it and try again.",
                patch.version, current.version
            ),
            current: serde_json::to_value(ActionItemJson::from_row(current, today)).ok(),
        }),
    }
}
