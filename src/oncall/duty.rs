//! Who is on duty for a team, and the commands that change it: take duty, hand it back,
//! pass it on, and overrides. Every take and pass stays on the record (`duty_takes`).

use std::collections::HashMap;

use sqlx::{PgConnection, PgExecutor};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::model::{DutySource, DutyTakeKind, DutyTakeRow, TeamRow};
use super::schedule::{civil_date, civil_time, DutyFacts, Held, Rotation, Shift};
use super::teams;
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;

/// Someone, by id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
}

/// Who is on duty now, since when, and who comes next.
#[derive(Debug, Clone)]
pub struct DutyNow {
    pub on_duty: Option<Person>,
    pub source: Option<DutySource>,
    /// When the current stretch began (as far back as the record is read: 35 days).
    pub since: Option<OffsetDateTime>,
    /// The next change that is known in advance; none while taken duty is held with
    /// nothing scheduled after it.
    pub next: Option<NextDuty>,
}

#[derive(Debug, Clone)]
pub struct NextDuty {
    /// Nobody, when the next stretch has no one on duty.
    pub person: Option<Person>,
    pub source: Option<DutySource>,
    pub at: OffsetDateTime,
}

/// How far back and ahead [`now`] reads the record.
const HORIZON: Duration = Duration::days(35);

/// The rotation a team row describes, if it has one.
pub fn rotation(team: &TeamRow) -> Option<Rotation> {
    Some(Rotation {
        interval: team.rotation_interval?,
        handoff: civil_time(team.rotation_handoff?),
        time_zone: jiff::tz::TimeZone::get(team.rotation_time_zone.as_deref()?).ok()?,
        starts_on: civil_date(team.rotation_starts_on?),
        user_ids: team.rotation_user_ids.clone(),
    })
}

/// Takes and overrides of the team that overlap `from..to`.
pub async fn facts(
    conn: &mut PgConnection,
    team: &TeamRow,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<DutyFacts> {
    let takes = sqlx::query!(
        "SELECT user_id, started_at, ended_at FROM duty_takes
         WHERE team_id = $1 AND started_at < $3 AND (ended_at IS NULL OR ended_at > $2)
         ORDER BY started_at, id",
        team.id,
        from,
        to
    )
    .fetch_all(&mut *conn)
    .await?;
    let overrides = sqlx::query!(
        "SELECT user_id, starts_at, ends_at FROM duty_overrides
         WHERE team_id = $1 AND starts_at < $3 AND ends_at > $2
         ORDER BY created_at, id",
        team.id,
        from,
        to
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(DutyFacts {
        rotation: rotation(team),
        takes: takes
            .into_iter()
            .map(|t| Held {
                user_id: t.user_id,
                start: t.started_at,
                end: t.ended_at,
            })
            .collect(),
        overrides: overrides
            .into_iter()
            .map(|o| Held {
                user_id: o.user_id,
                start: o.starts_at,
                end: Some(o.ends_at),
            })
            .collect(),
    })
}

/// The names of `ids`.
pub async fn names(db: impl PgExecutor<'_>, ids: &[Uuid]) -> sqlx::Result<HashMap<Uuid, String>> {
    let rows = sqlx::query!("SELECT id, name FROM users WHERE id = ANY($1)", ids)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// The stretches of duty of the team from `from` to `to`.
pub async fn timeline(
    conn: &mut PgConnection,
    team: &TeamRow,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Vec<Shift>> {
    Ok(facts(conn, team, from, to).await?.timeline(from, to))
}

/// Who is on duty for `team` at `at`, since when, and who is next.
pub async fn now(
    conn: &mut PgConnection,
    team: &TeamRow,
    at: OffsetDateTime,
) -> sqlx::Result<DutyNow> {
    let (from, to) = (at - HORIZON, at + HORIZON);
    let shifts = timeline(&mut *conn, team, from, to).await?;
    let current = shifts.iter().position(|s| s.start <= at && at < s.end);
    let following = match current {
        Some(i) => shifts.get(i + 1).map(|s| (s, s.start)),
        None => shifts.iter().find(|s| s.start > at).map(|s| (s, s.start)),
    };
    let mut ids: Vec<Uuid> = shifts.iter().map(|s| s.user_id).collect();
    ids.dedup();
    let names = names(&mut *conn, &ids).await?;
    let person = |id: Uuid| Person {
        id,
        name: names.get(&id).cloned().unwrap_or_default(),
    };
    let current = current.map(|i| &shifts[i]);
    // After the current stretch: the next one, or nobody when a gap follows it.
    let next = match (current, following) {
        (Some(cur), Some((next, at))) if cur.end == at => Some(NextDuty {
            person: Some(person(next.user_id)),
            source: Some(next.source),
            at,
        }),
        (Some(cur), _) if cur.end < to => Some(NextDuty {
            person: None,
            source: None,
            at: cur.end,
        }),
        (Some(_), _) => None,
        (None, Some((next, at))) => Some(NextDuty {
            person: Some(person(next.user_id)),
            source: Some(next.source),
            at,
        }),
        (None, None) => None,
    };
    Ok(DutyNow {
        on_duty: current.map(|s| person(s.user_id)),
        source: current.map(|s| s.source),
        since: current.map(|s| s.start).filter(|start| *start > from),
        next,
    })
}

/// Who is on duty for `team_id` at `at` (for paging).
pub async fn on_duty(
    conn: &mut PgConnection,
    team: &TeamRow,
    at: OffsetDateTime,
) -> sqlx::Result<Option<Uuid>> {
    let facts = facts(conn, team, at, at + Duration::seconds(1)).await?;
    Ok(facts.at(at).map(|(user, _)| user))
}

async fn is_member(conn: &mut PgConnection, team_id: Uuid, user_id: Uuid) -> sqlx::Result<bool> {
    Ok(teams::members_of(&mut *conn, &[team_id])
        .await?
        .iter()
        .any(|m| m.user_id == user_id && !m.disabled))
}

async fn open_take(conn: &mut PgConnection, team_id: Uuid) -> sqlx::Result<Option<(Uuid, Uuid)>> {
    let row = sqlx::query!(
        "SELECT id, user_id FROM duty_takes WHERE team_id = $1 AND ended_at IS NULL",
        team_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.id, r.user_id)))
}

async fn end_take(conn: &mut PgConnection, id: Uuid, at: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query!("UPDATE duty_takes SET ended_at = $2 WHERE id = $1", id, at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn start_take(
    conn: &mut PgConnection,
    team_id: Uuid,
    user_id: Uuid,
    kind: DutyTakeKind,
    passed_by: Option<Uuid>,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO duty_takes (id, team_id, user_id, kind, passed_by, started_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        Uuid::new_v4(),
        team_id,
        user_id,
        kind as DutyTakeKind,
        passed_by,
        at
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `user` takes duty for the team knowingly, from now until they hand it back or someone
/// else takes it. Taking duty one holds already changes nothing.
#[tracing::instrument(skip_all, fields(team_id = %team_id, user_id = %user))]
pub async fn take(
    conn: &mut PgConnection,
    team_id: Uuid,
    user: Uuid,
    at: OffsetDateTime,
) -> Result<(), CommandError> {
    let team = teams::lock(&mut *conn, team_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if !is_member(&mut *conn, team.id, user).await? {
        return Err(CommandError::invalid(
            "user_id",
            format!(
                "Only members of {} can take its duty; join the team first.",
                team.name
            ),
        ));
    }
    let before = on_duty(&mut *conn, &team, at).await?;
    let open = open_take(&mut *conn, team.id).await?;
    if open.is_some_and(|(_, holder)| holder == user) {
        return Ok(());
    }
    if let Some((id, _)) = open {
        end_take(&mut *conn, id, at).await?;
    }
    start_take(&mut *conn, team.id, user, DutyTakeKind::Taken, None, at).await?;
    let action = AuditAction::DutyTaken {
        team_id,
        user_id: user,
        from_user_id: before.filter(|b| *b != user),
    };
    audit::log(&mut *conn, Some(user), &action).await?;
    Ok(())
}

/// The holder of taken duty hands it back: the rotation (or an override) decides again.
#[tracing::instrument(skip_all, fields(team_id = %team_id, user_id = %user))]
pub async fn release(
    conn: &mut PgConnection,
    team_id: Uuid,
    user: Uuid,
    at: OffsetDateTime,
) -> Result<(), CommandError> {
    let team = teams::lock(&mut *conn, team_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    match open_take(&mut *conn, team.id).await? {
        Some((id, holder)) if holder == user => {
            end_take(&mut *conn, id, at).await?;
            let action = AuditAction::DutyReleased {
                team_id,
                user_id: user,
            };
            audit::log(&mut *conn, Some(user), &action).await?;
            Ok(())
        }
        Some(_) => Err(CommandError::invalid(
            "action",
            "Someone else holds this team's duty; only they can hand it back.",
        )),
        None => Err(CommandError::invalid(
            "action",
            format!(
                "Nobody has taken {}'s duty; there is nothing to hand back.",
                team.name
            ),
        )),
    }
}

/// What a pass is told: the person on duty should take it knowingly.
pub const PASS_WARNING: &str =
    "Passing duty is allowed but discouraged: the person on duty should take it knowingly. Ask them to take it themselves.";

/// `by` passes the team's duty to `to` (a member), on the record as passed.
#[tracing::instrument(skip_all, fields(team_id = %team_id, to = %to))]
pub async fn pass(
    conn: &mut PgConnection,
    team_id: Uuid,
    by: Uuid,
    to: Uuid,
    at: OffsetDateTime,
) -> Result<(), CommandError> {
    let team = teams::lock(&mut *conn, team_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if !is_member(&mut *conn, team.id, to).await? {
        return Err(CommandError::invalid(
            "user_id",
            format!("Duty passes only to an enabled member of {}.", team.name),
        ));
    }
    let before = on_duty(&mut *conn, &team, at).await?;
    if let Some((id, holder)) = open_take(&mut *conn, team.id).await? {
        if holder == to {
            return Ok(());
        }
        end_take(&mut *conn, id, at).await?;
    }
    start_take(&mut *conn, team.id, to, DutyTakeKind::Passed, Some(by), at).await?;
    let action = AuditAction::DutyPassed {
        team_id,
        from_user_id: before,
        to_user_id: to,
    };
    audit::log(&mut *conn, Some(by), &action).await?;
    Ok(())
}

/// Hand back taken duty held by someone who is no longer among `members`.
pub async fn hand_back_unless_member(
    conn: &mut PgConnection,
    team_id: Uuid,
    members: &[Uuid],
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE duty_takes SET ended_at = $3
         WHERE team_id = $1 AND ended_at IS NULL AND NOT user_id = ANY($2)",
        team_id,
        members,
        at
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The record of taken and passed duty, the newest first.
pub async fn takes(
    db: impl PgExecutor<'_>,
    team_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<DutyTakeRow>> {
    sqlx::query_as!(
        DutyTakeRow,
        r#"SELECT t.id, t.team_id, t.user_id, u.name AS user_name, t.kind AS "kind: DutyTakeKind",
                  t.passed_by, p.name AS "passed_by_name?", t.started_at, t.ended_at
           FROM duty_takes t JOIN users u ON u.id = t.user_id
           LEFT JOIN users p ON p.id = t.passed_by
           WHERE t.team_id = $1 ORDER BY t.started_at DESC, t.id LIMIT $2"#,
        team_id,
        limit
    )
    .fetch_all(db)
    .await
}
