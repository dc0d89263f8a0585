//! Webhook subscribers (admins): the list with state and last delivery, adding (the secret
//! is shown once), and per subscriber the delivery log with test, pause, resume,
//! re-enable, remove and resend.

use crate::components;
use crate::webhooks::commands::{self, Removal};
use crate::webhooks::deliveries;
use askama::Template;
use axum::http::StatusCode;
use serde::Deserialize;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

use super::components::{choices, ComponentChoice};
use super::{format_time, rfc3339, Reply};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, Button, ClientIp, CsrfForm, Path, Query, Staff};
use crate::http::page::{render_admin, render_admin_status, render_refused, Layout};
use crate::incidents::CommandError;
use crate::webhooks::subscribers::{self, SubscriberRow};
use crate::webhooks::{self, DeliveryState, SubscriberState};
use crate::webhooks::{outbox, signing, SubscribeRequest};

/// A state as its badge shows it: the words and the badge's CSS class.
pub struct Badge {
    pub label: &'static str,
    pub class: &'static str,
}

/// A subscriber: where it is and what it gets, how its deliveries went, and its state.
pub struct SubscriberView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub components: String,
    /// The last delivery attempt, if there was one.
    pub last: Option<Attempt>,
    pub counts: Counts,
    pub state: Badge,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<String>,
}

/// How many of a subscriber's messages were delivered, are pending, and failed for good.
#[derive(Clone, Copy, Default)]
pub struct Counts {
    pub delivered: i64,
    pub pending: i64,
    pub dead: i64,
}

impl Counts {
    /// From a row of `deliveries::counts_per_subscriber`, keyed by the subscriber.
    fn of((id, delivered, pending, dead): (Uuid, i64, i64, i64)) -> (Uuid, Counts) {
        let counts = Counts {
            delivered,
            pending,
            dead,
        };
        (id, counts)
    }
}

fn state_class(state: SubscriberState) -> &'static str {
    match state {
        SubscriberState::Active => "ok",
        SubscriberState::Paused => "",
        SubscriberState::Disabled => "warn",
    }
}

fn result_text(status: Option<i32>, error: Option<&str>) -> String {
    match (status, error) {
        (Some(s), _) if (200..300).contains(&s) => format!("HTTP {s}"),
        (_, Some(e)) => e.to_owned(),
        (Some(s), None) => format!("HTTP {s}"),
        (None, None) => String::new(),
    }
}

fn view(s: &SubscriberRow, names: &HashMap<Uuid, String>, counts: Counts) -> SubscriberView {
    let components = if s.component_ids.is_empty() {
        "All".to_owned()
    } else {
        s.component_ids
            .iter()
            .map(|id| names.get(id).cloned().unwrap_or_else(|| "(removed)".into()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    SubscriberView {
        id: s.id,
        url: s.url.clone(),
        description: s.description.clone(),
        state: Badge {
            label: s.state.label(),
            class: state_class(s.state),
        },
        disabled: s.state == SubscriberState::Disabled,
        components,
        last: s
            .last_attempt_at
            .map(|at| Attempt::new(at, s.last_status, s.last_error.as_deref())),
        counts,
        disabled_reason: s.disabled_reason.clone(),
        failing_since: s.failing_since.map(format_time),
    }
}

async fn component_names(state: &AppState) -> Result<HashMap<Uuid, String>, AppError> {
    Ok(components::list(&state.pool)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

/// The secret and unsubscribe link of a subscriber just created.
pub struct Created {
    pub url: String,
    pub secret: String,
    pub unsubscribe: String,
}

#[derive(Template)]
#[template(path = "admin/subscribers.html")]
struct SubscribersPage {
    layout: Layout,
    subscribers: Vec<SubscriberView>,
    choices: Vec<ComponentChoice>,
    url: String,
    description: String,
    error: Option<String>,
    created: Option<Created>,
    allow_private: bool,
}

/// The list with the form as given and what was wrong with it, or the secret of a
/// subscriber just created.
async fn subscribers_page(
    staff: &Staff<AsAdmin>,
    form: SubscribeForm,
    error: Option<String>,
    created: Option<Created>,
) -> Result<SubscribersPage, AppError> {
    let state = &staff.state;
    let names = component_names(state).await?;
    let counts: HashMap<Uuid, Counts> = deliveries::counts_per_subscriber(&state.pool, None)
        .await?
        .into_iter()
        .map(Counts::of)
        .collect();
    let rows = subscribers::list(&state.pool, None, 1000).await?;
    let subscribers = rows
        .iter()
        .map(|s| view(s, &names, counts.get(&s.id).copied().unwrap_or_default()))
        .collect();
    Ok(SubscribersPage {
        layout: Layout::of(staff, "Subscribers", "Subscribers"),
        subscribers,
        choices: choices(state, &form.2).await?,
        url: form.0,
        description: form.1,
        error,
        created,
        allow_private: state.settings.webhooks.allow_private,
    })
}

pub async fn list_subscribers(staff: Staff<AsAdmin>) -> Reply {
    let page = subscribers_page(&staff, Default::default(), None, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// A subscribe form as given: its url, description and components.
type SubscribeForm = (String, String, Vec<Uuid>);

/// The fields of a subscribe form: `url`, `description`, and `component` repeated.
pub fn read_form(fields: &[(String, String)]) -> SubscribeForm {
    let mut url = String::new();
    let mut description = String::new();
    let mut components = Vec::new();
    for (k, v) in fields {
        match k.as_str() {
            "url" => url = v.clone(),
            "description" => description = v.clone(),
            "component" => components.extend(Uuid::parse_str(v).ok()),
            _ => {}
        }
    }
    (url, description, components)
}

pub async fn create_subscriber(
    staff: Staff<AsAdmin>,
    ClientIp(ip): ClientIp,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let (state, form) = (&staff.state, read_form(&fields));
    let request = SubscribeRequest {
        url: &form.0,
        description: &form.1,
        component_ids: &form.2,
        created_by: Some(staff.id()),
        created_ip: Some(&ip),
    };
    let allow_private = state.settings.webhooks.allow_private;
    let made = match webhooks::subscribe(&state.pool, allow_private, request).await {
        Ok(made) => made,
        Err(CommandError::Invalid { message, .. }) => {
            let page = subscribers_page(&staff, form, Some(message), None).await?;
            return render_refused(state, &page.layout, &page);
        }
        Err(err) => return Err(err.into()),
    };
    let created = Created {
        url: made.subscriber.url.clone(),
        unsubscribe: webhooks::unsubscribe_link(&state.settings.base_url, &made.subscriber)
            .unwrap_or_default(),
        secret: made.secret,
    };
    let page = subscribers_page(&staff, Default::default(), None, Some(created)).await?;
    render_admin_status(state, &page.layout, &page, StatusCode::CREATED)
}

/// A delivery attempt: when, and what came back.
pub struct Attempt {
    pub at: String,
    pub at_iso: String,
    pub result: String,
    pub ok: bool,
}

impl Attempt {
    fn new(at: OffsetDateTime, status: Option<i32>, error: Option<&str>) -> Self {
        Attempt {
            at: format_time(at),
            at_iso: rfc3339(at),
            result: result_text(status, error),
            ok: status.is_some_and(|c| (200..300).contains(&c)),
        }
    }
}

pub struct AttemptView {
    pub attempt: Attempt,
    pub latency_ms: i32,
    pub response: String,
}

/// A message to a subscriber: what it is, how it stands, when it was made, and its
/// attempts.
pub struct DeliveryView {
    pub id: i64,
    pub webhook_id: String,
    pub event: String,
    pub state: Badge,
    /// When it is tried next, while it is pending.
    pub next: Option<String>,
    pub created: String,
    pub created_iso: String,
    pub attempts: Vec<AttemptView>,
}

#[derive(Template)]
#[template(path = "admin/subscriber.html")]
struct SubscriberPage {
    layout: Layout,
    s: SubscriberView,
    paused: bool,
    disabled: bool,
    deliveries: Vec<DeliveryView>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct LogQuery {
    before: Option<i64>,
}

const LOG_PAGE: i64 = 50;

pub async fn show_subscriber(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    Query(query): Query<LogQuery>,
) -> Reply {
    let state = &staff.state;
    let row = find(state, id).await?;
    let names = component_names(state).await?;
    let mut deliveries =
        deliveries::deliveries(&state.pool, id, query.before, LOG_PAGE + 1).await?;
    let older = if deliveries.len() as i64 > LOG_PAGE {
        deliveries.truncate(LOG_PAGE as usize);
        deliveries.last().map(|d| d.id)
    } else {
        None
    };
    let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
    let attempts = deliveries::attempts_of(&state.pool, &ids).await?;
    let counts = deliveries::counts_per_subscriber(&state.pool, Some(id))
        .await?
        .into_iter()
        .find(|(s, ..)| *s == id)
        .map(|row| Counts::of(row).1)
        .unwrap_or_default();
    let deliveries = deliveries
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            webhook_id: signing::message_id(d.message_id),
            event: d.event,
            state: Badge {
                label: d.state.label(),
                class: match d.state {
                    DeliveryState::Delivered => "ok",
                    DeliveryState::Pending => "",
                    DeliveryState::Dead => "warn",
                },
            },
            created: format_time(d.created_at),
            created_iso: rfc3339(d.created_at),
            next: (d.state == DeliveryState::Pending).then(|| match d.next_attempt_at {
                Some(at) => format!("next attempt {}", format_time(at)),
                None => "held until the subscriber is active".to_owned(),
            }),
            attempts: attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .map(|a| AttemptView {
                    attempt: Attempt::new(a.attempted_at, a.status, a.error.as_deref()),
                    latency_ms: a.latency_ms,
                    response: a.response.clone().unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    let page = SubscriberPage {
        layout: Layout::of(&staff, "Subscriber", "Subscribers"),
        s: view(&row, &names, counts),
        paused: row.state == SubscriberState::Paused,
        disabled: row.state == SubscriberState::Disabled,
        deliveries,
        older,
    };
    render_admin(state, &page.layout, &page)
}

async fn find(state: &AppState, id: Uuid) -> Result<SubscriberRow, AppError> {
    subscribers::find(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such subscriber.".into()))
}

/// Pause, resume or re-enable; each recorded in the audit log.
async fn change(staff: &Staff<AsAdmin>, id: Uuid, to: SubscriberState, message: &str) -> Reply {
    find(&staff.state, id).await?;
    let mut tx = staff.begin().await?;
    commands::set_state(&mut tx, staff.id(), id, to, None).await?;
    staff.commit_and_flash(tx, &log(id), message).await
}

/// A subscriber's page, with its delivery log.
fn log(id: Uuid) -> String {
    format!("/admin/subscribers/{id}")
}

pub async fn pause_subscriber(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let message = "Paused: new messages wait and are sent when you resume.";
    change(&staff, id, SubscriberState::Paused, message).await
}

pub async fn resume_subscriber(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let message = "Active again: waiting messages are being sent.";
    change(&staff, id, SubscriberState::Active, message).await
}

pub async fn enable_subscriber(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let message =
        "Enabled again. Messages that failed while it was disabled can be resent from the log.";
    change(&staff, id, SubscriberState::Active, message).await
}

pub async fn delete_subscriber(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let row = find(&staff.state, id).await?;
    let mut tx = staff.begin().await?;
    commands::remove(&mut tx, &row, Removal::ByAdmin(staff.id())).await?;
    let message = format!("{} no longer gets webhooks.", row.url);
    staff
        .commit_and_flash(tx, "/admin/subscribers", &message)
        .await
}

pub async fn send_test(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let row = find(&staff.state, id).await?;
    let mut tx = staff.begin().await?;
    outbox::test(&mut tx, id).await?;
    let message = if row.state == SubscriberState::Active {
        "A test message is on its way; reload to see how it went."
    } else {
        "A test message is queued; it is sent when the subscriber is active."
    };
    staff.commit_and_flash(tx, &log(id), message).await
}

pub async fn resend_delivery(staff: Staff<AsAdmin>, ids: Path<(Uuid, i64)>, _: Button) -> Reply {
    let Path((id, delivery_id)) = ids;
    let mut tx = staff.begin().await?;
    let message = match deliveries::resend(&mut tx, id, delivery_id).await? {
        deliveries::Resend::Queued => {
            tx.commit().await?;
            "The message is being sent again, with the same webhook-id."
        }
        deliveries::Resend::StillPending => {
            "This message is still pending: it is sent or retried on its own."
        }
        deliveries::Resend::Missing => {
            return Err(AppError::NotFound("There is no such delivery.".into()))
        }
    };
    Ok(staff.flash(&log(id), message))
}
