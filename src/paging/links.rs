//! The signed acknowledge link in every notification: it names one page and one person,
//! needs no sign-in, and works until the page is acknowledged (or ended) or the link
//! expires. `GET` shows a button (mail scanners follow links); `POST` acknowledges.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::platform::signed::SigningKey;

/// The name of the key in `server_secrets`.
const KEY_NAME: &str = "page_ack_links";
/// What the link's signature covers besides its fields, so no other signed value passes.
const PURPOSE: &[u8] = b"fireline.page-ack.v1";
/// How long a link works.
pub const LIFETIME: Duration = Duration::hours(24);

/// What a valid link says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckLink {
    pub page_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: i64,
}

/// Why a link does not acknowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not one of ours, or changed.
    Forged,
    Expired,
}

/// The server's key for acknowledge links (made once, shared by every process).
pub async fn key(pool: &PgPool) -> sqlx::Result<SigningKey> {
    let key =
        crate::platform::server_secrets::get_or_create(pool, KEY_NAME, &SigningKey::generate())
            .await?;
    Ok(SigningKey::new(key))
}

/// [`key`], read (or made) in the caller's transaction.
pub async fn key_in(conn: &mut sqlx::PgConnection) -> sqlx::Result<SigningKey> {
    sqlx::query!(
        "INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        KEY_NAME,
        &SigningKey::generate()
    )
    .execute(&mut *conn)
    .await?;
    let key = sqlx::query_scalar!(
        "SELECT secret FROM server_secrets WHERE name = $1",
        KEY_NAME
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(SigningKey::new(key))
}

fn fields(link: &AckLink) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(40);
    bytes.extend_from_slice(link.page_id.as_bytes());
    bytes.extend_from_slice(link.user_id.as_bytes());
    bytes.extend_from_slice(&link.expires_at.to_be_bytes());
    bytes
}

/// The token of a link for `user_id` to acknowledge `page_id`, valid until `now + LIFETIME`.
pub fn token(key: &SigningKey, page_id: Uuid, user_id: Uuid, now: OffsetDateTime) -> String {
    let link = AckLink {
        page_id,
        user_id,
        expires_at: (now + LIFETIME).unix_timestamp(),
    };
    let body = fields(&link);
    let signature = key.sign(PURPOSE, &body);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(body),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// The link `token` stands for, if this server signed it and it has not expired.
pub fn verify(key: &SigningKey, token: &str, now: OffsetDateTime) -> Result<AckLink, LinkError> {
    let (body, signature) = token.split_once('.').ok_or(LinkError::Forged)?;
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| LinkError::Forged)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| LinkError::Forged)?;
    if body.len() != 40 || !key.verify(PURPOSE, &body, &signature) {
        return Err(LinkError::Forged);
    }
    let id = |range: std::ops::Range<usize>| {
        Uuid::from_slice(&body[range]).map_err(|_| LinkError::Forged)
    };
    let mut expires = [0u8; 8];
    expires.copy_from_slice(&body[32..40]);
    let link = AckLink {
        page_id: id(0..16)?,
        user_id: id(16..32)?,
        expires_at: i64::from_be_bytes(expires),
    };
    if now.unix_timestamp() >= link.expires_at {
        return Err(LinkError::Expired);
    }
    Ok(link)
}

/// The whole URL of a token.
pub fn url(base_url: &str, token: &str) -> String {
    format!("{}/ack/{token}", base_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::new(vec![7; 32])
    }

    #[test]
    fn a_link_names_its_page_and_person_until_it_expires() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
        let (page, user) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let t = token(&key(), page, user, now);
        let link = verify(&key(), &t, now + Duration::hours(23)).expect("valid");
        assert_eq!((link.page_id, link.user_id), (page, user));
        assert_eq!(verify(&key(), &t, now + LIFETIME), Err(LinkError::Expired));
    }

    #[test]
    fn a_changed_or_foreign_link_is_forged() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
        let t = token(&key(), Uuid::from_u128(1), Uuid::from_u128(2), now);
        let other = SigningKey::new(vec![8; 32]);
        assert_eq!(verify(&other, &t, now), Err(LinkError::Forged));
        // Another page's id under the same signature.
        let forged_body = fields(&AckLink {
            page_id: Uuid::from_u128(9),
            user_id: Uuid::from_u128(2),
            expires_at: (now + LIFETIME).unix_timestamp(),
        });
        let signature = t.split_once('.').expect("two parts").1;
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(forged_body));
        assert_eq!(verify(&key(), &forged, now), Err(LinkError::Forged));
        for junk in ["", ".", "abc", "a.b", "!!!.???"] {
            assert_eq!(
                verify(&key(), junk, now),
                Err(LinkError::Forged),
                "{junk:?}"
            );
        }
    }
}
