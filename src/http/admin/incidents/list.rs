//! `/admin/incidents`: every incident, filtered, newest first, paged by keyset.

use crate::components;
use askama::Template;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::view::{choices, nudge, severity_class, status_class, status_text, Choice};
use super::Reply;
use crate::http::error::AppError;
use crate::http::extract::{Query, Staff};
use crate::http::page::{render_admin, Layout};
use crate::incidents::{self, IncidentRow, ListFilter};
use crate::incidents::{format_duration, IncidentStatus, Severity};

const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    component: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    before: String,
}

/// One incident in a list (also used by the dashboard).
pub struct IncidentItem {
    pub reference: String,
    pub path: String,
    pub title: String,
    pub severity: &'static str,
    pub severity_class: &'static str,
    pub status: &'static str,
    pub status_class: &'static str,
    pub leader: String,
    pub age: String,
    pub last_update: String,
    pub nudge: Option<i64>,
    pub internal: bool,
}

pub fn item(
    incident: &IncidentRow,
    now: OffsetDateTime,
    nudges: &crate::incidents::Nudges,
) -> IncidentItem {
    IncidentItem {
        reference: incident.reference(),
        path: super::incident_path(incident),
        title: incident.title.clone(),
        severity: incident.severity.label(),
        severity_class: severity_class(incident.severity),
        status: status_text(incident),
        status_class: status_class(incident.status),
        leader: incident.leader_name.clone(),
        age: format_duration(incident.resolved_at.unwrap_or(now) - incident.declared_at),
        last_update: incident
            .last_public_update_at
            .map(|at| format!("{} ago", format_duration(now - at)))
            .unwrap_or_else(|| "none yet".into()),
        nudge: nudge(incident, now, nudges),
        internal: incident.visibility == crate::incidents::Visibility::Internal,
    }
}

#[derive(Template)]
#[template(path = "admin/incidents.html")]
struct IncidentsPage {
    layout: Layout,
    incidents: Vec<IncidentItem>,
    statuses: Vec<Choice>,
    severities: Vec<Choice>,
    components: Vec<Choice>,
    from: String,
    to: String,
    q: String,
    next: Option<String>,
    filtered: bool,
}

fn date(raw: &str, field: &str) -> Result<Option<OffsetDateTime>, AppError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw.trim(), format)
        .map(|d| Some(d.midnight().assume_utc()))
        .map_err(|_| AppError::field(field, format!("{raw:?} is not a date (YYYY-MM-DD).")))
}

pub async fn list_incidents(
    Staff {
        state, user, jar, ..
    }: Staff,
    Query(query): Query<ListQuery>,
) -> Reply {
    let mut filter = ListFilter::default();
    match query.status.as_str() {
        "" => {}
        "open" => filter.open = Some(true),
        "resolved" => filter.open = Some(false),
        other => {
            filter.status =
                Some(IncidentStatus::parse(other).ok_or_else(|| {
                    AppError::field("status", format!("{other:?} is not a status."))
                })?)
        }
    }
    if !query.severity.is_empty() {
        filter.severity = Some(Severity::parse(&query.severity).ok_or_else(|| {
            AppError::field(
                "severity",
                format!("{:?} is not a severity.", query.severity),
            )
        })?);
    }
    filter.component_id = Uuid::parse_str(&query.component).ok();
    filter.since = date(&query.from, "from")?;
    filter.until = date(&query.to, "to")?.and_then(|d| d.checked_add(time::Duration::days(1)));
    filter.text = Some(query.q.trim().to_owned()).filter(|q| !q.is_empty());
    filter.before = query.before.split_once('_').and_then(|(nanos, id)| {
        let at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
        Some((at, Uuid::parse_str(id).ok()?))
    });

    let mut rows = incidents::list(&state.pool, &filter, PAGE + 1).await?;
    let next = if rows.len() as i64 > PAGE {
        rows.truncate(PAGE as usize);
        rows.last().map(|last| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in [
                ("status", &query.status),
                ("severity", &query.severity),
                ("component", &query.component),
                ("from", &query.from),
                ("to", &query.to),
                ("q", &query.q),
            ] {
                if !v.is_empty() {
                    q.append_pair(k, v);
                }
            }
            q.append_pair(
                "before",
                &format!("{}_{}", last.declared_at.unix_timestamp_nanos(), last.id),
            );
            q.finish()
        })
    } else {
        None
    };
    let now = OffsetDateTime::now_utc();
    let mut statuses = vec![
        Choice {
            value: String::new(),
            label: "Any status".into(),
            selected: query.status.is_empty(),
        },
        Choice {
            value: "open".into(),
            label: "Open".into(),
            selected: query.status == "open",
        },
        Choice {
            value: "resolved".into(),
            label: "Resolved".into(),
            selected: query.status == "resolved",
        },
    ];
    statuses.extend(choices(
        &IncidentStatus::ALL[..3],
        filter.status,
        IncidentStatus::as_str,
        IncidentStatus::label,
    ));
    let mut severities = vec![Choice {
        value: String::new(),
        label: "Any severity".into(),
        selected: filter.severity.is_none(),
    }];
    severities.extend(choices(
        Severity::ALL,
        filter.severity,
        Severity::as_str,
        Severity::label,
    ));
    let mut components = vec![Choice {
        value: String::new(),
        label: "Any component".into(),
        selected: filter.component_id.is_none(),
    }];
    components.extend(
        components::list(&state.pool)
            .await?
            .into_iter()
            .map(|c| Choice {
                selected: Some(c.id) == filter.component_id,
                value: c.id.to_string(),
                label: c.name,
            }),
    );
    let page = IncidentsPage {
        layout: Layout::new(&state, &user, &jar, "Incidents", "Incidents"),
        incidents: rows
            .iter()
            .map(|i| item(i, now, &state.settings.nudges))
            .collect(),
        statuses,
        severities,
        components,
        filtered: !(query.status.is_empty()
            && query.severity.is_empty()
            && query.component.is_empty()
            && query.from.is_empty()
            && query.to.is_empty()
            && query.q.is_empty()),
        from: query.from,
        to: query.to,
        q: query.q,
        next,
    };
    render_admin(&state, &page.layout, &page)
}
