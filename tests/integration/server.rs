//! The real server on a real socket, with a cookie-keeping HTTP client.

use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::app::AppState;
use scraper::{Html, Selector};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::{TestApp, PASSWORD};

fn csrf_of(html: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("input[name=csrf_token]").unwrap();
    doc.select(&sel)
        .next()
        .unwrap()
        .value()
        .attr("value")
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn sign_in_over_a_real_socket_and_stop_gracefully() {
    let app = TestApp::new().await;
    app.user("ada@example.com", Role::Admin).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(app.pool().clone(), Settings::for_base_url(&base));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(fireline::http::serve(
        listener,
        fireline::http::router(state),
        shutdown.clone().cancelled_owned(),
    ));

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client.get(format!("{base}/admin")).send().await.unwrap();
    assert_eq!(login.url().path(), "/login", "redirected to sign in");
    let csrf = csrf_of(&login.text().await.unwrap());

    let wrong = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "ada@example.com"),
            ("password", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ip: String = app.scalar("SELECT client_ip FROM login_attempts").await;
    assert_eq!(
        ip, "127.0.0.1",
        "attempts are counted per real client address"
    );

    let csrf = csrf_of(&wrong.text().await.unwrap());
    let dashboard = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("next", "/admin/users"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);
    assert_eq!(dashboard.url().path(), "/admin/users");
    assert!(dashboard.text().await.unwrap().contains("ada@example.com"));

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer listening"
    );
}
