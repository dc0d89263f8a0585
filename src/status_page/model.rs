//! What the public page computes: the overall indicator and uptime from status history.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::components::ComponentStatus;
use crate::incidents::Impact;

/// The page's overall state, as Statuspage's `status.indicator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    None,
    Maintenance,
    Minor,
    Major,
    Critical,
}

impl Indicator {
    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::None => "none",
            Indicator::Maintenance => "maintenance",
            Indicator::Minor => "minor",
            Indicator::Major => "major",
            Indicator::Critical => "critical",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Indicator::None => "All Systems Operational",
            Indicator::Minor => "Partially Degraded Service",
            Indicator::Major => "Partial System Outage",
            Indicator::Critical => "Major System Outage",
            Indicator::Maintenance => "Service Under Maintenance",
        }
    }

    fn of_impact(impact: Impact) -> Indicator {
        match impact {
            Impact::None => Indicator::None,
            Impact::Minor => Indicator::Minor,
            Impact::Major => Indicator::Major,
            Impact::Critical => Indicator::Critical,
        }
    }

    fn of_component(status: ComponentStatus) -> Indicator {
        match status {
            ComponentStatus::Operational => Indicator::None,
            ComponentStatus::UnderMaintenance => Indicator::Maintenance,
            ComponentStatus::DegradedPerformance => Indicator::Minor,
            ComponentStatus::PartialOutage => Indicator::Major,
            ComponentStatus::MajorOutage => Indicator::Critical,
        }
    }
}

/// The worst of the unresolved incidents' impact and the component statuses;
/// "maintenance" only when something is under maintenance and nothing is worse.
pub fn rollup(open_impacts: &[Impact], components: &[ComponentStatus]) -> Indicator {
    open_impacts
        .iter()
        .map(|i| Indicator::of_impact(*i))
        .chain(components.iter().map(|c| Indicator::of_component(*c)))
        .max()
        .unwrap_or(Indicator::None)
}

/// Seconds a component spent in each non-operational status during one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayBreakdown {
    pub degraded: i64,
    pub partial: i64,
    pub major: i64,
    pub maintenance: i64,
    /// Seconds of the day the component existed.
    pub tracked: i64,
    pub worst: Option<ComponentStatus>,
}

impl DayBreakdown {
    fn add(&mut self, status: ComponentStatus, seconds: i64) {
        if seconds <= 0 {
            return;
        }
        self.tracked += seconds;
        match status {
            ComponentStatus::Operational => {}
            ComponentStatus::DegradedPerformance => self.degraded += seconds,
            ComponentStatus::PartialOutage => self.partial += seconds,
            ComponentStatus::MajorOutage => self.major += seconds,
            ComponentStatus::UnderMaintenance => self.maintenance += seconds,
        }
        self.worst = Some(match self.worst {
            Some(w) if w.rank() >= status.rank() => w,
            _ => status,
        });
    }
}

/// How a component spent `[start, end)`: `history` is its status changes in time order
/// (the first one is its creation). Time before the first change is not tracked.
pub fn breakdown(
    history: &[(OffsetDateTime, ComponentStatus)],
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> DayBreakdown {
    let mut day = DayBreakdown::default();
    let mut current: Option<(OffsetDateTime, ComponentStatus)> = None;
    for &(at, status) in history {
        if at >= end {
            break;
        }
        if let Some((since, previous)) = current {
            let from = since.max(start);
            if at > from {
                day.add(previous, (at - from).whole_seconds());
            }
        }
        current = Some((at, status));
    }
    if let Some((since, status)) = current {
        let from = since.max(start);
        if end > from {
            day.add(status, (end - from).whole_seconds());
        }
    }
    day
}

/// Uptime over some days, Statuspage's way: a major outage counts in full, a partial
/// outage for 30 %, degraded performance and maintenance not at all. `None` without data.
pub fn uptime_percent(days: &[DayBreakdown]) -> Option<f64> {
    let tracked: i64 = days.iter().map(|d| d.tracked).sum();
    if tracked == 0 {
        return None;
    }
    let down: f64 = days
        .iter()
        .map(|d| d.major as f64 + 0.3 * d.partial as f64)
        .sum();
    Some(100.0 * (1.0 - down / tracked as f64))
}

/// The 24 hours of a UTC day.
pub fn utc_day(date: time::Date) -> (OffsetDateTime, OffsetDateTime) {
    let start = date.midnight().assume_utc();
    (start, start + Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::ComponentStatus;
    use time::macros::{date, datetime};
    use ComponentStatus::*;

    #[test]
    fn the_rollup_takes_the_worst_and_maintenance_only_when_nothing_is_worse() {
        assert_eq!(rollup(&[], &[Operational, Operational]), Indicator::None);
        assert_eq!(
            rollup(&[], &[Operational, UnderMaintenance]),
            Indicator::Maintenance
        );
        assert_eq!(
            rollup(&[], &[UnderMaintenance, DegradedPerformance]),
            Indicator::Minor
        );
        assert_eq!(rollup(&[Impact::Minor], &[PartialOutage]), Indicator::Major);
        assert_eq!(
            rollup(&[Impact::Critical], &[Operational]),
            Indicator::Critical
        );
        assert_eq!(
            rollup(&[Impact::None], &[UnderMaintenance]),
            Indicator::Maintenance
        );
        assert_eq!(
            rollup(&[], &[MajorOutage]).description(),
            "Major System Outage"
        );
    }

    #[test]
    fn a_day_with_several_outages_adds_them_up() {
        let (start, end) = utc_day(date!(2026 - 03 - 04));
        let history = [
            (datetime!(2026-03-01 00:00 UTC), Operational),
            (datetime!(2026-03-04 01:00 UTC), MajorOutage),
            (datetime!(2026-03-04 01:30 UTC), Operational),
            (datetime!(2026-03-04 10:00 UTC), PartialOutage),
            (datetime!(2026-03-04 12:00 UTC), MajorOutage),
            (datetime!(2026-03-04 12:15 UTC), Operational),
        ];
        let day = breakdown(&history, start, end);
        assert_eq!(day.major, 45 * 60);
        assert_eq!(day.partial, 2 * 3600);
        assert_eq!(day.tracked, 86_400);
        assert_eq!(day.worst, Some(MajorOutage));
    }

    #[test]
    fn an_outage_across_midnight_counts_on_both_days() {
        let history = [
            (datetime!(2026-03-01 00:00 UTC), Operational),
            (datetime!(2026-03-04 23:00 UTC), PartialOutage),
            (datetime!(2026-03-05 02:00 UTC), Operational),
        ];
        let (s4, e4) = utc_day(date!(2026 - 03 - 04));
        let (s5, e5) = utc_day(date!(2026 - 03 - 05));
        assert_eq!(breakdown(&history, s4, e4).partial, 3600);
        assert_eq!(breakdown(&history, s5, e5).partial, 2 * 3600);
        assert_eq!(breakdown(&history, s5, e5).worst, Some(PartialOutage));
    }

    #[test]
    fn time_before_a_component_existed_is_not_tracked() {
        let history = [(datetime!(2026-03-04 12:00 UTC), Operational)];
        let (start, end) = utc_day(date!(2026 - 03 - 04));
        let day = breakdown(&history, start, end);
        assert_eq!(day.tracked, 12 * 3600);
        assert_eq!(day.worst, Some(Operational));
        let (start, end) = utc_day(date!(2026 - 03 - 03));
        assert_eq!(breakdown(&history, start, end), DayBreakdown::default());
    }

    #[test]
    fn uptime_counts_major_fully_and_partial_at_thirty_percent() {
        let day = |major, partial| DayBreakdown {
            major,
            partial,
            tracked: 86_400,
            ..Default::default()
        };
        let days = [day(0, 0), day(8640, 0), day(0, 86_400)];
        // (8640 + 0.3 × 86400) / (3 × 86400) = 0.1333…
        let uptime = uptime_percent(&days).unwrap();
        assert!((uptime - 86.666).abs() < 0.01, "{uptime}");
        assert_eq!(uptime_percent(&[]), None);
    }
}
