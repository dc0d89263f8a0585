//! Operations endpoints: liveness, readiness and Prometheus metrics.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use std::time::Duration;

use crate::app::AppState;
use crate::platform::jobs::queue;
use crate::platform::metrics::StateLabels;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/healthz/scheduler", get(scheduler))
        .route("/metrics", get(metrics))
}

/// The process is alive and answering.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready to serve: the database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    let check = tokio::time::timeout(
        Duration::from_secs(3),
        crate::platform::db::is_migrated(&state.pool),
    )
    .await;
    let (status, database, migrations) = match check {
        Ok(Ok(true)) => (StatusCode::OK, "ok".to_owned(), "ok"),
        Ok(Ok(false)) => (StatusCode::SERVICE_UNAVAILABLE, "ok".to_owned(), "pending"),
        Ok(Err(err)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unreachable: {}", short_db_error(&err)),
            "unknown",
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unreachable: timed out after 3 s".to_owned(),
            "unknown",
        ),
    };
    let body = json!({
        "status": if status == StatusCode::OK { "ok" } else { "unavailable" },
        "database": database,
        "migrations": migrations,
    });
    (status, axum::Json(body)).into_response()
}

/// The job runner has finished its periodic sweep lately (it runs every 10 s).
const SCHEDULER_STALLED_AFTER: i64 = 60;

/// The scheduler works: some process's job runner finished the heartbeat sweep within
/// the last minute. What a watchdog asks besides `/readyz`: HTTP and the database may
/// answer while no job runs.
async fn scheduler(State(state): State<AppState>) -> Response {
    let read = tokio::time::timeout(
        Duration::from_secs(3),
        queue::last_finished(&state.pool, crate::monitors::sweep::SWEEP_JOB),
    )
    .await;
    let now = time::OffsetDateTime::now_utc();
    let (status, body) = match read {
        Ok(Ok(last)) => {
            let ago = last.map(|at| (now - at).whole_seconds());
            let fresh = ago.is_some_and(|s| s <= SCHEDULER_STALLED_AFTER);
            let status = if fresh {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let body = json!({
                "status": if fresh { "ok" } else { "stalled" },
                "last_run_at": last.map(crate::platform::time::rfc3339),
                "seconds_ago": ago,
                "stalled_after_seconds": SCHEDULER_STALLED_AFTER,
            });
            (status, body)
        }
        Ok(Err(err)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "unavailable", "database": format!("unreachable: {}", short_db_error(&err))}),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "unavailable", "database": "unreachable: timed out after 3 s"}),
        ),
    };
    (status, axum::Json(body)).into_response()
}

fn short_db_error(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::PoolTimedOut => "no connection could be made in time".to_owned(),
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    m.pool_connections.set(i64::from(state.pool.size()));
    m.pool_idle.set(state.pool.num_idle() as i64);
    m.pool_max
        .set(i64::from(state.pool.options().get_max_connections()));
    let counts =
        tokio::time::timeout(Duration::from_secs(2), queue::counts_by_state(&state.pool)).await;
    if let Ok(Ok(counts)) = counts {
        for (job_state, count) in counts {
            m.jobs
                .get_or_create(&StateLabels { state: job_state })
                .set(count);
        }
    }
    let deliveries = tokio::time::timeout(
        Duration::from_secs(2),
        crate::webhooks::deliveries::counts_by_state(&state.pool),
    )
    .await;
    if let Ok(Ok(counts)) = deliveries {
        for (delivery_state, count) in counts {
            m.webhook_deliveries
                .get_or_create(&StateLabels {
                    state: delivery_state,
                })
                .set(count);
        }
    }
    let backlog = tokio::time::timeout(
        Duration::from_secs(2),
        crate::alerts::queue::backlog(&state.pool),
    )
    .await;
    if let Ok(Ok(backlog)) = backlog {
        m.alert_intake_backlog.set(backlog);
    }
    m.alert_intake_queued.set(state.intake.queued() as i64);
    alert_gauges(&state).await;
    monitor_gauges(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
        .into_response()
}

/// The alert groups by state and urgency (every pair, 0 included) and one `_info` series
/// per integration, as they are now.
async fn alert_gauges(state: &AppState) {
    use crate::alerts::{integrations, queries, AlertGroupState, AlertUrgency};
    use crate::platform::metrics::{AlertGroupLabels, IntegrationInfoLabels};
    let m = &state.metrics;
    let read = Duration::from_secs(2);
    if let Ok(Ok(counts)) = tokio::time::timeout(read, queries::count_groups(&state.pool)).await {
        for group_state in AlertGroupState::ALL {
            for urgency in AlertUrgency::ALL {
                let n = counts
                    .iter()
                    .find(|(s, u, _)| s == group_state && u == urgency)
                    .map_or(0, |c| c.2);
                let labels = AlertGroupLabels {
                    state: group_state.as_str().to_owned(),
                    urgency: urgency.as_str().to_owned(),
                };
                m.alert_groups.get_or_create(&labels).set(n);
            }
        }
    }
    if let Ok(Ok(all)) = tokio::time::timeout(read, integrations::list(&state.pool)).await {
        // Renamed and deleted integrations leave the scrape.
        m.integration_info.clear();
        for i in all {
            let labels = IntegrationInfoLabels {
                integration_id: i.id.to_string(),
                name: i.name,
                kind: i.kind.as_str().to_owned(),
            };
            m.integration_info.get_or_create(&labels).set(1);
        }
    }
}

/// How many of `states` each of `all` is in, every state named (0 included).
fn count_states<S: Copy + PartialEq>(
    family: &prometheus_client::metrics::family::Family<
        StateLabels,
        prometheus_client::metrics::gauge::Gauge,
    >,
    all: &[S],
    each: impl Iterator<Item = S> + Clone,
    name: impl Fn(S) -> &'static str,
) {
    for s in all {
        let n = each.clone().filter(|x| x == s).count();
        let labels = StateLabels {
            state: name(*s).to_owned(),
        };
        family.get_or_create(&labels).set(n as i64);
    }
}

/// Heartbeats and checks by state (every state, 0 included), each heartbeat's up and
/// last ping, and each check's up and last latency. Renamed and deleted ones leave the
/// scrape.
async fn monitor_gauges(state: &AppState) {
    use crate::monitors::checks::{self, CheckState};
    use crate::monitors::{heartbeats, HeartbeatState};
    use crate::platform::metrics::MonitorLabels;
    let m = &state.metrics;
    let read = Duration::from_secs(2);
    if let Ok(Ok(all)) = tokio::time::timeout(read, checks::list(&state.pool)).await {
        count_states(
            &m.checks,
            CheckState::ALL,
            all.iter().map(|c| c.state),
            CheckState::as_str,
        );
        m.check_up.clear();
        m.check_latency.clear();
        for c in all {
            let labels = MonitorLabels {
                id: c.id.to_string(),
                name: c.name,
            };
            m.check_up
                .get_or_create(&labels)
                .set(i64::from(c.state != CheckState::Down));
            if let Some(ms) = c.last_latency_ms {
                m.check_latency
                    .get_or_create(&labels)
                    .set(f64::from(ms) / 1000.0);
            }
        }
    }
    if let Ok(Ok(all)) = tokio::time::timeout(read, heartbeats::list(&state.pool)).await {
        count_states(
            &m.heartbeats,
            HeartbeatState::ALL,
            all.iter().map(|h| h.state),
            HeartbeatState::as_str,
        );
        m.heartbeat_up.clear();
        m.heartbeat_last_ping.clear();
        for h in all {
            let labels = MonitorLabels {
                id: h.id.to_string(),
                name: h.name,
            };
            let up = i64::from(h.state != HeartbeatState::Down);
            m.heartbeat_up.get_or_create(&labels).set(up);
            if let Some(at) = h.last_ping_at {
                m.heartbeat_last_ping
                    .get_or_create(&labels)
                    .set(at.unix_timestamp());
            }
        }
    }
}
