//! Integration tests: the real router and the real binary on a real PostgreSQL.

mod support;

mod alertmanager_e2e;
mod auth;
mod browser;
mod cli;
mod components;
mod csrf;
mod database;
mod domain_events;
mod errors;
mod first_run;
mod incidents;
mod jobs;
mod limits;
mod live;
mod openapi;
mod openapi_doc;
mod openapi_ops;
mod openapi_ops_rest;
mod ops;
mod outage;
mod phone;
mod postmortems;
mod publication;
mod roles;
mod screenshots;
mod security_headers;
mod server;
mod setup;
mod status_page;
mod time_zones;
mod tokens;
mod versions;
mod webhooks;
