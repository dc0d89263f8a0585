//! `/admin/checks`: active checks with their state, their history charted over 24 hours,
//! 7 or 90 days, and their latest results; and the component statuses they propose,
//! which responders apply or dismiss. Everyone signed in reads; responders pause, resume
//! and decide proposals; admins make, change and delete checks.

use askama::Template;
use axum::extract::Query;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::incidents::view::{choices, named_choices, Choice};
use super::{stamp, Reply, Stamp};
use crate::alerts::intake::Labels;
use crate::app::AppState;
use crate::components::{self, ComponentStatus};
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, AsResponder, Button, CsrfForm, Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::monitors::checks::{
    self, ApplyMode, CheckKind, CheckRow, CheckSettings, CheckState, NewCheck,
};
use crate::monitors::effects::{self, ProposalRow};
use crate::monitors::history::{self, Point, Window};
use crate::platform::command::CommandError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/checks", get(list_checks).post(create_check))
        .route("/admin/checks/{id}", get(show_check).post(update_check))
        .route("/admin/checks/{id}/pause", post(pause_check))
        .route("/admin/checks/{id}/resume", post(resume_check))
        .route("/admin/checks/{id}/delete", post(delete_check))
        .route(
            "/admin/component-proposals/{id}/apply",
            post(apply_proposal),
        )
        .route(
            "/admin/component-proposals/{id}/dismiss",
            post(dismiss_proposal),
        )
}

fn state_class(state: CheckState) -> &'static str {
    match state {
        CheckState::Up => "ok",
        CheckState::Down => "bad",
        CheckState::New | CheckState::Paused => "",
    }
}

/// A check as a row of the list and the head of its page.
pub struct CheckItem {
    pub id: Uuid,
    pub name: String,
    pub kind: &'static str,
    pub what: String,
    pub state: &'static str,
    pub state_value: &'static str,
    pub state_class: &'static str,
    pub since: Option<Stamp>,
    pub every: String,
    pub last_run: Option<Stamp>,
    pub last_ok: Option<bool>,
    pub last_latency: Option<i32>,
    pub last_error: Option<String>,
    pub component: Option<(Uuid, String)>,
    pub effect: String,
    pub uptime_day: Option<String>,
    pub labels: Vec<(String, String)>,
}

/// "99.95%".
pub(crate) fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p >= 99.995 || p == 0.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.2}%")
    }
}

fn day_ago() -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::hours(24)
}

/// A check as shown, with the share of its runs that passed over the last day.
fn item(c: &CheckRow, names: &[(Uuid, String)], ratio: Option<f64>) -> CheckItem {
    let component = c
        .component_id
        .and_then(|id| names.iter().find(|(i, _)| *i == id).cloned());
    let effect = match (&component, c.apply_mode) {
        (None, _) => "alerts only".to_owned(),
        (Some(_), ApplyMode::AtOnce) => format!("{} at once", c.down_status.label()),
        (Some(_), ApplyMode::AfterDelay) => format!(
            "{} after {} min unless overridden",
            c.down_status.label(),
            c.apply_after_minutes
        ),
        (Some(_), ApplyMode::Propose) => format!("proposes {}", c.down_status.label()),
    };
    CheckItem {
        id: c.id,
        name: c.name.clone(),
        kind: c.kind.label(),
        what: crate::monitors::runner::describe(c),
        state: c.state.label(),
        state_value: c.state.as_str(),
        state_class: state_class(c.state),
        since: c.state_since.map(stamp),
        every: format!("every {} s", c.interval_seconds),
        last_run: c.last_run_at.map(stamp),
        last_ok: c.last_ok,
        last_latency: c.last_latency_ms,
        last_error: c.last_error.clone(),
        component,
        effect,
        uptime_day: ratio.map(percent),
        labels: c.labels().into_iter().collect(),
    }
}

/// The fields of the create and edit forms, as typed (blank: not set).
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct CheckForm {
    name: String,
    kind: String,
    target: String,
    interval_seconds: String,
    timeout_ms: String,
    failures_before_down: String,
    successes_before_up: String,
    component: String,
    down_status: String,
    apply_mode: String,
    apply_after_minutes: String,
    /// A checkbox: present when ticked.
    auto_recover: Option<String>,
    labels: String,
    method: String,
    /// `Name: value`, one a line.
    headers: String,
    body: String,
    expected_status: String,
    body_contains: String,
    body_not_contains: String,
    max_response_ms: String,
    cert_min_days: String,
    /// A checkbox: present when ticked.
    verify_tls: Option<String>,
    record_type: String,
    expect_address: String,
    version: Option<i32>,
}

impl Default for CheckForm {
    fn default() -> Self {
        CheckForm {
            name: String::new(),
            kind: "http".into(),
            target: String::new(),
            interval_seconds: "60".into(),
            timeout_ms: "10000".into(),
            failures_before_down: "3".into(),
            successes_before_up: "2".into(),
            component: String::new(),
            down_status: "major_outage".into(),
            apply_mode: "propose".into(),
            apply_after_minutes: "5".into(),
            auto_recover: Some("on".into()),
            labels: String::new(),
            method: "GET".into(),
            headers: String::new(),
            body: String::new(),
            expected_status: String::new(),
            body_contains: String::new(),
            body_not_contains: String::new(),
            max_response_ms: String::new(),
            cert_min_days: String::new(),
            verify_tls: Some("on".into()),
            record_type: String::new(),
            expect_address: String::new(),
            version: None,
        }
    }
}

fn some_text(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn whole<T: std::str::FromStr>(
    field: &'static str,
    what: &str,
    raw: &str,
) -> Result<T, CommandError> {
    raw.trim().parse().map_err(|_| {
        CommandError::invalid(field, format!("The {what} is a whole number, not {raw:?}."))
    })
}

fn optional<T: std::str::FromStr>(
    field: &'static str,
    what: &str,
    raw: &str,
) -> Result<Option<T>, CommandError> {
    match some_text(raw) {
        None => Ok(None),
        Some(t) => whole(field, what, &t).map(Some),
    }
}

impl CheckForm {
    fn of(c: &CheckRow) -> Self {
        let s = c.settings();
        let text = |v: Option<String>| v.unwrap_or_default();
        let num = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
        CheckForm {
            name: c.name.clone(),
            kind: c.kind.as_str().into(),
            target: c.target.clone(),
            interval_seconds: c.interval_seconds.to_string(),
            timeout_ms: c.timeout_ms.to_string(),
            failures_before_down: c.failures_before_down.to_string(),
            successes_before_up: c.successes_before_up.to_string(),
            component: c.component_id.map(|id| id.to_string()).unwrap_or_default(),
            down_status: c.down_status.as_str().into(),
            apply_mode: c.apply_mode.as_str().into(),
            apply_after_minutes: c.apply_after_minutes.to_string(),
            auto_recover: c.auto_recover.then(|| "on".into()),
            labels: c
                .labels()
                .iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect(),
            method: s.method.clone(),
            headers: s
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect(),
            body: text(s.body),
            expected_status: s.expected_status.map(|n| n.to_string()).unwrap_or_default(),
            body_contains: text(s.body_contains),
            body_not_contains: text(s.body_not_contains),
            max_response_ms: num(s.max_response_ms),
            cert_min_days: num(s.cert_min_days),
            verify_tls: s.verify_tls.then(|| "on".into()),
            record_type: text(s.record_type),
            expect_address: text(s.expect_address),
            version: Some(c.version),
        }
    }

    /// The check the form describes, or what is wrong with it.
    fn read(&self) -> Result<NewCheck, CommandError> {
        let kind = CheckKind::parse(&self.kind)
            .ok_or_else(|| CommandError::invalid("kind", "Choose HTTP(S), TCP or DNS."))?;
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
        let http = kind == CheckKind::Http;
        let mut settings = CheckSettings::default();
        if http {
            for line in self
                .headers
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                let Some((name, value)) = line.split_once(':') else {
                    return Err(CommandError::invalid(
                        "headers",
                        format!("Header line {line:?} has no \":\": write Name: value."),
                    ));
                };
                settings
                    .headers
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
            settings.method = self.method.trim().to_uppercase();
            settings.body = some_text(&self.body);
            settings.expected_status =
                optional("expected_status", "expected status", &self.expected_status)?;
            settings.body_contains = some_text(&self.body_contains);
            settings.body_not_contains = some_text(&self.body_not_contains);
            settings.max_response_ms =
                optional("max_response_ms", "slowest answer", &self.max_response_ms)?;
            settings.cert_min_days = optional(
                "cert_min_days",
                "number of certificate days",
                &self.cert_min_days,
            )?;
            settings.verify_tls = self.verify_tls.is_some();
        }
        if kind == CheckKind::Dns {
            settings.record_type = some_text(&self.record_type);
            settings.expect_address = some_text(&self.expect_address);
        }
        Ok(NewCheck {
            name: self.name.clone(),
            kind,
            target: self.target.clone(),
            settings,
            interval_seconds: whole("interval_seconds", "interval", &self.interval_seconds)?,
            timeout_ms: whole("timeout_ms", "timeout", &self.timeout_ms)?,
            failures_before_down: whole(
                "failures_before_down",
                "number of failures",
                &self.failures_before_down,
            )?,
            successes_before_up: whole(
                "successes_before_up",
                "number of successes",
                &self.successes_before_up,
            )?,
            labels,
            component_id: Uuid::parse_str(self.component.trim()).ok(),
            down_status: ComponentStatus::parse(&self.down_status)
                .unwrap_or(ComponentStatus::MajorOutage),
            apply_mode: ApplyMode::parse(&self.apply_mode).unwrap_or(ApplyMode::Propose),
            apply_after_minutes: whole("apply_after_minutes", "delay", &self.apply_after_minutes)?,
            auto_recover: self.auto_recover.is_some(),
        })
    }
}

/// The form with its choices.
pub struct FormView {
    pub form: CheckForm,
    pub kinds: Vec<Choice>,
    pub components: Vec<Choice>,
    pub down_statuses: Vec<Choice>,
    pub modes: Vec<Choice>,
    pub methods: Vec<Choice>,
    pub record_types: Vec<Choice>,
}

fn plain_choices(all: &[(&str, &str)], selected: &str) -> Vec<Choice> {
    all.iter()
        .map(|(value, label)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: *value == selected,
        })
        .collect()
}

impl FormView {
    fn of(form: CheckForm, names: &[(Uuid, String)]) -> Self {
        let down: Vec<ComponentStatus> = ComponentStatus::ALL
            .iter()
            .copied()
            .filter(|s| {
                !matches!(
                    s,
                    ComponentStatus::Operational | ComponentStatus::UnderMaintenance
                )
            })
            .collect();
        let methods: Vec<(&str, &str)> =
            ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
                .iter()
                .map(|m| (*m, *m))
                .collect();
        FormView {
            kinds: choices(
                CheckKind::ALL,
                CheckKind::parse(&form.kind),
                CheckKind::as_str,
                CheckKind::label,
            ),
            components: named_choices(
                "No component (alerts only)",
                names,
                Uuid::parse_str(form.component.trim()).ok(),
            ),
            down_statuses: choices(
                &down,
                ComponentStatus::parse(&form.down_status),
                ComponentStatus::as_str,
                ComponentStatus::label,
            ),
            modes: choices(
                ApplyMode::ALL,
                ApplyMode::parse(&form.apply_mode),
                ApplyMode::as_str,
                ApplyMode::label,
            ),
            methods: plain_choices(&methods, &form.method),
            record_types: plain_choices(
                &[
                    ("", "A or AAAA"),
                    ("A", "A (IPv4)"),
                    ("AAAA", "AAAA (IPv6)"),
                ],
                &form.record_type,
            ),
            form,
        }
    }
}

/// Every component's id and name, for the forms' choices.
pub(crate) async fn component_names(state: &AppState) -> Result<Vec<(Uuid, String)>, AppError> {
    Ok(components::list(&state.pool)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

/// An open proposal, with what a responder can do about it.
pub struct ProposalItem {
    pub id: Uuid,
    pub component: String,
    pub status: &'static str,
    pub reason: String,
    pub apply_at: Option<Stamp>,
    pub proposed: Stamp,
}

pub(crate) fn proposal_items(
    rows: Vec<ProposalRow>,
    names: &[(Uuid, String)],
) -> Vec<ProposalItem> {
    rows.into_iter()
        .map(|p| ProposalItem {
            id: p.id,
            component: names
                .iter()
                .find(|(id, _)| *id == p.component_id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
            status: p.status.label(),
            reason: p.reason,
            apply_at: p.apply_at.map(stamp),
            proposed: stamp(p.proposed_at),
        })
        .collect()
}

/// The open proposals of every component (the components page lists them too).
pub(crate) async fn open_proposals(
    state: &AppState,
    component: Option<Uuid>,
) -> Result<Vec<ProposalItem>, AppError> {
    let names = component_names(state).await?;
    Ok(proposal_items(
        effects::open(&state.pool, component).await?,
        &names,
    ))
}

#[derive(Template)]
#[template(path = "admin/checks.html")]
struct ChecksPage {
    layout: Layout,
    checks: Vec<CheckItem>,
    proposals: Vec<ProposalItem>,
    f: FormView,
    error: Option<String>,
}

async fn list_page<R>(
    staff: &Staff<R>,
    form: CheckForm,
    error: Option<String>,
) -> Result<ChecksPage, AppError> {
    let state = &staff.state;
    let names = component_names(state).await?;
    let ratios = history::success_ratios(&state.pool, day_ago()).await?;
    let items = checks::list(&state.pool)
        .await?
        .iter()
        .map(|c| {
            let ratio = ratios.iter().find(|(id, _)| *id == c.id).map(|(_, r)| *r);
            item(c, &names, ratio)
        })
        .collect();
    Ok(ChecksPage {
        layout: Layout::of(staff, "Checks", "Monitors"),
        checks: items,
        proposals: proposal_items(effects::open(&state.pool, None).await?, &names),
        f: FormView::of(form, &names),
        error,
    })
}

pub async fn list_checks(staff: Staff) -> Reply {
    let page = list_page(&staff, CheckForm::default(), None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

pub async fn create_check(staff: Staff<AsAdmin>, CsrfForm(form): CsrfForm<CheckForm>) -> Reply {
    let mut tx = staff.begin().await?;
    let made = match form.read() {
        Ok(new) => checks::create(&mut tx, Some(staff.id()), new).await,
        Err(err) => Err(err),
    };
    let saved = |row: &CheckRow| {
        let message = format!("Created {}; its first run is due now.", row.name);
        (format!("/admin/checks/{}", row.id), message)
    };
    match super::settle(&staff, tx, made, "check", saved).await? {
        Ok(done) => Ok(done),
        Err(refusal) => {
            let page = list_page(&staff, form, Some(refusal.message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
    }
}

/// A chart of a check's answers: response time as a line, failures as red marks below.
pub struct Chart {
    pub window: &'static str,
    pub width: u32,
    pub height: u32,
    /// The response-time line, as SVG points.
    pub line: String,
    /// Where runs failed: x positions and widths.
    pub failures: Vec<(f64, f64)>,
    pub max_ms: i64,
    pub runs: i64,
    pub failed: i64,
    pub uptime: Option<String>,
    pub windows: Vec<(&'static str, &'static str, bool)>,
}

fn chart(points: &[Point], window: Window, now: OffsetDateTime) -> Chart {
    // The response time above, failed runs in a strip below it, the time axis under both.
    let (width, height) = (720u32, 180u32);
    let plot = f64::from(height) - 36.0;
    let span = window.length().as_seconds_f64();
    let start = now - window.length();
    let x = |at: OffsetDateTime| {
        ((at - start).as_seconds_f64() / span * f64::from(width)).clamp(0.0, f64::from(width))
    };
    let max_ms = points.iter().map(|p| p.mean_ms).max().unwrap_or(0).max(1);
    let line = points
        .iter()
        .map(|p| {
            let y = plot - (p.mean_ms as f64 / max_ms as f64) * (plot - 4.0);
            format!("{:.1},{:.1}", x(p.at), y)
        })
        .collect::<Vec<_>>()
        .join(" ");
    let bucket = match window {
        Window::Day => 0.0,
        Window::Week | Window::Quarter => 3600.0 / span * f64::from(width),
    };
    let failures = points
        .iter()
        .filter(|p| p.failures > 0)
        .map(|p| (x(p.at), bucket.max(2.0)))
        .collect();
    let runs: i64 = points.iter().map(|p| p.runs).sum();
    let failed: i64 = points.iter().map(|p| p.failures).sum();
    Chart {
        window: window.label(),
        width,
        height,
        line,
        failures,
        max_ms,
        runs,
        failed,
        uptime: (runs > 0).then(|| percent((runs - failed) as f64 / runs as f64)),
        windows: Window::ALL
            .iter()
            .map(|w| (w.as_str(), w.label(), *w == window))
            .collect(),
    }
}

/// One result on a check's page.
pub struct ResultItem {
    pub at: Stamp,
    pub ok: bool,
    pub latency: Option<i32>,
    pub error: String,
}

/// The most results a check's page lists.
const RESULTS_SHOWN: i64 = 30;

#[derive(Template)]
#[template(path = "admin/check.html")]
struct CheckPage {
    layout: Layout,
    c: CheckItem,
    paused: bool,
    alert: Option<i64>,
    chart: Chart,
    results: Vec<ResultItem>,
    proposals: Vec<ProposalItem>,
    /// The check's page: where its buttons post, and where proposal buttons come back.
    back: String,
    delete_warning: String,
    f: FormView,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChartQuery {
    window: String,
}

async fn check_page<R>(
    staff: &Staff<R>,
    id: Uuid,
    window: Window,
    form: Option<CheckForm>,
    error: Option<String>,
) -> Result<CheckPage, AppError> {
    let state = &staff.state;
    let row = checks::find(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such check.".into()))?;
    let names = component_names(state).await?;
    let now = OffsetDateTime::now_utc();
    let points = history::series(&state.pool, id, window, now).await?;
    let results = history::latest(&state.pool, id, RESULTS_SHOWN)
        .await?
        .into_iter()
        .map(|r| ResultItem {
            at: stamp(r.at),
            ok: r.ok,
            latency: r.latency_ms,
            error: r.error.unwrap_or_default(),
        })
        .collect();
    let proposals = match row.component_id {
        Some(component) => {
            proposal_items(effects::open(&state.pool, Some(component)).await?, &names)
        }
        None => Vec::new(),
    };
    Ok(CheckPage {
        layout: Layout::of(staff, &row.name, "Monitors"),
        c: item(
            &row,
            &names,
            history::success_ratio(&state.pool, Some(id), None, day_ago()).await?,
        ),
        paused: row.state == CheckState::Paused,
        alert: crate::monitors::alerting::open_check_group(&state.pool, &row).await?,
        chart: chart(&points, window, now),
        results,
        proposals,
        back: format!("/admin/checks/{id}"),
        delete_warning: format!("Delete {} and its results?", row.name),
        f: FormView::of(form.unwrap_or_else(|| CheckForm::of(&row)), &names),
        error,
    })
}

pub async fn show_check(staff: Staff, Path(id): Path<Uuid>, Query(q): Query<ChartQuery>) -> Reply {
    let window = Window::parse(&q.window).unwrap_or(Window::Day);
    let page = check_page(&staff, id, window, None, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

pub async fn update_check(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<CheckForm>,
) -> Reply {
    let Some(version) = form.version else {
        return Err(AppError::BadRequest("The form has no version.".into()));
    };
    let mut tx = staff.begin().await?;
    let outcome = match form.read() {
        Ok(change) => checks::update(&mut tx, Some(staff.id()), id, version, change).await,
        Err(err) => Err(err),
    };
    let to = format!("/admin/checks/{id}");
    let saved = |row: &CheckRow| (to.clone(), format!("Saved {}.", row.name));
    match super::settle(&staff, tx, outcome, "check", saved).await? {
        Ok(done) => Ok(done),
        Err(refusal) => {
            let form = refusal.keep_form.then_some(form);
            let page = check_page(&staff, id, Window::Day, form, Some(refusal.message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
    }
}

pub async fn pause_check(staff: Staff<AsResponder>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    let row = checks::pause(&mut tx, Some(staff.id()), id).await?;
    let message = format!("Paused {}: it does not run until you resume it.", row.name);
    staff
        .commit_and_flash(tx, &format!("/admin/checks/{id}"), &message)
        .await
}

pub async fn resume_check(staff: Staff<AsResponder>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    let row = checks::resume(&mut tx, Some(staff.id()), id).await?;
    let message = format!("Resumed {}: it runs now.", row.name);
    staff
        .commit_and_flash(tx, &format!("/admin/checks/{id}"), &message)
        .await
}

pub async fn delete_check(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let row = checks::find(&staff.state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such check.".into()))?;
    let mut tx = staff.begin().await?;
    checks::delete(&mut tx, Some(staff.id()), id).await?;
    let message = format!("Deleted {} with its results.", row.name);
    staff.commit_and_flash(tx, "/admin/checks", &message).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BackTo {
    /// The admin page the button was on.
    back: String,
}

impl BackTo {
    fn path(&self) -> &str {
        let safe = self.back.starts_with("/admin/") && !self.back.starts_with("//");
        if safe {
            &self.back
        } else {
            "/admin/components"
        }
    }
}

async fn decide(staff: Staff<AsResponder>, id: Uuid, form: BackTo, apply: bool) -> Reply {
    let mut tx = staff.begin().await?;
    let decided = if apply {
        effects::apply(&mut tx, Some(staff.id()), id).await
    } else {
        effects::dismiss(&mut tx, Some(staff.id()), id).await
    };
    match decided {
        Ok(p) => {
            let message = if apply {
                format!(
                    "Applied: the component is {} on the status page now.",
                    p.status.label()
                )
            } else {
                "Dismissed: the component stays as it is.".to_owned()
            };
            staff.commit_and_flash(tx, form.path(), &message).await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            Ok(staff.flash(form.path(), &message))
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn apply_proposal(
    staff: Staff<AsResponder>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<BackTo>,
) -> Reply {
    decide(staff, id, form, true).await
}

pub async fn dismiss_proposal(
    staff: Staff<AsResponder>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<BackTo>,
) -> Reply {
    decide(staff, id, form, false).await
}
