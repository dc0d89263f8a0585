//! One delivery from a monitoring tool, read into Fireline's own shape at the door.
//!
//! Each format has a pure parser (`alertmanager`, `pagerduty`, `generic`) from the bytes
//! sent to a [`Delivery`]. The door stores the delivery and answers; grouping applies it
//! later (`alerts::grouping`). Parsers ignore fields they do not know, and refuse with
//! an [`IntakeError`] that each door words in its format's own answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::model::{AlertFormat, AlertSeverity, AlertStatus};

pub mod alertmanager;
pub mod generic;
pub mod pagerduty;

/// Label or annotation names to values, sorted so that equal sets compare and hash equal.
pub type Labels = BTreeMap<String, String>;

/// The most of one alert's own object kept with it (the rest is cut, not refused).
pub const PAYLOAD_EXCERPT: usize = 16 * 1024;

/// The longest group title kept.
pub const TITLE_MAX: usize = 200;

/// What one request said, in Fireline's terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub format: AlertFormat,
    /// The group's identity within its integration: alerts with the same key while the
    /// group is open belong together (Alertmanager: sha256 of `groupKey`, the same
    /// `dedup_key` its PagerDuty receiver sends; PagerDuty and generic: `dedup_key`).
    pub group_key: String,
    /// The sender's own name for the group as sent (Alertmanager's `groupKey`).
    pub source_key: Option<String>,
    /// A title for people, at most [`TITLE_MAX`] characters.
    pub title: String,
    /// The labels the whole group shares.
    pub labels: Labels,
    /// The annotations the whole group shares.
    pub annotations: Labels,
    /// Where the sender shows the group (Alertmanager's `externalURL`, PagerDuty's
    /// `client_url`).
    pub source_url: Option<String>,
    pub action: Action,
}

/// What the delivery asks of its group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// The state of some alerts of the group.
    Alerts {
        alerts: Vec<Signal>,
        /// The delivery lists every alert of the group (Alertmanager sends the whole
        /// group each time), so one it no longer lists has resolved.
        complete: bool,
        /// How many alerts the sender left out (Alertmanager's `truncatedAlerts`); while
        /// any are, absent alerts are not taken as resolved.
        truncated: u32,
    },
    /// The sender acknowledged the group (PagerDuty `acknowledge`).
    Acknowledge,
    /// The sender resolved the whole group (PagerDuty `resolve`).
    Resolve,
}

/// One alert as the sender reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The alert's identity within its group (Alertmanager's `fingerprint`, a stable
    /// hash of the labels when none is sent; PagerDuty and generic: the `dedup_key`).
    pub fingerprint: String,
    pub status: AlertStatus,
    /// `None`: the sender said nothing we can read; the integration's default applies.
    pub severity: Option<AlertSeverity>,
    pub summary: String,
    pub description: Option<String>,
    pub labels: Labels,
    pub annotations: Labels,
    pub links: Vec<Link>,
    /// When the condition began by the sender's clock; `None`: when it was received.
    #[serde(with = "time::serde::rfc3339::option")]
    pub starts_at: Option<OffsetDateTime>,
    /// When it ended, for a resolved alert; `None`: when it was received.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// The alert's own object as sent, cut to [`PAYLOAD_EXCERPT`] bytes when larger.
    pub payload: serde_json::Value,
}

/// A link the sender attached (the source graph, a dashboard, a silence, a runbook).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    pub text: String,
}

/// Why a delivery was refused. Every door answers these with a 4xx in its own shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// The body is not JSON, or not an object of the expected shape.
    #[error("the body is not valid JSON: {0}")]
    Malformed(String),
    /// Fields are missing or wrong; each entry says which and why.
    #[error("the event is invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// A payload version this door does not read.
    #[error("unsupported payload version {0:?}")]
    UnsupportedVersion(String),
}

impl Delivery {
    /// A digest of everything grouping looks at: equal digests mean a re-send that
    /// changes nothing but "last seen" (Alertmanager repeats whole groups).
    pub fn digest(&self) -> [u8; 32] {
        let canonical = serde_json::to_vec(&(&self.labels, &self.annotations, &self.action))
            .unwrap_or_default();
        Sha256::digest(canonical).into()
    }
}

/// Cuts `text` to at most `max` characters, on a character boundary.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

/// An alert's own object for keeping: as sent when small, else a string excerpt.
pub fn excerpt(value: serde_json::Value) -> serde_json::Value {
    let text = value.to_string();
    if text.len() <= PAYLOAD_EXCERPT {
        return value;
    }
    let mut end = PAYLOAD_EXCERPT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    serde_json::Value::String(format!("{}…", &text[..end]))
}

/// A stable identity for a label set, for senders that send none: the first 16 hex
/// digits of sha256 over the sorted `name\0value\0` pairs.
pub fn fingerprint_of(labels: &Labels) -> String {
    let mut hash = Sha256::new();
    for (name, value) in labels {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(value.as_bytes());
        hash.update([0]);
    }
    hex(&hash.finalize()[..8])
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_fingerprint_does_not_depend_on_the_order_labels_came_in() {
        let a: Labels = [("job", "api"), ("instance", "a")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let b: Labels = [("instance", "a"), ("job", "api")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        assert_eq!(fingerprint_of(&a), fingerprint_of(&b));
        assert_eq!(fingerprint_of(&a).len(), 16);
        let c: Labels = [("instance", "b"), ("job", "api")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        assert_ne!(fingerprint_of(&a), fingerprint_of(&c));
    }

    #[test]
    fn cutting_text_keeps_whole_characters() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("hi", 10), "hi");
    }

    #[test]
    fn a_large_payload_is_kept_as_an_excerpt() {
        let big = serde_json::json!({ "text": "x".repeat(PAYLOAD_EXCERPT * 2) });
        let kept = excerpt(big);
        assert!(kept.as_str().is_some_and(|s| s.len() <= PAYLOAD_EXCERPT + 3));
        let small = serde_json::json!({ "a": 1 });
        assert_eq!(excerpt(small.clone()), small);
    }
}
