//! `/history`: the first page from the snapshot, older pages from the database.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use time::{Duration, OffsetDateTime};

use super::{respond, respond_rendered, Current, PageQuery};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::Query;
use crate::status_page::history;
use crate::status_page::render::{self, MONTHS_PER_PAGE};

pub async fn show_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    Current(snapshot): Current,
) -> Result<Response, AppError> {
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
    let window = history::window(&state.pool, from, until).await?;
    let rendered = render::history_page(
        &snapshot.data,
        &snapshot.clock,
        snapshot.stale,
        page,
        &window.incidents,
        &window.maintenances,
        window.older,
    );
    respond_rendered(&rendered, &headers)
}
