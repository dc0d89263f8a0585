//! What the incident templates show, computed from rows: labels, classes and permissions
//! are decided here, not in templates.

mod choices;

pub use choices::*;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::users::UserRow;
use crate::http::zone::{self, format_time, utc_title};
use crate::incidents::events::EventRow;
use crate::incidents::updates::UpdateRow;
use crate::incidents::workstreams::{TaskRow, WorkstreamRow};
use crate::incidents::IncidentRow;
use crate::incidents::{
    format_duration, overdue_update_minutes, EventKind, IncidentStatus, Milestone, Nudges,
    Visibility, WorkstreamKind, WorkstreamStatus,
};
use crate::platform::markdown;
use crate::platform::time::rfc3339;
use crate::status_page::clock::Clock;
use crate::status_page::render::component_changes;

/// The incident's header: what it is, who leads, how long things took.
pub struct IncidentView {
    pub reference: String,
    pub path: String,
    pub title: String,
    pub summary_html: String,
    pub severity: &'static str,
    pub severity_class: &'static str,
    pub severity_guidance: &'static str,
    pub status: &'static str,
    pub status_class: &'static str,
    pub impact: &'static str,
    pub impact_overridden: bool,
    pub internal: bool,
    pub leader_name: String,
    /// Who writes the report, when a page led to the incident.
    pub report_owner: Option<String>,
    pub version: i32,
    pub age: String,
    pub nudge: Option<i64>,
    pub last_update_age: Option<String>,
    /// What the leader should do next, in a few words.
    pub next_action: Option<&'static str>,
    /// Resolved: the postmortem comes first, not folded away.
    pub resolved: bool,
    pub milestones: Vec<MilestoneView>,
    pub durations: Vec<(&'static str, String)>,
}

pub struct MilestoneView {
    pub key: &'static str,
    pub label: &'static str,
    pub shown: String,
    pub iso: String,
    pub utc: String,
    pub input: String,
    pub can_clear: bool,
}

/// `YYYY-MM-DDTHH:MM` in the reader's zone, for `<input type="datetime-local">` (whose
/// label names the zone).
pub fn input_time(at: OffsetDateTime) -> String {
    zone::reader().clock.input_value(at)
}

/// Parse what `datetime-local` sends, as a wall clock time in `time_zone` (the form's
/// hidden zone field; the reader's zone when empty), or RFC 3339. The error says which
/// of the two was wrong.
pub fn parse_input_time(raw: &str, time_zone: &str) -> Result<OffsetDateTime, String> {
    let clock = match time_zone.trim() {
        "" => zone::reader().clock,
        name => Clock::parse(name).ok_or_else(|| {
            format!("{name:?} is not a time zone name like America/New_York or Etc/UTC.")
        })?,
    };
    clock.parse_local(raw).ok_or_else(|| {
        format!(
            "{:?} is not a date and time (like 2026-03-04T10:12, in {}).",
            raw.trim(),
            clock.name()
        )
    })
}

pub fn status_class(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Investigating => "ist ist-investigating",
        IncidentStatus::Identified => "ist ist-identified",
        IncidentStatus::Monitoring => "ist ist-monitoring",
        IncidentStatus::Resolved => "ist ist-resolved",
    }
}

/// "resolved · root cause open" where the root cause is still being worked on.
pub fn status_text(incident: &IncidentRow) -> &'static str {
    if incident.status.is_resolved() && incident.root_cause_open {
        "Resolved · root cause open"
    } else {
        incident.status.label()
    }
}

pub fn incident_view(incident: &IncidentRow, now: OffsetDateTime, nudges: &Nudges) -> IncidentView {
    let lifecycle = incident.lifecycle();
    let d = lifecycle.durations();
    // Detection counts from the declaration in reports, but the page says "Detected:
    // not yet" until someone records it, so it shows no time to detect either.
    let to_detect = lifecycle.detected.and(d.to_detect);
    let durations = [
        ("To detect", to_detect),
        ("To acknowledge", d.to_acknowledge),
        ("To mitigate", d.to_mitigate),
        ("To resolve", d.to_resolve),
    ]
    .into_iter()
    .map(|(label, value)| {
        (
            label,
            value.map(format_duration).unwrap_or_else(|| "—".into()),
        )
    })
    .collect();
    let milestones = Milestone::ALL
        .iter()
        .map(|m| {
            let value = lifecycle.get(*m);
            MilestoneView {
                key: m.as_str(),
                label: m.label(),
                shown: value.map(format_time).unwrap_or_else(|| "not yet".into()),
                iso: value.map(rfc3339).unwrap_or_default(),
                utc: value.map(utc_title).unwrap_or_default(),
                input: value.map(input_time).unwrap_or_default(),
                can_clear: matches!(
                    m,
                    Milestone::Detected | Milestone::Acknowledged | Milestone::Mitigated
                ),
            }
        })
        .collect();
    IncidentView {
        reference: incident.reference(),
        path: super::incident_path(incident),
        title: incident.title.clone(),
        summary_html: markdown::render(&incident.summary),
        severity: incident.severity.label(),
        severity_class: severity_class(incident.severity),
        severity_guidance: incident.severity.guidance(),
        status: status_text(incident),
        status_class: status_class(incident.status),
        impact: incident.impact.label(),
        impact_overridden: incident.impact_overridden,
        internal: incident.visibility == Visibility::Internal,
        leader_name: incident.leader_name.clone(),
        report_owner: incident.report_owner_name.clone(),
        version: incident.version,
        age: format_duration(incident.resolved_at.unwrap_or(now) - incident.started_at),
        nudge: nudge(incident, now, nudges),
        last_update_age: incident
            .last_public_update_at
            .map(|at| format_duration(now - at)),
        next_action: next_action(incident),
        resolved: incident.status.is_resolved(),
        milestones,
        durations,
    }
}

/// Minutes a public update is overdue, if it is.
pub fn nudge(incident: &IncidentRow, now: OffsetDateTime, nudges: &Nudges) -> Option<i64> {
    overdue_update_minutes(
        incident.severity,
        incident.visibility,
        incident.status,
        incident.declared_at,
        incident.last_public_update_at,
        now,
        nudges,
    )
}

/// The next step of the response, from where it stands.
fn next_action(incident: &IncidentRow) -> Option<&'static str> {
    let public = incident.visibility != Visibility::Internal;
    if incident.status.is_resolved() {
        return None;
    }
    if incident.acknowledged_at.is_none() {
        return Some("Acknowledge: take command, or hand it to the person who leads.");
    }
    if public && incident.last_public_update_at.is_none() {
        return Some("Tell customers what is happening: post the first public update.");
    }
    Some(match incident.status {
        IncidentStatus::Investigating => {
            "Find the cause; set the status to Identified when you know it."
        }
        IncidentStatus::Identified => "Mitigate the impact, then set the status to Monitoring.",
        _ => "Watch that the fix holds, then resolve.",
    })
}

pub struct TaskView {
    pub id: Uuid,
    pub title: String,
    pub assignee: Option<String>,
    pub done: bool,
}

pub struct WorkstreamView {
    pub id: Uuid,
    pub title: String,
    pub kind: &'static str,
    pub kind_class: &'static str,
    pub lead_name: Option<String>,
    pub led_by_me: bool,
    pub objective: String,
    pub objective_html: String,
    pub done: bool,
    pub tasks: Vec<TaskView>,
    pub people: Vec<Choice>,
}

pub fn workstream_views(
    workstreams: Vec<WorkstreamRow>,
    tasks: &[TaskRow],
    users: &[UserRow],
    me: Uuid,
) -> Vec<WorkstreamView> {
    workstreams
        .into_iter()
        .map(|w| WorkstreamView {
            tasks: tasks
                .iter()
                .filter(|t| t.workstream_id == w.id)
                .map(|t| TaskView {
                    id: t.id,
                    title: t.title.clone(),
                    assignee: t.assignee_name.clone(),
                    done: t.done_at.is_some(),
                })
                .collect(),
            people: people_choices(users, w.lead_id),
            id: w.id,
            kind: w.kind.label(),
            kind_class: match w.kind {
                WorkstreamKind::Recovery => "ws ws-recovery",
                WorkstreamKind::RootCause => "ws ws-root-cause",
                WorkstreamKind::Custom => "ws",
            },
            title: w.title,
            led_by_me: w.lead_id == Some(me),
            lead_name: w.lead_name,
            objective_html: markdown::render(&w.objective),
            objective: w.objective,
            done: w.status == WorkstreamStatus::Done,
        })
        .collect()
}

pub struct UpdateView {
    pub status: &'static str,
    pub status_class: &'static str,
    pub body_html: String,
    pub at: zone::Stamp,
    pub author: String,
    pub notified: bool,
    /// "API: Operational → Major outage", one per component the update changed.
    pub changes: Vec<String>,
}

pub fn update_views(updates: Vec<UpdateRow>) -> Vec<UpdateView> {
    updates
        .into_iter()
        .map(|u| UpdateView {
            status: u.status.label(),
            status_class: status_class(u.status),
            body_html: markdown::render(&u.body),
            at: zone::stamp(u.display_at),
            changes: component_changes(u.affected_components.as_ref()),
            author: u.author_name.unwrap_or_else(|| "Fireline".into()),
            notified: u.notify,
        })
        .collect()
}

/// One entry of the log as the page shows it.
pub struct EventView {
    pub id: Uuid,
    pub seq: i64,
    pub kind: &'static str,
    pub kind_class: &'static str,
    pub body_html: String,
    pub author: String,
    pub workstream: Option<String>,
    pub occurred: String,
    pub occurred_iso: String,
    pub occurred_utc: String,
    pub recorded: Option<zone::Stamp>,
    pub pinned: bool,
    pub corrected: bool,
    pub corrects: Option<Uuid>,
    pub cursor: String,
    /// The alert group an alert entry is about: (its page, `ALR-17`).
    pub alert_group: Option<(String, String)>,
}

pub fn event_view(e: EventRow) -> EventView {
    let written = e.is_written() || e.kind == EventKind::UpdatePosted;
    let body_html = if written {
        markdown::render(&e.body)
    } else {
        format!("<p>{}</p>", ammonia::clean_text(&e.body))
    };
    EventView {
        id: e.id,
        seq: e.seq,
        kind: e.kind.label(),
        kind_class: if e.kind == EventKind::Note {
            "ev-note"
        } else if e.kind == EventKind::Correction {
            "ev-correction"
        } else {
            "ev-auto"
        },
        body_html,
        author: e.author_name.clone().unwrap_or_else(|| "Fireline".into()),
        workstream: e.workstream_title.clone(),
        occurred: format_time(e.occurred_at),
        occurred_iso: rfc3339(e.occurred_at),
        occurred_utc: utc_title(e.occurred_at),
        recorded: e.is_backdated().then(|| zone::stamp(e.recorded_at)),
        pinned: e.pinned,
        corrected: e.corrected_by.is_some(),
        corrects: e.corrects,
        cursor: format!("{}_{}", e.occurred_at.unix_timestamp_nanos(), e.seq),
        alert_group: matches!(e.kind, EventKind::Alert | EventKind::AlertAttached)
            .then(|| e.data["number"].as_i64())
            .flatten()
            .map(|n| (format!("/admin/alert-groups/ALR-{n}"), format!("ALR-{n}"))),
    }
}

/// Parse a log cursor made by [`event_view`].
pub fn parse_cursor(raw: &str) -> Option<(OffsetDateTime, i64)> {
    let (nanos, seq) = raw.split_once('_')?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    Some((at, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_times_are_read_in_the_forms_zone() {
        let at = parse_input_time("2026-03-04T10:12", "").unwrap();
        assert_eq!(rfc3339(at), "2026-03-04T10:12:00Z");
        assert_eq!(input_time(at), "2026-03-04T10:12");
        let ny = parse_input_time("2026-03-04T05:12", "America/New_York").unwrap();
        assert_eq!(rfc3339(ny), "2026-03-04T10:12:00Z");
        let bad_time = parse_input_time("yesterday", "America/New_York").unwrap_err();
        assert!(bad_time.contains("not a date and time"), "{bad_time}");
        assert!(bad_time.contains("America/New_York"), "{bad_time}");
        let bad_zone = parse_input_time("2026-03-04T05:12", "Moon/Base").unwrap_err();
        assert!(bad_zone.contains("not a time zone"), "{bad_zone}");
        assert_eq!(
            rfc3339(
                parse_input_time("2026-03-04T12:12:00+02:00", "")
                    .unwrap()
                    .to_offset(time::UtcOffset::UTC)
            ),
            "2026-03-04T10:12:00Z"
        );
    }

    #[test]
    fn log_cursors_round_trip() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let raw = format!("{}_{}", at.unix_timestamp_nanos(), 42);
        assert_eq!(parse_cursor(&raw), Some((at, 42)));
        assert_eq!(parse_cursor("nope"), None);
    }
}

/// One log entry on its own (the live stream sends these).
#[derive(askama::Template)]
#[template(path = "admin/event.html")]
pub struct EventItem<'a> {
    pub e: &'a EventView,
    pub incident_path: &'a str,
    pub csrf_token: &'a str,
    pub can_respond: bool,
}
