//! The Healthchecks ping API: `HEAD|GET|POST /ping/{uuid}` and `/ping/{uuid}/start`,
//! `/fail`, `/log` or `/{exit_status}`, with an optional `?rid=` pairing a start with its
//! finish. Answers are Healthchecks' own (`200 OK`, `404 not found`, `400` for a bad
//! `rid`), in plain text, open to every origin, so clients, cron wrappers and libraries
//! work with only their base URL changed.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{read_body, Refusal, DATABASE_WAIT};
use crate::app::AppState;
use crate::http::extract::ClientIp;
use crate::monitors::pings::{self, Ping};

/// The largest ping body read (the first [`pings::BODY_MAX`] bytes are kept).
const PING_MAX_BODY: usize = 1024 * 1024;

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// A success ping.
pub async fn ping(
    state: State<AppState>,
    Path(key): Path<String>,
    method: Method,
    query: Query<HashMap<String, String>>,
    addr: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, (key, None), method, query, addr, headers, body).await
}

/// A start, fail, log or exit-status ping.
pub async fn ping_action(
    state: State<AppState>,
    Path((key, action)): Path<(String, String)>,
    method: Method,
    query: Query<HashMap<String, String>>,
    addr: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(
        state,
        (key, Some(action)),
        method,
        query,
        addr,
        headers,
        body,
    )
    .await
}

async fn receive(
    State(state): State<AppState>,
    (key, action): (String, Option<String>),
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    addr: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(key) = Uuid::parse_str(&key) else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    let Some((kind, exit_status)) = Ping::kind_of(action.as_deref()) else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    let rid = match query.get("rid").map(|r| Uuid::parse_str(r.trim())) {
        None => None,
        Some(Ok(rid)) => Some(rid),
        Some(Err(_)) => return text(StatusCode::BAD_REQUEST, "invalid uuid format"),
    };
    let body = match read_body(&headers, body, PING_MAX_BODY).await {
        Ok(body) => body,
        Err(Refusal::TooLarge) => {
            return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
        }
        Err(_) => return text(StatusCode::BAD_REQUEST, "the body could not be read"),
    };
    let ping = Ping {
        kind,
        exit_status,
        rid,
        method: method.as_str().to_owned(),
        remote_addr: Some(addr.0),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect()),
        body: pings::kept_body(&body),
    };
    let recorded = async {
        let mut tx = state.pool.begin().await?;
        let state = pings::record(&mut tx, key, ping, OffsetDateTime::now_utc()).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(state)
    };
    match tokio::time::timeout(DATABASE_WAIT, recorded).await {
        Ok(Ok(Some(_))) => text(StatusCode::OK, "OK"),
        Ok(Ok(None)) => text(StatusCode::NOT_FOUND, "not found"),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "recording a heartbeat ping failed");
            text(StatusCode::SERVICE_UNAVAILABLE, "try again later")
        }
        Err(_) => {
            tracing::warn!("recording a heartbeat ping took too long");
            text(StatusCode::SERVICE_UNAVAILABLE, "try again later")
        }
    }
}
