//! `/api/v1/integrations`: the doors monitoring tools send alerts to, and their keys
//! (admins).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, missing, Admin, Answer, Edit, ProblemDoc, Reply};
use crate::alerts::integrations::{
    self, IntegrationChanges, IntegrationRow, NewIntegration, Signing, WithKey,
};
use crate::alerts::{doors, keys, AlertSeverity, AlertUrgency, IntegrationKind};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{Json, Path};
use crate::platform::command::CommandError;

/// An integration: one monitoring tool's door into Fireline.
#[derive(Serialize, ToSchema)]
pub struct IntegrationJson {
    pub id: Uuid,
    pub name: String,
    pub kind: IntegrationKind,
    /// The urgency of a group no routing rule matches.
    pub default_urgency: AlertUrgency,
    /// The severity of an alert whose payload names none.
    pub default_severity: AlertSeverity,
    /// The first characters of the current key, to tell keys apart.
    pub key_prefix: Option<String>,
    /// Grafana: whether deliveries must carry a valid `X-Grafana-Alerting-Signature`
    /// (the secret itself is never shown).
    pub signed: bool,
    /// Grafana: the header of the signed timestamp, when one is configured.
    pub timestamp_header: Option<String>,
    /// The team its critical alerts page (and its high ones notify) when no routing rule
    /// names one; null: none.
    pub team_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_received_at: Option<OffsetDateTime>,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Where the tool sends its alerts. Only the URLs of the integration's kind are set.
#[derive(Serialize, ToSchema)]
pub struct IngestUrlsJson {
    /// The URL with the key in it (Alertmanager, Grafana, generic).
    pub with_key: Option<String>,
    /// The URL for a tool that sends the key as `Authorization: Bearer <key>` (or as the
    /// password of Basic authentication).
    pub bearer: Option<String>,
    /// PagerDuty Events API v2: the key is the `routing_key`.
    pub events_v2: Option<String>,
    /// PagerDuty's generic v1 endpoint: the key is the `service_key`.
    pub events_v1: Option<String>,
}

/// An integration just created or given a new key: the key is shown only in this answer.
#[derive(Serialize, ToSchema)]
pub struct IntegrationKeyJson {
    #[serde(flatten)]
    pub integration: IntegrationJson,
    /// 32 characters; keep it, it cannot be shown again.
    pub key: String,
    pub urls: IngestUrlsJson,
    /// An Alertmanager receiver to paste into `alertmanager.yml` (Alertmanager and
    /// PagerDuty integrations).
    pub config: Option<String>,
}

fn json(row: IntegrationRow, key_prefix: Option<String>) -> IntegrationJson {
    IntegrationJson {
        id: row.id,
        name: row.name,
        kind: row.kind,
        default_urgency: row.default_urgency,
        default_severity: row.default_severity,
        key_prefix,
        signed: row.signed,
        timestamp_header: row.timestamp_header,
        team_id: row.team_id,
        last_received_at: row.last_received_at,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn with_key(state: &AppState, made: WithKey) -> IntegrationKeyJson {
    let base = &state.settings.base_url;
    let kind = made.integration.kind;
    let urls = doors::urls(base, kind, &made.key);
    let config = doors::alertmanager_receiver(base, kind, &made.key);
    let prefix = made.key.get(..keys::PREFIX_LEN).map(str::to_owned);
    IntegrationKeyJson {
        integration: json(made.integration, prefix),
        key: made.key,
        urls: IngestUrlsJson {
            with_key: urls.with_key,
            bearer: urls.bearer,
            events_v2: urls.events_v2,
            events_v1: urls.events_v1,
        },
        config,
    }
}

async fn find_json(state: &AppState, id: Uuid) -> Result<IntegrationJson, AppError> {
    let row = integrations::find(&state.pool, id).await?;
    let row = row.ok_or_else(|| missing("integration", id))?;
    let prefix = keys::current_prefix(&state.pool, id).await?;
    Ok(json(row, prefix))
}

/// A refused command as the API answers it: a stale version is a 409 with `current`.
async fn refused(state: &AppState, id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing("integration", id),
        CommandError::Stale { expected, .. } => match find_json(state, id).await {
            Ok(current) => AppError::Conflict {
                message: format!(
                    "The integration changed since version {expected} (it is at version {}); \
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

/// Every integration, by name (admin).
#[utoipa::path(get, path = "/integrations", security(("bearer" = ["admin"])), tag = "integrations",
    responses((status = 200, body = Vec<IntegrationJson>),
        (status = 403, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_integrations(c: Admin) -> Reply<Vec<IntegrationJson>> {
    let rows = integrations::list(&c.state.pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let prefix = keys::current_prefix(&c.state.pool, row.id).await?;
        out.push(json(row, prefix));
    }
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntegrationJson {
    #[schema(max_length = 100)]
    pub name: String,
    pub kind: IntegrationKind,
    /// Default `high`.
    pub default_urgency: Option<AlertUrgency>,
    /// Default `error`.
    pub default_severity: Option<AlertSeverity>,
    /// The team its alerts page when no routing rule names one; default none.
    pub team_id: Option<Uuid>,
}

/// Create an integration (admin). The answer holds its `key` and `urls`, shown only here.
#[utoipa::path(post, path = "/integrations", security(("bearer" = ["admin"])), tag = "integrations", request_body = NewIntegrationJson,
    responses((status = 201, body = IntegrationKeyJson),
        (status = 403, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A blank, too long or taken name, or no such team", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_integration(c: Admin, Json(body): Json<NewIntegrationJson>) -> Answer {
    let new = NewIntegration {
        name: &body.name,
        kind: body.kind,
        default_urgency: body.default_urgency.unwrap_or(AlertUrgency::High),
        default_severity: body.default_severity.unwrap_or(AlertSeverity::Error),
        team_id: body.team_id,
    };
    let mut tx = c.begin().await?;
    let made = integrations::create(&mut tx, Some(c.id()), new).await?;
    tx.commit().await?;
    let location = format!("/api/v1/integrations/{}", made.integration.id);
    created(location, with_key(&c.state, made))
}

/// One integration (admin).
#[utoipa::path(get, path = "/integrations/{id}", security(("bearer" = ["admin"])), tag = "integrations", params(("id" = Uuid, Path)),
    responses((status = 200, body = IntegrationJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_integration(c: Admin, Path(id): Path<Uuid>) -> Reply<IntegrationJson> {
    Ok(Json(find_json(&c.state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationPatchJson {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    pub default_urgency: Option<AlertUrgency>,
    pub default_severity: Option<AlertSeverity>,
    /// Grafana only: the HMAC secret of the contact point, after which every delivery
    /// must carry a valid `X-Grafana-Alerting-Signature`; `""` turns the check off.
    #[schema(max_length = 256)]
    pub signing_secret: Option<String>,
    /// Grafana only, with `signing_secret`: the contact point's timestamp header, when
    /// it has one (then `timestamp:body` is signed).
    #[schema(max_length = 100)]
    pub timestamp_header: Option<String>,
    /// The team its alerts page when no routing rule names one; `null`: none.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Uuid>)]
    pub team_id: Option<Option<Uuid>>,
    /// The version read (required); a stale one gets 409 with `current`.
    pub version: i32,
}

/// Rename an integration or change its defaults (admin).
#[utoipa::path(patch, path = "/integrations/{id}", security(("bearer" = ["admin"])), tag = "integrations", params(("id" = Uuid, Path)), request_body = IntegrationPatchJson,
    responses((status = 200, body = IntegrationJson),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "Stale version; `current` holds the integration", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_integration(
    c: Admin,
    Edit(id, body): Edit<IntegrationPatchJson>,
) -> Reply<IntegrationJson> {
    let signing = match body.signing_secret {
        None if body.timestamp_header.is_some() => {
            return Err(AppError::from(CommandError::invalid(
                "timestamp_header",
                "A timestamp header is set together with the signing secret.",
            )))
        }
        None => None,
        Some(secret) if secret.is_empty() => Some(None),
        Some(secret) => Some(Some(Signing {
            secret,
            timestamp_header: body.timestamp_header.filter(|h| !h.trim().is_empty()),
        })),
    };
    let change = IntegrationChanges {
        name: body.name,
        default_urgency: body.default_urgency,
        default_severity: body.default_severity,
        signing,
        team_id: body.team_id,
    };
    let mut tx = c.begin().await?;
    let done = integrations::update(&mut tx, Some(c.id()), id, body.version, change).await;
    if let Err(err) = done {
        drop(tx);
        return Err(refused(&c.state, id, err).await);
    }
    tx.commit().await?;
    c.state.integration_keys.forget();
    Ok(Json(find_json(&c.state, id).await?))
}

/// Delete an integration (admin), with its groups, alerts and queued deliveries.
#[utoipa::path(delete, path = "/integrations/{id}", security(("bearer" = ["admin"])), tag = "integrations", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_integration(c: Admin, Path(id): Path<Uuid>) -> Answer<StatusCode> {
    let mut tx = c.begin().await?;
    let deleted = integrations::delete(&mut tx, Some(c.id()), id).await;
    if let Err(err) = deleted {
        drop(tx);
        return Err(refused(&c.state, id, err).await);
    }
    tx.commit().await?;
    c.state.integration_keys.forget();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyJson {
    /// How long the old key keeps working, 0 (it stops now, the default) to 10080
    /// minutes (a week).
    #[serde(default)]
    #[schema(maximum = 10080)]
    pub grace_minutes: u32,
}

/// Give an integration a new key (admin); the answer holds it, shown only here.
#[utoipa::path(post, path = "/integrations/{id}/rotate-key", security(("bearer" = ["admin"])), tag = "integrations", params(("id" = Uuid, Path)), request_body = RotateKeyJson,
    responses((status = 200, body = IntegrationKeyJson),
        (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn rotate_key(
    c: Admin,
    Edit(id, body): Edit<RotateKeyJson>,
) -> Reply<IntegrationKeyJson> {
    let mut tx = c.begin().await?;
    let made = integrations::rotate_key(&mut tx, Some(c.id()), id, body.grace_minutes).await;
    let made = match made {
        Ok(made) => made,
        Err(err) => {
            drop(tx);
            return Err(refused(&c.state, id, err).await);
        }
    };
    tx.commit().await?;
    c.state.integration_keys.forget();
    Ok(Json(with_key(&c.state, made)))
}
