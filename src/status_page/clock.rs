//! Times in the page's display time zone.

use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Clock {
    tz: jiff::tz::TimeZone,
}

impl Clock {
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
        assert_eq!(
            Clock::new("America/Los_Angeles")
                .date(datetime!(2026-03-04 03:00 UTC))
                .to_string(),
            "2026-03-03"
        );
    }
}
