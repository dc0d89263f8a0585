//! Prometheus metrics: requests by route and status, latency, and what is read at scrape
//! time (pool usage, jobs and webhook deliveries by state).

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntakeLabels {
    pub format: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertGroupLabels {
    pub state: String,
    pub urgency: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationInfoLabels {
    pub integration_id: String,
    pub name: String,
    pub kind: String,
}

/// One monitor (a heartbeat, a check): its id and name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MonitorLabels {
    pub id: String,
    pub name: String,
}

/// The registry and the handles the middleware and the scrape handler write to.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub pool_connections: Gauge,
    pub pool_idle: Gauge,
    pub pool_max: Gauge,
    pub jobs: Family<StateLabels, Gauge>,
    pub webhook_deliveries: Family<StateLabels, Gauge>,
    pub alert_intake: Family<IntakeLabels, Counter>,
    pub alert_intake_backlog: Gauge,
    pub alert_intake_queued: Gauge,
    pub alert_groups: Family<AlertGroupLabels, Gauge>,
    pub integration_info: Family<IntegrationInfoLabels, Gauge>,
    pub heartbeats: Family<StateLabels, Gauge>,
    pub heartbeat_up: Family<MonitorLabels, Gauge>,
    pub heartbeat_last_ping: Family<MonitorLabels, Gauge>,
    pub checks: Family<StateLabels, Gauge>,
    pub check_up: Family<MonitorLabels, Gauge>,
    pub check_latency: Family<MonitorLabels, Gauge<f64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("fireline");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(
                [
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]
                .into_iter(),
            )
        });
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        let pool_max = Gauge::default();
        let jobs = Family::<StateLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, matched route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by matched route",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Largest number of database connections",
            pool_max.clone(),
        );
        registry.register("jobs", "Background jobs by state", jobs.clone());
        let webhook_deliveries = Family::<StateLabels, Gauge>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries by state: delivered, pending (including retries) and dead",
            webhook_deliveries.clone(),
        );
        let alert_intake = Family::<IntakeLabels, Counter>::default();
        registry.register(
            "alert_intake_requests",
            "Requests to the alert ingest endpoints by format and outcome: accepted, invalid, \
             unauthorized, too_large, unsupported_version, overloaded",
            alert_intake.clone(),
        );
        let alert_intake_backlog = Gauge::default();
        registry.register(
            "alert_intake_backlog",
            "Alert deliveries stored and not yet applied by the processor",
            alert_intake_backlog.clone(),
        );
        let alert_intake_queued = Gauge::default();
        registry.register(
            "alert_intake_queued",
            "Alert deliveries received by this process and waiting to be stored",
            alert_intake_queued.clone(),
        );
        let alert_groups = Family::<AlertGroupLabels, Gauge>::default();
        registry.register(
            "alert_groups",
            "Alert groups by state and urgency",
            alert_groups.clone(),
        );
        let integration_info = Family::<IntegrationInfoLabels, Gauge>::default();
        registry.register(
            "integration_info",
            "Each alert integration (always 1), to join its name and kind to its id",
            integration_info.clone(),
        );
        let heartbeats = Family::<StateLabels, Gauge>::default();
        registry.register(
            "heartbeats",
            "Heartbeats by state: new, up, late, down, paused",
            heartbeats.clone(),
        );
        let heartbeat_up = Family::<MonitorLabels, Gauge>::default();
        registry.register(
            "heartbeat_up",
            "Each heartbeat: 0 when it is down, 1 otherwise (new, up, late or paused)",
            heartbeat_up.clone(),
        );
        let heartbeat_last_ping = Family::<MonitorLabels, Gauge>::default();
        registry.register(
            "heartbeat_last_ping_timestamp_seconds",
            "When each heartbeat that has been pinged last succeeded or failed, in Unix seconds",
            heartbeat_last_ping.clone(),
        );
        let checks = Family::<StateLabels, Gauge>::default();
        registry.register(
            "checks",
            "Active checks by state: new, up, down, paused",
            checks.clone(),
        );
        let check_up = Family::<MonitorLabels, Gauge>::default();
        registry.register(
            "check_up",
            "Each check: 0 when it is down, 1 otherwise (new, up or paused)",
            check_up.clone(),
        );
        let check_latency = Family::<MonitorLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "check_latency_seconds",
            "How long each check's last run took",
            check_latency.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            pool_max,
            jobs,
            webhook_deliveries,
            alert_intake,
            alert_intake_backlog,
            alert_intake_queued,
            alert_groups,
            integration_info,
            heartbeats,
            heartbeat_up,
            heartbeat_last_ping,
            checks,
            check_up,
            check_latency,
        }
    }

    /// The Prometheus text exposition of everything registered.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(err) = encode(&mut out, &self.registry) {
            tracing::error!(error = %err, "encoding metrics failed");
        }
        out
    }
}
