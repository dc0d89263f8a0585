//! Cross-site requests and the anonymous CSRF cookie: a form must come from our own pages,
//! and before sign-in only a cookie this server signed carries a usable token.

use axum::http::StatusCode;
use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::platform::signed::SigningKey;

use crate::support::{Browser, TestApp, PASSWORD};

/// Load `page` as `browser` does, then send its form (with the page's valid token) as if
/// from `origin` with `fetch_site`.
async fn submit_from(
    browser: &mut Browser<'_>,
    origin: Option<&str>,
    fetch_site: Option<&'static str>,
    page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> crate::support::TestResponse {
    let token = browser
        .get(page)
        .await
        .attr("input[name=csrf_token]", "value")
        .unwrap();
    let (was_origin, was_site) = (browser.origin.clone(), browser.fetch_site);
    browser.origin = origin.map(str::to_owned);
    browser.fetch_site = fetch_site;
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let response = browser.post_raw(path, &all).await;
    (browser.origin, browser.fetch_site) = (was_origin, was_site);
    response
}

async fn token_count(app: &TestApp) -> i64 {
    app.scalar("SELECT count(*) FROM api_tokens").await
}

#[tokio::test]
async fn a_cross_site_form_is_refused_even_with_a_valid_token() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada@example.com", Role::Admin).await;
    let fields = [("name", "planted by another site")];
    for (origin, site, says) in [
        (
            Some("https://evil.example"),
            Some("cross-site"),
            "another site",
        ),
        // A sibling subdomain shares the cookies' site, not their origin.
        (
            Some("http://blog.fireline.test"),
            Some("same-site"),
            "another site on the same domain",
        ),
        // A browser without Sec-Fetch-Site: the Origin decides.
        (Some("https://evil.example"), None, "https://evil.example"),
        (Some("null"), None, "hides its origin"),
    ] {
        let r = submit_from(
            &mut ada,
            origin,
            site,
            "/admin/tokens",
            "/admin/tokens",
            &fields,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{origin:?} {site:?}");
        assert!(r.header("content-type").starts_with("text/html"));
        let text = r.select("main").join(" ");
        assert!(text.contains(says), "{text}");
        assert!(text.contains("refused"), "{text}");
    }
    assert_eq!(token_count(&app).await, 0, "nothing was created");

    // Multipart forms are covered too, not only the urlencoded ones.
    let r = app
        .send(
            axum::http::Request::post("/admin/settings/logo")
                .header(
                    "cookie",
                    format!("fireline_session={}", ada.cookies["fireline_session"]),
                )
                .header("origin", "https://evil.example")
                .header("sec-fetch-site", "cross-site")
                .header("content-type", "multipart/form-data; boundary=XB")
                .body(axum::body::Body::from("--XB--\r\n"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A cross-site sign-in (login CSRF) is refused as well.
    let mut visitor = app.browser();
    let r = submit_from(
        &mut visitor,
        Some("https://evil.example"),
        Some("cross-site"),
        "/login",
        "/login",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!visitor.cookies.contains_key("fireline_session"));
}

#[tokio::test]
async fn same_origin_forms_pass_and_so_do_clients_that_send_neither_header() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada@example.com", Role::Admin).await;
    for (origin, site) in [
        (Some("http://fireline.test"), Some("same-origin")),
        (Some("http://fireline.test"), None),
        // Reached under another name than the base URL: the browser vouches for it.
        (Some("http://10.0.0.5:8080"), Some("same-origin")),
        (None, None),
    ] {
        let r = submit_from(
            &mut ada,
            origin,
            site,
            "/admin/tokens",
            "/admin/tokens",
            &[("name", "ci")],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{origin:?} {site:?}: {}", r.text);
    }
    assert_eq!(token_count(&app).await, 4);

    // Without either header the token still decides.
    ada.origin = None;
    ada.fetch_site = None;
    let r = ada
        .post_raw("/admin/tokens", &[("csrf_token", "forged"), ("name", "x")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(token_count(&app).await, 4);

    // The API takes bearer tokens, not cookies, and is not checked.
    let (_, token) = app.token("ci@example.com", Role::Responder).await;
    let r = app
        .send(
            axum::http::Request::post("/api/v1/incidents")
                .header("authorization", format!("Bearer {token}"))
                .header(
                    "cookie",
                    format!("fireline_session={}", ada.cookies["fireline_session"]),
                )
                .header("origin", "https://elsewhere.example")
                .header("sec-fetch-site", "cross-site")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    r#"{"title": "From a script", "severity": "sev3"}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn a_planted_or_forged_anonymous_csrf_cookie_is_refused() {
    let app = TestApp::new().await;
    app.user("mallory@example.com", Role::Viewer).await;
    let sign_in_with = |cookie: String, token: String| {
        let app = &app;
        async move {
            let mut victim = app.browser();
            // The planting happens on a sibling subdomain; the form is sent from there too,
            // so only the cookie stands between it and a forced sign-in: no headers.
            victim.origin = None;
            victim.fetch_site = None;
            victim.cookies.insert("fireline_csrf".into(), cookie);
            let r = victim
                .post_raw(
                    "/login",
                    &[
                        ("csrf_token", &token),
                        ("email", "mallory@example.com"),
                        ("password", PASSWORD),
                    ],
                )
                .await;
            (r.status, victim.cookies.contains_key("fireline_session"))
        }
    };
    // Unsigned, as a sibling subdomain would plant it.
    assert_eq!(
        sign_in_with("planted".into(), "planted".into()).await,
        (StatusCode::FORBIDDEN, false)
    );

    // A genuine cookie with its token swapped for another.
    let mut browser = app.browser();
    let token = browser
        .get("/login")
        .await
        .attr("input[name=csrf_token]", "value")
        .unwrap();
    let genuine = browser.cookies["fireline_csrf"].clone();
    assert!(genuine.starts_with(&format!("{token}.")), "{genuine}");
    let swapped = genuine.replacen(&token, "chosen-by-mallory", 1);
    assert_eq!(
        sign_in_with(swapped, "chosen-by-mallory".into()).await,
        (StatusCode::FORBIDDEN, false)
    );

    // Signed with some other key, or with ours but too long ago.
    let other = SigningKey::new(SigningKey::generate());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(
        sign_in_with(other.sign_anon_csrf("t", now), "t".into()).await,
        (StatusCode::FORBIDDEN, false)
    );
    let ours: Vec<u8> = app
        .scalar("SELECT secret FROM server_secrets WHERE name = 'anon_csrf'")
        .await;
    let ours = SigningKey::new(ours);
    assert_eq!(
        sign_in_with(ours.sign_anon_csrf("t", now - 13 * 3600), "t".into()).await,
        (StatusCode::FORBIDDEN, false)
    );
    // The same, fresh, is what the server itself hands out: accepted.
    assert_eq!(
        sign_in_with(ours.sign_anon_csrf("t", now), "t".into()).await,
        (StatusCode::SEE_OTHER, true)
    );
}

#[tokio::test]
async fn a_planted_cookie_next_to_ours_does_not_stop_a_sign_in() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    let mut browser = app.browser();
    let token = browser
        .get("/login")
        .await
        .attr("input[name=csrf_token]", "value")
        .unwrap();
    let ours = browser.cookies.remove("fireline_csrf").unwrap();
    // The browser sends both, in either order: a domain-wide one planted by a sibling,
    // and ours.
    for cookies in [
        format!("fireline_csrf=planted; fireline_csrf={ours}"),
        format!("fireline_csrf={ours}; fireline_csrf=planted"),
    ] {
        let r = app
            .send(
                axum::http::Request::post("/login")
                    .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                        [10, 0, 0, 1],
                        40000,
                    ))))
                    .header("cookie", cookies)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(format!(
                        "csrf_token={token}&email=ada%40example.com&password={}",
                        PASSWORD.replace(' ', "+")
                    )))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
}

#[tokio::test]
async fn behind_https_the_anonymous_cookie_is_a_host_cookie() {
    let app = TestApp::with_settings(Settings::for_base_url("https://status.example.com")).await;
    app.user("ada@example.com", Role::Admin).await;
    let mut browser = app.browser();
    let page = browser.get("/login").await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-fireline_csrf="))
        .expect("a __Host- cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    assert!(!browser.cookies.contains_key("fireline_csrf"));

    // A plain-named cookie (which any sibling can set) is not even looked at.
    let token = page.attr("input[name=csrf_token]", "value").unwrap();
    let ours = browser.cookies.remove("__Host-fireline_csrf").unwrap();
    browser.cookies.insert("fireline_csrf".into(), ours.clone());
    let r = browser
        .post_raw(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Under its own name it works, and is removed once signed in.
    browser.cookies.remove("fireline_csrf");
    browser.cookies.insert("__Host-fireline_csrf".into(), ours);
    let r = browser.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(!browser.cookies.contains_key("__Host-fireline_csrf"));
}

#[tokio::test]
async fn in_chromium_a_form_on_a_sibling_origin_is_refused_though_the_cookies_go_along() {
    use crate::browser::{click, type_into};
    use fantoccini::Locator;
    let Some(driver) = crate::browser::driver().await else {
        return;
    };
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    let (base, shutdown) = crate::browser::serve(&app).await;
    let chromium = crate::browser::browser(&driver, 1280).await;
    crate::browser::sign_in(&chromium, &base, "ada@example.com").await;
    chromium
        .goto(&format!("{base}/admin/tokens"))
        .await
        .unwrap();
    let token = chromium
        .find(Locator::Css("input[name=csrf_token]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();

    // Another port on the same host is another origin of the same site: the browser
    // sends the SameSite=Lax cookies along. Even the leaked token does not help it.
    let page = format!(
        "<!doctype html><form method=post action=\"{base}/admin/tokens\">\
         <input name=csrf_token value=\"{token}\"><input name=name value=sibling>\
         <button id=go type=submit>Go</button></form>"
    );
    let sibling = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sibling_url = format!("http://{}", sibling.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(page) }),
    );
    tokio::spawn(async move { axum::serve(sibling, router).await });
    chromium.goto(&sibling_url).await.unwrap();
    click(&chromium, "#go").await;
    crate::browser::wait_for_text(&chromium, "main", "not from this site's own pages").await;
    assert_eq!(token_count(&app).await, 0);

    // The same form on Fireline's own page goes through.
    chromium
        .goto(&format!("{base}/admin/tokens"))
        .await
        .unwrap();
    type_into(&chromium, "input[name=name]", "own page").await;
    chromium
        .find(Locator::Css(
            "form[action='/admin/tokens'] button[type=submit]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    crate::browser::wait_for_text(&chromium, "main", "own page").await;
    assert_eq!(token_count(&app).await, 1);
    chromium.close().await;
    shutdown.cancel();
}
