//! A page's run: it starts when a critical group opens (or rises to critical), walks its
//! policy's steps, and waits as a job (`paging.step`) at each countdown and wait. A step
//! runs with the group's row and the page's row locked, and only if the page still
//! expects it, so a step never runs twice and never after the group was acknowledged,
//! resolved or silenced.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::model::{PageRow, PageState};
use super::store::{self, NewPageRow, Progress};
use crate::alerts::groups::{self, AlertGroupRow};
use crate::alerts::model::{AlertGroupState, AlertUrgency};
use crate::oncall::policies::{self, Step, DEFAULT_POLICY_ID};
use crate::oncall::{duty, teams, TeamRow};
use crate::platform::jobs::queue::{self, NewJob};
use crate::platform::jobs::{HandlerFuture, JobContext, JobError};

/// The job that runs a page's next step at its due time.
pub const STEP_JOB: &str = "paging.step";

/// Which step a job runs: it does nothing unless the page still expects that step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepJob {
    pub page_id: Uuid,
    pub round: i32,
    pub step: i32,
}

/// The steps the default policy has, for a database whose default policy was deleted.
fn built_in_default() -> Vec<Step> {
    vec![
        Step::Announce,
        Step::Countdown { seconds: 30 },
        Step::PageOnDuty,
        Step::Wait { seconds: 300 },
        Step::PageEveryone,
    ]
}

async fn schedule(
    conn: &mut PgConnection,
    page_id: Uuid,
    round: i32,
    step: i32,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let payload = serde_json::to_value(StepJob {
        page_id,
        round,
        step,
    })
    .unwrap_or_default();
    let mut job = NewJob::new(STEP_JOB, payload);
    job.run_at = Some(at);
    job.dedupe_key = Some(format!("page:{page_id}:{round}:{step}"));
    queue::enqueue(&mut *conn, job).await?;
    Ok(())
}

/// Start a page for the group when it is critical and firing and none runs for it.
/// In acked mode the page is recorded as muted and pages nobody. Returns the page.
#[tracing::instrument(skip(conn))]
pub async fn start(
    conn: &mut PgConnection,
    group_id: Uuid,
    at: OffsetDateTime,
) -> sqlx::Result<Option<Uuid>> {
    let Some(group) = groups::lock(&mut *conn, group_id).await? else {
        return Ok(None);
    };
    if group.state != AlertGroupState::Firing || group.urgency != AlertUrgency::Critical {
        return Ok(None);
    }
    if store::running_of_group(&mut *conn, group.id)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let (team_id, rule_policy) = super::reach::route_of(&mut *conn, group.id).await?;
    let team = match team_id {
        Some(id) => teams::find(&mut *conn, id).await?,
        None => None,
    };
    let policy_id = rule_policy
        .or(team.as_ref().and_then(|t| t.escalation_policy_id))
        .unwrap_or(DEFAULT_POLICY_ID);
    let policy = policies::find(&mut *conn, policy_id).await?;
    let (policy_id, steps, repeat) = match policy {
        Some(p) if !p.steps.is_empty() => (Some(p.id), p.steps, p.repeat),
        _ => (None, built_in_default(), 0),
    };
    let muted = match &team {
        Some(team) => super::reach::acked_mode(&mut *conn, team.id, at).await?,
        None => None,
    };
    let state = if muted.is_some() {
        PageState::Muted
    } else {
        PageState::CountingDown
    };
    let new = NewPageRow {
        alert_group_id: group.id,
        team_id: team.as_ref().map(|t| t.id),
        policy_id,
        steps: &steps,
        repeat,
        state,
        started_at: at,
    };
    let page_id = store::insert(&mut *conn, new).await?;
    let team_words = team
        .as_ref()
        .map_or("no team".to_owned(), |t| t.name.clone());
    let body = format!(
        "{} is critical: paging for {team_words} started.",
        crate::alerts::commands::reference(group.number)
    );
    store::record(&mut *conn, page_id, at, "started", &body, None).await?;
    if let Some(mode) = muted {
        store::set_muted_by(&mut *conn, page_id, mode.page_id).await?;
        let body = format!(
            "Nobody was paged: {team_words} is in acked mode until {} ({} is watching).",
            crate::platform::time::format_utc(mode.until),
            mode.by_name.as_deref().unwrap_or("someone")
        );
        if let Some(page) = store::find(&mut *conn, page_id).await? {
            super::announce::say(&mut *conn, &page, at, "muted", &body, None).await?;
        }
        super::acknowledge::wake_alert_pages(conn).await?;
        return Ok(Some(page_id));
    }
    let page = store::lock(&mut *conn, page_id).await?;
    if let Some(page) = page {
        advance(&mut *conn, &group, team.as_ref(), page, at).await?;
    }
    super::acknowledge::wake_alert_pages(conn).await?;
    Ok(Some(page_id))
}

/// Run the page's steps from where it is until one waits or the page ends.
async fn advance(
    conn: &mut PgConnection,
    group: &AlertGroupRow,
    team: Option<&TeamRow>,
    page: PageRow,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let (mut index, mut round, mut state) = (page.step_index as usize, page.round, page.state);
    let team_words = team.map_or("no team".to_owned(), |t| t.name.clone());
    loop {
        if index >= page.steps.len() {
            if round < page.repeat {
                round += 1;
                index = 0;
                let body = format!(
                    "Nobody acknowledged: the steps run again (repeat {round} of {}).",
                    page.repeat
                );
                store::record(&mut *conn, page.id, at, "repeated", &body, None).await?;
                continue;
            }
            let body = "Nobody acknowledged, and every step has run.";
            super::announce::say(&mut *conn, &page, at, "exhausted", body, None).await?;
            let progress = Progress {
                state: PageState::Exhausted,
                step_index: index as i32,
                round,
                due_at: None,
                countdown_target: None,
                ended_at: Some(at),
            };
            return store::save_progress(&mut *conn, page.id, progress).await;
        }
        let step = page.steps[index].clone();
        index += 1;
        match step {
            Step::Announce => {
                let body = format!(
                    "Announced to {team_words}: {} {}.",
                    crate::alerts::commands::reference(group.number),
                    group.title
                );
                super::announce::say(&mut *conn, &page, at, "announced", &body, None).await?;
            }
            Step::Countdown { seconds } | Step::Wait { seconds } => {
                let due = at + Duration::seconds(i64::from(seconds));
                let counting = matches!(step, Step::Countdown { .. });
                let target = if counting {
                    Some(super::reach::next_target(&mut *conn, &page.steps, index, team, at).await?)
                } else {
                    None
                };
                let body = match &target {
                    Some(who) => {
                        format!("Paging {who} in {seconds} s unless someone acknowledges.")
                    }
                    None => format!(
                        "Waiting {} for an acknowledgement.",
                        duration_words(seconds)
                    ),
                };
                if counting {
                    super::announce::say(&mut *conn, &page, at, "countdown", &body, None).await?;
                    state = PageState::CountingDown;
                    let seconds = i64::from(seconds);
                    super::announce::schedule_ticks(
                        &mut *conn,
                        &page,
                        round,
                        index as i32,
                        seconds,
                        due,
                    )
                    .await?;
                } else {
                    store::record(&mut *conn, page.id, at, "waiting", &body, None).await?;
                }
                let progress = Progress {
                    state,
                    step_index: index as i32,
                    round,
                    due_at: Some(due),
                    countdown_target: target.as_deref(),
                    ended_at: None,
                };
                store::save_progress(&mut *conn, page.id, progress).await?;
                return schedule(&mut *conn, page.id, round, index as i32, due).await;
            }
            paging_step => {
                if let Some(team) = team {
                    if let Some(mode) = super::reach::acked_mode(&mut *conn, team.id, at).await? {
                        store::set_muted_by(&mut *conn, page.id, mode.page_id).await?;
                        let body = format!(
                            "Nobody was paged: {} is in acked mode until {} ({} is watching).",
                            team.name,
                            crate::platform::time::format_utc(mode.until),
                            mode.by_name.as_deref().unwrap_or("someone")
                        );
                        super::announce::say(&mut *conn, &page, at, "muted", &body, None).await?;
                        let progress = Progress {
                            state: PageState::Muted,
                            step_index: index as i32,
                            round,
                            due_at: None,
                            countdown_target: None,
                            ended_at: Some(at),
                        };
                        return store::save_progress(&mut *conn, page.id, progress).await;
                    }
                }
                let (users, reason) =
                    super::reach::recipients(&mut *conn, &paging_step, team, at).await?;
                let paged = store::add_recipients(&mut *conn, page.id, &users, reason, at).await?;
                super::incident::paged(&mut *conn, page.alert_group_id, &paged).await?;
                super::reach::notify_paged(
                    &mut *conn,
                    &page,
                    group,
                    &team_words,
                    &paged,
                    reason,
                    at,
                )
                .await?;
                let names = duty::names(&mut *conn, &paged).await?;
                let mut named: Vec<&str> = paged
                    .iter()
                    .filter_map(|u| names.get(u).map(String::as_str))
                    .collect();
                named.sort_unstable();
                let body = match (users.is_empty(), named.is_empty()) {
                    (true, _) => format!(
                        "{}: nobody to page, so the next step follows.",
                        paging_step.describe()
                    ),
                    (false, true) => format!(
                        "{}: everyone it reaches was paged already.",
                        paging_step.describe()
                    ),
                    (false, false) => format!(
                        "Paged {} ({}).",
                        named.join(", "),
                        paging_step.describe().to_lowercase()
                    ),
                };
                super::announce::say(&mut *conn, &page, at, "paged", &body, None).await?;
                if !users.is_empty() {
                    state = PageState::Paging;
                }
            }
        }
    }
}

/// Run the step a job names, if the page still expects it.
#[tracing::instrument(skip(conn))]
pub async fn run_step(
    conn: &mut PgConnection,
    job: StepJob,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let Some(page) = store::find(&mut *conn, job.page_id).await? else {
        return Ok(());
    };
    // The lock order of every writer: the group, then the page.
    let Some(group) = groups::lock(&mut *conn, page.alert_group_id).await? else {
        return Ok(());
    };
    let Some(page) = store::lock(&mut *conn, page.id).await? else {
        return Ok(());
    };
    if !page.state.running() || page.round != job.round || page.step_index != job.step {
        return Ok(());
    }
    match group.state {
        AlertGroupState::Resolved => {
            return super::acknowledge::end(
                &mut *conn,
                &page,
                PageState::Resolved,
                "The alert resolved before anyone acknowledged: nobody more is paged.",
                at,
            )
            .await;
        }
        AlertGroupState::Silenced => {
            return super::acknowledge::end(
                &mut *conn,
                &page,
                PageState::Resolved,
                "The alert was silenced: nobody more is paged.",
                at,
            )
            .await;
        }
        AlertGroupState::Acknowledged => {
            let by = sqlx::query_scalar!(
                "SELECT acknowledged_by FROM alert_groups WHERE id = $1",
                group.id
            )
            .fetch_one(&mut *conn)
            .await?;
            let via = if by.is_some() {
                super::AckVia::Web
            } else {
                super::AckVia::Source
            };
            return super::acknowledge::mark(&mut *conn, &page, by, via, at).await;
        }
        AlertGroupState::Firing => {}
    }
    let team = match page.team_id {
        Some(id) => teams::find(&mut *conn, id).await?,
        None => None,
    };
    advance(&mut *conn, &group, team.as_ref(), page, at).await?;
    super::acknowledge::wake_alert_pages(conn).await
}

/// "5 min", "45 s".
pub fn duration_words(seconds: u32) -> String {
    if seconds >= 60 && seconds % 60 == 0 {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

/// The `paging.step` job handler.
pub fn step_job(ctx: JobContext, payload: serde_json::Value) -> HandlerFuture {
    Box::pin(async move {
        let job: StepJob = serde_json::from_value(payload)
            .map_err(|e| JobError::Permanent(format!("not a page step: {e}")))?;
        let mut tx = ctx.pool.begin().await?;
        run_step(&mut tx, job, OffsetDateTime::now_utc()).await?;
        tx.commit().await?;
        Ok(())
    })
}
