//! Grafana alerting's webhook signature: with an HMAC secret set on the contact point,
//! Grafana sends `X-Grafana-Alerting-Signature`, the lower-case hex HMAC-SHA256 of the
//! body under the secret, or of `timestamp + ":" + body` when a timestamp header is
//! configured (the timestamp is that header's value).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header Grafana puts the signature in.
pub const GRAFANA_HEADER: &str = "x-grafana-alerting-signature";

/// The longest signing secret taken.
pub const SECRET_MAX: usize = 256;

/// Whether `sent` (the signature header's value) signs `body`, with `timestamp` (the
/// timestamp header's value) when the integration names a timestamp header.
pub fn grafana_is_valid(secret: &str, timestamp: Option<&str>, body: &[u8], sent: &str) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    if let Some(timestamp) = timestamp {
        mac.update(timestamp.as_bytes());
        mac.update(b":");
    }
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sent = sent.trim().to_ascii_lowercase();
    sent.len() == expected.len() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), the well-known
    // test vector.
    const FOX: &str = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";

    #[test]
    fn the_hex_hmac_of_the_body_is_valid_in_either_case_and_anything_else_is_not() {
        let body = b"The quick brown fox jumps over the lazy dog";
        assert!(grafana_is_valid("key", None, body, FOX));
        assert!(grafana_is_valid("key", None, body, &FOX.to_uppercase()));
        assert!(!grafana_is_valid("other", None, body, FOX));
        assert!(!grafana_is_valid("key", None, b"another body", FOX));
        assert!(!grafana_is_valid("key", None, body, &FOX[..63]));
        assert!(!grafana_is_valid("key", None, body, ""));
    }

    #[test]
    fn with_a_timestamp_header_the_timestamp_and_a_colon_are_signed_before_the_body() {
        let body = b"quick brown fox jumps over the lazy dog";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1700000000:");
        mac.update(body);
        let sent: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(grafana_is_valid("key", Some("1700000000"), body, &sent));
        assert!(!grafana_is_valid("key", Some("1700000001"), body, &sent));
        assert!(!grafana_is_valid("key", None, body, &sent));
    }
}
