//! Security headers on every response, the documents served from memory included.
//!
//! A tower layer rather than `axum::middleware::from_fn`: the values are built once
//! (`const` header values) and the response future is not boxed, so the status page's
//! hot path gains no allocation.

use axum::http::{header, HeaderMap, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tower::{Layer, Service};

/// Pages: their own scripts, styles, images (the logo) and forms, and nothing else; not
/// framed by other sites.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Everything that is not a page (JSON, feeds, CSS, scripts, images, empty bodies): a
/// browser that renders one anyway may load and run nothing.
pub const CSP_DOCUMENT: &str = "default-src 'none'; frame-ancestors 'none'";

const PAGE_POLICY: HeaderValue = HeaderValue::from_static(CSP);
const DOCUMENT_POLICY: HeaderValue = HeaderValue::from_static(CSP_DOCUMENT);
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
const REFERRER: HeaderValue = HeaderValue::from_static("strict-origin-when-cross-origin");
const DENY: HeaderValue = HeaderValue::from_static("DENY");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// Paths whose pages must never be cached: everything a signed-in person sees.
fn is_private(path: &str) -> bool {
    ["/admin", "/login", "/logout", "/setup"].iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// Set the headers on one response. A policy or frame rule a handler set itself is
/// kept, except on private pages, which always get the strict set.
fn apply(headers: &mut HeaderMap, private: bool, hsts: bool) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    headers.insert(header::REFERRER_POLICY, REFERRER);
    if private {
        headers.insert(header::CONTENT_SECURITY_POLICY, PAGE_POLICY);
        headers.insert(header::X_FRAME_OPTIONS, DENY);
        headers.insert(header::CACHE_CONTROL, NO_STORE);
    } else {
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            let policy = if is_html(headers) {
                PAGE_POLICY
            } else {
                DOCUMENT_POLICY
            };
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        if !headers.contains_key(header::X_FRAME_OPTIONS) {
            headers.insert(header::X_FRAME_OPTIONS, DENY);
        }
    }
    if hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
}

/// Adds the security headers to every response of the service it wraps.
#[derive(Clone, Copy, Debug)]
pub struct SecurityHeadersLayer {
    hsts: bool,
}

impl SecurityHeadersLayer {
    /// `hsts`: also send Strict-Transport-Security (when served over HTTPS).
    pub fn new(hsts: bool) -> Self {
        SecurityHeadersLayer { hsts }
    }
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeaders {
            inner,
            hsts: self.hsts,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SecurityHeaders<S> {
    inner: S,
    hsts: bool,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SecurityHeaders<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        ResponseFuture {
            private: is_private(req.uri().path()),
            hsts: self.hsts,
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    /// The wrapped service's response, with the headers added.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        private: bool,
        hsts: bool,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        apply(response.headers_mut(), *this.private, *this.hsts);
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_and_sign_in_pages_are_private_and_the_status_page_is_not() {
        assert!(is_private("/admin"));
        assert!(is_private("/admin/users"));
        assert!(is_private("/login"));
        assert!(!is_private("/"));
        assert!(!is_private("/administrator-notes"));
        assert!(!is_private("/api/v2/summary.json"));
    }

    /// A response's headers with one header set by the handler, once `apply` has run.
    fn applied(set: (header::HeaderName, HeaderValue), private: bool, hsts: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(set.0, set.1);
        apply(&mut headers, private, hsts);
        headers
    }

    #[test]
    fn a_page_gets_the_page_policy_and_anything_else_the_strict_one() {
        let html = HeaderValue::from_static("text/html; charset=utf-8");
        let page = applied((header::CONTENT_TYPE, html), false, false);
        assert_eq!(page[header::CONTENT_SECURITY_POLICY], CSP);
        assert_eq!(page[header::X_FRAME_OPTIONS], "DENY");
        assert!(!page.contains_key(header::STRICT_TRANSPORT_SECURITY));

        let json_type = HeaderValue::from_static("application/json");
        let json = applied((header::CONTENT_TYPE, json_type), false, true);
        assert_eq!(json[header::CONTENT_SECURITY_POLICY], CSP_DOCUMENT);
        assert_eq!(json[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(json[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
    }

    #[test]
    fn a_handlers_own_policy_is_kept_on_public_paths_but_not_on_private_ones() {
        let own = HeaderValue::from_static("default-src 'self'; frame-ancestors *");
        let public = applied((header::CONTENT_SECURITY_POLICY, own.clone()), false, false);
        assert_eq!(public[header::CONTENT_SECURITY_POLICY], own);

        let private = applied((header::CONTENT_SECURITY_POLICY, own), true, false);
        assert_eq!(private[header::CONTENT_SECURITY_POLICY], CSP);
        assert_eq!(private[header::CACHE_CONTROL], "no-store");
    }
}
