//! Live streams: an entry committed by one app instance reaches a stream served by
//! another, through Postgres LISTEN/NOTIFY.

use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::app::AppState;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::TestApp;

/// Serve a second app instance (its own state and listener) on the same database.
pub async fn second_instance(app: &TestApp) -> (String, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(app.pool().clone(), Settings::for_base_url(&base));
    let shutdown = CancellationToken::new();
    tokio::spawn(fireline::http::serve(
        listener,
        fireline::http::router(state),
        shutdown.clone().cancelled_owned(),
    ));
    (base, shutdown)
}

/// Read the stream until `needle` shows up; return the text read and how long it took.
pub async fn read_until(
    response: &mut reqwest::Response,
    needle: &str,
    limit: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    let mut text = String::new();
    while !text.contains(needle) {
        let left = limit.checked_sub(started.elapsed()).unwrap_or_default();
        match tokio::time::timeout(left, response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) => panic!("the stream ended: {text}"),
            Ok(Err(e)) => panic!("stream error {e}: {text}"),
            Err(_) => panic!("{needle:?} did not arrive within {limit:?}; got: {text}"),
        }
    }
    (text, started.elapsed())
}

#[tokio::test]
async fn the_api_stream_delivers_an_entry_committed_by_another_instance() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let incident = app
        .declare(&token, json!({"title": "Live", "severity": "sev2"}))
        .await;
    let id = incident["id"].as_str().unwrap();
    let (base, shutdown) = second_instance(&app).await;

    let mut stream = reqwest::Client::new()
        .get(format!("{base}/api/v1/incidents/{id}/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    // Give the stream a moment to subscribe, then commit through the *first* instance.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.created(
        &format!("/api/v1/incidents/{id}/events"),
        &token,
        json!({"body": "Seen from afar"}),
    )
    .await;
    let (text, took) = read_until(&mut stream, "Seen from afar", Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(text.contains("event: incident_event"), "{text}");
    let data = text
        .lines()
        .find(|l| l.starts_with("data:") && l.contains("Seen from afar"))
        .unwrap();
    let event: serde_json::Value =
        serde_json::from_str(data.trim_start_matches("data:").trim()).unwrap();
    assert_eq!(event["kind"], "note");
    let seq = event["seq"].as_i64().unwrap();
    assert!(text.contains(&format!("id: {seq}")));

    // Reconnecting with Last-Event-ID replays what was missed.
    app.created(
        &format!("/api/v1/incidents/{id}/events"),
        &token,
        json!({"body": "While you were away"}),
    )
    .await;
    let mut resumed = reqwest::Client::new()
        .get(format!("{base}/api/v1/incidents/{id}/stream"))
        .bearer_auth(&token)
        .header("last-event-id", seq.to_string())
        .send()
        .await
        .unwrap();
    let (text, _) = read_until(&mut resumed, "While you were away", Duration::from_secs(5)).await;
    assert!(
        !text.contains("Seen from afar"),
        "nothing already seen is replayed"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn the_incident_page_stream_sends_rendered_entries() {
    let app = TestApp::new().await;
    let (_, token) = app.token("ada@example.com", Role::Responder).await;
    let incident = app
        .declare(&token, json!({"title": "Live page", "severity": "sev3"}))
        .await;
    let reference = incident["reference"].as_str().unwrap();
    let browser = app.signed_in("viewer@example.com", Role::Viewer).await;
    let cookie = format!("fireline_session={}", browser.cookies["fireline_session"]);
    let (base, shutdown) = second_instance(&app).await;

    let mut stream = reqwest::Client::new()
        .get(format!("{base}/admin/incidents/{reference}/live"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.created(
        &format!(
            "/api/v1/incidents/{}/events",
            incident["id"].as_str().unwrap()
        ),
        &token,
        json!({"body": "**Bold** move"}),
    )
    .await;
    let (text, _) = read_until(&mut stream, "move", Duration::from_secs(5)).await;
    assert!(text.contains("event: log"), "{text}");
    assert!(
        text.contains("<strong>Bold</strong>"),
        "rendered Markdown: {text}"
    );
    assert!(
        !text.contains("event-actions") && !text.contains("csrf_token"),
        "viewers get no controls"
    );

    // Without a session the stream is not available.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = anonymous
        .get(format!("{base}/admin/incidents/{reference}/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    shutdown.cancel();
}
