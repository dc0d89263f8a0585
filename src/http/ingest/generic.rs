//! `POST /ingest/{key}/generic` and `/ingest/generic` (key in `Authorization`): Fireline's
//! own JSON for scripts and tools with no format of their own.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{answer, count, key_from_headers, open, read_body, store, Refusal, GENERIC_MAX_BODY};
use crate::alerts::intake::generic;
use crate::alerts::{AlertFormat, IntegrationKind};
use crate::app::AppState;

/// Generic JSON, key in the path.
pub async fn generic_with_key(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, Some(key), headers, body).await
}

/// Generic JSON, key in `Authorization`.
pub async fn generic_with_header(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, None, headers, body).await
}

async fn receive(state: AppState, key: Option<String>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let body = read_body(&headers, body, GENERIC_MAX_BODY).await?;
        let key = key
            .or_else(|| key_from_headers(&headers))
            .ok_or(Refusal::Unauthorized)?;
        let integration = open(&state, &key, IntegrationKind::Generic).await?;
        let delivery = generic::parse(&body).map_err(Refusal::Invalid)?;
        store(&state, integration, &delivery).await?;
        Ok(delivery.group_key)
    }
    .await;
    count(&state, AlertFormat::Generic, &result);
    answer::generic(&headers, result)
}
