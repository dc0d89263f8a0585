//! The `cursor` of every paginated list: URL-safe base64 of `{nanos}_{key}` (keyset: the
//! last item's time in Unix nanoseconds and its key), of `key:{key}` (a list ordered by
//! a key alone) or of `offset:{n}`.
//!
//! The cursors lists gave out before they used this type are still taken: the
//! subscribers' `{nanos}:{id}` (a colon for the underscore), and the bare keys of the
//! users (base64 of the email) and of a subscriber's deliveries (the id in decimal),
//! read by the `legacy` reader each of those lists passes to [`Cursor::parse_after`].

use std::fmt::Display;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::OffsetDateTime;

use crate::http::error::AppError;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// After the item at this time with this key (newest first: before it).
    Keyset { at: OffsetDateTime, key: String },
    /// After the item with this key, in a list ordered by its key.
    After(String),
    /// After this many items.
    Offset(i64),
}

impl Cursor {
    pub fn keyset(at: OffsetDateTime, key: impl Display) -> Self {
        Cursor::Keyset {
            at,
            key: key.to_string(),
        }
    }

    pub fn after(key: impl Display) -> Self {
        Cursor::After(key.to_string())
    }

    /// The cursor as clients get it in `next_cursor`.
    pub fn encode(&self) -> String {
        match self {
            Cursor::Keyset { at, key } => {
                URL_SAFE_NO_PAD.encode(format!("{}_{key}", at.unix_timestamp_nanos()))
            }
            Cursor::After(key) => URL_SAFE_NO_PAD.encode(format!("key:{key}")),
            Cursor::Offset(n) => URL_SAFE_NO_PAD.encode(format!("offset:{n}")),
        }
    }

    /// The text a cursor encodes: URL-safe base64 of UTF-8 without NUL characters.
    pub fn text(raw: &str) -> Option<String> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
        (!text.contains('\0')).then_some(text)
    }

    /// A cursor we gave out, in any of the formats.
    pub fn decode(raw: &str) -> Option<Self> {
        let text = Cursor::text(raw)?;
        if let Some(n) = text.strip_prefix("offset:") {
            return Some(Cursor::Offset(n.parse().ok()?));
        }
        if let Some(key) = text.strip_prefix("key:") {
            return Some(Cursor::after(key));
        }
        let (nanos, key) = text.split_once('_').or_else(|| text.split_once(':'))?;
        Some(Cursor::Keyset {
            at: OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?,
            key: key.to_owned(),
        })
    }

    /// A keyset cursor's time and key; anything else is a 422 on `cursor`.
    pub fn parse_keyset<K: FromStr>(raw: &str) -> Result<(OffsetDateTime, K), AppError> {
        match Cursor::decode(raw) {
            Some(Cursor::Keyset { at, key }) => key.parse().ok().map(|key| (at, key)),
            _ => None,
        }
        .ok_or_else(not_ours)
    }

    /// An `After` cursor's key, or what `legacy` reads from a cursor the list gave out
    /// before it used this type; anything else is a 422 on `cursor`.
    pub fn parse_after<K: FromStr>(
        raw: &str,
        legacy: impl FnOnce(&str) -> Option<K>,
    ) -> Result<K, AppError> {
        match Cursor::decode(raw) {
            Some(Cursor::After(key)) => key.parse().ok(),
            _ => legacy(raw),
        }
        .ok_or_else(not_ours)
    }

    /// An `Offset` cursor's count; anything else is a 422 on `cursor`.
    pub fn parse_offset(raw: &str) -> Result<i64, AppError> {
        match Cursor::decode(raw) {
            Some(Cursor::Offset(n)) => Some(n),
            _ => None,
        }
        .ok_or_else(not_ours)
    }
}

/// The 422 of a cursor we did not give out.
pub fn not_ours() -> AppError {
    AppError::field("cursor", "This cursor is not one we gave out.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_round_trip() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let keyset = Cursor::keyset(at, 42);
        assert_eq!(
            keyset.encode(),
            URL_SAFE_NO_PAD.encode("1700000000123456789_42")
        );
        assert_eq!(Cursor::decode(&keyset.encode()), Some(keyset.clone()));
        assert_eq!(
            Cursor::decode(&Cursor::Offset(50).encode()),
            Some(Cursor::Offset(50))
        );
        assert!(Cursor::parse_keyset::<i64>(&keyset.encode()).is_ok());
        assert!(Cursor::parse_keyset::<i64>(&Cursor::Offset(5).encode()).is_err());
        assert!(Cursor::parse_keyset::<i64>("nonsense!").is_err());
        let after = Cursor::after("a_1@example.com");
        assert_eq!(Cursor::decode(&after.encode()), Some(after.clone()));
        let no_legacy = |_: &str| None::<String>;
        assert_eq!(
            Cursor::parse_after(&after.encode(), no_legacy).unwrap(),
            "a_1@example.com"
        );
        assert!(Cursor::parse_after(&keyset.encode(), no_legacy).is_err());
        assert_eq!(
            Cursor::parse_offset(&Cursor::Offset(7).encode()).unwrap(),
            7
        );
    }

    #[test]
    fn cursors_of_before_are_still_taken() {
        let id = uuid::Uuid::new_v4();
        let old = URL_SAFE_NO_PAD.encode(format!("1700000000123456789:{id}"));
        let (at, key) = Cursor::parse_keyset::<uuid::Uuid>(&old).unwrap();
        assert_eq!(
            (at.unix_timestamp_nanos(), key),
            (1_700_000_000_123_456_789, id)
        );
        let email = URL_SAFE_NO_PAD.encode("1_a@example.com");
        assert_eq!(
            Cursor::parse_after(&email, Cursor::text).unwrap(),
            "1_a@example.com"
        );
        assert_eq!(
            Cursor::parse_after("42", |raw| raw.parse::<i64>().ok()).unwrap(),
            42
        );
        assert!(Cursor::text(&URL_SAFE_NO_PAD.encode("a\0b")).is_none());
    }
}
