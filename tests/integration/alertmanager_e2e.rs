//! The real Prometheus Alertmanager (from the distribution's packages) sending to the real
//! server: its webhook with a Bearer key and its PagerDuty notifier pointed at our
//! `/v2/enqueue`, through firing, repeats and resolution one alert at a time.

use fireline::app::config::Settings;
use fireline::app::AppState;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::{rfc3339, TestApp};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
const AMTOOL: &str = "/usr/bin/amtool";
/// How long Fireline may take to show what Alertmanager sent: its timers are seconds, but
/// CI shares two cores between it, the server, PostgreSQL and the other tests.
const PATIENCE: Duration = Duration::from_secs(30);

/// Whether Alertmanager and amtool are installed: without them the test is skipped,
/// except in CI, where it fails.
fn installed() -> bool {
    if Path::new(ALERTMANAGER).exists() && Path::new(AMTOOL).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI must install prometheus-alertmanager (it ships amtool)"
    );
    eprintln!("skipped: Alertmanager is not installed (apt-get install prometheus-alertmanager)");
    false
}

/// An Alertmanager process for the test, killed when dropped; its log is printed when
/// the test fails.
struct Alertmanager {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Alertmanager {
    /// Start it on a free port with `config`, its state in `dir`, clustering off.
    async fn start(dir: &Path, config: &str) -> Alertmanager {
        let config_file = dir.join("alertmanager.yml");
        std::fs::write(&config_file, config).unwrap();
        let log = dir.join("alertmanager.log");
        let out = std::fs::File::create(&log).unwrap();
        let port = free_port();
        let child = Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=debug")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("Alertmanager starts");
        let am = Alertmanager {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let ready = reqwest::get(format!("{}/-/ready", am.url)).await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return am;
            }
            assert!(Instant::now() < deadline, "Alertmanager did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `amtool alert add` for the test's alert on `instance`, from `start`, resolved at
    /// `end` when given.
    async fn alert(&self, instance: &str, start: OffsetDateTime, end: Option<OffsetDateTime>) {
        let mut amtool = tokio::process::Command::new(AMTOOL);
        amtool
            .arg(format!("--alertmanager.url={}", self.url))
            .args(["alert", "add", "alertname=FirelineE2E"])
            .arg(format!("instance={instance}"))
            .arg("severity=critical")
            .arg("--annotation=summary=API slow")
            .arg("--annotation=runbook_url=http://rb/api")
            .arg(format!("--start={}", rfc3339(start)));
        if let Some(end) = end {
            amtool.arg(format!("--end={}", rfc3339(end)));
        }
        let out = amtool.output().await.expect("amtool runs");
        assert!(
            out.status.success(),
            "amtool alert add failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- Alertmanager's log ---\n{log}--- end of Alertmanager's log ---");
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real server on a free port with the alert processor running, as `fireline serve`.
async fn serve(app: &TestApp) -> (String, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(app.pool().clone(), Settings::for_base_url(&base));
    let shutdown = CancellationToken::new();
    let processor = fireline::alerts::process::Processor::new(app.pool().clone());
    tokio::spawn(processor.run(shutdown.clone()));
    tokio::spawn(fireline::http::serve(
        listener,
        fireline::http::router(state),
        shutdown.clone().cancelled_owned(),
    ));
    (base, shutdown)
}

fn config(fireline: &str, webhook_key: &str, pagerduty_key: &str) -> String {
    format!(
        r#"route:
  receiver: fireline
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4s
receivers:
- name: fireline
  webhook_configs:
  - url: "{fireline}/ingest/alertmanager"
    send_resolved: true
    http_config:
      authorization:
        type: Bearer
        credentials: "{webhook_key}"
  pagerduty_configs:
  - routing_key: "{pagerduty_key}"
    url: "{fireline}/v2/enqueue"
    send_resolved: true
    severity: critical
"#
    )
}

/// One group as the database has it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Group {
    group_key: String,
    source_key: Option<String>,
    title: String,
    state: String,
    runbook_url: Option<String>,
    alerts_firing: i32,
    alerts_total: i32,
    times_received: i32,
    events: i64,
}

/// Every group of the integration, oldest first.
async fn groups(pool: &PgPool, integration: Uuid) -> Vec<Group> {
    sqlx::query_as(
        "SELECT g.group_key, g.source_key, g.title, g.state::text AS state, g.runbook_url, \
                g.alerts_firing, g.alerts_total, g.times_received, \
                (SELECT count(*) FROM alert_group_events e WHERE e.group_id = g.id) AS events \
         FROM alert_groups g WHERE g.integration_id = $1 ORDER BY g.opened_at, g.number",
    )
    .bind(integration)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The kinds of the history of the integration's groups, in order.
async fn history(pool: &PgPool, integration: Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT e.kind::text FROM alert_group_events e \
         JOIN alert_groups g ON g.id = e.group_id WHERE g.integration_id = $1 ORDER BY e.id",
    )
    .bind(integration)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// What both integrations hold: the webhook's groups, then PagerDuty's.
type Seen = (Vec<Group>, Vec<Group>);

/// Poll until `done` holds for what the integrations hold; panics after [`PATIENCE`]
/// with `what` and the last thing seen.
async fn wait_until(
    pool: &PgPool,
    (webhook, pagerduty): (Uuid, Uuid),
    what: &str,
    done: impl Fn(&Seen) -> bool,
) -> Seen {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let seen = (groups(pool, webhook).await, groups(pool, pagerduty).await);
        if done(&seen) {
            return seen;
        }
        if Instant::now() > deadline {
            let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_intake")
                .fetch_one(pool)
                .await
                .unwrap();
            panic!(
                "waited {PATIENCE:?} for {what}; {pending} deliveries still queued; \
                 the webhook's groups: {:#?}; PagerDuty's groups: {:#?}",
                seen.0, seen.1
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The one group of an integration, when it has exactly one.
fn only(groups: &[Group]) -> Option<&Group> {
    match groups {
        [group] => Some(group),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_fires_repeats_and_resolves_through_its_webhook_and_pagerduty() {
    if !installed() {
        return;
    }
    let app = TestApp::new().await;
    let (base, shutdown) = serve(&app).await;
    let _stop = crate::support::Running(shutdown);
    let (webhook, webhook_key) = app.integration("alertmanager").await;
    let (pagerduty, pagerduty_key) = app.integration("pagerduty").await;
    let (webhook, pagerduty): (Uuid, Uuid) = (webhook.parse().unwrap(), pagerduty.parse().unwrap());
    let both = (webhook, pagerduty);
    let dir = tempfile::tempdir().unwrap();
    let am = Alertmanager::start(dir.path(), &config(&base, &webhook_key, &pagerduty_key)).await;
    let began = Instant::now();

    // Two alerts of one group fire.
    let t0 = OffsetDateTime::now_utc() - time::Duration::seconds(10);
    am.alert("a", t0, None).await;
    am.alert("b", t0, None).await;
    let (hook, pd) = wait_until(
        app.pool(),
        both,
        "two firing alerts and a PagerDuty group",
        |(h, p)| {
            only(h).is_some_and(|g| g.state == "firing" && g.alerts_firing == 2)
                && only(p).is_some_and(|g| g.state == "firing")
        },
    )
    .await;
    let (hook, pd) = (hook[0].clone(), pd[0].clone());
    let group_key = "{}:{alertname=\"FirelineE2E\"}";
    assert_eq!(hook.source_key.as_deref(), Some(group_key), "{hook:?}");
    let hashed = format!("{:x}", Sha256::digest(group_key));
    assert_eq!(
        hook.group_key, hashed,
        "the identity is sha256 of the groupKey"
    );
    assert_eq!(
        pd.group_key, hook.group_key,
        "Alertmanager's PagerDuty dedup_key is the same identity"
    );
    assert_eq!(hook.title, "API slow", "the common summary");
    assert_eq!(hook.runbook_url.as_deref(), Some("http://rb/api"));
    assert_eq!(hook.alerts_total, 2);

    // Past repeat_interval both are sent again, unchanged: counted, nothing new.
    let (hook_again, pd_again) = wait_until(app.pool(), both, "a repeat of both", |(h, p)| {
        only(h).is_some_and(|g| g.times_received > hook.times_received)
            && only(p).is_some_and(|g| g.times_received > pd.times_received)
    })
    .await;
    let (hook_again, pd_again) = (&hook_again[0], &pd_again[0]);
    assert_eq!(
        (
            hook_again.events,
            hook_again.state.as_str(),
            hook_again.alerts_firing
        ),
        (hook.events, "firing", 2),
        "a repeat adds no history: {hook_again:?}"
    );
    assert_eq!(
        (pd_again.events, pd_again.state.as_str()),
        (pd.events, "firing"),
        "a repeat adds no history: {pd_again:?}"
    );

    // One alert resolves: the group still fires, 1 of 2.
    let a_ended = OffsetDateTime::now_utc();
    am.alert("a", t0, Some(a_ended)).await;
    let (hook, pd) = wait_until(
        app.pool(),
        both,
        "instance a resolved, b firing",
        |(h, _)| only(h).is_some_and(|g| g.alerts_firing == 1),
    )
    .await;
    let (hook, pd) = (&hook[0], only(&pd).expect("one PagerDuty group"));
    assert_eq!(
        (hook.state.as_str(), hook.alerts_firing, hook.alerts_total),
        ("firing", 1, 2),
        "{hook:?}"
    );
    assert_eq!(pd.state, "firing", "PagerDuty still triggered: {pd:?}");
    let resolved: Vec<(String, String, Option<OffsetDateTime>)> = sqlx::query_as(
        "SELECT a.labels->>'instance', a.status::text, a.ends_at FROM alerts a \
         JOIN alert_groups g ON g.id = a.group_id WHERE g.integration_id = $1 ORDER BY 1",
    )
    .bind(webhook)
    .fetch_all(app.pool())
    .await
    .unwrap();
    let states: Vec<(&str, &str)> = resolved
        .iter()
        .map(|(i, s, _)| (i.as_str(), s.as_str()))
        .collect();
    assert_eq!(states, [("a", "resolved"), ("b", "firing")]);
    let ends_at = resolved[0].2.expect("a has ended");
    assert!(
        (ends_at - a_ended).abs() < time::Duration::milliseconds(1),
        "a ended when Alertmanager said: {ends_at} vs {a_ended}"
    );

    // The last one resolves: both groups resolve, and none opens again.
    am.alert("b", t0, Some(OffsetDateTime::now_utc())).await;
    let (hook, pd) = wait_until(app.pool(), both, "both groups resolved", |(h, p)| {
        only(h).is_some_and(|g| g.state == "resolved")
            && only(p).is_some_and(|g| g.state == "resolved")
    })
    .await;
    assert_eq!((hook[0].alerts_firing, hook[0].alerts_total), (0, 2));
    assert_eq!((pd[0].alerts_firing, pd[0].alerts_total), (0, 1));
    let failed: i64 = app
        .scalar("SELECT count(*) FROM alert_intake WHERE state = 'failed'")
        .await;
    assert_eq!(failed, 0, "no delivery failed");
    assert_eq!(
        history(app.pool(), webhook).await,
        [
            "opened",
            "alert_fired",
            "alert_fired",
            "alert_resolved",
            "alert_resolved",
            "resolved"
        ]
    );
    assert_eq!(
        history(app.pool(), pagerduty).await,
        ["opened", "alert_fired", "alert_resolved", "resolved"]
    );
    let log = std::fs::read_to_string(&am.log).unwrap();
    assert!(
        !log.contains("Notify attempt failed") && !log.contains("Notify for alerts failed"),
        "Fireline took every notification"
    );
    eprintln!("Alertmanager to resolution took {:?}", began.elapsed());
}
