//! Page settings (admin): how the public status page looks. Changes show at once.

use askama::Template;
use axum::extract::Multipart;
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::Reply;
use crate::accounts::Role;
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, CsrfForm, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::incidents::CommandError;
use crate::status_page::settings::{self, SettingsInput};

/// The largest logo accepted.
const LOGO_LIMIT: usize = 256 * 1024;

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    layout: Layout,
    form: SettingsForm,
    has_logo: bool,
    can_manage: bool,
    error: Option<String>,
}

fn links_text(links: &Value) -> String {
    links
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| {
                    Some(format!(
                        "{} | {}",
                        l.get("label")?.as_str()?,
                        l.get("url")?.as_str()?
                    ))
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The settings as saved, or as `form` gave them with what was wrong.
async fn page<R>(
    staff: &Staff<R>,
    form: Option<&SettingsForm>,
    error: Option<String>,
) -> Result<SettingsPage, AppError> {
    let s = settings::get(&staff.state.pool).await?;
    Ok(SettingsPage {
        layout: Layout::of(staff, "Status page", "Status page"),
        form: form.cloned().unwrap_or_else(|| SettingsForm {
            links: links_text(&s.footer_links),
            name: s.name.unwrap_or_default(),
            public_url: s.public_url.unwrap_or_default(),
            accent: s.accent,
            time_zone: s.time_zone,
            about: s.about,
        }),
        has_logo: s.has_logo,
        can_manage: staff.user.can(Role::Admin),
        error,
    })
}

pub async fn show_settings(staff: Staff) -> Reply {
    let page = page(&staff, None, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// The settings as the form sends them (and shows them again).
#[derive(Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    name: String,
    public_url: String,
    accent: String,
    time_zone: String,
    about: String,
    links: String,
}

pub async fn save_settings(staff: Staff<AsAdmin>, CsrfForm(form): CsrfForm<SettingsForm>) -> Reply {
    let input = SettingsInput {
        name: &form.name,
        public_url: &form.public_url,
        accent: &form.accent,
        time_zone: &form.time_zone,
        about: &form.about,
        links: &form.links,
    };
    let mut tx = staff.begin().await?;
    match settings::save(&mut tx, Some(staff.id()), input).await {
        Ok(()) => {
            let message = "Saved. The status page shows it now.";
            staff.commit_and_flash(tx, BACK, message).await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            let page = page(&staff, Some(&form), Some(message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
        Err(err) => Err(err.into()),
    }
}

/// Where the settings go back to.
const BACK: &str = "/admin/settings";

/// PNG, JPEG or WebP, by their first bytes (never by what the browser claims).
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Upload or remove the logo (a multipart form; its CSRF token is checked here).
pub async fn upload_logo(staff: Staff<AsAdmin>, mut multipart: Multipart) -> Reply {
    let mut token = String::new();
    let mut logo: Option<Vec<u8>> = None;
    let mut remove = false;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(format!("The upload could not be read: {e}")))?
    {
        match field.name() {
            Some("csrf_token") => {
                token = field
                    .text()
                    .await
                    .map_err(|e| AppError::BadRequest(e.to_string()))?
            }
            Some("remove") => remove = true,
            Some("logo") => {
                let bytes = field.bytes().await.map_err(|e| {
                    AppError::BadRequest(format!("The upload could not be read: {e}"))
                })?;
                if !bytes.is_empty() {
                    logo = Some(bytes.to_vec());
                }
            }
            _ => {}
        }
    }
    if !bool::from(token.as_bytes().ct_eq(staff.user.csrf_token.as_bytes())) {
        return Err(AppError::Forbidden(
            "This form has expired (CSRF check failed). Reload the page and try again.".into(),
        ));
    }
    let mut tx = staff.begin().await?;
    let message = if remove {
        settings::set_logo(&mut tx, None).await?;
        "Logo removed."
    } else {
        let bytes = logo.ok_or_else(|| AppError::field("logo", "Choose an image file."))?;
        if bytes.len() > LOGO_LIMIT {
            return Err(AppError::PayloadTooLarge(
                "A logo has at most 256 KiB.".into(),
            ));
        }
        let kind = image_type(&bytes).ok_or_else(|| {
            AppError::field("logo", "The logo must be a PNG, JPEG or WebP image.")
        })?;
        settings::set_logo(&mut tx, Some((&bytes, kind))).await?;
        "Logo saved."
    };
    staff.commit_and_flash(tx, BACK, message).await
}
