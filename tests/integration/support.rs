//! Test harness: a fresh database per test (copied from a migrated template), the real
//! router driven in-process, and a small cookie-keeping browser.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use fireline::accounts::Role;
use fireline::app::config::Settings;
use fireline::app::AppState;
use fireline::http::router as build_router;
use http_body_util::BodyExt;
use scraper::{Html, Selector};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tower::ServiceExt;

/// The server tests create their databases on: `DATABASE_URL`, or the local default.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `server_url()` with another database name.
pub fn url_for(database: &str) -> String {
    let mut url = url::Url::parse(&server_url()).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

fn template_name() -> String {
    // A new template whenever the migrations change.
    let mut sum: u64 = 0;
    for m in fireline::platform::db::MIGRATOR.iter() {
        for (i, b) in m.checksum.iter().enumerate() {
            sum = sum.wrapping_mul(31).wrapping_add(u64::from(*b) ^ i as u64);
        }
    }
    format!("fireline_test_template_{:x}", sum & 0xffff_ffff)
}

async fn admin_conn() -> PgConnection {
    PgConnection::connect(&url_for("postgres"))
        .await
        .unwrap_or_else(|e| panic!("tests need PostgreSQL at {}: {e}", server_url()))
}

async fn ensure_template(conn: &mut PgConnection, template: &str) {
    sqlx::query("SELECT pg_advisory_lock(727274)")
        .execute(&mut *conn)
        .await
        .unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(template)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {template}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url_for(template))
            .await
            .unwrap();
        fireline::platform::db::migrate(&pool).await.unwrap();
        pool.close().await;
    }
    sqlx::query("SELECT pg_advisory_unlock(727274)")
        .execute(&mut *conn)
        .await
        .unwrap();
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub pool: PgPool,
}

impl TestDb {
    pub async fn new() -> Self {
        let mut conn = admin_conn().await;
        let template = template_name();
        ensure_template(&mut conn, &template).await;
        let name = format!("fireline_test_{}", uuid::Uuid::new_v4().simple());
        let mut tries = 0;
        loop {
            let created = sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .execute(&mut conn)
                .await;
            match created {
                Ok(_) => break,
                // "source database is being accessed by other users": another test is copying it.
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot create test database: {e}"),
            }
        }
        let _ = conn.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .connect(&url_for(&name))
            .await
            .unwrap();
        TestDb { name, pool }
    }

    /// An admin, Ada, and an API token of hers labelled `label`, straight in the database.
    pub async fn admin_token(&self, label: &str) -> String {
        let hash = fireline::accounts::hash_password(PASSWORD).unwrap();
        let admin = fireline::accounts::users::insert(
            &self.pool,
            fireline::accounts::users::NewUserRow {
                email: "ada@example.com",
                name: "Ada",
                role: Role::Admin,
                password_hash: &hash.0,
            },
        )
        .await
        .unwrap();
        let mut conn = self.pool.acquire().await.unwrap();
        fireline::accounts::tokens::create(&mut conn, admin.id, label)
            .await
            .unwrap()
            .1
    }

    pub fn url(&self) -> String {
        url_for(&self.name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async; a thread with its own runtime removes the database.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&url_for("postgres")).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// The real router on a fresh database.
pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
    pub router: Router,
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub async fn new() -> Self {
        Self::with_settings(Settings::for_base_url("http://fireline.test")).await
    }

    pub async fn with_settings(settings: Settings) -> Self {
        let db = TestDb::new().await;
        fireline::status_page::settings::record_configured_url(&db.pool, &settings.base_url)
            .await
            .unwrap();
        let state = AppState::new(db.pool.clone(), settings);
        let router = build_router(state.clone());
        TestApp { db, state, router }
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// An app whose webhooks may go to loopback receivers.
    pub async fn with_private_webhooks() -> Self {
        let mut settings = Settings::for_base_url("http://fireline.test");
        settings.webhooks.allow_private = true;
        Self::with_settings(settings).await
    }

    /// Run a webhook dispatcher until the returned guard is dropped.
    pub fn dispatcher(&self, config: fireline::webhooks::DeliveryConfig) -> Running {
        let stop = tokio_util::sync::CancellationToken::new();
        let dispatcher = fireline::webhooks::Dispatcher::new(self.pool().clone(), config).unwrap();
        tokio::spawn(dispatcher.run(stop.clone()));
        Running(stop)
    }

    /// A user with the shared test password.
    pub async fn user(&self, email: &str, role: Role) -> fireline::accounts::users::UserRow {
        let hash = fireline::accounts::hash_password(PASSWORD).unwrap();
        fireline::accounts::users::insert(
            self.pool(),
            fireline::accounts::users::NewUserRow {
                email,
                name: email.split('@').next().unwrap(),
                role,
                password_hash: &hash.0,
            },
        )
        .await
        .unwrap()
    }

    /// Run the statement `sql` (without parameters), e.g. to age what a test made.
    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql).execute(self.pool()).await.unwrap();
    }

    /// The one value the query `sql` (without parameters) selects.
    pub async fn scalar<T>(&self, sql: &str) -> T
    where
        T: Send + Unpin,
        (T,): for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        sqlx::query_scalar(sql)
            .fetch_one(self.pool())
            .await
            .unwrap()
    }

    /// Apply the domain events the last requests recorded (webhook fan-out, ...), as the
    /// consumer runner of a serving process does.
    pub async fn apply_events(&self) {
        fireline::app::apply_events(self.pool()).await.unwrap();
    }

    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let response = TestResponse::read(response).await;
        // What a serving process's background consumers would do next.
        self.apply_events().await;
        response
    }

    /// A bare request from `ip` (for the API and pages without cookies).
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(
            request(Method::GET, path, "10.0.0.1")
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: &str,
        json: Option<&str>,
    ) -> TestResponse {
        let mut req = request(method, path, "10.0.0.1")
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match json {
            Some(json) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_owned())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    /// A browser on this app's pages: its forms are sent as a modern browser sends
    /// them, with `Origin` and `Sec-Fetch-Site: same-origin`.
    pub fn browser(&self) -> Browser<'_> {
        let origin = url::Url::parse(&self.state.settings.base_url)
            .unwrap()
            .origin()
            .ascii_serialization();
        Browser {
            app: self,
            cookies: BTreeMap::new(),
            ip: "10.0.0.1".to_owned(),
            origin: Some(origin),
            fetch_site: Some("same-origin"),
        }
    }

    /// A browser whose requests come from `ip`.
    pub fn browser_at(&self, ip: impl Into<String>) -> Browser<'_> {
        let mut browser = self.browser();
        browser.ip = ip.into();
        browser
    }

    /// A browser signed in as a new user with `role`.
    pub async fn signed_in(&self, email: &str, role: Role) -> Browser<'_> {
        self.user(email, role).await;
        let mut browser = self.browser();
        let response = browser.sign_in(email, PASSWORD).await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "sign-in failed: {}",
            response.text
        );
        browser
    }
}

/// Stops a background task when dropped.
pub struct Running(pub tokio_util::sync::CancellationToken);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

fn request(method: Method, path: &str, ip: &str) -> axum::http::request::Builder {
    let addr = SocketAddr::new(ip.parse().unwrap(), 40000);
    let mut builder = Request::builder().method(method).uri(path);
    builder.extensions_mut().unwrap().insert(ConnectInfo(addr));
    builder
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl TestResponse {
    async fn read(response: axum::response::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn html(&self) -> Html {
        Html::parse_document(&self.text)
    }

    /// Text of every element matching `css`, trimmed.
    pub fn select(&self, css: &str) -> Vec<String> {
        let selector = Selector::parse(css).unwrap();
        self.html()
            .select(&selector)
            .map(|e| {
                e.text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// The `attr` of the first element matching `css`.
    pub fn attr(&self, css: &str, attr: &str) -> Option<String> {
        let selector = Selector::parse(css).unwrap();
        self.html()
            .select(&selector)
            .next()
            .and_then(|e| e.value().attr(attr))
            .map(str::to_owned)
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn location(&self) -> &str {
        self.header("location")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// Keeps cookies across requests like a browser, and fills in CSRF tokens.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
    pub ip: String,
    /// The `Origin` its forms are sent with, if any.
    pub origin: Option<String>,
    /// The `Sec-Fetch-Site` its forms are sent with, if any.
    pub fetch_site: Option<&'static str>,
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, response: &TestResponse) {
        for set in response.set_cookies() {
            let pair = set.split(';').next().unwrap_or("");
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let expired = set.to_ascii_lowercase().contains("max-age=0");
            if expired || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let req = request(Method::GET, path, &self.ip)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let response = self.app.send(req).await;
        self.remember(&response);
        response
    }

    /// POST a form exactly as given (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = request(Method::POST, path, &self.ip)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = &self.origin {
            req = req.header(header::ORIGIN, origin);
        }
        if let Some(site) = self.fetch_site {
            req = req.header("sec-fetch-site", site);
        }
        let req = req.body(Body::from(body)).unwrap();
        let response = self.app.send(req).await;
        self.remember(&response);
        response
    }

    /// Send the form on `path` back to `path` with `fields` (and its CSRF token).
    pub async fn form(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        self.submit(path, path, fields).await
    }

    /// Save the editor on `path`: `field` set to `text`, as of `version`.
    pub async fn save(
        &mut self,
        path: &str,
        version: &str,
        field: &str,
        text: &str,
    ) -> TestResponse {
        let fields = [(field, text), ("version", version), ("action", "save")];
        self.form(path, &fields).await
    }

    /// The admin page of `incident` (as the API returned it), by its reference.
    pub async fn incident_page(&mut self, incident: &serde_json::Value) -> TestResponse {
        let reference = incident["reference"].as_str().unwrap();
        self.get(&format!("/admin/incidents/{reference}")).await
    }

    /// Press a button on `page` whose form (only a button) posts to `path`.
    pub async fn press(&mut self, page: &str, path: &str) -> TestResponse {
        self.submit(page, path, &[]).await
    }

    /// Load `page`, take the CSRF token from its first form, and POST `fields` to `path`.
    pub async fn submit(
        &mut self,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let form_page = self.get(page).await;
        let token = form_page
            .attr("input[name=csrf_token]", "value")
            .unwrap_or_else(|| panic!("no CSRF token on {page}: {}", form_page.text));
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// The status a sign-in as `email` with the shared test password answers with.
    pub async fn sign_in_as(&mut self, email: &str) -> StatusCode {
        self.sign_in_status(email, PASSWORD).await
    }

    /// The status a sign-in with `email` and `password` answers with.
    pub async fn sign_in_status(&mut self, email: &str, password: &str) -> StatusCode {
        self.sign_in(email, password).await.status
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> TestResponse {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

impl TestApp {
    /// A user with `role` and an API token of theirs.
    pub async fn token(
        &self,
        email: &str,
        role: Role,
    ) -> (fireline::accounts::users::UserRow, String) {
        let user = self.user(email, role).await;
        let mut conn = self.pool().acquire().await.unwrap();
        let (_, token) = fireline::accounts::tokens::create(&mut conn, user.id, "test")
            .await
            .unwrap();
        (user, token)
    }

    /// POST/PATCH JSON with a token; panics unless the status is `expected`.
    pub async fn api_ok(
        &self,
        method: Method,
        path: &str,
        token: &str,
        json: serde_json::Value,
        expected: StatusCode,
    ) -> serde_json::Value {
        let r = self
            .api(method.clone(), path, token, Some(&json.to_string()))
            .await;
        assert_eq!(r.status, expected, "{method} {path}: {}", r.text);
        if r.text.is_empty() {
            serde_json::Value::Null
        } else {
            r.json()
        }
    }

    /// POST a JSON body with a token; the response as it came.
    pub async fn post(&self, path: &str, token: &str, json: &str) -> TestResponse {
        self.api(Method::POST, path, token, Some(json)).await
    }

    /// PATCH a JSON body with a token; the response as it came.
    pub async fn patch(&self, path: &str, token: &str, json: &str) -> TestResponse {
        self.api(Method::PATCH, path, token, Some(json)).await
    }

    /// DELETE with a token; the response as it came.
    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        self.api(Method::DELETE, path, token, None).await
    }

    /// POST JSON with a token; panics unless it is created.
    pub async fn created(
        &self,
        path: &str,
        token: &str,
        json: serde_json::Value,
    ) -> serde_json::Value {
        self.api_ok(Method::POST, path, token, json, StatusCode::CREATED)
            .await
    }

    /// PATCH JSON with a token; panics unless it is OK.
    pub async fn patched(
        &self,
        path: &str,
        token: &str,
        json: serde_json::Value,
    ) -> serde_json::Value {
        self.api_ok(Method::PATCH, path, token, json, StatusCode::OK)
            .await
    }

    pub async fn api_get(&self, path: &str, token: &str) -> serde_json::Value {
        let r = self.api(Method::GET, path, token, None).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.text);
        r.json()
    }
}

impl TestApp {
    /// Declare an incident through the API; panics unless it is created.
    pub async fn declare(&self, token: &str, body: serde_json::Value) -> serde_json::Value {
        self.created("/api/v1/incidents", token, body).await
    }

    /// Post a public update through the API; panics unless it is created.
    pub async fn post_update(
        &self,
        token: &str,
        incident_id: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        self.created(
            &format!("/api/v1/incidents/{incident_id}/updates"),
            token,
            body,
        )
        .await
    }

    /// Every public surface as text: the page, the JSON, the feeds, the history.
    pub async fn public_surfaces(&self) -> String {
        self.state.status_page.refresh().await.unwrap();
        let mut all = String::new();
        for path in [
            "/",
            "/history",
            "/history.atom",
            "/history.rss",
            "/api/v2/summary.json",
            "/api/v2/incidents.json",
            "/api/v2/incidents/unresolved.json",
            "/api/v2/components.json",
            "/api/v2/status.json",
        ] {
            let r = self.get(path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            all.push_str(&r.text);
        }
        all
    }
}

impl TestApp {
    /// Create a component through the API and return its id.
    pub async fn component(&self, token: &str, name: &str) -> String {
        let c = self
            .created(
                "/api/v1/components",
                token,
                serde_json::json!({ "name": name }),
            )
            .await;
        c["id"].as_str().unwrap().to_owned()
    }
}

/// Whether this machine has the PostgreSQL server binaries a private cluster is made
/// with; without them a test is skipped, except in CI.
pub fn have_postgres_binaries() -> bool {
    if fireline::platform::db::find_postgres_binaries().is_some() {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI must install the PostgreSQL server binaries"
    );
    false
}

/// A temporary directory for a private cluster: PostgreSQL runs as its own user when we
/// are root, so it must reach the directory.
pub fn cluster_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(dir.path(), mode).unwrap();
    dir
}

/// A time as the API takes it (RFC 3339).
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

impl TestApp {
    /// An integration of `kind` made through the API by a new admin: its id and key.
    pub async fn integration(&self, kind: &str) -> (String, String) {
        let email = format!("{}@integrations.test", uuid::Uuid::new_v4().simple());
        let (_, token) = self.token(&email, Role::Admin).await;
        let body = serde_json::json!({ "name": format!("{kind} {email}"), "kind": kind });
        let made = self.created("/api/v1/integrations", &token, body).await;
        let id = made["id"].as_str().unwrap().to_owned();
        (id, made["key"].as_str().unwrap().to_owned())
    }

    /// POST `body` to an ingest door, with `authorization` as the header when given.
    pub async fn ingest(
        &self,
        path: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> TestResponse {
        let mut req = request(Method::POST, path, "10.0.0.7")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(value) = authorization {
            req = req.header(header::AUTHORIZATION, value);
        }
        // Not `send`: the doors are also driven with the database gone.
        let req = req.body(Body::from(body.to_owned())).unwrap();
        TestResponse::read(self.router.clone().oneshot(req).await.unwrap()).await
    }

    /// POST `body` to an ingest door in a task of its own, to be answered while the test
    /// goes on.
    pub fn ingest_in_background(
        &self,
        path: &str,
        body: &str,
    ) -> tokio::task::JoinHandle<TestResponse> {
        let req = request(Method::POST, path, "10.0.0.7")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let router = self.router.clone();
        tokio::spawn(async move { TestResponse::read(router.oneshot(req).await.unwrap()).await })
    }

    /// POST `body` to an ingest door with these extra headers.
    pub async fn ingest_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> TestResponse {
        let mut req = request(Method::POST, path, "10.0.0.7")
            .header(header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Body::from(body.to_owned())).unwrap();
        TestResponse::read(self.router.clone().oneshot(req).await.unwrap()).await
    }

    /// A team called `name` of `members` (user ids), made through the API by `admin`,
    /// with a daily rotation in their order that handed duty to the first an hour ago.
    pub async fn team_on_rotation(
        &self,
        admin: &str,
        name: &str,
        members: &[&str],
    ) -> serde_json::Value {
        let handoff = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        let rotation = serde_json::json!({
            "interval": "daily", "time_zone": "UTC", "user_ids": members,
            "handoff_time": format!("{:02}:{:02}", handoff.hour(), handoff.minute()),
            "starts_on": handoff.date().to_string(),
        });
        let body = serde_json::json!({"name": name, "user_ids": members, "rotation": rotation});
        self.created("/api/v1/teams", admin, body).await
    }

    /// Apply every queued alert delivery, as the processor of a serving process does.
    pub async fn process_alerts(&self) -> fireline::alerts::process::Report {
        fireline::alerts::process::apply_pending(self.pool())
            .await
            .unwrap()
    }
}

/// Start `command` with its standard error read (so it never blocks on a full pipe) and
/// wait up to 30 s for the first line containing `marker`; the child and that line.
pub fn spawn_until(
    mut command: std::process::Command,
    marker: &'static str,
) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(marker) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(line);
                }
            }
        }
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("the child never said {marker:?}"));
    (child, line)
}

impl TestApp {
    /// Run every due job, as the runner of a serving process does.
    pub async fn run_jobs(&self) -> fireline::platform::jobs::RunSummary {
        let ctx = fireline::platform::jobs::JobContext {
            pool: self.pool().clone(),
            session_idle: time::Duration::hours(1),
        };
        fireline::platform::jobs::run_until_empty(&ctx, &fireline::app::jobs::registry())
            .await
            .unwrap()
    }
}

/// A real SMTP server (aiosmtpd from PyPI) on a free loopback port, delivering into a
/// Maildir; killed when dropped.
pub struct Smtpd {
    child: std::process::Child,
    pub port: u16,
    pub maildir: tempfile::TempDir,
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn smtpd() -> Option<Smtpd> {
    let available = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(std::env::var("CI").is_err(), "CI must install aiosmtpd");
        eprintln!("skipped: aiosmtpd is not installed (pip install aiosmtpd)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(maildir.path().join("mail"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "aiosmtpd did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Some(Smtpd {
        child,
        port,
        maildir,
    })
}

impl Smtpd {
    /// `FIRELINE_SMTP_URL` and `FIRELINE_MAIL_FROM` for this server.
    pub fn config(&self) -> fireline::notify::email::SmtpConfig {
        fireline::notify::email::SmtpConfig::parse(
            Some(&format!("smtp://127.0.0.1:{}?tls=none", self.port)),
            Some("Acme Status <status@acme.test>"),
        )
        .unwrap()
        .unwrap()
    }

    /// Every mail received so far, raw, oldest first.
    pub fn mails(&self) -> Vec<Vec<u8>> {
        let new = self.maildir.path().join("mail").join("new");
        let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> =
            match std::fs::read_dir(&new) {
                Ok(dir) => dir
                    .map(|e| {
                        let path = e.unwrap().path();
                        (std::fs::metadata(&path).unwrap().modified().unwrap(), path)
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| std::fs::read(p).unwrap())
            .collect()
    }

    /// Forget the mail received so far.
    pub fn clear(&self) {
        let new = self.maildir.path().join("mail").join("new");
        if let Ok(dir) = std::fs::read_dir(&new) {
            for e in dir {
                std::fs::remove_file(e.unwrap().path()).unwrap();
            }
        }
    }
}
