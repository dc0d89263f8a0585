//! Background jobs: a Postgres queue claimed with `FOR UPDATE SKIP LOCKED`, a runner that
//! stops with the server, and one file per job kind.

pub mod queue;
mod runner;

pub use queue::{enqueue, JobRow, NewJob};
pub use runner::{
    run_until_empty, worker_id, HandlerFuture, JobContext, JobError, Registry, RunSummary, Runner,
};
