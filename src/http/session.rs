//! Session and CSRF cookies, and flash messages carried across a redirect.

use crate::platform::server_secrets;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use time::{Duration, OffsetDateTime};

use crate::app::AppState;
use crate::http::error::AppError;
use crate::platform::secret::random_token;
use crate::platform::signed::SigningKey;

pub const SESSION_COOKIE: &str = "fireline_session";
/// Before sign-in there is no session to bind a CSRF token to; this cookie holds one,
/// signed by the server so that a cookie planted by a sibling subdomain is not taken.
pub const ANON_CSRF_COOKIE: &str = "fireline_csrf";
/// Its name behind https: a `__Host-` cookie can only be set by this very host.
pub const ANON_CSRF_HOST_COOKIE: &str = "__Host-fireline_csrf";
pub const FLASH_COOKIE: &str = "fireline_flash";
/// How long an anonymous CSRF cookie is good for (the browser is told, and the server checks).
const ANON_CSRF_MAX_AGE: Duration = Duration::hours(12);
const ANON_CSRF_KEY: &str = "anon_csrf";

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

/// The anonymous CSRF cookie's name: `__Host-` prefixed when cookies are Secure.
pub fn anon_csrf_cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        ANON_CSRF_HOST_COOKIE
    } else {
        ANON_CSRF_COOKIE
    }
}

async fn anon_csrf_key(state: &AppState) -> Result<&SigningKey, AppError> {
    let key = state
        .anon_csrf_key
        .get_or_try_init(|| async {
            let secret =
                server_secrets::get_or_create(&state.pool, ANON_CSRF_KEY, &SigningKey::generate())
                    .await?;
            Ok::<_, sqlx::Error>(SigningKey::new(secret))
        })
        .await?;
    Ok(key)
}

/// The tokens of every signed, unexpired anonymous CSRF cookie the request carries (a
/// planted cookie of the same name may come along with ours).
pub async fn anon_csrf_tokens(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Vec<String>, AppError> {
    let name = anon_csrf_cookie_name(state);
    let values: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            Cookie::split_parse(v)
                .filter_map(Result::ok)
                .collect::<Vec<_>>()
        })
        .filter(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .collect();
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let key = anon_csrf_key(state).await?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Ok(values
        .iter()
        .filter_map(|v| key.verify_anon_csrf(v, now, ANON_CSRF_MAX_AGE.whole_seconds()))
        .collect())
}

/// The anonymous CSRF token from a valid cookie, or a new one and the cookie to set.
pub async fn anon_csrf(state: &AppState, jar: CookieJar) -> Result<(CookieJar, String), AppError> {
    let key = anon_csrf_key(state).await?;
    let name = anon_csrf_cookie_name(state);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let valid = jar
        .get(name)
        .and_then(|c| key.verify_anon_csrf(c.value(), now, ANON_CSRF_MAX_AGE.whole_seconds()));
    if let Some(token) = valid {
        return Ok((jar, token));
    }
    let token = random_token("");
    let mut cookie = base_cookie(state, name, key.sign_anon_csrf(&token, now));
    cookie.set_max_age(ANON_CSRF_MAX_AGE);
    Ok((jar.add(cookie), token))
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
