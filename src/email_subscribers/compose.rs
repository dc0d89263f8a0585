//! What subscribers read: one message per public change, with a text and an HTML part in
//! the page's name, logo and accent colour. The per-recipient links are left as markers
//! ([`MANAGE`], [`CONFIRM`]) that the mailer fills in for each recipient.

use askama::Template;
use time::OffsetDateTime;

use crate::components::ComponentStatus;
use crate::maintenance::MaintenanceStatus;
use crate::platform::markdown;
use crate::status_page::changes::{IncidentChange, MaintenanceChange};
use crate::status_page::clock::Clock;
use crate::status_page::data::{PageData, PublicIncident, PublicMaintenance};

/// Where the recipient's own "manage your subscription" link goes.
pub const MANAGE: &str = "\u{1}manage\u{1}";
/// Where the recipient's own confirmation link goes.
pub const CONFIRM: &str = "\u{1}confirm\u{1}";

/// A message as every recipient gets it, markers and all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "email/notice.html")]
struct NoticeHtml<'a> {
    subject: &'a str,
    page_name: &'a str,
    accent: &'a str,
    logo_url: Option<String>,
    kind_line: &'a str,
    heading: &'a str,
    body_html: String,
    facts: &'a [(String, String)],
    button: Option<(&'a str, &'a str)>,
    footer: &'a str,
    manage_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/notice.txt")]
struct NoticeText<'a> {
    kind_line: &'a str,
    heading: &'a str,
    body_text: &'a str,
    facts: &'a [(String, String)],
    button: Option<(&'a str, &'a str)>,
    footer: &'a str,
    manage_url: Option<&'a str>,
}

/// The parts of a notice before it is rendered.
struct Notice {
    kind_line: String,
    heading: String,
    /// Markdown written by a responder.
    body: String,
    facts: Vec<(String, String)>,
    button: Option<(String, String)>,
    footer: String,
    /// Whether the recipient's manage link goes in (everything but the confirmation).
    manage: bool,
}

/// Text people wrote never carries a marker of its own.
fn clean(text: &str) -> String {
    text.replace('\u{1}', "")
}

fn render(page: &PageData, subject: String, notice: Notice) -> Composed {
    let subject = clean(&subject);
    let (kind_line, heading, body) = (
        clean(&notice.kind_line),
        clean(&notice.heading),
        clean(notice.body.trim()),
    );
    let facts: Vec<(String, String)> = notice
        .facts
        .iter()
        .map(|(l, v)| (clean(l), clean(v)))
        .collect();
    let button = notice
        .button
        .as_ref()
        .map(|(l, u)| (l.as_str(), u.as_str()));
    let manage = notice.manage.then_some(MANAGE);
    let html = NoticeHtml {
        subject: &subject,
        page_name: &page.name,
        accent: &page.settings.accent,
        logo_url: page.settings.has_logo.then(|| format!("{}/logo", page.url)),
        kind_line: &kind_line,
        heading: &heading,
        body_html: markdown::render(&body),
        facts: &facts,
        button,
        footer: &notice.footer,
        manage_url: manage,
    }
    .render()
    .unwrap_or_default();
    let text = NoticeText {
        kind_line: &kind_line,
        heading: &heading,
        body_text: &body,
        facts: &facts,
        button,
        footer: &notice.footer,
        manage_url: manage,
    }
    .render()
    .unwrap_or_default();
    Composed {
        subject,
        text,
        html,
    }
}

fn footer(page: &PageData) -> String {
    format!(
        "You get this because you subscribed to {}'s status updates ({}).",
        page.name, page.url
    )
}

fn subject(page: &PageData, what: &str) -> String {
    format!("[{} status] {what}", page.name)
}

fn clock(page: &PageData) -> Clock {
    Clock::new(&page.settings.time_zone)
}

/// "Tue Dec 8, 02:00 CET"
fn when(clock: &Clock, at: OffsetDateTime) -> String {
    clock.format(at, "%a %b %-d, %H:%M %Z")
}

fn component_names(page: &PageData, ids: &[uuid::Uuid]) -> String {
    let names: Vec<&str> = ids
        .iter()
        .filter_map(|id| page.component(*id))
        .map(|c| c.name.as_str())
        .collect();
    names.join(", ")
}

/// An incident's news: created, updated, resolved, or its postmortem published.
pub fn incident(page: &PageData, incident: &PublicIncident, change: IncidentChange) -> Composed {
    let latest = incident.updates.first();
    let status = incident.status.label();
    let kind_line = match change {
        IncidentChange::Created => "New incident".to_owned(),
        IncidentChange::Updated => "Incident update".to_owned(),
        IncidentChange::Resolved => "Resolved".to_owned(),
        IncidentChange::PostmortemPublished => "Postmortem".to_owned(),
    };
    let body = match change {
        IncidentChange::PostmortemPublished => incident
            .postmortem
            .as_ref()
            .map(|p| p.body.clone())
            .unwrap_or_default(),
        _ => latest.map(|u| u.body.clone()).unwrap_or_default(),
    };
    let mut facts = vec![("Status".to_owned(), status.to_owned())];
    let affected = component_names(page, &incident.component_ids);
    if !affected.is_empty() {
        facts.push(("Affected".into(), affected));
    }
    let clock = clock(page);
    facts.push((
        "Posted".into(),
        when(&clock, latest.map_or(incident.updated_at, |u| u.display_at)),
    ));
    let what = match change {
        IncidentChange::PostmortemPublished => format!("Postmortem: {}", incident.title),
        _ => format!("{status}: {}", incident.title),
    };
    render(
        page,
        subject(page, &what),
        Notice {
            kind_line,
            heading: incident.title.clone(),
            body,
            facts,
            button: Some((
                "Follow this incident".into(),
                format!("{}/incidents/{}", page.url, incident.id),
            )),
            footer: footer(page),
            manage: true,
        },
    )
}

/// A component's public status changed.
pub fn component(
    page: &PageData,
    name: &str,
    old: ComponentStatus,
    new: ComponentStatus,
) -> Composed {
    let heading = format!("{name} is {}", new.label().to_lowercase());
    render(
        page,
        subject(page, &format!("{name}: {}", new.label())),
        Notice {
            kind_line: "Component status".into(),
            heading,
            body: String::new(),
            facts: vec![
                ("Was".into(), old.label().to_owned()),
                ("Now".into(), new.label().to_owned()),
            ],
            button: Some(("See the status page".into(), format!("{}/", page.url))),
            footer: footer(page),
            manage: true,
        },
    )
}

/// A maintenance was announced, moved, started, updated or finished; or, with
/// `reminder`, starts in that many minutes.
pub fn maintenance(
    page: &PageData,
    m: &PublicMaintenance,
    change: MaintenanceChange,
    reminder: Option<i32>,
) -> Composed {
    let clock = clock(page);
    let window = format!(
        "{} – {}",
        when(&clock, m.row.scheduled_for),
        when(&clock, m.row.scheduled_until)
    );
    let (kind_line, what) = match (reminder, change) {
        (Some(minutes), _) => {
            let lead = lead_time(minutes);
            (
                format!("Maintenance in {lead}"),
                format!("Maintenance in {lead}: {}", m.row.title),
            )
        }
        (None, MaintenanceChange::Scheduled) => (
            "Scheduled maintenance".to_owned(),
            format!(
                "Scheduled maintenance: {}, {}",
                m.row.title,
                when(&clock, m.row.scheduled_for)
            ),
        ),
        (None, MaintenanceChange::Rescheduled) => (
            "Maintenance moved".to_owned(),
            format!(
                "Maintenance moved: {}, now {}",
                m.row.title,
                when(&clock, m.row.scheduled_for)
            ),
        ),
        (None, MaintenanceChange::Started) => (
            "Maintenance started".to_owned(),
            format!("Maintenance started: {}", m.row.title),
        ),
        (None, MaintenanceChange::Completed) => (
            "Maintenance completed".to_owned(),
            format!("Maintenance completed: {}", m.row.title),
        ),
        (None, MaintenanceChange::Cancelled) => (
            "Maintenance cancelled".to_owned(),
            format!("Maintenance cancelled: {}", m.row.title),
        ),
        (None, MaintenanceChange::Updated) => (
            "Maintenance update".to_owned(),
            format!("Maintenance update: {}", m.row.title),
        ),
    };
    // The newest update says what happened; before any, the plan's description.
    let body = match (reminder, change, m.updates.first()) {
        (
            None,
            MaintenanceChange::Started
            | MaintenanceChange::Completed
            | MaintenanceChange::Cancelled
            | MaintenanceChange::Updated,
            Some(update),
        ) if !update.body.trim().is_empty() => update.body.clone(),
        _ => m.row.description.clone(),
    };
    let mut facts = vec![("When".to_owned(), window)];
    let affected = component_names(page, &m.component_ids);
    if !affected.is_empty() {
        facts.push(("Affected".into(), affected));
    }
    if reminder.is_none() && m.row.status != MaintenanceStatus::Scheduled {
        facts.push(("Status".into(), m.row.status.label().to_owned()));
    }
    render(
        page,
        subject(page, &what),
        Notice {
            kind_line,
            heading: m.row.title.clone(),
            body,
            facts,
            button: Some((
                "See the maintenance".into(),
                format!("{}/incidents/{}", page.url, m.row.id),
            )),
            footer: footer(page),
            manage: true,
        },
    )
}

/// "3 days", "24 hours", "1 hour", "30 minutes"
pub fn lead_time(minutes: i32) -> String {
    let plural = |n: i32, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    if minutes >= 2880 && minutes % 1440 == 0 {
        plural(minutes / 1440, "day")
    } else if minutes >= 60 && minutes % 60 == 0 {
        plural(minutes / 60, "hour")
    } else {
        plural(minutes, "minute")
    }
}

/// The double opt-in mail: nothing else reaches the address before its owner follows
/// the link.
pub fn confirmation(page: &PageData) -> Composed {
    render(
        page,
        format!(
            "Confirm your subscription to {}'s status updates",
            page.name
        ),
        Notice {
            kind_line: "Confirm your subscription".into(),
            heading: format!("Get {}'s status updates by email?", page.name),
            body: format!(
                "Someone, probably you, asked for {}'s incident and maintenance notices at \
                 this address. Confirm within 48 hours and they start. If it was not you, \
                 ignore this mail: nothing more will be sent.",
                page.name
            ),
            facts: Vec::new(),
            button: Some(("Confirm my subscription".into(), CONFIRM.into())),
            footer: format!("{} status page: {}", page.name, page.url),
            manage: false,
        },
    )
}

/// What an address that is subscribed already gets when someone subscribes it again:
/// the form answers the same either way, so it does not tell who subscribes.
pub fn already_subscribed(page: &PageData) -> Composed {
    render(
        page,
        format!("You already get {}'s status updates", page.name),
        Notice {
            kind_line: "Already subscribed".into(),
            heading: "This address is subscribed already".into(),
            body: format!(
                "Someone asked to subscribe this address to {}'s status updates again. \
                 Nothing changed; you keep getting them. If you want fewer, choose the \
                 components you care about below.",
                page.name
            ),
            facts: Vec::new(),
            button: None,
            footer: footer(page),
            manage: true,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::lead_time;

    #[test]
    fn lead_times_read_as_people_say_them() {
        assert_eq!(lead_time(4320), "3 days");
        assert_eq!(lead_time(1440), "24 hours");
        assert_eq!(lead_time(60), "1 hour");
        assert_eq!(lead_time(90), "90 minutes");
        assert_eq!(lead_time(1), "1 minute");
    }
}
