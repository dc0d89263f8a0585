//! Standard Webhooks signatures (standardwebhooks.com): the secret, the signature headers,
//! and the token of a subscriber's unsubscribe link.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "whsec_";
/// Key length in bytes (the scheme allows 24 to 64).
const KEY_BYTES: usize = 32;

/// A signing secret. `Debug` never shows the key.
#[derive(Clone)]
pub struct Secret {
    key: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn generate() -> Self {
        let mut key = vec![0u8; KEY_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        Self { key }
    }

    /// Read a secret in its `whsec_…` form.
    pub fn parse(text: &str) -> Option<Self> {
        let key = STANDARD.decode(text.strip_prefix(PREFIX)?).ok()?;
        (24..=64).contains(&key.len()).then_some(Self { key })
    }

    /// The form shown to subscribers and stored: `whsec_` + base64 of the key.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.key))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length.
        HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    /// The `webhook-signature` value for one attempt: `v1,` + base64(HMAC-SHA256 of
    /// `"{id}.{timestamp}.{body}"`).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// The token in a subscriber's unsubscribe link: derived from the secret, so it needs
    /// no storage and dies with the subscriber.
    pub fn unsubscribe_token(&self, subscriber: Uuid) -> String {
        let mut mac = self.mac();
        mac.update(b"fireline-unsubscribe:");
        mac.update(subscriber.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    pub fn check_unsubscribe_token(&self, subscriber: Uuid, token: &str) -> bool {
        bool::from(
            self.unsubscribe_token(subscriber)
                .as_bytes()
                .ct_eq(token.as_bytes()),
        )
    }
}

/// The `webhook-id` of a message: the same for every attempt and every resend.
pub fn message_id(id: Uuid) -> String {
    format!("msg_{}", id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_refuse_bad_forms() {
        let secret = Secret::generate();
        let shown = secret.expose();
        assert!(shown.starts_with("whsec_"));
        let again = Secret::parse(&shown).expect("parses");
        assert_eq!(again.key, secret.key);
        assert!(Secret::parse("whsec_short").is_none());
        assert!(Secret::parse(&shown[6..]).is_none(), "needs the prefix");
        assert!(!format!("{secret:?}").contains(&shown[6..]));
    }

    #[test]
    fn signature_matches_the_published_example() {
        // The example of the Standard Webhooks specification.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn unsubscribe_tokens_belong_to_one_subscriber() {
        let secret = Secret::generate();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let token = secret.unsubscribe_token(a);
        assert!(secret.check_unsubscribe_token(a, &token));
        assert!(!secret.check_unsubscribe_token(b, &token));
        assert!(!Secret::generate().check_unsubscribe_token(a, &token));
    }
}
