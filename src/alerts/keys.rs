//! Integration keys: 32 characters of `[a-z0-9]` (the shape PagerDuty clients check a
//! routing key for), shown once, stored as their SHA-256 and looked up by it; the doors
//! look them up through a [`KeyCache`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use sqlx::{PgConnection, PgExecutor};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::integrations::LiveIntegration;
use super::IntegrationKind;
use crate::platform::live::EventHub;
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

/// The stored hash of `key`, when it is well formed (anything else opens nothing).
fn hash_of(key: &str) -> Option<Vec<u8>> {
    is_well_formed(key).then(|| hash_token(key).0)
}

async fn by_hash(db: impl PgExecutor<'_>, hash: &[u8]) -> sqlx::Result<Option<LiveIntegration>> {
    sqlx::query_as!(
        LiveIntegration,
        r#"SELECT i.id, i.kind AS "kind: IntegrationKind", i.signing_secret, i.timestamp_header
           FROM integration_keys k JOIN integrations i ON i.id = k.integration_id
           WHERE k.key_hash = $1 AND (k.expires_at IS NULL OR k.expires_at > now())"#,
        hash
    )
    .fetch_optional(db)
    .await
}

/// How long a looked-up key is believed without asking the database again.
const CACHED_FOR: Duration = Duration::from_secs(10);
/// The most keys remembered; past it the cache starts over (a flood of wrong keys
/// cannot grow it without bound).
const CACHED_MAX: usize = 10_000;

/// What keys opened lately, so a storm of deliveries costs no lookup each. Forgotten
/// when an integration changes: at once by the process that changed it
/// ([`KeyCache::forget`]), through `NOTIFY` ([`crate::platform::live::INTEGRATIONS`]) by the others,
/// and after [`CACHED_FOR`] at the latest.
pub struct KeyCache {
    hub: EventHub,
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    /// Key hash → what it opened (`None`: nothing) and when that was read.
    entries: HashMap<Vec<u8>, (Option<LiveIntegration>, Instant)>,
    /// Signals of changes made by any process, from the first lookup on.
    changes: Option<broadcast::Receiver<()>>,
}

impl KeyCache {
    pub fn new(hub: EventHub) -> Self {
        KeyCache {
            hub,
            known: Mutex::new(Known::default()),
        }
    }

    /// The integration `key` opens, if it is a current key (or one still in its grace
    /// period) of an integration of `kind`; from memory when it was looked up lately.
    pub async fn lookup(
        &self,
        db: impl PgExecutor<'_>,
        key: &str,
        kind: IntegrationKind,
    ) -> sqlx::Result<Option<LiveIntegration>> {
        let Some(hash) = hash_of(key) else {
            return Ok(None);
        };
        let found = match self.remembered(&hash) {
            Some(found) => found,
            None => {
                let found = by_hash(db, &hash).await?;
                self.remember(hash, found.clone());
                found
            }
        };
        Ok(found.filter(|i| i.kind == kind))
    }

    /// Forget every key, after this process changed an integration.
    pub fn forget(&self) {
        if let Ok(mut known) = self.known.lock() {
            known.entries.clear();
        }
    }

    fn remembered(&self, hash: &[u8]) -> Option<Option<LiveIntegration>> {
        let mut known = self.known.lock().ok()?;
        let changes = known
            .changes
            .get_or_insert_with(|| self.hub.subscribe_integrations());
        let mut changed = false;
        while let Ok(()) | Err(broadcast::error::TryRecvError::Lagged(_)) = changes.try_recv() {
            changed = true;
        }
        if changed {
            known.entries.clear();
        }
        let (found, at) = known.entries.get(hash)?;
        (at.elapsed() < CACHED_FOR).then(|| found.clone())
    }

    fn remember(&self, hash: Vec<u8>, found: Option<LiveIntegration>) {
        if let Ok(mut known) = self.known.lock() {
            if known.entries.len() >= CACHED_MAX {
                known.entries.clear();
            }
            known.entries.insert(hash, (found, Instant::now()));
        }
    }
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
