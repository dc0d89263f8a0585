//! The `pages`, `page_events` and `page_recipients` tables.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::model::{PageEventRow, PageRow, PageState, RecipientRow};
use crate::oncall::policies::Step;

struct Stored {
    id: Uuid,
    number: i64,
    alert_group_id: Uuid,
    group_number: i64,
    group_title: String,
    team_id: Option<Uuid>,
    team_name: Option<String>,
    policy_id: Option<Uuid>,
    steps: serde_json::Value,
    repeat: i32,
    state: PageState,
    step_index: i32,
    round: i32,
    due_at: Option<OffsetDateTime>,
    countdown_target: Option<String>,
    started_at: OffsetDateTime,
    acknowledged_by: Option<Uuid>,
    acknowledged_by_name: Option<String>,
    acknowledged_at: Option<OffsetDateTime>,
    acknowledged_via: Option<String>,
    ended_at: Option<OffsetDateTime>,
}

impl From<Stored> for PageRow {
    fn from(p: Stored) -> Self {
        PageRow {
            // Written by this capability from checked steps.
            steps: serde_json::from_value::<Vec<Step>>(p.steps).unwrap_or_default(),
            id: p.id,
            number: p.number,
            alert_group_id: p.alert_group_id,
            group_number: p.group_number,
            group_title: p.group_title,
            team_id: p.team_id,
            team_name: p.team_name,
            policy_id: p.policy_id,
            repeat: p.repeat,
            state: p.state,
            step_index: p.step_index,
            round: p.round,
            due_at: p.due_at,
            countdown_target: p.countdown_target,
            started_at: p.started_at,
            acknowledged_by: p.acknowledged_by,
            acknowledged_by_name: p.acknowledged_by_name,
            acknowledged_at: p.acknowledged_at,
            acknowledged_via: p.acknowledged_via,
            ended_at: p.ended_at,
        }
    }
}

/// A statement yielding whole page rows; `$after` follows the joins.
macro_rules! page_rows {
    ($after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Stored,
            r#"SELECT p.id, p.number, p.alert_group_id, g.number AS group_number,
                      g.title AS group_title, p.team_id, t.name AS "team_name?", p.policy_id,
                      p.steps, p.repeat, p.state AS "state: PageState", p.step_index, p.round,
                      p.due_at, p.countdown_target, p.started_at, p.acknowledged_by,
                      u.name AS "acknowledged_by_name?", p.acknowledged_at, p.acknowledged_via,
                      p.ended_at
               FROM pages p
               JOIN alert_groups g ON g.id = p.alert_group_id
               LEFT JOIN teams t ON t.id = p.team_id
               LEFT JOIN users u ON u.id = p.acknowledged_by "# + $after
            $(, $arg)*
        )
    };
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<PageRow>> {
    Ok(page_rows!("WHERE p.id = $1", id)
        .fetch_optional(db)
        .await?
        .map(PageRow::from))
}

/// The id of `PAGE-{number}`.
pub async fn id_by_number(db: impl PgExecutor<'_>, number: i64) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!("SELECT id FROM pages WHERE number = $1", number)
        .fetch_optional(db)
        .await
}

/// The page, locked for a step or an acknowledgement. Lock its group first.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<PageRow>> {
    Ok(page_rows!("WHERE p.id = $1 FOR UPDATE OF p", id)
        .fetch_optional(conn)
        .await?
        .map(PageRow::from))
}

/// The group's running page, if any.
pub async fn running_of_group(
    db: impl PgExecutor<'_>,
    group_id: Uuid,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "SELECT id FROM pages WHERE alert_group_id = $1 AND state IN ('counting_down', 'paging')",
        group_id
    )
    .fetch_optional(db)
    .await
}

/// The group's page still waiting for an acknowledgement: running, or every step ran.
pub async fn unanswered_of_group(
    db: impl PgExecutor<'_>,
    group_id: Uuid,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "SELECT id FROM pages WHERE alert_group_id = $1
           AND state IN ('counting_down', 'paging', 'exhausted')
         ORDER BY started_at DESC, id LIMIT 1",
        group_id
    )
    .fetch_optional(db)
    .await
}

/// The latest page of each of `group_ids` (for the Alerts page).
pub async fn latest_of_groups(
    db: impl PgExecutor<'_>,
    group_ids: &[Uuid],
) -> sqlx::Result<Vec<PageRow>> {
    let rows = page_rows!(
        "WHERE p.id IN (SELECT DISTINCT ON (alert_group_id) id FROM pages
                        WHERE alert_group_id = ANY($1)
                        ORDER BY alert_group_id, started_at DESC, id)",
        group_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(PageRow::from).collect())
}

/// Pages, the newest first; only those in `states` when it is not empty, only the team's
/// when `team_id` is given, and after the keyset cursor `(started_at, id)` when given.
pub async fn list(
    db: impl PgExecutor<'_>,
    states: &[PageState],
    team_id: Option<Uuid>,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<PageRow>> {
    let (at, id) = after.unzip();
    let rows = page_rows!(
        "WHERE (cardinality($1::page_state[]) = 0 OR p.state = ANY($1))
           AND ($2::uuid IS NULL OR p.team_id = $2)
           AND ($3::timestamptz IS NULL OR (p.started_at, p.id) < ($3, $4))
         ORDER BY p.started_at DESC, p.id DESC LIMIT $5",
        states as &[PageState],
        team_id,
        at,
        id,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(PageRow::from).collect())
}

/// A new page.
pub struct NewPageRow<'a> {
    pub alert_group_id: Uuid,
    pub team_id: Option<Uuid>,
    pub policy_id: Option<Uuid>,
    pub steps: &'a [Step],
    pub repeat: i32,
    pub state: PageState,
    pub started_at: OffsetDateTime,
}

pub async fn insert(conn: &mut PgConnection, new: NewPageRow<'_>) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    let ended = (!new.state.running()).then_some(new.started_at);
    sqlx::query!(
        "INSERT INTO pages (id, alert_group_id, team_id, policy_id, steps, repeat, state,
                            due_at, started_at, ended_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        id,
        new.alert_group_id,
        new.team_id,
        new.policy_id,
        serde_json::to_value(new.steps).unwrap_or_default(),
        new.repeat,
        new.state as PageState,
        new.started_at,
        ended
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Where a page is after a step.
pub struct Progress<'a> {
    pub state: PageState,
    pub step_index: i32,
    pub round: i32,
    pub due_at: Option<OffsetDateTime>,
    pub countdown_target: Option<&'a str>,
    pub ended_at: Option<OffsetDateTime>,
}

pub async fn save_progress(conn: &mut PgConnection, id: Uuid, p: Progress<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE pages SET state = $2, step_index = $3, round = $4, due_at = $5,
                countdown_target = $6, ended_at = $7
         WHERE id = $1",
        id,
        p.state as PageState,
        p.step_index,
        p.round,
        p.due_at,
        p.countdown_target,
        p.ended_at
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_acknowledged(
    conn: &mut PgConnection,
    id: Uuid,
    by: Option<Uuid>,
    via: &str,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE pages SET state = 'acknowledged', acknowledged_by = $2, acknowledged_via = $3,
                acknowledged_at = $4, ended_at = $4, due_at = NULL, countdown_target = NULL
         WHERE id = $1",
        id,
        by,
        via,
        at
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_muted_by(
    conn: &mut PgConnection,
    id: Uuid,
    by_page: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE pages SET muted_by_page_id = $2 WHERE id = $1",
        id,
        by_page
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn record(
    conn: &mut PgConnection,
    page_id: Uuid,
    at: OffsetDateTime,
    kind: &str,
    body: &str,
    user_id: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO page_events (page_id, at, kind, body, user_id) VALUES ($1, $2, $3, $4, $5)",
        page_id,
        at,
        kind,
        body,
        user_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn events(db: impl PgExecutor<'_>, page_id: Uuid) -> sqlx::Result<Vec<PageEventRow>> {
    sqlx::query_as!(
        PageEventRow,
        "SELECT at, kind, body, user_id FROM page_events WHERE page_id = $1 ORDER BY id",
        page_id
    )
    .fetch_all(db)
    .await
}

/// Record that `user_ids` were paged; those paged already by this page are left out.
/// Returns the ones newly paged.
pub async fn add_recipients(
    conn: &mut PgConnection,
    page_id: Uuid,
    user_ids: &[Uuid],
    reason: &str,
    at: OffsetDateTime,
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        "INSERT INTO page_recipients (page_id, user_id, paged_at, reason)
         SELECT $1, unnest($2::uuid[]), $3, $4
         ON CONFLICT DO NOTHING RETURNING user_id",
        page_id,
        user_ids,
        at,
        reason
    )
    .fetch_all(conn)
    .await
}

pub async fn recipients(db: impl PgExecutor<'_>, page_id: Uuid) -> sqlx::Result<Vec<RecipientRow>> {
    sqlx::query_as!(
        RecipientRow,
        "SELECT r.user_id, u.name, r.paged_at, r.reason
         FROM page_recipients r JOIN users u ON u.id = r.user_id
         WHERE r.page_id = $1 ORDER BY r.paged_at, u.name",
        page_id
    )
    .fetch_all(db)
    .await
}
