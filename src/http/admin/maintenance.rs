//! Scheduled maintenance: plan a window, let the job runner start and end it, or move it
//! by hand; every step posts an update customers see.

use askama::Template;
use axum::http::StatusCode;
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::components::{choices, ComponentChoice};
use super::incidents::view::{input_time, parse_input_time, Choice};
use super::Reply;
use crate::accounts::Role;
use crate::http::error::AppError;
use crate::http::extract::{AsResponder, CsrfForm, Path, Staff};
use crate::http::page::{render_admin, render_admin_status, render_refused, Layout};
use crate::incidents::CommandError;
use crate::maintenance::MaintenanceStatus;
use crate::maintenance::{self, MaintenanceDraft, MaintenanceRow};
use crate::platform::markdown;

pub struct MaintenanceItem {
    pub id: Uuid,
    pub title: String,
    pub status: &'static str,
    pub starts: super::Stamp,
    pub ends: super::Stamp,
}

fn item(m: &MaintenanceRow) -> MaintenanceItem {
    MaintenanceItem {
        id: m.id,
        title: m.title.clone(),
        status: m.status.label(),
        starts: super::stamp(m.scheduled_for),
        ends: super::stamp(m.scheduled_until),
    }
}

#[derive(Template)]
#[template(path = "admin/maintenances.html")]
struct ListPage {
    layout: Layout,
    open: Vec<MaintenanceItem>,
    past: Vec<MaintenanceItem>,
    can_respond: bool,
    components: Vec<ComponentChoice>,
    form: Form,
    error: Option<String>,
}

#[derive(Default, serde::Deserialize)]
pub struct Form {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    scheduled_for: String,
    #[serde(default)]
    scheduled_until: String,
    #[serde(default)]
    auto_components: Option<String>,
    /// Hours before the start when email subscribers are reminded: `72, 24, 1`.
    #[serde(default)]
    reminders: String,
    #[serde(default)]
    version: Option<i32>,
    /// The zone the window's times are in (filled by the browser; the reader's if empty).
    #[serde(default)]
    time_zone: String,
}

/// The list with the scheduling form as given, and what was wrong with it.
async fn list_page<R>(
    staff: &Staff<R>,
    form: Form,
    checked: &[Uuid],
    error: Option<String>,
) -> Result<ListPage, AppError> {
    let all = maintenance::list(&staff.state.pool, false, 200).await?;
    Ok(ListPage {
        layout: Layout::of(staff, "Maintenance", "Maintenance"),
        open: all
            .iter()
            .filter(|m| m.status.is_open())
            .map(item)
            .collect(),
        past: all
            .iter()
            .filter(|m| !m.status.is_open())
            .map(item)
            .collect(),
        can_respond: staff.user.can(Role::Responder),
        components: choices(&staff.state, checked).await?,
        form,
        error,
    })
}

pub async fn list_maintenances(staff: Staff) -> Reply {
    let now = OffsetDateTime::now_utc();
    let form = Form {
        scheduled_for: input_time(now + time::Duration::days(1)),
        scheduled_until: input_time(now + time::Duration::days(1) + time::Duration::hours(1)),
        auto_components: Some("on".into()),
        reminders: hours_text(&maintenance::DEFAULT_REMINDERS),
        ..Default::default()
    };
    let page = list_page(&staff, form, &[], None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// The form's fields, with `component` repeated for each chosen component.
fn parse(fields: &[(String, String)]) -> (Form, Vec<Uuid>) {
    let mut form = Form::default();
    let mut chosen = Vec::new();
    for (k, v) in fields {
        match k.as_str() {
            "title" => form.title = v.clone(),
            "description" => form.description = v.clone(),
            "scheduled_for" => form.scheduled_for = v.clone(),
            "scheduled_until" => form.scheduled_until = v.clone(),
            "auto_components" => form.auto_components = Some(v.clone()),
            "reminders" => form.reminders = v.clone(),
            "version" => form.version = v.parse().ok(),
            "time_zone" => form.time_zone = v.clone(),
            "component" => chosen.extend(Uuid::parse_str(v).ok()),
            _ => {}
        }
    }
    (form, chosen)
}

/// Minutes as the form shows them, in hours: `72, 24, 1, 0.5`.
fn hours_text(minutes: &[i32]) -> String {
    let hours: Vec<String> = minutes
        .iter()
        .map(|m| {
            if m % 60 == 0 {
                (m / 60).to_string()
            } else {
                format!("{}", f64::from(*m) / 60.0)
            }
        })
        .collect();
    hours.join(", ")
}

/// The form's reminder hours as minutes.
fn reminder_minutes(raw: &str) -> Result<Vec<i32>, String> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| match h.trim_end_matches('h').parse::<f64>() {
            Ok(hours) if hours.is_finite() && hours > 0.0 && hours <= 720.0 => {
                Ok((hours * 60.0).round() as i32)
            }
            _ => Err(format!(
                "Reminders: {h:?} is not a number of hours (write them like 72, 24, 1)."
            )),
        })
        .collect()
}

fn draft(form: &Form, components: Vec<Uuid>) -> Result<MaintenanceDraft, String> {
    let when = |raw: &str, what: &str| {
        parse_input_time(raw, &form.time_zone).map_err(|e| format!("{what}: {e}"))
    };
    Ok(MaintenanceDraft {
        title: form.title.clone(),
        description: form.description.clone(),
        scheduled_for: when(&form.scheduled_for, "Start")?,
        scheduled_until: when(&form.scheduled_until, "End")?,
        components,
        auto_components: form.auto_components.is_some(),
        reminder_minutes: Some(reminder_minutes(&form.reminders)?),
    })
}

pub async fn schedule_maintenance(staff: Staff<AsResponder>, fields: CsrfForm<Fields>) -> Reply {
    let (form, chosen) = parse(&fields.0);
    let new = match draft(&form, chosen.clone()) {
        Ok(d) => d,
        Err(message) => return refuse_list(&staff, form, chosen, message).await,
    };
    let mut tx = staff.begin().await?;
    match maintenance::schedule(&mut tx, &staff.user.user, new).await {
        Ok(m) => {
            let message = "Maintenance scheduled. It starts and ends on its own.";
            let to = format!("/admin/maintenance/{}", m.id);
            staff.commit_and_flash(tx, &to, message).await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            refuse_list(&staff, form, chosen, message).await
        }
        Err(other) => Err(other.into()),
    }
}

/// The fields of a maintenance form, as sent.
type Fields = Vec<(String, String)>;

/// The list again, with the scheduling form as given and what was wrong with it.
async fn refuse_list(
    staff: &Staff<AsResponder>,
    form: Form,
    chosen: Vec<Uuid>,
    message: String,
) -> Reply {
    let page = list_page(staff, form, &chosen, Some(message)).await?;
    render_refused(&staff.state, &page.layout, &page)
}

pub struct UpdateItem {
    pub status: &'static str,
    pub at: super::Stamp,
    pub body_html: String,
    pub author: String,
}

#[derive(Template)]
#[template(path = "admin/maintenance.html")]
struct DetailPage {
    layout: Layout,
    m: MaintenanceItem,
    description_html: String,
    open: bool,
    can_respond: bool,
    form: Form,
    components: Vec<ComponentChoice>,
    updates: Vec<UpdateItem>,
    statuses: Vec<Choice>,
    error: Option<String>,
}

async fn detail_page<R>(
    staff: &Staff<R>,
    id: Uuid,
    error: Option<String>,
) -> Result<DetailPage, AppError> {
    let state = &staff.state;
    let m = maintenance::find(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such maintenance.".into()))?;
    let linked: Vec<Uuid> = maintenance::component_links(&state.pool, &[id])
        .await?
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let updates = maintenance::updates(&state.pool, &[id]).await?;
    let reminders = maintenance::reminder_minutes(&state.pool, id).await?;
    let statuses = [
        MaintenanceStatus::InProgress,
        MaintenanceStatus::Verifying,
        MaintenanceStatus::Completed,
    ]
    .into_iter()
    .map(|s| Choice {
        value: s.as_str().into(),
        label: s.label().into(),
        selected: s == m.status,
    })
    .collect();
    Ok(DetailPage {
        layout: Layout::of(staff, &m.title, "Maintenance"),
        m: item(&m),
        description_html: markdown::render(&m.description),
        open: m.status.is_open(),
        can_respond: staff.user.can(Role::Responder),
        form: Form {
            title: m.title.clone(),
            description: m.description.clone(),
            scheduled_for: input_time(m.scheduled_for),
            scheduled_until: input_time(m.scheduled_until),
            auto_components: m.auto_components.then(|| "on".into()),
            reminders: hours_text(&reminders),
            version: Some(m.version),
            time_zone: String::new(),
        },
        components: choices(state, &linked).await?,
        updates: updates
            .into_iter()
            .map(|u| UpdateItem {
                status: u.status.label(),
                at: super::stamp(u.created_at),
                body_html: markdown::render(&u.body),
                author: u
                    .author_name
                    .unwrap_or_else(|| "Fireline (on schedule)".into()),
            })
            .collect(),
        statuses,
        error,
    })
}

pub async fn show_maintenance(staff: Staff, Path(id): Path<Uuid>) -> Reply {
    let page = detail_page(&staff, id, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// The maintenance's page again with why the change was refused (422, or 409 for `stale`).
async fn refuse_detail(staff: &Staff<AsResponder>, id: Uuid, message: String) -> Reply {
    refuse_detail_with(staff, id, message, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn refuse_detail_with(
    staff: &Staff<AsResponder>,
    id: Uuid,
    message: String,
    status: StatusCode,
) -> Reply {
    let page = detail_page(staff, id, Some(message)).await?;
    render_admin_status(&staff.state, &page.layout, &page, status)
}

/// Commit and back to the maintenance's page with `flash`, or the page again with why
/// the command refused.
async fn conclude<T>(
    staff: &Staff<AsResponder>,
    tx: Transaction<'_, Postgres>,
    id: Uuid,
    outcome: Result<T, CommandError>,
    flash: impl FnOnce(T) -> String,
) -> Reply {
    match outcome {
        Ok(done) => {
            tx.commit().await?;
            Ok(staff.flash(&format!("/admin/maintenance/{id}"), &flash(done)))
        }
        Err(CommandError::Stale { current, .. }) => {
            drop(tx);
            let message = format!(
                "Not saved: someone else changed this maintenance while you were editing (it is \
                 now at version {current}). The form shows the current plan; make your change again."
            );
            refuse_detail_with(staff, id, message, StatusCode::CONFLICT).await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            refuse_detail(staff, id, message).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn edit_maintenance(
    staff: Staff<AsResponder>,
    Path(id): Path<Uuid>,
    CsrfForm(fields): CsrfForm<Fields>,
) -> Reply {
    let (form, chosen) = parse(&fields);
    let new = match draft(&form, chosen) {
        Ok(d) => d,
        Err(message) => return refuse_detail(&staff, id, message).await,
    };
    let Some(version) = form.version else {
        let message = "This form did not say which version it edits; reload the page and make \
                       your change again.";
        return refuse_detail(&staff, id, message.into()).await;
    };
    let mut tx = staff.begin().await?;
    let outcome = maintenance::reschedule(&mut tx, id, version, new).await;
    conclude(&staff, tx, id, outcome, |_| "Maintenance saved.".into()).await
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
pub struct UpdateForm {
    status: String,
    body: String,
    notify: Option<String>,
}

/// Post an update, moving the maintenance to the chosen status (or cancelling it).
pub async fn post_maintenance_update(
    staff: Staff<AsResponder>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<UpdateForm>,
) -> Reply {
    let status = MaintenanceStatus::parse(&form.status)
        .ok_or_else(|| AppError::field("status", "Choose a status."))?;
    let mut tx = staff.begin().await?;
    let body = Some(form.body.as_str()).filter(|b| !b.trim().is_empty());
    let (by, notify) = (Some(&staff.user.user), form.notify.is_some());
    let outcome = maintenance::transition(&mut tx, by, id, status, body, notify).await;
    conclude(&staff, tx, id, outcome, |m| {
        format!("Maintenance is now {}.", m.status.label().to_lowercase())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::{hours_text, reminder_minutes};

    #[test]
    fn reminders_are_written_in_hours() {
        assert_eq!(reminder_minutes("72, 24, 1"), Ok(vec![4320, 1440, 60]));
        assert_eq!(reminder_minutes("0.5 2h"), Ok(vec![30, 120]));
        assert_eq!(reminder_minutes(""), Ok(vec![]));
        assert!(reminder_minutes("soon").is_err());
        assert!(reminder_minutes("-1").is_err());
        assert_eq!(hours_text(&[4320, 1440, 60, 30]), "72, 24, 1, 0.5");
    }
}
