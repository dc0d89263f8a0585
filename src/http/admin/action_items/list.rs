//! The action items across incidents: the filtered list and its CSV and JSON exports.

use crate::accounts::users;
use crate::app::AppState;
use crate::http::admin::incidents::view::{choices, Choice};
use crate::http::admin::incidents::Reply;
use crate::http::error::AppError;
use crate::http::extract::{Query, Staff};
use crate::http::page::{render_admin, Layout};
use crate::postmortems::store as pm;
use crate::postmortems::store::{ActionItemJson, ItemFilter, ItemRow};
use crate::postmortems::today;
use crate::postmortems::{ActionPriority, ActionStatus};
use askama::Template;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

#[derive(Deserialize, Default)]
pub struct ListFilter {
    #[serde(default)]
    priority: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    incident: String,
    #[serde(default)]
    overdue: String,
}

impl ListFilter {
    async fn filter(&self, state: &AppState) -> Result<ItemFilter, AppError> {
        let incident_id = match self.incident.trim() {
            "" => None,
            reference => Some(
                crate::http::admin::incidents::load(state, reference)
                    .await?
                    .id,
            ),
        };
        Ok(ItemFilter {
            priority: ActionPriority::parse(&self.priority),
            status: ActionStatus::parse(&self.status),
            owner_id: Uuid::parse_str(self.owner.trim()).ok(),
            incident_id,
            overdue: !self.overdue.is_empty(),
        })
    }

    /// The filter, today, and the items it lets through on that day.
    async fn items(&self, state: &AppState) -> Result<(ItemFilter, Date, Vec<ItemRow>), AppError> {
        let filter = self.filter(state).await?;
        let today = today();
        let items = pm::items(&state.pool, &filter, today).await?;
        Ok((filter, today, items))
    }

    fn query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("priority", &self.priority),
                ("status", &self.status),
                ("owner", &self.owner),
                ("incident", &self.incident),
                ("overdue", &self.overdue),
            ])
            .finish()
    }
}

pub struct Row {
    pub id: Uuid,
    pub incident: String,
    pub title: String,
    pub priority: &'static str,
    pub priority_class: &'static str,
    pub kind: &'static str,
    pub owner: String,
    pub due: String,
    pub status: &'static str,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "admin/action_items.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    priorities: Vec<Choice>,
    statuses: Vec<Choice>,
    owners: Vec<Choice>,
    incident: String,
    overdue: bool,
    query: String,
}

/// The list's rows (also the postmortem page's items).
pub fn rows(items: Vec<ItemRow>, today: Date) -> Vec<Row> {
    items
        .into_iter()
        .map(|a| Row {
            overdue: a.is_overdue(today),
            id: a.id,
            incident: format!("INC-{}", a.incident_number),
            title: a.title,
            priority: a.priority.label(),
            priority_class: a.priority.css_class(),
            kind: a.kind.label(),
            owner: a.owner_name.unwrap_or_else(|| "—".into()),
            due: a
                .due_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".into()),
            status: a.status.label(),
        })
        .collect()
}

/// The users who can own an item.
pub(super) async fn owners(
    state: &AppState,
    chosen: Option<Uuid>,
) -> Result<Vec<Choice>, AppError> {
    Ok(users::list(&state.pool)
        .await?
        .into_iter()
        .filter(|u| !u.is_disabled())
        .map(|u| Choice {
            selected: chosen == Some(u.id),
            value: u.id.to_string(),
            label: u.name,
        })
        .collect())
}

/// The dashboard's panel: overdue items, oldest due first.
pub async fn overdue_rows(state: &AppState) -> Result<Vec<Row>, AppError> {
    let today = today();
    let filter = ItemFilter {
        overdue: true,
        ..ItemFilter::default()
    };
    let mut items = pm::items(&state.pool, &filter, today).await?;
    items.sort_by_key(|a| a.due_on);
    Ok(rows(items, today))
}

pub async fn list_items(
    Staff {
        state, user, jar, ..
    }: Staff,
    Query(list): Query<ListFilter>,
) -> Reply {
    let (filter, today, items) = list.items(&state).await?;
    let rows = rows(items, today);
    let page = ListPage {
        layout: Layout::new(&state, &user, &jar, "Action items", "Action items"),
        rows,
        priorities: choices(
            ActionPriority::ALL,
            filter.priority,
            ActionPriority::as_str,
            ActionPriority::label,
        ),
        statuses: choices(
            ActionStatus::ALL,
            filter.status,
            ActionStatus::as_str,
            ActionStatus::label,
        ),
        owners: owners(&state, filter.owner_id).await?,
        incident: list.incident.clone(),
        overdue: filter.overdue,
        query: list.query(),
    };
    render_admin(&state, &page.layout, &page)
}

/// One CSV field, quoted; a leading `=`, `+`, `-`, `@`, tab or CR gets a `'` so that
/// spreadsheets show it as text instead of running it as a formula.
fn csv(field: &str) -> String {
    let guard = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        "'"
    } else {
        ""
    };
    format!("\"{guard}{}\"", field.replace('"', "\"\""))
}

/// CSV for an issue tracker's import: one row per item, with a link back.
pub async fn export_csv(Staff { state, .. }: Staff, Query(list): Query<ListFilter>) -> Reply {
    let (_, today, items) = list.items(&state).await?;
    let mut out = String::from(
        "Summary,Description,Priority,Kind,Status,Assignee,Assignee email,Due date,Overdue,Incident,Link,Tracker URL,ID\r\n",
    );
    for a in items {
        let row = [
            a.title.clone(),
            a.description.clone(),
            a.priority.label().to_owned(),
            a.kind.label().to_owned(),
            a.status.label().to_owned(),
            a.owner_name.clone().unwrap_or_default(),
            a.owner_email.clone().unwrap_or_default(),
            a.due_on.map(|d| d.to_string()).unwrap_or_default(),
            if a.is_overdue(today) { "yes" } else { "no" }.to_owned(),
            format!("INC-{}", a.incident_number),
            format!("{}/admin/action-items/{}", state.settings.base_url, a.id),
            a.tracker_url.clone().unwrap_or_default(),
            a.id.to_string(),
        ];
        out.push_str(&row.iter().map(|f| csv(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"action-items.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// JSON: the API's shape, as a list.
pub async fn export_json(Staff { state, .. }: Staff, Query(list): Query<ListFilter>) -> Reply {
    let (_, today, items) = list.items(&state).await?;
    let items: Vec<ActionItemJson> = items
        .into_iter()
        .map(|a| ActionItemJson::from_row(a, today))
        .collect();
    let body = serde_json::to_string_pretty(&items).map_err(anyhow::Error::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"action-items.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(super::csv("plain"), "\"plain\"");
        assert_eq!(super::csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::csv("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(super::csv("@SUM(A1)"), "\"'@SUM(A1)\"");
    }
}
