//! The front page: components, their bars, and the last two weeks day by day.

use super::*;

pub fn status_page(data: &PageData, clock: &Clock, stale: bool) -> StatusPage {
    let indicator = data.indicator();
    let today = clock.date(data.loaded_at);
    let days = (0..14)
        .map(|back| {
            let day = today - Duration::days(back);
            let events = data
                .incidents
                .iter()
                // Open incidents are shown in full above.
                .filter(|i| i.status.is_resolved() && clock.date(i.declared_at) == day)
                .map(|i| incident_block(data, clock, i))
                .chain(
                    data.maintenances
                        .iter()
                        .filter(|m| {
                            !m.row.status.is_open() && clock.date(m.row.scheduled_for) == day
                        })
                        .map(|m| maintenance_block(data, clock, m)),
                )
                .collect();
            (day, events)
        })
        .collect();
    let mut next: Vec<_> = data
        .maintenances
        .iter()
        .filter(|m| m.row.status == MaintenanceStatus::Scheduled)
        .collect();
    next.sort_by_key(|m| m.row.scheduled_for);
    StatusPage {
        chrome: chrome(data, clock, stale),
        indicator_class: indicator_class(indicator),
        indicator: indicator.description(),
        about_html: markdown::render(&data.settings.about),
        groups: groups(data, clock),
        active: data
            .incidents
            .iter()
            .filter(|i| !i.status.is_resolved())
            .map(|i| incident_block(data, clock, i))
            .collect(),
        maintenance_now: data
            .maintenances
            .iter()
            .filter(|m| m.row.status.is_active())
            .map(|m| maintenance_block(data, clock, m))
            .collect(),
        maintenance_next: next
            .into_iter()
            .map(|m| maintenance_block(data, clock, m))
            .collect(),
        days: fold_quiet_days(clock, days),
    }
}

/// Days newest first; each run of days without events becomes one line.
fn fold_quiet_days(clock: &Clock, days: Vec<(time::Date, Vec<EventBlock>)>) -> Vec<DayBlock> {
    let noon = |d: time::Date| d.midnight().assume_utc() + Duration::hours(12);
    let mut out: Vec<DayBlock> = Vec::new();
    // The quiet run being collected: (newest day, oldest day).
    let mut run: Option<(time::Date, time::Date)> = None;
    let close = |run: (time::Date, time::Date), out: &mut Vec<DayBlock>| {
        let (newest, oldest) = run;
        let date = if newest == oldest {
            clock.format(noon(newest), "%b %-d, %Y")
        } else if newest.year() == oldest.year() {
            format!(
                "{} – {}",
                clock.format(noon(oldest), "%b %-d"),
                clock.format(noon(newest), "%b %-d, %Y")
            )
        } else {
            format!(
                "{} – {}",
                clock.format(noon(oldest), "%b %-d, %Y"),
                clock.format(noon(newest), "%b %-d, %Y")
            )
        };
        out.push(DayBlock {
            date,
            events: Vec::new(),
            quiet: true,
        });
    };
    for (day, events) in days {
        if events.is_empty() {
            run = Some(run.map_or((day, day), |(newest, _)| (newest, day)));
            continue;
        }
        if let Some(r) = run.take() {
            close(r, &mut out);
        }
        out.push(DayBlock {
            date: clock.format(noon(day), "%b %-d, %Y"),
            events,
            quiet: false,
        });
    }
    if let Some(r) = run {
        close(r, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_days_fold_into_one_line_per_stretch() {
        let clock = Clock::new("Etc/UTC");
        let day = |d: u8| time::Date::from_calendar_date(2026, time::Month::November, d).unwrap();
        let event = || EventBlock {
            id: Uuid::nil(),
            title: "Outage".into(),
            impact_class: "imp-major",
            status: "Resolved".into(),
            when: String::new(),
            when_iso: String::new(),
            when_utc: String::new(),
            components: String::new(),
            updates: Vec::new(),
        };
        // Newest first: the 25th quiet, the 24th an incident, the 23rd to the 20th quiet.
        let days = vec![
            (day(25), vec![]),
            (day(24), vec![event()]),
            (day(23), vec![]),
            (day(22), vec![]),
            (day(21), vec![]),
            (day(20), vec![]),
        ];
        let folded = fold_quiet_days(&clock, days);
        let lines: Vec<(&str, bool)> = folded.iter().map(|d| (d.date.as_str(), d.quiet)).collect();
        assert_eq!(
            lines,
            [
                ("Nov 25, 2026", true),
                ("Nov 24, 2026", false),
                ("Nov 20 – Nov 23, 2026", true)
            ]
        );
    }
}
