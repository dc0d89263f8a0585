//! `/api/v1/routing-rules`: the ordered rules that route alert groups (viewers read,
//! admins write), and `/test`, which tries them on a pasted payload.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, missing, Admin, Answer, Edit, ProblemDoc, Reply};
use crate::alerts::intake::Labels;
use crate::alerts::routing::commands::{self, NewRule, RuleChanges};
use crate::alerts::routing::preview::{self, RuleTest, RuleTestResult};
use crate::alerts::routing::store::{self, RuleRow};
use crate::alerts::routing::{ComponentStatusAction, DeclareAction, Matcher, Rule};
use crate::alerts::{AlertSeverity, AlertUrgency, IntegrationKind};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
use crate::platform::command::CommandError;

/// A routing rule. Rules are tried by `position` (then by age); the first that matches
/// a group decides its urgency and actions.
#[derive(Serialize, ToSchema)]
pub struct RoutingRuleJson {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub enabled: bool,
    /// All must match the group's labels (a missing label matches as `""`; regular
    /// expressions are fully anchored).
    #[schema(value_type = Vec<Matcher>)]
    pub matchers: Value,
    /// Empty: any integration.
    pub integration_ids: Vec<Uuid>,
    /// The group's normalised severity; empty: any.
    #[schema(value_type = Vec<AlertSeverity>)]
    pub severities: Vec<String>,
    pub urgency: AlertUrgency,
    #[schema(value_type = Option<DeclareAction>)]
    pub declare: Option<Value>,
    #[schema(value_type = Option<ComponentStatusAction>)]
    pub component_status: Option<Value>,
    /// The team whose duty a `critical` group pages (and which a `high` one notifies);
    /// null: the integration's team.
    pub team_id: Option<Uuid>,
    /// The policy a `critical` group runs; null: the team's (or the default one).
    pub escalation_policy_id: Option<Uuid>,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn json(row: RuleRow) -> RoutingRuleJson {
    RoutingRuleJson {
        id: row.id,
        name: row.name,
        position: row.position,
        enabled: row.enabled,
        matchers: row.matchers,
        integration_ids: row.integration_ids,
        severities: row.severities,
        urgency: row.urgency,
        declare: row.declare,
        component_status: row.component_status,
        team_id: row.team_id,
        escalation_policy_id: row.escalation_policy_id,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

async fn find_json(state: &AppState, id: Uuid) -> Result<RoutingRuleJson, AppError> {
    let row = store::find(&state.pool, id).await?;
    Ok(json(row.ok_or_else(|| missing("routing rule", id))?))
}

/// A refused command as the API answers it: a stale version is a 409 with `current`.
async fn refused(state: &AppState, id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing("routing rule", id),
        CommandError::Stale { expected, .. } => match find_json(state, id).await {
            Ok(current) => AppError::Conflict {
                message: format!(
                    "The routing rule changed since version {expected} (it is at version {}); \
                     nothing was saved. `current` holds it as it is now.",
                    current.version
                ),
                current: serde_json::to_value(current).ok(),
            },
            Err(e) => e,
        },
        other => other.into(),
    }
}

/// Every routing rule, in the order they are tried.
#[utoipa::path(get, path = "/routing-rules", tag = "routing-rules",
    responses((status = 200, body = Vec<RoutingRuleJson>),
        (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_routing_rules(c: Caller) -> Reply<Vec<RoutingRuleJson>> {
    let rows = store::list(&c.state.pool).await?;
    Ok(Json(rows.into_iter().map(json).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoutingRuleJson {
    #[schema(max_length = 100)]
    pub name: String,
    /// Default: after the last rule.
    pub position: Option<i32>,
    /// Default `true`.
    pub enabled: Option<bool>,
    #[serde(default)]
    pub matchers: Vec<Matcher>,
    #[serde(default)]
    pub integration_ids: Vec<Uuid>,
    #[serde(default)]
    pub severities: Vec<AlertSeverity>,
    pub urgency: AlertUrgency,
    pub declare: Option<DeclareAction>,
    /// Only `"apply": "propose"`: the status is offered on the group for a person.
    pub component_status: Option<ComponentStatusAction>,
    /// The team to page (`critical`) or notify (`high`); default: the integration's.
    pub team_id: Option<Uuid>,
    /// Default: the team's policy.
    pub escalation_policy_id: Option<Uuid>,
}

impl NewRoutingRuleJson {
    fn into_new(self) -> NewRule {
        NewRule {
            name: self.name,
            position: self.position,
            enabled: self.enabled.unwrap_or(true),
            matchers: self.matchers,
            integration_ids: self.integration_ids,
            severities: self.severities,
            urgency: self.urgency,
            declare: self.declare,
            component_status: self.component_status,
            team_id: self.team_id,
            escalation_policy_id: self.escalation_policy_id,
        }
    }
}

/// Create a routing rule (admin).
#[utoipa::path(post, path = "/routing-rules", security(("bearer" = ["admin"])), tag = "routing-rules", request_body = NewRoutingRuleJson,
    responses((status = 201, body = RoutingRuleJson),
        (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "An invalid matcher (the message names the label), action or name", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_routing_rule(c: Admin, Json(body): Json<NewRoutingRuleJson>) -> Answer {
    let mut tx = c.begin().await?;
    let row = commands::create(&mut tx, Some(c.id()), body.into_new()).await?;
    tx.commit().await?;
    created(format!("/api/v1/routing-rules/{}", row.id), json(row))
}

/// One routing rule.
#[utoipa::path(get, path = "/routing-rules/{id}", tag = "routing-rules", params(("id" = Uuid, Path)),
    responses((status = 200, body = RoutingRuleJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_routing_rule(c: Caller, Path(id): Path<Uuid>) -> Reply<RoutingRuleJson> {
    Ok(Json(find_json(&c.state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRulePatchJson {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// Moves the rule (audited as `routing_rule.moved`).
    pub position: Option<i32>,
    pub enabled: Option<bool>,
    pub matchers: Option<Vec<Matcher>>,
    pub integration_ids: Option<Vec<Uuid>>,
    pub severities: Option<Vec<AlertSeverity>>,
    pub urgency: Option<AlertUrgency>,
    /// `null` removes the action.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<DeclareAction>)]
    pub declare: Option<Option<DeclareAction>>,
    /// `null` removes the action.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<ComponentStatusAction>)]
    pub component_status: Option<Option<ComponentStatusAction>>,
    /// `null`: the integration's team.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Uuid>)]
    pub team_id: Option<Option<Uuid>>,
    /// `null`: the team's policy.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Uuid>)]
    pub escalation_policy_id: Option<Option<Uuid>>,
    /// The version read (required); a stale one gets 409 with `current`.
    pub version: i32,
}

/// Change or move a routing rule (admin).
#[utoipa::path(patch, path = "/routing-rules/{id}", security(("bearer" = ["admin"])), tag = "routing-rules", params(("id" = Uuid, Path)), request_body = RoutingRulePatchJson,
    responses((status = 200, body = RoutingRuleJson),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "Stale version; `current` holds the rule", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_routing_rule(
    c: Admin,
    Edit(id, body): Edit<RoutingRulePatchJson>,
) -> Reply<RoutingRuleJson> {
    let change = RuleChanges {
        name: body.name,
        position: body.position,
        enabled: body.enabled,
        matchers: body.matchers,
        integration_ids: body.integration_ids,
        severities: body.severities,
        urgency: body.urgency,
        declare: body.declare,
        component_status: body.component_status,
        team_id: body.team_id,
        escalation_policy_id: body.escalation_policy_id,
    };
    let mut tx = c.begin().await?;
    let row = match commands::update(&mut tx, Some(c.id()), id, body.version, change).await {
        Ok(row) => row,
        Err(err) => {
            drop(tx);
            return Err(refused(&c.state, id, err).await);
        }
    };
    tx.commit().await?;
    Ok(Json(json(row)))
}

/// Delete a routing rule (admin); the groups it routed keep their urgency.
#[utoipa::path(delete, path = "/routing-rules/{id}", security(("bearer" = ["admin"])), tag = "routing-rules", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_routing_rule(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    let mut tx = c.begin().await?;
    if let Err(err) = commands::delete(&mut tx, Some(c.id()), id).await {
        drop(tx);
        return Err(refused(&c.state, id, err).await);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRuleTestJson {
    /// Which door's format the payload is in.
    pub integration_kind: IntegrationKind,
    /// The body as the sender posts it.
    pub payload: Value,
    /// The integration it would arrive at (its defaults); default: a new integration's.
    pub integration_id: Option<Uuid>,
    /// A draft rule, tried at its position among the saved ones.
    pub rule: Option<NewRoutingRuleJson>,
    /// The saved rule the draft replaces (when editing one).
    pub rule_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct MatchedRuleJson {
    pub id: Uuid,
    pub name: String,
    /// The draft matched.
    pub draft: bool,
}

#[derive(Serialize, ToSchema)]
pub struct WouldDeclareJson {
    pub title: String,
    pub severity: crate::incidents::Severity,
    /// The names of the components it would name.
    pub components: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WouldProposeJson {
    pub status: crate::components::ComponentStatus,
    pub apply: crate::alerts::routing::Apply,
    pub components: Vec<String>,
}

/// What the payload would become and how it would be routed; nothing is written.
#[derive(Serialize, ToSchema)]
pub struct RoutingRuleTestResultJson {
    pub group_key: Option<String>,
    pub title: Option<String>,
    pub severity: Option<AlertSeverity>,
    pub labels: Labels,
    /// `null`: no rule matched; the integration's default route.
    pub matched_rule: Option<MatchedRuleJson>,
    pub urgency: Option<AlertUrgency>,
    pub declare: Option<WouldDeclareJson>,
    pub component_status: Option<WouldProposeJson>,
    /// Why the payload or the draft cannot be used, and saved rules that were skipped.
    pub errors: Vec<String>,
}

/// The answer of a rule test as JSON (the admin page renders the same result).
pub fn test_result_json(r: RuleTestResult) -> RoutingRuleTestResultJson {
    RoutingRuleTestResultJson {
        group_key: r.group_key,
        title: r.title,
        severity: r.severity,
        labels: r.labels,
        matched_rule: r.matched_rule.map(|m| MatchedRuleJson {
            id: m.id,
            name: m.name,
            draft: m.draft,
        }),
        urgency: r.urgency,
        declare: r.declare.map(|d| WouldDeclareJson {
            title: d.title,
            severity: d.severity,
            components: d.components,
        }),
        component_status: r.component_status.map(|c| WouldProposeJson {
            status: c.status,
            apply: c.apply,
            components: c.components,
        }),
        errors: r.errors,
    }
}

/// The draft of a test as a rule (not saved: a draft without `rule_id` gets a nil id).
fn draft(body: NewRoutingRuleJson, id: Option<Uuid>) -> Rule {
    let new = body.into_new();
    Rule {
        id: id.unwrap_or(Uuid::nil()),
        name: new.name,
        position: new.position.unwrap_or(i32::MAX),
        enabled: true,
        matchers: new.matchers,
        integration_ids: new.integration_ids,
        severities: new.severities,
        urgency: new.urgency,
        declare: new.declare,
        component_status: new.component_status,
    }
}

/// Try the routing rules on a pasted payload (viewer): it is read by its door's parser
/// and routed by the saved rules, with the draft `rule` among them. Nothing is written.
#[utoipa::path(post, path = "/routing-rules/test", tag = "routing-rules", request_body = RoutingRuleTestJson,
    responses((status = 200, body = RoutingRuleTestResultJson),
        (status = 422, description = "An unknown integration", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn test_routing_rules(
    c: Caller,
    Json(body): Json<RoutingRuleTestJson>,
) -> Reply<RoutingRuleTestResultJson> {
    let test = RuleTest {
        kind: body.integration_kind,
        payload: serde_json::to_vec(&body.payload).unwrap_or_default(),
        integration_id: body.integration_id,
        draft: body.rule.map(|r| draft(r, body.rule_id)),
    };
    let mut conn = c.state.pool.acquire().await?;
    Ok(Json(test_result_json(preview::run(&mut conn, test).await?)))
}
