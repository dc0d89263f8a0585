//! Heartbeats as stored, their schedules, and the commands that make, change, pause,
//! resume and delete them (each with its audit entry, in the caller's transaction).

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::cron::Cron;
use crate::alerts::intake::Labels;
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::labelled_enum;
use crate::platform::text;

labelled_enum!(
    /// Where a heartbeat stands.
    HeartbeatState, "heartbeat_state" {
        New => "new", "New (no ping yet)";
        Up => "up", "Up";
        Late => "late", "Late (in its grace time)";
        Down => "down", "Down";
        Paused => "paused", "Paused";
    }
);

/// The shortest period and grace time.
pub const MIN_SECONDS: i32 = 60;
/// The longest: a year.
pub const MAX_SECONDS: i32 = 365 * 24 * 3600;
/// Labels a heartbeat's alert carries, at most.
const MAX_LABELS: usize = 30;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeartbeatRow {
    pub id: Uuid,
    pub ping_key: Uuid,
    pub name: String,
    pub period_seconds: Option<i32>,
    pub cron: Option<String>,
    pub time_zone: Option<String>,
    pub grace_seconds: i32,
    pub labels: serde_json::Value,
    pub state: HeartbeatState,
    pub last_ping_at: Option<OffsetDateTime>,
    pub started_at: Option<OffsetDateTime>,
    pub last_duration_ms: Option<i64>,
    pub late_at: Option<OffsetDateTime>,
    pub down_at: Option<OffsetDateTime>,
    pub alerting: bool,
    /// The component whose job it watches: down marks it for responders.
    pub component_id: Option<Uuid>,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// When pings are expected.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Every so often.
    Period(Duration),
    /// At the times a cron expression names, in a time zone.
    Cron(Cron, jiff::tz::TimeZone),
}

impl Schedule {
    /// When the next ping is due after one at `at`.
    pub fn due_after(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Schedule::Period(period) => Some(at + *period),
            Schedule::Cron(cron, zone) => {
                let after = jiff::Timestamp::from_second(at.unix_timestamp()).ok()?;
                let next = cron.next_after(after, zone)?;
                OffsetDateTime::from_unix_timestamp(next.as_second()).ok()
            }
        }
    }
}

impl HeartbeatRow {
    pub fn schedule(&self) -> Option<Schedule> {
        match (&self.period_seconds, &self.cron, &self.time_zone) {
            (Some(period), _, _) => Some(Schedule::Period(Duration::seconds(i64::from(*period)))),
            (None, Some(cron), Some(zone)) => Some(Schedule::Cron(
                cron.parse().ok()?,
                jiff::tz::TimeZone::get(zone).ok()?,
            )),
            _ => None,
        }
    }

    pub fn grace(&self) -> Duration {
        Duration::seconds(i64::from(self.grace_seconds))
    }

    pub fn labels(&self) -> Labels {
        serde_json::from_value(self.labels.clone()).unwrap_or_default()
    }

    /// The timers after a success at `at`: late when the next ping is due, down a grace
    /// time later.
    pub fn timers_after(
        &self,
        at: OffsetDateTime,
    ) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
        let late = self.schedule().and_then(|s| s.due_after(at));
        (late, late.map(|l| l + self.grace()))
    }
}

/// A statement yielding whole heartbeat rows; `$rest` follows the column list.
macro_rules! heartbeat_rows {
    ($before:literal, $rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            HeartbeatRow,
            $before + r#"id, ping_key, name, period_seconds, cron, time_zone, grace_seconds,
                 labels, state AS "state: HeartbeatState", last_ping_at, started_at,
                 last_duration_ms, late_at, down_at, alerting, component_id, version, created_at,
                 updated_at "# + $rest
            $(, $arg)*
        )
    };
}
pub(crate) use heartbeat_rows;

pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<HeartbeatRow>> {
    heartbeat_rows!("SELECT ", "FROM heartbeats ORDER BY lower(name), id")
        .fetch_all(db)
        .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<HeartbeatRow>> {
    heartbeat_rows!("SELECT ", "FROM heartbeats WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

pub(crate) async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<HeartbeatRow, CommandError> {
    heartbeat_rows!("SELECT ", "FROM heartbeats WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await?
        .ok_or(CommandError::NotFound)
}

/// What a heartbeat is made of; the schedule is a period or a cron expression with its
/// time zone.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NewHeartbeat {
    pub name: String,
    pub period_seconds: Option<i32>,
    pub cron: Option<String>,
    pub time_zone: Option<String>,
    pub grace_seconds: i32,
    pub labels: Labels,
    #[serde(default)]
    pub component_id: Option<Uuid>,
}

/// The checked schedule fields, as stored.
struct Checked {
    period_seconds: Option<i32>,
    cron: Option<String>,
    time_zone: Option<String>,
}

fn seconds(field: &'static str, value: i32, what: &str) -> Result<i32, CommandError> {
    if (MIN_SECONDS..=MAX_SECONDS).contains(&value) {
        Ok(value)
    } else {
        Err(CommandError::invalid(
            field,
            format!("The {what} is 60 seconds to a year ({MAX_SECONDS} seconds), not {value}."),
        ))
    }
}

/// A monitor's labels: at most 30, named with letters, digits and `_`.
pub(crate) fn check_labels(labels: &Labels) -> Result<(), CommandError> {
    if labels.len() > MAX_LABELS {
        return Err(CommandError::invalid(
            "labels",
            format!("A monitor has at most {MAX_LABELS} labels."),
        ));
    }
    for (name, value) in labels {
        let valid = !name.is_empty()
            && name.len() <= 100
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || value.chars().count() > 200 {
            return Err(CommandError::invalid(
                "labels",
                format!(
                    "Label {name:?}: names are letters, digits and _ (at most 100), values at most 200 characters."
                ),
            ));
        }
    }
    Ok(())
}

fn check(new: &NewHeartbeat) -> Result<Checked, CommandError> {
    seconds("grace_seconds", new.grace_seconds, "grace time")?;
    check_labels(&new.labels)?;
    let cron = new.cron.as_deref().map(str::trim).filter(|c| !c.is_empty());
    match (new.period_seconds, cron) {
        (Some(period), None) => {
            if new
                .time_zone
                .as_deref()
                .is_some_and(|z| !z.trim().is_empty())
            {
                return Err(CommandError::invalid(
                    "time_zone",
                    "A time zone goes with a cron expression, not a period.",
                ));
            }
            Ok(Checked {
                period_seconds: Some(seconds("period_seconds", period, "period")?),
                cron: None,
                time_zone: None,
            })
        }
        (None, Some(cron)) => {
            cron.parse::<Cron>()
                .map_err(|e| CommandError::invalid("cron", format!("The cron expression: {e}.")))?;
            let zone = new.time_zone.as_deref().map(str::trim).unwrap_or("UTC");
            let zone = if zone.is_empty() { "UTC" } else { zone };
            jiff::tz::TimeZone::get(zone).map_err(|_| {
                CommandError::invalid("time_zone", format!("{zone:?} is not a time zone."))
            })?;
            Ok(Checked {
                period_seconds: None,
                cron: Some(cron.to_owned()),
                time_zone: Some(zone.to_owned()),
            })
        }
        (Some(_), Some(_)) => Err(CommandError::invalid(
            "cron",
            "Give a period or a cron expression, not both.",
        )),
        (None, None) => Err(CommandError::invalid(
            "period_seconds",
            "Give a period (period_seconds) or a cron expression (cron).",
        )),
    }
}

fn refused(err: sqlx::Error, name: &str) -> CommandError {
    match crate::platform::db::violated_constraint(&err) {
        Some("heartbeats_name_key") => CommandError::invalid(
            "name",
            format!("A heartbeat called \"{name}\" exists already."),
        ),
        Some("heartbeats_component_id_fkey") => {
            CommandError::invalid("component_id", "There is no such component.")
        }
        _ => err.into(),
    }
}

/// Make a heartbeat. It is *new* until its first ping, and alerts on nothing until then.
pub async fn create(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    new: NewHeartbeat,
) -> Result<HeartbeatRow, CommandError> {
    let name = text::NAME.trimmed("name", &new.name, "The name cannot be empty.")?;
    let checked = check(&new)?;
    let labels = serde_json::to_value(&new.labels).unwrap_or_default();
    let row = heartbeat_rows!(
        "INSERT INTO heartbeats (id, ping_key, name, period_seconds, cron, time_zone, \
             grace_seconds, labels, created_by, component_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
        "",
        Uuid::new_v4(),
        Uuid::new_v4(),
        name,
        checked.period_seconds,
        checked.cron,
        checked.time_zone,
        new.grace_seconds,
        labels,
        actor,
        new.component_id
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| refused(e, name))?;
    let action = AuditAction::HeartbeatCreated {
        heartbeat_id: row.id,
        name: row.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(row)
}

/// Change a heartbeat read at `version` (every field given, as [`NewHeartbeat`]). A
/// running heartbeat's timers follow the new schedule from its last ping.
pub async fn update(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    version: i32,
    change: NewHeartbeat,
) -> Result<HeartbeatRow, CommandError> {
    let current = lock(&mut *conn, id).await?;
    CommandError::unless_version(version, current.version)?;
    let name = text::NAME.trimmed("name", &change.name, "The name cannot be empty.")?;
    let checked = check(&change)?;
    let labels = serde_json::to_value(&change.labels).unwrap_or_default();
    let mut row = heartbeat_rows!(
        "UPDATE heartbeats SET name = $2, period_seconds = $3, cron = $4, time_zone = $5, \
             grace_seconds = $6, labels = $7, component_id = $8, version = version + 1, \
             updated_at = now() \
         WHERE id = $1 RETURNING ",
        "",
        id,
        name,
        checked.period_seconds,
        checked.cron,
        checked.time_zone,
        change.grace_seconds,
        labels,
        change.component_id
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| refused(e, name))?;
    if let (HeartbeatState::Up | HeartbeatState::Late, Some(last)) = (row.state, row.last_ping_at) {
        let (late_at, down_at) = row.timers_after(last);
        set_timers(&mut *conn, row.id, HeartbeatState::Up, late_at, down_at).await?;
        row = lock(&mut *conn, id).await?;
    }
    let action = AuditAction::HeartbeatUpdated {
        heartbeat_id: row.id,
        name: row.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(row)
}

/// Set the state and the timers (the sweep turns it late and down by them).
pub(crate) async fn set_timers(
    conn: &mut PgConnection,
    id: Uuid,
    state: HeartbeatState,
    late_at: Option<OffsetDateTime>,
    down_at: Option<OffsetDateTime>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE heartbeats SET state = $2, late_at = $3, down_at = $4, updated_at = now() \
         WHERE id = $1",
        id,
        state as HeartbeatState,
        late_at,
        down_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Pause: pings are recorded but change nothing, and an alert it raised resolves; only
/// [`resume`] ends it.
pub async fn pause(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<HeartbeatRow, CommandError> {
    let current = lock(&mut *conn, id).await?;
    if current.state != HeartbeatState::Paused {
        super::alerting::resolve(
            &mut *conn,
            &current,
            OffsetDateTime::now_utc(),
            "was paused",
        )
        .await?;
        set_timers(&mut *conn, id, HeartbeatState::Paused, None, None).await?;
        bump(&mut *conn, id).await?;
        let action = AuditAction::HeartbeatPaused {
            heartbeat_id: id,
            name: current.name.clone(),
        };
        audit::log(&mut *conn, actor, &action).await?;
    }
    lock(conn, id).await
}

/// Resume a paused heartbeat: it is *new* again, and its next ping starts it.
pub async fn resume(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<HeartbeatRow, CommandError> {
    let current = lock(&mut *conn, id).await?;
    if current.state == HeartbeatState::Paused {
        set_timers(&mut *conn, id, HeartbeatState::New, None, None).await?;
        bump(&mut *conn, id).await?;
        let action = AuditAction::HeartbeatResumed {
            heartbeat_id: id,
            name: current.name.clone(),
        };
        audit::log(&mut *conn, actor, &action).await?;
    }
    lock(conn, id).await
}

async fn bump(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE heartbeats SET version = version + 1, updated_at = now() WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Delete a heartbeat and its pings; an alert it raised resolves.
pub async fn delete(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<(), CommandError> {
    let current = lock(&mut *conn, id).await?;
    super::alerting::resolve(
        &mut *conn,
        &current,
        OffsetDateTime::now_utc(),
        "was deleted",
    )
    .await?;
    sqlx::query!("DELETE FROM heartbeats WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    let action = AuditAction::HeartbeatDeleted {
        heartbeat_id: id,
        name: current.name,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}
