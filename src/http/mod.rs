//! The HTTP layer: one folder per area, each owning its `router()`.

mod ack;
mod admin;
pub(crate) mod api;
mod assets;
mod auth;
pub mod error;
pub mod extract;
mod ingest;
pub mod middleware;
mod ops;
mod origin;
pub mod page;
mod public;
mod security_headers;
pub mod session;
mod stream;
pub mod zone;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::Router;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::http::error::AppError;
use middleware::REQUEST_ID;
use security_headers::SecurityHeadersLayer;

/// Largest request body accepted (postmortems are the longest documents).
pub const BODY_LIMIT: usize = 1024 * 1024;
/// A request that takes longer is answered with 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(ops::router())
        .merge(assets::router())
        .merge(auth::router())
        .merge(
            admin::router()
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    page::nav_counts,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    zone::reader_zone,
                )),
        )
        .merge(api::router())
        .route("/history", axum::routing::get(public::show_history))
        .route("/incidents/{id}", axum::routing::get(public::show_incident))
        .merge(public::subscribe_router())
        .merge(public::email_router())
        .merge(ack::router())
        .fallback(|| async { AppError::NotFound("There is nothing at this address.".into()) });

    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span::<axum::body::Body>)
        // Every response at debug (the status page is reloaded by the thousand); errors
        // at info and above.
        .on_response(
            |response: &axum::http::Response<_>, latency: Duration, _span: &tracing::Span| {
                let status = response.status().as_u16();
                let ms = latency.as_millis() as u64;
                if status >= 500 {
                    tracing::warn!(status, latency_ms = ms, "request failed");
                } else if status >= 400 {
                    tracing::info!(status, latency_ms = ms, "request refused");
                } else {
                    tracing::debug!(status, latency_ms = ms, "request served");
                }
            },
        );

    // Innermost first: panics, timeouts and oversized bodies become bare error responses
    // that the error middleware dresses in the client's format.
    let full = routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::refuse_cross_site,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::render_errors,
        ));

    // The documents served from memory take a short path: they cannot hang, panic or
    // fail, set their own headers (see `public::respond`), and are counted and given a
    // request id like everything else.
    let cached = public::cached_router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::track_metrics,
        ))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID));
    let full = full
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::track_metrics,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    axum::http::header::AUTHORIZATION,
                    axum::http::header::COOKIE,
                ]))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        );
    // Outermost, over both paths: every response, errors and 304s included.
    let secure = state.settings.secure_cookies();
    cached
        .merge(ingest::router(state.clone()))
        .merge(full)
        .layer(SecurityHeadersLayer::new(secure))
        .with_state(state)
}

/// The span of one request: method, the route as declared (`/admin/incidents/{number}`),
/// never the raw path (it names every request alike and carries no ids or keys of its
/// own), and the request id.
pub(crate) fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(no route)", |m| m.as_str());
    tracing::info_span!(
        "request",
        method = %req.method(),
        route = %route,
        request_id = %request_id,
    )
}

/// Serve `router` on `listener` until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
