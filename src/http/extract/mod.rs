//! Extractors: who is asking (session or token), the client address, and request bodies
//! whose rejections come back in our error format.

mod body;
mod staff;

pub use body::{parse_json, CsrfForm, Form, Json, OptionalJson, Path, Query};
pub use staff::{AsAdmin, AsResponder, AsViewer, Button, Caller, RoleGate, Staff};

use crate::accounts::sessions;
use crate::accounts::tokens;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use std::net::SocketAddr;

use super::session::SESSION_COOKIE;
use crate::accounts::users::UserRow;
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::platform::secret::hash_token;

/// The signed-in user of a browser session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: UserRow,
    pub csrf_token: String,
}

impl CurrentUser {
    /// Refuse unless the user's role allows what `needed` allows.
    pub fn require(&self, needed: Role) -> Result<(), AppError> {
        if self.user.role.allows(needed) {
            Ok(())
        } else {
            Err(AppError::forbidden_role())
        }
    }

    pub fn can(&self, needed: Role) -> bool {
        self.user.role.allows(needed)
    }
}

/// The session user if there is one. Looked up once per request.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(found) = parts.extensions.get::<MaybeUser>() {
            return Ok(found.clone());
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let found = match jar.get(SESSION_COOKIE) {
            None => None,
            Some(cookie) => {
                let id_hash = hash_token(cookie.value());
                let row =
                    sessions::find_live(&state.pool, &id_hash, state.settings.session_idle).await?;
                if let Some(row) = row {
                    sessions::touch(&state.pool, &id_hash).await?;
                    Some(CurrentUser {
                        user: row.user,
                        csrf_token: row.csrf_token,
                    })
                } else {
                    None
                }
            }
        };
        let found = MaybeUser(found);
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}

/// Not signed in: off to the sign-in page, coming back here afterwards.
pub struct SignInRedirect(Response);

impl IntoResponse for SignInRedirect {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = SignInRedirect;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, SignInRedirect> {
        match MaybeUser::from_request_parts(parts, state).await {
            Ok(MaybeUser(Some(user))) => Ok(user),
            Ok(MaybeUser(None)) => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|pq| pq.as_str())
                    .unwrap_or("/admin");
                let encoded: String =
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Err(SignInRedirect(
                    Redirect::to(&format!("/login?next={encoded}")).into_response(),
                ))
            }
            Err(err) => Err(SignInRedirect(err.into_response())),
        }
    }
}

/// The user an API token (`Authorization: Bearer ...`) belongs to.
#[derive(Debug, Clone)]
pub struct ApiUser(pub UserRow);

impl ApiUser {
    pub fn require(&self, needed: Role) -> Result<(), AppError> {
        if self.0.role.allows(needed) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "This token acts as a {}; this needs the {} role.",
                self.0.role, needed
            )))
        }
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(AppError::Unauthenticated(
                "Send an API token in the header `Authorization: Bearer <token>`.".into(),
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                AppError::BadRequest("The Authorization header must be `Bearer <token>`.".into())
            })?;
        match tokens::authenticate(&state.pool, &hash_token(token)).await? {
            Some(user) => Ok(ApiUser(user)),
            None => Err(AppError::Unauthenticated(
                "This token is not valid: it is unknown, revoked, or its user is disabled.".into(),
            )),
        }
    }
}

/// The client's address: the TCP peer, or the first X-Forwarded-For entry when the
/// server is told to trust its proxy.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.settings.trust_proxy {
            // The rightmost entry is the one our proxy added; the others are the client's word.
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty());
            if let Some(ip) = forwarded {
                return Ok(ClientIp(ip.chars().take(64).collect()));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(ClientIp(peer))
    }
}

/// The body of a form that is only a button: nothing but its CSRF token.
#[derive(Debug, serde::Deserialize)]
pub struct EmptyForm {}
