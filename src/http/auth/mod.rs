//! Signing in and out, and the first-run setup of the admin account.

mod login;
mod setup;

use axum::http::{header, HeaderMap};
use axum::routing::get;
use axum::Router;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::accounts::sessions;
use crate::app::AppState;
use crate::platform::secret::{hash_token, random_token};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show_login).post(login::sign_in))
        .route("/logout", get(login::show_logout).post(login::sign_out))
        .route("/setup", get(setup::show_setup).post(setup::create_admin))
}

/// Where to go after signing in: only paths on this site, never another origin.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            path.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

/// Start a session for `user_id` in the caller's transaction, with a fresh random token
/// (only its hash is stored) and its own CSRF token. Returns the token for the cookie.
async fn start_session(
    conn: &mut PgConnection,
    user_id: Uuid,
    headers: &HeaderMap,
    client_ip: &str,
) -> sqlx::Result<String> {
    let token = random_token("");
    let session = sessions::NewSession {
        id_hash: &hash_token(&token),
        user_id,
        csrf_token: &random_token(""),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        client_ip,
    };
    sessions::insert(conn, session).await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_leads_to_paths_on_this_site() {
        assert_eq!(safe_next(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_next(Some("//evil.example")), "/admin");
        assert_eq!(safe_next(Some("https://evil.example")), "/admin");
        assert_eq!(safe_next(Some("/\\evil.example")), "/admin");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/admin");
        assert_eq!(safe_next(Some("/ /evil.example")), "/admin");
        assert_eq!(safe_next(None), "/admin");
    }
}
