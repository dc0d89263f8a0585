//! On call: teams and their members, who is on duty (override > taken > rotation), and
//! the escalation policies that say how a critical alert reaches people.

pub mod duty;
pub mod model;
pub mod overrides;
pub mod policies;
pub mod schedule;
pub mod team_commands;
pub mod teams;

pub use model::{DutySource, RotationInterval, TeamRow};
