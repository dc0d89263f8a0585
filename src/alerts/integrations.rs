//! Integrations: a named door for one monitoring tool, its defaults and its key. The
//! commands (create, update, rotate the key, delete) write their audit entries in the
//! caller's transaction, for every front door alike.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::intake::signature::SECRET_MAX;
use super::{keys, AlertSeverity, AlertUrgency, IntegrationKind};
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::text;

/// An integration as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntegrationRow {
    pub id: Uuid,
    pub name: String,
    pub kind: IntegrationKind,
    pub default_urgency: AlertUrgency,
    pub default_severity: AlertSeverity,
    pub created_by: Option<Uuid>,
    pub last_received_at: Option<OffsetDateTime>,
    /// Whether Grafana deliveries must carry a valid signature (the secret is never shown).
    pub signed: bool,
    /// The header Grafana sends the signed timestamp in, when it is configured to.
    pub timestamp_header: Option<String>,
    /// The team its alerts page when no routing rule names one.
    pub team_id: Option<Uuid>,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What a key opens: the integration and its kind (a door takes only its own kind),
/// and what a Grafana delivery's signature is checked with.
#[derive(Clone, PartialEq, Eq)]
pub struct LiveIntegration {
    pub id: Uuid,
    pub kind: IntegrationKind,
    pub signing_secret: Option<String>,
    pub timestamp_header: Option<String>,
}

impl std::fmt::Debug for LiveIntegration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveIntegration")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("signed", &self.signing_secret.is_some())
            .finish()
    }
}

/// A statement yielding whole integration rows; `$before` and `$after` go either side of
/// the column list.
macro_rules! integration_rows {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            IntegrationRow,
            $before
                + r#"id, name, kind AS "kind: IntegrationKind",
                     default_urgency AS "default_urgency: AlertUrgency",
                     default_severity AS "default_severity: AlertSeverity",
                     created_by, last_received_at, signing_secret IS NOT NULL AS "signed!",
                     timestamp_header, team_id, version, created_at, updated_at "#
                + $after
            $(, $arg)*
        )
    };
}

/// One integration.
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<IntegrationRow>> {
    integration_rows!("SELECT ", "FROM integrations WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// Every integration, by name (there are few).
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<IntegrationRow>> {
    integration_rows!("SELECT ", "FROM integrations ORDER BY lower(name), id")
        .fetch_all(db)
        .await
}

async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<IntegrationRow, CommandError> {
    integration_rows!("SELECT ", "FROM integrations WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await?
        .ok_or(CommandError::NotFound)
}

/// Note that `id` received something at `at` (kept only when it is later).
pub async fn touch(db: impl PgExecutor<'_>, id: Uuid, at: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE integrations SET last_received_at = $2 \
         WHERE id = $1 AND (last_received_at IS NULL OR last_received_at < $2)",
        id,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Tell every process, at commit, that what a key opens may have changed (their key
/// caches forget).
async fn changed(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!(
        "SELECT pg_notify($1, '')",
        crate::platform::live::INTEGRATIONS
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An integration's name: trimmed, 1 to 100 characters, one line.
fn check_name(raw: &str) -> Result<&str, CommandError> {
    Ok(text::NAME.trimmed("name", raw, "The name cannot be empty.")?)
}

fn refused(err: sqlx::Error, name: &str) -> CommandError {
    let violated = crate::platform::db::violated_constraint(&err);
    if violated == Some("integrations_name_key") {
        CommandError::invalid(
            "name",
            format!("An integration called \"{name}\" exists already."),
        )
    } else if violated == Some("integrations_team_id_fkey") {
        CommandError::invalid("team_id", "There is no such team.")
    } else {
        err.into()
    }
}

/// What a new integration is made of.
pub struct NewIntegration<'a> {
    pub name: &'a str,
    pub kind: IntegrationKind,
    pub default_urgency: AlertUrgency,
    pub default_severity: AlertSeverity,
    pub team_id: Option<Uuid>,
}

/// An integration with the key that opens it, shown this once.
pub struct WithKey {
    pub integration: IntegrationRow,
    pub key: String,
}

/// Create an integration and its first key.
#[tracing::instrument(skip_all, fields(kind = %new.kind))]
pub async fn create(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    new: NewIntegration<'_>,
) -> Result<WithKey, CommandError> {
    let name = check_name(new.name)?;
    let integration = integration_rows!(
        "INSERT INTO integrations (id, name, kind, default_urgency, default_severity, created_by, \
             team_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        "",
        Uuid::new_v4(),
        name,
        new.kind as IntegrationKind,
        new.default_urgency as AlertUrgency,
        new.default_severity as AlertSeverity,
        actor,
        new.team_id
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| refused(e, name))?;
    let key = keys::generate();
    keys::insert(&mut *conn, integration.id, &key).await?;
    let action = AuditAction::IntegrationCreated {
        integration_id: integration.id,
        name: integration.name.clone(),
        kind: integration.kind.as_str().to_owned(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(WithKey { integration, key })
}

/// The integration Fireline's own monitors raise their alerts through (`builtin` says
/// which, e.g. `heartbeats`), made the first time it is needed, named `name` (or, if an
/// integration has that name, `name (Fireline)`). Admins route, rename or re-default it
/// like any other.
pub async fn builtin(conn: &mut PgConnection, builtin: &str, name: &str) -> sqlx::Result<Uuid> {
    for candidate in [name.to_owned(), format!("{name} (Fireline)")] {
        let made = sqlx::query_scalar!(
            "INSERT INTO integrations (id, name, kind, builtin) VALUES ($1, $2, 'generic', $3) \
             ON CONFLICT DO NOTHING RETURNING id",
            Uuid::new_v4(),
            candidate,
            builtin
        )
        .fetch_optional(&mut *conn)
        .await?;
        let found = match made {
            Some(id) => Some(id),
            None => {
                sqlx::query_scalar!("SELECT id FROM integrations WHERE builtin = $1", builtin)
                    .fetch_optional(&mut *conn)
                    .await?
            }
        };
        if let Some(id) = found {
            return Ok(id);
        }
    }
    Err(sqlx::Error::RowNotFound)
}

/// New settings of an integration; `None` keeps the current value.
#[derive(Default)]
pub struct IntegrationChanges {
    pub name: Option<String>,
    pub default_urgency: Option<AlertUrgency>,
    pub default_severity: Option<AlertSeverity>,
    /// Grafana's signature: `Some(None)` turns the check off.
    pub signing: Option<Option<Signing>>,
    /// `Some(None)`: no team of its own.
    pub team_id: Option<Option<Uuid>>,
}

/// What a Grafana integration checks signatures with.
pub struct Signing {
    pub secret: String,
    /// The header of the signed timestamp, if Grafana is configured to send one.
    pub timestamp_header: Option<String>,
}

/// A signing secret: 1 to [`SECRET_MAX`] characters, kept as given (Grafana uses its
/// bytes as the key); a timestamp header: a valid header name.
fn check_signing(kind: IntegrationKind, signing: &Signing) -> Result<(), CommandError> {
    if kind != IntegrationKind::Grafana {
        return Err(CommandError::invalid(
            "signing_secret",
            "Only Grafana integrations check signatures.",
        ));
    }
    if signing.secret.is_empty() || signing.secret.len() > SECRET_MAX {
        return Err(CommandError::invalid(
            "signing_secret",
            format!("The signing secret has 1 to {SECRET_MAX} characters."),
        ));
    }
    if let Some(name) = &signing.timestamp_header {
        if name.len() > 100 || axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(CommandError::invalid(
                "timestamp_header",
                "The timestamp header is not a valid header name of at most 100 characters.",
            ));
        }
    }
    Ok(())
}

/// Change an integration read at `version`; a stale version is refused.
#[tracing::instrument(skip_all, fields(integration_id = %id))]
pub async fn update(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    version: i32,
    change: IntegrationChanges,
) -> Result<IntegrationRow, CommandError> {
    let current = lock(&mut *conn, id).await?;
    CommandError::unless_version(version, current.version)?;
    let name = check_name(change.name.as_deref().unwrap_or(&current.name))?;
    let urgency = change.default_urgency.unwrap_or(current.default_urgency);
    let severity = change.default_severity.unwrap_or(current.default_severity);
    if let Some(Some(signing)) = &change.signing {
        check_signing(current.kind, signing)?;
    }
    let (change_signing, secret, timestamp_header) = match change.signing {
        None => (false, None, None),
        Some(None) => (true, None, None),
        Some(Some(s)) => (true, Some(s.secret), s.timestamp_header),
    };
    let row = integration_rows!(
        "UPDATE integrations SET name = $2, default_urgency = $3, default_severity = $4, \
             signing_secret = CASE WHEN $5 THEN $6 ELSE signing_secret END, \
             timestamp_header = CASE WHEN $5 THEN $7 ELSE timestamp_header END, \
             team_id = $8, version = version + 1, updated_at = now() \
         WHERE id = $1 RETURNING ",
        "",
        id,
        name,
        urgency as AlertUrgency,
        severity as AlertSeverity,
        change_signing,
        secret,
        timestamp_header,
        change.team_id.unwrap_or(current.team_id)
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| refused(e, name))?;
    let action = AuditAction::IntegrationUpdated {
        integration_id: id,
        name: row.name.clone(),
        default_urgency: urgency.as_str().to_owned(),
        default_severity: severity.as_str().to_owned(),
        signed: row.signed,
        team_id: row.team_id,
    };
    audit::log(&mut *conn, actor, &action).await?;
    changed(&mut *conn).await?;
    Ok(row)
}

/// The longest a rotated-out key keeps working: a week.
pub const MAX_GRACE_MINUTES: u32 = 7 * 24 * 60;

/// Give an integration a new key. The old one keeps working for `grace_minutes` (0: it
/// stops now), so senders can be moved over without losing alerts.
#[tracing::instrument(skip_all, fields(integration_id = %id))]
pub async fn rotate_key(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    grace_minutes: u32,
) -> Result<WithKey, CommandError> {
    if grace_minutes > MAX_GRACE_MINUTES {
        return Err(CommandError::invalid(
            "grace_minutes",
            format!("The grace period is at most {MAX_GRACE_MINUTES} minutes (a week)."),
        ));
    }
    let integration = lock(&mut *conn, id).await?;
    let grace = time::Duration::minutes(i64::from(grace_minutes));
    keys::retire(&mut *conn, id, grace).await?;
    let key = keys::generate();
    keys::insert(&mut *conn, id, &key).await?;
    let action = AuditAction::IntegrationKeyRotated {
        integration_id: id,
        grace_minutes,
    };
    audit::log(&mut *conn, actor, &action).await?;
    changed(&mut *conn).await?;
    Ok(WithKey { integration, key })
}

/// Delete an integration with its keys, groups, alerts and queued deliveries.
#[tracing::instrument(skip_all, fields(integration_id = %id))]
pub async fn delete(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<IntegrationRow, CommandError> {
    let integration = lock(&mut *conn, id).await?;
    sqlx::query!("DELETE FROM integrations WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    let action = AuditAction::IntegrationDeleted {
        integration_id: id,
        name: integration.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    changed(&mut *conn).await?;
    Ok(integration)
}
