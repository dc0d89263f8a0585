//! Signing in and out, and the first-run setup of the admin account.

mod login;
mod setup;

use axum::routing::get;
use axum::Router;

use crate::app::AppState;

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
