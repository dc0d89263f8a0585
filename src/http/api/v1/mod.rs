//! `/api/v1`: JSON in and out, bearer tokens, problem+json errors (see shared API.md).

mod alert_incidents;
mod alerts;
mod checks;
mod components;
mod contact_methods;
mod duty;
mod email_subscribers;
mod escalation_policies;
mod heartbeats;
mod incidents;
mod integrations;
mod log;
mod maintenances;
mod me;
mod oncall_report;
mod pages;
pub mod postmortems;
pub mod routing_rules;
mod silences;
mod subscribers;
mod teams;
mod users;

use std::fmt::Display;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::api::cursor::Cursor;
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, AsResponder, Caller, Json, Path};

/// An API caller with the responder role (or admin).
pub type Responder = Caller<AsResponder>;

/// An API caller with the admin role.
pub type Admin = Caller<AsAdmin>;

/// What a handler answers: `T` as JSON, or a problem.
pub type Reply<T> = Result<Json<T>, AppError>;

/// What a handler answers when it sets the status itself (201, 202, 204, a stream).
pub type Answer<T = Response> = Result<T, AppError>;

/// A write to the thing a path names: its id (`I`, a UUID unless said) and the JSON body,
/// read as `Path` and then `Json` are, with the same answers when they are wrong.
pub struct Edit<T, I = uuid::Uuid>(pub I, pub T);

impl<T: DeserializeOwned, I: DeserializeOwned + Send> FromRequest<AppState> for Edit<T, I> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = req.into_parts();
        let Path(id) = Path::<I>::from_request_parts(&mut parts, state).await?;
        let Json(body) = Json::<T>::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Edit(id, body))
    }
}

/// 201 Created, with the new thing's address in `Location` and the thing as JSON.
pub fn created(location: String, body: impl Serialize) -> Answer {
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// The 404 of a lookup: "There is no {what} {id}."
pub fn missing(what: &str, id: impl Display) -> AppError {
    AppError::NotFound(format!("There is no {what} {id}."))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me::get_me))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user))
        .routes(routes!(users::disable_user))
        .routes(routes!(components::list_groups, components::create_group))
        .routes(routes!(
            components::get_group,
            components::patch_group,
            components::delete_group
        ))
        .routes(routes!(
            components::list_components,
            components::create_component
        ))
        .routes(routes!(
            components::get_component,
            components::patch_component,
            components::delete_component
        ))
        .routes(routes!(
            components::get_dependencies,
            components::put_dependencies
        ))
        .routes(routes!(
            incidents::list_incidents,
            incidents::declare_incident
        ))
        .routes(routes!(incidents::get_incident, incidents::patch_incident))
        .routes(routes!(
            incidents::workstreams::list_workstreams,
            incidents::workstreams::add_workstream
        ))
        .routes(routes!(incidents::workstreams::patch_workstream))
        .routes(routes!(incidents::workstreams::add_task))
        .routes(routes!(incidents::workstreams::patch_task))
        .routes(routes!(log::list_events, log::add_event))
        .routes(routes!(log::list_updates, log::post_update))
        .routes(routes!(log::stream_events))
        .routes(routes!(log::get_event))
        .routes(routes!(log::get_update))
        .routes(routes!(
            maintenances::list_maintenances,
            maintenances::create_maintenance
        ))
        .routes(routes!(
            maintenances::get_maintenance,
            maintenances::patch_maintenance
        ))
        .routes(routes!(maintenances::post_maintenance_update))
        .routes(routes!(
            subscribers::list_subscribers,
            subscribers::create_subscriber
        ))
        .routes(routes!(
            subscribers::get_subscriber,
            subscribers::patch_subscriber,
            subscribers::delete_subscriber
        ))
        .routes(routes!(subscribers::list_deliveries))
        .routes(routes!(subscribers::send_test))
        .routes(routes!(subscribers::resend_delivery))
        .routes(routes!(
            email_subscribers::list_email_subscribers,
            email_subscribers::create_email_subscriber
        ))
        .routes(routes!(
            email_subscribers::get_email_subscriber,
            email_subscribers::patch_email_subscriber,
            email_subscribers::delete_email_subscriber
        ))
        .routes(routes!(postmortems::start_postmortem))
        .routes(routes!(postmortems::list_postmortems))
        .routes(routes!(
            postmortems::get_postmortem,
            postmortems::patch_postmortem
        ))
        .routes(routes!(postmortems::get_markdown))
        .routes(routes!(
            postmortems::list_postmortem_items,
            postmortems::create_postmortem_item
        ))
        .routes(routes!(postmortems::list_items))
        .routes(routes!(postmortems::patch_item))
        .routes(routes!(
            postmortems::list_templates,
            postmortems::create_template
        ))
        .routes(routes!(
            postmortems::get_template,
            postmortems::patch_template,
            postmortems::delete_template
        ))
        .routes(routes!(
            integrations::list_integrations,
            integrations::create_integration
        ))
        .routes(routes!(
            integrations::get_integration,
            integrations::patch_integration,
            integrations::delete_integration
        ))
        .routes(routes!(integrations::rotate_key))
        .routes(routes!(alerts::list_alert_groups))
        .routes(routes!(alerts::get_alert_group))
        .routes(routes!(alerts::list_alert_group_events))
        .routes(routes!(alerts::acknowledge_alert_group))
        .routes(routes!(alerts::resolve_alert_group))
        .routes(routes!(alert_incidents::declare_from_alert_group))
        .routes(routes!(alert_incidents::attach_alert_group))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(
            routing_rules::list_routing_rules,
            routing_rules::create_routing_rule
        ))
        .routes(routes!(
            routing_rules::get_routing_rule,
            routing_rules::patch_routing_rule,
            routing_rules::delete_routing_rule
        ))
        .routes(routes!(routing_rules::test_routing_rules))
        .routes(routes!(silences::list_silences, silences::create_silence))
        .routes(routes!(silences::end_silence))
        .routes(routes!(silences::silence_alert_group))
        .routes(routes!(teams::list_teams, teams::create_team))
        .routes(routes!(
            teams::get_team,
            teams::patch_team,
            teams::delete_team
        ))
        .routes(routes!(teams::put_members))
        .routes(routes!(duty::get_duty, duty::post_duty))
        .routes(routes!(duty::list_overrides, duty::create_override))
        .routes(routes!(duty::delete_override))
        .routes(routes!(teams::end_acked_mode))
        .routes(routes!(pages::list_pages))
        .routes(routes!(pages::get_page))
        .routes(routes!(pages::acknowledge_page))
        .routes(routes!(oncall_report::oncall_report))
        .routes(routes!(
            heartbeats::list_heartbeats,
            heartbeats::create_heartbeat
        ))
        .routes(routes!(
            heartbeats::get_heartbeat,
            heartbeats::patch_heartbeat,
            heartbeats::delete_heartbeat
        ))
        .routes(routes!(heartbeats::pause_heartbeat))
        .routes(routes!(heartbeats::resume_heartbeat))
        .routes(routes!(checks::list_checks, checks::create_check))
        .routes(routes!(
            checks::get_check,
            checks::patch_check,
            checks::delete_check
        ))
        .routes(routes!(checks::pause_check))
        .routes(routes!(checks::resume_check))
        .routes(routes!(checks::list_results))
        .routes(routes!(checks::list_proposals))
        .routes(routes!(checks::apply_proposal))
        .routes(routes!(checks::dismiss_proposal))
        .routes(routes!(
            contact_methods::list_contact_methods,
            contact_methods::create_contact_method
        ))
        .routes(routes!(
            contact_methods::patch_contact_method,
            contact_methods::delete_contact_method
        ))
        .routes(routes!(contact_methods::test_contact_method))
        .routes(routes!(
            contact_methods::list_team_channels,
            contact_methods::create_team_channel
        ))
        .routes(routes!(
            escalation_policies::list_policies,
            escalation_policies::create_policy
        ))
        .routes(routes!(
            escalation_policies::get_policy,
            escalation_policies::patch_policy,
            escalation_policies::delete_policy
        ))
}

/// An error (RFC 9457 problem details).
#[derive(Serialize, ToSchema)]
pub struct ProblemDoc {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in words for a person.
    pub detail: String,
    /// For 422: field → message.
    pub errors: Option<std::collections::BTreeMap<String, String>>,
    /// For 409: the object as it is now.
    pub current: Option<serde_json::Value>,
    /// Quote it when asking for help: the server's log has the same id.
    pub request_id: Option<String>,
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200, default = json!(50))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    pub fn limit(&self) -> Result<i64, AppError> {
        limit(self.limit)
    }
}

/// A list's `limit`: 1 to 200, default 50.
pub fn limit(asked: Option<u32>) -> Result<i64, AppError> {
    match asked {
        None => Ok(50),
        Some(n @ 1..=200) => Ok(i64::from(n)),
        Some(_) => Err(AppError::field("limit", "limit must be between 1 and 200.")),
    }
}

/// One page of a list.
#[derive(Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// The page of `rows`, read with one more than `limit`: the first `limit` of them,
    /// and the cursor after the last of those when there are more.
    pub fn of<R>(mut rows: Vec<R>, limit: i64, cursor: impl Fn(&R) -> Cursor) -> Self
    where
        T: From<R>,
    {
        let next_cursor = more(&mut rows, limit, cursor);
        Page {
            items: rows.into_iter().map(T::from).collect(),
            next_cursor,
        }
    }
}

/// Cuts `rows` (read with one more than `limit`) to `limit`; the next page's cursor, if
/// there was more.
pub fn more<R>(rows: &mut Vec<R>, limit: i64, cursor: impl Fn(&R) -> Cursor) -> Option<String> {
    if rows.len() as i64 <= limit {
        return None;
    }
    rows.truncate(limit as usize);
    rows.last().map(|row| cursor(row).encode())
}

/// The values of the repeatable query parameter `name` (`state=a&state=b`), each read by
/// `parse`; one that does not read is a 422 saying which values are allowed.
pub fn repeated<T>(
    raw: Option<&str>,
    name: &'static str,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<Vec<T>, AppError> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| {
            parse(&v)
                .ok_or_else(|| AppError::field(name, format!("{v:?} is not a {name}: {allowed}.")))
        })
        .collect()
}

/// For PATCH fields where `null` means "clear": absent → `None`, `null` → `Some(None)`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}
