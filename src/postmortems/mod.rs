//! Postmortems: drafted from the incident's own record, edited and reviewed, optionally
//! published on the status page, with action items tracked until done.

mod happened;
pub use happened::PostmortemEvent;

mod model;
pub mod store;

pub use model::{is_overdue, today, ActionKind, ActionPriority, ActionStatus, PostmortemStatus};

pub mod draft;
