//! Webhook fan-out benchmark: one public update to 10,000 subscribers, delivered by a real
//! `fireline serve` (release build) to a receiver on loopback that verifies every
//! signature with the `standardwebhooks` crate. Then the same with a second destination
//! whose endpoints hang for 15 s. The reference, measured in the same run: a bare HTTP
//! client posting the same signed bytes to the same receiver with the same concurrency.
//!
//! `cargo bench --bench webhooks` (uses DATABASE_URL's server, or the local default; it
//! creates and drops a database of its own). Prints a Markdown table for BENCHMARKS.md.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use fireline::accounts::Role;
use fireline::webhooks::signing::Secret;
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const SUBSCRIBERS: usize = 10_000;
const HANGING: usize = 50;
/// The server's default per-destination limit, used by the reference client too.
const PER_DESTINATION: usize = 32;

fn url_for(database: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut url = url::Url::parse(&base).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

/// What the receiver counts: messages whose signature verified, and those that did not.
#[derive(Default)]
struct Counts {
    verified: AtomicUsize,
    refused: AtomicUsize,
}

#[derive(Clone)]
struct Receiver {
    secrets: Arc<HashMap<String, standardwebhooks::Webhook>>,
    counts: Arc<Counts>,
}

async fn receive(
    State(r): State<Receiver>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let ok = r
        .secrets
        .get(&key)
        .is_some_and(|w| w.verify(&body, &headers).is_ok());
    if ok {
        r.counts.verified.fetch_add(1, Ordering::Relaxed);
        StatusCode::NO_CONTENT
    } else {
        r.counts.refused.fetch_add(1, Ordering::Relaxed);
        StatusCode::BAD_REQUEST
    }
}

async fn hang(Path(_): Path<String>) -> StatusCode {
    tokio::time::sleep(Duration::from_secs(15)).await;
    StatusCode::NO_CONTENT
}

async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn start_fireline(database_url: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fireline"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", database_url)
        .env("FIRELINE_LOG", "warn,fireline=info")
        .env("FIRELINE_LOG_FORMAT", "json")
        .env("FIRELINE_WEBHOOK_ALLOW_PRIVATE", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fireline");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Fireline is listening") {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if let (Some(tx), Some(a)) = (tx.take(), v["address"].as_str()) {
                    let _ = tx.send(a.to_owned());
                }
            }
        }
    });
    let address = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("fireline listens");
    (child, format!("http://{address}"))
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

struct Run {
    name: String,
    seconds: f64,
    recorded_seconds: f64,
    peak_rss_mib: f64,
    rss_before_mib: f64,
}

async fn fan_out(
    pool: &PgPool,
    database_url: &str,
    token: &str,
    counts: &Counts,
    name: &str,
) -> Run {
    sqlx::query("TRUNCATE deliveries, delivery_attempts, webhook_messages")
        .execute(pool)
        .await
        .expect("clean outbox");
    counts.verified.store(0, Ordering::SeqCst);
    counts.refused.store(0, Ordering::SeqCst);
    let (child, base) = start_fireline(database_url);
    let pid = child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = memory_kib(pid, "VmRSS:");
    let client = reqwest::Client::new();
    let started = Instant::now();
    let response = client
        .post(format!("{base}/api/v1/incidents"))
        .bearer_auth(token)
        .json(&json!({"title": "Fan-out benchmark", "severity": "sev2",
                       "initial_update": "We are investigating elevated error rates."}))
        .send()
        .await
        .expect("declare");
    assert_eq!(response.status(), 201, "declaring failed");
    let mut peak = 0;
    while counts.verified.load(Ordering::Relaxed) < SUBSCRIBERS {
        peak = peak.max(memory_kib(pid, "VmHWM:"));
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the fan-out did not finish in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    loop {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id \
             WHERE d.state = 'delivered' AND s.url NOT LIKE '%/hang/%'",
        )
        .fetch_one(pool)
        .await
        .expect("count");
        if delivered as usize >= SUBSCRIBERS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recorded_seconds = started.elapsed().as_secs_f64();
    peak = peak.max(memory_kib(pid, "VmHWM:"));
    stop(child);
    assert_eq!(
        counts.refused.load(Ordering::SeqCst),
        0,
        "every signature verifies"
    );
    Run {
        name: name.to_owned(),
        seconds,
        recorded_seconds,
        peak_rss_mib: peak as f64 / 1024.0,
        rss_before_mib: rss_before as f64 / 1024.0,
    }
}

/// The same signed bytes posted by a bare client with the same concurrency.
async fn reference(base: &str, keys: &[(String, Secret)], counts: &Counts) -> f64 {
    counts.verified.store(0, Ordering::SeqCst);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(PER_DESTINATION)
        .build()
        .expect("client");
    let body = Bytes::from(
        json!({"meta": {}, "page": {}, "incident": {"name": "reference", "incident_updates": [{"body": "x".repeat(600)}]}})
            .to_string(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let keys = Arc::new(keys.to_vec());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..PER_DESTINATION {
        let (client, body, next, keys, base) = (
            client.clone(),
            body.clone(),
            next.clone(),
            keys.clone(),
            base.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= keys.len() {
                    break;
                }
                let (key, secret) = &keys[i];
                let id = format!("msg_ref{i}");
                let ts = time::OffsetDateTime::now_utc().unix_timestamp();
                let signature = secret.sign(&id, ts, &body);
                let r = client
                    .post(format!("{base}/s/{key}"))
                    .header("content-type", "application/json")
                    .header("webhook-id", id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", signature)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("post");
                assert!(r.status().is_success());
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(counts.verified.load(Ordering::SeqCst), keys.len());
    started.elapsed().as_secs_f64()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let name = format!("fireline_bench_webhooks_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&url_for("postgres"))
        .await
        .expect("PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let database_url = url_for(&name);
    let pool = PgPool::connect(&database_url).await.expect("connect");
    fireline::platform::db::migrate(&pool)
        .await
        .expect("migrate");
    let hash = fireline::accounts::hash_password("benchmark password").expect("hash");
    let user = fireline::accounts::users::insert(
        &pool,
        fireline::accounts::users::NewUserRow {
            email: "bench@example.com",
            name: "Bench",
            role: Role::Admin,
            password_hash: &hash.0,
        },
    )
    .await
    .expect("user");
    let (_, token) = fireline::accounts::tokens::create(
        &mut pool.acquire().await.expect("conn"),
        user.id,
        "bench",
    )
    .await
    .expect("token");

    // 10,000 subscribers, each with its own secret, all on one receiver.
    let keys: Vec<(String, Secret)> = (0..SUBSCRIBERS)
        .map(|i| (format!("k{i}"), Secret::generate()))
        .collect();
    let verifiers: HashMap<String, standardwebhooks::Webhook> = keys
        .iter()
        .map(|(k, s)| {
            (
                k.clone(),
                standardwebhooks::Webhook::new(&s.expose()).expect("secret"),
            )
        })
        .collect();
    let counts = Arc::new(Counts::default());
    let receiver = Receiver {
        secrets: Arc::new(verifiers),
        counts: counts.clone(),
    };
    let base = serve(
        Router::new()
            .route("/s/{key}", post(receive))
            .with_state(receiver),
    )
    .await;
    let hanging = serve(Router::new().route("/hang/{key}", post(hang))).await;

    let reference_seconds = reference(&base, &keys, &counts).await;

    let urls: Vec<String> = keys.iter().map(|(k, _)| format!("{base}/s/{k}")).collect();
    let secrets: Vec<String> = keys.iter().map(|(_, s)| s.expose()).collect();
    sqlx::query(
        "INSERT INTO subscribers (id, url, destination, secret) \
         SELECT gen_random_uuid(), u, $3, s FROM unnest($1::text[], $2::text[]) AS t(u, s)",
    )
    .bind(&urls)
    .bind(&secrets)
    .bind(&base)
    .execute(&pool)
    .await
    .expect("subscribers");
    sqlx::query("ANALYZE")
        .execute(&pool)
        .await
        .expect("analyze");

    let plain = fan_out(&pool, &database_url, &token, &counts, "10,000 subscribers").await;

    let hang_urls: Vec<String> = (0..HANGING)
        .map(|i| format!("{hanging}/hang/{i}"))
        .collect();
    let hang_secrets: Vec<String> = (0..HANGING).map(|_| Secret::generate().expose()).collect();
    sqlx::query(
        "INSERT INTO subscribers (id, url, destination, secret) \
         SELECT gen_random_uuid(), u, $3, s FROM unnest($1::text[], $2::text[]) AS t(u, s)",
    )
    .bind(&hang_urls)
    .bind(&hang_secrets)
    .bind(&hanging)
    .execute(&pool)
    .await
    .expect("hanging subscribers");
    let with_hang = fan_out(
        &pool,
        &database_url,
        &token,
        &counts,
        &format!("10,000 subscribers + {HANGING} on a destination that hangs 15 s"),
    )
    .await;

    pool.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await;

    let reference_rate = SUBSCRIBERS as f64 / reference_seconds;
    println!(
        "| run | all 10,000 verified (s) | deliveries/s | all recorded (s) | peak RSS (MiB) | RSS before (MiB) | vs. bare client |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| reference: bare client, same bytes, {PER_DESTINATION} at a time | {reference_seconds:.2} | {reference_rate:.0} | — | — | — | 1.00 |"
    );
    for run in [&plain, &with_hang] {
        let rate = SUBSCRIBERS as f64 / run.seconds;
        println!(
            "| {} | {:.2} | {:.0} | {:.2} | {:.0} | {:.0} | {:.2} |",
            run.name,
            run.seconds,
            rate,
            run.recorded_seconds,
            run.peak_rss_mib,
            run.rss_before_mib,
            rate / reference_rate
        );
    }
    println!(
        "\nThe hanging destination cost the others {:+.2} s ({:+.0} %).",
        with_hang.seconds - plain.seconds,
        (with_hang.seconds / plain.seconds - 1.0) * 100.0
    );
}
