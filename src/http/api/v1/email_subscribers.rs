//! `/api/v1/email-subscribers`: the status page's email subscribers (admins). An address
//! added here starts unconfirmed and gets the confirmation mail; nothing else reaches it
//! until its owner confirms.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{created, missing, Admin, Answer, Page, ProblemDoc, Reply};
use crate::email_subscribers::commands::{self, Removal};
use crate::email_subscribers::{store, EmailSource, EmailState, EmailSubscriberRow};
use crate::http::api::cursor::Cursor;
use crate::http::extract::{Json, Path, Query};

/// An email subscriber.
#[derive(Serialize, ToSchema)]
pub struct EmailSubscriberJson {
    pub id: Uuid,
    pub email: String,
    /// `unconfirmed` until its owner follows the confirmation link; `bounced` once the
    /// mail server refused the address for good (subscribing again brings it back).
    pub state: EmailState,
    /// Only news touching these components; empty: everything.
    pub component_ids: Vec<Uuid>,
    /// `public`, `admin`, `api` or `import`.
    pub source: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmation_sent_at: Option<OffsetDateTime>,
    /// Until when the confirmation link works; the address is forgotten after.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmation_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub bounced_at: Option<OffsetDateTime>,
    /// The mail server's words when it refused the address.
    pub bounce_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<EmailSubscriberRow> for EmailSubscriberJson {
    fn from(r: EmailSubscriberRow) -> Self {
        EmailSubscriberJson {
            id: r.id,
            email: r.email,
            state: r.state,
            component_ids: r.component_ids,
            source: r.source,
            confirmation_sent_at: r.confirm_sent_at,
            confirmation_expires_at: r.confirm_expires_at,
            confirmed_at: r.confirmed_at,
            bounced_at: r.bounced_at,
            bounce_reason: r.bounce_reason,
            created_at: r.created_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EmailListQuery {
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only subscribers in this state.
    pub state: Option<EmailState>,
    /// Only addresses containing this text.
    pub q: Option<String>,
}

/// Email subscribers, newest first (admin).
#[utoipa::path(get, path = "/email-subscribers", security(("bearer" = ["admin"])), tag = "email-subscribers", params(EmailListQuery),
    responses((status = 200, body = Page<EmailSubscriberJson>),
        (status = 403, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_email_subscribers(
    c: Admin,
    Query(query): Query<EmailListQuery>,
) -> Reply<Page<EmailSubscriberJson>> {
    let limit = super::limit(query.limit)?;
    let before = query
        .cursor
        .as_deref()
        .map(Cursor::parse_keyset)
        .transpose()?;
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let rows = store::list(&c.state.pool, query.state, search, before, limit + 1).await?;
    Ok(Json(Page::of(rows, limit, |r| {
        Cursor::keyset(r.created_at, r.id)
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmailSubscriberJson {
    #[schema(max_length = 254)]
    pub email: String,
    /// Only news touching these components; leave out for everything.
    #[serde(default)]
    pub component_ids: Vec<Uuid>,
}

/// Add an address (admin). It starts unconfirmed, and its confirmation mail goes out.
#[utoipa::path(post, path = "/email-subscribers", security(("bearer" = ["admin"])), tag = "email-subscribers", request_body = NewEmailSubscriberJson,
    responses((status = 201, body = EmailSubscriberJson),
        (status = 422, description = "Not an address, an unknown component, or subscribed already", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_email_subscriber(c: Admin, Json(body): Json<NewEmailSubscriberJson>) -> Answer {
    let mut tx = c.begin().await?;
    let row = commands::add(
        &mut tx,
        c.id(),
        &body.email,
        &body.component_ids,
        EmailSource::Api,
    )
    .await?;
    tx.commit().await?;
    let location = format!("/api/v1/email-subscribers/{}", row.id);
    created(location, EmailSubscriberJson::from(row))
}

/// One email subscriber (admin).
#[utoipa::path(get, path = "/email-subscribers/{id}", security(("bearer" = ["admin"])), tag = "email-subscribers", params(("id" = Uuid, Path)),
    responses((status = 200, body = EmailSubscriberJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_email_subscriber(c: Admin, Path(id): Path<Uuid>) -> Reply<EmailSubscriberJson> {
    let row = store::find(&c.state.pool, id).await?;
    Ok(Json(
        row.ok_or_else(|| missing("email subscriber", id))?.into(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSubscriberPatchJson {
    /// Only news touching these components; empty: everything.
    pub component_ids: Vec<Uuid>,
}

/// Choose the components an address hears about (admin).
#[utoipa::path(patch, path = "/email-subscribers/{id}", security(("bearer" = ["admin"])), tag = "email-subscribers", params(("id" = Uuid, Path)), request_body = EmailSubscriberPatchJson,
    responses((status = 200, body = EmailSubscriberJson),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_email_subscriber(
    c: Admin,
    Path(id): Path<Uuid>,
    Json(body): Json<EmailSubscriberPatchJson>,
) -> Reply<EmailSubscriberJson> {
    let mut tx = c.begin().await?;
    let row = commands::choose_components(&mut tx, Some(c.id()), id, &body.component_ids)
        .await
        .map_err(|e| match e {
            crate::platform::command::CommandError::NotFound => missing("email subscriber", id),
            other => other.into(),
        })?;
    tx.commit().await?;
    Ok(Json(row.into()))
}

/// Remove an address and its pending mail (admin).
#[utoipa::path(delete, path = "/email-subscribers/{id}", security(("bearer" = ["admin"])), tag = "email-subscribers", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_email_subscriber(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    let mut tx = c.begin().await?;
    if !commands::remove(&mut tx, id, Removal::RemovedBy(c.id())).await? {
        return Err(missing("email subscriber", id));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
