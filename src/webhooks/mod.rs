//! Webhook subscribers: signed, durable, retried delivery of every public change.
//!
//! A change writes its message and one delivery row per interested subscriber in its own
//! transaction ([`outbox`]); the [`dispatch::Dispatcher`] claims due deliveries, signs
//! each attempt (Standard Webhooks, [`signing`]), sends only to public addresses
//! ([`guard`]) and records every attempt.

mod model;
pub mod subscribers;

pub use model::{retry_delay, DeliveryState, SubscriberState, DISABLE_AFTER, RETRY_SCHEDULE};

pub mod commands;
pub mod deliveries;
pub mod dispatch;
pub mod fan_out;
pub mod guard;
pub mod outbox;
pub mod reachable;
pub mod signing;
pub mod wire;

pub use dispatch::{DeliveryConfig, Dispatcher};
pub use outbox::Event;
pub(crate) use wire::describe_error;

use sqlx::PgPool;

use crate::platform::audit::AuditAction;
use uuid::Uuid;

use crate::incidents::CommandError;
use crate::webhooks::subscribers::{NewSubscriber, SubscriberRow};
use signing::Secret;

/// Public subscribes allowed per client address per hour.
pub const SUBSCRIBES_PER_HOUR: i64 = 10;

/// A new subscriber and its secret, which is shown this once.
pub struct Subscription {
    pub subscriber: SubscriberRow,
    pub secret: String,
}

pub struct SubscribeRequest<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub component_ids: &'a [Uuid],
    pub created_by: Option<Uuid>,
    pub created_ip: Option<&'a str>,
}

/// A subscriber's description: a few words for the admins.
pub fn check_description(description: &str) -> Result<(), crate::platform::text::FieldError> {
    crate::platform::text::DESCRIPTION.check("description", description)
}

/// Check and store a subscription: an http(s) URL of sane length, to a public address
/// (unless private ones are allowed), not subscribed already, components that exist.
/// The name is resolved before any database connection is taken, so a slow DNS answer
/// holds nothing; the subscriber and its audit entry commit together.
pub async fn subscribe(
    pool: &PgPool,
    allow_private: bool,
    request: SubscribeRequest<'_>,
) -> Result<Subscription, CommandError> {
    // The URL parser drops tabs and line breaks silently; refuse them instead.
    crate::platform::text::URL.check("url", request.url.trim())?;
    let url = guard::parse_url(request.url).map_err(|m| CommandError::invalid("url", m))?;
    let description = request.description.trim();
    check_description(description)?;
    let mut component_ids = request.component_ids.to_vec();
    component_ids.sort();
    component_ids.dedup();
    if component_ids.len() > 500 {
        return Err(CommandError::invalid(
            "component_ids",
            "Choose at most 500 components.",
        ));
    }
    guard::check_destination(&url, allow_private)
        .await
        .map_err(|m| CommandError::invalid("url", m))?;
    let mut tx = pool.begin().await?;
    let known = crate::components::find_many(&mut *tx, &component_ids).await?;
    if let Some(unknown) = component_ids
        .iter()
        .find(|id| !known.iter().any(|c| c.id == **id))
    {
        return Err(CommandError::invalid(
            "component_ids",
            format!("There is no component with the id {unknown}."),
        ));
    }
    let secret = Secret::generate().expose();
    let subscriber = subscribers::insert(
        &mut *tx,
        NewSubscriber {
            url: url.as_str(),
            destination: &guard::destination(&url),
            description,
            component_ids: &component_ids,
            secret: &secret,
            created_by: request.created_by,
            created_ip: request.created_ip,
        },
    )
    .await?
    .ok_or_else(|| CommandError::invalid("url", "This URL is already subscribed."))?;
    let created = AuditAction::SubscriberCreated {
        subscriber_id: subscriber.id,
        url: subscriber.url.clone(),
        from: request.created_ip.map(str::to_owned),
    };
    crate::platform::audit::log(&mut *tx, request.created_by, &created).await?;
    tx.commit().await?;
    Ok(Subscription { subscriber, secret })
}

/// The key public subscribe attempts are counted under: the address, or its /64 for
/// IPv6, where one client easily has a whole /64.
pub fn rate_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => ip.to_owned(),
    }
}

/// The link that removes a subscriber, as sent in every message's `meta.unsubscribe`.
pub fn unsubscribe_link(base_url: &str, subscriber: &SubscriberRow) -> Option<String> {
    let secret = Secret::parse(&subscriber.secret)?;
    Some(format!(
        "{}/subscribe/manage/{}?token={}",
        base_url.trim_end_matches('/'),
        subscriber.id,
        secret.unsubscribe_token(subscriber.id)
    ))
}

/// Whether `token` is the unsubscribe token of this subscriber.
pub fn unsubscribe_token_matches(subscriber: &SubscriberRow, token: &str) -> bool {
    Secret::parse(&subscriber.secret)
        .is_some_and(|secret| secret.check_unsubscribe_token(subscriber.id, token))
}

#[cfg(test)]
mod tests {
    use super::rate_key;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(rate_key("203.0.113.9"), "203.0.113.9");
        assert_eq!(rate_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            rate_key("2001:db8:1:2:bbbb::9"),
            rate_key("2001:db8:1:2:aaaa::1")
        );
        assert_eq!(rate_key("unknown"), "unknown");
    }
}
