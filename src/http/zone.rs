//! The reader's time zone on admin pages: the signed-in user's chosen zone, else the
//! status page's. Set once per request by [`reader_zone`], so that every time an admin
//! page formats (`format_time`, the `datetime-local` inputs) is in it without threading
//! it through each view. The browser script then moves times into the browser's own zone
//! unless the user chose one.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use time::OffsetDateTime;

use super::extract::MaybeUser;
use crate::app::AppState;
use crate::status_page::clock::Clock;

/// The zone an admin page is rendered in.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    pub clock: Clock,
    /// The user chose it in their profile (the browser script leaves times alone).
    pub explicit: bool,
}

tokio::task_local! {
    static READER: Reader;
}

/// The zone of the request being served (UTC outside one).
pub fn reader() -> Reader {
    READER.try_with(Reader::clone).unwrap_or_default()
}

/// Run `f` in `reader`'s zone (for work done outside the request's task: live streams).
pub fn within<T>(reader: Reader, f: impl FnOnce() -> T) -> T {
    READER.sync_scope(reader, f)
}

/// The status page's configured zone, as last loaded.
pub fn page_clock(state: &AppState) -> Clock {
    state
        .status_page
        .snapshot()
        .map(|s| s.clock.clone())
        .unwrap_or_default()
}

/// Middleware for the admin UI: find the reader's zone and serve the request in it.
pub async fn reader_zone(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    // Cached in the request for the handler; a failure here is the handler's to report.
    let chosen = match MaybeUser::from_request_parts(&mut parts, &state).await {
        Ok(MaybeUser(Some(user))) => user.user.time_zone.as_deref().and_then(Clock::parse),
        _ => None,
    };
    let reader = match chosen {
        Some(clock) => Reader {
            clock,
            explicit: true,
        },
        None => Reader {
            clock: page_clock(&state),
            explicit: false,
        },
    };
    READER
        .scope(reader, next.run(Request::from_parts(parts, body)))
        .await
}

/// A time for people on admin pages: "2026-03-04 05:12 EST", in the reader's zone.
pub fn format_time(at: OffsetDateTime) -> String {
    reader().clock.format(at, "%Y-%m-%d %H:%M %Z")
}

/// The same time in UTC, for `title` and for readers of another zone.
pub fn utc_title(at: OffsetDateTime) -> String {
    crate::platform::time::format_utc(at)
}

/// A time on an admin page as markup: `<time datetime=UTC title=UTC data-local>` around
/// the reader's-zone text, for the browser script to move into the browser's zone.
#[derive(Debug, Clone)]
pub struct Stamp {
    shown: String,
    iso: String,
    utc: String,
}

/// [`Stamp`] for `at`, in the reader's zone.
pub fn stamp(at: OffsetDateTime) -> Stamp {
    Stamp {
        shown: format_time(at),
        iso: crate::platform::time::rfc3339(at),
        utc: utc_title(at),
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            r#"<time datetime="{}" title="{}" data-local>{}</time>"#,
            self.iso, self.utc, self.shown
        )
    }
}

// Digits, punctuation and zone abbreviations from the time zone database only.
impl askama::filters::HtmlSafe for Stamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_a_time_element_with_utc_in_it() {
        let at = time::macros::datetime!(2026-03-04 10:12 UTC);
        let html = within(
            Reader {
                clock: Clock::parse("America/New_York").unwrap(),
                explicit: true,
            },
            || stamp(at).to_string(),
        );
        assert_eq!(
            html,
            r#"<time datetime="2026-03-04T10:12:00Z" title="2026-03-04 10:12 UTC" data-local>2026-03-04 05:12 EST</time>"#
        );
    }
}
