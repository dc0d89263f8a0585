//! Layers of our own: error rendering and request metrics (security headers: see
//! `security_headers`).

use askama::Template;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

use crate::app::AppState;
use crate::http::error::Problem;
use crate::platform::metrics::{RequestLabels, RouteLabels};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page_name: &'a str,
    status: u16,
    title: &'a str,
    detail: &'a str,
    request_id: &'a str,
    errors: Vec<(String, String)>,
}

/// Give every error the format its client reads: problem+json under `/api/`, an HTML page
/// elsewhere; with the request id. Server errors are logged here, once, with their detail.
pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut response = next.run(req).await;
    let problem = match response.extensions_mut().remove::<Problem>() {
        Some(problem) => problem,
        // Errors made by layers (timeout, body limit, no route) come without a body.
        None if response.status().is_client_error() || response.status().is_server_error() => {
            if response.headers().contains_key(header::CONTENT_TYPE) {
                return response;
            }
            Problem::from_status(response.status())
        }
        None => return response,
    };
    let mut problem = problem;
    if let Some(internal) = problem.internal.take() {
        tracing::error!(error = %internal, status = problem.status, "request failed");
    }
    if !request_id.is_empty() {
        problem.request_id = Some(request_id.clone());
    }
    let mut rendered = if api {
        problem.to_json_response()
    } else {
        let errors = problem
            .errors
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let page = ErrorPage {
            page_name: &state.settings.page_name,
            status: problem.status,
            title: &problem.title,
            detail: &problem.detail,
            request_id: &request_id,
            errors,
        };
        match page.render() {
            Ok(html) => (problem.status_code(), axum::response::Html(html)).into_response(),
            Err(_) => problem.to_json_response(),
        }
    };
    copy_headers(response.headers(), rendered.headers_mut());
    rendered
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE, header::ALLOW] {
        if let Some(value) = from.get(&name) {
            to.insert(name, value.clone());
        }
    }
    for value in from.get_all(header::SET_COOKIE) {
        to.append(header::SET_COOKIE, value.clone());
    }
}

/// The method as a metrics label: the standard ones by name, any other (a client may
/// send any token) as `other`, so that the label sets stay few.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Count requests by matched route (never the raw path) and status, and time them.
pub async fn track_metrics(
    State(state): State<AppState>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(req.method()).to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(req).await;
    let status = response.status();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status: status.as_u16(),
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Turn a panic inside a handler into a plain 500 that `render_errors` dresses up.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(panic = %message, "a handler panicked");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}
