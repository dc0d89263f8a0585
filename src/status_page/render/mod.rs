//! The public pages, rendered from [`PageData`]: what people see, in words and colours.

use askama::Template;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

mod events;
mod front;

pub use events::{
    component_changes, history_page, incident_block, incident_page, maintenance_block,
    maintenance_page, MONTHS_PER_PAGE,
};
pub use front::status_page;

use super::clock::Clock;
use super::data::{PageData, PublicIncident, PublicMaintenance};
use super::json;
use crate::components::ComponentStatus;
use crate::incidents::{format_duration, Impact};
use crate::maintenance::MaintenanceStatus;
use crate::platform::markdown;
use crate::status_page::{uptime_percent, Indicator};

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
            let parts: Vec<String> = [
                (b.major, "major outage"),
                (b.partial, "partial outage"),
                (b.degraded, "degraded"),
                (b.maintenance, "maintenance"),
            ]
            .into_iter()
            .filter(|(seconds, _)| *seconds > 0)
            .map(|(seconds, what)| {
                format!("{what} {}", format_duration(Duration::seconds(seconds)))
            })
            .collect();
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
    fn text_on_the_accent_colour_stays_readable() {
        assert!(theme_css("#b3261e").contains("--on-accent:#ffffff"));
        assert!(theme_css("#ffd000").contains("--on-accent:#000000"));
    }
}
