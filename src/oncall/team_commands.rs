//! Commands on teams: create, change, delete, set the members. Validation, the change and
//! its audit entry, for every front door alike.

use jiff::tz::TimeZone;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use super::model::{RotationInterval, TeamRow};
use super::teams::{self, TeamFields};
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::text;

/// A rotation as a front door gives it.
#[derive(Debug, Clone)]
pub struct RotationInput {
    pub interval: RotationInterval,
    pub handoff: Time,
    pub time_zone: String,
    /// The day of the first hand-off (to the first of `user_ids`); default: today there.
    pub starts_on: Option<Date>,
    /// Members, in the order they take over.
    pub user_ids: Vec<Uuid>,
}

/// Working hours as a front door gives them.
#[derive(Debug, Clone)]
pub struct WorkingHoursInput {
    /// ISO weekdays, 1 (Monday) to 7.
    pub days: Vec<i16>,
    pub start: Time,
    pub end: Time,
    pub time_zone: String,
}

/// What a new team is made of.
#[derive(Debug, Clone, Default)]
pub struct NewTeam {
    pub name: String,
    pub member_ids: Vec<Uuid>,
    pub escalation_policy_id: Option<Uuid>,
    pub rotation: Option<RotationInput>,
    pub working_hours: Option<WorkingHoursInput>,
    pub acked_mode_minutes: Option<i32>,
}

/// Changes to a team; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct TeamChanges {
    pub name: Option<String>,
    pub escalation_policy_id: Option<Option<Uuid>>,
    pub rotation: Option<Option<RotationInput>>,
    pub working_hours: Option<WorkingHoursInput>,
    pub acked_mode_minutes: Option<i32>,
    /// The version the change was made against; a newer one refuses it.
    pub version: Option<i32>,
}

/// A time zone by its IANA name.
pub fn zone(field: &'static str, name: &str) -> Result<TimeZone, CommandError> {
    TimeZone::get(name.trim()).map_err(|_| {
        CommandError::invalid(
            field,
            format!(
                "\"{}\" is not a time zone; use a name such as Europe/Berlin or UTC.",
                name.trim()
            ),
        )
    })
}

/// The columns of a checked team, owning what they borrow.
struct Checked {
    name: String,
    escalation_policy_id: Option<Uuid>,
    rotation: Option<(RotationInterval, Time, String, Date, Vec<Uuid>)>,
    hours: WorkingHoursInput,
    acked_mode_minutes: i32,
}

impl Checked {
    fn fields(&self) -> TeamFields<'_> {
        let rotation = self.rotation.as_ref();
        TeamFields {
            name: &self.name,
            escalation_policy_id: self.escalation_policy_id,
            rotation_interval: rotation.map(|r| r.0),
            rotation_handoff: rotation.map(|r| r.1),
            rotation_time_zone: rotation.map(|r| r.2.as_str()),
            rotation_starts_on: rotation.map(|r| r.3),
            rotation_user_ids: rotation.map_or(&[], |r| &r.4),
            work_days: &self.hours.days,
            work_starts: self.hours.start,
            work_ends: self.hours.end,
            work_time_zone: &self.hours.time_zone,
            acked_mode_minutes: self.acked_mode_minutes,
        }
    }
}

fn check_name(raw: &str) -> Result<String, CommandError> {
    let name = raw.trim();
    text::NAME.check_required("name", name)?;
    Ok(name.to_owned())
}

fn check_rotation(
    rotation: RotationInput,
    members: &[Uuid],
    now: OffsetDateTime,
) -> Result<(RotationInterval, Time, String, Date, Vec<Uuid>), CommandError> {
    let tz = zone("rotation.time_zone", &rotation.time_zone)?;
    if rotation.user_ids.is_empty() {
        return Err(CommandError::invalid(
            "rotation.user_ids",
            "A rotation needs at least one member to hand duty to.",
        ));
    }
    let mut seen = Vec::new();
    for id in &rotation.user_ids {
        if !members.contains(id) {
            return Err(CommandError::invalid(
                "rotation.user_ids",
                format!("{id} is not a member of the team; add them as a member first."),
            ));
        }
        if seen.contains(id) {
            return Err(CommandError::invalid(
                "rotation.user_ids",
                format!("{id} is in the rotation twice."),
            ));
        }
        seen.push(*id);
    }
    let starts_on = match rotation.starts_on {
        Some(day) => day,
        None => {
            let ts = jiff::Timestamp::from_second(now.unix_timestamp()).map_err(|_| {
                CommandError::invalid("rotation.starts_on", "Give the day the rotation starts.")
            })?;
            let today = ts.to_zoned(tz).date();
            Date::from_calendar_date(
                i32::from(today.year()),
                time::Month::try_from(today.month() as u8).map_err(|_| {
                    CommandError::invalid("rotation.starts_on", "Give the day the rotation starts.")
                })?,
                today.day() as u8,
            )
            .map_err(|_| {
                CommandError::invalid("rotation.starts_on", "Give the day the rotation starts.")
            })?
        }
    };
    Ok((
        rotation.interval,
        rotation.handoff,
        rotation.time_zone.trim().to_owned(),
        starts_on,
        rotation.user_ids,
    ))
}

fn check_hours(mut hours: WorkingHoursInput) -> Result<WorkingHoursInput, CommandError> {
    zone("working_hours.time_zone", &hours.time_zone)?;
    hours.time_zone = hours.time_zone.trim().to_owned();
    if hours.days.is_empty() || hours.days.iter().any(|d| !(1..=7).contains(d)) {
        return Err(CommandError::invalid(
            "working_hours.days",
            "Working days are weekdays 1 (Monday) to 7 (Sunday), at least one.",
        ));
    }
    hours.days.sort_unstable();
    hours.days.dedup();
    if hours.start >= hours.end {
        return Err(CommandError::invalid(
            "working_hours.end",
            "Working hours end after they start.",
        ));
    }
    Ok(hours)
}

fn check_acked(minutes: i32) -> Result<i32, CommandError> {
    if (1..=1440).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(CommandError::invalid(
            "acked_mode_minutes",
            "Acked mode lasts 1 to 1440 minutes.",
        ))
    }
}

async fn check_members(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Uuid>, CommandError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let enabled = teams::enabled_users(&mut *conn, &ids).await?;
    if let Some(missing) = ids.iter().find(|id| !enabled.contains(id)) {
        return Err(CommandError::invalid(
            "user_ids",
            format!("There is no enabled user {missing}."),
        ));
    }
    Ok(ids)
}

async fn check_policy(
    conn: &mut PgConnection,
    id: Option<Uuid>,
) -> Result<Option<Uuid>, CommandError> {
    if let Some(id) = id {
        if super::policies::find(&mut *conn, id).await?.is_none() {
            return Err(CommandError::invalid(
                "escalation_policy_id",
                format!("There is no escalation policy {id}."),
            ));
        }
    }
    Ok(id)
}

fn refused(err: sqlx::Error, name: &str) -> CommandError {
    if crate::platform::db::violated_constraint(&err) == Some("teams_name_key") {
        CommandError::invalid("name", format!("A team called \"{name}\" exists already."))
    } else {
        err.into()
    }
}

fn default_hours() -> WorkingHoursInput {
    WorkingHoursInput {
        days: vec![1, 2, 3, 4, 5],
        start: time::macros::time!(09:00),
        end: time::macros::time!(17:00),
        time_zone: "UTC".into(),
    }
}

/// Add a team with its members (and its rotation among them).
#[tracing::instrument(skip_all, fields(name = new.name))]
pub async fn create(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    new: NewTeam,
    now: OffsetDateTime,
) -> Result<Uuid, CommandError> {
    let members = check_members(&mut *conn, &new.member_ids).await?;
    let checked = Checked {
        name: check_name(&new.name)?,
        escalation_policy_id: check_policy(&mut *conn, new.escalation_policy_id).await?,
        rotation: new
            .rotation
            .map(|r| check_rotation(r, &members, now))
            .transpose()?,
        hours: check_hours(new.working_hours.unwrap_or_else(default_hours))?,
        acked_mode_minutes: check_acked(new.acked_mode_minutes.unwrap_or(30))?,
    };
    let id = Uuid::new_v4();
    teams::insert(&mut *conn, id, &checked.fields())
        .await
        .map_err(|e| refused(e, &checked.name))?;
    teams::set_members(&mut *conn, id, &members).await?;
    let action = AuditAction::TeamCreated {
        team_id: id,
        name: checked.name.clone(),
        member_ids: members,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(id)
}

fn rotation_of(team: &TeamRow) -> Option<RotationInput> {
    Some(RotationInput {
        interval: team.rotation_interval?,
        handoff: team.rotation_handoff?,
        time_zone: team.rotation_time_zone.clone()?,
        starts_on: team.rotation_starts_on,
        user_ids: team.rotation_user_ids.clone(),
    })
}

/// Change a team's details.
#[tracing::instrument(skip_all, fields(team_id = %id))]
pub async fn update(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    change: TeamChanges,
    now: OffsetDateTime,
) -> Result<(), CommandError> {
    let team = teams::lock(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if let Some(expected) = change.version.filter(|v| *v != team.version) {
        return Err(CommandError::Stale {
            expected,
            current: team.version,
        });
    }
    let members: Vec<Uuid> = teams::members_of(&mut *conn, &[id])
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let rotation = change.rotation.unwrap_or_else(|| rotation_of(&team));
    let policy = change
        .escalation_policy_id
        .unwrap_or(team.escalation_policy_id);
    let checked = Checked {
        name: check_name(change.name.as_deref().unwrap_or(&team.name))?,
        escalation_policy_id: check_policy(&mut *conn, policy).await?,
        rotation: rotation
            .map(|r| check_rotation(r, &members, now))
            .transpose()?,
        hours: check_hours(change.working_hours.unwrap_or_else(|| WorkingHoursInput {
            days: team.work_days.clone(),
            start: team.work_starts,
            end: team.work_ends,
            time_zone: team.work_time_zone.clone(),
        }))?,
        acked_mode_minutes: check_acked(
            change.acked_mode_minutes.unwrap_or(team.acked_mode_minutes),
        )?,
    };
    teams::update(&mut *conn, id, &checked.fields())
        .await
        .map_err(|e| refused(e, &checked.name))?;
    let action = AuditAction::TeamUpdated {
        team_id: id,
        name: checked.name,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}

/// Make `user_ids` the team's members. Someone who leaves the team also leaves its
/// rotation; taken duty of someone who leaves is handed back.
#[tracing::instrument(skip_all, fields(team_id = %id))]
pub async fn set_members(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    user_ids: &[Uuid],
    now: OffsetDateTime,
) -> Result<(), CommandError> {
    let team = teams::lock(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let members = check_members(&mut *conn, user_ids).await?;
    teams::set_members(&mut *conn, id, &members).await?;
    let kept: Vec<Uuid> = team
        .rotation_user_ids
        .iter()
        .copied()
        .filter(|u| members.contains(u))
        .collect();
    if kept.len() != team.rotation_user_ids.len() {
        let rotation = rotation_of(&team).map(|mut r| {
            r.user_ids = kept;
            r
        });
        // A rotation nobody is left in is no rotation.
        let rotation = rotation.filter(|r| !r.user_ids.is_empty());
        let change = TeamChanges {
            rotation: Some(rotation),
            ..TeamChanges::default()
        };
        update(&mut *conn, actor, id, change, now).await?;
    }
    super::duty::hand_back_unless_member(&mut *conn, id, &members, now).await?;
    let action = AuditAction::TeamMembersSet {
        team_id: id,
        user_ids: members,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}

/// Delete a team (its duty record goes with it; routes that named it fall back to their
/// integration's team).
#[tracing::instrument(skip_all, fields(team_id = %id))]
pub async fn delete(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<(), CommandError> {
    let team = teams::lock(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)?;
    teams::delete(&mut *conn, id).await?;
    let action = AuditAction::TeamDeleted {
        team_id: id,
        name: team.name,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}
