//! The links in subscribers' mail, signed with a server key so that none of them is
//! stored: the confirmation link (it names the time it was sent, so a new one replaces
//! the old), and the link that manages or ends a subscription.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::signed::SigningKey;

const KEY_NAME: &str = "email_subscriber_links";
const CONFIRM: &[u8] = b"fireline.email.confirm.v1";
const MANAGE: &[u8] = b"fireline.email.manage.v1";

#[derive(Clone, Debug)]
pub struct Links {
    key: SigningKey,
}

impl Links {
    /// The server's key, made the first time any process asks.
    pub async fn load(pool: &PgPool) -> sqlx::Result<Links> {
        let key =
            crate::platform::server_secrets::get_or_create(pool, KEY_NAME, &SigningKey::generate())
                .await?;
        Ok(Links {
            key: SigningKey::new(key),
        })
    }

    fn confirm_message(id: Uuid, sent_at: OffsetDateTime) -> Vec<u8> {
        format!("{id}|{}", sent_at.unix_timestamp_nanos() / 1000).into_bytes()
    }

    pub fn confirm_token(&self, id: Uuid, sent_at: OffsetDateTime) -> String {
        URL_SAFE_NO_PAD.encode(self.key.sign(CONFIRM, &Self::confirm_message(id, sent_at)))
    }

    pub fn confirm_matches(&self, id: Uuid, sent_at: OffsetDateTime, token: &str) -> bool {
        URL_SAFE_NO_PAD.decode(token).is_ok_and(|raw| {
            self.key
                .verify(CONFIRM, &Self::confirm_message(id, sent_at), &raw)
        })
    }

    pub fn manage_token(&self, id: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(self.key.sign(MANAGE, id.as_bytes()))
    }

    pub fn manage_matches(&self, id: Uuid, token: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(token)
            .is_ok_and(|raw| self.key.verify(MANAGE, id.as_bytes(), &raw))
    }

    /// `/subscribe/email/{id}/confirm?token=…`
    pub fn confirm_url(&self, base: &str, id: Uuid, sent_at: OffsetDateTime) -> String {
        format!(
            "{}/subscribe/email/{id}/confirm?token={}",
            base.trim_end_matches('/'),
            self.confirm_token(id, sent_at)
        )
    }

    /// `/subscribe/email/{id}?token=…`: choose components, or unsubscribe.
    pub fn manage_url(&self, base: &str, id: Uuid) -> String {
        format!(
            "{}/subscribe/email/{id}?token={}",
            base.trim_end_matches('/'),
            self.manage_token(id)
        )
    }

    /// `/subscribe/email/{id}/unsubscribe?token=…`: the RFC 8058 one-click POST target.
    pub fn unsubscribe_url(&self, base: &str, id: Uuid) -> String {
        format!(
            "{}/subscribe/email/{id}/unsubscribe?token={}",
            base.trim_end_matches('/'),
            self.manage_token(id)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_link_opens_only_what_it_was_made_for() {
        let links = Links {
            key: SigningKey::new(vec![7; 32]),
        };
        let (id, other) = (Uuid::new_v4(), Uuid::new_v4());
        let sent = OffsetDateTime::now_utc();
        let confirm = links.confirm_token(id, sent);
        assert!(links.confirm_matches(id, sent, &confirm));
        assert!(!links.confirm_matches(other, sent, &confirm));
        assert!(!links.confirm_matches(id, sent + time::Duration::seconds(1), &confirm));
        let manage = links.manage_token(id);
        assert!(links.manage_matches(id, &manage));
        assert!(!links.manage_matches(other, &manage));
        assert!(
            !links.manage_matches(id, &confirm),
            "a confirm token manages nothing"
        );
        assert!(!links.confirm_matches(id, sent, &manage));
        assert!(!links.manage_matches(id, "not base64 !"));
    }
}
