//! Times as people and machines read them.

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
