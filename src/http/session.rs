//! Session and CSRF cookies, and flash messages carried across a redirect.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use time::Duration;

use crate::app::AppState;
use crate::auth::random_token;

pub const SESSION_COOKIE: &str = "fireline_session";
/// Before sign-in there is no session to bind a CSRF token to; this cookie holds one.
pub const ANON_CSRF_COOKIE: &str = "fireline_csrf";
pub const FLASH_COOKIE: &str = "fireline_flash";

fn base_cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies())
        .build()
}

/// The session cookie. No Max-Age: the server decides when a session ends.
pub fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    base_cookie(state, SESSION_COOKIE, token)
}

pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut cookie = base_cookie(state, name, String::new());
    cookie.set_max_age(Duration::ZERO);
    cookie
}

/// The anonymous CSRF token from the cookie, or a new one and the cookie to set.
pub fn anon_csrf(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(ANON_CSRF_COOKIE) {
        Some(cookie) if !cookie.value().is_empty() => {
            let token = cookie.value().to_owned();
            (jar, token)
        }
        _ => {
            let token = random_token("");
            let mut cookie = base_cookie(state, ANON_CSRF_COOKIE, token.clone());
            cookie.set_max_age(Duration::hours(12));
            (jar.add(cookie), token)
        }
    }
}

/// The flash message of the previous redirect, if any.
pub fn take_flash(jar: &CookieJar) -> Option<String> {
    jar.get(FLASH_COOKIE)
        .map(|c| c.value().to_owned())
        .and_then(|v| {
            url::form_urlencoded::parse(format!("m={v}").as_bytes())
                .next()
                .map(|(_, m)| m.into_owned())
        })
        .filter(|m| !m.is_empty())
}

/// Redirect (303, so a POST becomes a GET) with a message shown once on the next page.
pub fn redirect_with_flash(state: &AppState, to: &str, message: &str) -> Response {
    let encoded: String = url::form_urlencoded::byte_serialize(message.as_bytes()).collect();
    let mut cookie = base_cookie(state, FLASH_COOKIE, encoded);
    cookie.set_max_age(Duration::minutes(1));
    let mut response = Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
