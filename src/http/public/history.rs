//! `/history`: the first page from the snapshot, older pages from the database.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{respond, snapshot, PageQuery};
use crate::app::AppState;
use crate::db;
use crate::error::AppError;
use crate::http::extract::Query;
use crate::status_page::data::{PublicIncident, PublicMaintenance};
use crate::status_page::render::{self, MONTHS_PER_PAGE};
use crate::status_page::Cached;

const INCIDENT_COLUMNS: &str =
    "id, number, title, status, impact, started_at, declared_at, monitoring_at, \
     resolved_at, created_at, updated_at";

async fn complete(
    state: &AppState,
    mut incidents: Vec<PublicIncident>,
) -> Result<Vec<PublicIncident>, sqlx::Error> {
    for incident in &mut incidents {
        incident.updates = db::incidents::updates::list(&state.pool, incident.id).await?;
        incident.component_ids = db::incidents::affected_components(&state.pool, incident.id)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
    }
    Ok(incidents)
}

async fn complete_maintenances(
    state: &AppState,
    rows: Vec<db::maintenances::MaintenanceRow>,
) -> Result<Vec<PublicMaintenance>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let updates = db::maintenances::updates(&state.pool, &ids).await?;
    let links = db::maintenances::component_links(&state.pool, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| PublicMaintenance {
            updates: updates
                .iter()
                .filter(|u| u.maintenance_id == row.id)
                .cloned()
                .collect(),
            component_ids: links
                .iter()
                .filter(|(m, _)| *m == row.id)
                .map(|(_, c)| *c)
                .collect(),
            row,
        })
        .collect())
}

pub async fn load_incident(
    state: &AppState,
    id: Uuid,
) -> Result<Option<PublicIncident>, sqlx::Error> {
    let found: Option<PublicIncident> = sqlx::query_as(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1 AND visibility = 'public'"
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    match found {
        Some(i) => Ok(complete(state, vec![i]).await?.pop()),
        None => Ok(None),
    }
}

pub async fn load_maintenance(
    state: &AppState,
    id: Uuid,
) -> Result<Option<PublicMaintenance>, sqlx::Error> {
    match db::maintenances::find(&state.pool, id).await? {
        Some(row) => Ok(complete_maintenances(state, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

pub async fn show_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let snapshot = match snapshot(&state) {
        Ok(s) => s,
        Err(response) => return Ok(*response),
    };
    let page = query.page.unwrap_or(1);
    if !(1..=1000).contains(&page) {
        return Err(AppError::field("page", "page must be between 1 and 1000."));
    }
    if page == 1 {
        if let Some(doc) = snapshot.get("/history") {
            return Ok(respond(&doc, &headers));
        }
    }
    // The months of this page, in the page's time zone (approximated by whole UTC days).
    let now = OffsetDateTime::now_utc();
    let until = now - Duration::days(30 * MONTHS_PER_PAGE * (page - 1)) + Duration::days(31);
    let from = until - Duration::days(31 * MONTHS_PER_PAGE + 31);
    let incidents: Vec<PublicIncident> = sqlx::query_as(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE visibility = 'public' AND declared_at >= $1 AND declared_at < $2 \
         ORDER BY declared_at DESC LIMIT 500"
    ))
    .bind(from)
    .bind(until)
    .fetch_all(&state.pool)
    .await?;
    let incidents = complete(&state, incidents).await?;
    let maintenances = complete_maintenances(
        &state,
        db::maintenances::in_window(&state.pool, from, until).await?,
    )
    .await?;
    let older: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM incidents WHERE visibility = 'public' AND declared_at < $1) \
             OR EXISTS (SELECT 1 FROM maintenances WHERE scheduled_for < $1)",
    )
    .bind(from)
    .fetch_one(&state.pool)
    .await?;
    let rendered = render::history_page(
        &snapshot.data,
        &snapshot.clock,
        snapshot.stale,
        page,
        &incidents,
        &maintenances,
        older,
    );
    Ok(respond(
        &Cached::new(
            rendered.render().map_err(anyhow::Error::from)?,
            "text/html; charset=utf-8",
        ),
        &headers,
    ))
}
