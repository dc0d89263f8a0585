//! Monitors: what Fireline watches itself. Heartbeats (dead man's switches) are pinged by
//! the jobs they watch, through the Healthchecks ping API; no ping in time makes one
//! late, then down, and down raises an alert through the intake routing (so paging,
//! escalation, acked mode and incidents apply) that its next success resolves.

pub mod alerting;
pub mod cron;
pub mod heartbeats;
pub mod pings;
pub mod sweep;

pub use heartbeats::{HeartbeatRow, HeartbeatState};
