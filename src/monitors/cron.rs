//! Standard five-field cron expressions (`minute hour day-of-month month day-of-week`,
//! as crontab and Healthchecks read them) and the next time one fires in a time zone.
//!
//! Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month
//! names `jan`–`dec` and day names `sun`–`sat` (0 and 7 are Sunday), and the shorthands
//! `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`. When both day fields are
//! restricted, a day matching either fires (as crontab does). A time that a DST change
//! skips fires as the clocks jump; one it repeats fires once.
//!
//! Written here rather than taken from a crate: the cron crates for Rust read six or
//! seven fields and number weekdays from 1, so `1-5` would not mean Monday to Friday.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Both day fields restricted: a day matching either fires.
    either_day: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// How far ahead a next time is looked for (a 29 February needs up to eight years).
const HORIZON_DAYS: i32 = 366 * 8 + 2;

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The first name's number (months count from 1).
    names_from: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        names_from: 1,
    },
    // 7 is Sunday too; folded into 0 below.
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
        names_from: 0,
    },
];

impl Field {
    fn value(&self, raw: &str) -> Result<u32, String> {
        let lower = raw.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + self.names_from);
        }
        let n: u32 = raw
            .parse()
            .map_err(|_| format!("{raw:?} is not a {} value", self.name))?;
        if n < self.min || n > self.max {
            return Err(format!(
                "the {} is {} to {}, not {n}",
                self.name, self.min, self.max
            ));
        }
        Ok(n)
    }

    /// The set of values `raw` names, as bits.
    fn parse(&self, raw: &str) -> Result<u64, String> {
        let mut bits = 0u64;
        for part in raw.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => {
                    let step: u32 =
                        step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                            format!("{step:?} is not a step in the {}", self.name)
                        })?;
                    (range, step)
                }
                None => (part, 1),
            };
            let (from, to) = match range {
                "*" => (self.min, self.max),
                _ => match range.split_once('-') {
                    Some((a, b)) => (self.value(a)?, self.value(b)?),
                    // `5/15`: from 5 to the end, every 15.
                    None if step > 1 => (self.value(range)?, self.max),
                    None => {
                        let v = self.value(range)?;
                        (v, v)
                    }
                },
            };
            if from > to {
                return Err(format!("the {} range {range} runs backwards", self.name));
            }
            let mut v = from;
            while v <= to {
                bits |= 1 << v;
                v += step;
            }
        }
        Ok(bits)
    }
}

fn has(bits: u64, v: i8) -> bool {
    bits & (1 << v) != 0
}

impl std::str::FromStr for Cron {
    type Err = String;

    fn from_str(raw: &str) -> Result<Cron, String> {
        let expanded = match raw.trim().to_ascii_lowercase().as_str() {
            "@hourly" => "0 * * * *".to_owned(),
            "@daily" | "@midnight" => "0 0 * * *".to_owned(),
            "@weekly" => "0 0 * * 0".to_owned(),
            "@monthly" => "0 0 1 * *".to_owned(),
            "@yearly" | "@annually" => "0 0 1 1 *".to_owned(),
            _ => raw.trim().to_owned(),
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "a cron expression has five fields (minute hour day month weekday), not {}",
                parts.len()
            ));
        }
        let mut bits = [0u64; 5];
        for (i, (field, part)) in FIELDS.iter().zip(&parts).enumerate() {
            bits[i] = field.parse(part)?;
        }
        let mut weekdays = bits[4];
        if has(weekdays, 7) {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        let cron = Cron {
            minutes: bits[0],
            hours: bits[1],
            days: bits[2],
            months: bits[3],
            weekdays,
            either_day: !parts[2].starts_with('*') && !parts[4].starts_with('*'),
        };
        if cron
            .next_after(Timestamp::UNIX_EPOCH, &TimeZone::UTC)
            .is_none()
        {
            return Err(format!("{raw:?} never fires (no such day)"));
        }
        Ok(cron)
    }
}

impl Cron {
    fn day_matches(&self, date: Date) -> bool {
        if !has(self.months, date.month()) {
            return false;
        }
        let day = has(self.days, date.day());
        let weekday = has(self.weekdays, date.weekday().to_sunday_zero_offset());
        if self.either_day {
            day || weekday
        } else {
            day && weekday
        }
    }

    /// The first time after `after` that the expression fires, in `tz`.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = after.to_zoned(tz.clone()).date();
        let mut date = start;
        for _ in 0..HORIZON_DAYS {
            if self.day_matches(date) {
                for hour in (0..24).filter(|h| has(self.hours, *h)) {
                    for minute in (0..60).filter(|m| has(self.minutes, *m)) {
                        let local = DateTime::from_parts(date, Time::new(hour, minute, 0, 0).ok()?);
                        // `compatible`: a skipped time is taken as the clocks jump, a
                        // repeated one at its first occurrence.
                        let Ok(zoned) = tz.to_ambiguous_zoned(local).compatible() else {
                            continue;
                        };
                        if zoned.timestamp() > after {
                            return Some(zoned.timestamp());
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(tz: &str, s: &str) -> Timestamp {
        let dt: DateTime = s.parse().unwrap();
        dt.to_zoned(TimeZone::get(tz).unwrap()).unwrap().timestamp()
    }

    fn next(expr: &str, tz: &str, after: &str) -> String {
        let zone = TimeZone::get(tz).unwrap();
        let cron: Cron = expr.parse().unwrap();
        let ts = cron.next_after(at(tz, after), &zone).unwrap();
        ts.to_zoned(zone).datetime().to_string()
    }

    #[test]
    fn fields_read_as_crontab_reads_them() {
        for (expr, tz, after, want) in [
            (
                "*/15 * * * *",
                "UTC",
                "2026-03-02T10:07",
                "2026-03-02T10:15:00",
            ),
            (
                "0 9 * * 1-5",
                "UTC",
                "2026-03-06T09:00",
                "2026-03-09T09:00:00",
            ),
            (
                "30 2 * * sun",
                "UTC",
                "2026-03-02T00:00",
                "2026-03-08T02:30:00",
            ),
            (
                "0 0 * * 7",
                "UTC",
                "2026-03-02T00:00",
                "2026-03-08T00:00:00",
            ),
            (
                "0 0 1 jan,jul *",
                "UTC",
                "2026-03-02T00:00",
                "2026-07-01T00:00:00",
            ),
            (
                "5/20 8-9 * * *",
                "UTC",
                "2026-03-02T08:30",
                "2026-03-02T08:45:00",
            ),
            ("@daily", "UTC", "2026-03-02T00:00", "2026-03-03T00:00:00"),
            // Both day fields restricted: either day fires.
            (
                "0 0 13 * fri",
                "UTC",
                "2026-03-01T00:00",
                "2026-03-06T00:00:00",
            ),
            (
                "0 0 29 2 *",
                "UTC",
                "2026-03-01T00:00",
                "2028-02-29T00:00:00",
            ),
        ] {
            assert_eq!(next(expr, tz, after), want, "{expr} after {after}");
        }
    }

    #[test]
    fn daylight_saving_changes_fire_once_at_local_time() {
        // Europe/Berlin skips 02:00–03:00 on 29 March 2026: 02:30 fires as the clocks jump.
        assert_eq!(
            next("30 2 * * *", "Europe/Berlin", "2026-03-29T00:00"),
            "2026-03-29T03:30:00"
        );
        // A 09:00 job stays at 09:00 local across the change.
        assert_eq!(
            next("0 9 * * *", "Europe/Berlin", "2026-03-28T09:00"),
            "2026-03-29T09:00:00"
        );
        // On 25 October 02:00–03:00 happens twice: 02:30 fires once, then tomorrow.
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        let cron: Cron = "30 2 * * *".parse().unwrap();
        let first = cron
            .next_after(at("Europe/Berlin", "2026-10-25T00:00"), &zone)
            .unwrap();
        let second = cron.next_after(first, &zone).unwrap();
        assert_eq!(
            second.to_zoned(zone).datetime().to_string(),
            "2026-10-26T02:30:00"
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let err = |e: &str| e.parse::<Cron>().unwrap_err();
        assert!(err("* * * *").contains("five fields"));
        assert!(err("61 * * * *").contains("minute is 0 to 59"));
        assert!(err("* * * foo *").contains("not a month value"));
        assert!(err("*/0 * * * *").contains("not a step"));
        assert!(err("0 0 30 2 *").contains("never fires"));
        assert!(err("5-1 * * * *").contains("backwards"));
    }
}
