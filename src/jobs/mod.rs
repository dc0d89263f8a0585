//! Background jobs: a Postgres queue claimed with `FOR UPDATE SKIP LOCKED`, a runner that
//! stops with the server, and one file per job kind.

mod maintenance;
mod prune;
mod runner;
mod uptime;

pub use crate::db::jobs as queue;
pub use crate::db::jobs::{enqueue, JobRow, NewJob};
pub use runner::{
    run_until_empty, HandlerFuture, JobContext, JobError, Registry, RunSummary, Runner,
};

/// The registry of every job kind Fireline knows.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.register(prune::KIND, prune::prune_expired);
    registry.register(uptime::KIND, uptime::roll_up_uptime);
    registry.register(
        crate::db::maintenances::START_JOB,
        maintenance::advance_maintenance,
    );
    registry.register(
        crate::db::maintenances::END_JOB,
        maintenance::advance_maintenance,
    );
    registry
}

/// Jobs the runner schedules for itself at most every `interval`.
pub(crate) fn periodic() -> Vec<(&'static str, std::time::Duration)> {
    vec![
        (prune::KIND, std::time::Duration::from_secs(3600)),
        (uptime::KIND, std::time::Duration::from_secs(3600)),
    ]
}
