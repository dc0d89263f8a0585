//! Signing in and out, throttling, CSRF, sessions and disabled users.

use axum::http::StatusCode;
use fireline::accounts::Role;
use fireline::app::config::Settings;

use crate::support::{TestApp, PASSWORD};

#[tokio::test]
async fn signing_in_opens_the_dashboard_and_signing_out_ends_the_session() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Responder).await;
    let mut browser = app.browser();

    let response = browser.sign_in("Ada@Example.com", PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), "/admin");

    let dashboard = browser.get("/admin").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert_eq!(dashboard.select("h1"), ["Dashboard"]);
    assert!(dashboard.select(".me").join(" ").contains("ada"));
    let old_cookie = browser.cookies["fireline_session"].clone();

    let out = browser.form("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!browser.cookies.contains_key("fireline_session"));

    // The old cookie no longer works, even if someone kept it.
    browser
        .cookies
        .insert("fireline_session".into(), old_cookie);
    let after = browser.get("/admin").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), "/login?next=%2Fadmin");
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_message_and_no_session() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    let mut browser = app.browser();
    let response = browser.sign_in("ada@example.com", "not the password").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.select("[role=alert]"),
        ["That email and password do not match an account."]
    );
    assert_eq!(
        response.attr("#email", "value").as_deref(),
        Some("ada@example.com")
    );
    assert!(!browser.cookies.contains_key("fireline_session"));

    // An unknown account gets the very same answer.
    let unknown = browser.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.select("[role=alert]"),
        response.select("[role=alert]")
    );
}

#[tokio::test]
async fn five_failures_lock_the_guessers_address_and_not_the_owner() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    app.user("grace@example.com", Role::Admin).await;
    let mut guesser = app.browser_at("10.6.6.6");
    for _ in 0..5 {
        let r = guesser.sign_in("ada@example.com", "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // The account's own back-off has long passed; the guesser's lock has not.
    app.exec("UPDATE login_attempts SET attempted_at = attempted_at - interval '1 minute'")
        .await;
    let locked = guesser.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let message = locked.select("[role=alert]").join(" ");
    assert!(message.contains("from your address"), "{message}");
    assert!(message.contains("Try again in 14 minutes"), "{message}");
    let retry: i64 = locked.header("retry-after").parse().unwrap();
    assert!((780..=840).contains(&retry), "Retry-After: {retry}");
    assert!(!guesser.cookies.contains_key("fireline_session"));
    // The refused attempt was not counted: it did not even reach the password check.
    let counted: i64 = app.scalar("SELECT count(*) FROM login_attempts").await;
    assert_eq!(counted, 5);

    // The owner, from their own address, signs in with the right password.
    let mut owner = app.browser_at("10.9.9.9");
    assert_eq!(
        owner.sign_in_as("ada@example.com").await,
        StatusCode::SEE_OTHER
    );
    // The guesser stays locked for this account, though not for another one.
    assert_eq!(
        guesser.sign_in_as("ada@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        guesser.sign_in_status("grace@example.com", "guess").await,
        StatusCode::UNAUTHORIZED
    );

    // Once the window has passed, the address can sign in again.
    app.exec("UPDATE login_attempts SET attempted_at = attempted_at - interval '15 minutes'")
        .await;
    assert_eq!(
        guesser.sign_in_as("ada@example.com").await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn guesses_spread_over_many_addresses_slow_the_account_down_for_seconds() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    for i in 0..5 {
        let mut guesser = app.browser_at(format!("10.6.0.{i}"));
        let r = guesser.sign_in("ada@example.com", "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    // Four more guesses from elsewhere, just now: nine failures, a 16-second back-off.
    sqlx::query(
        "INSERT INTO login_attempts (email, client_ip, succeeded) \
         SELECT 'ada@example.com', '10.7.0.' || n, false FROM generate_series(1, 4) n",
    )
    .execute(app.pool())
    .await
    .unwrap();

    let mut owner = app.browser_at("10.9.9.9");
    let waiting = owner.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS);
    let message = waiting.select("[role=alert]").join(" ");
    assert!(
        message.contains("This account has had several failed"),
        "{message}"
    );
    assert!(message.contains("seconds (at "), "{message}");
    let retry: i64 = waiting.header("retry-after").parse().unwrap();
    assert!((1..=16).contains(&retry), "Retry-After: {retry}");
    assert!(!owner.cookies.contains_key("fireline_session"));

    // Seconds later (moved back in the database, rather than waited for), the owner is in.
    app.exec("UPDATE login_attempts SET attempted_at = attempted_at - interval '20 seconds'")
        .await;
    assert_eq!(
        owner.sign_in_as("ada@example.com").await,
        StatusCode::SEE_OTHER
    );
    // A success clears the account's count: one typo later is just a typo.
    let mut typo = app.browser_at("10.9.9.10");
    assert_eq!(
        typo.sign_in_status("ada@example.com", "typo").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn ipv6_guessers_are_locked_by_their_64() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    for i in 1..=5 {
        let mut guesser = app.browser_at(format!("2001:db8:6:6::{i}"));
        let r = guesser.sign_in("ada@example.com", "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    app.exec("UPDATE login_attempts SET attempted_at = attempted_at - interval '1 minute'")
        .await;
    let mut next = app.browser_at("2001:db8:6:6:ffff::1");
    assert_eq!(
        next.sign_in_as("ada@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let mut owner = app.browser_at("2001:db8:9:9::1");
    assert_eq!(
        owner.sign_in_as("ada@example.com").await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn one_address_failing_across_many_accounts_is_locked_out() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    let mut attacker = app.browser_at("10.6.6.6");
    for i in 0..20 {
        let r = attacker
            .sign_in(&format!("user{i}@example.com"), "guess")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let locked = attacker.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);

    // The account's owner, elsewhere, still gets in.
    let mut owner = app.browser_at("10.1.1.1");
    assert_eq!(
        owner.sign_in_as("ada@example.com").await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    let mut browser = app.browser();
    browser.get("/login").await;

    let missing = browser
        .post_raw(
            "/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing
        .select("main")
        .join(" ")
        .contains("CSRF check failed"));
    assert!(missing.header("content-type").starts_with("text/html"));

    let forged = browser
        .post_raw(
            "/login",
            &[
                ("csrf_token", "forged"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!browser.cookies.contains_key("fireline_session"));

    // Signed in, a state-changing form needs the session's token, not the old one.
    let anon_token = browser.cookies["fireline_csrf"].clone();
    assert_eq!(
        browser.sign_in_as("ada@example.com").await,
        StatusCode::SEE_OTHER
    );
    let stale = browser
        .post_raw(
            "/admin/tokens",
            &[("csrf_token", &anon_token), ("name", "ci")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    let count: i64 = app.scalar("SELECT count(*) FROM api_tokens").await;
    assert_eq!(count, 0);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_and_secure_behind_https() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    let mut browser = app.browser();
    let response = browser.sign_in("ada@example.com", PASSWORD).await;
    let cookie = response
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("fireline_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");

    let https = TestApp::with_settings(Settings::for_base_url("https://status.example.com")).await;
    https.user("ada@example.com", Role::Admin).await;
    let mut browser = https.browser();
    let response = browser.sign_in("ada@example.com", PASSWORD).await;
    let cookie = response
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("fireline_session="))
        .expect("a session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(response
        .header("strict-transport-security")
        .contains("max-age"));
}

#[tokio::test]
async fn every_sign_in_gets_a_new_session_id_and_a_planted_one_is_never_used() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    let mut first = app.browser();
    first.sign_in("ada@example.com", PASSWORD).await;
    let first_id = first.cookies["fireline_session"].clone();

    // Session fixation: a cookie set before sign-in is replaced, not adopted.
    let mut second = app.browser();
    second.get("/login").await;
    second
        .cookies
        .insert("fireline_session".into(), "planted-by-attacker".into());
    let response = second.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let second_id = second.cookies["fireline_session"].clone();
    assert_ne!(second_id, "planted-by-attacker");
    assert_ne!(second_id, first_id);

    // Only hashes are stored.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_all(app.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored
        .iter()
        .all(|h| h.len() == 32 && h != first_id.as_bytes()));
}

#[tokio::test]
async fn sessions_expire_after_inactivity() {
    let app = TestApp::new().await;
    let mut browser = app.signed_in("ada@example.com", Role::Admin).await;
    assert_eq!(browser.get("/admin").await.status, StatusCode::OK);
    app.exec("UPDATE sessions SET last_seen_at = now() - interval '13 hours'")
        .await;
    let response = browser.get("/admin/users").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), "/login?next=%2Fadmin%2Fusers");
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_is_signed_out_at_once() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("root@example.com", Role::Admin).await;
    let mut ada = app.signed_in("ada@example.com", Role::Responder).await;
    assert_eq!(ada.get("/admin").await.status, StatusCode::OK);

    let ada_id: uuid::Uuid = app
        .scalar("SELECT id FROM users WHERE email = 'ada@example.com'")
        .await;
    let r = admin
        .press("/admin/users", &format!("/admin/users/{ada_id}/disable"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    assert_eq!(
        ada.get("/admin").await.status,
        StatusCode::SEE_OTHER,
        "session ended"
    );
    let mut again = app.browser();
    let refused = again.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused
        .select("[role=alert]")
        .join(" ")
        .contains("disabled"));

    let r = admin
        .press("/admin/users", &format!("/admin/users/{ada_id}/enable"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        again.sign_in_as("ada@example.com").await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn after_sign_in_you_return_where_you_were_but_never_to_another_site() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    let mut browser = app.browser();
    let to_login = browser.get("/admin/tokens").await;
    assert_eq!(to_login.location(), "/login?next=%2Fadmin%2Ftokens");
    let r = browser
        .submit(
            "/login?next=%2Fadmin%2Ftokens",
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/admin/tokens"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/admin/tokens");

    let mut other = app.browser();
    let r = other
        .form(
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/admin");
}
