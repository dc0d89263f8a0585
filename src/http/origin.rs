//! Cross-site request refusal: a state-changing browser request must come from our own
//! pages. Browsers say where a request comes from in `Sec-Fetch-Site` (modern ones) and
//! `Origin`; requests with neither (older clients, curl) rest on the CSRF token alone.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::http::error::AppError;

/// Refuse a POST, PUT, PATCH or DELETE that carries cookies and comes from another site.
/// The bearer-token API (`/api/`) takes no cookies and is not checked.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let changes_state = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if changes_state
        && req.headers().contains_key(header::COOKIE)
        && !req.uri().path().starts_with("/api/")
    {
        if let Some(from) = cross_site(req.headers(), &state.settings.base_url) {
            tracing::info!(from = %from, path = %req.uri().path(), "refused a cross-site request");
            return Err(AppError::Forbidden(format!(
                "This form was sent from {from}, not from this site's own pages, so it was \
                 refused (a cross-site request could act in your name). Open {} yourself \
                 and try again there.",
                state.settings.base_url
            )));
        }
    }
    Ok(next.run(req).await)
}

/// Where a request comes from when that is not this site, judged by `Sec-Fetch-Site`
/// when the browser sends it, and otherwise by `Origin` against the base URL's origin.
fn cross_site(headers: &HeaderMap, base_url: &str) -> Option<String> {
    if let Some(site) = headers.get("sec-fetch-site") {
        // `none`: the person typed the address or used a bookmark.
        return match site.to_str().unwrap_or("") {
            "same-origin" | "none" => None,
            "same-site" => Some("another site on the same domain".into()),
            _ => Some("another site".into()),
        };
    }
    let origin = headers.get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or("");
    let ours = url::Url::parse(base_url).ok().map(|u| u.origin());
    let theirs = url::Url::parse(origin).ok().map(|u| u.origin());
    match (ours, theirs) {
        (Some(ours), Some(theirs)) if ours == theirs && ours.is_tuple() => None,
        _ => Some(if origin.is_empty() || origin == "null" {
            "a page that hides its origin".to_owned()
        } else {
            origin.chars().take(100).collect()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn from(pairs: &[(&'static str, &'static str)]) -> Option<String> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        cross_site(&headers, "https://status.example.com")
    }

    #[test]
    fn same_origin_requests_and_those_that_do_not_say_pass() {
        assert_eq!(from(&[]), None);
        assert_eq!(from(&[("sec-fetch-site", "same-origin")]), None);
        assert_eq!(from(&[("sec-fetch-site", "none")]), None);
        assert_eq!(from(&[("origin", "https://status.example.com")]), None);
        assert_eq!(from(&[("origin", "https://STATUS.example.com:443")]), None);
        // The browser's word on the request's own origin counts, whatever the base URL.
        assert_eq!(
            from(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://10.0.0.5:8080")
            ]),
            None
        );
    }

    #[test]
    fn other_sites_sibling_subdomains_and_hidden_origins_are_refused() {
        assert!(from(&[("sec-fetch-site", "cross-site")]).is_some());
        assert!(from(&[("sec-fetch-site", "same-site")]).is_some());
        assert!(from(&[("sec-fetch-site", "something-new")]).is_some());
        assert_eq!(
            from(&[("origin", "https://evil.example")]).as_deref(),
            Some("https://evil.example")
        );
        assert!(from(&[("origin", "https://blog.example.com")]).is_some());
        assert!(from(&[("origin", "http://status.example.com")]).is_some());
        assert!(from(&[("origin", "https://status.example.com:8443")]).is_some());
        assert!(from(&[("origin", "null")]).is_some());
        assert!(from(&[("origin", "not a url")]).is_some());
    }
}
