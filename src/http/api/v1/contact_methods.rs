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
    self, ContactChanges, ContactKind, ContactRow, ContactSettings, NewContact, Owner,
};
use crate::notify::{outbox, Message};
use crate::platform::command::CommandError;

#[derive(Serialize, ToSchema)]
pub struct ContactMethodJson {
    pub id: Uuid,
    /// The person it reaches; null for a team's channel.
    pub user_id: Option<Uuid>,
    /// The team whose channel it is.
    pub team_id: Option<Uuid>,
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
            team_id: c.team_id,
            kind: c.kind,
            label: c.label,
            urgencies: c.urgencies,
            failure: c.failure,
            failed_at: c.failed_at,
            created_at: c.created_at,
        }
    }
}

/// Whether the caller may manage these methods: their own or their team's channels, or
/// anyone's as an admin.
async fn may_manage(c: &Caller, owner: Owner) -> Result<(), AppError> {
    if c.user.role.allows(crate::accounts::Role::Admin) {
        return Ok(());
    }
    let allowed = match owner {
        Owner::User(id) => c.id() == id,
        Owner::Team(id) => crate::oncall::teams::members_of(&c.state.pool, &[id])
            .await?
            .iter()
            .any(|m| m.user_id == c.id()),
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only the person (or, for a team's channel, its members) and admins manage these."
                .into(),
        ))
    }
}

fn owner_of(contact: &ContactRow) -> Owner {
    match (contact.user_id, contact.team_id) {
        (Some(user), _) => Owner::User(user),
        (None, Some(team)) => Owner::Team(team),
        (None, None) => Owner::User(uuid::Uuid::nil()),
    }
}

async fn owned(c: &Caller, id: Uuid) -> Result<ContactRow, AppError> {
    let contact = contacts::find(&c.state.pool, id)
        .await?
        .ok_or_else(|| missing("contact method", id))?;
    may_manage(c, owner_of(&contact)).await?;
    Ok(contact)
}

/// The owner a path names, if it exists.
async fn existing(c: &Caller, owner: Owner) -> Result<(), AppError> {
    let found = match owner {
        Owner::User(id) => crate::accounts::users::find(&c.state.pool, id)
            .await?
            .is_some(),
        Owner::Team(id) => crate::oncall::teams::find(&c.state.pool, id)
            .await?
            .is_some(),
    };
    match (found, owner) {
        (true, _) => may_manage(c, owner).await,
        (false, Owner::User(id)) => Err(missing("user", id)),
        (false, Owner::Team(id)) => Err(missing("team", id)),
    }
}

async fn list(c: &Caller, owner: Owner) -> Reply<Vec<ContactMethodJson>> {
    existing(c, owner).await?;
    let rows = contacts::of_owner(&c.state.pool, owner).await?;
    Ok(Json(
        rows.into_iter().map(ContactMethodJson::from).collect(),
    ))
}

async fn create(c: &Caller, owner: Owner, body: NewContactMethodJson) -> Answer {
    existing(c, owner).await?;
    let new = NewContact {
        kind: body.kind,
        settings: body.settings,
        urgencies: body.urgencies,
        label: body.label,
    };
    let mut tx = c.begin().await?;
    let id = contacts::create(&mut tx, Some(c.id()), owner, new).await?;
    tx.commit().await?;
    let row = contacts::find(&c.state.pool, id)
        .await?
        .ok_or_else(|| missing("contact method", id))?;
    created(
        format!("/api/v1/contact-methods/{id}"),
        ContactMethodJson::from(row),
    )
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
    list(&c, Owner::User(user_id)).await
}

/// A team's channels: where the announcements, countdowns and notices of its alerts go
/// (members and admins).
#[utoipa::path(get, path = "/teams/{id}/channels", tag = "contact-methods", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<ContactMethodJson>), (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_team_channels(
    c: Caller,
    Path(team_id): Path<Uuid>,
) -> Reply<Vec<ContactMethodJson>> {
    list(&c, Owner::Team(team_id)).await
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
    create(&c, Owner::User(user_id), body).await
}

/// Add a channel for a team (a chat webhook, a Matrix room, an ntfy topic, a webhook):
/// its alerts are announced there (members and admins).
#[utoipa::path(post, path = "/teams/{id}/channels", tag = "contact-methods", params(("id" = Uuid, Path)), request_body = NewContactMethodJson,
    responses((status = 201, body = ContactMethodJson), (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Settings the kind needs are missing or wrong, or a kind for a person (SMS, Pushover)", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_team_channel(
    c: Caller,
    Edit(team_id, body): Edit<NewContactMethodJson>,
) -> Answer {
    create(&c, Owner::Team(team_id), body).await
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
    let message = Message::test_for(&contact);
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
