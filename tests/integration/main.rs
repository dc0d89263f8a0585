//! Integration tests: the real router and the real binary on a real PostgreSQL.

mod support;

mod auth;
mod cli;
mod database;
mod errors;
mod jobs;
mod ops;
mod roles;
mod server;
mod setup;
mod tokens;
