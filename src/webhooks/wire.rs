//! What goes over the wire to a subscriber: the exact body, and how a reply or an error
//! is read.

use bytes::Bytes;
use std::time::Duration;
use uuid::Uuid;

use super::deliveries::MessageRow;
use super::signing::Secret;

/// The exact bytes sent: the stored body with this subscriber's `meta` in front.
pub fn body(message: &MessageRow, subscriber: Uuid, secret: &Secret) -> Bytes {
    let base = message.base_url.trim_end_matches('/');
    let meta = serde_json::json!({
        "unsubscribe": format!(
            "{base}/subscribe/manage/{subscriber}?token={}",
            secret.unsubscribe_token(subscriber)
        ),
        "documentation": format!("{base}/subscribe#verifying"),
        "generated_at": crate::status_page::json::ts(message.created_at),
    });
    let rest = message.payload.trim();
    let rest = rest.strip_prefix('{').unwrap_or(rest).trim_start();
    let mut out = String::with_capacity(rest.len() + 300);
    out.push_str("{\"meta\":");
    out.push_str(&meta.to_string());
    if !rest.starts_with('}') {
        out.push(',');
    }
    out.push_str(rest);
    Bytes::from(out)
}

pub(crate) fn describe_status(status: u16) -> String {
    match status {
        300..=399 => format!("HTTP {status}: redirects are not followed"),
        410 => "HTTP 410 Gone: the endpoint asked not to be sent to any more".to_owned(),
        _ => format!("HTTP {status}"),
    }
}

/// An error and its causes in one line, without the URL (it may carry credentials).
pub(crate) fn describe_error(err: reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let err = err.without_url();
    let mut parts = vec![kind.to_owned()];
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn bodies_put_meta_first_and_stay_valid_json() {
        let message = MessageRow {
            id: Uuid::new_v4(),
            event: "incident.created".into(),
            payload: r#"{"page":{"id":"p"},"incident":{"id":"i"}}"#.into(),
            base_url: "https://status.example.com/".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let subscriber = Uuid::new_v4();
        let secret = Secret::generate();
        let bytes = body(&message, subscriber, &secret);
        assert!(bytes.starts_with(b"{\"meta\":"));
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(value["incident"]["id"], "i");
        let unsubscribe = value["meta"]["unsubscribe"].as_str().expect("link");
        assert!(unsubscribe.starts_with(&format!(
            "https://status.example.com/subscribe/manage/{subscriber}?token="
        )));
        assert_eq!(value["meta"]["generated_at"], "1970-01-01T00:00:00.000Z");
    }
}
