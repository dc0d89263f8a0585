//! The real `fireline serve` process started, stopped, restarted and killed: what it
//! logs, which setup link works, and what happens to a private cluster it leaves behind.

use scraper::{Html, Selector};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{cluster_dir, have_postgres_binaries, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_fireline");

/// A running `fireline serve`, its JSON log lines collected as they come.
struct Server {
    child: Child,
    address: String,
    link: Option<String>,
    logs: Arc<Mutex<Vec<serde_json::Value>>>,
    stderr: std::thread::JoinHandle<()>,
}

impl Server {
    /// Start `fireline <args> serve` on a free port and wait until it listens.
    fn start(args: &[&str], database_url: Option<&str>) -> Server {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("FIRELINE_LOG", "info")
            .env("FIRELINE_LOG_FORMAT", "json")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        let mut child = command.spawn().unwrap();

        let (link_tx, link_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("http://") {
                    let _ = link_tx.send(format!("http://{rest}"));
                }
            }
        });
        let (address_tx, address_rx) = mpsc::channel();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let collected = logs.clone();
        let stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let parsed: serde_json::Value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "level": "?", "raw": line }));
                if parsed["message"] == "Fireline is listening" {
                    let address = parsed["address"].as_str().unwrap_or_default();
                    let _ = address_tx.send(address.to_owned());
                }
                collected.lock().unwrap().push(parsed);
            }
        });
        let Ok(address) = address_rx.recv_timeout(Duration::from_secs(90)) else {
            let _ = child.kill();
            panic!("fireline did not listen: {:#?}", logs.lock().unwrap());
        };
        // The link is printed before the server listens.
        let link = link_rx.recv_timeout(Duration::from_millis(500)).ok();
        Server {
            child,
            address,
            link,
            logs,
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    async fn wait_for_status_page(&self) {
        for _ in 0..200 {
            if reqwest::get(self.url("/")).await.unwrap().status() == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the status page was not built within 10 s");
    }

    fn logged(&self, message: &str) -> bool {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l["message"].as_str().is_some_and(|m| m.contains(message)))
    }

    /// SIGTERM, wait for a successful exit, and return every log line.
    fn stop(mut self) -> Vec<serde_json::Value> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("fireline did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.stderr.join().unwrap();
        assert!(status.success(), "exit status {status:?}");
        let logs = self.logs.lock().unwrap().clone();
        logs
    }

    /// SIGKILL: nothing runs after it.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// No line is a warning or an error, and sqlx passed on no server notice. One exception,
/// after "Fireline stopped" only: sqlx's own warning that a connection handed back while
/// the pool closes had been ended by the server. It is rare, and not yet understood (see
/// the notes of issue 10); everything before it, and every other line, must be quiet.
fn assert_quiet(logs: &[serde_json::Value]) {
    let stopped_at = logs
        .iter()
        .position(|l| l["message"] == "Fireline stopped")
        .unwrap_or(logs.len());
    let alarms: Vec<&serde_json::Value> = logs
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            let closing_race = *i > stopped_at
                && l["target"] == "sqlx_core::pool::connection"
                && l["message"] == "error occurred while testing the connection on-release";
            !closing_race
                && (!matches!(l["level"].as_str(), Some("INFO" | "DEBUG" | "TRACE"))
                    || l["target"].as_str().is_some_and(|t| t.starts_with("sqlx")))
        })
        .map(|(_, l)| l)
        .collect();
    assert!(
        alarms.is_empty(),
        "unexpected log lines: {alarms:#?}\nin: {logs:#?}"
    );
    assert!(
        logs.iter().any(|l| l["message"] == "Fireline stopped"),
        "{logs:#?}"
    );
}

fn csrf_of(html: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("input[name=csrf_token]").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_clean_stop_and_a_restart_log_no_alarm_and_only_the_newest_setup_link_works() {
    let db = TestDb::new().await;
    let url = db.url();
    let first = tokio::task::spawn_blocking({
        let url = url.clone();
        move || Server::start(&[], Some(&url))
    })
    .await
    .unwrap();
    let old_link = first.link.clone().expect("a setup link on the first start");
    assert_eq!(reqwest::get(&old_link).await.unwrap().status(), 200);
    // Once the status page is built, its loop and the live listener both run.
    first.wait_for_status_page().await;
    let logs = tokio::task::spawn_blocking(move || first.stop())
        .await
        .unwrap();
    assert_quiet(&logs);

    // A restart on the migrated database: still quiet, and a new link replaces the old.
    let second = tokio::task::spawn_blocking(move || Server::start(&[], Some(&url)))
        .await
        .unwrap();
    let link = second
        .link
        .clone()
        .expect("a setup link again: no admin yet");
    assert_ne!(link, old_link);
    second.wait_for_status_page().await;
    let old_path = &old_link[old_link.find("/setup").unwrap()..];
    assert_eq!(
        reqwest::get(second.url(old_path)).await.unwrap().status(),
        404,
        "the link of the previous start is revoked"
    );

    // Creating the admin signs them in and lands on the dashboard.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let form = client.get(&link).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let csrf = csrf_of(&form.text().await.unwrap());
    let token = link.split("token=").nth(1).unwrap();
    let landed = client
        .post(second.url("/setup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", token),
            ("name", "Ada Lovelace"),
            ("email", "ada@example.com"),
            ("password", "analytical engine 1843"),
            ("password_confirm", "analytical engine 1843"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status(), 200);
    assert_eq!(landed.url().path(), "/admin");
    let dashboard = landed.text().await.unwrap();
    assert!(dashboard.contains("you are signed in"), "{dashboard}");
    assert!(dashboard.contains("Ada Lovelace"), "{dashboard}");

    let logs = tokio::task::spawn_blocking(move || second.stop())
        .await
        .unwrap();
    assert_quiet(&logs);
}

fn postmaster_pid(data: &Path) -> Option<i32> {
    std::fs::read_to_string(data.join("postgres/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` runs (a zombie left for a reaper does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

/// A Fireline killed with SIGKILL leaves its private cluster running; the next start
/// adopts it and stops it when it stops. A cluster two Firelines share runs until the
/// last one stops.
#[tokio::test]
async fn a_private_cluster_left_by_a_killed_fireline_is_adopted_and_stopped_with_the_next() {
    if !have_postgres_binaries() {
        return;
    }
    let dir = cluster_dir();
    let data = dir.path().join("data");
    let args = vec![
        "--private-db".to_owned(),
        "--data-dir".to_owned(),
        data.display().to_string(),
    ];
    let start = move || {
        let args = args.clone();
        move || Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>(), None)
    };

    let killed = tokio::task::spawn_blocking(start()).await.unwrap();
    assert!(killed.logged("started the private PostgreSQL cluster"));
    let postmaster = postmaster_pid(&data).expect("the cluster runs");
    killed.kill();
    assert!(
        alive(postmaster),
        "the cluster outlives a SIGKILL of Fireline"
    );

    let adopter = tokio::task::spawn_blocking(start()).await.unwrap();
    assert!(
        adopter.logged("already running"),
        "adopted, not started anew"
    );
    assert_eq!(postmaster_pid(&data), Some(postmaster));
    let sharer = tokio::task::spawn_blocking(start()).await.unwrap();
    adopter.wait_for_status_page().await;
    sharer.wait_for_status_page().await;

    let logs = tokio::task::spawn_blocking(move || sharer.stop())
        .await
        .unwrap();
    assert_quiet(&logs);
    assert!(alive(postmaster), "still in use by the other Fireline");
    assert_eq!(
        reqwest::get(adopter.url("/readyz")).await.unwrap().status(),
        200
    );

    let logs = tokio::task::spawn_blocking(move || adopter.stop())
        .await
        .unwrap();
    assert_quiet(&logs);
    assert!(
        logs.iter()
            .any(|l| l["message"] == "stopped the private PostgreSQL cluster"),
        "{logs:#?}"
    );
    assert!(postmaster_pid(&data).is_none(), "postmaster.pid is gone");
    assert!(!alive(postmaster), "the postmaster has exited");
}
