//! What a check going down or up does to its component. Responders see the check's
//! status on the component at once (the known status); customers see it only as the
//! check says: at once, after a delay unless someone overrides (dismisses the proposal
//! or sets the public status by hand meanwhile), or when a person applies the proposal.
//! Coming up restores the component if this check set its status and no other check of
//! it is down: by itself, or as a proposal when the check waits for a person. A heartbeat
//! tied to a component marks it for responders only, and restores it when it is back.

use serde_json::json;
use sqlx::{PgConnection, PgExecutor};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::checks::{ApplyMode, CheckRow};
use super::HeartbeatRow;
use crate::components::{self, Audience, Cause, ComponentStatus};
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::jobs::{queue, HandlerFuture, JobContext, JobError};
use crate::platform::labelled_enum;
use serde::{Deserialize, Serialize};

labelled_enum!(
    /// Where a proposal stands.
    ProposalState, "proposal_state" {
        Open => "open", "Proposed";
        Applied => "applied", "Applied";
        Dismissed => "dismissed", "Dismissed";
        Withdrawn => "withdrawn", "Withdrawn (the check changed its mind)";
    }
);

/// The job that applies a delayed proposal when its time comes.
pub const APPLY_JOB: &str = "checks.apply_proposal";

#[derive(Debug, Clone)]
pub struct ProposalRow {
    pub id: Uuid,
    pub component_id: Uuid,
    pub check_id: Option<Uuid>,
    pub status: ComponentStatus,
    pub reason: String,
    pub state: ProposalState,
    pub apply_at: Option<OffsetDateTime>,
    pub proposed_at: OffsetDateTime,
}

macro_rules! proposal_rows {
    ($before:literal, $rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ProposalRow,
            $before + r#"id, component_id, check_id, status AS "status: ComponentStatus", reason,
                 state AS "state: ProposalState", apply_at, proposed_at "# + $rest
            $(, $arg)*
        )
    };
}

/// Open proposals, oldest first (of one component, or of all).
pub async fn open(
    db: impl PgExecutor<'_>,
    component_id: Option<Uuid>,
) -> sqlx::Result<Vec<ProposalRow>> {
    proposal_rows!(
        "SELECT ",
        "FROM component_proposals WHERE state = 'open' \
         AND ($1::uuid IS NULL OR component_id = $1) ORDER BY proposed_at, id",
        component_id
    )
    .fetch_all(db)
    .await
}

/// Withdraw the check's open proposal (it went the other way, or was paused or deleted).
pub async fn withdraw(conn: &mut PgConnection, check_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE component_proposals SET state = 'withdrawn', decided_at = now() \
         WHERE check_id = $1 AND state = 'open'",
        check_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn propose(
    conn: &mut PgConnection,
    check: &CheckRow,
    component_id: Uuid,
    status: ComponentStatus,
    reason: &str,
    state: ProposalState,
    apply_at: Option<OffsetDateTime>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO component_proposals (id, component_id, check_id, status, reason, state, \
             apply_at, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $6 = 'applied'::proposal_state THEN now() END)",
        id,
        component_id,
        check.id,
        status as ComponentStatus,
        reason,
        state as ProposalState,
        apply_at
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// The check went down at `at` because of `why`.
pub async fn on_down(
    conn: &mut PgConnection,
    check: &CheckRow,
    why: &str,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let Some(component) = check.component_id else {
        return Ok(());
    };
    withdraw(&mut *conn, check.id).await?;
    let cause = Cause::Check(check.id);
    let status = check.down_status;
    components::set_status(
        &mut *conn,
        component,
        status,
        None,
        cause,
        Audience::Responders,
    )
    .await?;
    let reason = format!("Check {} is down: {why}", check.name);
    match check.apply_mode {
        ApplyMode::AtOnce => {
            components::set_status(&mut *conn, component, status, None, cause, Audience::Public)
                .await?;
            propose(
                conn,
                check,
                component,
                status,
                &reason,
                ProposalState::Applied,
                None,
            )
            .await?;
        }
        ApplyMode::AfterDelay => {
            let due = at + Duration::minutes(i64::from(check.apply_after_minutes));
            let id = propose(
                &mut *conn,
                check,
                component,
                status,
                &reason,
                ProposalState::Open,
                Some(due),
            )
            .await?;
            let mut job = queue::NewJob::new(APPLY_JOB, json!({ "proposal_id": id }));
            job.run_at = Some(due);
            job.dedupe_key = Some(format!("proposal:{id}"));
            queue::enqueue(conn, job).await?;
        }
        ApplyMode::Propose => {
            propose(
                conn,
                check,
                component,
                status,
                &reason,
                ProposalState::Open,
                None,
            )
            .await?;
        }
    }
    Ok(())
}

/// Whether the component's latest status change (known, or public) was this check's.
async fn set_by(
    conn: &mut PgConnection,
    component_id: Uuid,
    check_id: Uuid,
    public: bool,
) -> sqlx::Result<bool> {
    let by = sqlx::query_scalar!(
        "SELECT check_id FROM component_status_changes \
         WHERE component_id = $1 AND (public OR NOT $2) ORDER BY id DESC LIMIT 1",
        component_id,
        public
    )
    .fetch_optional(conn)
    .await?;
    Ok(by.flatten() == Some(check_id))
}

/// The check came up again at `at`.
pub async fn on_up(conn: &mut PgConnection, check: &CheckRow) -> sqlx::Result<()> {
    withdraw(&mut *conn, check.id).await?;
    let Some(component) = check.component_id else {
        return Ok(());
    };
    let others_down = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM checks
           WHERE component_id = $1 AND id <> $2 AND state = 'down'"#,
        component,
        check.id
    )
    .fetch_one(&mut *conn)
    .await?;
    if others_down > 0 || !set_by(&mut *conn, component, check.id, false).await? {
        return Ok(());
    }
    let cause = Cause::Check(check.id);
    let healthy = ComponentStatus::Operational;
    if check.auto_recover {
        let audience = if set_by(&mut *conn, component, check.id, true).await? {
            Audience::Public
        } else {
            Audience::Responders
        };
        components::set_status(&mut *conn, component, healthy, None, cause, audience).await?;
    } else {
        let reason = format!(
            "Check {} is up again; it does not restore the component by itself.",
            check.name
        );
        propose(
            conn,
            check,
            component,
            healthy,
            &reason,
            ProposalState::Open,
            None,
        )
        .await?;
    }
    Ok(())
}

/// A heartbeat went down: its component is in trouble for responders (what depends on
/// it shows so); customers see nothing of it unless someone publishes.
pub async fn heartbeat_down(conn: &mut PgConnection, hb: &HeartbeatRow) -> sqlx::Result<()> {
    let Some(component) = hb.component_id else {
        return Ok(());
    };
    let cause = Cause::Heartbeat(hb.id);
    let status = ComponentStatus::MajorOutage;
    components::set_status(conn, component, status, None, cause, Audience::Responders).await?;
    Ok(())
}

/// The heartbeat is up again (or paused, or deleted): its component is operational again
/// for responders, if the heartbeat set its status and nothing changed it since.
pub async fn heartbeat_up(conn: &mut PgConnection, hb: &HeartbeatRow) -> sqlx::Result<()> {
    let Some(component) = hb.component_id else {
        return Ok(());
    };
    let by = sqlx::query_scalar!(
        "SELECT heartbeat_id FROM component_status_changes WHERE component_id = $1 \
         ORDER BY id DESC LIMIT 1",
        component
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    if by == Some(hb.id) {
        let cause = Cause::Heartbeat(hb.id);
        let healthy = ComponentStatus::Operational;
        components::set_status(conn, component, healthy, None, cause, Audience::Responders).await?;
    }
    Ok(())
}

async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<ProposalRow, CommandError> {
    proposal_rows!(
        "SELECT ",
        "FROM component_proposals WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(CommandError::NotFound)
}

fn not_open() -> CommandError {
    CommandError::invalid(
        "proposal",
        "This proposal was decided already (applied, dismissed, or withdrawn by its check).",
    )
}

/// A person applies an open proposal: the component's status, public too.
pub async fn apply(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<ProposalRow, CommandError> {
    settle_open(conn, actor, id, ProposalState::Applied).await
}

/// A person dismisses an open proposal; the component stays as it is.
pub async fn dismiss(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<ProposalRow, CommandError> {
    settle_open(conn, actor, id, ProposalState::Dismissed).await
}

/// Apply or dismiss an open proposal, with its audit entry.
async fn settle_open(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    state: ProposalState,
) -> Result<ProposalRow, CommandError> {
    let p = lock(&mut *conn, id).await?;
    if p.state != ProposalState::Open {
        return Err(not_open());
    }
    let (proposal_id, component_id, status) = (id, p.component_id, p.status.as_str().to_owned());
    let action = if state == ProposalState::Applied {
        let cause = p.check_id.map_or(Cause::None, Cause::Check);
        components::set_status(
            &mut *conn,
            component_id,
            p.status,
            actor,
            cause,
            Audience::Public,
        )
        .await?;
        AuditAction::ProposalApplied {
            proposal_id,
            component_id,
            status,
        }
    } else {
        AuditAction::ProposalDismissed {
            proposal_id,
            component_id,
            status,
        }
    };
    audit::log(&mut *conn, actor, &action).await?;
    decide(conn, id, state, actor).await
}

async fn decide(
    conn: &mut PgConnection,
    id: Uuid,
    state: ProposalState,
    actor: Option<Uuid>,
) -> Result<ProposalRow, CommandError> {
    sqlx::query!(
        "UPDATE component_proposals SET state = $2, decided_at = now(), decided_by = $3 \
         WHERE id = $1",
        id,
        state as ProposalState,
        actor
    )
    .execute(&mut *conn)
    .await?;
    lock(conn, id).await
}

fn retry(err: CommandError) -> JobError {
    JobError::Retry {
        reason: err.to_string(),
        after: None,
    }
}

/// Apply a delayed proposal whose time has come, unless someone overrode it: dismissed
/// it, or set the component's public status by hand since it was made.
pub fn apply_due_job(ctx: JobContext, payload: serde_json::Value) -> HandlerFuture {
    Box::pin(async move {
        let Some(id) = payload["proposal_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            return Err(JobError::Permanent("the job names no proposal".into()));
        };
        let mut tx = ctx.pool.begin().await?;
        let p = match lock(&mut tx, id).await {
            Ok(p) => p,
            Err(CommandError::NotFound) => return Ok(()),
            Err(err) => return Err(retry(err)),
        };
        if p.state != ProposalState::Open {
            return Ok(());
        }
        let overridden = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM component_status_changes
               WHERE component_id = $1 AND public AND changed_at >= $2
                 AND check_id IS DISTINCT FROM $3"#,
            p.component_id,
            p.proposed_at,
            p.check_id
        )
        .fetch_one(&mut *tx)
        .await?;
        let outcome = if overridden > 0 {
            decide(&mut tx, id, ProposalState::Dismissed, None).await
        } else {
            apply(&mut tx, None, id).await
        };
        outcome.map_err(retry)?;
        tx.commit().await?;
        Ok(())
    })
}
