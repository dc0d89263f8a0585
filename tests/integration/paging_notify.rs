//! Notifications of a page on the channels people carry, each checked against a real
//! local receiver in the shape its provider documents, with a working acknowledge link;
//! a permanent refusal shows on the contact method, a passing failure is retried, and a
//! private address is refused unless allowed.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

use crate::paging::setup;
use fireline::accounts::Role;
use fireline::notify::providers::ProviderConfig;
use fireline::notify::{NotifyConfig, Sender};

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    fn field(&self, name: &str) -> String {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .unwrap_or_default()
    }
}

/// A receiver on a loopback port that keeps every request; paths ending in `gone`
/// answer 404, in `flaky` 503, the rest 200 (with a Pushover-like receipt).
async fn receiver() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let keep = seen.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                let path = uri.path().to_owned();
                keep.lock().unwrap().push(Seen {
                    method,
                    path: path.clone(),
                    headers,
                    body,
                });
                if path.starts_with("/1/receipts/") && !path.ends_with("cancel.json") {
                let answer = json!({"status": 1, "acknowledged": 1, "acknowledged_at": 1_800_000_000, "expired": 0});
                (StatusCode::OK, answer.to_string())
            } else if path.ends_with("gone") {
                    (StatusCode::NOT_FOUND, "no_such_webhook".to_owned())
                } else if path.ends_with("flaky") {
                    (StatusCode::SERVICE_UNAVAILABLE, "try later".to_owned())
                } else {
                    (
                        StatusCode::OK,
                        json!({"status": 1, "receipt": "r123", "event_id": "$e"}).to_string(),
                    )
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn sender(pool: &sqlx::PgPool, receiver: &str, allow_private: bool) -> Sender {
    let config = NotifyConfig {
        allow_private,
        providers: ProviderConfig {
            pushover_url: receiver.to_owned(),
            pushover_token: Some("app-token-123".into()),
            twilio_url: receiver.to_owned(),
            twilio_account_sid: Some("AC123".into()),
            twilio_auth_token: Some("twilio-secret".into()),
            twilio_from: Some("+15550001111".into()),
        },
        ..NotifyConfig::default()
    };
    Sender::new(pool.clone(), config).unwrap()
}

#[tokio::test]
async fn a_page_reaches_every_channel_in_its_providers_shape_with_a_working_acknowledge_link() {
    let s = setup().await;
    let (recv, seen) = receiver().await;
    let methods = [
        json!({"kind": "ntfy", "settings": {"server": recv, "topic": "ada-pages", "token": "tk_secret"}}),
        json!({"kind": "pushover", "settings": {"user_key": "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"}}),
        json!({"kind": "twilio_sms", "settings": {"phone": "+4915112345678"}}),
        json!({"kind": "slack", "settings": {"url": format!("{recv}/slack")}}),
        json!({"kind": "discord", "settings": {"url": format!("{recv}/discord")}}),
        json!({"kind": "matrix", "settings": {"homeserver": recv, "room_id": "!ops:example.org", "access_token": "syt_secret"}}),
        json!({"kind": "webhook", "settings": {"url": format!("{recv}/hook")}}),
        // High only: a critical page does not use it.
        json!({"kind": "mattermost", "settings": {"url": format!("{recv}/mattermost")}, "urgencies": ["high"]}),
    ];
    for method in methods {
        let made = s
            .app
            .created(
                &format!("/api/v1/users/{}/contact-methods", s.ada),
                &s.ada_token,
                method,
            )
            .await;
        let shown = made.to_string();
        assert!(
            ["tk_secret", "syt_secret", "whsec_"]
                .iter()
                .all(|t| !shown.contains(t)),
            "secrets are never shown: {made}"
        );
    }
    s.alert("api", "firing").await;
    s.run_steps_until(OffsetDateTime::now_utc() + Duration::minutes(1))
        .await;
    assert_eq!(
        sender(s.app.pool(), &recv, true)
            .run_until_empty()
            .await
            .unwrap(),
        7
    );
    let seen = seen.lock().unwrap().clone();
    let by = |path: &str| {
        seen.iter()
            .find(|r| r.path.starts_with(path))
            .cloned()
            .unwrap_or_else(|| panic!("nothing at {path}: {seen:?}"))
    };

    let ntfy = seen
        .iter()
        .find(|r| r.path == "/")
        .cloned()
        .expect("a post to the ntfy server");
    let body = ntfy.json();
    assert_eq!(body["topic"], "ada-pages");
    assert_eq!(body["priority"], 5);
    assert_eq!(body["title"], "ALR-1 api is down");
    assert_eq!(ntfy.headers["authorization"], "Bearer tk_secret");
    let action = &body["actions"][0];
    assert_eq!(
        (
            action["action"].as_str(),
            action["method"].as_str(),
            action["clear"].as_bool()
        ),
        (Some("http"), Some("POST"), Some(true))
    );
    let ack_url = action["url"].as_str().unwrap().to_owned();
    assert!(
        ack_url.starts_with("http://fireline.test/ack/"),
        "{ack_url}"
    );

    let pushover = by("/1/messages.json");
    assert_eq!(pushover.field("token"), "app-token-123");
    assert_eq!(pushover.field("user"), "uQiRzpo4DXghDmr9QzzfQu27cmVRsG");
    assert_eq!(
        (
            pushover.field("priority"),
            pushover.field("retry"),
            pushover.field("expire")
        ),
        ("2".into(), "60".into(), "3600".into())
    );
    assert!(pushover
        .field("url")
        .starts_with("http://fireline.test/ack/"));

    let sms = by("/2010-04-01/Accounts/AC123/Messages.json");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("AC123:twilio-secret");
    assert_eq!(
        sms.headers["authorization"],
        format!("Basic {basic}").as_str()
    );
    assert_eq!(
        (sms.field("To"), sms.field("From")),
        ("+4915112345678".into(), "+15550001111".into())
    );
    assert!(sms
        .field("Body")
        .contains("Acknowledge: http://fireline.test/ack/"));

    let slack = by("/slack").json();
    assert!(slack["text"].as_str().unwrap().contains("ALR-1"));
    assert!(slack["blocks"][1]["elements"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://fireline.test/ack/"));
    let discord = by("/discord").json();
    assert_eq!(discord["username"], "Fireline");
    assert!(discord["embeds"][0]["url"]
        .as_str()
        .unwrap()
        .contains("/ack/"));

    let matrix = by("/_matrix/client/v3/rooms/");
    assert_eq!(matrix.method, Method::PUT);
    assert!(matrix.path.starts_with("/_matrix/client/v3/rooms/%21ops%3Aexample.org/send/m.room.message/fireline-notification-"), "{}", matrix.path);
    assert_eq!(matrix.headers["authorization"], "Bearer syt_secret");
    assert_eq!(matrix.json()["msgtype"], "m.text");
    assert_eq!(matrix.json()["format"], "org.matrix.custom.html");

    let hook = by("/hook");
    let secret: String = s
        .app
        .scalar("SELECT settings->>'secret' FROM contact_methods WHERE kind = 'webhook'")
        .await;
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    verifier
        .verify(&hook.body, &hook.headers)
        .expect("a valid Standard Webhooks signature");
    assert_eq!(hook.json()["type"], "page.notification");
    assert!(
        seen.iter().all(|r| r.path != "/mattermost"),
        "the high-only method was not used"
    );

    // The link acknowledges the page as Ada, as ntfy's button would.
    let path = ack_url.trim_start_matches("http://fireline.test");
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("x-forwarded-for", "10.0.0.9")
        .body(axum::body::Body::empty())
        .unwrap();
    let acked = s.app.send(req).await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.text);
    let page = s.page_of("api").await;
    assert_eq!(page["acknowledged_by"]["id"], s.ada.as_str());
    assert_eq!(page["acknowledged_via"], "link");
    let sent: i64 = s
        .app
        .scalar("SELECT count(*) FROM notifications WHERE state = 'sent'")
        .await;
    assert_eq!(sent, 7);
}

#[tokio::test]
async fn refusals_show_on_the_method_passing_failures_are_retried_and_private_addresses_are_refused(
) {
    let s = setup().await;
    let (recv, _) = receiver().await;
    for url in [
        format!("{recv}/slack-gone"),
        format!("{recv}/discord-flaky"),
    ] {
        let kind = if url.contains("slack") {
            "slack"
        } else {
            "discord"
        };
        s.app
            .created(
                &format!("/api/v1/users/{}/contact-methods", s.ada),
                &s.ada_token,
                json!({"kind": kind, "settings": {"url": url}}),
            )
            .await;
    }
    let list = s
        .app
        .api_get(
            &format!("/api/v1/users/{}/contact-methods", s.ada),
            &s.ada_token,
        )
        .await;
    let slack = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "slack")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .app
        .post(
            &format!("/api/v1/contact-methods/{slack}/test"),
            &s.ada_token,
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let discord = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "discord")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.app
        .post(
            &format!("/api/v1/contact-methods/{discord}/test"),
            &s.ada_token,
            "",
        )
        .await;
    sender(s.app.pool(), &recv, true)
        .run_until_empty()
        .await
        .unwrap();

    let methods = s
        .app
        .api_get(
            &format!("/api/v1/users/{}/contact-methods", s.ada),
            &s.ada_token,
        )
        .await;
    let find = |id: &str| {
        methods
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    assert!(
        find(&slack)["failure"]
            .as_str()
            .unwrap()
            .contains("HTTP 404"),
        "{methods}"
    );
    assert_eq!(find(&discord)["failure"], Value::Null);
    let (state, attempts): (String, i32) = sqlx::query_as(
        "SELECT n.state::text, n.attempts FROM notifications n JOIN contact_methods c ON c.id = n.contact_method_id WHERE c.kind = 'discord'",
    )
    .fetch_one(s.app.pool())
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), attempts),
        ("pending", 1),
        "a 503 is tried again later"
    );

    // Without the allowance, a loopback destination is refused before connecting.
    let r = s
        .app
        .patch(
            &format!("/api/v1/contact-methods/{slack}"),
            &s.ada_token,
            &json!({"settings": {"url": format!("{recv}/slack")}}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json()["failure"],
        Value::Null,
        "new settings clear the failure"
    );
    s.app
        .post(
            &format!("/api/v1/contact-methods/{slack}/test"),
            &s.ada_token,
            "",
        )
        .await;
    sender(s.app.pool(), &recv, false)
        .run_until_empty()
        .await
        .unwrap();
    let failure: String = s
        .app
        .scalar(&format!(
            "SELECT failure FROM contact_methods WHERE id = '{slack}'"
        ))
        .await;
    assert!(
        failure.contains("private")
            || failure.contains("loopback")
            || failure.contains("not public"),
        "{failure}"
    );

    // Someone else's methods are theirs alone; bad settings say what is wrong.
    let r = s
        .app
        .api(
            Method::GET,
            &format!("/api/v1/users/{}/contact-methods", s.ada),
            &s.grace_token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for (body, field) in [
        (
            json!({"kind": "twilio_sms", "settings": {"phone": "0151 1234"}}),
            "settings.phone",
        ),
        (
            json!({"kind": "ntfy", "settings": {"topic": "a b"}}),
            "settings.topic",
        ),
        (
            json!({"kind": "slack", "settings": {"url": "ftp://x"}}),
            "settings.url",
        ),
        (
            json!({"kind": "matrix", "settings": {"homeserver": recv, "room_id": "ops", "access_token": "t"}}),
            "settings.room_id",
        ),
    ] {
        let r = s
            .app
            .post(
                &format!("/api/v1/users/{}/contact-methods", s.grace),
                &s.grace_token,
                &body.to_string(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(r.json()["errors"][field].is_string(), "{body}: {}", r.text);
    }
}

/// The texts the team's channel (a Slack webhook at `/team`) received, in order.
fn channel_texts(seen: &Arc<Mutex<Vec<Seen>>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|r| r.path == "/team")
        .map(|r| {
            r.json()["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_teams_channel_hears_the_announcement_the_countdown_every_five_seconds_and_the_acknowledgement(
) {
    let s = setup().await;
    let (recv, seen) = receiver().await;
    let channel = s
        .app
        .created(
            &format!("/api/v1/teams/{}/channels", s.team),
            &s.ada_token,
            json!({"kind": "slack", "settings": {"url": format!("{recv}/team")}}),
        )
        .await;
    assert_eq!(channel["team_id"], s.team.as_str());
    assert_eq!(channel["urgencies"], json!(["critical", "high"]));
    // A phone is a person's, not a team's.
    let r = s
        .app
        .post(
            &format!("/api/v1/teams/{}/channels", s.team),
            &s.ada_token,
            &json!({"kind": "twilio_sms", "settings": {"phone": "+4915112345678"}}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    s.alert("api", "firing").await;
    // 25, 20, 15, 10 and 5 seconds before the end of the countdown.
    let ticks: i64 = s
        .app
        .scalar("SELECT count(*) FROM jobs WHERE kind = 'paging.tick'")
        .await;
    assert_eq!(ticks, 5);
    s.run_steps_until(OffsetDateTime::now_utc() + Duration::seconds(29))
        .await;
    let pid = s.page_of("api").await["id"].as_str().unwrap().to_owned();
    s.app
        .api_ok(
            Method::POST,
            &format!("/api/v1/pages/{pid}/acknowledge"),
            &s.grace_token,
            json!({}),
            StatusCode::OK,
        )
        .await;
    s.run_steps_until(OffsetDateTime::now_utc() + Duration::minutes(10))
        .await;
    sender(s.app.pool(), &recv, true)
        .run_until_empty()
        .await
        .unwrap();

    let texts = channel_texts(&seen);
    let says = |i: usize, what: &str| {
        assert!(
            texts[i].contains(what),
            "message {i} {:?} lacks {what:?}; all: {texts:#?}",
            texts[i]
        )
    };
    assert_eq!(texts.len(), 9, "{texts:#?}");
    says(0, "Announced to Platform");
    says(1, "Paging ada in 30 s");
    for (i, left) in [25, 20, 15, 10, 5].iter().enumerate() {
        says(2 + i, &format!("Paging ada in {left} s"));
    }
    says(7, "Acknowledged by grace");
    says(8, "acked mode");
    assert!(
        texts
            .iter()
            .all(|t| t.contains("http://fireline.test/admin/alert-groups/ALR-1")),
        "each links the alert"
    );
    let page = s.page_of("api").await;
    let notifications = page["notifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 9);
    assert!(
        notifications
            .iter()
            .all(|n| n["to"] == "Platform" && n["state"] == "sent" && n["method"] == "slack"),
        "{page}"
    );
}

#[tokio::test]
async fn a_high_alert_notifies_the_team_in_working_hours_and_otherwise_when_they_begin() {
    let s = setup().await;
    let (recv, seen) = receiver().await;
    let (_, admin) = s.app.token("boss@example.com", Role::Admin).await;
    s.app
        .created(
            "/api/v1/routing-rules",
            &admin,
            json!({"name": "Warnings are high", "position": 0, "urgency": "high", "team_id": s.team,
               "matchers": [{"label": "urgency", "op": "=", "value": "high"}]}),
        )
        .await;
    s.app
        .created(
            &format!("/api/v1/teams/{}/channels", s.team),
            &s.ada_token,
            json!({"kind": "slack", "settings": {"url": format!("{recv}/team")}}),
        )
        .await;
    s.app.created(&format!("/api/v1/users/{}/contact-methods", s.grace), &s.grace_token,
        json!({"kind": "ntfy", "settings": {"server": recv, "topic": "grace"}, "urgencies": ["high"]})).await;
    let send = |dedup: &str| {
        let body = json!({"dedup_key": dedup, "title": format!("{dedup} is slow"), "status": "firing", "labels": {"urgency": "high"}});
        let (app, key) = (&s.app, s.key.clone());
        async move {
            let r = app
                .ingest(&format!("/ingest/{key}/generic"), None, &body.to_string())
                .await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
            app.process_alerts().await;
            app.apply_events().await;
        }
    };

    // Working round the clock: told at once, nobody paged.
    let always = json!({"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "23:59", "time_zone": "UTC"});
    s.app
        .patched(
            &format!("/api/v1/teams/{}", s.team),
            &admin,
            json!({"working_hours": always}),
        )
        .await;
    send("disk").await;
    sender(s.app.pool(), &recv, true)
        .run_until_empty()
        .await
        .unwrap();
    let texts = channel_texts(&seen);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].contains("High urgency for Platform") && texts[0].contains("disk is slow"),
        "{texts:?}"
    );
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|r| r.path == "/" && r.json()["topic"] == "grace"),
        "Grace's high method"
    );
    let pages: i64 = s.app.scalar("SELECT count(*) FROM pages").await;
    assert_eq!(pages, 0, "a high alert pages nobody");

    // Outside working hours: held until they begin.
    let now = OffsetDateTime::now_utc();
    let later = now + Duration::hours(2);
    let window = json!({"days": [1, 2, 3, 4, 5, 6, 7], "time_zone": "UTC",
        "start": format!("{:02}:00", later.hour()), "end": format!("{:02}:59", later.hour())});
    s.app
        .patched(
            &format!("/api/v1/teams/{}", s.team),
            &admin,
            json!({"working_hours": window}),
        )
        .await;
    send("queue").await;
    sender(s.app.pool(), &recv, true)
        .run_until_empty()
        .await
        .unwrap();
    assert_eq!(channel_texts(&seen).len(), 1, "nothing yet");
    let (payload, run_at): (Value, OffsetDateTime) =
        sqlx::query_as("SELECT payload, run_at FROM jobs WHERE kind = 'paging.notice'")
            .fetch_one(s.app.pool())
            .await
            .unwrap();
    assert_eq!((run_at.hour(), run_at.minute()), (later.hour(), 0));
    let ctx = fireline::platform::jobs::JobContext {
        pool: s.app.pool().clone(),
        session_idle: Duration::hours(1),
    };
    fireline::paging::announce::notice_job(ctx, payload)
        .await
        .unwrap();
    sender(s.app.pool(), &recv, true)
        .run_until_empty()
        .await
        .unwrap();
    let texts = channel_texts(&seen);
    assert_eq!(texts.len(), 2);
    assert!(texts[1].contains("queue is slow"));
}

#[tokio::test]
async fn a_page_by_email_is_a_real_mail_with_text_and_html_and_a_working_acknowledge_link() {
    let Some(server) = crate::support::smtpd().await else {
        return;
    };
    let s = setup().await;
    s.app
        .created(
            &format!("/api/v1/users/{}/contact-methods", s.ada),
            &s.ada_token,
            json!({"kind": "email", "settings": {"address": "Ada@Example.com"}}),
        )
        .await;
    s.alert("api", "firing").await;
    s.run_steps_until(OffsetDateTime::now_utc() + Duration::minutes(1))
        .await;
    let smtp = fireline::notify::email::SmtpConfig::parse(
        Some(&format!("smtp://127.0.0.1:{}?tls=none", server.port)),
        Some("Fireline <pager@fireline.test>"),
    )
    .unwrap();
    let config = NotifyConfig {
        smtp,
        allow_private: true,
        ..NotifyConfig::default()
    };
    assert_eq!(
        Sender::new(s.app.pool().clone(), config)
            .unwrap()
            .run_until_empty()
            .await
            .unwrap(),
        1
    );

    let new = server.maildir.path().join("mail").join("new");
    let files: Vec<_> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).unwrap();
    let mail = mailparse::parse_mail(&raw).expect("the mail parses");
    use mailparse::MailHeaderMap;
    assert_eq!(
        mail.headers.get_first_value("Subject").as_deref(),
        Some("ALR-1 api is down")
    );
    assert_eq!(
        mail.headers.get_first_value("To").as_deref(),
        Some("ada@example.com")
    );
    assert!(mail
        .headers
        .get_first_value("From")
        .unwrap()
        .contains("pager@fireline.test"));
    assert_eq!(mail.ctype.mimetype, "multipart/alternative");
    let text = mail
        .subparts
        .iter()
        .find(|p| p.ctype.mimetype == "text/plain")
        .unwrap()
        .get_body()
        .unwrap();
    let html = mail
        .subparts
        .iter()
        .find(|p| p.ctype.mimetype == "text/html")
        .unwrap()
        .get_body()
        .unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("http://fireline.test/ack/"))
        .expect("the text carries the acknowledge link")
        .to_owned();
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");

    // The link works, once.
    let path = link.trim_start_matches("http://fireline.test");
    let shown = s.app.get(path).await;
    assert!(shown.text.contains("Acknowledge as ada"), "{}", shown.text);
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("x-forwarded-for", "10.0.0.9")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(s.app.send(req).await.status, StatusCode::OK);
    assert_eq!(s.page_of("api").await["acknowledged_via"], "link");
}

#[tokio::test]
async fn an_emergency_acknowledged_in_pushover_acknowledges_the_page_and_one_answered_elsewhere_stops_ringing(
) {
    let s = setup().await;
    let (recv, seen) = receiver().await;
    s.app
        .created(
            &format!("/api/v1/users/{}/contact-methods", s.ada),
            &s.ada_token,
            json!({"kind": "pushover", "settings": {"user_key": "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"}}),
        )
        .await;
    let providers = ProviderConfig {
        pushover_url: recv.clone(),
        pushover_token: Some("app-token-123".into()),
        ..ProviderConfig::default()
    };
    let poller = fireline::paging::receipts::Poller::new(s.app.pool().clone(), providers).unwrap();

    s.alert("api", "firing").await;
    s.run_steps_until(OffsetDateTime::now_utc() + Duration::minutes(1))
        .await;
    sender(s.app.pool(), &recv, true)
        .run_until_empty()
        .await
        .unwrap();
    let receipt: String = s.app.scalar("SELECT receipt FROM notifications").await;
    assert_eq!(receipt, "r123");
    assert_eq!(poller.poll_due().await.unwrap(), 1);
    let page = s.page_of("api").await;
    assert_eq!(page["state"], "acknowledged", "{page}");
    assert_eq!(page["acknowledged_by"]["id"], s.ada.as_str());
    assert_eq!(page["acknowledged_via"], "pushover");
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .any(|r| r.path == "/1/receipts/r123.json" && r.method == Method::GET));
    assert_eq!(
        poller.poll_due().await.unwrap(),
        0,
        "a closed receipt is not read again"
    );

    // Acknowledged in Fireline first: the poller tells Pushover to stop repeating.
    let r = s
        .app
        .delete(
            &format!("/api/v1/teams/{}/acked-mode", s.team),
            &s.ada_token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    s.alert("db", "firing").await;
    s.run_steps_until(OffsetDateTime::now_utc() + Duration::minutes(1))
        .await;
    sender(s.app.pool(), &recv, true)
        .run_until_empty()
        .await
        .unwrap();
    let pid = s.page_of("db").await["id"].as_str().unwrap().to_owned();
    s.app
        .api_ok(
            Method::POST,
            &format!("/api/v1/pages/{pid}/acknowledge"),
            &s.grace_token,
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(poller.poll_due().await.unwrap(), 1);
    let cancel = seen
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.path == "/1/receipts/r123/cancel.json")
        .cloned()
        .expect("cancelled");
    assert_eq!(cancel.field("token"), "app-token-123");
    assert_eq!(
        s.page_of("db").await["acknowledged_by"]["id"],
        s.grace.as_str()
    );
}

#[tokio::test]
async fn pages_to_people_are_claimed_before_older_channel_messages() {
    let s = setup().await;
    let pool = s.app.pool();
    let channel = uuid::Uuid::new_v4();
    let person = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO contact_methods (id, team_id, kind, settings)
         VALUES ($1, $2::uuid, 'slack', '{\"url\": \"http://127.0.0.1:9/x\"}')",
    )
    .bind(channel)
    .bind(&s.team)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO contact_methods (id, user_id, kind, settings)
         VALUES ($1, $2::uuid, 'webhook', '{\"url\": \"http://127.0.0.1:9/y\"}')",
    )
    .bind(person)
    .bind(&s.ada)
    .execute(pool)
    .await
    .unwrap();
    // Twenty countdown messages to the channel, then Ada's page, all due.
    let message = json!({"title": "t", "body": "b", "urgency": "critical"});
    for _ in 0..20 {
        sqlx::query(
            "INSERT INTO notifications (contact_method_id, destination, message, next_attempt_at)
             VALUES ($1, 'http://127.0.0.1:9', $2, now() - interval '1 minute')",
        )
        .bind(channel)
        .bind(&message)
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO notifications (contact_method_id, user_id, destination, message)
         VALUES ($1, $2::uuid, 'http://127.0.0.1:9', $3)",
    )
    .bind(person)
    .bind(&s.ada)
    .bind(&message)
    .execute(pool)
    .await
    .unwrap();
    let first = fireline::notify::outbox::claim(pool, 1, Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].contact_method_id, person);
    assert!(first[0].to_person);
    let next = fireline::notify::outbox::claim(pool, 5, Duration::seconds(60))
        .await
        .unwrap();
    assert!(next
        .iter()
        .all(|n| n.contact_method_id == channel && !n.to_person));
}
