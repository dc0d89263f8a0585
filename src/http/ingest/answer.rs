//! The answers of each door, in its format's own shape: problem+json for Alertmanager,
//! Grafana and generic JSON (overload is a 503 for the webhooks, which do not retry
//! 4xx), PagerDuty's own bodies for its two endpoints.

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Refusal;
use crate::alerts::intake::IntakeError;
use crate::alerts::AlertFormat;
use crate::http::error::Problem;
use crate::http::middleware::REQUEST_ID;

/// How long a sender told to come back later should wait, in seconds.
const RETRY_AFTER: &str = "5";

fn problem(headers: &HeaderMap, status: StatusCode, detail: String) -> Problem {
    Problem {
        request_id: headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        ..Problem::new(status, detail)
    }
}

/// Each message under the field it names (`'alerts[0].labels' is ...`), or `event`.
fn by_field(messages: &[String]) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    for (i, message) in messages.iter().enumerate() {
        let named = message
            .strip_prefix('\'')
            .and_then(|rest| rest.split_once('\''))
            .map(|(field, _)| field.to_owned());
        let mut field = named.unwrap_or_else(|| "event".to_owned());
        if errors.contains_key(&field) {
            field = format!("{field}#{i}");
        }
        errors.insert(field, message.clone());
    }
    errors
}

fn with_header(mut response: Response, name: header::HeaderName, value: &'static str) -> Response {
    response
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
    response
}

/// A refusal as problem+json; `invalid_status`: the status of a body with bad fields
/// (400 for the webhooks, 422 for generic JSON), `overloaded`: 503 or 429.
fn refused(
    headers: &HeaderMap,
    refusal: Refusal,
    version: &str,
    invalid_status: StatusCode,
    overloaded: StatusCode,
) -> Response {
    let p = match refusal {
        Refusal::Unauthorized => {
            let detail = "The integration key is missing or not valid for this address.";
            let p = problem(headers, StatusCode::UNAUTHORIZED, detail.into());
            let response = p.to_json_response();
            return with_header(response, header::WWW_AUTHENTICATE, "Bearer");
        }
        Refusal::BadSignature => problem(
            headers,
            StatusCode::UNAUTHORIZED,
            "The X-Grafana-Alerting-Signature header is missing or does not sign this body \
             with the integration's secret."
                .into(),
        ),
        Refusal::TooLarge => problem(
            headers,
            StatusCode::PAYLOAD_TOO_LARGE,
            "The body is larger than this address accepts.".into(),
        ),
        Refusal::Overloaded => {
            let detail = "Fireline cannot take alerts right now; retry later.";
            let response = problem(headers, overloaded, detail.into()).to_json_response();
            return with_header(response, header::RETRY_AFTER, RETRY_AFTER);
        }
        Refusal::Invalid(IntakeError::Malformed(message)) => problem(
            headers,
            StatusCode::BAD_REQUEST,
            format!("The body is not valid JSON of this format: {message}"),
        ),
        Refusal::Invalid(IntakeError::UnsupportedVersion(sent)) => problem(
            headers,
            StatusCode::BAD_REQUEST,
            format!(
                "Unsupported payload version {sent:?}: this address reads version \"{version}\"."
            ),
        ),
        Refusal::Invalid(IntakeError::Invalid(messages)) => {
            let mut p = problem(headers, invalid_status, messages.join("; "));
            p.errors = Some(by_field(&messages));
            p
        }
    };
    p.to_json_response()
}

/// An Alertmanager or Grafana webhook's answer.
pub fn webhook(
    headers: &HeaderMap,
    format: AlertFormat,
    result: Result<usize, Refusal>,
) -> Response {
    let version = if format == AlertFormat::Grafana {
        "1"
    } else {
        "4"
    };
    match result {
        Ok(alerts) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "status": "accepted", "alerts": alerts })),
        )
            .into_response(),
        Err(refusal) => refused(
            headers,
            refusal,
            version,
            StatusCode::BAD_REQUEST,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    }
}

/// A generic JSON delivery's answer.
pub fn generic(headers: &HeaderMap, result: Result<String, Refusal>) -> Response {
    match result {
        Ok(dedup_key) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "status": "accepted", "dedup_key": dedup_key })),
        )
            .into_response(),
        Err(refusal) => refused(
            headers,
            refusal,
            "1",
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::TOO_MANY_REQUESTS,
        ),
    }
}

/// Which of PagerDuty's endpoints answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerdutyVersion {
    V2,
    V1,
}

/// A PagerDuty endpoint's answer, as PagerDuty words it.
pub fn pagerduty(version: PagerdutyVersion, result: Result<String, Refusal>) -> Response {
    let invalid = |errors: Vec<String>| {
        let body = json!({
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": errors,
        });
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    };
    match result {
        Ok(key) => {
            let (status, field) = match version {
                PagerdutyVersion::V2 => (StatusCode::ACCEPTED, "dedup_key"),
                PagerdutyVersion::V1 => (StatusCode::OK, "incident_key"),
            };
            let body = json!({ "status": "success", "message": "Event processed", field: key });
            (status, axum::Json(body)).into_response()
        }
        Err(Refusal::Unauthorized) => invalid(vec![match version {
            PagerdutyVersion::V2 => "Invalid routing key".to_owned(),
            PagerdutyVersion::V1 => "Invalid service key".to_owned(),
        }]),
        Err(Refusal::TooLarge) => invalid(vec!["Event is larger than 512 KB".to_owned()]),
        Err(Refusal::BadSignature) => invalid(vec!["Invalid signature".to_owned()]),
        Err(Refusal::Invalid(IntakeError::Invalid(messages))) => invalid(messages),
        Err(Refusal::Invalid(other)) => invalid(vec![other.to_string()]),
        Err(Refusal::Overloaded) => {
            let body = json!({
                "status": "throttle event",
                "message": "Too many events; retry later.",
            });
            let response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
            with_header(response, header::RETRY_AFTER, RETRY_AFTER)
        }
    }
}
