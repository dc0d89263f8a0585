//! Who is on duty when: the rotation's hand-offs in local time (so a 09:00 hand-off stays
//! at 09:00 across a DST change), and the order override > taken > rotation over a span
//! of time. Pure: the caller reads the facts, this decides.

use jiff::civil;
use jiff::tz::TimeZone;
use time::OffsetDateTime;
use uuid::Uuid;

use super::model::{DutySource, RotationInterval};

/// A team's rotation: `user_ids` in order, the first from the hand-off on `starts_on`.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub interval: RotationInterval,
    pub handoff: civil::Time,
    pub time_zone: TimeZone,
    pub starts_on: civil::Date,
    pub user_ids: Vec<Uuid>,
}

impl Rotation {
    fn step_days(&self) -> i64 {
        match self.interval {
            RotationInterval::Daily => 1,
            RotationInterval::Weekly => 7,
        }
    }

    /// The instant of hand-off number `k` (0: the first). A hand-off time that a DST
    /// change skips happens as the clocks jump; one it repeats, at its first occurrence.
    fn handoff_at(&self, k: i64) -> Option<OffsetDateTime> {
        let date = self
            .starts_on
            .checked_add(jiff::Span::new().days(k * self.step_days()))
            .ok()?;
        let zoned = date
            .to_datetime(self.handoff)
            .to_zoned(self.time_zone.clone())
            .ok()?;
        OffsetDateTime::from_unix_timestamp(zoned.timestamp().as_second()).ok()
    }

    /// The number of the last hand-off at or before `at`; `None` before the first.
    fn shift_at(&self, at: OffsetDateTime) -> Option<i64> {
        let ts = jiff::Timestamp::from_second(at.unix_timestamp()).ok()?;
        let local = ts.to_zoned(self.time_zone.clone()).date();
        let days = i64::from((local - self.starts_on).get_days());
        let mut k = days.div_euclid(self.step_days());
        // The local date's hand-off may still be ahead (or, across a DST change, one
        // step either way): settle on the last one not after `at`.
        while self.handoff_at(k + 1).is_some_and(|next| next <= at) {
            k += 1;
        }
        while k >= 0 && self.handoff_at(k).is_none_or(|this| this > at) {
            k -= 1;
        }
        (k >= 0).then_some(k)
    }

    fn user_of_shift(&self, k: i64) -> Option<Uuid> {
        let n = self.user_ids.len() as i64;
        (n > 0).then(|| self.user_ids[k.rem_euclid(n) as usize])
    }

    /// Who the rotation puts on duty at `at`.
    pub fn on_duty_at(&self, at: OffsetDateTime) -> Option<Uuid> {
        self.shift_at(at).and_then(|k| self.user_of_shift(k))
    }

    /// The hand-offs after `from` and before `to`.
    fn handoffs_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> Vec<OffsetDateTime> {
        let mut k = self.shift_at(from).map_or(0, |k| k + 1);
        let mut out = Vec::new();
        while let Some(at) = self.handoff_at(k) {
            if at >= to {
                break;
            }
            if at > from {
                out.push(at);
            }
            k += 1;
        }
        out
    }
}

/// A span of explicit duty: taken (or passed) at `start`, open until `end`.
#[derive(Debug, Clone)]
pub struct Held {
    pub user_id: Uuid,
    pub start: OffsetDateTime,
    pub end: Option<OffsetDateTime>,
}

impl Held {
    fn covers(&self, at: OffsetDateTime) -> bool {
        self.start <= at && self.end.is_none_or(|end| at < end)
    }
}

/// Everything that decides a team's duty.
#[derive(Debug, Clone, Default)]
pub struct DutyFacts {
    pub rotation: Option<Rotation>,
    /// Taken and passed duty, any order.
    pub takes: Vec<Held>,
    /// Overrides, oldest first: of two that overlap, the later one counts.
    pub overrides: Vec<Held>,
}

/// One stretch of the same person on duty for the same reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub user_id: Uuid,
    pub source: DutySource,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

impl DutyFacts {
    /// Who is on duty at `at`, and why.
    pub fn at(&self, at: OffsetDateTime) -> Option<(Uuid, DutySource)> {
        if let Some(o) = self.overrides.iter().rev().find(|o| o.covers(at)) {
            return Some((o.user_id, DutySource::Override));
        }
        if let Some(t) = self.takes.iter().find(|t| t.covers(at)) {
            return Some((t.user_id, DutySource::Taken));
        }
        let rotation = self.rotation.as_ref()?;
        rotation
            .on_duty_at(at)
            .map(|user| (user, DutySource::Rotation))
    }

    /// Who was (or will be) on duty from `from` to `to`, as consecutive shifts; times
    /// when nobody is on duty are left out.
    pub fn timeline(&self, from: OffsetDateTime, to: OffsetDateTime) -> Vec<Shift> {
        let mut cuts = vec![from, to];
        for held in self.overrides.iter().chain(&self.takes) {
            cuts.push(held.start);
            cuts.extend(held.end);
        }
        if let Some(rotation) = &self.rotation {
            cuts.extend(rotation.handoffs_between(from, to));
        }
        cuts.retain(|at| *at >= from && *at <= to);
        cuts.sort();
        cuts.dedup();
        let mut shifts: Vec<Shift> = Vec::new();
        for pair in cuts.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            let Some((user_id, source)) = self.at(start) else {
                continue;
            };
            match shifts.last_mut() {
                Some(last)
                    if last.end == start && last.user_id == user_id && last.source == source =>
                {
                    last.end = end;
                }
                _ => shifts.push(Shift {
                    user_id,
                    source,
                    start,
                    end,
                }),
            }
        }
        shifts
    }
}

/// When a team works: ISO weekdays (1 = Monday) from `start` to `end`, local time.
#[derive(Debug, Clone)]
pub struct WorkingHours {
    pub days: Vec<i16>,
    pub start: civil::Time,
    pub end: civil::Time,
    pub time_zone: TimeZone,
}

impl WorkingHours {
    /// Whether `at` falls within them.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        let Ok(ts) = jiff::Timestamp::from_second(at.unix_timestamp()) else {
            return false;
        };
        let local = ts.to_zoned(self.time_zone.clone());
        let day = i16::from(local.weekday().to_monday_one_offset());
        let time = local.time();
        self.days.contains(&day) && self.start <= time && time < self.end
    }

    /// When they next begin after `at` (within the coming week), if ever.
    pub fn next_start(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let ts = jiff::Timestamp::from_second(at.unix_timestamp()).ok()?;
        let today = ts.to_zoned(self.time_zone.clone()).date();
        (0..8).find_map(|offset| {
            let date = today.checked_add(jiff::Span::new().days(offset)).ok()?;
            let day = i16::from(date.weekday().to_monday_one_offset());
            if !self.days.contains(&day) {
                return None;
            }
            let start = date
                .to_datetime(self.start)
                .to_zoned(self.time_zone.clone())
                .ok()?;
            let start = OffsetDateTime::from_unix_timestamp(start.timestamp().as_second()).ok()?;
            (start > at).then_some(start)
        })
    }
}

/// `time`'s time of day as jiff's.
pub fn civil_time(t: time::Time) -> civil::Time {
    civil::Time::constant(t.hour() as i8, t.minute() as i8, t.second() as i8, 0)
}

/// `time`'s date as jiff's.
pub fn civil_date(d: time::Date) -> civil::Date {
    civil::Date::constant(d.year() as i16, u8::from(d.month()) as i8, d.day() as i8)
}

#[cfg(test)]
mod tests;
