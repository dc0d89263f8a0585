//! `/admin/integrations` (admins): the doors monitoring tools send alerts to. A new or
//! rotated key is shown once, on the page answering the form, with the URLs and the
//! configuration to paste into the tool; no other page shows it.

use askama::Template;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

use super::incidents::view::{choices, named_choices, Choice};
use super::{stamp, Reply, Stamp};
use crate::alerts::doors::{self, IngestUrls};
use crate::alerts::integrations::{self, IntegrationChanges, NewIntegration, WithKey};
use crate::alerts::{keys, queue, AlertSeverity, AlertUrgency, IntegrationKind};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, Button, CsrfForm, Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::platform::command::CommandError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/integrations",
            get(list_integrations).post(create_integration),
        )
        .route(
            "/admin/integrations/{id}",
            get(show_integration).post(update_integration),
        )
        .route("/admin/integrations/{id}/rotate-key", post(rotate_key))
        .route("/admin/integrations/{id}/delete", post(delete_integration))
}

pub struct IntegrationItem {
    pub id: Uuid,
    pub name: String,
    pub kind: &'static str,
    pub urgency: &'static str,
    pub severity: &'static str,
    pub key_prefix: Option<String>,
    pub last_received: Option<Stamp>,
}

#[derive(Template)]
#[template(path = "admin/integrations.html")]
struct IntegrationsPage {
    layout: Layout,
    integrations: Vec<IntegrationItem>,
    name: String,
    kinds: Vec<Choice>,
    urgencies: Vec<Choice>,
    severities: Vec<Choice>,
    error: Option<String>,
}

fn urgency_choices(selected: AlertUrgency) -> Vec<Choice> {
    choices(
        AlertUrgency::ALL,
        Some(selected),
        AlertUrgency::as_str,
        AlertUrgency::label,
    )
}

fn severity_choices(selected: AlertSeverity) -> Vec<Choice> {
    choices(
        AlertSeverity::ALL,
        Some(selected),
        AlertSeverity::as_str,
        AlertSeverity::label,
    )
}

async fn list_page(
    staff: &Staff<AsAdmin>,
    form: &IntegrationForm,
    error: Option<String>,
) -> Result<IntegrationsPage, AppError> {
    let pool = &staff.state.pool;
    let mut items = Vec::new();
    for row in integrations::list(pool).await? {
        items.push(IntegrationItem {
            key_prefix: keys::current_prefix(pool, row.id).await?,
            id: row.id,
            name: row.name,
            kind: row.kind.label(),
            urgency: row.default_urgency.label(),
            severity: row.default_severity.label(),
            last_received: row.last_received_at.map(stamp),
        });
    }
    let kind = IntegrationKind::parse(&form.kind).unwrap_or(IntegrationKind::Alertmanager);
    Ok(IntegrationsPage {
        layout: Layout::of(staff, "Integrations", "Alerts"),
        integrations: items,
        name: form.name.clone(),
        kinds: choices(
            IntegrationKind::ALL,
            Some(kind),
            IntegrationKind::as_str,
            IntegrationKind::label,
        ),
        urgencies: urgency_choices(form.urgency().unwrap_or(AlertUrgency::High)),
        severities: severity_choices(form.severity().unwrap_or(AlertSeverity::Error)),
        error,
    })
}

pub async fn list_integrations(staff: Staff<AsAdmin>) -> Reply {
    let page = list_page(&staff, &IntegrationForm::default(), None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// The fields of the create and edit forms (the edit form has no kind).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IntegrationForm {
    name: String,
    kind: String,
    default_urgency: String,
    default_severity: String,
    /// The team's id; empty: none.
    team: String,
    version: Option<i32>,
}

impl IntegrationForm {
    fn urgency(&self) -> Option<AlertUrgency> {
        AlertUrgency::parse(&self.default_urgency)
    }

    fn severity(&self) -> Option<AlertSeverity> {
        AlertSeverity::parse(&self.default_severity)
    }
}

pub async fn create_integration(
    staff: Staff<AsAdmin>,
    CsrfForm(form): CsrfForm<IntegrationForm>,
) -> Reply {
    let Some(kind) = IntegrationKind::parse(&form.kind) else {
        let page = list_page(&staff, &form, Some("Choose the kind of tool.".into())).await?;
        return render_refused(&staff.state, &page.layout, &page);
    };
    let new = NewIntegration {
        name: &form.name,
        kind,
        default_urgency: form.urgency().unwrap_or(AlertUrgency::High),
        default_severity: form.severity().unwrap_or(AlertSeverity::Error),
        team_id: None,
    };
    let mut tx = staff.begin().await?;
    match integrations::create(&mut tx, Some(staff.id()), new).await {
        Ok(made) => {
            tx.commit().await?;
            key_page(&staff, made, "created").await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            let page = list_page(&staff, &form, Some(message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
        Err(err) => Err(err.into()),
    }
}

/// A key just made, with what the sender needs; on this one page only.
pub struct SecretView {
    pub key: String,
    pub verb: &'static str,
    pub urls: IngestUrls,
    pub config: Option<String>,
    pub grafana: bool,
    pub generic: bool,
}

#[derive(Template)]
#[template(path = "admin/integration.html")]
struct IntegrationPage {
    layout: Layout,
    i: IntegrationItem,
    version: i32,
    urgencies: Vec<Choice>,
    severities: Vec<Choice>,
    /// The team its alerts page when no routing rule names one.
    teams: Vec<Choice>,
    max_grace: u32,
    secret: Option<SecretView>,
    error: Option<String>,
    /// Deliveries waiting to be applied.
    waiting: i64,
    failed: Vec<FailedItem>,
    failed_kept_days: i64,
}

/// A delivery that could not be applied, kept for a while.
pub struct FailedItem {
    pub received: Stamp,
    pub attempts: i32,
    pub error: String,
    pub title: String,
    pub stored: String,
}

/// The most failed deliveries the page lists.
const FAILED_SHOWN: i64 = 20;

async fn integration_page(
    staff: &Staff<AsAdmin>,
    id: Uuid,
    secret: Option<SecretView>,
    error: Option<String>,
) -> Result<IntegrationPage, AppError> {
    let pool = &staff.state.pool;
    let row = integrations::find(pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such integration.".into()))?;
    let teams: Vec<(Uuid, String)> = crate::oncall::teams::list(pool)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(IntegrationPage {
        teams: named_choices("No team", &teams, row.team_id),
        layout: Layout::of(staff, &row.name, "Alerts"),
        version: row.version,
        urgencies: urgency_choices(row.default_urgency),
        severities: severity_choices(row.default_severity),
        max_grace: integrations::MAX_GRACE_MINUTES,
        i: IntegrationItem {
            key_prefix: keys::current_prefix(pool, row.id).await?,
            id: row.id,
            name: row.name,
            kind: row.kind.label(),
            urgency: row.default_urgency.label(),
            severity: row.default_severity.label(),
            last_received: row.last_received_at.map(stamp),
        },
        secret,
        error,
        waiting: queue::waiting_of(pool, id).await?,
        failed: queue::failed_of(pool, id, FAILED_SHOWN)
            .await?
            .into_iter()
            .map(|f| FailedItem {
                received: stamp(f.received_at),
                attempts: f.attempts,
                title: f.title().unwrap_or_else(|| f.group_key.clone()),
                error: f.last_error.clone().unwrap_or_default(),
                stored: f.stored,
            })
            .collect(),
        failed_kept_days: queue::FAILED_KEPT.whole_days(),
    })
}

/// The integration's page with its new key: never stored by the browser or a proxy.
async fn key_page(staff: &Staff<AsAdmin>, made: WithKey, verb: &'static str) -> Reply {
    let base = &staff.state.settings.base_url;
    let kind = made.integration.kind;
    let secret = SecretView {
        urls: doors::urls(base, kind, &made.key),
        config: doors::alertmanager_receiver(base, kind, &made.key),
        grafana: kind == IntegrationKind::Grafana,
        generic: kind == IntegrationKind::Generic,
        key: made.key,
        verb,
    };
    let page = integration_page(staff, made.integration.id, Some(secret), None).await?;
    let mut response: Response = render_admin(&staff.state, &page.layout, &page)?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn show_integration(staff: Staff<AsAdmin>, Path(id): Path<Uuid>) -> Reply {
    let page = integration_page(&staff, id, None, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// The integration's page again with why the change was refused.
async fn refuse(staff: &Staff<AsAdmin>, id: Uuid, err: CommandError) -> Reply {
    let message = match err {
        CommandError::Invalid { message, .. } => message,
        CommandError::Stale { .. } => "Someone changed this integration while you were \
            editing; nothing was saved. The form now shows it as it is."
            .to_owned(),
        other => return Err(other.into()),
    };
    let page = integration_page(staff, id, None, Some(message)).await?;
    render_refused(&staff.state, &page.layout, &page)
}

pub async fn update_integration(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<IntegrationForm>,
) -> Reply {
    let Some(version) = form.version else {
        return Err(AppError::BadRequest("The form has no version.".into()));
    };
    let change = IntegrationChanges {
        name: Some(form.name.clone()),
        default_urgency: form.urgency(),
        default_severity: form.severity(),
        signing: None,
        team_id: Some(Uuid::parse_str(form.team.trim()).ok()),
    };
    let mut tx = staff.begin().await?;
    match integrations::update(&mut tx, Some(staff.id()), id, version, change).await {
        Ok(row) => {
            let message = format!("Saved {}.", row.name);
            staff
                .commit_and_flash(tx, &format!("/admin/integrations/{id}"), &message)
                .await
        }
        Err(err) => {
            drop(tx);
            refuse(&staff, id, err).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RotateForm {
    grace_minutes: String,
}

pub async fn rotate_key(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<RotateForm>,
) -> Reply {
    let raw = form.grace_minutes.trim();
    let grace = if raw.is_empty() { Ok(0) } else { raw.parse() };
    let Ok(grace) = grace else {
        let err = CommandError::invalid("grace_minutes", "The grace period is whole minutes.");
        return refuse(&staff, id, err).await;
    };
    let mut tx = staff.begin().await?;
    match integrations::rotate_key(&mut tx, Some(staff.id()), id, grace).await {
        Ok(made) => {
            tx.commit().await?;
            staff.state.integration_keys.forget();
            key_page(&staff, made, "rotated").await
        }
        Err(err) => {
            drop(tx);
            refuse(&staff, id, err).await
        }
    }
}

pub async fn delete_integration(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    let deleted = integrations::delete(&mut tx, Some(staff.id()), id).await?;
    let message = format!(
        "Deleted {} with its alert groups; its key opens nothing now.",
        deleted.name
    );
    let done = staff
        .commit_and_flash(tx, "/admin/integrations", &message)
        .await;
    staff.state.integration_keys.forget();
    done
}
