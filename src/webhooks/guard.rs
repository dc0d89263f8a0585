//! The SSRF guard: webhook destinations must be public addresses. URLs are checked when
//! subscribing, and every connection is checked again on the address it actually goes to
//! (the client resolves through [`GuardedResolver`], which drops refused addresses), so a
//! name that later resolves somewhere private — DNS rebinding — gets nowhere.
//!
//! What counts as public is decided in [`super::reachable`].

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use url::{Host, Url};

use super::reachable::refusal;

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2000;

/// Check the form of a webhook URL: http(s), a host, no fragment, a sane length.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Enter the URL that should receive the webhooks.".into());
    }
    if text.len() > MAX_URL_LEN {
        return Err(format!("A URL has at most {MAX_URL_LEN} characters."));
    }
    let url = Url::parse(text).map_err(|e| format!("This is not a valid URL ({e})."))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("The URL must start with http:// or https://.".into());
    }
    if url.host().is_none() {
        return Err("The URL needs a host name.".into());
    }
    if url.fragment().is_some() {
        return Err("The URL cannot have a #fragment: it is never sent to the server.".into());
    }
    // Encoding can lengthen it: the limit applies to what is stored and sent.
    if url.as_str().len() > MAX_URL_LEN {
        return Err(format!(
            "A URL has at most {MAX_URL_LEN} characters once encoded."
        ));
    }
    Ok(url)
}

/// `scheme://host:port`: the destination the per-host limit counts.
pub fn destination(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Resolve the URL's host and refuse it when any address is not public (unless
/// private destinations are allowed). Used when subscribing, to say at once what is wrong.
pub async fn check_destination(url: &Url, allow_private: bool) -> Result<(), String> {
    let port = url.port_or_known_default().unwrap_or(80);
    let (name, addrs): (String, Vec<IpAddr>) = match url.host() {
        Some(Host::Ipv4(ip)) => (ip.to_string(), vec![IpAddr::V4(ip)]),
        Some(Host::Ipv6(ip)) => (ip.to_string(), vec![IpAddr::V6(ip)]),
        Some(Host::Domain(domain)) => {
            let found = tokio::net::lookup_host((domain, port))
                .await
                .map_err(|_| format!("The host name {domain} could not be found."))?;
            (domain.to_owned(), found.map(|a| a.ip()).collect())
        }
        None => return Err("The URL needs a host name.".into()),
    };
    if allow_private {
        return Ok(());
    }
    for ip in addrs {
        if let Some(why) = refusal(ip) {
            return Err(refused_message(&name, ip, why));
        }
    }
    Ok(())
}

fn refused_message(name: &str, ip: IpAddr, why: &str) -> String {
    let target = if name == ip.to_string() {
        format!("{ip} is")
    } else {
        format!("{name} resolves to {ip},")
    };
    format!(
        "Webhooks are only sent to public addresses, and {target} {why}. \
         (An operator can allow private destinations with FIRELINE_WEBHOOK_ALLOW_PRIVATE=true.)"
    )
}

/// Refuse an IP-literal URL before sending: such URLs are connected to without resolving.
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    match refusal(ip) {
        Some(why) => Err(refused_message(&ip.to_string(), ip, why)),
        None => Ok(()),
    }
}

/// The delivery client's resolver: the system's, minus every refused address. When
/// nothing is left the connection fails with the reason.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match refusal(addr.ip()) {
                    Some(why) => {
                        refused.get_or_insert((addr.ip(), why));
                        false
                    }
                    None => true,
                })
                .collect();
            if allowed.is_empty() {
                let message = match refused {
                    Some((ip, why)) => refused_message(&host, ip, why),
                    None => format!("The host name {host} could not be found."),
                };
                return Err(message.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_for_form() {
        assert!(parse_url("https://hooks.example.com/x?y=1").is_ok());
        for bad in [
            "",
            "ftp://example.com/",
            "javascript:alert(1)",
            "https://example.com/#frag",
            "not a url",
        ] {
            assert!(parse_url(bad).is_err(), "{bad:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(parse_url(&long).is_err());
    }

    #[test]
    fn destinations_name_scheme_host_and_port() {
        let url = parse_url("https://Hooks.Example.com/a").expect("url");
        assert_eq!(destination(&url), "https://hooks.example.com:443");
        let url = parse_url("http://127.0.0.1:8080/a").expect("url");
        assert_eq!(destination(&url), "http://127.0.0.1:8080");
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_with_the_reason() {
        let url = parse_url("http://localhost:9/hook").expect("url");
        let err = check_destination(&url, false).await.expect_err("refused");
        assert!(err.contains("localhost resolves to"), "{err}");
        assert!(err.contains("loopback"), "{err}");
        assert!(check_destination(&url, true).await.is_ok());
    }
}
