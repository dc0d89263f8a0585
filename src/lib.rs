//! Fireline: self-hosted incident response with a public status page.
//!
//! `main.rs` parses the command line and calls [`cli::run`]. Each capability is one
//! module that owns its types, commands and queries; `http` and `cli` are the front
//! doors; `platform` is the infrastructure that knows no capability. See ARCHITECTURE.md.

pub mod accounts;
pub mod alerts;
pub mod app;
pub mod cli;
pub mod components;
pub mod email_subscribers;
pub mod http;
pub mod incidents;
pub mod maintenance;
pub mod monitors;
pub mod notify;
pub mod oncall;
pub mod paging;
pub mod platform;
pub mod postmortems;
pub mod status_page;
pub mod watchdog;
pub mod webhooks;
