//! The public status page: Statuspage v2 JSON, feeds, history, maintenance, caching,
//! invalidation across instances, and the database going away.

use axum::http::StatusCode;
use fireline::accounts::Role;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

use crate::support::TestApp;

/// A page with a group of two components, a loose one, a public incident with two
/// updates, an internal incident and a scheduled maintenance.
struct Fixture {
    token: String,
    api: String,
    db: String,
    public_id: String,
    internal_id: String,
    maintenance_id: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    let group = app
        .created("/api/v1/component-groups", &token, json!({"name": "Core"}))
        .await;
    let api = app
        .created(
            "/api/v1/components",
            &token,
            json!({"name": "API", "group_id": group["id"]}),
        )
        .await;
    let db = app
        .created(
            "/api/v1/components",
            &token,
            json!({"name": "Database", "group_id": group["id"]}),
        )
        .await;
    app.created("/api/v1/components", &token, json!({"name": "Email"}))
        .await;
    let public = app.declare(&token, json!({"title": "API errors", "severity": "sev2", "components": [{"id": api["id"], "status": "partial_outage"}], "initial_update": "We are **investigating**."})).await;
    app.created(&format!("/api/v1/incidents/{}/updates", public["id"].as_str().unwrap()), &token, json!({"status": "identified", "body": "Found a bad deploy.", "components": [{"id": api["id"], "status": "degraded_performance"}]})).await;
    let internal = app.declare(&token, json!({"title": "Secret internal thing", "severity": "sev1", "visibility": "internal", "initial_update": "hush"})).await;
    let now = time::OffsetDateTime::now_utc();
    let fmt = crate::support::rfc3339;
    let maintenance = app
        .created("/api/v1/maintenances", &token, json!({"title": "DB upgrade", "description": "Faster disks.", "scheduled_for": fmt(now + time::Duration::days(2)), "scheduled_until": fmt(now + time::Duration::days(2) + time::Duration::hours(1)), "component_ids": [db["id"]]}))
        .await;
    app.state.status_page.refresh().await.unwrap();
    Fixture {
        token,
        api: api["id"].as_str().unwrap().into(),
        db: db["id"].as_str().unwrap().into(),
        public_id: public["id"].as_str().unwrap().into(),
        internal_id: internal["id"].as_str().unwrap().into(),
        maintenance_id: maintenance["id"].as_str().unwrap().into(),
    }
}

fn is_ts(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

const COMPONENT: &[&str] = &[
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
];
const INCIDENT: &[&str] = &[
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
    "postmortem_body",
];
const UPDATE: &[&str] = &[
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
];

#[tokio::test]
async fn all_eight_statuspage_documents_have_the_exact_shapes() {
    let app = TestApp::new().await;
    let f = fixture(&app).await;
    let expected: [(&str, &[&str]); 8] = [
        (
            "/api/v2/summary.json",
            &[
                "page",
                "components",
                "incidents",
                "scheduled_maintenances",
                "status",
            ],
        ),
        ("/api/v2/status.json", &["page", "status"]),
        ("/api/v2/components.json", &["page", "components"]),
        ("/api/v2/incidents.json", &["page", "incidents"]),
        ("/api/v2/incidents/unresolved.json", &["page", "incidents"]),
        (
            "/api/v2/scheduled-maintenances.json",
            &["page", "scheduled_maintenances"],
        ),
        (
            "/api/v2/scheduled-maintenances/upcoming.json",
            &["page", "scheduled_maintenances"],
        ),
        (
            "/api/v2/scheduled-maintenances/active.json",
            &["page", "scheduled_maintenances"],
        ),
    ];
    for (path, top) in expected {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.header("content-type"), "application/json; charset=utf-8");
        assert_eq!(r.header("access-control-allow-origin"), "*");
        let doc = r.json();
        assert_eq!(keys(&doc), sorted(top), "{path}");
        assert_eq!(
            keys(&doc["page"]),
            sorted(&["id", "name", "url", "time_zone", "updated_at"])
        );
        assert!(is_ts(&doc["page"]["updated_at"]));
        assert_eq!(doc["page"]["url"], "http://fireline.test");
        assert_eq!(doc["page"]["time_zone"], "Etc/UTC");
        assert!(
            !r.text.contains("Secret internal thing"),
            "{path} leaks an internal incident"
        );
    }

    let summary = app.get("/api/v2/summary.json").await.json();
    assert_eq!(
        summary["status"],
        json!({"indicator": "major", "description": "Partial System Outage"})
    );
    // Components: groups are flat rows with their children's ids.
    let components = summary["components"].as_array().unwrap();
    let names: Vec<&str> = components
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Email", "Core", "API", "Database"]);
    for c in components {
        let mut want = COMPONENT.to_vec();
        if c["group"] == true {
            want.push("components");
        }
        assert_eq!(keys(c), sorted(&want), "{c}");
        assert!(is_ts(&c["created_at"]) && is_ts(&c["updated_at"]));
    }
    let core = &components[1];
    assert_eq!(core["group"], true);
    assert_eq!(core["components"], json!([f.api, f.db]));
    assert_eq!(
        core["status"], "degraded_performance",
        "a group shows its worst child"
    );
    assert_eq!(
        (components[0]["position"].clone(), core["position"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(
        (
            components[2]["position"].clone(),
            components[3]["position"].clone()
        ),
        (json!(1), json!(2))
    );
    assert_eq!(components[2]["group_id"], core["id"]);

    // Incidents and their updates, newest first.
    let incidents = summary["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    let incident = &incidents[0];
    assert_eq!(keys(incident), sorted(INCIDENT));
    assert_eq!(incident["status"], "identified");
    assert_eq!(incident["impact"], "major");
    assert_eq!(
        incident["shortlink"],
        format!("http://fireline.test/incidents/{}", f.public_id)
    );
    assert!(incident["resolved_at"].is_null() && incident["monitoring_at"].is_null());
    assert_eq!(incident["components"][0]["name"], "API");
    assert_eq!(keys(&incident["components"][0]), sorted(COMPONENT));
    let updates = incident["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2);
    for u in updates {
        assert_eq!(keys(u), sorted(UPDATE));
        assert!(u["custom_tweet"].is_null() && u["tweet_id"].is_null());
        assert!(is_ts(&u["created_at"]) && is_ts(&u["display_at"]));
    }
    assert_eq!(updates[0]["status"], "identified", "newest first");
    assert_eq!(
        updates[1]["body"], "We are **investigating**.",
        "the Markdown source as plain text"
    );
    assert_eq!(
        updates[0]["affected_components"],
        json!([{"code": f.api, "name": "API", "old_status": "partial_outage", "new_status": "degraded_performance"}])
    );
    // The first update of an incident declared with components lists them.
    assert_eq!(
        updates[1]["affected_components"],
        json!([{"code": f.api, "name": "API", "old_status": "operational", "new_status": "partial_outage"}])
    );
    assert!(incident["postmortem_body"].is_null());

    // Maintenance: the incident shape plus its window.
    let m = &summary["scheduled_maintenances"][0];
    let mut want = INCIDENT.to_vec();
    want.extend(["scheduled_for", "scheduled_until"]);
    assert_eq!(keys(m), sorted(&want));
    assert_eq!(
        (m["status"].as_str(), m["impact"].as_str()),
        (Some("scheduled"), Some("maintenance"))
    );
    assert!(is_ts(&m["scheduled_for"]) && is_ts(&m["scheduled_until"]));
    assert_eq!(m["id"], json!(f.maintenance_id));
    let upcoming = app
        .get("/api/v2/scheduled-maintenances/upcoming.json")
        .await
        .json();
    assert_eq!(
        upcoming["scheduled_maintenances"].as_array().unwrap().len(),
        1
    );
    let active = app
        .get("/api/v2/scheduled-maintenances/active.json")
        .await
        .json();
    assert!(active["scheduled_maintenances"]
        .as_array()
        .unwrap()
        .is_empty());

    // Resolved incidents leave "unresolved" but stay in "incidents".
    let current = app
        .api_get(&format!("/api/v1/incidents/{}", f.public_id), &f.token)
        .await;
    app.patched(
        &format!("/api/v1/incidents/{}", f.public_id),
        &f.token,
        json!({"version": current["version"], "status": "resolved"}),
    )
    .await;
    app.state.status_page.refresh().await.unwrap();
    assert!(
        app.get("/api/v2/incidents/unresolved.json").await.json()["incidents"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let all = app.get("/api/v2/incidents.json").await.json();
    assert_eq!(all["incidents"][0]["status"], "resolved");
    assert!(is_ts(&all["incidents"][0]["resolved_at"]));
}

#[tokio::test]
async fn internal_incidents_appear_on_no_public_surface() {
    let app = TestApp::new().await;
    let f = fixture(&app).await;
    for path in [
        "/",
        "/history",
        "/history.atom",
        "/history.rss",
        "/api/v2/incidents.json",
        "/api/v2/summary.json",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            !r.text.contains("Secret internal thing") && !r.text.contains(&f.internal_id),
            "{path} leaks it"
        );
    }
    assert_eq!(
        app.get(&format!("/incidents/{}", f.internal_id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let public = app.get(&format!("/incidents/{}", f.public_id)).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.select("h1"), ["API errors"]);
    // The internal sev1 does not turn the page red either.
    let status = app.get("/api/v2/status.json").await.json();
    assert_eq!(status["status"]["indicator"], "major");
}

#[tokio::test]
async fn the_page_shows_banner_components_incidents_maintenance_and_history() {
    let app = TestApp::new().await;
    let _f = fixture(&app).await;
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.select(".banner h1"), ["Partial System Outage"]);
    assert_eq!(page.select("#active-h + article h3"), ["API errors"]);
    let updates = page.select("#active-h + article ol.updates .meta strong");
    assert_eq!(
        updates,
        ["Identified", "Investigating"],
        "newest first, status in words"
    );
    assert_eq!(
        page.select("#active-h + article .md strong"),
        ["investigating"],
        "rendered Markdown"
    );
    assert_eq!(page.select("details.group summary .name"), ["Core"]);
    assert!(
        page.attr("details.group", "open").is_some(),
        "a degraded group opens"
    );
    assert_eq!(
        page.select(".component .name"),
        ["Email", "API", "Database"]
    );
    assert_eq!(page.select("#mnext-h + article h3"), ["DB upgrade"]);
    let bars = page
        .html()
        .select(&scraper::Selector::parse(".component .bars").unwrap())
        .next()
        .unwrap()
        .children()
        .count();
    assert_eq!(bars, 90);
    // Fourteen quiet days fold into one line.
    assert_eq!(page.select(".day").len(), 1);
    let quiet = page.select("p.day.quiet");
    assert_eq!(quiet.len(), 1);
    assert!(
        quiet[0].contains(" – ") && quiet[0].ends_with(": No incidents reported."),
        "{quiet:?}"
    );
    assert!(page
        .attr("link[type='application/atom+xml']", "href")
        .is_some());
    for landmark in ["header", "main", "footer"] {
        assert_eq!(
            page.html()
                .select(&scraper::Selector::parse(landmark).unwrap())
                .count(),
            1,
            "{landmark}"
        );
    }
    let history = app.get("/history").await;
    assert_eq!(history.select("section.month h2").len(), 3);
    assert!(history
        .select("section.month h3")
        .contains(&"API errors".to_owned()));
    let older = history.attr("a[rel=next]", "href").unwrap();
    let page2 = app.get(&older).await;
    assert_eq!(page2.status, StatusCode::OK);
    assert_eq!(page2.select("section.month h2").len(), 3);
    assert_eq!(
        app.get("/history?page=0").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn cached_documents_come_compressed_with_etags_and_cdn_headers() {
    let app = TestApp::new().await;
    fixture(&app).await;
    let send = |accept: &'static str, etag: Option<String>| {
        let mut req = axum::http::Request::get("/").header("accept-encoding", accept);
        if let Some(etag) = etag {
            req = req.header("if-none-match", etag);
        }
        app.send(req.body(axum::body::Body::empty()).unwrap())
    };
    let plain = send("identity", None).await;
    assert!(plain.header("content-encoding").is_empty());
    assert!(plain.header("cache-control").contains("stale-if-error"));
    assert_eq!(plain.header("vary"), "Accept-Encoding");
    let etag = plain.header("etag").to_owned();
    assert!(etag.starts_with('"'));
    let br = send("gzip, deflate, br", None).await;
    assert_eq!(br.header("content-encoding"), "br");
    let gz = send("gzip", None).await;
    assert_eq!(gz.header("content-encoding"), "gzip");
    // A rebuild with nothing changed keeps the documents (and their compression) as they were.
    let before = app
        .state
        .status_page
        .snapshot()
        .unwrap()
        .get("/api/v2/components.json")
        .unwrap();
    app.state.status_page.refresh().await.unwrap();
    let after = app
        .state
        .status_page
        .snapshot()
        .unwrap()
        .get("/api/v2/components.json")
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&before.body),
        String::from_utf8_lossy(&after.body)
    );
    assert!(std::sync::Arc::ptr_eq(&before, &after));
    let not_modified = send("br", Some(etag.clone())).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.text.is_empty());
    assert_eq!(not_modified.header("etag"), etag);
}

#[tokio::test]
async fn feeds_parse_and_lead_with_the_current_status() {
    let app = TestApp::new().await;
    let f = fixture(&app).await;
    let atom = app.get("/history.atom").await;
    assert!(atom
        .header("content-type")
        .starts_with("application/atom+xml"));
    let feed = feed_rs::parser::parse(atom.text.as_bytes()).unwrap();
    assert_eq!(feed.id, "tag:fireline.test,2005:/history");
    assert_eq!(feed.title.unwrap().content, "Fireline - Incident History");
    assert_eq!(feed.authors[0].name, "Fireline");
    assert!(feed.links.iter().any(|l| l.rel.as_deref() == Some("self")));
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert!(ids.contains(&format!("tag:fireline.test,2005:Incident/{}", f.public_id).as_str()));
    assert!(ids.contains(&format!("tag:fireline.test,2005:Incident/{}", f.maintenance_id).as_str()));
    let entry = feed
        .entries
        .iter()
        .find(|e| e.id.ends_with(&f.public_id))
        .unwrap();
    let content = entry.content.as_ref().unwrap().body.clone().unwrap();
    let first_strong = content
        .split("<strong>")
        .nth(1)
        .unwrap()
        .split("</strong>")
        .next()
        .unwrap();
    assert_eq!(first_strong, "Identified");
    assert!(content.contains("<var data-var='date'>"), "{content}");
    assert_eq!(
        entry.links[0].href,
        format!("http://fireline.test/incidents/{}", f.public_id)
    );

    let rss = app.get("/history.rss").await;
    assert!(rss
        .header("content-type")
        .starts_with("application/rss+xml"));
    let feed = feed_rs::parser::parse(rss.text.as_bytes()).unwrap();
    assert_eq!(feed.entries.len(), 2);
    assert!(feed.entries.iter().all(|e| e.published.is_some()));
    assert!(
        rss.text.contains(&format!(
            "<guid>http://fireline.test/incidents/{}</guid>",
            f.public_id
        )) || rss.text.contains(&format!(
            "http://fireline.test/incidents/{}</guid>",
            f.public_id
        ))
    );
    assert!(
        rss.text.contains("+0000</pubDate>"),
        "RFC 822 with a numeric offset"
    );
}

#[tokio::test]
async fn maintenance_starts_and_ends_by_the_job_runner_and_restores_components() {
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    let db = app
        .created(
            "/api/v1/components",
            &token,
            json!({"name": "Database", "status": "degraded_performance"}),
        )
        .await;
    let now = time::OffsetDateTime::now_utc();
    let fmt = crate::support::rfc3339;
    let m = app
        .created("/api/v1/maintenances", &token, json!({"title": "Upgrade", "scheduled_for": fmt(now - time::Duration::seconds(1)), "scheduled_until": fmt(now + time::Duration::hours(1)), "component_ids": [db["id"]]}))
        .await;
    let id = m["id"].as_str().unwrap();
    let ctx = fireline::platform::jobs::JobContext {
        pool: app.pool().clone(),
        session_idle: time::Duration::hours(1),
    };
    let ran = fireline::platform::jobs::run_until_empty(&ctx, &fireline::app::jobs::registry())
        .await
        .unwrap();
    assert_eq!(ran.dead, 0);
    let now_m = app
        .api_get(&format!("/api/v1/maintenances/{id}"), &token)
        .await;
    assert_eq!(now_m["status"], "in_progress");
    assert_eq!(
        now_m["updates"][0]["body"],
        "The scheduled maintenance is now in progress."
    );
    let status = app
        .api_get(
            &format!("/api/v1/components/{}", db["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(status["status"], "under_maintenance");
    app.state.status_page.refresh().await.unwrap();
    assert_eq!(
        app.get("/api/v2/status.json").await.json()["status"]["indicator"],
        "maintenance"
    );
    assert_eq!(
        app.get("/api/v2/scheduled-maintenances/active.json")
            .await
            .json()["scheduled_maintenances"][0]["status"],
        "in_progress"
    );

    // Move the end into the past: the end job completes it and restores the component.
    let version = app
        .api_get(&format!("/api/v1/maintenances/{id}"), &token)
        .await["version"]
        .clone();
    app.patched(&format!("/api/v1/maintenances/{id}"), &token, json!({"version": version, "scheduled_until": fmt(time::OffsetDateTime::now_utc() - time::Duration::seconds(1) + time::Duration::milliseconds(500))})).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    fireline::platform::jobs::run_until_empty(&ctx, &fireline::app::jobs::registry())
        .await
        .unwrap();
    let done = app
        .api_get(&format!("/api/v1/maintenances/{id}"), &token)
        .await;
    assert_eq!(done["status"], "completed");
    assert_eq!(
        done["updates"][0]["body"],
        "The scheduled maintenance has been completed."
    );
    let status = app
        .api_get(
            &format!("/api/v1/components/{}", db["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(
        status["status"], "degraded_performance",
        "restored to what it was"
    );
    let causes: i64 = app
        .scalar("SELECT count(*) FROM component_status_changes WHERE maintenance_id IS NOT NULL")
        .await;
    assert_eq!(causes, 2);

    // By hand: start, verify, cancel is refused after completion.
    let m2 = app
        .created("/api/v1/maintenances", &token, json!({"title": "Later", "scheduled_for": fmt(now + time::Duration::days(1)), "scheduled_until": fmt(now + time::Duration::days(1) + time::Duration::hours(1))}))
        .await;
    let id2 = m2["id"].as_str().unwrap();
    let mut version = m2["version"].clone();
    for step in [
        json!({"status": "in_progress"}),
        json!({"status": "verifying", "body": "Checking replicas."}),
        json!({"status": "completed"}),
    ] {
        let mut step = step;
        step["version"] = version;
        version = app
            .patched(&format!("/api/v1/maintenances/{id2}"), &token, step)
            .await["version"]
            .clone();
    }
    let r = app
        .patch(
            &format!("/api/v1/maintenances/{id2}"),
            &token,
            &json!({"status": "cancelled", "version": version}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app.post("/api/v1/maintenances", &token, &json!({"title": "Backwards", "scheduled_for": fmt(now), "scheduled_until": fmt(now - time::Duration::hours(1))}).to_string()).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["errors"]["scheduled_until"].is_string());
}

#[tokio::test]
async fn uptime_rolls_up_days_with_several_outages() {
    let app = TestApp::new().await;
    let (_, token) = app.token("root@example.com", Role::Admin).await;
    let c = app
        .created("/api/v1/components", &token, json!({"name": "API"}))
        .await;
    let id = uuid::Uuid::parse_str(c["id"].as_str().unwrap()).unwrap();
    let day = time::OffsetDateTime::now_utc().date() - time::Duration::days(2);
    let at = |h: u8, m: u8| day.with_hms(h, m, 0).unwrap().assume_utc();
    sqlx::query("UPDATE component_status_changes SET changed_at = $2 WHERE component_id = $1")
        .bind(id)
        .bind(at(0, 0) - time::Duration::days(3))
        .execute(app.pool())
        .await
        .unwrap();
    for (time, old, new) in [
        (at(1, 0), "operational", "major_outage"),
        (at(1, 30), "major_outage", "operational"),
        (at(10, 0), "operational", "partial_outage"),
        (at(12, 0), "partial_outage", "operational"),
    ] {
        sqlx::query("INSERT INTO component_status_changes (component_id, old_status, new_status, changed_at, public) VALUES ($1, $2::component_status, $3::component_status, $4, true)")
            .bind(id).bind(old).bind(new).bind(time).execute(app.pool()).await.unwrap();
    }
    fireline::platform::jobs::enqueue(
        app.pool(),
        fireline::platform::jobs::NewJob::new("roll_up_uptime", Value::Null),
    )
    .await
    .unwrap();
    let ctx = fireline::platform::jobs::JobContext {
        pool: app.pool().clone(),
        session_idle: time::Duration::hours(1),
    };
    fireline::platform::jobs::run_until_empty(&ctx, &fireline::app::jobs::registry())
        .await
        .unwrap();
    let row: (i32, i32, i32, String) = sqlx::query_as("SELECT major_seconds, partial_seconds, tracked_seconds, worst_status::text FROM component_uptime_days WHERE component_id = $1 AND day = $2")
        .bind(id).bind(day).fetch_one(app.pool()).await.unwrap();
    assert_eq!(row, (1800, 7200, 86_400, "major_outage".to_owned()));
    app.state.status_page.refresh().await.unwrap();
    let page = app.get("/").await;
    let titles: Vec<String> = page
        .html()
        .select(&scraper::Selector::parse(".bars i").unwrap())
        .filter_map(|b| b.value().attr("aria-label").map(str::to_owned))
        .collect();
    let that_day = titles
        .iter()
        .find(|t| t.contains("major outage 30 min"))
        .expect("a bar for the day");
    assert!(that_day.contains("partial outage 2 h 00 min"), "{that_day}");
    // 1800 s + 30 % of 7200 s down over the tracked time.
    assert!(page
        .select(".uptime span")
        .iter()
        .any(|s| s.ends_with("% uptime")));
}

#[tokio::test]
async fn a_change_on_one_instance_reaches_another_instances_cache_within_a_second() {
    let app = TestApp::new().await;
    let f = fixture(&app).await;
    let other = fireline::app::AppState::new(
        app.pool().clone(),
        fireline::app::config::Settings::for_base_url("http://fireline.test"),
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(
        other
            .status_page
            .clone()
            .run(other.hub.clone(), shutdown.clone()),
    );
    let router = fireline::http::router(other.clone());
    let status_of = |router: axum::Router| async move {
        use tower::ServiceExt;
        let r = router
            .oneshot(
                axum::http::Request::get("/api/v2/status.json")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let bytes = http_body_util::BodyExt::collect(r.into_body())
            .await
            .unwrap()
            .to_bytes();
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .map(|v| v["status"]["indicator"].clone())
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while status_of(router.clone()).await != Some(json!("major")) {
        assert!(
            Instant::now() < deadline,
            "the second instance never built its page"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Resolve through the first instance; the second one notices by itself.
    let current = app
        .api_get(&format!("/api/v1/incidents/{}", f.public_id), &f.token)
        .await;
    app.patched(
        &format!("/api/v1/incidents/{}", f.public_id),
        &f.token,
        json!({"version": current["version"], "status": "resolved"}),
    )
    .await;
    app.patched(
        &format!("/api/v1/components/{}", f.api),
        &f.token,
        json!({"status": "operational"}),
    )
    .await;
    let changed = Instant::now();
    while status_of(router.clone()).await != Some(json!("none")) {
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "not invalidated within a second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown.cancel();
}

#[tokio::test]
async fn page_settings_show_on_the_page_at_once() {
    let app = TestApp::new().await;
    fixture(&app).await;
    let mut admin = app.signed_in("admin2@example.com", Role::Admin).await;
    let r = admin
        .form(
            "/admin/settings",
            &[
                ("name", "Acme Status"),
                ("public_url", "https://status.acme.example/"),
                ("accent", "#FFD000"),
                ("time_zone", "Europe/Berlin"),
                ("about", "We run **things**."),
                ("links", "Support | https://acme.example/help"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    app.state.status_page.refresh().await.unwrap();
    let page = app.get("/").await;
    assert_eq!(page.select("header .brand"), ["Acme Status"]);
    assert_eq!(page.select(".about strong"), ["things"]);
    assert_eq!(
        page.attr("footer a[href='https://acme.example/help']", "href")
            .as_deref(),
        Some("https://acme.example/help")
    );
    assert!(
        page.select("#active-h + article .meta time")
            .iter()
            .all(|t| t.ends_with("CET") || t.ends_with("CEST")),
        "times in the page's zone"
    );
    let theme = app.get("/theme.css").await;
    assert!(theme.text.contains("--accent:#ffd000") && theme.text.contains("--on-accent:#000000"));
    let json = app.get("/api/v2/status.json").await.json();
    assert_eq!(json["page"]["url"], "https://status.acme.example");
    assert_eq!(json["page"]["time_zone"], "Europe/Berlin");

    let bad = admin
        .form(
            "/admin/settings",
            &[
                ("name", "x"),
                ("accent", "red"),
                ("time_zone", "Mars/Olympus"),
                ("links", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut responder = app.signed_in("r@example.com", Role::Responder).await;
    let r = responder
        .form(
            "/admin/settings",
            &[
                ("name", "Hijack"),
                ("accent", "#000000"),
                ("time_zone", "Etc/UTC"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// Keys Fireline adds to Statuspage's objects: the public postmortem summary of an
/// incident (Statuspage's own field name).
const ADDED_KEYS: &[&str] = &["postmortem_body"];

/// Every object in `ours` has exactly the keys of its counterpart in `fixture` (plus
/// [`ADDED_KEYS`]), and the same JSON type (null allowed where the fixture has a value
/// that may be absent).
fn same_shape(path: &str, ours: &Value, fixture: &Value) {
    match (ours, fixture) {
        (Value::Object(a), Value::Object(b)) => {
            let mut ka: Vec<&String> = a
                .keys()
                .filter(|k| !ADDED_KEYS.contains(&k.as_str()) || b.contains_key(*k))
                .collect();
            let mut kb: Vec<&String> = b.keys().collect();
            ka.sort();
            kb.sort();
            assert_eq!(ka, kb, "keys of {path}");
            for (k, v) in b {
                same_shape(&format!("{path}.{k}"), &a[k], v);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(first), Some(model)) = (a.first(), b.first()) {
                // Groups and components share a list; compare each with its kind.
                for item in a {
                    let model = b
                        .iter()
                        .find(|m| m.get("group") == item.get("group"))
                        .unwrap_or(model);
                    same_shape(&format!("{path}[]"), item, model);
                }
                let _ = first;
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::String(s), Value::String(f)) if f.ends_with('Z') && f.len() == 24 => {
            assert!(
                s.len() == 24 && s.ends_with('Z'),
                "{path}: {s} is not a three-digit timestamp"
            );
        }
        (a, b) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "type of {path}: {a} vs {b}"
        ),
    }
}

#[tokio::test]
async fn the_summary_matches_the_statuspage_fixture_field_for_field() {
    let app = TestApp::new().await;
    fixture(&app).await;
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/statuspage-v2-summary.json")).unwrap();
    let ours = app.get("/api/v2/summary.json").await.json();
    same_shape("summary", &ours, &fixture);
    assert!(!ours["incidents"][0]["incident_updates"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(!ours["scheduled_maintenances"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn an_admin_uploads_a_logo_that_the_page_shows() {
    let app = TestApp::new().await;
    fixture(&app).await;
    let admin = app.signed_in("admin2@example.com", Role::Admin).await;
    let csrf = {
        let mut b = app.browser();
        b.cookies = admin.cookies.clone();
        b.get("/admin/settings")
            .await
            .attr("input[name=csrf_token]", "value")
            .unwrap()
    };
    let png: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0];
    let upload = |bytes: Vec<u8>, token: String| {
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--XB\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(b"--XB\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n");
        body.extend_from_slice(&bytes);
        body.extend_from_slice(b"\r\n--XB--\r\n");
        axum::http::Request::post("/admin/settings/logo")
            .header(
                "cookie",
                format!("fireline_session={}", admin.cookies["fireline_session"]),
            )
            .header("content-type", "multipart/form-data; boundary=XB")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let r = app
        .send(upload(b"<svg onload=alert(1)>".to_vec(), csrf.clone()))
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only PNG, JPEG or WebP"
    );
    let r = app.send(upload(png.to_vec(), "forged".into())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.send(upload(png.to_vec(), csrf)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.state.status_page.refresh().await.unwrap();
    let page = app.get("/").await;
    assert_eq!(
        page.attr("header .brand img", "src").as_deref(),
        Some("/logo")
    );
    let logo = app.get("/logo").await;
    assert_eq!(logo.header("content-type"), "image/png");
}
