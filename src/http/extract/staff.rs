//! The callers of write handlers, with their role checked before the body is read: a
//! signed-in browser user ([`Staff`]) or an API token ([`Caller`]), each with the state a
//! handler needs to answer.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use sqlx::{Postgres, Transaction};

use super::{ApiUser, CsrfForm, CurrentUser, EmptyForm};
use crate::accounts::users::UserRow;
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::session::redirect_with_flash;

/// What a caller's role must allow.
pub trait RoleGate {
    const ROLE: Role;
}

/// Anyone signed in (or any valid token): viewers, responders and admins.
pub struct AsViewer;
impl RoleGate for AsViewer {
    const ROLE: Role = Role::Viewer;
}

/// Responders and admins.
pub struct AsResponder;
impl RoleGate for AsResponder {
    const ROLE: Role = Role::Responder;
}

/// Admins only.
pub struct AsAdmin;
impl RoleGate for AsAdmin {
    const ROLE: Role = Role::Admin;
}

/// A button's form: nothing but its CSRF token.
pub type Button = CsrfForm<EmptyForm>;

/// A signed-in browser user whose role allows `R::ROLE`, with the state and the cookies
/// the page or redirect is made with. Not signed in: off to the sign-in page; a role that
/// does not allow it: 403, before any body is read.
pub struct Staff<R = AsViewer> {
    pub state: AppState,
    pub user: CurrentUser,
    pub jar: CookieJar,
    role: PhantomData<R>,
}

impl<R> Staff<R> {
    /// The signed-in user's id, as commands record the actor.
    pub fn id(&self) -> uuid::Uuid {
        self.user.user.id
    }

    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, AppError> {
        Ok(self.state.pool.begin().await?)
    }

    /// Redirect (303) to `to` with a message shown once there.
    pub fn flash(&self, to: &str, message: &str) -> Response {
        redirect_with_flash(&self.state, to, message)
    }

    /// Commit the handler's transaction, then redirect with a message.
    pub async fn commit_and_flash(
        &self,
        tx: Transaction<'static, Postgres>,
        to: &str,
        message: &str,
    ) -> Result<Response, AppError> {
        tx.commit().await?;
        Ok(self.flash(to, message))
    }
}

impl<R: RoleGate> FromRequestParts<AppState> for Staff<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user = CurrentUser::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        user.require(R::ROLE).map_err(IntoResponse::into_response)?;
        Ok(Staff {
            state: state.clone(),
            user,
            jar: CookieJar::from_headers(&parts.headers),
            role: PhantomData,
        })
    }
}

/// An API caller whose role allows `R::ROLE`, checked from the headers, so a refused
/// role is a 403 before any body is read or validated.
pub struct Caller<R = AsViewer> {
    pub state: AppState,
    pub user: UserRow,
    role: PhantomData<R>,
}

impl<R> Caller<R> {
    pub fn id(&self) -> uuid::Uuid {
        self.user.id
    }

    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, AppError> {
        Ok(self.state.pool.begin().await?)
    }
}

impl<R: RoleGate> FromRequestParts<AppState> for Caller<R> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = ApiUser::from_request_parts(parts, state).await?;
        caller.require(R::ROLE)?;
        Ok(Caller {
            state: state.clone(),
            user: caller.0,
            role: PhantomData,
        })
    }
}
