//! What the alert templates show, decided here: labels, classes, safe links and which
//! buttons a reader gets.

use serde_json::Value;
use time::OffsetDateTime;

use crate::alerts::queries::GroupView;
use crate::alerts::AlertGroupState;
use crate::http::zone::{stamp, Stamp};
use crate::incidents::format_duration;

/// One group in a list, or the head of its page.
pub struct GroupItem {
    pub reference: String,
    pub path: String,
    pub title: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub urgency: &'static str,
    pub urgency_class: &'static str,
    pub severity: &'static str,
    pub integration: String,
    pub age: String,
    pub opened: Stamp,
    pub firing: i32,
    pub total: i32,
    pub labels: Vec<(String, String)>,
    pub runbook: Option<String>,
    pub source: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_by: Option<String>,
    pub can_acknowledge: bool,
    pub can_resolve: bool,
    /// Not attached to an incident yet, and the reader may respond.
    pub can_declare: bool,
    /// The incident it is attached to: (its page, `INC-42`).
    pub incident: Option<(String, String)>,
    pub can_silence: bool,
    /// The silence that covers it: (until, why).
    pub silenced_until: Option<(Stamp, String)>,
    /// The silence form's minutes and reason: its defaults, or as typed when refused.
    pub silence_form: (String, String),
    /// Where its latest page stands, if a critical alert paged for it.
    pub paging: Option<PagingLine>,
}

/// A group's page in one line: "Paging Ada in 25 s", "Acknowledged by Grace".
pub struct PagingLine {
    pub text: String,
    /// `paging-counting`, `paging-paged`, `paging-acked`, `paging-muted`, `paging-missed`.
    pub class: &'static str,
    /// While counting down: when it pages (Unix seconds) and whom, for the page to tick.
    pub countdown: Option<(i64, String)>,
}

impl PagingLine {
    pub fn of(page: &crate::paging::PageRow, now: OffsetDateTime) -> Option<PagingLine> {
        use crate::paging::PageState;
        let reference = page.reference();
        let (text, class, countdown) = match page.state {
            PageState::CountingDown => {
                let who = page
                    .countdown_target
                    .clone()
                    .unwrap_or_else(|| "someone".into());
                let left = page.countdown_seconds(now).unwrap_or(0);
                let due = page.due_at.map(|d| d.unix_timestamp());
                (
                    format!("Paging {who} in {left} s"),
                    "paging-counting",
                    due.map(|d| (d, who)),
                )
            }
            PageState::Paging => (
                format!("{reference}: paged, nobody has acknowledged yet"),
                "paging-paged",
                None,
            ),
            PageState::Acknowledged => (
                format!(
                    "{reference} acknowledged by {}",
                    page.acknowledged_by_name.as_deref().unwrap_or("the source")
                ),
                "paging-acked",
                None,
            ),
            PageState::Muted => (
                format!("{reference}: nobody paged, the team is in acked mode"),
                "paging-muted",
                None,
            ),
            PageState::Exhausted => (
                format!("{reference}: everyone was paged, nobody acknowledged"),
                "paging-missed",
                None,
            ),
            PageState::Resolved => return None,
        };
        Some(PagingLine {
            text,
            class,
            countdown,
        })
    }
}

/// A link we are willing to show: `http` or `https` only (never `javascript:` and the
/// like, which a sender could put in an annotation).
pub fn safe_link(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// The `key=value` pairs of a label or annotation object, by key.
pub fn pairs(value: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn item(g: &GroupView, can_respond: bool, now: OffsetDateTime) -> GroupItem {
    let open = g.state != AlertGroupState::Resolved;
    GroupItem {
        reference: g.reference(),
        path: format!("/admin/alert-groups/{}", g.reference()),
        title: g.title.clone(),
        state: g.state.label(),
        state_class: g.state.css_class(),
        urgency: g.urgency.label(),
        urgency_class: match g.urgency {
            crate::alerts::AlertUrgency::Critical => "urg-critical",
            crate::alerts::AlertUrgency::High => "urg-high",
            crate::alerts::AlertUrgency::Low => "urg-low",
        },
        severity: g.severity.label(),
        integration: g.integration_name.clone(),
        age: format_duration(g.resolved_at.unwrap_or(now) - g.opened_at),
        opened: stamp(g.opened_at),
        firing: g.alerts_firing,
        total: g.alerts_total,
        labels: pairs(&g.labels),
        runbook: g.runbook_url.as_deref().and_then(safe_link),
        source: g.source_url.as_deref().and_then(safe_link),
        acknowledged_by: g.acknowledged_at.map(|_| {
            g.acknowledged_by_name
                .clone()
                .unwrap_or_else(|| "the source".into())
        }),
        resolved_by: g.resolved_at.map(|_| {
            g.resolved_by_name
                .clone()
                .unwrap_or_else(|| "the source".into())
        }),
        can_acknowledge: can_respond && open && g.acknowledged_at.is_none(),
        can_resolve: can_respond && open,
        can_declare: can_respond && g.incident_id.is_none(),
        incident: g
            .incident_number
            .map(|n| (format!("/admin/incidents/{n}"), format!("INC-{n}"))),
        can_silence: can_respond && open,
        silenced_until: g
            .silence_ends_at
            .zip(g.silence_reason.clone())
            .map(|(until, reason)| (stamp(until), reason)),
        silence_form: ("60".into(), String::new()),
        paging: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_shown_as_links() {
        assert_eq!(
            safe_link("https://runbooks.example/disk").as_deref(),
            Some("https://runbooks.example/disk")
        );
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link(" JavaScript:alert(1)"), None);
        assert_eq!(safe_link("data:text/html,hi"), None);
        assert_eq!(safe_link("not a url"), None);
    }
}
