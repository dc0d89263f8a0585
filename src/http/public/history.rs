//! `/history`: the first page from the snapshot, older pages from the database.

use crate::maintenance;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{respond, snapshot, PageQuery};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::Query;
use crate::status_page::data::{self, PublicIncident, PublicMaintenance};
use crate::status_page::render::{self, MONTHS_PER_PAGE};
use crate::status_page::Cached;

const INCIDENT_COLUMNS: &str =
    "id, number, title, status, impact, started_at, declared_at, monitoring_at, \
     resolved_at, created_at, updated_at";

pub async fn load_incident(
    state: &AppState,
    id: Uuid,
) -> Result<Option<PublicIncident>, sqlx::Error> {
    let found: Option<PublicIncident> = sqlx::query_as(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM public_incidents WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    match found {
        Some(i) => {
            let mut one = [i];
            data::attach_details(&mut *state.pool.acquire().await?, &mut one).await?;
            let [i] = one;
            Ok(Some(i))
        }
        None => Ok(None),
    }
}

pub async fn load_maintenance(
    state: &AppState,
    id: Uuid,
) -> Result<Option<PublicMaintenance>, sqlx::Error> {
    match maintenance::find(&state.pool, id).await? {
        Some(row) => Ok(
            data::with_details(&mut *state.pool.acquire().await?, vec![row])
                .await?
                .pop(),
        ),
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
        "SELECT {INCIDENT_COLUMNS} FROM public_incidents WHERE declared_at >= $1 AND declared_at < $2 \
         ORDER BY declared_at DESC LIMIT 500"
    ))
    .bind(from)
    .bind(until)
    .fetch_all(&state.pool)
    .await?;
    let mut incidents = incidents;
    data::attach_details(&mut *state.pool.acquire().await?, &mut incidents).await?;
    let windows = maintenance::in_window(&state.pool, from, until).await?;
    let maintenances = data::with_details(&mut *state.pool.acquire().await?, windows).await?;
    let older: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM public_incidents WHERE declared_at < $1) \
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
