//! Validated domain types and enums. Nothing here knows about HTTP; the sqlx and clap
//! derives only name how the enums are spelled in storage and on the command line.

mod incident;
mod postmortem;
mod status_page;
pub mod text;
mod user;
mod webhooks;

pub use incident::{
    format_duration, overdue_update_minutes, ComponentStatus, Durations, EventKind, Impact,
    IncidentRef, IncidentStatus, Lifecycle, Milestone, Nudges, Severity, Visibility,
    WorkstreamKind, WorkstreamStatus,
};
pub use postmortem::{is_overdue, ActionKind, ActionPriority, ActionStatus, PostmortemStatus};
pub use status_page::{
    breakdown, rollup, uptime_percent, utc_day, DayBreakdown, Indicator, MaintenanceStatus,
};
pub use user::{Email, NewPassword, PersonName, Role, ValidationError};
pub use webhooks::{retry_delay, DeliveryState, SubscriberState, DISABLE_AFTER, RETRY_SCHEDULE};

use time::OffsetDateTime;

/// A time for people: UTC, to the minute, saying so.
pub fn format_utc(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
}

/// RFC 3339, for machines and `<time datetime>`.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
