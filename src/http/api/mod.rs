//! The automation API (`/api/v1`) and its OpenAPI document (`/api/openapi.json`).

pub(crate) mod cursor;
mod responses;
pub(crate) mod v1;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fireline API",
        description = "Automation API of Fireline. Authenticate with `Authorization: Bearer <token>`; \
                       errors are `application/problem+json` (RFC 9457).",
    ),
    modifiers(&BearerAuth),
    components(schemas(v1::ProblemDoc)),
    tags(
        (name = "account", description = "The token's own user"),
        (name = "users", description = "People who use Fireline"),
        (name = "components", description = "Components and groups shown on the status page"),
        (name = "incidents", description = "Declare and run incidents"),
        (name = "workstreams", description = "Recovery, root-cause and custom workstreams and their tasks"),
        (name = "events", description = "The append-only event log"),
        (name = "updates", description = "Public updates for the status page"),
        (name = "maintenances", description = "Scheduled maintenance"),
        (name = "postmortems", description = "Postmortems drafted from the incident's log, and their templates"),
        (name = "action items", description = "Prioritised action items tracked until done"),
        (name = "subscribers", description = "Webhook subscribers (Standard Webhooks signatures, Statuspage bodies) and their delivery log"),
        (name = "email-subscribers", description = "Email subscribers of the status page: double opt-in, per-component choices, bounces"),
        (name = "integrations", description = "The doors monitoring tools send alerts to (Alertmanager, Grafana, PagerDuty Events, generic JSON), and their keys"),
        (name = "alerts", description = "Alert groups and their alerts, as monitoring sent them; acknowledge and resolve"),
        (name = "routing-rules", description = "Ordered rules that route alert groups by their labels, integration and severity to an urgency and actions; tested against a pasted payload"),
        (name = "silences", description = "Silences of one alert group or of the groups label matchers select, for a while and with a reason"),
        (name = "teams", description = "Teams, their members, rotation and working hours; who is on duty (override, taken, rotation), taking, handing back and passing duty; overrides"),
        (name = "pages", description = "The escalation runs of critical alert groups: countdown, who was paged, acknowledgement"),
        (name = "contact-methods", description = "How each person is reached (ntfy, Pushover, SMS, chat, webhook) and for which urgencies; send a test"),
        (name = "escalation-policies", description = "What a critical alert does, step by step: announce, count down, page, wait, repeat"),
        (name = "heartbeats", description = "Dead man's switches: pinged at /ping/{uuid} (the Healthchecks API) by the jobs they watch; down raises an alert"),
        (name = "checks", description = "Active checks (HTTP(S), TCP, DNS) run by Fireline every interval; down raises an alert and proposes a status for the component, and the statuses proposed"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The API routes and `/api/openapi.json`, the document generated from their handlers.
pub fn router() -> Router<AppState> {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1::router())
        .split_for_parts();
    responses::add_common_responses(&mut doc);
    let json = doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned());
    router.route(
        "/api/openapi.json",
        get(move || {
            let json = json.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
        }),
    )
}
