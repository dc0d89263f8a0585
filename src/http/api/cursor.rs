//! The `cursor` of every paginated list: URL-safe base64 of `{nanos}_{key}` (keyset: the
//! last item's time in Unix nanoseconds and its key) or of `offset:{n}`.

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

    /// The cursor as clients get it in `next_cursor`.
    pub fn encode(&self) -> String {
        match self {
            Cursor::Keyset { at, key } => {
                URL_SAFE_NO_PAD.encode(format!("{}_{key}", at.unix_timestamp_nanos()))
            }
            Cursor::Offset(n) => URL_SAFE_NO_PAD.encode(format!("offset:{n}")),
        }
    }

    /// A cursor we gave out, in either format.
    pub fn decode(raw: &str) -> Option<Self> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
        if let Some(n) = text.strip_prefix("offset:") {
            return Some(Cursor::Offset(n.parse().ok()?));
        }
        let (nanos, key) = text.split_once('_')?;
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
}

fn not_ours() -> AppError {
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
    }
}
