//! Infrastructure that knows no capability: the database and its private cluster, the
//! job queue, the domain-event stream, live signals, Markdown, metrics, audit storage,
//! secrets and time formats.

pub mod args;
pub mod audit;
pub mod command;
pub mod db;
pub mod events;
pub mod jobs;
mod labelled;
pub mod live;
pub mod markdown;
pub mod metrics;
pub mod secret;
pub mod server_secrets;
pub mod signed;
pub mod telemetry;
pub mod text;
pub mod time;

pub(crate) use labelled::labelled_enum;
