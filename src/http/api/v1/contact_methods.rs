//! `/api/v1/users/{id}/contact-methods` and `/api/v1/contact-methods/{id}`: how a person
//! is reached and for which urgencies (each person manages their own, admins anyone's),
//! with a "send a test". Secrets (tokens) are never shown back.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, missing, Answer, Edit, ProblemDoc, Reply};
use crate::alerts::AlertUrgency;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
use crate::notify::contacts::{
    self, ContactChanges, ContactKind, ContactRow, ContactSettings, NewContact,
};
use crate::notify::{outbox, Message};
use crate::platform::command::CommandError;

#[derive(Serialize, ToSchema)]
pub struct ContactMethodJson {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: ContactKind,
    pub label: Option<String>,
    /// Which urgencies reach it (default: critical).
    pub urgencies: Vec<AlertUrgency>,
    /// The kind's settings; tokens and secrets show as `••••`.
    pub settings: ContactSettings,
    /// A permanent failure of its last notification, until it is changed.
    pub failure: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub failed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<ContactRow> for ContactMethodJson {
    fn from(c: ContactRow) -> Self {
        ContactMethodJson {
            settings: c.settings.shown(),
            id: c.id,
            user_id: c.user_id,
            kind: c.kind,
            label: c.label,
            urgencies: c.urgencies,
            failure: c.failure,
            failed_at: c.failed_at,
            created_at: c.created_at,
        }
    }
}

/// Whether the caller may manage `user_id`'s contact methods: their own, or an admin.
fn may_manage(c: &Caller, user_id: Uuid) -> Result<(), AppError> {
    if c.id() == user_id || c.user.role.allows(crate::accounts::Role::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only they (or an admin) manage a person's contact methods.".into(),
        ))
    }
}

async fn owned(c: &Caller, id: Uuid) -> Result<ContactRow, AppError> {
    let contact = contacts::find(&c.state.pool, id)
        .await?
        .ok_or_else(|| missing("contact method", id))?;
    may_manage(c, contact.user_id)?;
    Ok(contact)
}

fn refused(what: &str, id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing(what, id),
        other => other.into(),
    }
}

/// A person's contact methods (theirs, or any person's for an admin).
#[utoipa::path(get, path = "/users/{id}/contact-methods", tag = "contact-methods", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<ContactMethodJson>), (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_contact_methods(
    c: Caller,
    Path(user_id): Path<Uuid>,
) -> Reply<Vec<ContactMethodJson>> {
    if crate::accounts::users::find(&c.state.pool, user_id)
        .await?
        .is_none()
    {
        return Err(missing("user", user_id));
    }
    may_manage(&c, user_id)?;
    let rows = contacts::of_user(&c.state.pool, user_id).await?;
    Ok(Json(
        rows.into_iter().map(ContactMethodJson::from).collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContactMethodJson {
    pub kind: ContactKind,
    #[serde(default)]
    pub settings: ContactSettings,
    pub urgencies: Option<Vec<AlertUrgency>>,
    #[schema(max_length = 100)]
    pub label: Option<String>,
}

/// Add a contact method (yourself, or an admin for anyone).
#[utoipa::path(post, path = "/users/{id}/contact-methods", tag = "contact-methods", params(("id" = Uuid, Path)), request_body = NewContactMethodJson,
    responses((status = 201, body = ContactMethodJson), (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Settings the kind needs are missing or wrong (a topic, a number with its country code, a web URL)", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_contact_method(
    c: Caller,
    Edit(user_id, body): Edit<NewContactMethodJson>,
) -> Answer {
    if crate::accounts::users::find(&c.state.pool, user_id)
        .await?
        .is_none()
    {
        return Err(missing("user", user_id));
    }
    may_manage(&c, user_id)?;
    let new = NewContact {
        kind: body.kind,
        settings: body.settings,
        urgencies: body.urgencies,
        label: body.label,
    };
    let mut tx = c.begin().await?;
    let id = contacts::create(&mut tx, Some(c.id()), user_id, new)
        .await
        .map_err(|e| refused("user", user_id, e))?;
    tx.commit().await?;
    let row = contacts::find(&c.state.pool, id)
        .await?
        .ok_or_else(|| missing("contact method", id))?;
    created(
        format!("/api/v1/contact-methods/{id}"),
        ContactMethodJson::from(row),
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactMethodPatchJson {
    /// New settings (a token left out or sent as `••••` is kept); clears a recorded failure.
    pub settings: Option<ContactSettings>,
    pub urgencies: Option<Vec<AlertUrgency>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub label: Option<Option<String>>,
}

/// Change a contact method.
#[utoipa::path(patch, path = "/contact-methods/{id}", tag = "contact-methods", params(("id" = Uuid, Path)), request_body = ContactMethodPatchJson,
    responses((status = 200, body = ContactMethodJson), (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_contact_method(
    c: Caller,
    Edit(id, body): Edit<ContactMethodPatchJson>,
) -> Reply<ContactMethodJson> {
    owned(&c, id).await?;
    let change = ContactChanges {
        settings: body.settings,
        urgencies: body.urgencies,
        label: body.label,
    };
    let mut tx = c.begin().await?;
    contacts::update(&mut tx, Some(c.id()), id, change)
        .await
        .map_err(|e| refused("contact method", id, e))?;
    tx.commit().await?;
    Ok(Json(owned(&c, id).await?.into()))
}

/// Remove a contact method.
#[utoipa::path(delete, path = "/contact-methods/{id}", tag = "contact-methods", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_contact_method(
    c: Caller,
    Path(id): Path<Uuid>,
) -> Answer<axum::http::StatusCode> {
    owned(&c, id).await?;
    let mut tx = c.begin().await?;
    contacts::delete(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| refused("contact method", id, e))?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct TestSentJson {
    /// The notification queued; its outcome shows on the method (`failure`) if it fails.
    pub notification_id: i64,
}

/// Send a test notification through the method.
#[utoipa::path(post, path = "/contact-methods/{id}/test", tag = "contact-methods", params(("id" = Uuid, Path)),
    responses((status = 202, body = TestSentJson), (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn test_contact_method(c: Caller, Path(id): Path<Uuid>) -> Answer {
    let contact = owned(&c, id).await?;
    let message = Message {
        title: "Fireline test notification".into(),
        body: format!(
            "This is how {} reaches you. Nothing is wrong.",
            contact.kind.label()
        ),
        ack_url: None,
        urgency: contact
            .urgencies
            .iter()
            .copied()
            .max()
            .unwrap_or(AlertUrgency::Critical),
        test: true,
    };
    let mut tx = c.begin().await?;
    let notification_id = outbox::enqueue(&mut tx, None, &contact, &message).await?;
    tx.commit().await?;
    use axum::response::IntoResponse;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(TestSentJson { notification_id }),
    )
        .into_response())
}
