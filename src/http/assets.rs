//! Static files, compiled into the binary so it runs from any directory.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::Path;

const FILES: [(&str, &str, &[u8]); 6] = [
    (
        "status.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/status.css"),
    ),
    (
        "status.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/status.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
    (
        "favicon.ico",
        "image/x-icon",
        include_bytes!("../../static/favicon.ico"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{file}", get(static_file))
        // Browsers ask for it at the root whatever the page links to.
        .route("/favicon.ico", get(favicon))
}

async fn static_file(Path(file): Path<String>) -> Result<Response, AppError> {
    serve_file(&file)
}

async fn favicon() -> Result<Response, AppError> {
    serve_file("favicon.ico")
}

fn serve_file(file: &str) -> Result<Response, AppError> {
    let Some((_, content_type, bytes)) = FILES.iter().find(|(name, _, _)| *name == file) else {
        return Err(AppError::NotFound(format!(
            "There is no static file {file:?}."
        )));
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // URLs carry the version (`?v=`), so a new release is fetched anew.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(response)
}
