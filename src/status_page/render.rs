//! The public pages, rendered from [`PageData`]: what people see, in words and colours.

use askama::Template;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::clock::Clock;
use super::data::{PageData, PublicIncident, PublicMaintenance};
use super::json;
use crate::components::ComponentStatus;
use crate::incidents::{format_duration, Impact};
use crate::maintenance::MaintenanceStatus;
use crate::platform::markdown;
use crate::status_page::{rollup, uptime_percent, Indicator};

pub struct Link {
    pub label: String,
    pub url: String,
}

/// What every public page's layout shows.
pub struct Chrome {
    pub name: String,
    pub url: String,
    pub has_logo: bool,
    pub footer_links: Vec<Link>,
    pub updated: String,
    pub updated_iso: String,
    pub updated_utc: String,
    /// Set when the database could not be reached for the newest data.
    pub stale: Option<String>,
}

pub struct Bar {
    pub class: &'static str,
    pub title: String,
}

pub struct ComponentBlock {
    pub name: String,
    pub description: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub uptime: Option<String>,
    pub bars: Vec<Bar>,
}

pub struct GroupBlock {
    pub name: String,
    pub is_group: bool,
    pub status: &'static str,
    pub status_class: &'static str,
    pub open: bool,
    pub components: Vec<ComponentBlock>,
}

pub struct UpdateBlock {
    pub status: String,
    pub at: String,
    pub iso: String,
    /// The same instant in UTC, for `title`.
    pub utc: String,
    pub body_html: String,
    /// "API: Operational → Major outage", per component the update changed.
    pub changes: Vec<String>,
}

pub struct EventBlock {
    pub id: Uuid,
    pub title: String,
    pub impact_class: &'static str,
    pub status: String,
    pub when: String,
    /// When `when` is one instant (an incident's start): RFC 3339 and UTC, else empty.
    pub when_iso: String,
    pub when_utc: String,
    pub components: String,
    pub updates: Vec<UpdateBlock>,
}

/// One day of the last two weeks, or a run of quiet days ("Nov 18 – Nov 24") folded
/// into one line.
pub struct DayBlock {
    pub date: String,
    pub events: Vec<EventBlock>,
    pub quiet: bool,
}

#[derive(Template)]
#[template(path = "public/status.html")]
pub struct StatusPage {
    pub chrome: Chrome,
    pub indicator_class: &'static str,
    pub indicator: &'static str,
    pub about_html: String,
    pub groups: Vec<GroupBlock>,
    pub active: Vec<EventBlock>,
    pub maintenance_now: Vec<EventBlock>,
    pub maintenance_next: Vec<EventBlock>,
    pub days: Vec<DayBlock>,
}

#[derive(Template)]
#[template(path = "public/incident.html")]
pub struct IncidentPage {
    pub chrome: Chrome,
    pub event: EventBlock,
    pub kind: &'static str,
    /// An incident ("Started"), not a maintenance window.
    pub is_incident: bool,
    pub duration: Option<String>,
    /// The published postmortem summary: (sanitised HTML, when, when in UTC as RFC 3339
    /// and for reading).
    pub postmortem: Option<(String, String, String, String)>,
}

pub struct MonthBlock {
    pub label: String,
    pub events: Vec<EventBlock>,
}

#[derive(Template)]
#[template(path = "public/history.html")]
pub struct HistoryPage {
    pub chrome: Chrome,
    pub months: Vec<MonthBlock>,
    pub newer: Option<String>,
    pub older: Option<String>,
}

#[derive(Template)]
#[template(path = "public/unavailable.html")]
pub struct UnavailablePage {
    pub name: String,
}

pub fn indicator_class(i: Indicator) -> &'static str {
    match i {
        Indicator::None => "ind-none",
        Indicator::Maintenance => "ind-maintenance",
        Indicator::Minor => "ind-minor",
        Indicator::Major => "ind-major",
        Indicator::Critical => "ind-critical",
    }
}

fn impact_class(i: Impact) -> &'static str {
    match i {
        Impact::None => "imp-none",
        Impact::Minor => "imp-minor",
        Impact::Major => "imp-major",
        Impact::Critical => "imp-critical",
    }
}

pub fn chrome(data: &PageData, clock: &Clock, stale: bool) -> Chrome {
    let footer_links = data
        .settings
        .footer_links
        .as_array()
        .map(|links| {
            links
                .iter()
                .filter_map(|l| {
                    Some(Link {
                        label: l.get("label")?.as_str()?.to_owned(),
                        url: l.get("url")?.as_str()?.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Chrome {
        name: data.name.clone(),
        url: data.url.clone(),
        has_logo: data.settings.has_logo,
        footer_links,
        // The last change, not the last rebuild: unchanged pages keep their bytes and ETag.
        updated: clock.short(data.updated_at()),
        updated_iso: json::ts(data.updated_at()),
        updated_utc: crate::platform::time::format_utc(data.updated_at()),
        stale: stale.then(|| {
            format!(
                "We cannot refresh this page right now; it shows the status as of {}.",
                clock.short(data.loaded_at)
            )
        }),
    }
}

fn bar(clock: &Clock, day: time::Date, value: Option<&crate::status_page::DayBreakdown>) -> Bar {
    let date = clock.format(day.midnight().assume_utc() + Duration::hours(12), "%b %-d");
    match value {
        None => Bar {
            class: "n",
            title: format!("{date}: no data"),
        },
        Some(b) => {
            let worst = b.worst.unwrap_or(ComponentStatus::Operational);
            let mut parts = Vec::new();
            if b.major > 0 {
                parts.push(format!(
                    "major outage {}",
                    format_duration(Duration::seconds(b.major))
                ));
            }
            if b.partial > 0 {
                parts.push(format!(
                    "partial outage {}",
                    format_duration(Duration::seconds(b.partial))
                ));
            }
            if b.degraded > 0 {
                parts.push(format!(
                    "degraded {}",
                    format_duration(Duration::seconds(b.degraded))
                ));
            }
            if b.maintenance > 0 {
                parts.push(format!(
                    "maintenance {}",
                    format_duration(Duration::seconds(b.maintenance))
                ));
            }
            let detail = if parts.is_empty() {
                "no downtime".to_owned()
            } else {
                parts.join(", ")
            };
            Bar {
                class: bar_class(worst),
                title: format!("{date}: {detail}"),
            }
        }
    }
}

/// Bars are many (90 per component): one-letter classes keep the page small.
fn bar_class(s: ComponentStatus) -> &'static str {
    match s {
        ComponentStatus::Operational => "o",
        ComponentStatus::DegradedPerformance => "d",
        ComponentStatus::PartialOutage => "p",
        ComponentStatus::MajorOutage => "m",
        ComponentStatus::UnderMaintenance => "u",
    }
}

fn component_block(
    data: &PageData,
    clock: &Clock,
    c: &crate::components::ComponentRow,
) -> ComponentBlock {
    let days = data.uptime.get(&c.id).cloned().unwrap_or_default();
    let tracked: Vec<_> = days.iter().filter_map(|(_, b)| *b).collect();
    ComponentBlock {
        name: c.name.clone(),
        description: c.description.clone().unwrap_or_default(),
        status: c.status.label(),
        status_class: c.status.css_class(),
        uptime: uptime_percent(&tracked)
            .map(|p| format!("{:.2} % uptime", (p * 100.0).floor() / 100.0)),
        bars: days
            .iter()
            .map(|(day, b)| bar(clock, *day, b.as_ref()))
            .collect(),
    }
}

fn groups(data: &PageData, clock: &Clock) -> Vec<GroupBlock> {
    let mut out = Vec::new();
    for c in data.components.iter().filter(|c| c.group_id.is_none()) {
        out.push(GroupBlock {
            name: c.name.clone(),
            is_group: false,
            status: c.status.label(),
            status_class: c.status.css_class(),
            open: true,
            components: vec![component_block(data, clock, c)],
        });
    }
    for g in &data.groups {
        let members: Vec<_> = data
            .components
            .iter()
            .filter(|c| c.group_id == Some(g.id))
            .collect();
        if members.is_empty() {
            continue;
        }
        let worst = ComponentStatus::worst(members.iter().map(|c| c.status));
        out.push(GroupBlock {
            name: g.name.clone(),
            is_group: true,
            status: worst.label(),
            status_class: worst.css_class(),
            open: worst != ComponentStatus::Operational,
            components: members
                .iter()
                .map(|c| component_block(data, clock, c))
                .collect(),
        });
    }
    out
}

fn names(data: &PageData, ids: &[Uuid]) -> String {
    ids.iter()
        .filter_map(|id| data.component(*id))
        .map(|c| c.name.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn incident_block(data: &PageData, clock: &Clock, i: &PublicIncident) -> EventBlock {
    EventBlock {
        id: i.id,
        title: i.title.clone(),
        impact_class: impact_class(i.impact),
        status: i.status.label().to_owned(),
        when: clock.short(i.started_at),
        when_iso: json::ts(i.started_at),
        when_utc: crate::platform::time::format_utc(i.started_at),
        components: names(data, &i.component_ids),
        updates: i
            .updates
            .iter()
            .map(|u| UpdateBlock {
                status: u.status.label().to_owned(),
                at: clock.short(u.display_at),
                iso: json::ts(u.display_at),
                utc: crate::platform::time::format_utc(u.display_at),
                body_html: markdown::render(&u.body),
                changes: component_changes(u.affected_components.as_ref()),
            })
            .collect(),
    }
}

pub fn maintenance_block(data: &PageData, clock: &Clock, m: &PublicMaintenance) -> EventBlock {
    EventBlock {
        id: m.row.id,
        title: m.row.title.clone(),
        impact_class: "imp-maintenance",
        status: m.row.status.label().to_owned(),
        when: format!(
            "{} – {}",
            clock.short(m.row.scheduled_for),
            clock.short(m.row.scheduled_until)
        ),
        when_iso: String::new(),
        when_utc: String::new(),
        components: names(data, &m.component_ids),
        updates: m
            .updates
            .iter()
            .map(|u| UpdateBlock {
                status: u.status.label().to_owned(),
                at: clock.short(u.created_at),
                iso: json::ts(u.created_at),
                utc: crate::platform::time::format_utc(u.created_at),
                body_html: markdown::render(&u.body),
                changes: Vec::new(),
            })
            .chain(
                (m.updates.is_empty() && !m.row.description.is_empty()).then(|| UpdateBlock {
                    status: "Scheduled".into(),
                    at: clock.short(m.row.created_at),
                    iso: json::ts(m.row.created_at),
                    utc: crate::platform::time::format_utc(m.row.created_at),
                    body_html: markdown::render(&m.row.description),
                    changes: Vec::new(),
                }),
            )
            .collect(),
    }
}

pub fn status_page(data: &PageData, clock: &Clock, stale: bool) -> StatusPage {
    let impacts: Vec<_> = data
        .incidents
        .iter()
        .filter(|i| !i.status.is_resolved())
        .map(|i| i.impact)
        .collect();
    let statuses: Vec<_> = data.components.iter().map(|c| c.status).collect();
    let indicator = rollup(&impacts, &statuses);
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

/// The component changes recorded with an update (`affected_components`), in words.
pub fn component_changes(affected: Option<&serde_json::Value>) -> Vec<String> {
    let label = |v: Option<&serde_json::Value>| {
        v.and_then(|s| s.as_str())
            .map(|s| ComponentStatus::parse(s).map(|c| c.label()).unwrap_or(s))
            .unwrap_or("unknown")
            .to_owned()
    };
    affected
        .and_then(|a| a.as_array())
        .map(|changes| {
            changes
                .iter()
                .map(|c| {
                    format!(
                        "{}: {} → {}",
                        c.get("name")
                            .and_then(|n| n.as_str())
                            .unwrap_or("A component"),
                        label(c.get("old_status")),
                        label(c.get("new_status"))
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn incident_page(
    data: &PageData,
    clock: &Clock,
    stale: bool,
    i: &PublicIncident,
) -> IncidentPage {
    IncidentPage {
        chrome: chrome(data, clock, stale),
        event: incident_block(data, clock, i),
        kind: "Incident",
        is_incident: true,
        duration: Some(format_duration(
            i.resolved_at.unwrap_or(data.loaded_at) - i.started_at,
        )),
        postmortem: i.postmortem.as_ref().map(|p| {
            (
                markdown::render(&p.body),
                clock.short(p.published_at),
                json::ts(p.published_at),
                crate::platform::time::format_utc(p.published_at),
            )
        }),
    }
}

pub fn maintenance_page(
    data: &PageData,
    clock: &Clock,
    stale: bool,
    m: &PublicMaintenance,
) -> IncidentPage {
    IncidentPage {
        chrome: chrome(data, clock, stale),
        event: maintenance_block(data, clock, m),
        kind: "Scheduled maintenance",
        is_incident: false,
        duration: Some(format_duration(m.row.scheduled_until - m.row.scheduled_for)),
        postmortem: None,
    }
}

/// Months per history page.
pub const MONTHS_PER_PAGE: i64 = 3;

/// History: incidents and maintenances grouped by month, newest month first.
pub fn history_page(
    data: &PageData,
    clock: &Clock,
    stale: bool,
    page: i64,
    incidents: &[PublicIncident],
    maintenances: &[PublicMaintenance],
    has_older: bool,
) -> HistoryPage {
    let mut months: BTreeMap<(i32, u8), Vec<(OffsetDateTime, EventBlock)>> = BTreeMap::new();
    for i in incidents {
        let d = clock.date(i.declared_at);
        months
            .entry((d.year(), u8::from(d.month())))
            .or_default()
            .push((i.declared_at, incident_block(data, clock, i)));
    }
    for m in maintenances {
        let d = clock.date(m.row.scheduled_for);
        months
            .entry((d.year(), u8::from(d.month())))
            .or_default()
            .push((m.row.scheduled_for, maintenance_block(data, clock, m)));
    }
    // Every month of the page's range is listed, even when nothing happened.
    let today = clock.date(data.loaded_at);
    let mut wanted = Vec::new();
    let (mut y, mut mo) = (today.year(), u8::from(today.month()) as i64);
    for _ in 0..(page - 1) * MONTHS_PER_PAGE {
        mo -= 1;
        if mo == 0 {
            mo = 12;
            y -= 1;
        }
    }
    for _ in 0..MONTHS_PER_PAGE {
        wanted.push((y, mo as u8));
        mo -= 1;
        if mo == 0 {
            mo = 12;
            y -= 1;
        }
    }
    let months = wanted
        .into_iter()
        .map(|(y, m)| {
            let mut events = months.remove(&(y, m)).unwrap_or_default();
            events.sort_by_key(|e| std::cmp::Reverse(e.0));
            let month = time::Month::try_from(m).unwrap_or(time::Month::January);
            MonthBlock {
                label: format!("{month} {y}"),
                events: events.into_iter().map(|(_, e)| e).collect(),
            }
        })
        .collect();
    HistoryPage {
        chrome: chrome(data, clock, stale),
        months,
        newer: (page > 1).then(|| {
            if page == 2 {
                "/history".to_owned()
            } else {
                format!("/history?page={}", page - 1)
            }
        }),
        older: has_older.then(|| format!("/history?page={}", page + 1)),
    }
}

/// The accent colour, and a text colour readable on it (WCAG contrast).
pub fn theme_css(accent: &str) -> String {
    let hex = accent.trim_start_matches('#');
    let channel = |i: usize| {
        u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f64 / 255.0
    };
    let lin = |c: f64| {
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * lin(channel(0)) + 0.7152 * lin(channel(2)) + 0.0722 * lin(channel(4));
    let on_accent = if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) {
        "#000000"
    } else {
        "#ffffff"
    };
    format!(":root{{--accent:{accent};--on-accent:{on_accent}}}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_say_which_components_they_changed() {
        let affected = serde_json::json!([
            {"code": "x", "name": "API", "old_status": "operational", "new_status": "major_outage"}
        ]);
        assert_eq!(
            component_changes(Some(&affected)),
            vec!["API: Operational → Major outage".to_owned()]
        );
        assert!(component_changes(None).is_empty());
    }

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

    #[test]
    fn text_on_the_accent_colour_stays_readable() {
        assert!(theme_css("#b3261e").contains("--on-accent:#ffffff"));
        assert!(theme_css("#ffd000").contains("--on-accent:#000000"));
    }
}
