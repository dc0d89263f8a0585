//! Incidents and maintenances: their blocks, their own pages and the history.

use super::*;

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
            .map(|u| {
                let changes = component_changes(u.affected_components.as_ref());
                update_block(clock, u.status.label(), u.display_at, &u.body, changes)
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
            .map(|u| update_block(clock, u.status.label(), u.created_at, &u.body, Vec::new()))
            .chain(
                (m.updates.is_empty() && !m.row.description.is_empty()).then(|| {
                    let (at, body) = (m.row.created_at, &m.row.description);
                    update_block(clock, "Scheduled", at, body, Vec::new())
                }),
            )
            .collect(),
    }
}

/// An update as the page shows it: its status, when it was posted and its Markdown body.
fn update_block(
    clock: &Clock,
    status: &str,
    at: OffsetDateTime,
    body: &str,
    changes: Vec<String>,
) -> UpdateBlock {
    UpdateBlock {
        status: status.to_owned(),
        at: clock.short(at),
        iso: json::ts(at),
        utc: crate::platform::time::format_utc(at),
        body_html: markdown::render(body),
        changes,
    }
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
}
