//! The `teams` and `team_members` tables.

use sqlx::{PgConnection, PgExecutor};
use time::{Date, Time};
use uuid::Uuid;

use super::model::{MemberRow, RotationInterval, TeamRow};

/// A statement yielding whole team rows; `$after` follows `FROM teams`.
macro_rules! team_rows {
    ($after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            TeamRow,
            r#"SELECT id, name, escalation_policy_id,
                      rotation_interval AS "rotation_interval: RotationInterval",
                      rotation_handoff, rotation_time_zone, rotation_starts_on,
                      rotation_user_ids, work_days, work_starts, work_ends, work_time_zone,
                      acked_mode_minutes, version, created_at, updated_at
               FROM teams "# + $after
            $(, $arg)*
        )
    };
}

/// The columns a command writes.
pub struct TeamFields<'a> {
    pub name: &'a str,
    pub escalation_policy_id: Option<Uuid>,
    pub rotation_interval: Option<RotationInterval>,
    pub rotation_handoff: Option<Time>,
    pub rotation_time_zone: Option<&'a str>,
    pub rotation_starts_on: Option<Date>,
    pub rotation_user_ids: &'a [Uuid],
    pub work_days: &'a [i16],
    pub work_starts: Time,
    pub work_ends: Time,
    pub work_time_zone: &'a str,
    pub acked_mode_minutes: i32,
}

pub async fn insert(db: impl PgExecutor<'_>, id: Uuid, t: &TeamFields<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO teams (id, name, escalation_policy_id, rotation_interval, rotation_handoff,
                            rotation_time_zone, rotation_starts_on, rotation_user_ids, work_days,
                            work_starts, work_ends, work_time_zone, acked_mode_minutes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        id,
        t.name,
        t.escalation_policy_id,
        t.rotation_interval as Option<RotationInterval>,
        t.rotation_handoff,
        t.rotation_time_zone,
        t.rotation_starts_on,
        t.rotation_user_ids,
        t.work_days,
        t.work_starts,
        t.work_ends,
        t.work_time_zone,
        t.acked_mode_minutes
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn update(db: impl PgExecutor<'_>, id: Uuid, t: &TeamFields<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE teams SET name = $2, escalation_policy_id = $3, rotation_interval = $4,
                rotation_handoff = $5, rotation_time_zone = $6, rotation_starts_on = $7,
                rotation_user_ids = $8, work_days = $9, work_starts = $10, work_ends = $11,
                work_time_zone = $12, acked_mode_minutes = $13, version = version + 1,
                updated_at = now()
         WHERE id = $1",
        id,
        t.name,
        t.escalation_policy_id,
        t.rotation_interval as Option<RotationInterval>,
        t.rotation_handoff,
        t.rotation_time_zone,
        t.rotation_starts_on,
        t.rotation_user_ids,
        t.work_days,
        t.work_starts,
        t.work_ends,
        t.work_time_zone,
        t.acked_mode_minutes
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<TeamRow>> {
    team_rows!("WHERE id = $1", id).fetch_optional(db).await
}

/// The team, locked for a change.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<TeamRow>> {
    team_rows!("WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await
}

pub async fn find_by_name(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<Option<TeamRow>> {
    team_rows!("WHERE lower(name) = lower($1)", name)
        .fetch_optional(db)
        .await
}

/// Every team, by name.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<TeamRow>> {
    team_rows!("ORDER BY lower(name), id").fetch_all(db).await
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM teams WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The members of the given teams, by name.
pub async fn members_of(
    db: impl PgExecutor<'_>,
    team_ids: &[Uuid],
) -> sqlx::Result<Vec<MemberRow>> {
    sqlx::query_as!(
        MemberRow,
        r#"SELECT m.team_id, u.id AS user_id, u.name, u.email,
                  u.disabled_at IS NOT NULL AS "disabled!"
           FROM team_members m JOIN users u ON u.id = m.user_id
           WHERE m.team_id = ANY($1)
           ORDER BY lower(u.name), u.id"#,
        team_ids
    )
    .fetch_all(db)
    .await
}

/// Make `user_ids` the team's members: add the new ones, remove the others.
pub async fn set_members(
    conn: &mut PgConnection,
    team_id: Uuid,
    user_ids: &[Uuid],
) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM team_members WHERE team_id = $1 AND NOT user_id = ANY($2)",
        team_id,
        user_ids
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO team_members (team_id, user_id) SELECT $1, unnest($2::uuid[])
         ON CONFLICT DO NOTHING",
        team_id,
        user_ids
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Which of `user_ids` are enabled accounts.
pub async fn enabled_users(db: impl PgExecutor<'_>, user_ids: &[Uuid]) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        "SELECT id FROM users WHERE id = ANY($1) AND disabled_at IS NULL",
        user_ids
    )
    .fetch_all(db)
    .await
}
