//! One run of a check: an HTTP(S) request, a TCP connect or a DNS lookup, within its
//! timeout, and whether the answer is what the check expects. Checks are configured by
//! admins to watch their own services, private addresses included, so these requests do
//! not go through the SSRF guard that keeps webhook subscribers off private networks.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::Client;

use super::checks::{CheckKind, CheckRow, CheckSettings};

/// What a run found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub ok: bool,
    pub latency_ms: i32,
    /// Why it failed, in words a responder understands.
    pub error: Option<String>,
}

impl Outcome {
    fn failed(started: Instant, error: String) -> Outcome {
        Outcome {
            ok: false,
            latency_ms: elapsed_ms(started),
            error: Some(error),
        }
    }
}

fn elapsed_ms(started: Instant) -> i32 {
    i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX)
}

/// The HTTP clients of a process: one that verifies certificates and one for checks
/// told not to (a self-signed certificate whose expiry is still watched).
#[derive(Clone)]
pub struct Probes {
    verified: Client,
    unverified: Client,
}

impl Probes {
    pub fn new() -> anyhow::Result<Probes> {
        let build = |verify: bool| {
            Client::builder()
                .redirect(reqwest::redirect::Policy::limited(5))
                .no_proxy()
                .tls_info(true)
                .danger_accept_invalid_certs(!verify)
                .user_agent(concat!("Fireline-Check/", env!("CARGO_PKG_VERSION")))
                .build()
        };
        Ok(Probes {
            verified: build(true)?,
            unverified: build(false)?,
        })
    }

    /// Run `check` once.
    pub async fn run(&self, check: &CheckRow) -> Outcome {
        let settings = check.settings();
        let timeout = Duration::from_millis(u64::try_from(check.timeout_ms).unwrap_or(10_000));
        let started = Instant::now();
        let run = async {
            match check.kind {
                CheckKind::Http => self.http(&check.target, &settings, started).await,
                CheckKind::Tcp => tcp(&check.target, started).await,
                CheckKind::Dns => dns(&check.target, &settings, started).await,
            }
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::failed(
                started,
                format!("No answer within {} ms.", check.timeout_ms),
            ),
        }
    }

    async fn http(&self, url: &str, s: &CheckSettings, started: Instant) -> Outcome {
        let client = if s.verify_tls {
            &self.verified
        } else {
            &self.unverified
        };
        let method = reqwest::Method::from_bytes(s.method.as_bytes()).unwrap_or_default();
        let mut request = client.request(method, url);
        for (name, value) in &s.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &s.body {
            request = request.body(body.clone());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(err) => return Outcome::failed(started, http_error(&err)),
        };
        let status = response.status();
        let expiry = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .and_then(not_after);
        let needs_body = s.body_contains.is_some() || s.body_not_contains.is_some();
        let body = if needs_body {
            match read_capped(response).await {
                Ok(text) => text,
                Err(err) => {
                    return Outcome::failed(started, format!("Reading the answer failed: {err}."))
                }
            }
        } else {
            String::new()
        };
        let latency_ms = elapsed_ms(started);
        let fail = |error: String| Outcome {
            ok: false,
            latency_ms,
            error: Some(error),
        };
        let expected = match s.expected_status {
            Some(code) => status.as_u16() == code,
            None => status.is_success(),
        };
        if !expected {
            let wanted = s
                .expected_status
                .map_or("a 2xx status".to_owned(), |c| c.to_string());
            return fail(format!("Answered {status}, expected {wanted}."));
        }
        if let Some(needle) = &s.body_contains {
            if !body.contains(needle.as_str()) {
                return fail(format!("The answer does not contain {needle:?}."));
            }
        }
        if let Some(needle) = &s.body_not_contains {
            if body.contains(needle.as_str()) {
                return fail(format!("The answer contains {needle:?}."));
            }
        }
        if let Some(max) = s.max_response_ms {
            if i64::from(latency_ms) > i64::from(max) {
                return fail(format!(
                    "Answered in {latency_ms} ms, slower than {max} ms."
                ));
            }
        }
        if let Some(days) = s.cert_min_days {
            match expiry {
                Some(at) => {
                    let left = (at - time::OffsetDateTime::now_utc()).whole_days();
                    if left < i64::from(days) {
                        return fail(if left < 0 {
                            "The TLS certificate has expired.".to_owned()
                        } else {
                            format!(
                                "The TLS certificate expires in {left} days (at {}), fewer than {days}.",
                                crate::platform::time::format_utc(at)
                            )
                        });
                    }
                }
                None if url.starts_with("https:") => {
                    return fail("The TLS certificate could not be read.".to_owned())
                }
                None => return fail("A certificate check needs an https:// URL.".to_owned()),
            }
        }
        Outcome {
            ok: true,
            latency_ms,
            error: None,
        }
    }
}

/// How much of an answer's body is searched: a check is not a download.
pub const BODY_SEARCHED: usize = 1 << 20;

/// The first [`BODY_SEARCHED`] bytes of the body, as text.
async fn read_capped(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_SEARCHED - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= BODY_SEARCHED {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The cause of a failed request, without the URL (shown next to it already).
fn http_error(err: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut cause = err.source();
    let mut deepest = None;
    while let Some(c) = cause {
        deepest = Some(c.to_string());
        cause = c.source();
    }
    let what = if err.is_connect() {
        "Could not connect"
    } else if err.is_timeout() {
        "Timed out"
    } else if err.is_redirect() {
        "Too many redirects"
    } else {
        "The request failed"
    };
    match deepest {
        Some(why) => format!("{what}: {why}."),
        None => format!("{what}."),
    }
}

/// When a DER certificate stops being valid.
fn not_after(der: &[u8]) -> Option<time::OffsetDateTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    time::OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp()).ok()
}

async fn tcp(target: &str, started: Instant) -> Outcome {
    match tokio::net::TcpStream::connect(target).await {
        Ok(_) => Outcome {
            ok: true,
            latency_ms: elapsed_ms(started),
            error: None,
        },
        Err(err) => Outcome::failed(started, format!("Could not connect to {target}: {err}.")),
    }
}

async fn dns(host: &str, s: &CheckSettings, started: Instant) -> Outcome {
    let found: Vec<IpAddr> = match tokio::net::lookup_host((host, 0)).await {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(err) => return Outcome::failed(started, format!("{host} does not resolve: {err}.")),
    };
    let wanted: Vec<IpAddr> = found
        .iter()
        .copied()
        .filter(|ip| match s.record_type.as_deref() {
            Some("AAAA") => ip.is_ipv6(),
            Some("A") => ip.is_ipv4(),
            _ => true,
        })
        .collect();
    let shown = || {
        wanted
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if wanted.is_empty() {
        let kind = s.record_type.as_deref().unwrap_or("address");
        return Outcome::failed(started, format!("{host} has no {kind} record."));
    }
    if let Some(expect) = &s.expect_address {
        if !wanted.iter().any(|ip| ip.to_string() == *expect) {
            return Outcome::failed(
                started,
                format!("{host} resolves to {}, not {expect}.", shown()),
            );
        }
    }
    Outcome {
        ok: true,
        latency_ms: elapsed_ms(started),
        error: None,
    }
}
