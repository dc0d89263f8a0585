//! Incident command benchmark: declaring, appending to the log, and rendering an incident
//! page with 10,000 entries, through the real router on the real PostgreSQL.
//!
//! `cargo bench --bench incidents` (uses DATABASE_URL's server, or the local default; it
//! creates and drops a database of its own). Prints a Markdown table for BENCHMARKS.md.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::app::AppState;
use fireline::http::router as build_router;
use http_body_util::BodyExt;
use sqlx::{Connection, PgConnection, PgPool};
use std::time::{Duration, Instant};
use tower::ServiceExt;

fn url_for(database: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut url = url::Url::parse(&base).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

struct Stats {
    name: &'static str,
    samples: Vec<Duration>,
}

impl Stats {
    fn row(&mut self, baseline: Option<f64>) -> String {
        self.samples.sort();
        let n = self.samples.len();
        let total: Duration = self.samples.iter().sum();
        let mean = total.as_secs_f64() / n as f64;
        let pct =
            |p: f64| self.samples[((n as f64 * p) as usize).min(n - 1)].as_secs_f64() * 1000.0;
        let ratio = baseline
            .map(|b| format!("{:.1}×", mean / b))
            .unwrap_or_else(|| "—".into());
        format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.0} | {} |",
            self.name,
            n,
            mean * 1000.0,
            pct(0.50),
            pct(0.99),
            1.0 / mean,
            ratio
        )
    }

    fn mean(&self) -> f64 {
        self.samples.iter().sum::<Duration>().as_secs_f64() / self.samples.len() as f64
    }
}

async fn timed<F, Fut>(name: &'static str, n: usize, mut f: F) -> Stats
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // Warm up caches and the pool.
    for i in 0..(n / 10).max(3) {
        f(usize::MAX - i).await;
    }
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        f(i).await;
        samples.push(started.elapsed());
    }
    Stats { name, samples }
}

async fn send(router: &axum::Router, req: Request<Body>, expected: StatusCode) -> bytes::Bytes {
    let response = router.clone().oneshot(req).await.expect("router answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(status, expected, "{}", String::from_utf8_lossy(&body));
    body
}

#[tokio::main]
async fn main() {
    let name = format!("fireline_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&url_for("postgres"))
        .await
        .expect("PostgreSQL answers");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let pool = PgPool::connect(&url_for(&name)).await.unwrap();
    fireline::platform::db::migrate(&pool).await.unwrap();
    let result = run(&pool).await;
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    println!("{result}");
}

async fn run(pool: &PgPool) -> String {
    let hash = fireline::accounts::hash_password("bench password 123").unwrap();
    let user = fireline::accounts::users::insert(
        pool,
        fireline::accounts::users::NewUserRow {
            email: "bench@example.com",
            name: "Bench",
            role: Role::Admin,
            password_hash: &hash.0,
        },
    )
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let (_, token) = fireline::accounts::tokens::create(&mut conn, user.id, "bench")
        .await
        .unwrap();
    let session = fireline::platform::secret::random_token("");
    fireline::accounts::sessions::insert(
        &mut *conn,
        fireline::accounts::sessions::NewSession {
            id_hash: &fireline::platform::secret::hash_token(&session),
            user_id: user.id,
            csrf_token: "x",
            user_agent: None,
            client_ip: "127.0.0.1",
        },
    )
    .await
    .unwrap();
    drop(conn);
    let router = build_router(AppState::new(
        pool.clone(),
        Settings::for_base_url("http://bench.local"),
    ));
    let json = |method: &str, uri: String, body: String| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };

    let mut select_one = timed("baseline: `SELECT 1` round trip", 2000, |_| async {
        sqlx::query("SELECT 1").execute(pool).await.unwrap();
    })
    .await;
    let baseline = select_one.mean();

    let mut declare = timed("declare an incident (API)", 300, |i| {
        let req = json(
            "POST",
            "/api/v1/incidents".into(),
            format!(r#"{{"title": "Bench {i}", "severity": "sev2"}}"#),
        );
        let router = &router;
        async move {
            send(router, req, StatusCode::CREATED).await;
        }
    })
    .await;

    let body = send(
        &router,
        json(
            "POST",
            "/api/v1/incidents".into(),
            r#"{"title": "The long one", "severity": "sev1"}"#.into(),
        ),
        StatusCode::CREATED,
    )
    .await;
    let incident: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let id = incident["id"].as_str().unwrap().to_owned();
    let reference = incident["reference"].as_str().unwrap().to_owned();

    let mut append = timed("append a note to the log (API)", 2000, |i| {
        let req = json(
            "POST",
            format!("/api/v1/incidents/{id}/events"),
            format!(r#"{{"body": "Observation number {i}: error rate **{i}**"}}"#),
        );
        let router = &router;
        async move {
            send(router, req, StatusCode::CREATED).await;
        }
    })
    .await;

    // Fill the log up to 10,000 entries.
    sqlx::query(
        "INSERT INTO incident_events (id, incident_id, kind, body, occurred_at) \
         SELECT gen_random_uuid(), $1, 'note', 'Filler note ' || n || ' with *some* Markdown', now() - make_interval(secs => n) \
         FROM generate_series(1, 10000 - (SELECT count(*) FROM incident_events WHERE incident_id = $1)::int) n",
    )
    .bind(uuid::Uuid::parse_str(&id).unwrap())
    .execute(pool)
    .await
    .unwrap();
    // As autovacuum would after such a load.
    sqlx::query("ANALYZE incident_events")
        .execute(pool)
        .await
        .unwrap();
    let count = fireline::incidents::events::count(pool, uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    assert!(count >= 10_000);

    let page = |uri: String| {
        Request::builder()
            .uri(uri)
            .header(header::COOKIE, format!("fireline_session={session}"))
            .body(Body::empty())
            .unwrap()
    };
    let page_bytes = send(
        &router,
        page(format!("/admin/incidents/{reference}")),
        StatusCode::OK,
    )
    .await
    .len();
    let mut render = timed(
        "render the incident page, 10,000 entries (first 100 shown)",
        300,
        |_| {
            let req = page(format!("/admin/incidents/{reference}"));
            let router = &router;
            async move {
                send(router, req, StatusCode::OK).await;
            }
        },
    )
    .await;

    // The cursor of the 101st oldest entry: the page before it is the oldest 100.
    let (at, seq): (time::OffsetDateTime, i64) = sqlx::query_as(
        "SELECT occurred_at, seq FROM incident_events WHERE incident_id = $1 ORDER BY occurred_at, seq OFFSET 100 LIMIT 1",
    )
    .bind(uuid::Uuid::parse_str(&id).unwrap())
    .fetch_one(pool)
    .await
    .unwrap();
    let oldest_cursor = format!("{}_{seq}", at.unix_timestamp_nanos());
    let mut oldest = timed(
        "render the oldest page of the same log (keyset)",
        100,
        |_| {
            let req = Request::builder()
                .uri(format!(
                    "/admin/incidents/{reference}?before={oldest_cursor}"
                ))
                .header(header::COOKIE, format!("fireline_session={session}"))
                .body(Body::empty())
                .unwrap();
            let router = &router;
            async move {
                send(router, req, StatusCode::OK).await;
            }
        },
    )
    .await;

    let mut api_page = timed("read 200 log entries (API)", 300, |_| {
        let req = json(
            "GET",
            format!("/api/v1/incidents/{id}/events?limit=200"),
            String::new(),
        );
        let router = &router;
        async move {
            send(router, req, StatusCode::OK).await;
        }
    })
    .await;

    let mut out = String::new();
    out.push_str("| operation | runs | mean ms | p50 ms | p99 ms | per second (one client) | vs. `SELECT 1` |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for row in [
        select_one.row(None),
        declare.row(Some(baseline)),
        append.row(Some(baseline)),
        render.row(Some(baseline)),
        oldest.row(Some(baseline)),
        api_page.row(Some(baseline)),
    ] {
        out.push_str(&row);
        out.push('\n');
    }
    out.push_str(&format!(
        "\nIncident page size: {} KiB for {count} log entries.\n",
        page_bytes / 1024
    ));
    out
}
