//! The incident page.

use crate::accounts::users;
use crate::postmortems::store;
use askama::Template;
use axum::http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::view::{
    choices, component_picks, event_view, impact_choices, incident_view, parse_cursor,
    people_choices, severity_options, status_choices, update_views, visibility_choices,
    workstream_views, Choice, ComponentPick, EventView, IncidentView, SeverityOption, UpdateView,
    WorkstreamView,
};
use super::Reply;
use crate::accounts::Role;
use crate::components::{self, ComponentStatus};
use crate::http::error::AppError;
use crate::http::extract::{Path, Query, Staff};
use crate::http::page::{render_admin, render_admin_status, Layout};
use crate::incidents::events::LogFilter;
use crate::incidents::{self, IncidentRow};
use crate::incidents::{EventKind, IncidentStatus};

/// Entries shown per page of the log.
pub const LOG_PAGE: i64 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    pub workstream: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub before: String,
    #[serde(default)]
    pub correct: String,
    #[serde(default)]
    pub pinned: String,
}

/// What the public-update composer holds when the page comes back (preview, errors).
#[derive(Default)]
pub struct UpdateDraft {
    pub(super) status: Option<IncidentStatus>,
    /// The title customers see, as typed.
    pub(super) title: Option<String>,
    pub(super) body: String,
    pub(super) components: Vec<(Uuid, ComponentStatus)>,
    pub(super) notify: bool,
    pub(super) preview_html: Option<String>,
    pub(super) error: Option<String>,
}

/// What the note composer holds when the page comes back with an error.
#[derive(Default)]
pub struct NoteDraft {
    pub(super) body: String,
    pub(super) occurred_at: String,
    pub(super) error: Option<String>,
}

#[derive(Default)]
pub struct PageExtras {
    pub(super) alert: Option<String>,
    pub(super) update: Option<UpdateDraft>,
    pub(super) note: Option<NoteDraft>,
}

pub struct AffectedView {
    pub name: String,
    pub status: &'static str,
    pub status_class: &'static str,
    /// What customers see instead, while the change is held back.
    pub held_back: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/incident.html")]
struct IncidentPage {
    layout: Layout,
    incident: IncidentView,
    incident_path: String,
    csrf_token: String,
    can_respond: bool,
    is_leader: bool,
    alert: Option<String>,
    leaders: Vec<Choice>,
    severities: Vec<SeverityOption>,
    statuses: Vec<Choice>,
    impacts: Vec<Choice>,
    visibilities: Vec<Choice>,
    affected: Vec<AffectedView>,
    /// Trouble upstream of the components it touches.
    upstream: Vec<crate::http::admin::upstream::UpstreamItem>,
    /// Some component change is held back from the status page.
    any_held_back: bool,
    /// Public, and its first public update has put it on the status page.
    on_status_page: bool,
    /// The title the update form proposes to customers.
    update_title: String,
    /// The title customers know it by now (the form renames only when it differs).
    current_public_title: String,
    updates: Vec<UpdateView>,
    update_statuses: Vec<Choice>,
    update_body: String,
    update_preview: Option<String>,
    update_error: Option<String>,
    update_notify: bool,
    update_components: Vec<ComponentPick>,
    workstreams: Vec<WorkstreamView>,
    workstream_filter: Vec<Choice>,
    kind_filter: Vec<Choice>,
    pinned_only: bool,
    filtered: bool,
    events: Vec<EventView>,
    /// "12 entries", or "showing 3 of 12 entries" when filtered or paged.
    log_count: String,
    older: Option<String>,
    note_workstreams: Vec<Choice>,
    note_body: String,
    note_occurred_at: String,
    note_error: Option<String>,
    correcting: Option<EventView>,
    last_seq: i64,
    /// The postmortem, if started: (its page, its status).
    postmortem: Option<(String, &'static str)>,
    templates: Vec<Choice>,
}

pub async fn show_incident(s: Staff, Path(r): Path<String>, Query(q): Query<LogQuery>) -> Reply {
    let incident = super::load(&s.state, &r).await?;
    let page = build(&s, incident, &q, PageExtras::default()).await?;
    render_admin(&s.state, &page.layout, &page)
}

/// Render the incident page with a status (409 for conflicts, 422 for bad input).
pub async fn render_with<R>(
    s: &Staff<R>,
    incident: IncidentRow,
    extras: PageExtras,
    status: StatusCode,
) -> Reply {
    let page = build(s, incident, &LogQuery::default(), extras).await?;
    render_admin_status(&s.state, &page.layout, &page, status)
}

async fn build<R>(
    s: &Staff<R>,
    incident: IncidentRow,
    query: &LogQuery,
    extras: PageExtras,
) -> Result<IncidentPage, AppError> {
    let (state, user) = (&s.state, &s.user);
    let pool = &state.pool;
    let users = users::list(pool).await?;
    let workstreams = incidents::workstreams::list(pool, incident.id).await?;
    let tasks = incidents::workstreams::tasks(pool, incident.id).await?;
    let updates = incidents::updates::list(pool, incident.id).await?;
    let affected = incidents::affected_components(pool, incident.id).await?;
    let touched: Vec<Uuid> = affected.iter().map(|a| a.id).collect();
    let upstream = crate::http::admin::upstream::items(pool, &touched).await?;
    let components = components::list(pool).await?;

    let workstream_id = Uuid::parse_str(&query.workstream).ok();
    let kind = EventKind::parse(&query.kind);
    let filter = LogFilter {
        workstream_id,
        kinds: kind.into_iter().collect(),
        pinned_only: query.pinned == "1",
        before: parse_cursor(&query.before),
    };
    let mut rows = incidents::events::list(pool, incident.id, &filter, LOG_PAGE + 1).await?;
    let older = if rows.len() as i64 > LOG_PAGE {
        rows.truncate(LOG_PAGE as usize);
        rows.last().map(|e| event_view(e.clone()).cursor)
    } else {
        None
    };
    let correcting = match Uuid::parse_str(&query.correct) {
        Ok(id) => incidents::events::find(pool, id)
            .await?
            .filter(|e| e.incident_id == incident.id)
            .map(event_view),
        Err(_) => None,
    };
    let event_count = incidents::events::count(pool, incident.id).await?;
    let last_seq = incidents::events::last_seq(pool, incident.id).await?;

    let draft = extras.update.unwrap_or(UpdateDraft {
        notify: true,
        ..Default::default()
    });
    let note = extras.note.unwrap_or_default();
    let default_update_status = incident.status;
    let mut workstream_filter = vec![Choice {
        value: String::new(),
        label: "All workstreams".into(),
        selected: workstream_id.is_none(),
    }];
    workstream_filter.extend(workstreams.iter().map(|w| Choice {
        value: w.id.to_string(),
        label: w.title.clone(),
        selected: Some(w.id) == workstream_id,
    }));
    let mut kind_filter = vec![Choice {
        value: String::new(),
        label: "Everything".into(),
        selected: kind.is_none(),
    }];
    kind_filter.extend(
        choices(EventKind::ALL, kind, EventKind::as_str, EventKind::label)
            .into_iter()
            .map(|mut c| {
                c.label = kind_filter_label(&c.value).to_owned();
                c
            }),
    );
    let mut note_workstreams = vec![Choice {
        value: String::new(),
        label: "The whole incident".into(),
        selected: true,
    }];
    note_workstreams.extend(workstreams.iter().map(|w| Choice {
        value: w.id.to_string(),
        label: w.title.clone(),
        selected: false,
    }));

    let postmortem = store::of_incident(&state.pool, incident.id)
        .await?
        .map(|p| (format!("/admin/postmortems/{}", p.id), p.status.label()));
    let templates = store::templates(&state.pool)
        .await?
        .into_iter()
        .map(|t| Choice {
            selected: t.id == store::STANDARD_TEMPLATE,
            value: t.id.to_string(),
            label: t.name,
        })
        .collect();
    let now = OffsetDateTime::now_utc();
    Ok(IncidentPage {
        postmortem,
        templates,
        layout: Layout::new(
            state,
            user,
            &s.jar,
            &format!("{} {}", incident.reference(), incident.title),
            "Incidents",
        ),
        can_respond: user.can(Role::Responder),
        is_leader: user.user.id == incident.leader_id,
        alert: extras.alert,
        leaders: people_choices(&users, Some(incident.leader_id)),
        severities: severity_options(Some(incident.severity)),
        statuses: status_choices(incident.status),
        impacts: impact_choices(incident.impact),
        visibilities: visibility_choices(incident.visibility),
        upstream,
        any_held_back: affected.iter().any(|a| a.status != a.public_status),
        affected: affected
            .into_iter()
            .map(|a| AffectedView {
                name: a.name,
                status: a.status.label(),
                status_class: a.status.css_class(),
                held_back: (a.status != a.public_status).then(|| a.public_status.label()),
            })
            .collect(),
        on_status_page: incident.is_on_status_page(),
        current_public_title: incident.public_name().to_owned(),
        update_title: draft
            .title
            .clone()
            .unwrap_or_else(|| incident.public_name().to_owned()),
        updates: update_views(updates),
        update_statuses: status_choices(draft.status.unwrap_or(default_update_status)),
        update_body: draft.body,
        update_preview: draft.preview_html,
        update_error: draft.error,
        update_notify: draft.notify,
        update_components: component_picks(&components, &draft.components),
        workstreams: workstream_views(workstreams, &tasks, &users, user.user.id),
        workstream_filter,
        kind_filter,
        pinned_only: filter.pinned_only,
        filtered: workstream_id.is_some() || kind.is_some() || filter.pinned_only,
        log_count: log_count(
            rows.len(),
            event_count,
            workstream_id.is_some()
                || kind.is_some()
                || filter.pinned_only
                || older.is_some()
                || filter.before.is_some(),
        ),
        events: rows.into_iter().map(event_view).collect(),
        older: older.map(|cursor| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("before", &cursor);
            if !query.workstream.is_empty() {
                q.append_pair("workstream", &query.workstream);
            }
            if !query.kind.is_empty() {
                q.append_pair("kind", &query.kind);
            }
            if filter.pinned_only {
                q.append_pair("pinned", "1");
            }
            q.finish()
        }),
        note_workstreams,
        note_body: note.body,
        note_occurred_at: note.occurred_at,
        note_error: note.error,
        correcting,
        last_seq,
        incident_path: super::incident_path(&incident),
        csrf_token: user.csrf_token.clone(),
        incident: incident_view(&incident, now, &state.settings.nudges),
    })
}

/// How many entries the log shows, against how many there are.
fn log_count(shown: usize, total: i64, partial: bool) -> String {
    let entries = |n: i64| {
        if n == 1 {
            "1 entry".to_owned()
        } else {
            format!("{n} entries")
        }
    };
    if partial && shown as i64 != total {
        format!("showing {shown} of {}", entries(total))
    } else {
        entries(total)
    }
}

/// The log filter groups kinds that share a label ("Workstream", "Task").
fn kind_filter_label(value: &str) -> &'static str {
    match EventKind::parse(value) {
        Some(EventKind::WorkstreamAdded) => "Workstream added",
        Some(EventKind::WorkstreamChanged) => "Workstream changed",
        Some(EventKind::TaskAdded) => "Task added",
        Some(EventKind::TaskChanged) => "Task changed",
        Some(kind) => kind.label(),
        None => "Everything",
    }
}

#[cfg(test)]
mod tests {
    use super::log_count;

    #[test]
    fn the_log_count_says_when_it_shows_only_part() {
        assert_eq!(log_count(12, 12, false), "12 entries");
        assert_eq!(log_count(1, 1, false), "1 entry");
        assert_eq!(log_count(3, 12, true), "showing 3 of 12 entries");
        assert_eq!(log_count(12, 12, true), "12 entries");
    }
}
