//! Postmortems seen from elsewhere: the status page's public summaries and the
//! dashboard's missing ones.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::incidents::Severity;
use crate::postmortems::PostmortemStatus;

/// The published public summaries of these incidents:
/// `(incident_id, summary, published_at)`.
pub async fn public_of(
    db: impl PgExecutor<'_>,
    incident_ids: &[Uuid],
) -> sqlx::Result<Vec<(Uuid, String, OffsetDateTime)>> {
    let rows = sqlx::query!(
        "SELECT p.incident_id, p.public_summary, \
             p.public_summary_published_at AS \"published_at!\" FROM postmortems p \
         JOIN public_incidents i ON i.id = p.incident_id \
         WHERE p.incident_id = ANY($1) AND p.public AND p.public_summary_published_at IS NOT NULL",
        incident_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.incident_id, r.public_summary, r.published_at))
        .collect())
}

/// A SEV1/SEV2 incident resolved more than five days ago whose postmortem is not
/// published.
#[derive(Debug, Clone)]
pub struct MissingPostmortem {
    pub incident_id: Uuid,
    pub number: i64,
    pub title: String,
    pub severity: Severity,
    pub resolved_at: OffsetDateTime,
    pub postmortem_id: Option<Uuid>,
    pub postmortem_status: Option<PostmortemStatus>,
}

pub async fn missing(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<MissingPostmortem>> {
    sqlx::query_as!(
        MissingPostmortem,
        "SELECT i.id AS incident_id, i.number, i.title, i.severity AS \"severity: Severity\", \
                i.resolved_at AS \"resolved_at!\", p.id AS \"postmortem_id?\", \
                p.status AS \"postmortem_status?: PostmortemStatus\" \
         FROM incidents i LEFT JOIN postmortems p ON p.incident_id = i.id \
         WHERE i.severity IN ('sev1', 'sev2') AND i.status = 'resolved' \
           AND i.resolved_at < now() - interval '5 days' \
           AND (p.id IS NULL OR p.status <> 'published') \
         ORDER BY i.resolved_at"
    )
    .fetch_all(db)
    .await
}
