//! Background jobs: a Postgres queue claimed with `FOR UPDATE SKIP LOCKED`, a runner that
//! stops with the server, and one file per job kind.

mod prune;
pub mod queue;
mod runner;

pub use queue::{enqueue, JobRow, NewJob};
pub use runner::{
    run_until_empty, HandlerFuture, JobContext, JobError, Registry, RunSummary, Runner,
};

/// The registry of every job kind Fireline knows.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.register(prune::KIND, prune::prune_expired);
    registry
}

/// Jobs the runner schedules for itself at most every `interval`.
pub(crate) fn periodic() -> Vec<(&'static str, std::time::Duration)> {
    vec![(prune::KIND, std::time::Duration::from_secs(3600))]
}
