//! The one row of public page settings.

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

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

pub async fn get(db: impl PgExecutor<'_>) -> Result<PageSettingsRow, sqlx::Error> {
    sqlx::query_as(
        "SELECT page_id, name, public_url, accent, time_zone, about, footer_links, \
                logo IS NOT NULL AS has_logo, updated_at FROM page_settings WHERE id = 1",
    )
    .fetch_one(db)
    .await
}

pub struct SettingsChange<'a> {
    pub name: Option<&'a str>,
    pub public_url: Option<&'a str>,
    pub accent: &'a str,
    pub time_zone: &'a str,
    pub about: &'a str,
    pub footer_links: Value,
}

pub async fn update(
    conn: &mut PgConnection,
    change: SettingsChange<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE page_settings SET name = $1, public_url = $2, accent = $3, time_zone = $4, about = $5, \
             footer_links = $6, updated_at = now() WHERE id = 1",
    )
    .bind(change.name)
    .bind(change.public_url)
    .bind(change.accent)
    .bind(change.time_zone)
    .bind(change.about)
    .bind(change.footer_links)
    .execute(conn)
    .await?;
    Ok(())
}

/// Set (or with `None`, remove) the logo.
pub async fn set_logo(
    conn: &mut PgConnection,
    logo: Option<(&[u8], &str)>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE page_settings SET logo = $1, logo_type = $2, updated_at = now() WHERE id = 1",
    )
    .bind(logo.map(|(bytes, _)| bytes))
    .bind(logo.map(|(_, kind)| kind))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn logo(db: impl PgExecutor<'_>) -> Result<Option<(Vec<u8>, String)>, sqlx::Error> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> =
        sqlx::query_as("SELECT logo, logo_type FROM page_settings WHERE id = 1")
            .fetch_optional(db)
            .await?;
    Ok(row.and_then(|(bytes, kind)| bytes.zip(kind)))
}

/// Remember the base URL this server runs with (at startup), for links in messages made
/// where the configuration is not at hand.
pub async fn record_configured_url(db: impl PgExecutor<'_>, url: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE page_settings SET configured_url = $1 \
         WHERE id = 1 AND configured_url IS DISTINCT FROM $1",
    )
    .bind(url.trim_end_matches('/'))
    .execute(db)
    .await?;
    Ok(())
}

/// The configured base URL recorded at startup, if any.
pub async fn configured_url(db: impl PgExecutor<'_>) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT configured_url FROM page_settings WHERE id = 1")
        .fetch_one(db)
        .await
}
