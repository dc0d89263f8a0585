//! Integration tests: the real router and the real binary on a real PostgreSQL.

mod support;

mod auth;
mod errors;
mod roles;
mod setup;
mod tokens;
