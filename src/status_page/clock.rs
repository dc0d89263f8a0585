//! Times in the page's display time zone.

use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Clock {
    tz: jiff::tz::TimeZone,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            tz: jiff::tz::TimeZone::UTC,
        }
    }
}

impl Clock {
    /// The zone by IANA name, or `None` when there is no such zone.
    pub fn parse(name: &str) -> Option<Self> {
        jiff::tz::TimeZone::get(name.trim())
            .ok()
            .map(|tz| Clock { tz })
    }

    /// Its IANA name ("America/New_York"; "UTC" for UTC).
    pub fn name(&self) -> &str {
        self.tz.iana_name().unwrap_or("UTC")
    }

    /// Every zone name of the bundled database, sorted.
    pub fn zone_names() -> Vec<String> {
        let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        names.sort();
        names
    }

    /// `YYYY-MM-DDTHH:MM` in this zone, for `<input type="datetime-local">`.
    pub fn input_value(&self, at: OffsetDateTime) -> String {
        self.format(at, "%Y-%m-%dT%H:%M")
    }

    /// What a `datetime-local` input sends (`YYYY-MM-DDTHH:MM[:SS]`), read as a wall
    /// clock time in this zone; or an RFC 3339 time with its own offset. In a gap (the
    /// hour skipped when clocks go forward) the later reading is taken.
    pub fn parse_local(&self, raw: &str) -> Option<OffsetDateTime> {
        let raw = raw.trim();
        if let Ok(at) = OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339) {
            return Some(at);
        }
        if raw.len() > 19 || !raw.contains('T') {
            return None;
        }
        let civil: jiff::civil::DateTime = raw.parse().ok()?;
        let zoned = civil.to_zoned(self.tz.clone()).ok()?;
        OffsetDateTime::from_unix_timestamp_nanos(zoned.timestamp().as_nanosecond())
            .ok()
            .map(|at| at.to_offset(time::UtcOffset::UTC))
    }

    /// The zone by IANA name; UTC when the name is unknown.
    pub fn new(name: &str) -> Self {
        Clock {
            tz: jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC),
        }
    }

    pub fn is_valid_zone(name: &str) -> bool {
        jiff::tz::TimeZone::get(name).is_ok()
    }

    fn zoned(&self, at: OffsetDateTime) -> Option<jiff::Zoned> {
        let ts = jiff::Timestamp::from_second(at.unix_timestamp()).ok()?;
        Some(ts.to_zoned(self.tz.clone()))
    }

    /// strftime-style formatting (`%b %-d, %H:%M %Z`).
    pub fn format(&self, at: OffsetDateTime, pattern: &str) -> String {
        self.zoned(at)
            .map(|z| z.strftime(pattern).to_string())
            .unwrap_or_default()
    }

    /// The calendar date in this zone.
    pub fn date(&self, at: OffsetDateTime) -> time::Date {
        self.zoned(at)
            .and_then(|z| {
                let d = z.date();
                time::Date::from_calendar_date(
                    i32::from(d.year()),
                    time::Month::try_from(d.month() as u8).ok()?,
                    d.day() as u8,
                )
                .ok()
            })
            .unwrap_or(at.date())
    }

    /// "Mar 4, 10:12 UTC"
    pub fn short(&self, at: OffsetDateTime) -> String {
        self.format(at, "%b %-d, %H:%M %Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_show_in_the_page_zone() {
        let at = datetime!(2026-03-04 10:12 UTC);
        assert_eq!(Clock::new("Etc/UTC").short(at), "Mar 4, 10:12 UTC");
        assert_eq!(Clock::new("Europe/Berlin").short(at), "Mar 4, 11:12 CET");
        assert_eq!(Clock::new("Not/AZone").short(at), "Mar 4, 10:12 UTC");
        assert_eq!(Clock::new("America/New_York").name(), "America/New_York");
        assert_eq!(
            Clock::new("America/Los_Angeles")
                .date(datetime!(2026-03-04 03:00 UTC))
                .to_string(),
            "2026-03-03"
        );
    }

    #[test]
    fn wall_clock_input_is_read_in_the_zone_it_names() {
        let ny = Clock::parse("America/New_York").unwrap();
        let at = ny.parse_local("2026-01-15T09:30").unwrap();
        assert_eq!(at, datetime!(2026-01-15 14:30 UTC));
        assert_eq!(ny.input_value(at), "2026-01-15T09:30");
        // Summer time: four hours behind UTC.
        assert_eq!(
            ny.parse_local("2026-07-01T09:30:00").unwrap(),
            datetime!(2026-07-01 13:30 UTC)
        );
        // An explicit offset wins over the zone.
        assert_eq!(
            ny.parse_local("2026-01-15T09:30:00+01:00").unwrap(),
            datetime!(2026-01-15 08:30 UTC)
        );
        assert!(ny.parse_local("tomorrow").is_none());
        assert!(ny.parse_local("2026-13-01T10:00").is_none());
        assert!(ny.parse_local("2026-01-15").is_none());
        assert!(Clock::parse("Mars/Olympus_Mons").is_none());
        assert!(Clock::zone_names().iter().any(|n| n == "Europe/Berlin"));
    }
}
