//! Action items in the admin UI: adding one (from the postmortem, or from a note in the
//! log), the list across incidents with filters and overdue items highlighted, exports
//! as CSV and JSON for an issue tracker, and editing with the history of every change.

mod list;
use super::incidents::view::{choices, Choice};
use list::owners;
pub use list::*;

use askama::Template;
use axum::http::StatusCode;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::format_time;
use super::incidents::{incident_path, load, refusal, Posted, Reply};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{AsResponder, Path, Query, Staff};
use crate::http::page::{render_admin_status, Layout};
use crate::incidents;
use crate::postmortems::store as pm;
use crate::postmortems::store::{ItemFields, ItemRow};
use crate::postmortems::today;
use crate::postmortems::{ActionKind, ActionPriority, ActionStatus};

/// The form's fields as typed, to show them again.
#[derive(Deserialize, Default, Clone)]
pub struct ItemForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    tracker_url: String,
    #[serde(default)]
    source_event_id: String,
    version: Option<i32>,
}

impl ItemForm {
    /// The fields, or the message for the one that is wrong.
    fn fields(&self) -> Result<ItemFields, String> {
        let priority = ActionPriority::parse(&self.priority)
            .ok_or("Choose a priority: high, medium or low.")?;
        let kind = if self.kind.is_empty() {
            ActionKind::Other
        } else {
            ActionKind::parse(&self.kind).ok_or("Choose a kind.")?
        };
        let status = if self.status.is_empty() {
            ActionStatus::Open
        } else {
            ActionStatus::parse(&self.status).ok_or("Choose a status.")?
        };
        let owner_id = match self.owner_id.trim() {
            "" => None,
            id => Some(Uuid::parse_str(id).map_err(|_| "Choose an owner from the list.")?),
        };
        let due_on = match self.due_on.trim() {
            "" => None,
            d => Some(
                Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|_| "Give the due date as YYYY-MM-DD.")?,
            ),
        };
        Ok(ItemFields {
            title: self.title.clone(),
            description: self.description.clone(),
            priority,
            kind,
            owner_id,
            due_on,
            status,
            tracker_url: Some(self.tracker_url.clone()),
        })
    }
}

#[derive(Template)]
#[template(path = "admin/action_item.html")]
struct ItemPage {
    layout: Layout,
    heading: String,
    action: String,
    back: String,
    form: ItemForm,
    priorities: Vec<Choice>,
    kinds: Vec<Choice>,
    statuses: Vec<Choice>,
    owners: Vec<Choice>,
    meanings: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    history: Vec<(super::Stamp, String, String)>,
    new: bool,
}

/// Where an item form sits: its heading, where it posts, and the way back.
struct Place {
    heading: String,
    action: String,
    back: String,
}

impl Place {
    /// A new item of `incident`, going back to `back` (see [`back_to`]).
    fn new_item(incident: &incidents::IncidentRow, back: String) -> Place {
        Place {
            heading: format!("New action item for {}", incident.reference()),
            action: format!("{}/action-items", incident_path(incident)),
            back,
        }
    }

    /// The item `id` of incident number `number`.
    fn item(id: Uuid, number: i64) -> Place {
        Place {
            heading: format!("Action item of INC-{number}"),
            action: format!("/admin/action-items/{id}"),
            back: format!("/admin/incidents/INC-{number}"),
        }
    }
}

/// The item form at `place`, filled with `form`, answered with `status`.
async fn item_page<R>(
    s: &Staff<R>,
    Place {
        heading,
        action,
        back,
    }: Place,
    form: ItemForm,
    (error, history): (Option<String>, Vec<(super::Stamp, String, String)>),
    status: StatusCode,
) -> Reply {
    let owner = Uuid::parse_str(form.owner_id.trim()).ok();
    let page = ItemPage {
        layout: Layout::new(&s.state, &s.user, &s.jar, &heading, "Action items"),
        new: form.version.is_none(),
        priorities: choices(
            ActionPriority::ALL,
            ActionPriority::parse(&form.priority),
            ActionPriority::as_str,
            ActionPriority::label,
        ),
        kinds: choices(
            ActionKind::ALL,
            ActionKind::parse(&form.kind),
            ActionKind::as_str,
            ActionKind::label,
        ),
        statuses: choices(
            ActionStatus::ALL,
            ActionStatus::parse(&form.status),
            ActionStatus::as_str,
            ActionStatus::label,
        ),
        owners: owners(&s.state, owner).await?,
        meanings: ActionPriority::ALL
            .iter()
            .map(|p| (p.label(), p.meaning()))
            .collect(),
        heading,
        action,
        back,
        form,
        error,
        history,
    };
    render_admin_status(&s.state, &page.layout, &page, status)
}

/// Where to go after adding: the postmortem if there is one, else the incident.
async fn back_to(state: &AppState, incident: &incidents::IncidentRow) -> Result<String, AppError> {
    Ok(match pm::of_incident(&state.pool, incident.id).await? {
        Some(p) => format!("/admin/postmortems/{}", p.id),
        None => incident_path(incident),
    })
}

#[derive(Deserialize)]
pub struct NewQuery {
    from: Option<Uuid>,
}

/// The form for a new item; `?from=` fills it from a note in the log.
pub async fn new_item(
    s: Staff<AsResponder>,
    Path(number): Path<String>,
    Query(query): Query<NewQuery>,
) -> Reply {
    let incident = load(&s.state, &number).await?;
    let mut form = ItemForm {
        priority: "high".into(),
        owner_id: s.id().to_string(),
        ..ItemForm::default()
    };
    if let Some(event) = query.from {
        let e = incidents::events::find(&s.state.pool, event)
            .await?
            .filter(|e| e.incident_id == incident.id)
            .ok_or_else(|| AppError::NotFound("There is no such log entry.".into()))?;
        let first = e.body.lines().next().unwrap_or("").trim();
        form.title = first.chars().take(200).collect();
        form.description = format!(
            "From the log of {} ({}): {}",
            incident.reference(),
            format_time(e.occurred_at),
            e.body.trim()
        );
        form.source_event_id = e.id.to_string();
    }
    let place = Place::new_item(&incident, back_to(&s.state, &incident).await?);
    item_page(&s, place, form, (None, Vec::new()), StatusCode::OK).await
}

pub async fn create_item(Posted { s, at, form }: Posted<String, ItemForm>) -> Reply {
    let incident = load(&s.state, &at).await?;
    let back = back_to(&s.state, &incident).await?;
    let source = Uuid::parse_str(form.source_event_id.trim()).ok();
    let made = match form.fields() {
        Err(message) => Err(message),
        Ok(fields) => {
            let mut tx = s.begin().await?;
            let user = &s.user.user;
            let made = pm::create_item(&mut tx, user, incident.id, fields, source, today()).await;
            let made = refusal(made)?;
            if made.is_ok() {
                tx.commit().await?;
            }
            made
        }
    };
    let item = match made {
        Ok(item) => item,
        Err(message) => {
            let place = Place::new_item(&incident, back);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return item_page(&s, place, form, (Some(message), Vec::new()), status).await;
        }
    };
    let message = format!(
        "Action item added: {} ({} priority{}).",
        item.title,
        item.priority.label().to_lowercase(),
        item.due_on
            .map(|d| format!(", due {d}"))
            .unwrap_or_default()
    );
    Ok(s.flash(&back, &message))
}

fn form_of(item: &ItemRow) -> ItemForm {
    ItemForm {
        title: item.title.clone(),
        description: item.description.clone(),
        priority: item.priority.as_str().into(),
        kind: item.kind.as_str().into(),
        owner_id: item.owner_id.map(|o| o.to_string()).unwrap_or_default(),
        due_on: item.due_on.map(|d| d.to_string()).unwrap_or_default(),
        status: item.status.as_str().into(),
        tracker_url: item.tracker_url.clone().unwrap_or_default(),
        source_event_id: String::new(),
        version: Some(item.version),
    }
}

async fn history(
    state: &AppState,
    id: Uuid,
) -> Result<Vec<(super::Stamp, String, String)>, AppError> {
    Ok(pm::item_changes(&state.pool, id)
        .await?
        .into_iter()
        .map(|c| {
            let what = match c.changes.as_object() {
                Some(map) if map.contains_key("created") => "created it".to_owned(),
                Some(map) => map
                    .iter()
                    .map(|(field, v)| {
                        let show = |x: &serde_json::Value| match x {
                            serde_json::Value::Null => "nothing".to_owned(),
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        format!(
                            "{} {} → {}",
                            field.replace('_', " "),
                            show(&v["old"]),
                            show(&v["new"])
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                None => String::new(),
            };
            (
                super::stamp(c.changed_at),
                c.changed_by_name.unwrap_or_else(|| "someone".into()),
                what,
            )
        })
        .collect())
}

async fn find(state: &AppState, id: Uuid) -> Result<ItemRow, AppError> {
    pm::item(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such action item.".into()))
}

pub async fn show_item(s: Staff, Path(id): Path<Uuid>) -> Reply {
    let item = find(&s.state, id).await?;
    let place = Place::item(id, item.incident_number);
    let shown = (None, history(&s.state, id).await?);
    item_page(&s, place, form_of(&item), shown, StatusCode::OK).await
}

pub async fn update_item(Posted { s, at: id, form }: Posted<Uuid, ItemForm>) -> Reply {
    let item = find(&s.state, id).await?;
    let version = form.version.unwrap_or(item.version);
    let (status, message) = match form.fields() {
        Err(message) => (StatusCode::UNPROCESSABLE_ENTITY, message),
        Ok(mut fields) => {
            // An emptied due date stays empty here (the default applies when creating).
            if form.due_on.trim().is_empty() {
                fields.due_on = None;
            }
            let mut tx = s.begin().await?;
            match refusal(pm::update_item(&mut tx, &s.user.user, id, version, fields).await)? {
                Ok(Ok(_)) => {
                    let to = format!("/admin/action-items/{id}");
                    return s.commit_and_flash(tx, &to, "Saved.").await;
                }
                Ok(Err(current)) => (
                    StatusCode::CONFLICT,
                    format!(
                        "Someone changed this item while you were editing (it is now at version {}). Your changes are below; save again to apply them over theirs.",
                        current.version
                    ),
                ),
                Err(message) => (StatusCode::UNPROCESSABLE_ENTITY, message),
            }
        }
    };
    let current = find(&s.state, id).await?;
    let shown = ItemForm {
        version: Some(current.version),
        ..form
    };
    let place = Place::item(id, current.incident_number);
    let error = (Some(message), history(&s.state, id).await?);
    item_page(&s, place, shown, error, status).await
}
