//! Each channel's request, in the shape its provider documents (INTEROP.md §6): ntfy,
//! Pushover, Twilio SMS, Slack and Mattermost (Block Kit), Discord, Matrix (the
//! notification's id as transaction id, so a retry never posts twice), and a generic
//! webhook signed the Standard Webhooks way. Every base URL is configurable.

use serde_json::json;
use time::OffsetDateTime;

use super::contacts::{ContactKind, ContactRow};
use super::outbox::Message;
use crate::alerts::AlertUrgency;

/// Where the providers with fixed endpoints live, and Fireline's own credentials there.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub pushover_url: String,
    pub pushover_token: Option<String>,
    pub twilio_url: String,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<String>,
    pub twilio_from: Option<String>,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            pushover_url: "https://api.pushover.net".into(),
            pushover_token: None,
            twilio_url: "https://api.twilio.com".into(),
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
        }
    }
}

/// The request of one attempt, or why none can be made (which is permanent).
pub fn request(
    client: &reqwest::Client,
    config: &ProviderConfig,
    contact: &ContactRow,
    message: &Message,
    notification_id: i64,
) -> Result<reqwest::RequestBuilder, String> {
    let s = &contact.settings;
    let need = |v: &Option<String>, what: &str| {
        v.clone()
            .ok_or_else(|| format!("the contact method has no {what}"))
    };
    let text = match &message.ack_url {
        Some(url) => format!("{}\n\nAcknowledge: {url}", message.body),
        None => message.body.clone(),
    };
    Ok(match contact.kind {
        ContactKind::Ntfy => {
            let server = need(&s.server, "server")?;
            let priority = match message.urgency {
                AlertUrgency::Critical => 5,
                AlertUrgency::High => 4,
                AlertUrgency::Low => 3,
            };
            let mut body = json!({
                "topic": need(&s.topic, "topic")?,
                "title": message.title,
                "message": message.body,
                "priority": priority,
                "tags": [if message.test { "white_check_mark" } else { "rotating_light" }],
            });
            if let Some(url) = &message.ack_url {
                body["click"] = json!(url);
                body["actions"] = json!([{"action": "http", "label": "Acknowledge", "url": url, "method": "POST", "clear": true}]);
            }
            let mut req = client
                .post(format!("{}/", server.trim_end_matches('/')))
                .json(&body);
            if let Some(token) = &s.token {
                req = req.bearer_auth(token);
            }
            req
        }
        ContactKind::Pushover => {
            let token = config
                .pushover_token
                .clone()
                .ok_or("Pushover is not configured (FIRELINE_PUSHOVER_TOKEN)")?;
            let mut form = vec![
                ("token", token),
                ("user", need(&s.user_key, "user key")?),
                ("title", message.title.clone()),
                ("message", message.body.clone()),
            ];
            match message.urgency {
                // Emergency: repeated until acknowledged in the app (the receipt is polled).
                AlertUrgency::Critical if !message.test => {
                    form.extend([
                        ("priority", "2".into()),
                        ("retry", "60".into()),
                        ("expire", "3600".into()),
                    ]);
                }
                AlertUrgency::Critical | AlertUrgency::High => form.push(("priority", "1".into())),
                AlertUrgency::Low => form.push(("priority", "0".into())),
            }
            if let Some(url) = &message.ack_url {
                form.extend([("url", url.clone()), ("url_title", "Acknowledge".into())]);
            }
            client
                .post(format!(
                    "{}/1/messages.json",
                    config.pushover_url.trim_end_matches('/')
                ))
                .form(&form)
        }
        ContactKind::TwilioSms => {
            let (Some(sid), Some(auth), Some(from)) = (
                &config.twilio_account_sid,
                &config.twilio_auth_token,
                &config.twilio_from,
            ) else {
                return Err("Twilio is not configured (FIRELINE_TWILIO_ACCOUNT_SID, FIRELINE_TWILIO_AUTH_TOKEN, FIRELINE_TWILIO_FROM)".into());
            };
            let body = format!("{}: {text}", message.title);
            let form = [
                ("To", need(&s.phone, "phone number")?),
                ("From", from.clone()),
                ("Body", body),
            ];
            client
                .post(format!(
                    "{}/2010-04-01/Accounts/{sid}/Messages.json",
                    config.twilio_url.trim_end_matches('/')
                ))
                .basic_auth(sid, Some(auth))
                .form(&form)
        }
        ContactKind::Slack | ContactKind::Mattermost => {
            let mut blocks = vec![
                json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*\n{}", message.title, message.body)}}),
            ];
            if let Some(url) = &message.ack_url {
                blocks.push(
                    json!({"type": "actions", "elements": [{"type": "button", "style": "danger",
                    "text": {"type": "plain_text", "text": "Acknowledge"}, "url": url}]}),
                );
            }
            client
                .post(need(&s.url, "webhook URL")?)
                .json(&json!({"text": format!("{}: {text}", message.title), "blocks": blocks}))
        }
        ContactKind::Discord => {
            let mut embed = json!({
                "title": message.title,
                "description": message.body,
                "color": if message.urgency == AlertUrgency::Critical { 0xD0_3A_2F } else { 0xB3_59_00 },
                "timestamp": crate::platform::time::rfc3339(OffsetDateTime::now_utc()),
            });
            if let Some(url) = &message.ack_url {
                embed["url"] = json!(url);
                embed["fields"] = json!([{"name": "Acknowledge", "value": url, "inline": false}]);
            }
            client
                .post(need(&s.url, "webhook URL")?)
                .json(&json!({"content": message.title, "username": "Fireline", "embeds": [embed]}))
        }
        ContactKind::Matrix => {
            let homeserver = need(&s.homeserver, "homeserver")?;
            let room: String =
                url::form_urlencoded::byte_serialize(need(&s.room_id, "room id")?.as_bytes())
                    .collect();
            let escape = |t: &str| {
                t.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
            };
            let mut html = format!(
                "<strong>{}</strong><br>{}",
                escape(&message.title),
                escape(&message.body)
            );
            if let Some(url) = &message.ack_url {
                html.push_str(&format!(" <a href=\"{}\">Acknowledge</a>", escape(url)));
            }
            let txn = format!("fireline-notification-{notification_id}");
            client
                .put(format!(
                    "{}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}",
                    homeserver.trim_end_matches('/')
                ))
                .bearer_auth(need(&s.access_token, "access token")?)
                .json(
                    &json!({"msgtype": "m.text", "body": format!("{}: {text}", message.title),
                              "format": "org.matrix.custom.html", "formatted_body": html}),
                )
        }
        ContactKind::Webhook => {
            let secret = need(&s.secret, "secret")?;
            let secret = crate::webhooks::signing::Secret::parse(&secret)
                .ok_or("the webhook's secret is unreadable")?;
            let id = format!("msg_notification_{notification_id}");
            let timestamp = OffsetDateTime::now_utc().unix_timestamp();
            let body = serde_json::to_vec(&json!({
                "type": if message.test { "notification.test" } else { "page.notification" },
                "timestamp": crate::platform::time::rfc3339(OffsetDateTime::now_utc()),
                "data": {"title": message.title, "body": message.body, "ack_url": message.ack_url, "urgency": message.urgency},
            }))
            .unwrap_or_default();
            let signature = secret.sign(&id, timestamp, &body);
            client
                .post(need(&s.url, "URL")?)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body)
        }
        // Mail goes over SMTP (`notify::email`), not HTTP.
        ContactKind::Email => return Err("email is sent over SMTP".into()),
    })
}

/// Whether an answer means trying again cannot help: the number is invalid, the token
/// revoked, the webhook gone. Throttling and server errors are worth a retry.
pub fn permanent(kind: ContactKind, status: u16) -> bool {
    match status {
        408 | 425 | 429 => false,
        404 | 410
            if matches!(
                kind,
                ContactKind::Slack | ContactKind::Discord | ContactKind::Mattermost
            ) =>
        {
            true
        }
        // Twilio's 21211 (an invalid number) is a 400, as are refusals of the request
        // itself; a revoked token is a 401 or 403.
        400..=499 => true,
        _ => false,
    }
}
