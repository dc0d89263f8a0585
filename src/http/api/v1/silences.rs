//! `/api/v1/silences` and `/api/v1/alert-groups/{id}/silence`: silence one group, or the
//! groups label matchers select, for a while and with a reason (responders); end one now.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::incidents::PersonJson;
use super::{created, limit, missing, Answer, Edit, Page, ProblemDoc, Reply, Responder};
use crate::alerts::routing::Matcher;
use crate::alerts::silences::{self, Ending, NewSilence, SilenceRow, Target, Until};
use crate::app::AppState;
use crate::http::api::cursor::Cursor;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path, Query};
use crate::platform::command::CommandError;

/// A silence: while it is active, the groups it covers are `silenced` (they stay open
/// and keep their alerts).
#[derive(Serialize, ToSchema)]
pub struct SilenceJson {
    pub id: Uuid,
    /// The one group it silences; null for a matcher silence.
    pub group_id: Option<Uuid>,
    /// `ALR-17` for a group silence.
    pub group_reference: Option<String>,
    /// A matcher silence's matchers: it covers every open group whose labels pass them
    /// all, also groups that open while it is active.
    #[schema(value_type = Option<Vec<Matcher>>)]
    pub matchers: Option<Value>,
    pub reason: String,
    pub created_by: Option<PersonJson>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// When it ended: `ends_at` when it ran its course, earlier when a person ended it.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<OffsetDateTime>,
    /// Who ended it early.
    pub ended_by: Option<PersonJson>,
    pub active: bool,
    /// How many open groups it silences now.
    pub groups_silenced: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<SilenceRow> for SilenceJson {
    fn from(s: SilenceRow) -> Self {
        SilenceJson {
            active: s.active(OffsetDateTime::now_utc()),
            id: s.id,
            group_id: s.group_id,
            group_reference: s.group_number.map(crate::alerts::commands::reference),
            matchers: s.matchers,
            reason: s.reason,
            created_by: PersonJson::of(Some(s.created_by), s.created_by_name),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            ended_at: s.ended_at,
            ended_by: PersonJson::of(s.ended_by, s.ended_by_name),
            groups_silenced: s.groups_silenced,
            created_at: s.created_at,
        }
    }
}

async fn find_json(state: &AppState, id: Uuid) -> Result<SilenceJson, AppError> {
    let row = silences::find(&state.pool, id).await?;
    Ok(row.ok_or_else(|| missing("silence", id))?.into())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SilenceQuery {
    /// `true`: only active silences; `false`: only ended ones.
    pub active: Option<bool>,
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Silences, the newest first.
#[utoipa::path(get, path = "/silences", tag = "silences", params(SilenceQuery),
    responses((status = 200, body = Page<SilenceJson>), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_silences(
    c: Caller,
    Query(query): Query<SilenceQuery>,
) -> Reply<Page<SilenceJson>> {
    let limit = limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(Cursor::parse_keyset::<Uuid>)
        .transpose()?;
    let rows = silences::list(&c.state.pool, query.active, after, limit + 1).await?;
    Ok(Json(Page::of(rows, limit, |s| {
        Cursor::keyset(s.created_at, s.id)
    })))
}

/// A new matcher silence: `minutes` or `ends_at`, not both.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSilenceJson {
    /// At least one; all must match a group's labels (as routing rules match).
    pub matchers: Vec<Matcher>,
    /// 1 to 10080 (seven days).
    #[schema(minimum = 1, maximum = 10080)]
    pub minutes: Option<i64>,
    /// In the future, at most seven days from now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<OffsetDateTime>,
    /// Why: on the record, in each group's history.
    #[schema(max_length = 500)]
    pub reason: String,
}

fn until(minutes: Option<i64>, ends_at: Option<OffsetDateTime>) -> Result<Until, AppError> {
    match (minutes, ends_at) {
        (Some(m), None) => Ok(Until::Minutes(m)),
        (None, Some(at)) => Ok(Until::EndsAt(at)),
        (None, None) => Err(AppError::field(
            "minutes",
            "Say how long: `minutes` (1 to 10080) or `ends_at`.",
        )),
        (Some(_), Some(_)) => Err(AppError::field(
            "ends_at",
            "Give `minutes` or `ends_at`, not both.",
        )),
    }
}

/// Silence every open group whose labels match, and those that open while it lasts
/// (responder).
#[utoipa::path(post, path = "/silences", security(("bearer" = ["responder"])), tag = "silences", request_body = NewSilenceJson,
    responses((status = 201, body = SilenceJson),
        (status = 422, description = "No matcher or an invalid one, minutes out of 1..=10080, an end in the past or over seven days away, or a blank reason", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_silence(c: Responder, Json(body): Json<NewSilenceJson>) -> Answer {
    let new = NewSilence {
        target: Target::Matchers(body.matchers),
        until: until(body.minutes, body.ends_at)?,
        reason: body.reason,
    };
    let mut tx = c.begin().await?;
    let id = silences::create(&mut tx, c.id(), new, OffsetDateTime::now_utc()).await?;
    tx.commit().await?;
    created(
        format!("/api/v1/silences/{id}"),
        find_json(&c.state, id).await?,
    )
}

/// End a silence now (responder): the groups it silenced fire again (or stay
/// acknowledged). Ending an ended silence changes nothing and answers it as it is.
#[utoipa::path(delete, path = "/silences/{id}", security(("bearer" = ["responder"])), tag = "silences", params(("id" = Uuid, Path)),
    responses((status = 200, body = SilenceJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn end_silence(c: Responder, Path(id): Path<Uuid>) -> Reply<SilenceJson> {
    let mut tx = c.begin().await?;
    let now = OffsetDateTime::now_utc();
    match silences::end(&mut tx, Ending::Early(c.id()), id, now).await {
        Ok(_) => {}
        Err(CommandError::NotFound) => return Err(missing("silence", id)),
        Err(other) => return Err(other.into()),
    }
    tx.commit().await?;
    Ok(Json(find_json(&c.state, id).await?))
}

/// How long to silence a group, and why.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSilenceJson {
    /// 1 to 10080 (seven days).
    #[schema(minimum = 1, maximum = 10080)]
    pub minutes: Option<i64>,
    /// In the future, at most seven days from now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<OffsetDateTime>,
    #[schema(max_length = 500)]
    pub reason: String,
}

/// Silence one group (responder): it stays open, `silenced`, until the silence ends.
#[utoipa::path(post, path = "/alert-groups/{id}/silence", security(("bearer" = ["responder"])), tag = "silences", params(("id" = Uuid, Path)), request_body = GroupSilenceJson,
    responses((status = 201, body = SilenceJson),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "The group is resolved already, minutes out of 1..=10080, or a blank reason", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn silence_alert_group(c: Responder, Edit(id, body): Edit<GroupSilenceJson>) -> Answer {
    let new = NewSilence {
        target: Target::Group(id),
        until: until(body.minutes, body.ends_at)?,
        reason: body.reason,
    };
    let mut tx = c.begin().await?;
    let made = silences::create(&mut tx, c.id(), new, OffsetDateTime::now_utc()).await;
    let silence = match made {
        Ok(silence) => silence,
        Err(CommandError::NotFound) => return Err(missing("alert group", id)),
        Err(other) => return Err(other.into()),
    };
    tx.commit().await?;
    let json = find_json(&c.state, silence).await?;
    created(format!("/api/v1/silences/{silence}"), json)
}
