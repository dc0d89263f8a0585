//! The arguments of most admin form handlers in one: who posts (role checked), the
//! route's path parameters, and the form with its CSRF token, read in that order.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::http::extract::{AsResponder, CsrfForm, Path, RoleGate, Staff};

/// A form of type `F` posted by staff whose role allows `R` to a route whose path
/// parameters are `P`.
pub(crate) struct Posted<P, F, R = AsResponder> {
    pub s: Staff<R>,
    pub at: P,
    pub form: F,
}

impl<P, F, R> FromRequest<AppState> for Posted<P, F, R>
where
    P: DeserializeOwned + Send,
    F: DeserializeOwned + Send,
    R: RoleGate + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let s = Staff::<R>::from_request_parts(&mut parts, state).await?;
        let Path(at) = Path::<P>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let CsrfForm(form) = CsrfForm::<F>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Posted { s, at, form })
    }
}
