//! Postmortems: drafted from the incident's own record, edited and reviewed, optionally
//! published on the status page, with action items tracked until done.

pub mod draft;
