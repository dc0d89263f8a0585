//! Drafting a postmortem from what the incident already knows: a template's placeholders
//! filled from the incident, its log, workstreams and action items. The generated
//! timeline and action-item table sit between HTML comment markers (invisible once
//! rendered), so they can be regenerated without touching what authors wrote elsewhere.

mod markers;
pub use markers::{
    refresh_actions, replace_between, strip_markers, ACTIONS_END, ACTIONS_START, TIMELINE_END,
    TIMELINE_START,
};

use std::fmt::Write;
use time::{Date, OffsetDateTime};

use crate::components::ComponentStatus;
use crate::incidents::events::EventRow;
use crate::incidents::workstreams::{TaskRow, WorkstreamRow};
use crate::incidents::IncidentRow;
use crate::incidents::{format_duration, EventKind, WorkstreamKind};
use crate::platform::time::format_utc;
use crate::postmortems::{ActionKind, ActionPriority, ActionStatus};

/// The placeholders a template may use, with what each becomes.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("{{title}}", "the incident's title"),
    ("{{number}}", "its reference, e.g. INC-42"),
    ("{{severity}}", "its severity, e.g. SEV2"),
    ("{{leader}}", "the incident leader"),
    ("{{started_at}}", "when impact started (UTC)"),
    ("{{resolved_at}}", "when it was resolved (UTC)"),
    ("{{summary}}", "title, reference, severity, leader, dates and the incident's summary"),
    ("{{impact}}", "severity and public impact, affected components and their worst status, start → resolved, the durations to detect, acknowledge, mitigate and resolve"),
    ("{{timeline}}", "pinned entries and every change of status, severity, command and component, in order (regenerable)"),
    ("{{detection}}", "when impact started, was detected and was declared, and by whom"),
    ("{{response}}", "the leader and every handover, the workstreams and their leads"),
    ("{{recovery}}", "the recovery workstream: objective, tasks and notes"),
    ("{{root_cause}}", "the notes of the root-cause workstream"),
    ("{{five_whys}}", "a scaffold of five \"Why?\" lines"),
    ("{{action_items}}", "a table of the action items, kept current"),
];

/// A component the incident touched, with the worst status it had because of it.
#[derive(Debug, Clone)]
pub struct Affected {
    pub name: String,
    pub worst: ComponentStatus,
}

/// An action item as the table shows it.
#[derive(Debug, Clone)]
pub struct ItemLine {
    pub title: String,
    pub priority: ActionPriority,
    pub kind: ActionKind,
    pub owner: Option<String>,
    pub due_on: Option<Date>,
    pub status: ActionStatus,
    pub tracker_url: Option<String>,
}

/// Everything a draft is made from.
pub struct Facts {
    pub incident: IncidentRow,
    /// The whole log, in order.
    pub events: Vec<EventRow>,
    pub workstreams: Vec<WorkstreamRow>,
    pub tasks: Vec<TaskRow>,
    pub components: Vec<Affected>,
    pub items: Vec<ItemLine>,
}

fn when(at: OffsetDateTime) -> String {
    format_utc(at)
}

/// Text for one table cell: one line, no pipes.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// A bullet whose continuation lines stay inside it.
fn bullet(out: &mut String, text: &str) {
    let mut lines = text.trim().lines();
    let _ = writeln!(out, "- {}", lines.next().unwrap_or(""));
    for line in lines {
        let _ = writeln!(out, "  {line}");
    }
}

/// Fill a template's placeholders in one pass over the template: what a placeholder
/// becomes is never scanned again, so text from the incident cannot expand into more
/// placeholders. Unknown `{{…}}` are left as written.
pub fn fill(template: &str, facts: &Facts) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match after.find("}}").map(|end| &after[..end + 2]) {
            Some(token) => {
                match value(token, facts) {
                    Some(v) => out.push_str(v.trim_end()),
                    None => out.push_str(token),
                }
                rest = &after[token.len()..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What one placeholder becomes.
fn value(token: &str, facts: &Facts) -> Option<String> {
    let i = &facts.incident;
    Some(match token {
        "{{title}}" => i.title.clone(),
        "{{number}}" => i.reference(),
        "{{severity}}" => i.severity.label().to_owned(),
        "{{leader}}" => i.leader_name.clone(),
        "{{started_at}}" => when(i.started_at),
        "{{resolved_at}}" => i
            .resolved_at
            .map(when)
            .unwrap_or_else(|| "not resolved yet".into()),
        "{{summary}}" => summary(facts),
        "{{impact}}" => impact(facts),
        "{{timeline}}" => wrap(TIMELINE_START, TIMELINE_END, &timeline(facts)),
        "{{detection}}" => detection(facts),
        "{{response}}" => response(facts),
        "{{recovery}}" => workstream_section(facts, WorkstreamKind::Recovery),
        "{{root_cause}}" => workstream_section(facts, WorkstreamKind::RootCause),
        "{{five_whys}}" => five_whys(),
        "{{action_items}}" => wrap(ACTIONS_START, ACTIONS_END, &action_table(&facts.items)),
        _ => return None,
    })
}

fn wrap(start: &str, end: &str, content: &str) -> String {
    format!("{start}\n{}\n{end}", content.trim_end())
}

fn summary(facts: &Facts) -> String {
    let i = &facts.incident;
    let mut out = String::new();
    let _ = writeln!(out, "- **Incident:** {} — {}", i.reference(), i.title);
    let _ = writeln!(
        out,
        "- **Severity:** {} · **Public impact:** {}",
        i.severity.label(),
        i.impact.label()
    );
    let _ = writeln!(out, "- **Leader:** {}", i.leader_name);
    let _ = writeln!(
        out,
        "- **Started:** {} · **Declared:** {} · **Resolved:** {}",
        when(i.started_at),
        when(i.declared_at),
        i.resolved_at
            .map(when)
            .unwrap_or_else(|| "not resolved yet".into())
    );
    if !i.summary.trim().is_empty() {
        let _ = write!(out, "\n{}\n", i.summary.trim());
    }
    out
}

fn impact(facts: &Facts) -> String {
    let i = &facts.incident;
    let d = i.lifecycle().durations();
    let show = |x: Option<time::Duration>| x.map(format_duration).unwrap_or_else(|| "—".into());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- **Severity:** {}; **public impact:** {} ({})",
        i.severity.label(),
        i.impact.label(),
        if i.visibility == crate::incidents::Visibility::Public {
            "shown on the status page"
        } else {
            "internal"
        }
    );
    if facts.components.is_empty() {
        let _ = writeln!(out, "- **Affected components:** none recorded");
    } else {
        let list: Vec<String> = facts
            .components
            .iter()
            .map(|c| format!("{} (worst: {})", c.name, c.worst.label()))
            .collect();
        let _ = writeln!(out, "- **Affected components:** {}", list.join(", "));
    }
    let _ = writeln!(
        out,
        "- **Impact:** {} → {}{}",
        when(i.started_at),
        i.resolved_at
            .map(when)
            .unwrap_or_else(|| "not resolved yet".into()),
        d.to_resolve
            .map(|t| format!(" ({})", format_duration(t)))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "- **Time to detect:** {} · **to acknowledge:** {} · **to mitigate:** {} · **to resolve:** {}",
        show(d.to_detect),
        show(d.to_acknowledge),
        show(d.to_mitigate),
        show(d.to_resolve)
    );
    out
}

/// Whether a log entry belongs in the timeline. Of an alert group's entries, those that
/// move the group (opened, fired, acknowledged, resolved, ...) do; an alert firing again
/// or resolving on its own does not.
fn in_timeline(e: &EventRow) -> bool {
    let alert_step = e.kind == EventKind::Alert
        && !matches!(
            e.data["transition"].as_str(),
            Some("alert_refired" | "alert_resolved")
        );
    e.corrected_by.is_none()
        && (e.pinned
            || alert_step
            || matches!(
                e.kind,
                EventKind::Declared
                    | EventKind::StatusChanged
                    | EventKind::SeverityChanged
                    | EventKind::CommandChanged
                    | EventKind::ComponentChanged
                    | EventKind::AlertAttached
            ))
}

/// The timeline table, oldest first.
pub fn timeline(facts: &Facts) -> String {
    let mut entries: Vec<&EventRow> = facts.events.iter().filter(|e| in_timeline(e)).collect();
    entries.sort_by_key(|e| (e.occurred_at, e.seq));
    if entries.is_empty() {
        return "_Nothing in the log yet._".into();
    }
    let mut out = String::from("| Time (UTC) | What | Entry |\n|---|---|---|\n");
    for e in entries {
        let what = if e.pinned {
            format!("{} 📌", e.kind.label())
        } else {
            e.kind.label().to_owned()
        };
        let author = match (&e.author_name, e.is_written()) {
            (Some(name), true) => format!(" — {name}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {}{} |",
            when(e.occurred_at).trim_end_matches(" UTC"),
            cell(&what),
            cell(&e.body),
            cell(&author)
        );
    }
    out
}

fn detection(facts: &Facts) -> String {
    let i = &facts.incident;
    let declared_by = facts
        .events
        .iter()
        .find(|e| e.kind == EventKind::Declared)
        .and_then(|e| e.author_name.clone())
        .unwrap_or_else(|| "someone".into());
    let mut out = String::new();
    let _ = writeln!(out, "- Impact started at {}.", when(i.started_at));
    match i.detected_at {
        Some(at) => {
            let _ = writeln!(
                out,
                "- Detected at {} ({} after impact started).",
                when(at),
                format_duration(at - i.started_at)
            );
        }
        None => {
            let _ = writeln!(out, "- No separate detection time was recorded.");
        }
    }
    let _ = writeln!(
        out,
        "- Declared at {} by {declared_by}.",
        when(i.declared_at)
    );
    let _ = writeln!(
        out,
        "\n_How was it noticed: an alert, a customer, a person?_"
    );
    out
}

fn response(facts: &Facts) -> String {
    let i = &facts.incident;
    let mut out = String::new();
    let _ = writeln!(out, "- **Incident leader:** {}", i.leader_name);
    if let Some(owner) = &i.report_owner_name {
        let _ = writeln!(out, "- **Report by:** {owner} (paged)");
    }
    let handovers: Vec<&EventRow> = facts
        .events
        .iter()
        .filter(|e| e.kind == EventKind::CommandChanged && e.corrected_by.is_none())
        .collect();
    if handovers.is_empty() {
        let _ = writeln!(out, "- **Handovers:** none");
    } else {
        let _ = writeln!(out, "- **Handovers:**");
        for e in handovers {
            let _ = writeln!(out, "  - {}: {}", when(e.occurred_at), e.body.trim());
        }
    }
    let _ = writeln!(out, "- **Workstreams:**");
    for w in &facts.workstreams {
        let _ = writeln!(
            out,
            "  - {} — lead: {} — {}{}",
            w.title,
            w.lead_name.as_deref().unwrap_or("nobody"),
            w.status.label().to_lowercase(),
            if w.objective.trim().is_empty() {
                String::new()
            } else {
                format!(" — {}", w.objective.trim())
            }
        );
    }
    out
}

/// The objective, tasks and notes of the first workstream of `kind`.
fn workstream_section(facts: &Facts, kind: WorkstreamKind) -> String {
    let Some(w) = facts.workstreams.iter().find(|w| w.kind == kind) else {
        return "_No such workstream._".into();
    };
    let mut out = String::new();
    if !w.objective.trim().is_empty() && kind == WorkstreamKind::Recovery {
        let _ = writeln!(out, "Objective: {}\n", w.objective.trim());
    }
    let tasks: Vec<&TaskRow> = facts
        .tasks
        .iter()
        .filter(|t| t.workstream_id == w.id)
        .collect();
    if !tasks.is_empty() {
        for t in tasks {
            let _ = writeln!(
                out,
                "- [{}] {}{}",
                if t.done_at.is_some() { "x" } else { " " },
                t.title,
                t.assignee_name
                    .as_ref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default()
            );
        }
        out.push('\n');
    }
    let notes: Vec<&EventRow> = facts
        .events
        .iter()
        .filter(|e| {
            e.workstream_id == Some(w.id)
                && matches!(e.kind, EventKind::Note | EventKind::Correction)
                && e.corrected_by.is_none()
        })
        .collect();
    if notes.is_empty() {
        let _ = writeln!(
            out,
            "_No notes were logged in the {} workstream; write what happened here._",
            w.title.to_lowercase()
        );
    } else {
        for e in notes {
            bullet(
                &mut out,
                &format!(
                    "{} — {}{}",
                    when(e.occurred_at),
                    e.body.trim(),
                    e.author_name
                        .as_ref()
                        .map(|a| format!(" ({a})"))
                        .unwrap_or_default()
                ),
            );
        }
    }
    out
}

fn five_whys() -> String {
    (1..=5).map(|n| format!("{n}. Why? \n")).collect()
}

/// The action-item table (Markdown).
pub fn action_table(items: &[ItemLine]) -> String {
    if items.is_empty() {
        return "_No action items yet._".into();
    }
    let mut out =
        String::from("| Priority | Action item | Kind | Owner | Due | Status | Tracker |\n|---|---|---|---|---|---|---|\n");
    for item in items {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            item.priority.label(),
            cell(&item.title),
            item.kind.label(),
            cell(item.owner.as_deref().unwrap_or("—")),
            item.due_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".into()),
            item.status.label(),
            item.tracker_url
                .as_deref()
                .map(|u| format!("<{}>", cell(u)))
                .unwrap_or_else(|| "—".into())
        );
    }
    out
}

/// A starting point for the public summary, written for customers: what happened, the
/// impact, and what is being done so it does not happen again. Only facts customers
/// already saw go in: the public name, the times, the affected components.
pub fn public_summary_starter(facts: &Facts) -> String {
    let i = &facts.incident;
    let mut out = String::from("## What happened\n\n");
    let _ = write!(
        out,
        "On {}, \"{}\": describe in plain words what went wrong.",
        when(i.started_at),
        i.public_name()
    );
    out.push_str("\n\n## Impact\n\n");
    let names: Vec<&str> = facts.components.iter().map(|c| c.name.as_str()).collect();
    let span = match i.resolved_at {
        Some(resolved) => format!("from {} to {}", when(i.started_at), when(resolved)),
        None => format!("from {}", when(i.started_at)),
    };
    if names.is_empty() {
        let _ = write!(out, "Customers were affected {span}: say how.");
    } else {
        let _ = write!(
            out,
            "{} {} affected {span}: say how.",
            names.join(", "),
            if names.len() == 1 { "was" } else { "were" }
        );
    }
    out.push_str("\n\n## What we are doing so it does not happen again\n\n- \n");
    out
}

/// The body with the generated timeline refreshed; `None` when its markers were removed.
pub fn regenerate_timeline(body: &str, facts: &Facts) -> Option<String> {
    replace_between(body, TIMELINE_START, TIMELINE_END, &timeline(facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_on_one_line_without_pipes() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
    }
}
