//! `/api/v1/pages`: the escalation runs of critical alert groups (viewers read,
//! responders acknowledge). The acknowledge link of a notification is never shown here.

use axum::extract::RawQuery;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::incidents::PersonJson;
use super::{limit, missing, Page, ProblemDoc, Reply, Responder};
use crate::app::AppState;
use crate::http::api::cursor::Cursor;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path, Query};
use crate::oncall::policies::Step;
use crate::paging::{self, store, AckOutcome, AckVia, PageRow, PageState};

/// One thing the page did.
#[derive(Serialize, ToSchema)]
pub struct PageStepJson {
    /// `started`, `announced`, `countdown`, `paged`, `waiting`, `repeated`,
    /// `acknowledged`, `acked_mode`, `resolved`, `exhausted`, `muted`.
    pub kind: String,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Someone the page reached.
#[derive(Serialize, ToSchema)]
pub struct PagedJson {
    pub user: PersonJson,
    /// Why: `on_duty`, `named`, `team` or `everyone`.
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub paged_at: OffsetDateTime,
}

/// One message the page sent, to a person or to the team's channel, and how it fared.
#[derive(Serialize, ToSchema)]
pub struct PageNotificationJson {
    /// The person; null for the team's channel.
    pub user_id: Option<Uuid>,
    /// The person's name, or the team's.
    pub to: String,
    pub method: crate::notify::ContactKind,
    /// `pending` (being sent or retried), `sent` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct PageJson {
    pub id: Uuid,
    /// `PAGE-12`
    pub reference: String,
    pub alert_group_id: Uuid,
    /// `ALR-7`
    pub alert_group_reference: String,
    pub title: String,
    pub team_id: Option<Uuid>,
    pub team_name: Option<String>,
    pub escalation_policy_id: Option<Uuid>,
    /// The policy's steps as they were when the page started.
    pub policy_steps: Vec<Step>,
    pub state: PageState,
    /// While counting down: who will be paged, and when.
    pub countdown: Option<CountdownJson>,
    /// When the next step runs; null once the page has ended.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_step_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub acknowledged_by: Option<PersonJson>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<OffsetDateTime>,
    /// `web`, `api`, `cli`, `link` or `source`.
    pub acknowledged_via: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<OffsetDateTime>,
    /// What it did, with times (only on `GET /pages/{id}`).
    pub steps: Option<Vec<PageStepJson>>,
    /// Who it paged, and why (only on `GET /pages/{id}`).
    pub paged: Option<Vec<PagedJson>>,
    /// Every message it sent, with its delivery state (only on `GET /pages/{id}`).
    pub notifications: Option<Vec<PageNotificationJson>>,
}

#[derive(Serialize, ToSchema)]
pub struct CountdownJson {
    /// Who the countdown will page, in words ("Ada", "everyone on Platform").
    pub target: String,
    #[serde(with = "time::serde::rfc3339")]
    pub pages_at: OffsetDateTime,
    pub seconds_left: i64,
}

fn json(p: PageRow, now: OffsetDateTime) -> PageJson {
    let countdown = match (p.countdown_seconds(now), &p.countdown_target, p.due_at) {
        (Some(seconds_left), Some(target), Some(pages_at)) => Some(CountdownJson {
            target: target.clone(),
            pages_at,
            seconds_left,
        }),
        _ => None,
    };
    PageJson {
        reference: p.reference(),
        alert_group_reference: crate::alerts::commands::reference(p.group_number),
        id: p.id,
        alert_group_id: p.alert_group_id,
        title: p.group_title,
        team_id: p.team_id,
        team_name: p.team_name,
        escalation_policy_id: p.policy_id,
        policy_steps: p.steps,
        state: p.state,
        countdown,
        next_step_at: p.due_at,
        started_at: p.started_at,
        acknowledged_by: PersonJson::of(p.acknowledged_by, p.acknowledged_by_name),
        acknowledged_at: p.acknowledged_at,
        acknowledged_via: p.acknowledged_via,
        ended_at: p.ended_at,
        steps: None,
        paged: None,
        notifications: None,
    }
}

async fn find_json(state: &AppState, id: Uuid) -> Result<PageJson, AppError> {
    let page = store::find(&state.pool, id)
        .await?
        .ok_or_else(|| missing("page", id))?;
    let mut out = json(page, OffsetDateTime::now_utc());
    let events = store::events(&state.pool, id).await?;
    out.steps = Some(
        events
            .into_iter()
            .map(|e| PageStepJson {
                kind: e.kind,
                text: e.body,
                at: e.at,
            })
            .collect(),
    );
    let recipients = store::recipients(&state.pool, id).await?;
    out.paged = Some(
        recipients
            .into_iter()
            .map(|r| PagedJson {
                user: PersonJson {
                    id: r.user_id,
                    name: r.name,
                },
                reason: r.reason,
                paged_at: r.paged_at,
            })
            .collect(),
    );
    let sent = crate::notify::outbox::of_page(&state.pool, id).await?;
    out.notifications = Some(
        sent.into_iter()
            .map(|n| PageNotificationJson {
                user_id: n.user_id,
                to: n.to_name,
                method: n.kind,
                state: n.state,
                attempts: n.attempts,
                error: n.last_error,
                sent_at: n.sent_at,
            })
            .collect(),
    );
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub team_id: Option<Uuid>,
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Pages, the newest first.
#[utoipa::path(get, path = "/pages", tag = "pages",
    params(PageQuery,
        ("state" = Option<Vec<PageState>>, Query, explode, style = Form,
            description = "Only pages in these states; repeatable (`state=counting_down&state=paging`).")),
    responses((status = 200, body = Page<PageJson>), (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_pages(
    c: Caller,
    RawQuery(raw): RawQuery,
    Query(query): Query<PageQuery>,
) -> Reply<Page<PageJson>> {
    let limit = limit(query.limit)?;
    let allowed = "counting_down, paging, acknowledged, resolved, exhausted or muted";
    let states = super::repeated(raw.as_deref(), "state", PageState::parse, allowed)?;
    let after = query
        .cursor
        .as_deref()
        .map(Cursor::parse_keyset::<Uuid>)
        .transpose()?;
    let rows = store::list(&c.state.pool, &states, query.team_id, after, limit + 1).await?;
    let now = OffsetDateTime::now_utc();
    let mut rows = rows;
    let next_cursor = super::more(&mut rows, limit, |p| Cursor::keyset(p.started_at, p.id));
    Ok(Json(Page {
        items: rows.into_iter().map(|p| json(p, now)).collect(),
        next_cursor,
    }))
}

/// One page, with what it did and whom it reached.
#[utoipa::path(get, path = "/pages/{id}", tag = "pages", params(("id" = Uuid, Path)),
    responses((status = 200, body = PageJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_page(c: Caller, Path(id): Path<Uuid>) -> Reply<PageJson> {
    Ok(Json(find_json(&c.state, id).await?))
}

/// Acknowledge a page (responder): every pending and future step stops, the caller is
/// named as the acknowledger, and the team goes into acked mode. A page that has ended
/// is answered as it is.
#[utoipa::path(post, path = "/pages/{id}/acknowledge", security(("bearer" = ["responder"])), tag = "pages", params(("id" = Uuid, Path)),
    responses((status = 200, body = PageJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn acknowledge_page(c: Responder, Path(id): Path<Uuid>) -> Reply<PageJson> {
    let mut tx = c.begin().await?;
    let outcome = paging::acknowledge(&mut tx, id, c.id(), AckVia::Api, OffsetDateTime::now_utc())
        .await
        .map_err(|e| match e {
            crate::platform::command::CommandError::NotFound => missing("page", id),
            other => other.into(),
        })?;
    tx.commit().await?;
    if !matches!(outcome, AckOutcome::Acknowledged) {
        tracing::debug!(page_id = %id, ?outcome, "acknowledged a page that was not running");
    }
    Ok(Json(find_json(&c.state, id).await?))
}
