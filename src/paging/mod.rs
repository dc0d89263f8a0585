//! Paging: the run of an escalation policy for a critical alert group (a *page*), its
//! durable steps, acknowledgement from anywhere (the UI, the API, the CLI, a signed link),
//! and acked mode.

pub mod acknowledge;
pub mod announce;
pub mod consumer;
pub mod engine;
pub mod incident;
pub mod links;
pub mod model;
pub mod reach;
pub mod receipts;
pub mod report;
pub mod store;

pub use acknowledge::{acknowledge, AckOutcome};
pub use model::{AckVia, PageRow, PageState};
