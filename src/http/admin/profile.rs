//! The signed-in user's own settings: the time zone the admin UI shows times in.

use crate::accounts::users;
use askama::Template;
use serde::Deserialize;

use super::incidents::view::Choice;
use super::Reply;
use crate::http::extract::{CsrfForm, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
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
    contacts: Vec<super::profile_contacts::ContactItem>,
    kinds: Vec<Choice>,
}

/// The profile page with `chosen` selected in the list of zones.
async fn page(
    staff: &Staff,
    chosen: &str,
    error: Option<String>,
) -> Result<ProfilePage, crate::http::error::AppError> {
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
    Ok(ProfilePage {
        contacts: super::profile_contacts::items(&staff.state.pool, staff.id()).await?,
        kinds: super::profile_contacts::kinds(),
        layout: Layout::of(staff, "Your profile", ""),
        email: staff.user.user.email.clone(),
        role: staff.user.user.role.label(),
        zones,
        page_zone: zone::page_clock(&staff.state).name().to_owned(),
        error,
    })
}

pub async fn show_profile(staff: Staff) -> Reply {
    let chosen = staff.user.user.time_zone.clone().unwrap_or_default();
    let page = page(&staff, &chosen, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    time_zone: String,
}

pub async fn save_profile(staff: Staff, CsrfForm(form): CsrfForm<ProfileForm>) -> Reply {
    let wanted = form.time_zone.trim();
    let chosen = match wanted {
        "" => None,
        name => match Clock::parse(name) {
            Some(clock) => Some(clock.name().to_owned()),
            None => {
                let example = "like America/New_York or Europe/Berlin";
                let error = format!("{name:?} is not a time zone name {example}.");
                let page = page(&staff, "", Some(error)).await?;
                return render_refused(&staff.state, &page.layout, &page);
            }
        },
    };
    users::set_time_zone(&staff.state.pool, staff.id(), chosen.as_deref()).await?;
    let message = match &chosen {
        Some(name) => format!("Times are now shown in {name}."),
        None => "Times now follow your browser's time zone.".to_owned(),
    };
    Ok(staff.flash("/admin/profile", &message))
}
