//! Request bodies, paths and queries whose rejections come back in our error format.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

use super::MaybeUser;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::session::anon_csrf_tokens;

async fn body_bytes(req: Request) -> Result<Bytes, AppError> {
    Bytes::from_request(req, &()).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge("The request body is larger than this server accepts.".into())
        } else {
            AppError::BadRequest(format!("The request body could not be read: {rejection}"))
        }
    })
}

/// The body of a form sent as `application/x-www-form-urlencoded`; other types are a 415.
async fn form_bytes(req: Request) -> Result<Bytes, AppError> {
    if !has_content_type(&req, "application/x-www-form-urlencoded") {
        return Err(AppError::UnsupportedMediaType(
            "Send this form as application/x-www-form-urlencoded.".into(),
        ));
    }
    body_bytes(req).await
}

/// The 415 of a body that should have been JSON.
fn not_json() -> AppError {
    AppError::UnsupportedMediaType(
        "Send JSON with the header Content-Type: application/json.".into(),
    )
}

fn has_content_type(req: &Request, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().eq_ignore_ascii_case(expected))
        .unwrap_or(false)
}

/// A URL-encoded form body. Bad input becomes a 4xx in our format.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, AppError> {
        parse_form(&form_bytes(req).await?).map(Form)
    }
}

/// PostgreSQL cannot store the NUL character in text; refuse it up front.
fn refuse_nul(pairs: url::form_urlencoded::Parse<'_>) -> Result<(), AppError> {
    if pairs
        .into_iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(AppError::BadRequest(
            "Text cannot contain the NUL character.".into(),
        ));
    }
    Ok(())
}

fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    refuse_nul(url::form_urlencoded::parse(bytes))?;
    let deserializer = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner().to_string();
        AppError::BadRequest(if field == "." || field.is_empty() {
            format!("The form could not be read: {inner}.")
        } else {
            format!("The form field `{field}` is not valid: {inner}.")
        })
    })
}

/// A form from the browser whose CSRF token (`csrf_token` field) matches the session's,
/// or, before sign-in, the anonymous CSRF cookie's.
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf_token: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = req.into_parts();
        let MaybeUser(user) = MaybeUser::from_request_parts(&mut parts, state).await?;
        let expected = match user {
            Some(user) => vec![user.csrf_token],
            None => anon_csrf_tokens(state, &parts.headers).await?,
        };
        let bytes = form_bytes(Request::from_parts(parts, body)).await?;
        let CsrfField { csrf_token } = parse_form(&bytes)?;
        let valid = expected.iter().any(|expected| {
            !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(csrf_token.as_bytes()))
        });
        if !valid {
            return Err(AppError::Forbidden(
                "This form has expired or did not come from this site (CSRF check failed). \
                 Go back, reload the page and try again."
                    .into(),
            ));
        }
        parse_form(&bytes).map(CsrfForm)
    }
}

/// A JSON body. Malformed JSON is a 400; a well-formed body with wrong or missing
/// fields is a 422 naming the field.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, AppError> {
        if !has_content_type(&req, "application/json") {
            return Err(not_json());
        }
        parse_json(&body_bytes(req).await?).map(Json)
    }
}

/// A JSON body that may be left out: no body (or only whitespace) is `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, AppError> {
        let typed = has_content_type(&req, "application/json");
        let bytes = body_bytes(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        if !typed {
            return Err(not_json());
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.windows(6).any(|w| w == b"\\u0000") {
        return Err(AppError::field(
            "body",
            "Text cannot contain the NUL character (\\u0000).",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let message = clean_serde_message(&inner.to_string());
            if let Some(missing) = missing_field(&message) {
                let field = if path == "." {
                    missing.to_owned()
                } else {
                    format!("{path}.{missing}")
                };
                let message = format!("`{missing}` is required.");
                return AppError::Validation {
                    message: format!("`{field}`: {message}"),
                    errors: BTreeMap::from([(field, message)]),
                };
            }
            let field = if path == "." { "body".to_owned() } else { path };
            AppError::Validation {
                message: format!("`{field}`: {message}"),
                errors: BTreeMap::from([(field, message)]),
            }
        } else {
            AppError::BadRequest(format!("The body is not valid JSON: {inner}."))
        }
    })?;
    de.end()
        .map_err(|e| AppError::BadRequest(format!("The body is not valid JSON: {e}.")))?;
    Ok(value)
}

/// The field serde names in "missing field `version`".
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
}

/// serde's messages end with " at line 1 column 20"; the field name says more.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed id is a 404 (no such thing), not axum's plain text.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|rejection| {
                AppError::NotFound(format!(
                    "There is nothing at this address: {}.",
                    rejection.body_text()
                ))
            })
    }
}

/// Query parameters; bad ones are a 400 that names the problem.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        refuse_nul(url::form_urlencoded::parse(query.as_bytes()))?;
        let deserializer =
            serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|err| {
                let field = err.path().to_string();
                let message = err.into_inner().to_string();
                if field == "." || field.is_empty() {
                    AppError::BadRequest(format!("The query string is not valid: {message}."))
                } else {
                    AppError::field(
                        &field,
                        format!("The query parameter `{field}` is not valid: {message}."),
                    )
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        role: Role,
    }

    #[test]
    fn an_unknown_enum_value_names_the_field() {
        match parse_json::<Sample>(br#"{"name": "a", "role": "king"}"#) {
            Err(AppError::Validation { errors, .. }) => {
                assert!(
                    errors["role"].contains("unknown variant `king`"),
                    "{errors:?}"
                )
            }
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_field_is_named_and_said_to_be_required() {
        match parse_json::<Sample>(br#"{"name": "a"}"#) {
            Err(AppError::Validation { errors, .. }) => {
                assert_eq!(errors["role"], "`role` is required.")
            }
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(
            parse_json::<Sample>(b"{\"name\": "),
            Err(AppError::BadRequest(_))
        ));
    }

    #[test]
    fn nul_characters_are_refused_before_they_reach_the_database() {
        assert!(parse_json::<Sample>(br#"{"name": "a\u0000", "role": "admin"}"#).is_err());
        assert!(parse_form::<std::collections::HashMap<String, String>>(b"name=a%00b").is_err());
    }

    #[test]
    fn trailing_garbage_after_json_is_refused() {
        assert!(parse_json::<Sample>(br#"{"name": "a", "role": "admin"} x"#).is_err());
    }
}
