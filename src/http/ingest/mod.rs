//! The doors monitoring tools send alerts to, each speaking its tool's own format:
//! Alertmanager and Grafana webhooks, PagerDuty Events v2 and v1, and generic JSON; and
//! the heartbeats' pings (the Healthchecks API).
//!
//! Intake is cheap: read the body (capped), find the integration by its key, parse with
//! the pure parser, store the delivery in the intake queue, answer. Grouping happens
//! later, in `alerts::process`. Every answer is in the format's own shape (so these
//! routes have no HTML error pages and no origin check), and none is a 500: a database
//! that is slow or gone gets the format's overload answer, which its sender retries.

mod alertmanager;
mod answer;
mod generic;
mod pagerduty;
mod ping;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures_util::StreamExt;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::alerts::intake::{Delivery, IntakeError};
use crate::alerts::integrations::LiveIntegration;
use crate::alerts::queue::writer::NotStored;
use crate::alerts::{keys, AlertFormat, IntegrationKind};
use crate::app::AppState;
use crate::http::middleware::{self, REQUEST_ID};
use crate::platform::metrics::IntakeLabels;

/// The largest Alertmanager or Grafana body taken (a whole group of alerts).
pub const WEBHOOK_MAX_BODY: usize = 4 * 1024 * 1024;
/// PagerDuty's own limit on an event.
pub const PAGERDUTY_MAX_BODY: usize = 512 * 1024;
/// The largest generic JSON body taken.
pub const GENERIC_MAX_BODY: usize = 512 * 1024;
/// The longest the database may take to find a key or store a delivery before the
/// sender is told to come back later.
const DATABASE_WAIT: Duration = Duration::from_secs(2);
/// A request that takes longer is answered as overloaded (senders retry 5xx).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The ingest routes with their own layers (request id, span, metrics, timeout).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/ingest/{key}/alertmanager",
            post(alertmanager::alertmanager_with_key),
        )
        .route(
            "/ingest/alertmanager",
            post(alertmanager::alertmanager_with_header),
        )
        .route(
            "/ingest/{key}/grafana",
            post(alertmanager::grafana_with_key),
        )
        .route("/ingest/grafana", post(alertmanager::grafana_with_header))
        .route("/ingest/{key}/generic", post(generic::generic_with_key))
        .route("/ingest/generic", post(generic::generic_with_header))
        .route("/v2/enqueue", post(pagerduty::enqueue_v2))
        .route("/ping/{key}", get(ping::ping).post(ping::ping))
        .route(
            "/ping/{key}/{action}",
            get(ping::ping_action).post(ping::ping_action),
        )
        .route(
            "/generic/2010-04-15/create_event.json",
            post(pagerduty::create_event_v1),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            middleware::track_metrics,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                ]))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(crate::http::request_span))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
}

/// Why a delivery was not taken.
#[derive(Debug)]
pub enum Refusal {
    /// No key, a key of no integration, or of an integration of another kind.
    Unauthorized,
    /// The body is not a valid delivery in the door's format.
    Invalid(IntakeError),
    TooLarge,
    /// A Grafana delivery without the signature its integration requires, or with a
    /// wrong one.
    BadSignature,
    /// The database is slow or unreachable: come back later.
    Overloaded,
}

impl Refusal {
    fn outcome(&self) -> &'static str {
        match self {
            Refusal::Unauthorized => "unauthorized",
            Refusal::Invalid(IntakeError::UnsupportedVersion(_)) => "unsupported_version",
            Refusal::Invalid(_) => "invalid",
            Refusal::TooLarge => "too_large",
            Refusal::BadSignature => "bad_signature",
            Refusal::Overloaded => "overloaded",
        }
    }
}

/// Count a request to a door.
fn count<T>(state: &AppState, format: AlertFormat, result: &Result<T, Refusal>) {
    let outcome = match result {
        Ok(_) => "accepted",
        Err(refusal) => refusal.outcome(),
    };
    let labels = IntakeLabels {
        format: format.as_str().to_owned(),
        outcome: outcome.to_owned(),
    };
    state.metrics.alert_intake.get_or_create(&labels).inc();
}

/// The body, at most `cap` bytes (by its `Content-Length`, then as it is read).
async fn read_body(headers: &HeaderMap, body: Body, cap: usize) -> Result<Vec<u8>, Refusal> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(Refusal::TooLarge);
    }
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            Refusal::Invalid(IntakeError::Malformed("the body could not be read".into()))
        })?;
        if bytes.len() + chunk.len() > cap {
            return Err(Refusal::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The key of `Authorization: Bearer <key>`, or the password of `Basic`.
fn key_from_headers(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(rest.to_owned())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        decoded
            .split_once(':')
            .map(|(_, password)| password.to_owned())
    } else {
        None
    }
}

/// The integration of `kind` that `key` opens.
async fn open(
    state: &AppState,
    key: &str,
    kind: IntegrationKind,
) -> Result<LiveIntegration, Refusal> {
    if !keys::is_well_formed(key) {
        return Err(Refusal::Unauthorized);
    }
    let found = state.integration_keys.lookup(&state.pool, key, kind);
    match tokio::time::timeout(DATABASE_WAIT, found).await {
        Ok(Ok(Some(integration))) => Ok(integration),
        Ok(Ok(None)) => Err(Refusal::Unauthorized),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "looking up an integration key failed");
            Err(Refusal::Overloaded)
        }
        Err(_) => {
            tracing::warn!("looking up an integration key took too long");
            Err(Refusal::Overloaded)
        }
    }
}

/// Queue `delivery` for `integration`; stored when this returns `Ok`.
async fn store(
    state: &AppState,
    integration: LiveIntegration,
    delivery: &Delivery,
) -> Result<(), Refusal> {
    let submitted = state.intake.submit(integration.id, delivery);
    match tokio::time::timeout(DATABASE_WAIT, submitted).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err @ (NotStored::QueueFull | NotStored::Backlog(_)))) => {
            tracing::debug!(error = %err, "refused an alert delivery: overloaded");
            Err(Refusal::Overloaded)
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "storing an alert delivery failed");
            Err(Refusal::Overloaded)
        }
        Err(_) => {
            tracing::warn!("storing an alert delivery took too long");
            Err(Refusal::Overloaded)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_key_is_read_from_bearer_or_from_the_basic_password() {
        let bearer = with_authorization("Bearer abc123");
        assert_eq!(key_from_headers(&bearer).as_deref(), Some("abc123"));
        let basic = with_authorization(&format!("Basic {}", STANDARD.encode("any:abc123")));
        assert_eq!(key_from_headers(&basic).as_deref(), Some("abc123"));
        assert_eq!(key_from_headers(&with_authorization("Token abc")), None);
        assert_eq!(key_from_headers(&HeaderMap::new()), None);
    }
}
