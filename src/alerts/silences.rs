//! Silences: a person says "I know, stop telling me" about one group, or about every
//! group whose labels match a set of matchers, for a while and with a reason.
//!
//! A silenced group stays open and keeps its alerts; it is only `silenced` (which
//! outranks acknowledged) until the silence ends, early by a person or on time by the
//! durable job [`END_JOB`]. A matcher silence also covers groups that open while it is
//! active (`alerts::grouping` calls [`cover_opened`]). The lock order is group (the
//! processors' lock, then the row) → silence row, as everywhere: grouping takes the
//! silence `FOR SHARE` after the group it opens, and [`end`] takes the groups, then the
//! silence `FOR UPDATE`.

use serde_json::{json, Value};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::commands::reference;
use super::groups::{self, AlertGroupRow};
use super::happened::AlertGroupEvent;
use super::history::{self, GroupEventKind, NewGroupEvent};
use super::intake::Labels;
use super::process::APPLIED_CHANNEL;
use super::routing::{CompiledMatcher, Matcher};
use super::{AlertGroupState, GroupFacts};
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::jobs::{self, HandlerFuture, JobContext, JobError, NewJob};
use crate::platform::text;
use crate::platform::time::rfc3339 as stamp;

/// The job that ends a silence when its time is up.
pub const END_JOB: &str = "alerts.end_silence";

/// How long a silence may last, in minutes: one minute to seven days.
pub const MINUTES: std::ops::RangeInclusive<i64> = 1..=10_080;

/// What a silence covers.
#[derive(Debug, Clone)]
pub enum Target {
    /// One open group.
    Group(Uuid),
    /// Every open group whose labels match all of these, now and while it lasts.
    Matchers(Vec<Matcher>),
}

/// Until when.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    Minutes(i64),
    EndsAt(OffsetDateTime),
}

/// A silence to create.
#[derive(Debug, Clone)]
pub struct NewSilence {
    pub target: Target,
    pub until: Until,
    pub reason: String,
}

/// A silence as people read it.
#[derive(Debug, Clone)]
pub struct SilenceRow {
    pub id: Uuid,
    pub group_id: Option<Uuid>,
    pub group_number: Option<i64>,
    pub matchers: Option<Value>,
    pub reason: String,
    pub created_by: Uuid,
    pub created_by_name: Option<String>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
    pub ended_by: Option<Uuid>,
    pub ended_by_name: Option<String>,
    pub created_at: OffsetDateTime,
    /// Open groups it silences now.
    pub groups_silenced: i64,
}

impl SilenceRow {
    /// Whether it silences now.
    pub fn active(&self, now: OffsetDateTime) -> bool {
        self.ended_at.is_none() && self.ends_at > now
    }

    /// Its matchers, as stored.
    pub fn matcher_list(&self) -> Vec<Matcher> {
        self.matchers
            .clone()
            .and_then(|m| serde_json::from_value(m).ok())
            .unwrap_or_default()
    }

    /// What it covers, in words: `ALR-17`, or the matchers as Alertmanager writes them.
    pub fn covers(&self) -> String {
        match self.group_number {
            Some(number) => reference(number),
            None => self
                .matcher_list()
                .iter()
                .map(Matcher::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Whether `labels` pass every one of `matchers` (a silence with none covers nothing).
pub fn covers(matchers: &[CompiledMatcher], labels: &Labels) -> bool {
    !matchers.is_empty() && matchers.iter().all(|m| m.matches(labels))
}

fn compiled(matchers: &[Matcher]) -> Option<Vec<CompiledMatcher>> {
    matchers.iter().map(|m| m.compile().ok()).collect()
}

fn labels_of(value: &Value) -> Labels {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

async fn wake_live_pages(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!("SELECT pg_notify($1, '')", APPLIED_CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

fn ends_at(until: Until, now: OffsetDateTime) -> Result<OffsetDateTime, CommandError> {
    let longest = Duration::minutes(*MINUTES.end());
    match until {
        Until::Minutes(m) if MINUTES.contains(&m) => Ok(now + Duration::minutes(m)),
        Until::Minutes(_) => Err(CommandError::invalid(
            "minutes",
            format!(
                "A silence lasts from {} minute to {} minutes (seven days).",
                MINUTES.start(),
                MINUTES.end()
            ),
        )),
        Until::EndsAt(at) if at <= now => Err(CommandError::invalid(
            "ends_at",
            "The end of a silence must be in the future.",
        )),
        Until::EndsAt(at) if at > now + longest => Err(CommandError::invalid(
            "ends_at",
            "A silence lasts at most seven days from now.",
        )),
        Until::EndsAt(at) => Ok(at),
    }
}

/// The open groups with `ids`, locked in id order. The processors' locks of these groups
/// (`alerts::process`) are taken first, in one order: a processor applying a round holds
/// many group rows, in the order its deliveries came, and takes only groups whose lock it
/// got, so a silence that holds those locks never waits on a row while a processor waits
/// on it.
async fn lock_open_groups(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> sqlx::Result<Vec<AlertGroupRow>> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "locked!" FROM (
               SELECT pg_advisory_xact_lock(hashtext('fireline_alert_group'), k.key)
               FROM (SELECT DISTINCT hashtext(integration_id::text || ':' || group_key) AS key
                     FROM alert_groups WHERE id = ANY($1) ORDER BY 1) k) held"#,
        ids
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query_as!(
        AlertGroupRow,
        r#"SELECT id, number, integration_id, group_key, title,
               state AS "state: AlertGroupState", severity AS "severity: _",
               urgency AS "urgency: _", content_hash, first_alert_at,
               acknowledged_at, silence_id, resolved_at
           FROM alert_groups WHERE id = ANY($1) AND state <> 'resolved'
           ORDER BY id
           FOR UPDATE"#,
        ids
    )
    .fetch_all(conn)
    .await
}

/// The silence a group is under, in the words of its history.
struct Covering {
    id: Uuid,
    reason: String,
    ends_at: OffsetDateTime,
}

/// Silence the (locked, open) group under `silence`: the group and its alerts point at
/// it, the state follows, and the history and the domain event say so.
async fn silence_group(
    conn: &mut PgConnection,
    group: &AlertGroupRow,
    silence: &Covering,
    actor: Option<Uuid>,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let state = GroupFacts {
        firing: true,
        silenced: true,
        acknowledged: group.acknowledged_at.is_some(),
    }
    .state();
    sqlx::query!(
        "UPDATE alert_groups SET silence_id = $2, state = $3, version = version + 1, \
             updated_at = now() \
         WHERE id = $1",
        group.id,
        silence.id,
        state as AlertGroupState
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE alerts SET silence_id = $2 WHERE group_id = $1",
        group.id,
        silence.id
    )
    .execute(&mut *conn)
    .await?;
    let body = format!(
        "Silenced until {}: {}",
        stamp(silence.ends_at),
        silence.reason
    );
    let entry = NewGroupEvent {
        actor_id: actor,
        ..NewGroupEvent::by_source(GroupEventKind::Silenced, body, at)
            .with(json!({ "silence_id": silence.id, "ends_at": stamp(silence.ends_at) }))
    };
    history::record(&mut *conn, group.id, entry).await?;
    let event = AlertGroupEvent::Silenced {
        group_id: group.id,
        silence_id: silence.id,
    };
    event.record(conn).await
}

/// `actor` silences a group or the groups matchers select, from `now` until the end
/// asked for. Returns the new silence's id. The job that ends it on time is enqueued in
/// the same transaction.
#[tracing::instrument(skip(conn, new))]
pub async fn create(
    conn: &mut PgConnection,
    actor: Uuid,
    new: NewSilence,
    now: OffsetDateTime,
) -> Result<Uuid, CommandError> {
    let reason = text::REASON.trimmed(
        "reason",
        &new.reason,
        "Say why it is silenced: the reason is on the record.",
    )?;
    let ends_at = ends_at(new.until, now)?;
    let (group_id, matchers, covered) = match &new.target {
        Target::Group(id) => {
            let group = groups::lock(&mut *conn, *id)
                .await?
                .ok_or(CommandError::NotFound)?;
            if group.state == AlertGroupState::Resolved {
                return Err(CommandError::invalid(
                    "state",
                    format!(
                        "{} is resolved already; there is nothing to silence. If its alerts \
                         fire again, they open a new group.",
                        reference(group.number)
                    ),
                ));
            }
            (Some(group.id), None, vec![group])
        }
        Target::Matchers(list) => {
            if list.is_empty() {
                return Err(CommandError::invalid(
                    "matchers",
                    "Give at least one matcher, like alertname=\"DiskFull\": a silence \
                     without one would silence everything.",
                ));
            }
            let mut tests = Vec::with_capacity(list.len());
            for matcher in list {
                let test = matcher
                    .compile()
                    .map_err(|e| CommandError::invalid("matchers", capitalised(&e)))?;
                tests.push(test);
            }
            let open = sqlx::query!(
                "SELECT id, labels FROM alert_groups WHERE state <> 'resolved' ORDER BY id"
            )
            .fetch_all(&mut *conn)
            .await?;
            let ids: Vec<Uuid> = open
                .into_iter()
                .filter(|g| covers(&tests, &labels_of(&g.labels)))
                .map(|g| g.id)
                .collect();
            let locked = lock_open_groups(&mut *conn, &ids).await?;
            let stored = serde_json::to_value(list).unwrap_or(Value::Null);
            (None, Some(stored), locked)
        }
    };
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO silences (id, group_id, matchers, reason, created_by, starts_at, ends_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        group_id,
        matchers,
        reason,
        actor,
        now,
        ends_at
    )
    .execute(&mut *conn)
    .await?;
    let action = AuditAction::SilenceCreated {
        silence_id: id,
        group_id,
        matchers,
        reason: reason.to_owned(),
        ends_at: stamp(ends_at),
    };
    audit::log(&mut *conn, Some(actor), &action).await?;
    let silence = Covering {
        id,
        reason: reason.to_owned(),
        ends_at,
    };
    for group in &covered {
        silence_group(conn, group, &silence, Some(actor), now).await?;
    }
    let job = NewJob {
        run_at: Some(ends_at),
        dedupe_key: Some(format!("{END_JOB}:{id}")),
        ..NewJob::new(END_JOB, json!({ "silence_id": id }))
    };
    jobs::enqueue(&mut *conn, job).await?;
    wake_live_pages(conn).await?;
    Ok(id)
}

fn capitalised(err: &impl std::fmt::Display) -> String {
    let text = err.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => text,
    }
}

/// The active silence that covers a group with `labels` (its own group silence, or a
/// matcher silence), other than `except`, locked `FOR SHARE` so it cannot end under
/// the caller; the one lasting longest wins.
async fn active_covering(
    conn: &mut PgConnection,
    group_id: Option<Uuid>,
    labels: &Labels,
    except: Option<Uuid>,
) -> sqlx::Result<Option<Covering>> {
    let candidates = sqlx::query!(
        "SELECT id, group_id, matchers FROM silences \
         WHERE ended_at IS NULL AND ends_at > now() \
           AND (matchers IS NOT NULL OR group_id = $1) \
           AND id IS DISTINCT FROM $2 \
         ORDER BY ends_at DESC, id",
        group_id,
        except
    )
    .fetch_all(&mut *conn)
    .await?;
    for candidate in candidates {
        let fits = match (candidate.group_id, candidate.matchers) {
            (Some(_), _) => true,
            (None, Some(stored)) => {
                let list: Vec<Matcher> = serde_json::from_value(stored).unwrap_or_default();
                compiled(&list).is_some_and(|tests| covers(&tests, labels))
            }
            (None, None) => false,
        };
        if !fits {
            continue;
        }
        let locked = sqlx::query!(
            "SELECT id, reason, ends_at FROM silences \
             WHERE id = $1 AND ended_at IS NULL AND ends_at > now() \
             FOR SHARE",
            candidate.id
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(s) = locked {
            return Ok(Some(Covering {
                id: s.id,
                reason: s.reason,
                ends_at: s.ends_at,
            }));
        }
    }
    Ok(None)
}

/// A group just opened (its row locked by the caller): an active matcher silence whose
/// matchers its labels pass silences it at once.
pub async fn cover_opened(
    conn: &mut PgConnection,
    group_id: Uuid,
    labels: &Labels,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let Some(silence) = active_covering(&mut *conn, None, labels, None).await? else {
        return Ok(());
    };
    let Some(group) = groups::lock(&mut *conn, group_id).await? else {
        return Ok(());
    };
    if group.state == AlertGroupState::Resolved {
        return Ok(());
    }
    silence_group(conn, &group, &silence, None, at).await
}

/// Who ends a silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A person, now.
    Early(Uuid),
    /// Its time is up (the job).
    Expired,
}

/// What [`end`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It ended now; its groups are firing (or acknowledged) again.
    Now,
    /// It had ended already: nothing changed.
    Already,
    /// Its time is not up yet (only for [`Ending::Expired`]).
    NotDue(OffsetDateTime),
}

/// The open groups `silence_id` silences, locked in id order.
async fn lock_silenced(
    conn: &mut PgConnection,
    silence_id: Uuid,
) -> sqlx::Result<Vec<(AlertGroupRow, Labels)>> {
    let rows = sqlx::query!(
        "SELECT id, labels FROM alert_groups \
         WHERE silence_id = $1 AND state <> 'resolved' ORDER BY id",
        silence_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let locked = lock_open_groups(&mut *conn, &ids).await?;
    Ok(locked
        .into_iter()
        .filter(|g| g.silence_id == Some(silence_id))
        .map(|g| {
            let labels = rows
                .iter()
                .find(|r| r.id == g.id)
                .map(|r| labels_of(&r.labels))
                .unwrap_or_default();
            (g, labels)
        })
        .collect())
}

/// End `silence_id`: by a person now, or on time. Each group it silenced goes back to
/// firing (or acknowledged), unless another active silence covers it, which then takes
/// over. Ending a silence that has ended already changes nothing, so the job may run
/// twice, in two processes, and it still ends once.
#[tracing::instrument(skip(conn))]
pub async fn end(
    conn: &mut PgConnection,
    ending: Ending,
    silence_id: Uuid,
    now: OffsetDateTime,
) -> Result<Ended, CommandError> {
    // Group rows first, then the silence (the lock order).
    lock_silenced(&mut *conn, silence_id).await?;
    let silence = sqlx::query!(
        "SELECT ends_at, ended_at FROM silences WHERE id = $1 FOR UPDATE",
        silence_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CommandError::NotFound)?;
    if silence.ended_at.is_some() {
        return Ok(Ended::Already);
    }
    let (ended_at, actor) = match ending {
        Ending::Early(person) if now < silence.ends_at => (now, Some(person)),
        // Its time is up already: it ends as it would have on time.
        Ending::Early(_) => (silence.ends_at, None),
        Ending::Expired if now < silence.ends_at => return Ok(Ended::NotDue(silence.ends_at)),
        Ending::Expired => (silence.ends_at, None),
    };
    sqlx::query!(
        "UPDATE silences SET ended_at = $2, ended_by = $3 WHERE id = $1",
        silence_id,
        ended_at,
        actor
    )
    .execute(&mut *conn)
    .await?;
    let action = AuditAction::SilenceEnded {
        silence_id,
        early: actor.is_some(),
    };
    let by = match ending {
        Ending::Early(person) => Some(person),
        Ending::Expired => None,
    };
    audit::log(&mut *conn, by, &action).await?;
    // Read again: a group that opened under it while we waited for its lock is ours too.
    for (group, labels) in lock_silenced(&mut *conn, silence_id).await? {
        unsilence_group(conn, &group, &labels, silence_id, actor, ended_at).await?;
    }
    wake_live_pages(conn).await?;
    Ok(Ended::Now)
}

async fn unsilence_group(
    conn: &mut PgConnection,
    group: &AlertGroupRow,
    labels: &Labels,
    silence_id: Uuid,
    actor: Option<Uuid>,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let body = match actor {
        Some(_) => "Silence ended early.".to_owned(),
        None => "Silence ended: its time was up.".to_owned(),
    };
    let entry = NewGroupEvent {
        actor_id: actor,
        ..NewGroupEvent::by_source(GroupEventKind::Unsilenced, body, at)
            .with(json!({ "silence_id": silence_id }))
    };
    history::record(&mut *conn, group.id, entry).await?;
    let event = AlertGroupEvent::Unsilenced {
        group_id: group.id,
        silence_id,
    };
    event.record(&mut *conn).await?;
    if let Some(other) =
        active_covering(&mut *conn, Some(group.id), labels, Some(silence_id)).await?
    {
        return silence_group(conn, group, &other, None, at).await;
    }
    let state = GroupFacts {
        firing: true,
        silenced: false,
        acknowledged: group.acknowledged_at.is_some(),
    }
    .state();
    sqlx::query!(
        "UPDATE alert_groups SET silence_id = NULL, state = $2, version = version + 1, \
             updated_at = now() \
         WHERE id = $1",
        group.id,
        state as AlertGroupState
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE alerts SET silence_id = NULL WHERE group_id = $1 AND silence_id = $2",
        group.id,
        silence_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Alerts that arrived in a silenced group are silenced with it.
pub async fn cover_alerts(
    conn: &mut PgConnection,
    group_id: Uuid,
    silence_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE alerts SET silence_id = $2 \
         WHERE group_id = $1 AND silence_id IS DISTINCT FROM $2",
        group_id,
        silence_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The job [`END_JOB`]: end the silence named in the payload once its time is up.
pub fn end_silence_job(ctx: JobContext, payload: Value) -> HandlerFuture {
    Box::pin(async move {
        let id = payload
            .get("silence_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| JobError::Permanent(format!("no silence_id in {payload}")))?;
        let mut tx = ctx.pool.begin().await?;
        let now = OffsetDateTime::now_utc();
        match end(&mut tx, Ending::Expired, id, now).await {
            Ok(Ended::Now) => {
                tx.commit().await?;
                tracing::info!(silence = %id, "silence ended on time");
                Ok(())
            }
            Ok(Ended::Already) => Ok(()),
            Ok(Ended::NotDue(at)) => {
                let wait = (at - now).max(Duration::seconds(1));
                Err(JobError::Retry {
                    reason: format!("silence {id} ends at {}", stamp(at)),
                    after: Some(std::time::Duration::from_secs_f64(wait.as_seconds_f64())),
                })
            }
            // Gone with its group's integration: nothing to end.
            Err(CommandError::NotFound) => Ok(()),
            Err(CommandError::Db(err)) => Err(err.into()),
            Err(other) => Err(JobError::Permanent(other.to_string())),
        }
    })
}

/// One silence.
pub async fn find(db: impl sqlx::PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<SilenceRow>> {
    Ok(select(db, Some(id), None, None, 1).await?.pop())
}

/// Silences, the newest first: only active ones or only ended ones when `active` says
/// so; at most `limit` after `after` (a silence's created_at and id).
pub async fn list(
    db: impl sqlx::PgExecutor<'_>,
    active: Option<bool>,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<SilenceRow>> {
    select(db, None, active, after, limit).await
}

async fn select(
    db: impl sqlx::PgExecutor<'_>,
    id: Option<Uuid>,
    active: Option<bool>,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<SilenceRow>> {
    let after_at = after.map(|a| a.0);
    let after_id = after.map(|a| a.1);
    sqlx::query_as!(
        SilenceRow,
        r#"SELECT s.id, s.group_id, g.number AS "group_number?", s.matchers, s.reason,
               s.created_by, cu.name AS "created_by_name?", s.starts_at, s.ends_at,
               s.ended_at, s.ended_by, eu.name AS "ended_by_name?", s.created_at,
               (SELECT count(*) FROM alert_groups c
                WHERE c.silence_id = s.id AND c.state <> 'resolved') AS "groups_silenced!"
           FROM silences s
           LEFT JOIN alert_groups g ON g.id = s.group_id
           LEFT JOIN users cu ON cu.id = s.created_by
           LEFT JOIN users eu ON eu.id = s.ended_by
           WHERE ($1::bool IS NULL OR (s.ended_at IS NULL AND s.ends_at > now()) = $1)
             AND ($2::timestamptz IS NULL OR (s.created_at, s.id) < ($2, $3))
             AND ($5::uuid IS NULL OR s.id = $5)
           ORDER BY s.created_at DESC, s.id DESC
           LIMIT $4"#,
        active,
        after_at,
        after_id,
        limit,
        id
    )
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::routing::MatchOp;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_silence_covers_labels_only_when_every_matcher_matches_and_none_covers_nothing() {
        let tests = compiled(&[
            Matcher::new("alertname", MatchOp::Eq, "DiskFull"),
            Matcher::new("env", MatchOp::Regex, "prod|staging"),
        ])
        .unwrap();
        assert!(covers(
            &tests,
            &labels(&[("alertname", "DiskFull"), ("env", "prod")])
        ));
        assert!(!covers(
            &tests,
            &labels(&[("alertname", "DiskFull"), ("env", "prod-2")])
        ));
        assert!(!covers(&tests, &labels(&[("env", "prod")])));
        assert!(!covers(&[], &labels(&[("env", "prod")])));
    }

    #[test]
    fn a_silence_lasts_from_a_minute_to_seven_days() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            ends_at(Until::Minutes(30), now).unwrap(),
            now + Duration::minutes(30)
        );
        assert!(ends_at(Until::Minutes(0), now).is_err());
        assert!(ends_at(Until::Minutes(10_081), now).is_err());
        assert!(ends_at(Until::EndsAt(now - Duration::seconds(1)), now).is_err());
        assert!(ends_at(Until::EndsAt(now + Duration::days(8)), now).is_err());
        let tomorrow = now + Duration::days(1);
        assert_eq!(ends_at(Until::EndsAt(tomorrow), now).unwrap(), tomorrow);
    }
}
