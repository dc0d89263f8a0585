//! Email over SMTP (`FIRELINE_SMTP_URL` = `smtp://user:pass@host:port?tls=starttls|tls|none`,
//! `FIRELINE_MAIL_FROM`): a text and an HTML body, with the acknowledge link in both.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::outbox::Message;

/// Where mail goes and whom it is from. `Debug` never shows the password.
#[derive(Clone)]
pub struct SmtpConfig {
    pub url: url::Url,
    pub from: Mailbox,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.url.host_str())
            .field("port", &self.url.port())
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl SmtpConfig {
    /// Read the two settings; both or neither.
    pub fn parse(url: Option<&str>, from: Option<&str>) -> anyhow::Result<Option<SmtpConfig>> {
        let (url, from) = match (url.map(str::trim), from.map(str::trim)) {
            (None | Some(""), None | Some("")) => return Ok(None),
            (Some(url), Some(from)) if !url.is_empty() && !from.is_empty() => (url, from),
            _ => anyhow::bail!(
                "FIRELINE_SMTP_URL and FIRELINE_MAIL_FROM go together: set both, or neither"
            ),
        };
        let url = url::Url::parse(url)
            .map_err(|e| anyhow::anyhow!("FIRELINE_SMTP_URL is not a URL: {e}"))?;
        anyhow::ensure!(
            url.scheme() == "smtp",
            "FIRELINE_SMTP_URL starts with smtp://"
        );
        anyhow::ensure!(url.host_str().is_some(), "FIRELINE_SMTP_URL names no host");
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        anyhow::ensure!(
            matches!(tls.as_deref(), None | Some("starttls" | "tls" | "none")),
            "FIRELINE_SMTP_URL's tls is starttls, tls or none"
        );
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("FIRELINE_MAIL_FROM is not an address: {e}"))?;
        Ok(Some(SmtpConfig { url, from }))
    }

    /// The transport (it connects when it sends).
    pub fn transport(&self) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        self.pooled_transport(4)
    }

    /// A transport that keeps up to `connections` connections open and reuses them.
    pub fn pooled_transport(
        &self,
        connections: u32,
    ) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        let host = self.url.host_str().unwrap_or_default();
        let tls = self
            .url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let builder = match tls.as_deref() {
            Some("none") => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            Some("tls") => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
        };
        let default_port = if tls.as_deref() == Some("tls") {
            465
        } else {
            587
        };
        let pool = lettre::transport::smtp::PoolConfig::new()
            .max_size(connections.max(1))
            .idle_timeout(std::time::Duration::from_secs(30));
        let mut builder = builder
            .port(self.url.port().unwrap_or(default_port))
            .timeout(Some(std::time::Duration::from_secs(20)))
            .pool_config(pool);
        if !self.url.username().is_empty() {
            let user = percent_decode(self.url.username());
            let password = percent_decode(self.url.password().unwrap_or_default());
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(builder.build())
    }
}

fn percent_decode(raw: &str) -> String {
    url::form_urlencoded::parse(format!("x={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The mail for `to`.
pub fn mail(from: &Mailbox, to: &str, message: &Message) -> Result<lettre::Message, String> {
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("{to} is not an address: {e}"))?;
    let mut text = message.body.clone();
    let mut html = format!(
        "<p><strong>{}</strong></p><p>{}</p>",
        escape(&message.title),
        escape(&message.body)
    );
    if let Some(url) = &message.ack_url {
        text.push_str(&format!(
            "\n\nAcknowledge (nobody else is paged for it): {url}\n"
        ));
        html.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;padding:.6em 1.2em;background:#b3261e;color:#fff;text-decoration:none;border-radius:4px\">Acknowledge</a></p>",
            escape(url)
        ));
    }
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&message.title)
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("the mail cannot be made: {e}"))
}

/// Send it; `Err((permanent, why))` when the server refused it or could not be reached.
pub async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    mail: lettre::Message,
) -> Result<(), (bool, String)> {
    match transport.send(mail).await {
        Ok(_) => Ok(()),
        Err(e) => Err((e.is_permanent(), format!("SMTP: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The pooled transport starts its pool on the runtime.
    #[tokio::test]
    async fn the_settings_go_together_and_never_show_the_password() {
        assert!(SmtpConfig::parse(None, None)
            .expect("none is fine")
            .is_none());
        assert!(SmtpConfig::parse(Some("smtp://mail:25"), None).is_err());
        assert!(SmtpConfig::parse(Some("http://mail:25"), Some("a@b.example")).is_err());
        assert!(SmtpConfig::parse(Some("smtp://mail:25?tls=maybe"), Some("a@b.example")).is_err());
        let config = SmtpConfig::parse(
            Some("smtp://pager:hunter2@mail.example:587?tls=starttls"),
            Some("Pager <a@b.example>"),
        )
        .expect("valid")
        .expect("set");
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(config.transport().is_ok());
        assert_eq!(percent_decode("p%40ss"), "p@ss");
    }
}
