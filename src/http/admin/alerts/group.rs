//! `/admin/alert-groups/{number}`: one group, its alerts with their labels and links, and
//! its history.

use askama::Template;
use time::OffsetDateTime;

use super::silences::SilenceForm;
use super::view::{item, pairs, safe_link, GroupItem};
use crate::accounts::Role;
use crate::alerts::history;
use crate::alerts::queries::{self, AlertFilter, AlertView, GroupView};
use crate::alerts::AlertStatus;
use crate::http::admin::Reply;
use crate::http::error::AppError;
use crate::http::extract::{Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::http::zone::{stamp, Stamp};
use crate::incidents;

/// At most this many alerts and history entries are shown.
const SHOWN: i64 = 500;

pub struct AlertItem {
    pub summary: String,
    pub description: Option<String>,
    pub firing: bool,
    pub status: &'static str,
    pub severity: &'static str,
    pub fingerprint: String,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// (href, text) of the sender's links that are web links.
    pub links: Vec<(String, String)>,
    pub starts: Stamp,
    pub ends: Option<Stamp>,
    pub times_received: i32,
    /// The sender's own object, pretty-printed.
    pub payload: String,
}

fn alert_item(a: AlertView) -> AlertItem {
    let links = a
        .links
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let href = safe_link(l["href"].as_str()?)?;
            let text = l["text"]
                .as_str()
                .filter(|t| !t.is_empty())
                .unwrap_or(&href);
            Some((href.clone(), text.to_owned()))
        })
        .collect();
    AlertItem {
        firing: a.status == AlertStatus::Firing,
        status: a.status.label(),
        severity: a.severity.label(),
        summary: a.summary,
        description: a.description,
        fingerprint: a.fingerprint,
        labels: pairs(&a.labels),
        annotations: pairs(&a.annotations),
        links,
        starts: stamp(a.starts_at),
        ends: a.ends_at.map(stamp),
        times_received: a.times_received,
        payload: match &a.payload {
            serde_json::Value::String(excerpt) => excerpt.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        },
    }
}

pub struct HistoryItem {
    pub kind: &'static str,
    pub body: String,
    pub actor: String,
    pub at: Stamp,
}

#[derive(Template)]
#[template(path = "admin/alert_group.html")]
struct AlertGroupPage {
    layout: Layout,
    g: GroupItem,
    alerts: Vec<AlertItem>,
    history: Vec<HistoryItem>,
    /// The open incidents it may be attached to: (id, "INC-42 title").
    open_incidents: Vec<(String, String)>,
    /// Why the silence form was refused.
    error: Option<String>,
    /// The team its route names, with who is on duty: (name, page, duty).
    duty: Option<(String, String, crate::http::admin::teams::DutyLine)>,
    /// Its latest page: what it did, with times.
    page_steps: Vec<(Stamp, String)>,
    /// Trouble upstream of the component it is about, and of its incident's.
    upstream: Vec<crate::http::admin::upstream::UpstreamItem>,
}

pub async fn show_alert_group(staff: Staff, Path(reference): Path<String>) -> Reply {
    let group = super::load(&staff.state, &reference).await?;
    let page = group_page(&staff, group, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// The group's page again with why its silence form was refused, and the form as typed.
pub(super) async fn refused<R>(
    staff: &Staff<R>,
    group: GroupView,
    form: SilenceForm,
    message: String,
) -> Reply {
    let mut page = group_page(staff, group, Some(message)).await?;
    page.g.silence_form = (form.minutes, form.reason);
    render_refused(&staff.state, &page.layout, &page)
}

async fn group_page<R>(
    staff: &Staff<R>,
    group: GroupView,
    error: Option<String>,
) -> Result<AlertGroupPage, AppError> {
    let pool = &staff.state.pool;
    let filter = AlertFilter {
        group_id: Some(group.id),
        ..Default::default()
    };
    let alerts = queries::list_alerts(pool, &filter, SHOWN).await?;
    let entries = history::list(pool, group.id, None, SHOWN).await?;
    let can_respond = staff.user.can(Role::Responder);
    let now = OffsetDateTime::now_utc();
    let mut g = item(&group, can_respond, now);
    let mut conn = pool.acquire().await?;
    let latest = crate::paging::store::latest_of_groups(&mut *conn, &[group.id]).await?;
    let latest = latest.into_iter().next();
    g.paging = latest
        .as_ref()
        .and_then(|p| super::view::PagingLine::of(p, now));
    let page_steps = match &latest {
        Some(p) => crate::paging::store::events(&mut *conn, p.id)
            .await?
            .into_iter()
            .map(|e| (stamp(e.at), e.body))
            .collect(),
        None => Vec::new(),
    };
    let team_id = match latest.as_ref().and_then(|p| p.team_id) {
        Some(id) => Some(id),
        None => crate::paging::reach::route_of(&mut conn, group.id).await?.0,
    };
    let team = match team_id {
        Some(id) => crate::oncall::teams::find(&mut *conn, id).await?,
        None => None,
    };
    let duty = match team {
        Some(team) => {
            let now_duty = crate::oncall::duty::now(&mut conn, &team, now).await?;
            Some((
                team.name.clone(),
                format!("/admin/teams/{}", team.id),
                crate::http::admin::teams::DutyLine::of(&now_duty),
            ))
        }
        None => None,
    };
    let open_incidents = match g.can_declare {
        true => incidents::open(pool).await?,
        false => Vec::new(),
    };
    let mut touched: Vec<uuid::Uuid> = queries::component_of_group(pool, group.id)
        .await?
        .into_iter()
        .collect();
    if let Some(incident) = group.incident_id {
        touched.extend(
            incidents::affected_components(pool, incident)
                .await?
                .into_iter()
                .map(|a| a.id),
        );
    }
    let upstream = crate::http::admin::upstream::items(pool, &touched).await?;
    let page = AlertGroupPage {
        upstream,
        layout: Layout::of(staff, &format!("{} {}", g.reference, g.title), "Alerts"),
        g,
        alerts: alerts.into_iter().map(alert_item).collect(),
        history: entries
            .into_iter()
            .map(|e| HistoryItem {
                kind: e.kind.label(),
                body: e.body,
                actor: e.actor_name.unwrap_or_else(|| "the source".into()),
                at: stamp(e.occurred_at),
            })
            .collect(),
        open_incidents: open_incidents
            .into_iter()
            .map(|i| (i.id.to_string(), format!("{} {}", i.reference(), i.title)))
            .collect(),
        error,
        duty,
        page_steps,
    };
    Ok(page)
}
