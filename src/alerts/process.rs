//! The processor: applies the deliveries the front doors queued, group by group.
//!
//! Safe with any number of processes on one database: a group is applied only under its
//! advisory lock (`pg_try_advisory_xact_lock`; a group locked elsewhere is skipped this
//! round), its pending rows are read again after the lock is taken and applied in id
//! order, each in a savepoint, and the applied rows are deleted in the same transaction.
//! So no row is applied twice or out of order, and the unique index of open groups backs
//! this up. A row that fails is retried with backoff while the rows after it wait; after
//! [`MAX_ATTEMPTS`] it is marked failed (kept, never lost) and the rest go on.
//! Routing rules are read once per round, for all the groups it applies. A round applies
//! all its groups in one transaction; only when that fails does it go group by group,
//! with savepoints, so the failing delivery is found and retried alone.
//! A delivery whose digest (computed at the door) is its open group's is a repeat and
//! is applied by one statement without reading its body; most of a storm is repeats.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rand::Rng;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::integrations::{self, IntegrationRow};
use super::routing::{self, CompiledRules};
use super::{grouping, groups, queue};
use crate::platform::live::Wakeup;

/// The channel notified after a round applied something (live views of alerts).
pub const APPLIED_CHANNEL: &str = crate::platform::live::ALERTS;
/// How often queued deliveries are looked for without a notification (retries, a
/// notification missed while the listener reconnected).
const TICK: Duration = Duration::from_secs(1);
/// How long the processor waits after a wake-up before it looks, so a burst is applied
/// in a few large rounds.
const GATHER: Duration = Duration::from_millis(100);
/// A delivery that failed this often is marked failed.
pub const MAX_ATTEMPTS: i32 = 10;
/// How many groups one round looks at.
const ROUND_GROUPS: i64 = 200;
/// How often at most a processor that deleted applied rows vacuums the queue: its rows
/// live for milliseconds, and the dead ones would otherwise slow every look at it until
/// autovacuum comes by.
const VACUUM_EVERY: Duration = Duration::from_secs(5);
/// How many deliveries one batch applies at most, so its transaction stays short and a
/// person's acknowledge never waits long behind it.
const BATCH_ROWS: i64 = 250;

/// What one or more rounds did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Deliveries applied (and removed from the queue).
    pub applied: u64,
    /// Deliveries that failed this time (retried later, or marked failed).
    pub failed: u64,
    /// Groups left alone because another process held them.
    pub busy: u64,
}

impl std::ops::AddAssign for Report {
    fn add_assign(&mut self, other: Report) {
        self.applied += other.applied;
        self.failed += other.failed;
        self.busy += other.busy;
    }
}

/// Apply queued deliveries until none is due that this process can take.
pub async fn apply_pending(pool: &PgPool) -> sqlx::Result<Report> {
    let mut total = Report::default();
    loop {
        let round = round(pool).await?;
        total += round;
        if round.applied == 0 && round.failed == 0 {
            return Ok(total);
        }
    }
}

/// One pass over the groups with due deliveries, oldest first: all of them in one
/// transaction when that works (the common case, a storm of repeats), and group by
/// group, each delivery in a savepoint, when it does not.
async fn round(pool: &PgPool) -> sqlx::Result<Report> {
    let due = sqlx::query!(
        r#"SELECT integration_id AS "integration_id!", group_key AS "group_key!"
           FROM alert_intake WHERE state = 'pending' AND next_attempt_at <= now()
           GROUP BY integration_id, group_key ORDER BY min(id) LIMIT $1"#,
        ROUND_GROUPS
    )
    .fetch_all(pool)
    .await?;
    if due.is_empty() {
        return Ok(Report::default());
    }
    // Read once per round: a rule saved meanwhile routes from the next round on.
    let rules = routing::store::load_enabled(pool).await?;
    let mut groups: Vec<(Uuid, String)> = due
        .into_iter()
        .map(|g| (g.integration_id, g.group_key))
        .collect();
    groups.sort();
    let report = match apply_together(pool, &rules, &groups).await {
        Ok(report) => report,
        Err(err) => {
            // Nothing of the batch is kept; each group again on its own, so a delivery
            // that fails is retried alone and the others go on.
            tracing::debug!(error = %format!("{err:#}"), "a batch of alert deliveries failed; applying group by group");
            let mut report = Report::default();
            for (integration_id, group_key) in &groups {
                report += apply_group(pool, &rules, *integration_id, group_key).await?;
            }
            report
        }
    };
    if report.applied > 0 {
        sqlx::query!("SELECT pg_notify($1, '')", APPLIED_CHANNEL)
            .execute(pool)
            .await?;
    }
    Ok(report)
}

/// Apply the due deliveries of `groups` (sorted) in one transaction without savepoints;
/// any failure undoes the whole batch.
async fn apply_together(
    pool: &PgPool,
    rules: &CompiledRules,
    groups: &[(Uuid, String)],
) -> anyhow::Result<Report> {
    let mut tx = pool.begin().await?;
    match apply_batch(&mut tx, rules, groups).await {
        Ok(report) => {
            tx.commit().await?;
            Ok(report)
        }
        Err(err) => {
            // Roll back now, not when the connection is next used: the group locks must
            // be gone before the groups are taken one by one on other connections.
            tx.rollback().await?;
            Err(err)
        }
    }
}

async fn apply_batch(
    tx: &mut PgConnection,
    rules: &CompiledRules,
    groups: &[(Uuid, String)],
) -> anyhow::Result<Report> {
    let (integration_ids, group_keys): (Vec<Uuid>, Vec<String>) = groups.iter().cloned().unzip();
    let locked = sqlx::query!(
        r#"SELECT g.integration_id AS "integration_id!", g.group_key AS "group_key!"
           FROM unnest($1::uuid[], $2::text[]) AS g(integration_id, group_key)
           WHERE pg_try_advisory_xact_lock(hashtext('fireline_alert_group'),
                                           hashtext(g.integration_id::text || ':' || g.group_key))"#,
        &integration_ids,
        &group_keys
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut report = Report {
        busy: (groups.len() - locked.len()) as u64,
        ..Report::default()
    };
    if locked.is_empty() {
        return Ok(report);
    }
    let (integration_ids, group_keys): (Vec<Uuid>, Vec<String>) = locked
        .into_iter()
        .map(|g| (g.integration_id, g.group_key))
        .unzip();
    // Read after the locks: what another process applied meanwhile is gone. A prefix of
    // each group's rows in id order, so what is left waits in order for the next round.
    // The body only of a delivery that is not a repeat of its open group as it is now;
    // the others are applied from their digest (`apply_one`).
    let rows = sqlx::query_as!(
        Queued,
        r#"SELECT q.id, q.integration_id, q.group_key, q.received_at, q.digest, q.fingerprints,
                  CASE WHEN q.digest = o.content_hash THEN NULL ELSE q.delivery END AS delivery,
                  q.attempts, q.next_attempt_at <= now() AS "due!"
           FROM alert_intake q
           JOIN unnest($1::uuid[], $2::text[]) AS g(integration_id, group_key)
             ON g.integration_id = q.integration_id AND g.group_key = q.group_key
           LEFT JOIN alert_groups o
             ON o.integration_id = q.integration_id AND o.group_key = q.group_key
            AND o.state <> 'resolved'
           WHERE q.state = 'pending'
           ORDER BY q.id LIMIT $3 FOR UPDATE OF q"#,
        &integration_ids,
        &group_keys,
        BATCH_ROWS
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut known: HashMap<Uuid, Option<IntegrationRow>> = HashMap::new();
    let mut waiting: HashSet<(Uuid, String)> = HashSet::new();
    let mut applied = Vec::with_capacity(rows.len());
    let mut last_received: HashMap<Uuid, time::OffsetDateTime> = HashMap::new();
    for row in rows {
        let group = (row.integration_id, row.group_key.clone());
        // A delivery backing off holds back the later ones of its group.
        if !row.due || waiting.contains(&group) {
            waiting.insert(group);
            continue;
        }
        if let Entry::Vacant(entry) = known.entry(row.integration_id) {
            entry.insert(integrations::find(&mut *tx, row.integration_id).await?);
        }
        // Deleted meanwhile: its deliveries go with it.
        let Some(Some(integration)) = known.get(&row.integration_id) else {
            continue;
        };
        apply_one(&mut *tx, integration, rules, &row).await?;
        applied.push(row.id);
        let latest = last_received
            .entry(row.integration_id)
            .or_insert(row.received_at);
        *latest = (*latest).max(row.received_at);
    }
    sqlx::query!("DELETE FROM alert_intake WHERE id = ANY($1)", &applied)
        .execute(&mut *tx)
        .await?;
    for (integration_id, at) in last_received {
        integrations::touch(&mut *tx, integration_id, at).await?;
    }
    report.applied = applied.len() as u64;
    Ok(report)
}

/// Apply the pending deliveries of one group, in order, under its lock.
#[tracing::instrument(skip_all, fields(integration_id = %integration_id))]
async fn apply_group(
    pool: &PgPool,
    rules: &CompiledRules,
    integration_id: Uuid,
    group_key: &str,
) -> sqlx::Result<Report> {
    let mut tx = pool.begin().await?;
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtext('fireline_alert_group'),
                                            hashtext($1::text || ':' || $2)) AS "locked!""#,
        integration_id.to_string(),
        group_key
    )
    .fetch_one(&mut *tx)
    .await?;
    if !locked {
        return Ok(Report {
            busy: 1,
            ..Report::default()
        });
    }
    // Read after the lock: what another process applied meanwhile is gone.
    let rows = sqlx::query_as!(
        Queued,
        r#"SELECT id, integration_id, group_key, received_at, digest, fingerprints,
                  delivery AS "delivery?", attempts, next_attempt_at <= now() AS "due!"
           FROM alert_intake
           WHERE integration_id = $1 AND group_key = $2 AND state = 'pending'
           ORDER BY id FOR UPDATE"#,
        integration_id,
        group_key
    )
    .fetch_all(&mut *tx)
    .await?;
    let Some(integration) = integrations::find(&mut *tx, integration_id).await? else {
        return Ok(Report::default());
    };
    let mut report = Report::default();
    let mut applied = Vec::new();
    let mut last_received = None;
    for row in rows {
        if !row.due {
            break;
        }
        sqlx::query!("SAVEPOINT intake").execute(&mut *tx).await?;
        match apply_one(&mut tx, &integration, rules, &row).await {
            Ok(outcome) => {
                tracing::debug!(
                    intake_id = row.id,
                    outcome = outcome.as_str(),
                    "applied a delivery"
                );
                applied.push(row.id);
                last_received = Some(row.received_at);
            }
            Err(err) => {
                sqlx::query!("ROLLBACK TO SAVEPOINT intake")
                    .execute(&mut *tx)
                    .await?;
                report.failed += 1;
                let gave_up = put_back(&mut tx, row.id, row.attempts + 1, &err).await?;
                if !gave_up {
                    // The rows after it wait, so the group's order holds.
                    break;
                }
            }
        }
    }
    sqlx::query!("DELETE FROM alert_intake WHERE id = ANY($1)", &applied)
        .execute(&mut *tx)
        .await?;
    if let Some(at) = last_received {
        integrations::touch(&mut *tx, integration_id, at).await?;
    }
    tx.commit().await?;
    report.applied = applied.len() as u64;
    Ok(report)
}

/// A queued delivery as the processor reads it.
struct Queued {
    id: i64,
    integration_id: Uuid,
    group_key: String,
    received_at: time::OffsetDateTime,
    /// `Delivery::digest`, as the door computed it (`None`: stored by an older build).
    digest: Option<Vec<u8>>,
    fingerprints: Option<Vec<String>>,
    /// The stored delivery; `None` when it was not read because its digest was its open
    /// group's when the batch was read.
    delivery: Option<String>,
    attempts: i32,
    due: bool,
}

async fn apply_one(
    conn: &mut PgConnection,
    integration: &IntegrationRow,
    rules: &CompiledRules,
    row: &Queued,
) -> anyhow::Result<grouping::Outcome> {
    let fetched;
    let stored = match &row.delivery {
        Some(stored) => stored,
        None => {
            if let (Some(digest), Some(fingerprints)) = (&row.digest, &row.fingerprints) {
                let at = row.received_at;
                let key = &row.group_key;
                if groups::repeat_if_unchanged(
                    conn,
                    row.integration_id,
                    key,
                    digest,
                    fingerprints,
                    at,
                )
                .await?
                {
                    return Ok(grouping::Outcome::Repeat);
                }
            }
            // An earlier delivery of this batch changed the group: read the body after all.
            fetched =
                sqlx::query_scalar!("SELECT delivery FROM alert_intake WHERE id = $1", row.id)
                    .fetch_one(&mut *conn)
                    .await?;
            &fetched
        }
    };
    let delivery = queue::decode(stored)?;
    Ok(grouping::apply(conn, integration, rules, row.received_at, &delivery).await?)
}

/// Record a failed attempt: later again with backoff, or failed for good after the last
/// attempt (returns whether it gave up).
async fn put_back(
    conn: &mut PgConnection,
    id: i64,
    attempts: i32,
    err: &anyhow::Error,
) -> sqlx::Result<bool> {
    let gave_up = attempts >= MAX_ATTEMPTS;
    let jitter: f64 = rand::thread_rng().gen_range(0.0..1.0);
    let delay = 2_f64.powi(attempts.min(9)) + jitter;
    let error = format!("{err:#}");
    sqlx::query!(
        "UPDATE alert_intake SET attempts = $2, last_error = $3, \
             next_attempt_at = now() + make_interval(secs => $4), \
             state = CASE WHEN $5 THEN 'failed'::intake_state ELSE state END \
         WHERE id = $1",
        id,
        attempts,
        error,
        delay,
        gave_up
    )
    .execute(conn)
    .await?;
    if gave_up {
        tracing::error!(
            intake_id = id,
            attempts,
            error,
            "gave up on an alert delivery; it is kept as failed"
        );
    } else {
        tracing::warn!(
            intake_id = id,
            attempts,
            error,
            "applying an alert delivery failed; retrying later"
        );
    }
    Ok(gave_up)
}

/// Applies queued deliveries as they arrive, until shutdown.
pub struct Processor {
    pool: PgPool,
}

impl Processor {
    pub fn new(pool: PgPool) -> Self {
        Processor { pool }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut wakeup = Wakeup::new(self.pool.clone(), queue::CHANNEL);
        let mut deleted_since_vacuum = false;
        let mut vacuumed = std::time::Instant::now();
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            match apply_pending(&self.pool).await {
                Ok(report) => deleted_since_vacuum |= report.applied > 0,
                Err(err) => tracing::warn!(error = %err, "applying alert deliveries failed"),
            }
            if deleted_since_vacuum && vacuumed.elapsed() >= VACUUM_EVERY {
                match queue::vacuum(&self.pool).await {
                    Ok(()) => deleted_since_vacuum = false,
                    Err(err) => tracing::warn!(error = %err, "vacuuming the alert intake failed"),
                }
                vacuumed = std::time::Instant::now();
            }
            if !wakeup.wait(TICK, &shutdown).await {
                return;
            }
            // Let a burst gather: one round of many deliveries costs far less than
            // many rounds of a few.
            tokio::time::sleep(GATHER).await;
        }
    }
}
