//! Fireline: self-hosted incident response with a public status page.
//!
//! `main.rs` parses the command line and calls [`cli::run`]; everything else lives here.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod live;
pub mod markdown;
pub mod metrics;
pub mod postmortems;
pub mod status_page;
pub mod telemetry;
pub mod webhooks;
