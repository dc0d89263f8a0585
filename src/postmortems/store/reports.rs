//! Postmortems seen from elsewhere: the status page's public summaries and the
//! dashboard's missing ones.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::postmortems::PostmortemStatus;

/// The published public summaries of these incidents:
/// `(incident_id, summary, published_at)`.
pub async fn public_of(
    db: impl PgExecutor<'_>,
    incident_ids: &[Uuid],
) -> Result<Vec<(Uuid, String, OffsetDateTime)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.incident_id, p.public_summary, p.public_summary_published_at FROM postmortems p \
         JOIN public_incidents i ON i.id = p.incident_id \
         WHERE p.incident_id = ANY($1) AND p.public AND p.public_summary_published_at IS NOT NULL",
    )
    .bind(incident_ids)
    .fetch_all(db)
    .await
}

/// A SEV1/SEV2 incident resolved more than five days ago whose postmortem is not
/// published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MissingPostmortem {
    pub incident_id: Uuid,
    pub number: i64,
    pub title: String,
    pub severity: crate::incidents::Severity,
    pub resolved_at: OffsetDateTime,
    pub postmortem_id: Option<Uuid>,
    pub postmortem_status: Option<PostmortemStatus>,
}

pub async fn missing(db: impl PgExecutor<'_>) -> Result<Vec<MissingPostmortem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id AS incident_id, i.number, i.title, i.severity, i.resolved_at, \
                p.id AS postmortem_id, p.status AS postmortem_status \
         FROM incidents i LEFT JOIN postmortems p ON p.incident_id = i.id \
         WHERE i.severity IN ('sev1', 'sev2') AND i.status = 'resolved' \
           AND i.resolved_at < now() - interval '5 days' \
           AND (p.id IS NULL OR p.status <> 'published') \
         ORDER BY i.resolved_at",
    )
    .fetch_all(db)
    .await
}
