//! One error type for every handler. It becomes `application/problem+json` (RFC 9457) on
//! `/api` and an HTML page elsewhere; see `http::middleware::render_errors`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        current: Option<Value>,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Validation {
        message: String,
        errors: BTreeMap<String, String>,
    },
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl AppError {
    /// A 422 for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::Validation {
            errors: BTreeMap::from([(field.to_owned(), message.clone())]),
            message,
        }
    }

    pub fn forbidden_role() -> Self {
        AppError::Forbidden("Your role does not allow this.".into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => AppError::NotFound("Not found.".into()),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(error = %err, "the database is unreachable");
                AppError::Unavailable(
                    "The database is not reachable right now, so changes cannot be saved. \
                     Nothing was changed; try again in a moment."
                        .into(),
                )
            }
            other => AppError::Database(other),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        AppError::Internal(err)
    }
}

impl From<crate::accounts::ValidationError> for AppError {
    fn from(err: crate::accounts::ValidationError) -> Self {
        AppError::BadRequest(err.0)
    }
}

impl From<crate::platform::text::FieldError> for AppError {
    fn from(err: crate::platform::text::FieldError) -> Self {
        AppError::field(err.field, err.message)
    }
}

/// What went wrong, attached to the response so the error middleware can render it in
/// the format the client wants, with the request id.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Logged, never sent.
    #[serde(skip)]
    pub internal: Option<String>,
}

impl Problem {
    /// A problem for a bare status (used for responses made by layers, not handlers).
    pub fn from_status(status: StatusCode) -> Self {
        let detail = match status {
            StatusCode::NOT_FOUND => "There is nothing at this address.",
            StatusCode::METHOD_NOT_ALLOWED => "This address does not accept that method.",
            StatusCode::REQUEST_TIMEOUT => "The request took too long and was stopped.",
            StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large.",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                "The request has a content type this address does not accept."
            }
            s if s.is_server_error() => "Something went wrong on our side. It has been logged.",
            _ => "The request could not be handled.",
        };
        Self::new(status, detail.to_owned())
    }

    /// A problem of `status` saying `detail`, with nothing else set.
    pub fn new(status: StatusCode, detail: String) -> Self {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail,
            errors: None,
            current: None,
            request_id: None,
            internal: None,
        }
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The problem document as a response (the API's error format).
    pub fn to_json_response(&self) -> Response {
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut response = (self.status_code(), body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut problem = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            let mut p = Problem::from_status(status);
            p.internal = Some(format!("{self:#}"));
            p
        } else {
            Problem::new(status, self.to_string())
        };
        let mut retry_after = None;
        match self {
            AppError::Validation { errors, .. } => problem.errors = Some(errors),
            AppError::Conflict { current, .. } => problem.current = current,
            AppError::TooManyRequests {
                retry_after: secs, ..
            } => retry_after = Some(secs),
            AppError::Unavailable(_) => retry_after = Some(5),
            _ => {}
        }
        let mut response = problem.to_json_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response.extensions_mut().insert(problem);
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl From<crate::platform::command::CommandError> for AppError {
    fn from(err: crate::platform::command::CommandError) -> Self {
        use crate::platform::command::CommandError;
        match err {
            CommandError::NotFound => {
                AppError::NotFound("There is no such incident, workstream or task.".into())
            }
            CommandError::Conflict { current, .. } => AppError::Conflict {
                message: format!(
                    "{} was changed by someone else (it is now at version {}). Nothing was saved; \
                     review the current values and try again.",
                    current.reference, current.version
                ),
                current: Some(current.snapshot),
            },
            CommandError::Stale { expected, current } => AppError::Conflict {
                message: format!(
                    "It was changed by someone else since version {expected} (it is at version \
                     {current}); nothing was saved. Reload it and make your change again."
                ),
                current: None,
            },
            CommandError::Invalid { field, message } => AppError::field(field, message),
            CommandError::Db(e) => e.into(),
        }
    }
}

impl From<crate::accounts::AccountError> for AppError {
    fn from(err: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError;
        match err {
            AccountError::NoSuchUser => AppError::NotFound("There is no such user.".into()),
            AccountError::NoSuchToken => AppError::NotFound("There is no such token.".into()),
            AccountError::LastAdmin => AppError::Conflict {
                message: crate::accounts::LAST_ADMIN.into(),
                current: None,
            },
            AccountError::Forbidden => AppError::forbidden_role(),
            AccountError::Invalid { field, message } => AppError::field(field, message),
            AccountError::Fields(errors) => AppError::Validation {
                message: "Some fields are not valid.".into(),
                errors,
            },
            AccountError::Db(e) => e.into(),
            AccountError::Hashing(e) => AppError::Internal(e),
        }
    }
}
