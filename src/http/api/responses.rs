//! The error responses operations share, added to the generated document from what each
//! operation is: every one can meet a bad or missing token and an unreachable database;
//! one gated by a role (its `security` scopes) can be refused; one with a path can find
//! nothing there; one with a body can get a malformed, oversized, mistyped or invalid
//! one; one with query parameters can get invalid ones. Responses an operation states
//! itself (a 409, a 422 with its own description) are kept as written.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// The media type of every error.
pub const PROBLEM: &str = "application/problem+json";

/// Adds the shared error responses to every operation of the document.
pub fn add_common_responses(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_to(op);
        }
    }
}

fn add_to(op: &mut Operation) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let has_body = op.request_body.is_some();
    let role = required_role(op);
    let mut add = |status: u16, description: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| problem(description));
    };
    add(
        400,
        "Malformed request: an `Authorization` header that is not `Bearer <token>`, \
         NUL characters, or a body that is not JSON.",
    );
    add(
        401,
        "Missing, unknown or revoked token, or a disabled user.",
    );
    if let Some(role) = role {
        add(
            403,
            &format!(
                "The token's user is not {role}. Checked before the body is read, \
                 so a refused caller gets this whatever it sent."
            ),
        );
    }
    if has_path {
        add(
            404,
            "Nothing at this address (no such id, or a malformed one).",
        );
    }
    if has_body {
        add(413, "The body is larger than the server accepts (1 MiB).");
        add(
            415,
            "The body is not sent as `Content-Type: application/json`.",
        );
    }
    if has_body || has_query {
        add(
            422,
            "A field or parameter is missing or not valid; `errors` maps each to a message.",
        );
    }
    add(
        503,
        "The database is not reachable; nothing was changed. Retry after `Retry-After` seconds.",
    );
}

/// The role named in the operation's bearer scopes (`security(("bearer" = ["admin"]))`).
fn required_role(op: &Operation) -> Option<String> {
    let security = serde_json::to_value(op.security.as_ref()?).ok()?;
    security
        .as_array()?
        .iter()
        .filter_map(|req| req.get("bearer")?.as_array()?.first()?.as_str())
        .map(|role| format!("{} {role}", if role == "admin" { "an" } else { "a" }))
        .next()
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ProblemDoc")))
                    .build(),
            )
            .build(),
    )
}
