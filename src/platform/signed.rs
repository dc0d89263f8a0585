use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What an anonymous CSRF value is signed as, so no other signed value passes for one.
const ANON_CSRF: &[u8] = b"fireline.anon-csrf.v1";

/// A server key for HMAC-SHA256 signatures. `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

impl SigningKey {
    pub const BYTES: usize = 32;

    pub fn new(key: Vec<u8>) -> Self {
        Self(key)
    }

    /// Fresh random key material.
    pub fn generate() -> Vec<u8> {
        let mut key = vec![0u8; Self::BYTES];
        rand::rngs::OsRng.fill_bytes(&mut key);
        key
    }

    /// HMAC-SHA256 of `message` for `purpose` (a different purpose, a different value).
    pub fn sign(&self, purpose: &[u8], message: &[u8]) -> Vec<u8> {
        self.mac_for(purpose, message)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Whether `signature` is [`SigningKey::sign`] of `message` for `purpose` (compared
    /// in constant time).
    pub fn verify(&self, purpose: &[u8], message: &[u8], signature: &[u8]) -> bool {
        self.mac_for(purpose, message)
            .verify_slice(signature)
            .is_ok()
    }

    fn mac_for(&self, purpose: &[u8], message: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(purpose);
        mac.update(b"|");
        mac.update(message);
        mac
    }

    fn mac(&self, token: &str, issued: i64) -> HmacSha256 {
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(ANON_CSRF);
        mac.update(b"|");
        mac.update(token.as_bytes());
        mac.update(b"|");
        mac.update(issued.to_string().as_bytes());
        mac
    }

    /// The cookie value for an anonymous CSRF `token` issued at `issued` (Unix seconds):
    /// `token.issued.signature`.
    pub fn sign_anon_csrf(&self, token: &str, issued: i64) -> String {
        let signature = URL_SAFE_NO_PAD.encode(self.mac(token, issued).finalize().into_bytes());
        format!("{token}.{issued}.{signature}")
    }

    /// The token in `value` if this key signed it, at most `max_age` seconds before `now`.
    pub fn verify_anon_csrf(&self, value: &str, now: i64, max_age: i64) -> Option<String> {
        let mut parts = value.rsplitn(3, '.');
        let signature = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        let issued: i64 = parts.next()?.parse().ok()?;
        let token = parts.next().filter(|t| !t.is_empty())?;
        // A minute of clock difference between processes is tolerated.
        if issued > now + 60 || now - issued > max_age {
            return None;
        }
        self.mac(token, issued)
            .verify_slice(&signature)
            .ok()
            .map(|()| token.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn a_signed_value_verifies_and_gives_back_its_token() {
        let key = SigningKey::new(SigningKey::generate());
        let value = key.sign_anon_csrf("abc_DEF-123", 1_000_000);
        assert_eq!(
            key.verify_anon_csrf(&value, 1_000_100, DAY).as_deref(),
            Some("abc_DEF-123")
        );
    }

    #[test]
    fn forged_tampered_foreign_and_expired_values_do_not_verify() {
        let key = SigningKey::new(SigningKey::generate());
        let other = SigningKey::new(SigningKey::generate());
        let now = 1_000_000;
        let value = key.sign_anon_csrf("token", now);
        let (_, signature) = value.rsplit_once('.').unwrap_or_default();
        for bad in [
            "token".to_owned(),
            "planted-by-a-sibling-subdomain".to_owned(),
            String::new(),
            format!("other.{now}.{signature}"),
            format!("token.{}.{signature}", now + 1),
            format!(".{now}.{signature}"),
            other.sign_anon_csrf("token", now),
            value.replace('.', ""),
        ] {
            assert_eq!(key.verify_anon_csrf(&bad, now, DAY), None, "{bad:?}");
        }
        assert_eq!(key.verify_anon_csrf(&value, now + DAY + 1, DAY), None);
        assert_eq!(key.verify_anon_csrf(&value, now - 3600, DAY), None);
    }

    #[test]
    fn the_key_is_not_in_debug_output() {
        let key = SigningKey::new(vec![7; 32]);
        assert_eq!(format!("{key:?}"), "SigningKey(…)");
    }
}
