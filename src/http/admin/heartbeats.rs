//! `/admin/heartbeats`: the dead man's switches, their ping URLs and their latest pings
//! with what the jobs logged. Everyone signed in reads them; responders pause and
//! resume; admins make, change and delete them.

use askama::Template;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

use super::incidents::view::{named_choices, Choice};
use super::{stamp, Reply, Stamp};
use crate::alerts::intake::Labels;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, AsResponder, Button, CsrfForm, Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::monitors::heartbeats::{self, HeartbeatRow, NewHeartbeat};
use crate::monitors::pings::{self, PingKind};
use crate::monitors::HeartbeatState;
use crate::platform::command::CommandError;
use crate::status_page::clock::Clock;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/heartbeats",
            get(list_heartbeats).post(create_heartbeat),
        )
        .route(
            "/admin/heartbeats/{id}",
            get(show_heartbeat).post(update_heartbeat),
        )
        .route("/admin/heartbeats/{id}/pause", post(pause_heartbeat))
        .route("/admin/heartbeats/{id}/resume", post(resume_heartbeat))
        .route("/admin/heartbeats/{id}/delete", post(delete_heartbeat))
}

/// The units a period or grace time is typed in.
const UNITS: [(&str, &str, i64); 4] = [
    ("minutes", "minutes", 60),
    ("hours", "hours", 3600),
    ("days", "days", 86_400),
    ("weeks", "weeks", 604_800),
];

/// `seconds` as a number of the largest unit it is a whole number of.
fn in_units(seconds: i32) -> (String, &'static str) {
    let seconds = i64::from(seconds);
    let (unit, size) = UNITS
        .iter()
        .rev()
        .find(|(_, _, size)| seconds % size == 0)
        .map_or(("minutes", 60), |(unit, _, size)| (*unit, *size));
    if seconds % size == 0 {
        ((seconds / size).to_string(), unit)
    } else {
        // Less than a whole minute apart (made through the API): shown in minutes, rounded.
        (((seconds + 30) / 60).to_string(), "minutes")
    }
}

/// "every 2 hours", "every 90 minutes".
fn spoken(seconds: i32) -> String {
    let (n, unit) = in_units(seconds);
    if n == "1" {
        format!("1 {}", unit.trim_end_matches('s'))
    } else {
        format!("{n} {unit}")
    }
}

fn unit_choices(selected: &str) -> Vec<Choice> {
    UNITS
        .iter()
        .map(|(value, label, _)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: *value == selected,
        })
        .collect()
}

fn state_class(state: HeartbeatState) -> &'static str {
    match state {
        HeartbeatState::Up => "ok",
        HeartbeatState::Late => "warn",
        HeartbeatState::Down => "bad",
        HeartbeatState::New | HeartbeatState::Paused => "",
    }
}

/// A heartbeat as a row of the list and the head of its page.
pub struct HeartbeatItem {
    pub id: Uuid,
    pub name: String,
    pub state: &'static str,
    pub state_value: &'static str,
    pub state_class: &'static str,
    pub schedule: String,
    pub grace: String,
    pub last_ping: Option<Stamp>,
    pub late_at: Option<Stamp>,
    pub down_at: Option<Stamp>,
    pub started: Option<Stamp>,
    pub last_duration: Option<String>,
    pub labels: Vec<(String, String)>,
    pub ping_url: String,
}

fn item(state: &AppState, h: &HeartbeatRow) -> HeartbeatItem {
    let schedule = match (&h.period_seconds, &h.cron, &h.time_zone) {
        (Some(period), _, _) => format!("every {}", spoken(*period)),
        (None, Some(cron), zone) => {
            format!("cron {cron} ({})", zone.as_deref().unwrap_or("UTC"))
        }
        _ => "no schedule".to_owned(),
    };
    let running = matches!(h.state, HeartbeatState::Up | HeartbeatState::Late);
    HeartbeatItem {
        id: h.id,
        name: h.name.clone(),
        state: h.state.label(),
        state_value: h.state.as_str(),
        state_class: state_class(h.state),
        schedule,
        grace: spoken(h.grace_seconds),
        last_ping: h.last_ping_at.map(stamp),
        late_at: h.late_at.filter(|_| running).map(stamp),
        down_at: h.down_at.filter(|_| running).map(stamp),
        started: h.started_at.map(stamp),
        last_duration: h.last_duration_ms.map(duration_text),
        labels: h.labels().into_iter().collect(),
        ping_url: format!("{}/ping/{}", state.settings.base_url, h.ping_key),
    }
}

fn duration_text(ms: i64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// The fields of the create and edit forms, as typed.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct HeartbeatForm {
    name: String,
    /// `period` or `cron`.
    schedule: String,
    period: String,
    period_unit: String,
    cron: String,
    time_zone: String,
    grace: String,
    grace_unit: String,
    /// `name=value`, one a line.
    labels: String,
    /// The component's id; empty: none.
    component: String,
    version: Option<i32>,
}

impl Default for HeartbeatForm {
    fn default() -> Self {
        HeartbeatForm {
            name: String::new(),
            schedule: "period".into(),
            period: "1".into(),
            period_unit: "days".into(),
            cron: String::new(),
            time_zone: "UTC".into(),
            grace: "1".into(),
            grace_unit: "hours".into(),
            labels: String::new(),
            component: String::new(),
            version: None,
        }
    }
}

impl HeartbeatForm {
    fn of(h: &HeartbeatRow) -> Self {
        let (period, period_unit) = in_units(h.period_seconds.unwrap_or(86_400));
        let (grace, grace_unit) = in_units(h.grace_seconds);
        HeartbeatForm {
            name: h.name.clone(),
            schedule: if h.cron.is_some() { "cron" } else { "period" }.into(),
            period,
            period_unit: period_unit.into(),
            cron: h.cron.clone().unwrap_or_default(),
            time_zone: h.time_zone.clone().unwrap_or_else(|| "UTC".into()),
            grace,
            grace_unit: grace_unit.into(),
            labels: h
                .labels()
                .iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect(),
            component: h.component_id.map(|c| c.to_string()).unwrap_or_default(),
            version: Some(h.version),
        }
    }

    /// The heartbeat the form describes, or what is wrong with it.
    fn read(&self) -> Result<NewHeartbeat, CommandError> {
        let grace = seconds("grace_seconds", "grace time", &self.grace, &self.grace_unit)?;
        let mut labels = Labels::new();
        for line in self.labels.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once('=') else {
                return Err(CommandError::invalid(
                    "labels",
                    format!("Label line {line:?} has no \"=\": write name=value."),
                ));
            };
            labels.insert(name.trim().to_owned(), value.trim().to_owned());
        }
        let by_cron = self.schedule == "cron";
        Ok(NewHeartbeat {
            name: self.name.clone(),
            period_seconds: if by_cron {
                None
            } else {
                Some(seconds(
                    "period_seconds",
                    "period",
                    &self.period,
                    &self.period_unit,
                )?)
            },
            cron: by_cron.then(|| self.cron.clone()),
            time_zone: by_cron.then(|| self.time_zone.clone()),
            grace_seconds: grace,
            labels,
            component_id: Uuid::parse_str(self.component.trim()).ok(),
        })
    }
}

/// A whole number of `unit` as seconds.
fn seconds(field: &'static str, what: &str, n: &str, unit: &str) -> Result<i32, CommandError> {
    let Some((_, _, size)) = UNITS.iter().find(|(u, _, _)| *u == unit) else {
        return Err(CommandError::invalid(
            field,
            format!("Choose minutes, hours, days or weeks for the {what}."),
        ));
    };
    n.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| i32::try_from(n * size).ok())
        .ok_or_else(|| {
            CommandError::invalid(
                field,
                format!("The {what} is a whole number of {unit} greater than 0, not {n:?}."),
            )
        })
}

/// The form's choices for the form's current values.
pub struct FormView {
    pub form: HeartbeatForm,
    pub period_units: Vec<Choice>,
    pub grace_units: Vec<Choice>,
    pub zones: Vec<Choice>,
    pub components: Vec<Choice>,
}

impl FormView {
    fn of(form: HeartbeatForm, names: &[(Uuid, String)]) -> Self {
        let zones = Clock::zone_names()
            .into_iter()
            .map(|name| Choice {
                selected: name == form.time_zone,
                label: name.replace('_', " "),
                value: name,
            })
            .collect();
        let chosen = Uuid::parse_str(form.component.trim()).ok();
        FormView {
            components: named_choices("No component", names, chosen),
            period_units: unit_choices(&form.period_unit),
            grace_units: unit_choices(&form.grace_unit),
            zones,
            form,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/heartbeats.html")]
struct HeartbeatsPage {
    layout: Layout,
    heartbeats: Vec<HeartbeatItem>,
    f: FormView,
    error: Option<String>,
}

async fn list_page<R>(
    staff: &Staff<R>,
    form: HeartbeatForm,
    error: Option<String>,
) -> Result<HeartbeatsPage, AppError> {
    let rows = heartbeats::list(&staff.state.pool).await?;
    Ok(HeartbeatsPage {
        layout: Layout::of(staff, "Heartbeats", "Monitors"),
        heartbeats: rows.iter().map(|h| item(&staff.state, h)).collect(),
        f: FormView::of(form, &super::checks::component_names(&staff.state).await?),
        error,
    })
}

pub async fn list_heartbeats(staff: Staff) -> Reply {
    let page = list_page(&staff, HeartbeatForm::default(), None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

pub async fn create_heartbeat(
    staff: Staff<AsAdmin>,
    CsrfForm(form): CsrfForm<HeartbeatForm>,
) -> Reply {
    let mut tx = staff.begin().await?;
    let made = match form.read() {
        Ok(new) => heartbeats::create(&mut tx, Some(staff.id()), new).await,
        Err(err) => Err(err),
    };
    let saved = |row: &HeartbeatRow| {
        let message = format!(
            "Created {}. Point the job at its ping URL; it alerts on nothing until the first ping.",
            row.name
        );
        (format!("/admin/heartbeats/{}", row.id), message)
    };
    match super::settle(&staff, tx, made, "heartbeat", saved).await? {
        Ok(done) => Ok(done),
        Err(refusal) => {
            let page = list_page(&staff, form, Some(refusal.message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
    }
}

/// One ping on a heartbeat's page.
pub struct PingItem {
    pub kind: &'static str,
    pub class: &'static str,
    pub exit_status: Option<i32>,
    pub received: Stamp,
    pub duration: Option<String>,
    pub method: String,
    pub source: String,
    pub user_agent: String,
    pub body: String,
    pub rid: Option<Uuid>,
}

/// The most pings a heartbeat's page lists.
const PINGS_SHOWN: i64 = 50;

#[derive(Template)]
#[template(path = "admin/heartbeat.html")]
struct HeartbeatPage {
    layout: Layout,
    h: HeartbeatItem,
    paused: bool,
    pings: Vec<PingItem>,
    /// The number of the open alert group it raised, if any.
    alert: Option<i64>,
    /// The heartbeat's page, where its buttons post.
    back: String,
    delete_warning: String,
    f: FormView,
    error: Option<String>,
}

async fn heartbeat_page<R>(
    staff: &Staff<R>,
    id: Uuid,
    form: Option<HeartbeatForm>,
    error: Option<String>,
) -> Result<HeartbeatPage, AppError> {
    let pool = &staff.state.pool;
    let row = heartbeats::find(pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such heartbeat.".into()))?;
    let pings = pings::latest(pool, id, PINGS_SHOWN)
        .await?
        .into_iter()
        .map(|p| PingItem {
            kind: match (p.kind, p.exit_status) {
                (PingKind::Success, Some(_)) => "Success (exit 0)",
                (PingKind::Fail, Some(_)) => "Failed (exit status)",
                (kind, _) => kind.label(),
            },
            class: match p.kind {
                PingKind::Success => "ok",
                PingKind::Fail => "bad",
                PingKind::Start | PingKind::Log => "",
            },
            exit_status: p.exit_status,
            received: stamp(p.received_at),
            duration: p.duration_ms.map(duration_text),
            method: p.method,
            source: p.remote_addr.unwrap_or_default(),
            user_agent: p.user_agent.unwrap_or_default(),
            body: p.body,
            rid: p.rid,
        })
        .collect();
    let alert = crate::monitors::alerting::open_group(pool, &row).await?;
    Ok(HeartbeatPage {
        layout: Layout::of(staff, &row.name, "Monitors"),
        h: item(&staff.state, &row),
        paused: row.state == HeartbeatState::Paused,
        pings,
        alert,
        back: format!("/admin/heartbeats/{id}"),
        delete_warning: format!(
            "Delete {} and its pings? Its ping URL stops working.",
            row.name
        ),
        f: FormView::of(
            form.unwrap_or_else(|| HeartbeatForm::of(&row)),
            &super::checks::component_names(&staff.state).await?,
        ),
        error,
    })
}

pub async fn show_heartbeat(staff: Staff, Path(id): Path<Uuid>) -> Reply {
    let page = heartbeat_page(&staff, id, None, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

pub async fn update_heartbeat(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<HeartbeatForm>,
) -> Reply {
    let Some(version) = form.version else {
        return Err(AppError::BadRequest("The form has no version.".into()));
    };
    let mut tx = staff.begin().await?;
    let outcome = match form.read() {
        Ok(change) => heartbeats::update(&mut tx, Some(staff.id()), id, version, change).await,
        Err(err) => Err(err),
    };
    let to = format!("/admin/heartbeats/{id}");
    let saved = |row: &HeartbeatRow| (to.clone(), format!("Saved {}.", row.name));
    match super::settle(&staff, tx, outcome, "heartbeat", saved).await? {
        Ok(done) => Ok(done),
        Err(refusal) => {
            let form = refusal.keep_form.then_some(form);
            let page = heartbeat_page(&staff, id, form, Some(refusal.message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
    }
}

pub async fn pause_heartbeat(staff: Staff<AsResponder>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    let row = heartbeats::pause(&mut tx, Some(staff.id()), id).await?;
    let message = format!(
        "Paused {}: pings are recorded but change nothing until you resume it.",
        row.name
    );
    staff
        .commit_and_flash(tx, &format!("/admin/heartbeats/{id}"), &message)
        .await
}

pub async fn resume_heartbeat(staff: Staff<AsResponder>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    let row = heartbeats::resume(&mut tx, Some(staff.id()), id).await?;
    let message = format!("Resumed {}: its next ping starts it again.", row.name);
    staff
        .commit_and_flash(tx, &format!("/admin/heartbeats/{id}"), &message)
        .await
}

pub async fn delete_heartbeat(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let row = heartbeats::find(&staff.state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such heartbeat.".into()))?;
    let mut tx = staff.begin().await?;
    heartbeats::delete(&mut tx, Some(staff.id()), id).await?;
    let message = format!(
        "Deleted {} with its pings; its ping URL answers \"not found\" now.",
        row.name
    );
    staff
        .commit_and_flash(tx, "/admin/heartbeats", &message)
        .await
}
