//! The one row of public page settings.

use serde_json::{json, Value};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::clock::Clock;
use crate::incidents::CommandError;
use crate::platform::audit::{self, AuditAction};
use crate::platform::text;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PageSettingsRow {
    pub page_id: String,
    pub name: Option<String>,
    pub public_url: Option<String>,
    pub accent: String,
    pub time_zone: String,
    pub about: String,
    /// `[{"label", "url"}]`
    pub footer_links: Value,
    pub has_logo: bool,
    pub updated_at: OffsetDateTime,
}

pub async fn get(db: impl PgExecutor<'_>) -> sqlx::Result<PageSettingsRow> {
    sqlx::query_as!(
        PageSettingsRow,
        r#"SELECT page_id, name, public_url, accent, time_zone, about, footer_links,
                  logo IS NOT NULL AS "has_logo!", updated_at FROM page_settings WHERE id = 1"#
    )
    .fetch_one(db)
    .await
}

pub struct SettingsChanges<'a> {
    pub name: Option<&'a str>,
    pub public_url: Option<&'a str>,
    pub accent: &'a str,
    pub time_zone: &'a str,
    pub about: &'a str,
    pub footer_links: Value,
}

pub async fn update(conn: &mut PgConnection, change: SettingsChanges<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE page_settings SET name = $1, public_url = $2, accent = $3, time_zone = $4, about = $5, \
             footer_links = $6, updated_at = now() WHERE id = 1",
        change.name,
        change.public_url,
        change.accent,
        change.time_zone,
        change.about,
        change.footer_links
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The page settings as an administrator writes them (untrimmed; footer links one per
/// line as `Label | https://…`).
pub struct SettingsInput<'a> {
    pub name: &'a str,
    pub public_url: &'a str,
    pub accent: &'a str,
    pub time_zone: &'a str,
    pub about: &'a str,
    pub links: &'a str,
}

fn http_url(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .then(|| url.as_str().trim_end_matches('/').to_owned())
}

/// The footer links and the public URL, or why the input is refused.
fn validate(input: &SettingsInput<'_>) -> Result<(Value, Option<String>), CommandError> {
    let accent = input.accent.trim().to_lowercase();
    if !(accent.len() == 7
        && accent.starts_with('#')
        && accent[1..].chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(CommandError::invalid(
            "accent",
            "The accent colour is a hex colour like #b3261e.",
        ));
    }
    if !Clock::is_valid_zone(input.time_zone.trim()) {
        return Err(CommandError::invalid(
            "time_zone",
            format!(
                "{:?} is not a time zone name like Europe/Berlin or Etc/UTC.",
                input.time_zone.trim()
            ),
        ));
    }
    text::NAME.check("page_name", input.name.trim())?;
    text::URL.check("public_URL", input.public_url.trim())?;
    text::SUMMARY.check("about_text", input.about)?;
    text::SUMMARY.check("footer_links", input.links)?;
    let public_url = match input.public_url.trim() {
        "" => None,
        raw => Some(http_url(raw).ok_or_else(|| {
            CommandError::invalid("public_url", format!("{raw:?} is not an http(s) URL."))
        })?),
    };
    let mut links = Vec::new();
    for line in input.links.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let refuse =
            |why: &str| CommandError::invalid("links", format!("Footer link {line:?}: {why}"));
        let (label, url) = line
            .split_once('|')
            .ok_or_else(|| refuse("write it as Label | https://…"))?;
        let url = http_url(url).ok_or_else(|| refuse("the URL must be http(s)."))?;
        links.push(json!({ "label": label.trim(), "url": url }));
    }
    if links.len() > 10 {
        return Err(CommandError::invalid("links", "At most 10 footer links."));
    }
    Ok((Value::Array(links), public_url))
}

/// Check and save the page settings, with their audit entry.
#[tracing::instrument(skip_all)]
pub async fn save(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    input: SettingsInput<'_>,
) -> Result<(), CommandError> {
    let (footer_links, public_url) = validate(&input)?;
    let name = input.name.trim();
    let change = SettingsChanges {
        name: (!name.is_empty()).then_some(name),
        public_url: public_url.as_deref(),
        accent: &input.accent.trim().to_lowercase(),
        time_zone: input.time_zone.trim(),
        about: input.about.trim(),
        footer_links,
    };
    update(&mut *conn, change).await?;
    audit::log(&mut *conn, actor, &AuditAction::PageSettingsUpdated).await?;
    Ok(())
}

/// Set (or with `None`, remove) the logo.
pub async fn set_logo(conn: &mut PgConnection, logo: Option<(&[u8], &str)>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE page_settings SET logo = $1, logo_type = $2, updated_at = now() WHERE id = 1",
        logo.map(|(bytes, _)| bytes),
        logo.map(|(_, kind)| kind)
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn logo(db: impl PgExecutor<'_>) -> sqlx::Result<Option<(Vec<u8>, String)>> {
    let row = sqlx::query!("SELECT logo, logo_type FROM page_settings WHERE id = 1")
        .fetch_optional(db)
        .await?;
    Ok(row.and_then(|r| r.logo.zip(r.logo_type)))
}

/// Remember the base URL this server runs with (at startup), for links in messages made
/// where the configuration is not at hand.
pub async fn record_configured_url(db: impl PgExecutor<'_>, url: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE page_settings SET configured_url = $1 \
         WHERE id = 1 AND configured_url IS DISTINCT FROM $1",
        url.trim_end_matches('/')
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The configured base URL recorded at startup, if any.
pub async fn configured_url(db: impl PgExecutor<'_>) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT configured_url FROM page_settings WHERE id = 1")
        .fetch_one(db)
        .await
}
