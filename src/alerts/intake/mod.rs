//! One delivery from a monitoring tool, read into Fireline's own shape at the door.
//!
//! Each format has a pure parser (`alertmanager`, `pagerduty`, `generic`) from the bytes
//! sent to a [`Delivery`]. The door stores the delivery and answers; grouping applies it
//! later (`alerts::grouping`). Parsers ignore fields they do not know, and refuse with
//! an [`IntakeError`] that each door words in its format's own answer.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::OffsetDateTime;

use super::model::{AlertFormat, AlertSeverity, AlertStatus};

pub mod alertmanager;
pub mod generic;
pub mod pagerduty;
pub mod signature;

/// Label or annotation names to values, sorted so that equal sets compare and hash equal.
pub type Labels = BTreeMap<String, String>;

/// The most of one alert's own object kept with it (the rest is cut, not refused).
pub const PAYLOAD_EXCERPT: usize = 16 * 1024;

/// The longest group title kept.
pub const TITLE_MAX: usize = 200;

/// The longest `dedup_key` (PagerDuty v1: `incident_key`) taken, PagerDuty's limit;
/// generic events keep to it too.
pub const DEDUP_KEY_MAX: usize = 255;

/// The longest alert summary kept (PagerDuty's documented limit for `summary`).
pub const SUMMARY_MAX: usize = 1024;

/// The most problems one refusal lists; a payload of a thousand broken alerts gets the
/// first few and a count, not a thousand lines.
const PROBLEMS_MAX: usize = 20;

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
    /// The fingerprints of the alerts it lists, in order (none for an acknowledge or a
    /// resolve of the whole group).
    pub fn fingerprints(&self) -> Vec<&str> {
        match &self.action {
            Action::Alerts { alerts, .. } => {
                alerts.iter().map(|a| a.fingerprint.as_str()).collect()
            }
            Action::Acknowledge | Action::Resolve => Vec::new(),
        }
    }

    /// A digest of everything grouping looks at: equal digests mean a re-send that
    /// changes nothing but "last seen" (Alertmanager repeats whole groups).
    ///
    /// Only what decides an alert's state and title counts: its identity, status,
    /// severity, summary, times, labels and annotations. The excerpt of the sender's object and the text derived from live
    /// values (Grafana's `values`, `valueString`) change on every evaluation and would
    /// otherwise turn each repeat into a change.
    pub fn digest(&self) -> [u8; 32] {
        #[derive(Serialize)]
        enum Asked<'a> {
            Alerts(Vec<SignalState<'a>>, bool, u32),
            Acknowledge,
            Resolve,
        }
        #[derive(Serialize)]
        struct SignalState<'a>(
            &'a str,
            AlertStatus,
            Option<AlertSeverity>,
            &'a str,
            Option<i128>,
            Option<i128>,
            &'a Labels,
            &'a Labels,
        );
        let asked = match &self.action {
            Action::Alerts {
                alerts,
                complete,
                truncated,
            } => Asked::Alerts(
                alerts
                    .iter()
                    .map(|a| {
                        SignalState(
                            &a.fingerprint,
                            a.status,
                            a.severity,
                            &a.summary,
                            a.starts_at.map(OffsetDateTime::unix_timestamp_nanos),
                            a.ends_at.map(OffsetDateTime::unix_timestamp_nanos),
                            &a.labels,
                            &a.annotations,
                        )
                    })
                    .collect(),
                *complete,
                *truncated,
            ),
            Action::Acknowledge => Asked::Acknowledge,
            Action::Resolve => Asked::Resolve,
        };
        let canonical =
            serde_json::to_vec(&(&self.labels, &self.annotations, asked)).unwrap_or_default();
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

/// Replaces every NUL character in the strings and object keys of `value` with U+FFFD.
/// Postgres refuses `\u0000` in text and jsonb, and one stray NUL should not lose an
/// alert. (serde_json caps nesting at 128 levels, which bounds the recursion.)
pub fn replace_nul(value: &mut Value) {
    match value {
        Value::String(text) if text.contains('\0') => *text = text.replace('\0', "\u{FFFD}"),
        Value::Array(items) => items.iter_mut().for_each(replace_nul),
        Value::Object(map) => {
            if map.keys().any(|name| name.contains('\0')) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(name, item)| (name.replace('\0', "\u{FFFD}"), item))
                    .collect();
            }
            map.values_mut().for_each(replace_nul);
        }
        _ => {}
    }
}

/// Reads `body` as one JSON object with its NULs replaced ([`replace_nul`]).
pub(crate) fn json_object(body: &[u8]) -> Result<Value, IntakeError> {
    let mut value: Value =
        serde_json::from_slice(body).map_err(|err| IntakeError::Malformed(err.to_string()))?;
    if !value.is_object() {
        return Err(IntakeError::Malformed(
            "the body must be a JSON object".to_owned(),
        ));
    }
    replace_nul(&mut value);
    Ok(value)
}

/// Reads `value` into a format's own shape; a wrong type is refused with the path of
/// the field (`alerts[0].labels.severity: invalid type: integer ...`).
pub(crate) fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, IntakeError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        IntakeError::Malformed(if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        })
    })
}

/// The problems found in one delivery, each saying which field and why.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<String>);

impl Problems {
    pub(crate) fn push(&mut self, problem: impl Into<String>) {
        self.0.push(problem.into());
    }

    /// `value` when nothing was wrong, else every problem (the first [`PROBLEMS_MAX`]).
    pub(crate) fn or<T>(self, value: impl FnOnce() -> T) -> Result<T, IntakeError> {
        let mut problems = self.0;
        if problems.is_empty() {
            return Ok(value());
        }
        if problems.len() > PROBLEMS_MAX {
            let more = problems.len() - PROBLEMS_MAX;
            problems.truncate(PROBLEMS_MAX);
            problems.push(format!("and {more} more problems"));
        }
        Err(IntakeError::Invalid(problems))
    }
}

/// `text` unless it is missing or only blanks.
pub(crate) fn filled(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

/// Reads an RFC 3339 time (`2024-05-01T12:00:00.123456789+02:00`), or failing that any
/// ISO 8601 one (PagerDuty's own examples write `2015-07-17T08:42:58.315+0000`).
pub(crate) fn parse_time(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    OffsetDateTime::parse(raw, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(raw, &Iso8601::DEFAULT))
        .ok()
}

/// A link, unless `href` is blank (Grafana sends `"dashboardURL": ""` for none).
pub(crate) fn link_to(href: Option<&str>, text: &str) -> Option<Link> {
    let href = href?.trim();
    (!href.is_empty()).then(|| Link {
        href: href.to_owned(),
        text: text.to_owned(),
    })
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
        assert!(kept
            .as_str()
            .is_some_and(|s| s.len() <= PAYLOAD_EXCERPT + 3));
        let small = serde_json::json!({ "a": 1 });
        assert_eq!(excerpt(small.clone()), small);
    }
}
