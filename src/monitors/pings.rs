//! A ping, as the Healthchecks API sends it: success, start, fail (or an exit status),
//! log. Each is recorded with what it carried; then success brings the heartbeat up
//! (resolving its alert) and sets its timers from the schedule, start gives the run its
//! grace time to finish, fail takes it down at once, and log changes nothing. A paused
//! heartbeat records pings and stays paused.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::heartbeats::{heartbeat_rows, set_timers, HeartbeatRow, HeartbeatState};
use crate::platform::labelled_enum;
use serde::{Deserialize, Serialize};

labelled_enum!(
    /// What a ping says.
    PingKind, "heartbeat_ping_kind" {
        Success => "success", "Success";
        Start => "start", "Started";
        Fail => "fail", "Failed";
        Log => "log", "Log";
    }
);

/// The most of a ping's body that is kept (as Healthchecks keeps).
pub const BODY_MAX: usize = 100_000;

/// One ping as received.
#[derive(Debug, Clone)]
pub struct Ping {
    pub kind: PingKind,
    pub exit_status: Option<i32>,
    pub rid: Option<Uuid>,
    pub method: String,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
    pub body: String,
}

impl Ping {
    /// From the path's last part: none (success), `start`, `fail`, `log`, or an exit
    /// status 0–255 (0 succeeds, the rest fail). `None` for anything else.
    pub fn kind_of(action: Option<&str>) -> Option<(PingKind, Option<i32>)> {
        match action {
            None => Some((PingKind::Success, None)),
            Some("start") => Some((PingKind::Start, None)),
            Some("fail") => Some((PingKind::Fail, None)),
            Some("log") => Some((PingKind::Log, None)),
            Some(raw) => {
                let status: i32 = raw.parse().ok().filter(|s| (0..=255).contains(s))?;
                let kind = if status == 0 {
                    PingKind::Success
                } else {
                    PingKind::Fail
                };
                Some((kind, Some(status)))
            }
        }
    }
}

/// Keep at most [`BODY_MAX`] bytes of `body`, cut at a character boundary.
pub fn kept_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(BODY_MAX)]).into_owned();
    if body.len() > BODY_MAX {
        // The cut may have split the last character.
        text.strip_suffix('\u{FFFD}').unwrap_or(&text).to_owned()
    } else {
        text
    }
}

/// Record a ping for the heartbeat whose ping key is `key`; `None` when there is none.
pub async fn record(
    conn: &mut PgConnection,
    key: Uuid,
    ping: Ping,
    at: OffsetDateTime,
) -> sqlx::Result<Option<HeartbeatState>> {
    let found = heartbeat_rows!(
        "SELECT ",
        "FROM heartbeats WHERE ping_key = $1 FOR UPDATE",
        key
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(hb) = found else { return Ok(None) };
    let duration_ms = match ping.kind {
        PingKind::Success | PingKind::Fail => run_started(conn, &hb, ping.rid)
            .await?
            .map(|started| (at - started).whole_milliseconds() as i64)
            .filter(|ms| *ms >= 0),
        PingKind::Start | PingKind::Log => None,
    };
    sqlx::query!(
        "INSERT INTO heartbeat_pings (heartbeat_id, kind, exit_status, rid, duration_ms, \
             method, remote_addr, user_agent, body, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        hb.id,
        ping.kind as PingKind,
        ping.exit_status,
        ping.rid,
        duration_ms,
        ping.method,
        ping.remote_addr,
        ping.user_agent,
        ping.body,
        at
    )
    .execute(&mut *conn)
    .await?;
    if hb.state == HeartbeatState::Paused || ping.kind == PingKind::Log {
        return Ok(Some(hb.state));
    }
    let state = match ping.kind {
        PingKind::Start => {
            let finish_by = at + hb.grace();
            let down_at = hb.down_at.map_or(finish_by, |d| d.min(finish_by));
            sqlx::query!(
                "UPDATE heartbeats SET started_at = $2, down_at = $3, updated_at = now() \
                 WHERE id = $1",
                hb.id,
                at,
                down_at
            )
            .execute(&mut *conn)
            .await?;
            hb.state
        }
        PingKind::Success => {
            let (late_at, down_at) = hb.timers_after(at);
            finished(conn, &hb, at, duration_ms).await?;
            set_timers(&mut *conn, hb.id, HeartbeatState::Up, late_at, down_at).await?;
            super::alerting::resolve(conn, &hb, at, "is up again").await?;
            HeartbeatState::Up
        }
        PingKind::Fail => {
            finished(conn, &hb, at, duration_ms).await?;
            set_timers(&mut *conn, hb.id, HeartbeatState::Down, None, None).await?;
            let why = match ping.exit_status {
                Some(status) => format!("The job failed with exit status {status}."),
                None => "The job reported a failure.".to_owned(),
            };
            super::alerting::raise(conn, &hb, why, at).await?;
            HeartbeatState::Down
        }
        PingKind::Log => hb.state,
    };
    Ok(Some(state))
}

/// When the run a finish ends began: the start with the same `rid`, else the start
/// without a finish.
async fn run_started(
    conn: &mut PgConnection,
    hb: &HeartbeatRow,
    rid: Option<Uuid>,
) -> sqlx::Result<Option<OffsetDateTime>> {
    match rid {
        Some(rid) => {
            sqlx::query_scalar!(
                "SELECT received_at FROM heartbeat_pings \
                 WHERE heartbeat_id = $1 AND kind = 'start' AND rid = $2 \
                 ORDER BY id DESC LIMIT 1",
                hb.id,
                rid
            )
            .fetch_optional(conn)
            .await
        }
        None => Ok(hb.started_at),
    }
}

async fn finished(
    conn: &mut PgConnection,
    hb: &HeartbeatRow,
    at: OffsetDateTime,
    duration_ms: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE heartbeats SET last_ping_at = $2, started_at = NULL, \
             last_duration_ms = coalesce($3, last_duration_ms) \
         WHERE id = $1",
        hb.id,
        at,
        duration_ms
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A heartbeat's latest pings, newest first.
#[derive(Debug, Clone)]
pub struct PingRow {
    pub kind: PingKind,
    pub exit_status: Option<i32>,
    pub rid: Option<Uuid>,
    pub duration_ms: Option<i64>,
    pub method: String,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
    pub body: String,
    pub received_at: OffsetDateTime,
}

pub async fn latest(
    db: impl sqlx::PgExecutor<'_>,
    heartbeat_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<PingRow>> {
    sqlx::query_as!(
        PingRow,
        r#"SELECT kind AS "kind: PingKind", exit_status, rid, duration_ms, method, remote_addr,
                  user_agent, body, received_at
           FROM heartbeat_pings WHERE heartbeat_id = $1 ORDER BY id DESC LIMIT $2"#,
        heartbeat_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// The pings kept of each heartbeat (older ones are pruned).
pub const KEPT_PER_HEARTBEAT: i64 = 1000;

/// Forget each heartbeat's pings beyond its latest `keep`.
pub async fn prune(db: impl sqlx::PgExecutor<'_>, keep: i64) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM heartbeat_pings p USING ( \
             SELECT id FROM (SELECT id, row_number() OVER \
                 (PARTITION BY heartbeat_id ORDER BY id DESC) AS n FROM heartbeat_pings) r \
             WHERE r.n > $1) old \
         WHERE p.id = old.id",
        keep
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
