//! Rendering pages: the shared layout data and turning a template into a response.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::extract::{CurrentUser, Staff};
use super::session::{removal, take_flash, FLASH_COOKIE};
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::error::AppError;

/// One entry of the admin navigation. Areas without a page yet have no `href`.
pub struct NavItem {
    pub label: &'static str,
    pub href: Option<&'static str>,
    pub active: bool,
    /// A number beside the label (the firing alert groups); `None`: nothing to show.
    pub count: Option<i64>,
}

tokio::task_local! {
    /// How many alert groups fire unacknowledged, read once per admin page request.
    static FIRING_ALERTS: Option<i64>;
}

/// Middleware for the admin UI: read the navigation's count of firing alert groups for
/// the pages a signed-in person loads (not for forms, streams' later events or sign-in
/// redirects), and serve the request with it.
pub async fn nav_counts(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::extract::FromRequestParts;
    let (mut parts, body) = req.into_parts();
    let signed_in = matches!(
        super::extract::MaybeUser::from_request_parts(&mut parts, &state).await,
        Ok(super::extract::MaybeUser(Some(_)))
    );
    let firing = if signed_in && parts.method == axum::http::Method::GET {
        // A failure here only leaves the count out; the page reports its own errors.
        crate::alerts::queries::count_firing(&state.pool).await.ok()
    } else {
        None
    };
    let req = axum::extract::Request::from_parts(parts, body);
    FIRING_ALERTS.scope(firing, next.run(req)).await
}

/// What every admin page's layout needs: who is signed in, their CSRF token, the flash
/// message and the navigation.
pub struct Layout {
    pub title: String,
    pub page_name: String,
    pub user_name: String,
    pub user_role: &'static str,
    pub csrf_token: String,
    pub flash: Option<String>,
    pub nav: Vec<NavItem>,
    /// Responders and admins get the "Declare incident" button on every page.
    pub can_respond: bool,
    /// Admins also manage components, users, subscribers and templates.
    pub is_admin: bool,
    /// The zone times are shown in (IANA name) and whether the user chose it; without a
    /// choice the browser script moves times into the browser's zone.
    pub time_zone: String,
    pub time_zone_explicit: bool,
}

/// The areas of the admin UI, in navigation order.
const AREAS: [(&str, Option<&str>); 13] = [
    ("Dashboard", Some("/admin")),
    ("Incidents", Some("/admin/incidents")),
    ("Alerts", Some("/admin/alerts")),
    ("Monitors", Some("/admin/heartbeats")),
    ("Teams", Some("/admin/teams")),
    ("Components", Some("/admin/components")),
    ("Maintenance", Some("/admin/maintenance")),
    ("Subscribers", Some("/admin/subscribers")),
    ("Postmortems", Some("/admin/postmortems")),
    ("Action items", Some("/admin/action-items")),
    ("Users", Some("/admin/users")),
    ("API tokens", Some("/admin/tokens")),
    ("Status page", Some("/admin/settings")),
];

impl Layout {
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        jar: &CookieJar,
        title: &str,
        active: &str,
    ) -> Self {
        let firing = FIRING_ALERTS.try_with(|n| *n).ok().flatten();
        let nav = AREAS
            .iter()
            .map(|(label, href)| NavItem {
                label,
                href: *href,
                active: *label == active,
                count: firing.filter(|n| *label == "Alerts" && *n > 0),
            })
            .collect();
        let reader = super::zone::reader();
        Layout {
            title: title.to_owned(),
            page_name: state.settings.page_name.clone(),
            user_name: user.user.name.clone(),
            user_role: user.user.role.label(),
            csrf_token: user.csrf_token.clone(),
            flash: take_flash(jar),
            nav,
            can_respond: user.can(Role::Responder),
            is_admin: user.can(Role::Admin),
            time_zone: reader.clock.name().to_owned(),
            time_zone_explicit: reader.explicit,
        }
    }

    /// The layout of a page shown to `staff`.
    pub fn of<R>(staff: &Staff<R>, title: &str, active: &str) -> Self {
        Layout::new(&staff.state, &staff.user, &staff.jar, title, active)
    }
}

/// Render a template as a full HTML response.
pub fn render(template: &impl Template) -> Result<Response, AppError> {
    render_status(StatusCode::OK, template)
}

pub fn render_status(status: StatusCode, template: &impl Template) -> Result<Response, AppError> {
    let html = template
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering a template failed: {e}")))?;
    Ok((status, Html(html)).into_response())
}

/// An admin page with another status than 200 (a form shown again with its problem).
pub fn render_admin_status(
    state: &AppState,
    layout: &Layout,
    template: &impl Template,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut response = render_admin(state, layout, template)?;
    *response.status_mut() = status;
    Ok(response)
}

/// An admin page whose form is shown again with what was wrong in it (422).
pub fn render_refused(
    state: &AppState,
    layout: &Layout,
    template: &impl Template,
) -> Result<Response, AppError> {
    render_admin_status(state, layout, template, StatusCode::UNPROCESSABLE_ENTITY)
}

/// Render an admin page, clearing the flash cookie once its message has been shown.
pub fn render_admin(
    state: &AppState,
    layout: &Layout,
    template: &impl Template,
) -> Result<Response, AppError> {
    let mut response = render(template)?;
    if layout.flash.is_some() {
        let cookie = removal(state, FLASH_COOKIE);
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}
