//! Integration tests: the real router and the real binary on a real PostgreSQL.

mod support;

mod auth;
mod browser;
mod cli;
mod components;
mod database;
mod errors;
mod incidents;
mod jobs;
mod live;
mod ops;
mod outage;
mod postmortems;
mod roles;
mod screenshots;
mod security_headers;
mod server;
mod setup;
mod status_page;
mod tokens;
mod webhooks;
