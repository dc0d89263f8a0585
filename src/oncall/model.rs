//! The types of teams and duty.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use crate::platform::labelled_enum;

labelled_enum!(
    /// How often a rotation hands duty to the next member.
    RotationInterval, "rotation_interval" {
        Daily => "daily", "Every day";
        Weekly => "weekly", "Every week";
    }
);

labelled_enum!(
    /// How explicit duty began: taken by the person, or passed to them.
    DutyTakeKind, "duty_take_kind" {
        Taken => "taken", "Took duty";
        Passed => "passed", "Was passed duty";
    }
);

/// Why someone is on duty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DutySource {
    /// An override covers now.
    Override,
    /// They took duty (or it was passed to them) and have not handed it back.
    Taken,
    /// The team's rotation.
    Rotation,
}

impl DutySource {
    pub fn as_str(self) -> &'static str {
        match self {
            DutySource::Override => "override",
            DutySource::Taken => "taken",
            DutySource::Rotation => "rotation",
        }
    }

    /// In words, after a name: "Ada (took duty)".
    pub fn label(self) -> &'static str {
        match self {
            DutySource::Override => "override",
            DutySource::Taken => "took duty",
            DutySource::Rotation => "rotation",
        }
    }
}

/// A team as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub escalation_policy_id: Option<Uuid>,
    pub rotation_interval: Option<RotationInterval>,
    pub rotation_handoff: Option<Time>,
    pub rotation_time_zone: Option<String>,
    pub rotation_starts_on: Option<Date>,
    pub rotation_user_ids: Vec<Uuid>,
    pub work_days: Vec<i16>,
    pub work_starts: Time,
    pub work_ends: Time,
    pub work_time_zone: String,
    pub acked_mode_minutes: i32,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl TeamRow {
    /// When the team works; `None` if its stored zone is unknown to this build.
    pub fn working_hours(&self) -> Option<super::schedule::WorkingHours> {
        Some(super::schedule::WorkingHours {
            days: self.work_days.clone(),
            start: super::schedule::civil_time(self.work_starts),
            end: super::schedule::civil_time(self.work_ends),
            time_zone: jiff::tz::TimeZone::get(&self.work_time_zone).ok()?,
        })
    }
}

/// A member of a team, with what people see of them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub team_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub disabled: bool,
}

/// A stretch of taken (or passed) duty.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DutyTakeRow {
    pub id: Uuid,
    pub team_id: Uuid,
    pub user_id: Uuid,
    pub user_name: String,
    pub kind: DutyTakeKind,
    pub passed_by: Option<Uuid>,
    pub passed_by_name: Option<String>,
    pub started_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
}

/// An override: someone covers the team for a while.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverrideRow {
    pub id: Uuid,
    pub team_id: Uuid,
    pub user_id: Uuid,
    pub user_name: String,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub reason: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
}
