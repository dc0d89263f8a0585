//! What a page says in its team's channels as it runs (announced, counting down every
//! 5 s, paged, acknowledged, muted, resolved, unanswered), and the notices of `high`
//! alerts, which reach the team during its working hours and page nobody.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::model::{PageRow, PageState};
use super::store;
use crate::alerts::groups;
use crate::alerts::model::{AlertGroupState, AlertUrgency};
use crate::notify::Message;
use crate::oncall::{teams, TeamRow};
use crate::platform::jobs::queue::{self, NewJob};
use crate::platform::jobs::{HandlerFuture, JobContext, JobError};

/// The job that says "paging Ada in 25 s" while a countdown runs.
pub const TICK_JOB: &str = "paging.tick";
/// The job that tells a team of a `high` alert when its working hours begin.
pub const NOTICE_JOB: &str = "paging.notice";
/// How often a countdown is announced.
pub const TICK: i64 = 5;

/// Record what the page did in its log and say it in its team's channels.
pub async fn say(
    conn: &mut PgConnection,
    page: &PageRow,
    at: OffsetDateTime,
    kind: &str,
    text: &str,
    user: Option<Uuid>,
) -> sqlx::Result<()> {
    store::record(&mut *conn, page.id, at, kind, text, user).await?;
    to_team(conn, page, text).await
}

/// Post `text` about `page`'s alert to its team's channels (nothing without a team).
pub async fn to_team(conn: &mut PgConnection, page: &PageRow, text: &str) -> sqlx::Result<()> {
    let Some(team_id) = page.team_id else {
        return Ok(());
    };
    let message = message(conn, page.group_number, &page.group_title, text).await?;
    crate::notify::announce(
        &mut *conn,
        Some(page.id),
        team_id,
        AlertUrgency::Critical,
        &message,
    )
    .await?;
    Ok(())
}

async fn message(
    conn: &mut PgConnection,
    group_number: i64,
    title: &str,
    text: &str,
) -> sqlx::Result<Message> {
    let reference = crate::alerts::commands::reference(group_number);
    let base = crate::status_page::settings::configured_url(&mut *conn).await?;
    let open = base
        .map(|b| {
            format!(
                "\nOpen it in Fireline: {}/admin/alert-groups/{reference}",
                b.trim_end_matches('/')
            )
        })
        .unwrap_or_default();
    Ok(Message {
        title: format!("{reference} {title}"),
        body: format!("{text}{open}"),
        ack_url: None,
        urgency: AlertUrgency::Critical,
        test: false,
    })
}

/// Which countdown second a tick announces.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Tick {
    pub page_id: Uuid,
    pub round: i32,
    pub step: i32,
    pub left: i64,
}

/// Schedule the announcements of a countdown of `seconds` that ends at `due`.
pub async fn schedule_ticks(
    conn: &mut PgConnection,
    page: &PageRow,
    round: i32,
    step: i32,
    seconds: i64,
    due: OffsetDateTime,
) -> sqlx::Result<()> {
    let Some(team_id) = page.team_id else {
        return Ok(());
    };
    // Nobody to tell: no ticks.
    if crate::notify::contacts::team_channels(&mut *conn, team_id, AlertUrgency::Critical)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let mut left = seconds - TICK;
    while left > 0 {
        let tick = Tick {
            page_id: page.id,
            round,
            step,
            left,
        };
        let mut job = NewJob::new(TICK_JOB, serde_json::to_value(tick).unwrap_or_default());
        job.run_at = Some(due - Duration::seconds(left));
        job.max_attempts = 2;
        job.dedupe_key = Some(format!("tick:{}:{round}:{step}:{left}", page.id));
        queue::enqueue(&mut *conn, job).await?;
        left -= TICK;
    }
    Ok(())
}

/// Announce a tick if the page is still counting down to that step.
pub fn tick_job(ctx: JobContext, payload: serde_json::Value) -> HandlerFuture {
    Box::pin(async move {
        let tick: Tick = serde_json::from_value(payload)
            .map_err(|e| JobError::Permanent(format!("not a tick: {e}")))?;
        let mut tx = ctx.pool.begin().await?;
        if let Some(page) = store::lock(&mut tx, tick.page_id).await? {
            let expected = page.state == PageState::CountingDown
                && page.round == tick.round
                && page.step_index == tick.step;
            if expected {
                let who = page
                    .countdown_target
                    .clone()
                    .unwrap_or_else(|| "someone".into());
                let text = format!(
                    "Paging {who} in {} s unless someone acknowledges.",
                    tick.left
                );
                to_team(&mut tx, &page, &text).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    })
}

/// A `high` alert for the group: its team hears of it now if it is working, else when
/// its working hours begin. Nobody is paged.
pub async fn notice_high(
    conn: &mut PgConnection,
    group_id: Uuid,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let (team_id, _) = super::reach::route_of(&mut *conn, group_id).await?;
    let Some(team) = (match team_id {
        Some(id) => teams::find(&mut *conn, id).await?,
        None => None,
    }) else {
        return Ok(());
    };
    let Some(hours) = team.working_hours() else {
        return Ok(());
    };
    if hours.contains(at) {
        return tell_high(conn, group_id, &team).await;
    }
    let Some(start) = hours.next_start(at) else {
        return Ok(());
    };
    let mut job = NewJob::new(NOTICE_JOB, serde_json::json!({ "group_id": group_id }));
    job.run_at = Some(start);
    job.dedupe_key = Some(format!("notice:{group_id}"));
    queue::enqueue(&mut *conn, job).await?;
    Ok(())
}

async fn tell_high(conn: &mut PgConnection, group_id: Uuid, team: &TeamRow) -> sqlx::Result<()> {
    let Some(group) = groups::lock(&mut *conn, group_id).await? else {
        return Ok(());
    };
    if group.state != AlertGroupState::Firing {
        return Ok(());
    }
    let text = format!(
        "High urgency for {}: handle it today. Nobody is paged.",
        team.name
    );
    let mut message = message(conn, group.number, &group.title, &text).await?;
    message.urgency = AlertUrgency::High;
    crate::notify::announce(&mut *conn, None, team.id, AlertUrgency::High, &message).await?;
    let members: Vec<Uuid> = teams::members_of(&mut *conn, &[team.id])
        .await?
        .into_iter()
        .filter(|m| !m.disabled)
        .map(|m| m.user_id)
        .collect();
    crate::notify::tell(&mut *conn, None, &members, AlertUrgency::High, |_| {
        message.clone()
    })
    .await?;
    Ok(())
}

/// The `paging.notice` job: the team's working hours began; tell it if the alert is
/// still firing and unacknowledged.
pub fn notice_job(ctx: JobContext, payload: serde_json::Value) -> HandlerFuture {
    Box::pin(async move {
        let group_id: Uuid = payload
            .get("group_id")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| JobError::Permanent("a notice names no group".into()))?;
        let mut tx = ctx.pool.begin().await?;
        let (team_id, _) = super::reach::route_of(&mut tx, group_id).await?;
        if let Some(team) = match team_id {
            Some(id) => teams::find(&mut *tx, id).await?,
            None => None,
        } {
            tell_high(&mut tx, group_id, &team).await?;
        }
        tx.commit().await?;
        Ok(())
    })
}
