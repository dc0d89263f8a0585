//! The audit log of admin changes outside incidents.

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

pub async fn record(
    db: impl PgExecutor<'_>,
    actor_id: Option<Uuid>,
    action: &str,
    subject: &str,
    data: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_log (actor_id, action, subject, data) VALUES ($1, $2, $3, $4)")
        .bind(actor_id)
        .bind(action)
        .bind(subject)
        .bind(data)
        .execute(db)
        .await?;
    Ok(())
}
