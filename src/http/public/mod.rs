//! The public surfaces: the status page, incident pages, history, feeds and the
//! Statuspage-compatible JSON, answered from the in-memory snapshot.

use askama::Template;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::Path;
use crate::status_page::render::{self, UnavailablePage};
use crate::status_page::{Cached, Snapshot};

mod email;
mod history;
mod subscribe;

/// Short enough that a CDN shows changes quickly, with stale copies allowed while it
/// revalidates or when Fireline cannot answer.
const CACHE_CONTROL: &str = "public, max-age=10, stale-while-revalidate=30, stale-if-error=86400";

/// Headers on a cached document once every layer has added its own.
const HEADERS_PER_DOCUMENT: usize = 14;

pub use email::router as email_router;
pub use history::show_history;
pub use subscribe::router as subscribe_router;

/// The documents that live in the snapshot under their own path.
const CACHED_PATHS: [&str; 13] = [
    "/",
    "/theme.css",
    "/logo",
    "/history.atom",
    "/history.rss",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
];

/// The routes of the documents in [`CACHED_PATHS`].
pub fn cached_router() -> Router<AppState> {
    CACHED_PATHS
        .into_iter()
        .fold(Router::new(), |router, path| {
            router.route(path, get(cached))
        })
}

/// 503 with a page that refreshes itself, until the first snapshot exists.
fn unavailable(state: &AppState) -> Response {
    let page = UnavailablePage {
        name: state.settings.page_name.clone(),
    };
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(page.render().unwrap_or_default()),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The current snapshot; before the first one exists, the request is answered with the
/// 503 page.
pub struct Current(pub Arc<Snapshot>);

impl FromRequestParts<AppState> for Current {
    type Rejection = Response;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Response> {
        state
            .status_page
            .snapshot()
            .map(Current)
            .ok_or_else(|| unavailable(state))
    }
}

/// A page rendered now from the database, answered like a cached document.
fn respond_rendered(page: &impl Template, headers: &HeaderMap) -> Result<Response, AppError> {
    let html = page.render().map_err(anyhow::Error::from)?;
    Ok(respond(
        &Cached::new(html, "text/html; charset=utf-8"),
        headers,
    ))
}

/// Answer with a cached document: 304 for a matching ETag, else the best encoding the
/// client accepts.
pub fn respond(doc: &Cached, headers: &HeaderMap) -> Response {
    let etag_matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == doc.etag || t.trim() == "*")
        });
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let accepts = |coding: &str| {
        accept.split(',').any(|part| {
            let mut pieces = part.split(';');
            let name = pieces.next().unwrap_or("").trim();
            let refused = pieces.any(|p| p.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case(coding) && !refused
        })
    };
    let (status, body, encoding) = if etag_matches {
        (StatusCode::NOT_MODIFIED, bytes::Bytes::new(), None)
    } else if accepts("br") && !doc.brotli.is_empty() {
        (StatusCode::OK, doc.brotli.clone(), Some("br"))
    } else if accepts("gzip") && !doc.gzip.is_empty() {
        (StatusCode::OK, doc.gzip.clone(), Some("gzip"))
    } else {
        (StatusCode::OK, doc.body.clone(), None)
    };
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    // Room for these, the request id and the security headers: one allocation.
    h.reserve(HEADERS_PER_DOCUMENT);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(doc.content_type),
    );
    h.insert(header::ETAG, doc.etag_header.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(encoding) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    if doc.content_type.starts_with("application/json") {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

/// Every document that lives in the snapshot under its own path.
async fn cached(Current(snapshot): Current, request: Request) -> Response {
    match snapshot.get(request.uri().path()) {
        Some(doc) => respond(&doc, request.headers()),
        None => AppError::NotFound("There is nothing at this address.".into()).into_response(),
    }
}

/// An incident or maintenance page: from the snapshot when recent, else rendered from
/// the database. Internal incidents are not found.
pub async fn show_incident(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Current(snapshot): Current,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| AppError::NotFound("There is no such incident.".into()))?;
    if let Some(doc) = snapshot.get(&format!("/incidents/{id}")) {
        return Ok(respond(&doc, &headers));
    }
    let data = &snapshot.data;
    let (clock, stale) = (&snapshot.clock, snapshot.stale);
    if let Some(incident) = crate::status_page::history::incident(&state.pool, id).await? {
        let page = render::incident_page(data, clock, stale, &incident);
        return respond_rendered(&page, &headers);
    }
    if let Some(m) = crate::status_page::history::maintenance(&state.pool, id).await? {
        return respond_rendered(&render::maintenance_page(data, clock, stale, &m), &headers);
    }
    Err(AppError::NotFound("There is no such incident.".into()))
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}
