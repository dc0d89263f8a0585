//! Monitors: what Fireline watches itself. Heartbeats (dead man's switches) are pinged by
//! the jobs they watch, through the Healthchecks ping API; no ping in time makes one
//! late, then down, and down raises an alert through the intake routing (so paging,
//! escalation, acked mode and incidents apply) that its next success resolves. Active
//! checks probe services (HTTP(S), TCP, DNS) every interval from the check runner; a run
//! of failures takes one down, raising an alert and proposing a status for its
//! component, and a run of successes brings it back.

pub mod alerting;
pub mod checks;
pub mod cron;
pub mod effects;
pub mod heartbeats;
pub mod history;
pub mod outbound;
pub mod pings;
pub mod probe;
pub mod runner;
pub mod sweep;

pub use heartbeats::{HeartbeatRow, HeartbeatState};
