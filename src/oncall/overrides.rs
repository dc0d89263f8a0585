//! Overrides: someone covers a team for a while (a holiday swap, an appointment); an
//! override comes before taken duty and the rotation.

use sqlx::{PgConnection, PgExecutor};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::model::OverrideRow;
use super::teams;
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::text;

/// A new override.
#[derive(Debug, Clone)]
pub struct NewOverride {
    pub user_id: Uuid,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub reason: Option<String>,
}

/// The longest override: a quarter.
const OVERRIDE_MAX: Duration = Duration::days(92);

/// `user_id` covers the team from `starts_at` to `ends_at`.
#[tracing::instrument(skip_all, fields(team_id = %team_id))]
pub async fn add_override(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    team_id: Uuid,
    new: NewOverride,
    now: OffsetDateTime,
) -> Result<Uuid, CommandError> {
    let team = teams::lock(&mut *conn, team_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if teams::enabled_users(&mut *conn, &[new.user_id])
        .await?
        .is_empty()
    {
        return Err(CommandError::invalid(
            "user_id",
            format!("There is no enabled user {}.", new.user_id),
        ));
    }
    if new.ends_at <= new.starts_at {
        return Err(CommandError::invalid(
            "ends_at",
            "An override ends after it starts.",
        ));
    }
    if new.ends_at <= now {
        return Err(CommandError::invalid(
            "ends_at",
            "That override would be over already.",
        ));
    }
    if new.ends_at - new.starts_at > OVERRIDE_MAX {
        return Err(CommandError::invalid(
            "ends_at",
            "An override lasts at most 92 days.",
        ));
    }
    let reason = new
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(reason) = reason {
        text::REASON.check("reason", reason)?;
    }
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO duty_overrides (id, team_id, user_id, starts_at, ends_at, reason, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        team.id,
        new.user_id,
        new.starts_at,
        new.ends_at,
        reason,
        actor
    )
    .execute(&mut *conn)
    .await?;
    let action = AuditAction::DutyOverrideAdded {
        override_id: id,
        team_id,
        user_id: new.user_id,
        starts_at: crate::platform::time::rfc3339(new.starts_at),
        ends_at: crate::platform::time::rfc3339(new.ends_at),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(id)
}

/// The team of an override.
pub async fn override_team(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!("SELECT team_id FROM duty_overrides WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// Remove an override.
#[tracing::instrument(skip_all, fields(override_id = %id))]
pub async fn remove_override(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<(), CommandError> {
    let removed = sqlx::query!(
        "DELETE FROM duty_overrides WHERE id = $1 RETURNING team_id",
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CommandError::NotFound)?;
    let action = AuditAction::DutyOverrideRemoved {
        override_id: id,
        team_id: removed.team_id,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}

/// The team's overrides that have not ended, the soonest first.
pub async fn overrides(
    db: impl PgExecutor<'_>,
    team_id: Uuid,
    now: OffsetDateTime,
) -> sqlx::Result<Vec<OverrideRow>> {
    sqlx::query_as!(
        OverrideRow,
        "SELECT o.id, o.team_id, o.user_id, u.name AS user_name, o.starts_at, o.ends_at, o.reason,
                o.created_by, o.created_at
         FROM duty_overrides o JOIN users u ON u.id = o.user_id
         WHERE o.team_id = $1 AND o.ends_at > $2 ORDER BY o.starts_at, o.id",
        team_id,
        now
    )
    .fetch_all(db)
    .await
}
