//! Integration keys: 32 characters of `[a-z0-9]` (the shape PagerDuty clients check a
//! routing key for), shown once, stored as their SHA-256 and looked up by it.

use rand::Rng;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::integrations::LiveIntegration;
use super::IntegrationKind;
use crate::platform::secret::hash_token;

/// How many characters a key has.
pub const KEY_LEN: usize = 32;
/// How many of its first characters are kept to tell keys apart.
pub const PREFIX_LEN: usize = 4;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A new random key (about 165 bits).
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..KEY_LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Whether `key` could be a key at all; anything else is refused without a lookup.
pub fn is_well_formed(key: &str) -> bool {
    key.len() == KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Store `key` as the current key of `integration_id`.
pub async fn insert(conn: &mut PgConnection, integration_id: Uuid, key: &str) -> sqlx::Result<()> {
    let hash = hash_token(key);
    sqlx::query!(
        "INSERT INTO integration_keys (key_hash, integration_id, prefix) VALUES ($1, $2, $3)",
        hash.0,
        integration_id,
        &key[..PREFIX_LEN.min(key.len())]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Let the current keys of `integration_id` work for `grace` more (none: they stop now),
/// and forget the keys whose grace has ended.
pub async fn retire(
    conn: &mut PgConnection,
    integration_id: Uuid,
    grace: time::Duration,
) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM integration_keys WHERE integration_id = $1 \
         AND (expires_at <= now() OR ($2 AND expires_at IS NULL))",
        integration_id,
        grace <= time::Duration::ZERO
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE integration_keys SET expires_at = now() + make_interval(secs => $2) \
         WHERE integration_id = $1 AND expires_at IS NULL",
        integration_id,
        grace.as_seconds_f64()
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The prefix of the current key of `integration_id`.
pub async fn current_prefix(
    db: impl PgExecutor<'_>,
    integration_id: Uuid,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "SELECT prefix FROM integration_keys WHERE integration_id = $1 AND expires_at IS NULL \
         ORDER BY created_at DESC LIMIT 1",
        integration_id
    )
    .fetch_optional(db)
    .await
}

/// The integration `key` opens, if it is a current key (or one still in its grace
/// period) of an integration of `kind`.
pub async fn lookup(
    db: impl PgExecutor<'_>,
    key: &str,
    kind: IntegrationKind,
) -> sqlx::Result<Option<LiveIntegration>> {
    if !is_well_formed(key) {
        return Ok(None);
    }
    let hash = hash_token(key);
    let found = sqlx::query_as!(
        LiveIntegration,
        r#"SELECT i.id, i.kind AS "kind: IntegrationKind", i.signing_secret, i.timestamp_header
           FROM integration_keys k JOIN integrations i ON i.id = k.integration_id
           WHERE k.key_hash = $1 AND (k.expires_at IS NULL OR k.expires_at > now())"#,
        hash.0
    )
    .fetch_optional(db)
    .await?;
    Ok(found.filter(|i| i.kind == kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_has_32_lower_case_letters_and_digits_and_differs_from_the_last() {
        let key = generate();
        assert!(is_well_formed(&key), "{key}");
        assert_ne!(key, generate());
    }

    #[test]
    fn keys_of_another_shape_are_refused_without_a_lookup() {
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"A".repeat(KEY_LEN)));
        assert!(!is_well_formed(&format!("{}-", "a".repeat(KEY_LEN - 1))));
        assert!(is_well_formed(&"a1".repeat(KEY_LEN / 2)));
    }
}
