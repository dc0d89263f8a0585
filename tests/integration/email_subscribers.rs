//! Email subscribers against a real SMTP server on loopback (aiosmtpd): double opt-in,
//! what is sent before and after confirming, the mail parsed as MIME with its RFC 8058
//! headers, per-component choices, unsubscribing by the one-click POST and by the link,
//! maintenance reminders on a controllable clock, bounces from a server that refuses the
//! address, the abuse guard, the API and the admin's CSV.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::email_subscribers::Mailer;
use mailparse::{MailHeaderMap, ParsedMail};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{smtpd, Smtpd, TestApp};

/// An app that sends mail to `server`.
async fn app_mailing(server: &Smtpd) -> TestApp {
    let mut settings = Settings::for_base_url("http://status.acme.test");
    settings.notify.smtp = Some(server.config());
    let app = TestApp::with_settings(settings).await;
    app.exec("UPDATE page_settings SET name = 'Acme', accent = '#0a7d5a'")
        .await;
    app.state.status_page.refresh().await.unwrap();
    app
}

async fn send_mail(app: &TestApp, server: &Smtpd) -> usize {
    Mailer::new(app.pool().clone(), &server.config(), 2)
        .await
        .unwrap()
        .run_until_empty()
        .await
        .unwrap()
}

/// A mail's text and HTML parts.
fn parts(mail: &ParsedMail) -> (String, String) {
    let mut text = String::new();
    let mut html = String::new();
    for part in &mail.subparts {
        let kind = part.ctype.mimetype.clone();
        if kind == "text/plain" {
            text = part.get_body().unwrap();
        } else if kind == "text/html" {
            html = part.get_body().unwrap();
        }
    }
    assert!(!text.is_empty() && !html.is_empty(), "text and HTML parts");
    (text, html)
}

fn subject(mail: &ParsedMail) -> String {
    mail.headers.get_first_value("Subject").unwrap_or_default()
}

/// The first link in `text` that starts with `prefix`, made relative to the app.
fn link(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    let end = text[start..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '>')
        .map_or(text.len(), |e| start + e);
    text[start..end]
        .trim_start_matches("http://status.acme.test")
        .to_owned()
}

/// Subscribe `email` on the public page (from `ip`), confirm through the mailed link, and
/// return the manage link of the confirmation page's mail.
async fn subscribe_and_confirm(app: &TestApp, server: &Smtpd, email: &str, components: &[&str]) {
    let mut visitor = app.browser();
    let mut fields = vec![("email", email)];
    fields.extend(components.iter().map(|c| ("component", *c)));
    let asked = visitor
        .submit("/subscribe", "/subscribe/email", &fields)
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    server.clear();
    assert_eq!(send_mail(app, server).await, 1);
    let raw = server.mails().pop().unwrap();
    let mail = mailparse::parse_mail(&raw).unwrap();
    let (text, _) = parts(&mail);
    let confirm = link(&text, "http://status.acme.test/subscribe/email/");
    let page = visitor.get(&confirm).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let token = page.attr("input[name=token]", "value").unwrap();
    let action = page.attr("form.subscribe", "action").unwrap();
    let done = visitor
        .submit(&confirm, &action, &[("token", &token)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("You are subscribed"), "{}", done.text);
    server.clear();
}

#[tokio::test]
async fn nothing_but_the_confirmation_reaches_an_address_until_it_is_confirmed() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let mut visitor = app.browser();
    let page = visitor.get("/subscribe").await;
    assert!(page.text.contains("By email"));
    assert!(page.text.contains("For developers"));

    let asked = visitor
        .submit(
            "/subscribe",
            "/subscribe/email",
            &[("email", "Carol@Example.com")],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.select("#email-sent")[0].contains("Check your inbox"));

    // An incident published before confirming reaches nobody.
    app.declare(
        &token,
        json!({"title": "Before confirming", "severity": "sev3", "initial_update": "Early news."}),
    )
    .await;
    assert_eq!(send_mail(&app, &server).await, 1, "only the confirmation");
    let raw = server.mails().pop().unwrap();
    let mail = mailparse::parse_mail(&raw).unwrap();
    assert_eq!(
        subject(&mail),
        "Confirm your subscription to Acme's status updates"
    );
    assert_eq!(
        mail.headers.get_first_value("To").as_deref(),
        Some("Carol@Example.com")
    );
    assert!(
        mail.headers.get_first_value("List-Unsubscribe").is_none(),
        "no unsubscribe before there is a subscription"
    );
    let (text, html) = parts(&mail);
    assert!(!text.contains("Early news"));
    let confirm = link(&text, "http://status.acme.test/subscribe/email/");
    assert!(html.contains(&format!("http://status.acme.test{confirm}")));

    // The link asks first: opening it confirms nothing.
    let opened = visitor.get(&confirm).await;
    assert_eq!(opened.status, StatusCode::OK);
    let state: String = app
        .scalar("SELECT state::text FROM email_subscribers")
        .await;
    assert_eq!(state, "unconfirmed");
    // A wrong token is refused.
    let forged = visitor.get(&format!("{confirm}x")).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let token_field = opened.attr("input[name=token]", "value").unwrap();
    let action = opened.attr("form.subscribe", "action").unwrap();
    let done = visitor
        .submit(&confirm, &action, &[("token", &token_field)])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.select("#confirmed")[0].contains("Carol@Example.com"));
    let state: String = app
        .scalar("SELECT state::text FROM email_subscribers")
        .await;
    assert_eq!(state, "confirmed");
    server.clear();

    // Now the news comes, with both parts, the page's name and colour, and RFC 8058.
    let incident = app.declare(&token, json!({"title": "Checkout errors", "severity": "sev2", "initial_update": "Some payments **fail**; we are on it."})).await;
    assert_eq!(send_mail(&app, &server).await, 1);
    let raw = server.mails().pop().unwrap();
    let mail = mailparse::parse_mail(&raw).unwrap();
    assert_eq!(
        subject(&mail),
        "[Acme status] Investigating: Checkout errors"
    );
    let unsubscribe = mail.headers.get_first_value("List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with("<http://status.acme.test/subscribe/email/")
            && unsubscribe.ends_with('>'),
        "{unsubscribe}"
    );
    assert_eq!(
        mail.headers
            .get_first_value("List-Unsubscribe-Post")
            .as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let (text, html) = parts(&mail);
    assert!(text.contains("Some payments **fail**"), "{text}");
    assert!(
        html.contains("<strong>fail</strong>"),
        "Markdown rendered: {html}"
    );
    assert!(html.contains("#0a7d5a"), "the accent colour");
    assert!(html.contains("Acme"));
    let page = format!(
        "http://status.acme.test/incidents/{}",
        incident["id"].as_str().unwrap()
    );
    assert!(text.contains(&page) && html.contains(&page));
    // The manage link in the mail opens the subscriber's own page.
    let manage = link(&text, "http://status.acme.test/subscribe/email/");
    let own = visitor.get(&manage).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.text.contains("Carol@Example.com"));
}

#[tokio::test]
async fn the_form_answers_the_same_for_new_waiting_and_subscribed_addresses() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    subscribe_and_confirm(&app, &server, "known@example.com", &[]).await;
    let answer = |r: &crate::support::TestResponse| (r.status, r.select("#email-sent"));
    let mut visitor = app.browser_at("198.51.100.7");
    let known = visitor
        .submit(
            "/subscribe",
            "/subscribe/email",
            &[("email", "known@example.com")],
        )
        .await;
    let new = visitor
        .submit(
            "/subscribe",
            "/subscribe/email",
            &[("email", "new@example.com")],
        )
        .await;
    let (known_status, known_text) = answer(&known);
    let (new_status, new_text) = answer(&new);
    assert_eq!(known_status, new_status);
    assert_eq!(
        known_text[0].replace("known@example.com", "X"),
        new_text[0].replace("new@example.com", "X")
    );
    // The subscribed address is told so (and keeps its choice); the new one is asked.
    assert_eq!(send_mail(&app, &server).await, 2);
    let subjects: Vec<String> = server
        .mails()
        .iter()
        .map(|raw| subject(&mailparse::parse_mail(raw).unwrap()))
        .collect();
    assert!(subjects.contains(&"You already get Acme's status updates".to_owned()));
    assert!(subjects.contains(&"Confirm your subscription to Acme's status updates".to_owned()));
    let states: Vec<String> =
        sqlx::query_scalar("SELECT state::text FROM email_subscribers ORDER BY email_key")
            .fetch_all(app.pool())
            .await
            .unwrap();
    assert_eq!(states, ["confirmed", "unconfirmed"]);

    // A bad address is refused with the reason, keeping what was typed.
    let bad = visitor
        .submit(
            "/subscribe",
            "/subscribe/email",
            &[("email", "not an address")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.select("#email-error")[0].contains("not an email address"));
    assert_eq!(
        bad.attr("#email", "value").as_deref(),
        Some("not an address")
    );
}

#[tokio::test]
async fn subscribers_hear_only_of_the_components_they_chose() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let api = app.component(&token, "API").await;
    let web = app.component(&token, "Website").await;
    app.state.status_page.refresh().await.unwrap();
    subscribe_and_confirm(&app, &server, "everything@example.com", &[]).await;
    subscribe_and_confirm(&app, &server, "api@example.com", &[&api]).await;

    app.declare(&token, json!({"title": "Website slow", "severity": "sev3",
        "components": [{"id": web, "status": "degraded_performance"}], "initial_update": "Pages load slowly."})).await;
    // The component's own change is told by the incident's mail, not a second one.
    assert_eq!(send_mail(&app, &server).await, 1);
    let raw = server.mails().pop().unwrap();
    let mail = mailparse::parse_mail(&raw).unwrap();
    assert_eq!(
        mail.headers.get_first_value("To").as_deref(),
        Some("everything@example.com")
    );
    let (text, _) = parts(&mail);
    assert!(text.contains("Affected: Website"), "{text}");
    server.clear();

    // The API changes on its own: both hear of it.
    app.patched(
        &format!("/api/v1/components/{api}"),
        &token,
        json!({"status": "major_outage"}),
    )
    .await;
    assert_eq!(send_mail(&app, &server).await, 2);
    for raw in server.mails() {
        let mail = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(subject(&mail), "[Acme status] API: Major outage");
    }
    server.clear();

    // Internal incidents and updates that notify nobody send nothing.
    app.declare(&token, json!({"title": "Secret", "severity": "sev3", "visibility": "internal", "initial_update": "Hush."})).await;
    assert_eq!(send_mail(&app, &server).await, 0);
    let stored: i64 = app
        .scalar("SELECT count(*) FROM email_messages WHERE text_body LIKE '%Hush%'")
        .await;
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn one_click_and_the_manage_page_unsubscribe_and_choose() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let api = app.component(&token, "API").await;
    app.state.status_page.refresh().await.unwrap();
    subscribe_and_confirm(&app, &server, "one@example.com", &[]).await;
    subscribe_and_confirm(&app, &server, "two@example.com", &[]).await;
    app.declare(
        &token,
        json!({"title": "Slow", "severity": "sev3", "initial_update": "Slow."}),
    )
    .await;
    assert_eq!(send_mail(&app, &server).await, 2);
    let mut unsubscribe = Vec::new();
    let mut manage = Vec::new();
    for raw in server.mails() {
        let mail = mailparse::parse_mail(&raw).unwrap();
        let to = mail.headers.get_first_value("To").unwrap();
        let header = mail.headers.get_first_value("List-Unsubscribe").unwrap();
        let url = header
            .trim_matches(|c| c == '<' || c == '>')
            .trim_start_matches("http://status.acme.test")
            .to_owned();
        let (text, _) = parts(&mail);
        unsubscribe.push((to.clone(), url));
        manage.push((to, link(&text, "http://status.acme.test/subscribe/email/")));
    }
    unsubscribe.sort();
    manage.sort();

    // The mail client's POST: no cookie, no CSRF token, the signed URL is the authority.
    let one_click = |path: &str, body: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let (_, url) = &unsubscribe[0];
    let forged = app
        .send(one_click(
            &url.replace("token=", "token=A"),
            "List-Unsubscribe=One-Click",
        ))
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let wrong_body = app.send(one_click(url, "List-Unsubscribe=Maybe")).await;
    assert_eq!(wrong_body.status, StatusCode::BAD_REQUEST);
    let done = app.send(one_click(url, "List-Unsubscribe=One-Click")).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let again = app.send(one_click(url, "List-Unsubscribe=One-Click")).await;
    assert_eq!(again.status, StatusCode::OK, "a second click is fine");
    let left: Vec<String> = sqlx::query_scalar("SELECT email FROM email_subscribers")
        .fetch_all(app.pool())
        .await
        .unwrap();
    assert_eq!(left, ["two@example.com"]);

    // The manage page: choose a component, then unsubscribe with its button.
    let (_, page) = &manage[1];
    let mut visitor = app.browser();
    let shown = visitor.get(page).await;
    assert_eq!(shown.status, StatusCode::OK);
    let token_field = shown.attr("input[name=token]", "value").unwrap();
    let action = shown.attr("form.subscribe", "action").unwrap();
    let saved = visitor
        .submit(
            page,
            &action,
            &[
                ("token", &token_field),
                ("component", &api),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    assert!(saved.select("#saved")[0].contains("Saved"));
    let chosen: Vec<uuid::Uuid> = app
        .scalar("SELECT component_ids FROM email_subscribers")
        .await;
    assert_eq!(chosen.len(), 1);
    let gone = visitor
        .submit(
            page,
            &action,
            &[("token", &token_field), ("action", "unsubscribe")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::OK);
    assert!(gone.select("#unsubscribed")[0].contains("two@example.com"));
    let left: i64 = app.scalar("SELECT count(*) FROM email_subscribers").await;
    assert_eq!(left, 0);
    // Without the CSRF token the manage form is refused.
    let forged = visitor
        .post_raw(
            &action,
            &[("token", &token_field), ("action", "unsubscribe")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // The link of a removed subscription says so.
    let stale = visitor.get(page).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn maintenance_is_announced_reminded_started_and_ended() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let db = app.component(&token, "Database").await;
    let other = app.component(&token, "Website").await;
    app.state.status_page.refresh().await.unwrap();
    subscribe_and_confirm(&app, &server, "dba@example.com", &[&db]).await;
    subscribe_and_confirm(&app, &server, "web@example.com", &[&other]).await;

    let starts = OffsetDateTime::now_utc() + Duration::days(4);
    let m = app
        .created("/api/v1/maintenances", &token, json!({"title": "Database upgrade", "description": "Writes pause for a minute.",
            "scheduled_for": crate::support::rfc3339(starts), "scheduled_until": crate::support::rfc3339(starts + Duration::hours(2)),
            "component_ids": [db]}))
        .await;
    assert_eq!(m["reminder_minutes"], json!([4320, 1440, 60]));
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(
        send_mail(&app, &server).await,
        1,
        "the announcement, to dba only"
    );
    let raw = server.mails().pop().unwrap();
    let mail = mailparse::parse_mail(&raw).unwrap();
    assert!(subject(&mail).starts_with("[Acme status] Scheduled maintenance: Database upgrade"));
    assert_eq!(
        mail.headers.get_first_value("To").as_deref(),
        Some("dba@example.com")
    );
    server.clear();

    // Three reminders wait, at 72, 24 and 1 hour before the start.
    let due: Vec<OffsetDateTime> = sqlx::query_scalar(
        "SELECT run_at FROM jobs WHERE kind = 'email.maintenance_reminder' ORDER BY run_at",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    let expected = [Duration::days(3), Duration::days(1), Duration::hours(1)];
    assert_eq!(due.len(), 3);
    for (at, lead) in due.iter().zip(expected) {
        assert!(
            (*at - (starts - lead)).abs() < Duration::seconds(1),
            "{at} vs {lead}"
        );
    }
    // The clock reaches the first one.
    app.exec("UPDATE jobs SET run_at = now() WHERE kind = 'email.maintenance_reminder' AND payload->>'minutes' = '4320'").await;
    app.run_jobs().await;
    assert_eq!(send_mail(&app, &server).await, 1);
    let raw = server.mails().pop().unwrap();
    let mail = mailparse::parse_mail(&raw).unwrap();
    assert_eq!(
        subject(&mail),
        "[Acme status] Maintenance in 3 days: Database upgrade"
    );
    let (text, _) = parts(&mail);
    assert!(text.contains("Writes pause for a minute."));
    server.clear();

    // Moved by a day: the old reminders find the plan changed and send nothing; new
    // ones wait for the new start.
    let moved = starts + Duration::days(1);
    app.patched(
        &format!("/api/v1/maintenances/{id}"),
        &token,
        json!({"version": m["version"], "scheduled_for": crate::support::rfc3339(moved), "scheduled_until": crate::support::rfc3339(moved + Duration::hours(2)), "reminder_minutes": [1440]}),
    )
    .await;
    assert_eq!(send_mail(&app, &server).await, 1, "the move is announced");
    let raw = server.mails().pop().unwrap();
    assert!(subject(&mailparse::parse_mail(&raw).unwrap())
        .starts_with("[Acme status] Maintenance moved"));
    server.clear();
    app.exec("UPDATE jobs SET run_at = now() WHERE kind = 'email.maintenance_reminder' AND state = 'pending' AND (payload->>'starts')::bigint <> floor(extract(epoch FROM (SELECT scheduled_for FROM maintenances)))::bigint").await;
    app.run_jobs().await;
    assert_eq!(
        send_mail(&app, &server).await,
        0,
        "stale reminders send nothing"
    );
    let waiting: i64 = app
        .scalar("SELECT count(*) FROM jobs WHERE kind = 'email.maintenance_reminder' AND state = 'pending'")
        .await;
    assert_eq!(waiting, 1, "one reminder for the new start");
    // A reminder run twice (a crash after sending) sends once.
    app.exec("UPDATE jobs SET run_at = now() WHERE kind = 'email.maintenance_reminder' AND state = 'pending'").await;
    let payload: serde_json::Value = app
        .scalar("SELECT payload FROM jobs WHERE kind = 'email.maintenance_reminder' AND state = 'pending'")
        .await;
    app.run_jobs().await;
    app.exec(&format!(
        "INSERT INTO jobs (kind, payload) VALUES ('email.maintenance_reminder', '{payload}')"
    ))
    .await;
    app.run_jobs().await;
    assert_eq!(send_mail(&app, &server).await, 1);
    server.clear();

    // Start and end are told too.
    for status in ["in_progress", "completed"] {
        app.created(
            &format!("/api/v1/maintenances/{id}/updates"),
            &token,
            json!({"status": status, "body": format!("Now {status}.")}),
        )
        .await;
    }
    assert_eq!(send_mail(&app, &server).await, 2);
    let subjects: Vec<String> = server
        .mails()
        .iter()
        .map(|raw| subject(&mailparse::parse_mail(raw).unwrap()))
        .collect();
    assert_eq!(
        subjects,
        [
            "[Acme status] Maintenance started: Database upgrade",
            "[Acme status] Maintenance completed: Database upgrade"
        ]
    );
}

#[tokio::test]
async fn reminder_times_are_checked() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    let starts = OffsetDateTime::now_utc() + Duration::days(4);
    for (bad, words) in [
        (json!([1]), "5 minutes to 30 days"),
        (json!([60, 120, 180, 240, 300, 360]), "at most five"),
    ] {
        let r = app
            .api(
                Method::POST,
                "/api/v1/maintenances",
                &token,
                Some(&json!({"title": "X", "scheduled_for": crate::support::rfc3339(starts),
                    "scheduled_until": crate::support::rfc3339(starts + Duration::hours(1)), "reminder_minutes": bad}).to_string()),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.text.contains(words), "{}", r.text);
    }
    // The admin form writes them in hours.
    let mut admin = app.browser();
    admin.sign_in_as("ada@example.com").await;
    let made = admin
        .form(
            "/admin/maintenance",
            &[
                ("title", "Router swap"),
                ("scheduled_for", "2031-05-01T02:00"),
                ("scheduled_until", "2031-05-01T03:00"),
                ("time_zone", "Etc/UTC"),
                ("reminders", "48, 2"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let minutes: Vec<i32> = app
        .scalar("SELECT reminder_minutes FROM maintenances WHERE title = 'Router swap'")
        .await;
    assert_eq!(minutes, [2880, 120]);
    let page = admin.get(made.location()).await;
    assert_eq!(
        page.attr("input[name=reminders]", "value").as_deref(),
        Some("48, 2")
    );
}

/// An SMTP server that refuses every recipient for good, as a server does for an
/// address that does not exist.
async fn refusing_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 refuser ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 refuser\r\n",
                        "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "RCPT" => b"550 5.1.1 No such user here\r\n",
                        "QUIT" => b"221 Bye\r\n",
                        _ => b"503 Bad sequence\r\n",
                    };
                    if write.write_all(answer).await.is_err() || verb == "QUIT" {
                        break;
                    }
                }
            });
        }
    });
    (port, task)
}

#[tokio::test]
async fn a_refused_address_is_marked_bounced_and_gets_nothing_more() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    subscribe_and_confirm(&app, &server, "gone@example.com", &[]).await;
    app.declare(
        &token,
        json!({"title": "Slow", "severity": "sev3", "initial_update": "Slow."}),
    )
    .await;
    let (port, _refuser) = refusing_server().await;
    let refusing = fireline::notify::email::SmtpConfig::parse(
        Some(&format!("smtp://127.0.0.1:{port}?tls=none")),
        Some("Acme Status <status@acme.test>"),
    )
    .unwrap()
    .unwrap();
    let mailer = Mailer::new(app.pool().clone(), &refusing, 1).await.unwrap();
    assert_eq!(mailer.run_until_empty().await.unwrap(), 1);
    let (state, reason): (String, String) =
        sqlx::query_as("SELECT state::text, bounce_reason FROM email_subscribers")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(state, "bounced");
    assert!(reason.contains("No such user"), "{reason}");
    let failed: i64 = app
        .scalar("SELECT count(*) FROM email_deliveries WHERE state = 'failed'")
        .await;
    assert_eq!(failed, 1);
    // Nothing more goes to it, not even through a working server.
    app.declare(
        &token,
        json!({"title": "Slow again", "severity": "sev3", "initial_update": "Slow."}),
    )
    .await;
    assert_eq!(send_mail(&app, &server).await, 0);
    // The admins see the bounce.
    let mut admin = app.browser();
    admin.sign_in_as("ada@example.com").await;
    let page = admin.get("/admin/email-subscribers").await;
    assert!(
        page.select(".bounce")[0].contains("No such user"),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn the_public_form_is_limited_per_network_and_per_address() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let mut visitor = app.browser_at("203.0.113.9");
    // The same address asked again and again gets at most three mails a day.
    for _ in 0..5 {
        let r = visitor
            .submit(
                "/subscribe",
                "/subscribe/email",
                &[("email", "victim@example.com")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    assert_eq!(
        send_mail(&app, &server).await,
        fireline::email_subscribers::MAILS_PER_ADDRESS_PER_DAY as usize
    );
    for i in 5..fireline::email_subscribers::ATTEMPTS_PER_NETWORK_PER_HOUR {
        let r = visitor
            .submit(
                "/subscribe",
                "/subscribe/email",
                &[("email", &format!("p{i}@example.com"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let refused = visitor
        .submit(
            "/subscribe",
            "/subscribe/email",
            &[("email", "one-more@example.com")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.text.contains("Too many subscribe attempts"));
    assert_eq!(refused.header("retry-after"), "3600");
    // Another network is not affected.
    visitor.ip = "203.0.113.10".into();
    let other = visitor
        .submit(
            "/subscribe",
            "/subscribe/email",
            &[("email", "other@example.com")],
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn without_smtp_the_page_offers_no_email_and_the_form_says_why() {
    let app = TestApp::new().await;
    app.state.status_page.refresh().await.unwrap();
    let mut visitor = app.browser();
    let page = visitor.get("/subscribe").await;
    assert!(!page.text.contains("By email"));
    let refused = visitor
        .submit(
            "/subscribe",
            "/subscribe/email",
            &[("email", "a@example.com")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(refused.text.contains("does not send email"));
}

#[tokio::test]
async fn unconfirmed_addresses_expire_and_their_links_stop_working() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let mut visitor = app.browser();
    visitor
        .submit(
            "/subscribe",
            "/subscribe/email",
            &[("email", "late@example.com")],
        )
        .await;
    send_mail(&app, &server).await;
    let raw = server.mails().pop().unwrap();
    let (text, _) = parts(&mailparse::parse_mail(&raw).unwrap());
    let confirm = link(&text, "http://status.acme.test/subscribe/email/");
    app.exec("UPDATE email_subscribers SET confirm_expires_at = now() - interval '1 minute'")
        .await;
    let expired = visitor.get(&confirm).await;
    assert_eq!(expired.status, StatusCode::NOT_FOUND);
    assert!(expired.text.contains("expired"));
    app.exec("INSERT INTO jobs (kind, payload) VALUES ('prune_expired', '{}')")
        .await;
    app.run_jobs().await;
    let left: i64 = app.scalar("SELECT count(*) FROM email_subscribers").await;
    assert_eq!(left, 0, "a never confirmed address is forgotten");
}

#[tokio::test]
async fn the_api_adds_unconfirmed_addresses_and_refuses_bad_input() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let (_, admin) = app.token("ada@example.com", Role::Admin).await;
    let (_, responder) = app.token("rob@example.com", Role::Responder).await;
    let api = app.component(&admin, "API").await;
    let made = app
        .created(
            "/api/v1/email-subscribers",
            &admin,
            json!({"email": "Dana@Example.com", "component_ids": [api]}),
        )
        .await;
    assert_eq!(made["state"], "unconfirmed");
    assert_eq!(made["component_ids"], json!([api]));
    assert!(made["confirmation_sent_at"].is_string());
    let id = made["id"].as_str().unwrap();
    assert_eq!(
        send_mail(&app, &server).await,
        1,
        "the confirmation goes out"
    );

    for (body, field) in [
        (json!({"email": "dana@example.com"}), "email"),
        (json!({"email": "nope"}), "email"),
        (
            json!({"email": "e@example.com", "component_ids": [uuid::Uuid::new_v4()]}),
            "component_ids",
        ),
    ] {
        let r = app
            .api(
                Method::POST,
                "/api/v1/email-subscribers",
                &admin,
                Some(&body.to_string()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(r.header("content-type"), "application/problem+json");
        assert!(r.text.contains(field), "{}", r.text);
    }
    let unknown = app
        .api(
            Method::POST,
            "/api/v1/email-subscribers",
            &admin,
            Some(r#"{"email":"x@example.com","extra":1}"#),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let denied = app
        .api(Method::GET, "/api/v1/email-subscribers", &responder, None)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let page = app
        .api_get("/api/v1/email-subscribers?state=unconfirmed&q=dana", &admin)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let none = app
        .api_get("/api/v1/email-subscribers?state=confirmed", &admin)
        .await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let bad_state = app
        .api(
            Method::GET,
            "/api/v1/email-subscribers?state=maybe",
            &admin,
            None,
        )
        .await;
    assert_eq!(bad_state.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_state.text.contains("state"), "{}", bad_state.text);

    let patched = app
        .patched(
            &format!("/api/v1/email-subscribers/{id}"),
            &admin,
            json!({"component_ids": []}),
        )
        .await;
    assert_eq!(patched["component_ids"], json!([]));
    let deleted = app
        .api(
            Method::DELETE,
            &format!("/api/v1/email-subscribers/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let again = app
        .api(
            Method::DELETE,
            &format!("/api/v1/email-subscribers/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'email_subscriber%' ORDER BY id",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert_eq!(
        audit,
        [
            "email_subscriber.created",
            "email_subscriber.changed",
            "email_subscriber.removed"
        ]
    );
}

#[tokio::test]
async fn admins_import_and_export_a_csv_and_see_the_list() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    app.component(&token, "API").await;
    let mut admin = app.browser();
    admin.sign_in_as("ada@example.com").await;
    let csrf = admin
        .get("/admin/email-subscribers")
        .await
        .attr(
            "form[action='/admin/email-subscribers/import'] input[name=csrf_token]",
            "value",
        )
        .unwrap();
    let upload = |csv: &str, confirmed: bool, token: &str| {
        let mut body = format!(
            "--XB\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
        );
        if confirmed {
            body.push_str(
                "--XB\r\nContent-Disposition: form-data; name=\"confirmed\"\r\n\r\non\r\n",
            );
        }
        body.push_str(&format!("--XB\r\nContent-Disposition: form-data; name=\"csv\"; filename=\"s.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--XB--\r\n"));
        Request::post("/admin/email-subscribers/import")
            .header(
                "cookie",
                format!("fireline_session={}", admin.cookies["fireline_session"]),
            )
            .header("content-type", "multipart/form-data; boundary=XB")
            .body(Body::from(body))
            .unwrap()
    };
    // A bad line refuses the whole file, naming the line.
    let bad = app
        .send(upload(
            "email,components\nok@example.com,API\nbroken,\n",
            false,
            &csrf,
        ))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("Line 3"), "{}", bad.text);
    let unknown = app
        .send(upload("x@example.com,Billing\n", false, &csrf))
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text.contains("Billing"));
    let forged = app.send(upload("x@example.com\n", false, "forged")).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let none: i64 = app.scalar("SELECT count(*) FROM email_subscribers").await;
    assert_eq!(none, 0);

    // Moved from another status page: confirmed already, they get news at once.
    let moved = app
        .send(upload(
            "email,components\nann@example.com,API\nben@example.com,\n",
            true,
            &csrf,
        ))
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text);
    // New addresses: each is asked first; one already there is left alone.
    let asked = app
        .send(upload("cat@example.com\nann@example.com\n", false, &csrf))
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let imported: serde_json::Value = app
        .scalar("SELECT data FROM audit_log WHERE action = 'email_subscribers.imported' ORDER BY id DESC LIMIT 1")
        .await;
    assert_eq!(
        imported,
        json!({"added": 1, "skipped": 1, "confirmed": false})
    );
    assert_eq!(send_mail(&app, &server).await, 1, "cat's confirmation only");
    let page = admin.get("/admin/email-subscribers").await;
    let rows = page.select("#email-subscribers tbody tr");
    assert_eq!(rows.len(), 3);
    let counts = page.select("#email-counts li");
    assert!(
        counts
            .iter()
            .any(|c| c.contains("2") && c.contains("confirmed")),
        "{counts:?}"
    );

    let export = admin.get("/admin/email-subscribers.csv").await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.header("content-type"), "text/csv; charset=utf-8");
    let mut lines: Vec<&str> = export.text.lines().collect();
    assert!(lines.remove(0).starts_with("email,components,state"));
    lines.sort();
    assert!(
        lines[0].starts_with("ann@example.com,API,confirmed,import,"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("ben@example.com,,confirmed,import,"));
    assert!(lines[2].starts_with("cat@example.com,,unconfirmed,import,"));

    // Removing one from the list.
    let id: uuid::Uuid = app
        .scalar("SELECT id FROM email_subscribers WHERE email = 'ben@example.com'")
        .await;
    let removed = admin
        .press(
            "/admin/email-subscribers",
            &format!("/admin/email-subscribers/{id}/delete"),
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let left: i64 = app.scalar("SELECT count(*) FROM email_subscribers").await;
    assert_eq!(left, 2);
    // Responders do not see the list.
    let mut responder = app.signed_in("rob@example.com", Role::Responder).await;
    let denied = responder.get("/admin/email-subscribers").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_batch_out_of_time_gives_its_mail_back_untried_before_its_lease_ends() {
    let Some(server) = smtpd().await else { return };
    let app = app_mailing(&server).await;
    let (_, token) = app.token("ada@example.com", Role::Admin).await;
    subscribe_and_confirm(&app, &server, "patient@example.com", &[]).await;
    app.declare(
        &token,
        json!({"title": "Slow", "severity": "sev3", "initial_update": "Slow."}),
    )
    .await;
    // A lease so short that half of it has passed before the first send: another process
    // could take the claim over, so nothing may be sent under it.
    let hurried = Mailer::new(app.pool().clone(), &server.config(), 1)
        .await
        .unwrap()
        .with_lease(std::time::Duration::ZERO);
    assert_eq!(hurried.run_once().await.unwrap(), 1, "claimed");
    assert!(server.mails().is_empty(), "and not sent");
    let (state, attempts): (String, i32) = sqlx::query_as(
        "SELECT state::text, attempts FROM email_deliveries d JOIN email_messages m ON m.id = d.message_id WHERE m.kind = 'incident.created'",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), attempts),
        ("pending", 0),
        "back, its attempt not counted"
    );
    assert_eq!(
        send_mail(&app, &server).await,
        1,
        "a mailer with time sends it"
    );
    assert_eq!(server.mails().len(), 1);
}
