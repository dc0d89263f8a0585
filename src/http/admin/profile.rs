//! The signed-in user's own settings: the time zone the admin UI shows times in.

use crate::accounts::users;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::incidents::view::Choice;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{CsrfForm, CurrentUser};
use crate::http::page::{render_admin, render_admin_status, Layout};
use crate::http::session::redirect_with_flash;
use crate::http::zone;
use crate::status_page::clock::Clock;

#[derive(Template)]
#[template(path = "admin/profile.html")]
struct ProfilePage {
    layout: Layout,
    email: String,
    role: &'static str,
    /// "Follow the browser" first, then every zone of the bundled database.
    zones: Vec<Choice>,
    page_zone: String,
    error: Option<String>,
}

fn page(state: &AppState, user: &CurrentUser, jar: &CookieJar, chosen: &str) -> ProfilePage {
    let mut zones = vec![Choice {
        value: String::new(),
        label: "The browser's zone (automatic)".into(),
        selected: chosen.is_empty(),
    }];
    zones.extend(Clock::zone_names().into_iter().map(|name| Choice {
        selected: name == chosen,
        label: name.replace('_', " "),
        value: name,
    }));
    ProfilePage {
        layout: Layout::new(state, user, jar, "Your profile", ""),
        email: user.user.email.clone(),
        role: user.user.role.label(),
        zones,
        page_zone: zone::page_clock(state).name().to_owned(),
        error: None,
    }
}

pub async fn show_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let chosen = user.user.time_zone.clone().unwrap_or_default();
    let page = page(&state, &user, &jar, &chosen);
    render_admin(&state, &page.layout, &page)
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    time_zone: String,
}

pub async fn save_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, AppError> {
    let wanted = form.time_zone.trim();
    let chosen = match wanted {
        "" => None,
        name => match Clock::parse(name) {
            Some(clock) => Some(clock.name().to_owned()),
            None => {
                let mut page = page(&state, &user, &jar, "");
                page.error = Some(format!(
                    "{name:?} is not a time zone name like America/New_York or Europe/Berlin."
                ));
                return render_admin_status(
                    &state,
                    &page.layout,
                    &page,
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            }
        },
    };
    users::set_time_zone(&state.pool, user.user.id, chosen.as_deref()).await?;
    let message = match &chosen {
        Some(name) => format!("Times are now shown in {name}."),
        None => "Times now follow your browser's time zone.".to_owned(),
    };
    Ok(redirect_with_flash(&state, "/admin/profile", &message))
}
