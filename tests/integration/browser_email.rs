//! The public email subscription in headless Chromium: a customer subscribes on the
//! page, the real mailer sends the confirmation to a real SMTP server, and the link in
//! that mail, opened in the browser, confirms the subscription.

use fantoccini::Locator;
use fireline::accounts::Role;
use std::time::{Duration, Instant};

use crate::browser::{browser, click, driver, serve_with, type_into, wait_for_text};
use crate::support::{smtpd, TestApp};

#[tokio::test]
async fn a_customer_subscribes_by_email_and_confirms_from_the_mail() {
    let Some(driver) = driver().await else { return };
    let Some(server) = smtpd().await else { return };
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    app.component(&token, "API").await;
    let smtp = server.config();
    let (base, shutdown) = serve_with(&app, |s| s.notify.smtp = Some(smtp.clone())).await;
    // As `fireline serve` does at start: links in mail point at this server.
    fireline::status_page::settings::record_configured_url(app.pool(), &base)
        .await
        .unwrap();
    let mailer = fireline::email_subscribers::Mailer::new(app.pool().clone(), &smtp, 2)
        .await
        .unwrap();
    tokio::spawn(mailer.run(shutdown.clone()));

    let customer = browser(&driver, 390).await;
    customer.goto(&format!("{base}/subscribe")).await.unwrap();
    wait_for_text(&customer, "#by-email", "By email").await;
    type_into(&customer, "#email", "erin@example.com").await;
    click(
        &customer,
        "form[action='/subscribe/email'] button[type=submit]",
    )
    .await;
    wait_for_text(&customer, "#email-sent", "Check your inbox").await;

    // The confirmation arrives through the mailer of the running server.
    let deadline = Instant::now() + Duration::from_secs(15);
    let raw = loop {
        if let Some(raw) = server.mails().pop() {
            break raw;
        }
        assert!(
            Instant::now() < deadline,
            "no confirmation mail within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mail = mailparse::parse_mail(&raw).unwrap();
    let text = mail.subparts[0].get_body().unwrap();
    let start = text
        .find(&format!("{base}/subscribe/email/"))
        .expect("a link");
    let end = text[start..]
        .find(char::is_whitespace)
        .map_or(text.len(), |e| start + e);
    let confirm = &text[start..end];

    customer.goto(confirm).await.unwrap();
    wait_for_text(&customer, "h1", "Confirm your subscription").await;
    let state: String = app
        .scalar("SELECT state::text FROM email_subscribers")
        .await;
    assert_eq!(
        state, "unconfirmed",
        "opening the link alone confirms nothing"
    );
    click(&customer, "form.subscribe button[type=submit]").await;
    wait_for_text(&customer, "#confirmed", "erin@example.com").await;
    let state: String = app
        .scalar("SELECT state::text FROM email_subscribers")
        .await;
    assert_eq!(state, "confirmed");
    let overflow = customer
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(0) <= 0,
        "the page scrolls sideways on a phone by {overflow}px"
    );
    assert!(customer.find(Locator::Css("#confirmed")).await.is_ok());
    customer.close().await;
    shutdown.cancel();
}
