//! PagerDuty's endpoints, answered as PagerDuty does: `POST /v2/enqueue` (Events API v2,
//! the key is the `routing_key`) and `POST /generic/2010-04-15/create_event.json` (v1,
//! the `service_key`). Anything that can page PagerDuty and lets its URL be set pages
//! Fireline.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::answer::{self, PagerdutyVersion};
use super::{count, open, read_body, store, Refusal, PAGERDUTY_MAX_BODY};
use crate::alerts::intake::pagerduty::{self, Enqueued};
use crate::alerts::intake::IntakeError;
use crate::alerts::{AlertFormat, IntegrationKind};
use crate::app::AppState;

/// Events API v2.
pub async fn enqueue_v2(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    receive(state, PagerdutyVersion::V2, headers, body).await
}

/// The generic v1 endpoint.
pub async fn create_event_v1(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, PagerdutyVersion::V1, headers, body).await
}

/// One of the two parsers.
type Parser = fn(&[u8]) -> Result<Enqueued, IntakeError>;

async fn receive(
    state: AppState,
    version: PagerdutyVersion,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (format, parse): (_, Parser) = match version {
        PagerdutyVersion::V2 => (AlertFormat::PagerdutyV2, pagerduty::parse_v2),
        PagerdutyVersion::V1 => (AlertFormat::PagerdutyV1, pagerduty::parse_v1),
    };
    let result = async {
        let body = read_body(&headers, body, PAGERDUTY_MAX_BODY).await?;
        let event = parse(&body).map_err(Refusal::Invalid)?;
        let integration = open(&state, &event.key, IntegrationKind::Pagerduty).await?;
        store(&state, integration, &event.delivery).await?;
        Ok(event.dedup_key)
    }
    .await;
    count(&state, format, &result);
    answer::pagerduty(version, result)
}
