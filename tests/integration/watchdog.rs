//! Fireline watching itself: the scheduler-liveness endpoint, the outbound heartbeat that
//! the job runner pings, and `fireline watchdog` on its own: it tells its list (here an
//! ntfy receiver on loopback) when Fireline stops and again when it is back, and two
//! watchdogs watch each other.

use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::support::{TestApp, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_fireline");

/// What an ntfy server on loopback received: each message's JSON.
#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<Value>>>);

impl Inbox {
    async fn start() -> (Inbox, String) {
        let inbox = Inbox::default();
        let kept = inbox.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let kept = kept.clone();
                async move {
                    kept.0.lock().unwrap().push(body);
                    "{}"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (inbox, url)
    }

    fn titles(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|m| m["title"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Wait up to `limit` for a message whose title contains `needle`; how long it took.
    async fn wait_for(&self, needle: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.titles().iter().any(|t| t.contains(needle)) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "no {needle:?} within {limit:?}; got {:?}",
                self.titles()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(command: Command, marker: &'static str) -> Child {
    crate::support::spawn_until(command, marker).0
}

fn serve(db: &TestDb, port: u16) -> Child {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", db.url())
        .env("FIRELINE_LOG", "info");
    spawn(command, "Fireline is listening")
}

fn watchdog(config: &std::path::Path) -> Child {
    let mut command = Command::new(BIN);
    command
        .args(["watchdog", "--config"])
        .arg(config)
        .env_remove("DATABASE_URL")
        .env("FIRELINE_LOG", "info");
    spawn(command, "the watchdog is watching")
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn the_scheduler_endpoint_says_stalled_until_the_job_runner_has_swept() {
    let app = TestApp::new().await;
    let r = app.get("/healthz/scheduler").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["status"], "stalled");
    let job =
        fireline::platform::jobs::NewJob::new(fireline::monitors::sweep::SWEEP_JOB, Value::Null);
    fireline::platform::jobs::enqueue(app.pool(), job)
        .await
        .unwrap();
    app.run_jobs().await;
    let r = app.get("/healthz/scheduler").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["status"], "ok");
    // A sweep that finished long ago is a stalled scheduler.
    app.exec("UPDATE jobs SET finished_at = now() - interval '10 minutes'")
        .await;
    let r = app.get("/healthz/scheduler").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.json()["seconds_ago"].as_i64().unwrap() >= 600);
}

#[tokio::test]
async fn the_job_runner_pings_the_outbound_heartbeat_url_and_a_fireline_heartbeat_hears_it() {
    // One Fireline watches another: the watcher's heartbeat is pinged by the watched.
    let watcher = TestApp::new().await;
    let (_, admin) = watcher
        .token("root@example.com", fireline::accounts::Role::Admin)
        .await;
    let hb = watcher
        .created(
            "/api/v1/heartbeats",
            &admin,
            serde_json::json!({"name": "Fireline in DC2", "period_seconds": 60}),
        )
        .await;
    let (base, _stop) = crate::live::second_instance(&watcher).await;
    let url = format!("{base}/ping/{}", hb["uuid"].as_str().unwrap());
    let db = TestDb::new().await;
    let port = free_port().await;
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", db.url())
        .env("FIRELINE_HEARTBEAT_URL", &url)
        .env("FIRELINE_LOG", "info");
    let watched = spawn(command, "Fireline is listening");
    let started = Instant::now();
    let body = loop {
        let found: Option<String> =
            sqlx::query_scalar("SELECT body FROM heartbeat_pings ORDER BY id LIMIT 1")
                .fetch_optional(watcher.pool())
                .await
                .unwrap();
        if let Some(body) = found {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no ping came");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop(watched);
    assert!(
        body.contains("the job runner and the database work"),
        "{body}"
    );
    let state: String = watcher.scalar("SELECT state::text FROM heartbeats").await;
    assert_eq!(state, "up");
}

#[tokio::test]
async fn the_watchdog_tells_its_list_when_fireline_stops_and_when_it_is_back_and_two_watch_each_other(
) {
    let db = TestDb::new().await;
    let port = free_port().await;
    let fireline = serve(&db, port);
    let (inbox, ntfy) = Inbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a_port, b_port) = (free_port().await, free_port().await);
    let config = |me: u16, other: u16, name: &str| {
        format!(
            r#"
interval_seconds = 1
down_after_seconds = 2
repeat_minutes = 60
timeout_seconds = 2
listen = "127.0.0.1:{me}"

[[watch]]
name = "Fireline"
url = "http://127.0.0.1:{port}"

[[watch]]
name = "{name}"
url = "http://127.0.0.1:{other}"
kind = "watchdog"

[[notify]]
kind = "ntfy"
server = "{ntfy}"
topic = "fireline-down"
"#
        )
    };
    let a_path = dir.path().join("a.toml");
    let b_path = dir.path().join("b.toml");
    std::fs::write(&a_path, config(a_port, b_port, "Watchdog B")).unwrap();
    std::fs::write(&b_path, config(b_port, a_port, "Watchdog A")).unwrap();
    let a = watchdog(&a_path);
    let b = watchdog(&b_path);
    // All is well: nobody is told anything.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(inbox.titles().is_empty(), "{:?}", inbox.titles());
    let health: Value = reqwest::get(format!("http://127.0.0.1:{a_port}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["watching"][0]["state"], "up", "{health}");

    // Fireline stops: both watchdogs tell the list, within the configured time.
    stop(fireline);
    let took = inbox
        .wait_for("Fireline is DOWN", Duration::from_secs(10))
        .await;
    assert!(
        took >= Duration::from_secs(1),
        "not before down_after: {took:?}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let down = inbox
        .titles()
        .iter()
        .filter(|t| *t == "Fireline is DOWN")
        .count();
    assert_eq!(down, 2, "once from each watchdog: {:?}", inbox.titles());
    let first = inbox.0.lock().unwrap()[0].clone();
    assert_eq!(first["topic"], "fireline-down");
    assert_eq!(first["priority"], 5);
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("it cannot be reached"),
        "{first}"
    );

    // Back: the recovery notice arrives.
    let fireline = serve(&db, port);
    inbox
        .wait_for("Fireline is back", Duration::from_secs(10))
        .await;

    // Watchdog A stops: B says so.
    stop(a);
    inbox
        .wait_for("Watchdog A is DOWN", Duration::from_secs(10))
        .await;
    stop(b);
    stop(fireline);
}

#[test]
fn a_bad_watchdog_config_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (text, why) in [
        ("watch = []\nnotify = []", "nothing to watch"),
        (
            "[[watch]]\nname = \"F\"\nurl = \"http://f\"\n",
            "missing field `notify`",
        ),
        (
            "[[watch]]\nname = \"F\"\nurl = \"http://f\"\n[[notify]]\nkind = \"ntfy\"\n",
            "topic",
        ),
        (
            "[[watch]]\nname = \"F\"\nurl = \"http://f\"\n[[notify]]\nkind = \"email\"\naddress = \"a@b.example\"\n",
            "needs an [smtp] section",
        ),
        (
            "[[watch]]\nname = \"F\"\nurl = \"ftp://f\"\n[[notify]]\nkind = \"ntfy\"\ntopic = \"t\"\n",
            "must start with http",
        ),
        ("intervall_seconds = 3", "unknown field"),
    ] {
        let path = dir.path().join("w.toml");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(BIN)
            .args(["watchdog", "--config"])
            .arg(&path)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{text}: {stderr}");
    }
}
