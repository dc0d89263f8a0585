//! `POST /ingest/{key}/alertmanager`, `/ingest/{key}/grafana`, and the same without the
//! key in the path for senders that send it as `Authorization: Bearer` (Alertmanager's
//! `http_config.authorization`) or as the Basic password.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{answer, count, key_from_headers, open, read_body, store, Refusal, WEBHOOK_MAX_BODY};
use crate::alerts::intake::{alertmanager, signature, Action};
use crate::alerts::{AlertFormat, IntegrationKind};
use crate::app::AppState;

/// Alertmanager's webhook receiver, payload version 4, key in the path.
pub async fn alertmanager_with_key(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, AlertFormat::Alertmanager, Some(key), headers, body).await
}

/// Alertmanager's webhook receiver, key in `Authorization`.
pub async fn alertmanager_with_header(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, AlertFormat::Alertmanager, None, headers, body).await
}

/// Grafana alerting's webhook contact point, key in the path.
pub async fn grafana_with_key(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, AlertFormat::Grafana, Some(key), headers, body).await
}

/// Grafana alerting's webhook contact point, key in `Authorization`.
pub async fn grafana_with_header(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, AlertFormat::Grafana, None, headers, body).await
}

async fn receive(
    state: AppState,
    format: AlertFormat,
    key: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let kind = match format {
        AlertFormat::Grafana => IntegrationKind::Grafana,
        _ => IntegrationKind::Alertmanager,
    };
    let result = async {
        let body = read_body(&headers, body, WEBHOOK_MAX_BODY).await?;
        let key = key
            .or_else(|| key_from_headers(&headers))
            .ok_or(Refusal::Unauthorized)?;
        let integration = open(&state, &key, kind).await?;
        if let Some(secret) = &integration.signing_secret {
            check_signature(
                &headers,
                &body,
                secret,
                integration.timestamp_header.as_deref(),
            )?;
        }
        let delivery = alertmanager::parse(format, &body).map_err(Refusal::Invalid)?;
        store(&state, integration, &delivery).await?;
        Ok(match &delivery.action {
            Action::Alerts { alerts, .. } => alerts.len(),
            Action::Acknowledge | Action::Resolve => 0,
        })
    }
    .await;
    count(&state, format, &result);
    answer::webhook(&headers, format, result)
}

/// Grafana's signature over `body` (and the timestamp header's value, when the
/// integration names one).
fn check_signature(
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
    timestamp_header: Option<&str>,
) -> Result<(), Refusal> {
    fn value<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, Refusal> {
        let value = headers.get(name).and_then(|v| v.to_str().ok());
        value.ok_or(Refusal::BadSignature)
    }
    let sent = value(headers, signature::GRAFANA_HEADER)?;
    let timestamp = match timestamp_header {
        Some(name) => Some(value(headers, name)?),
        None => None,
    };
    if signature::grafana_is_valid(secret, timestamp, body, sent) {
        Ok(())
    } else {
        Err(Refusal::BadSignature)
    }
}
