//! Start and end scheduled maintenance on time.

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::incidents::CommandError;
use crate::maintenance;
use crate::platform::jobs::{HandlerFuture, JobContext, JobError};

pub fn advance_maintenance(ctx: JobContext, payload: Value) -> HandlerFuture {
    Box::pin(async move {
        let id = payload
            .get("maintenance_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| JobError::Permanent(format!("no maintenance_id in {payload}")))?;
        let mut tx = ctx.pool.begin().await?;
        match maintenance::advance(&mut tx, id, OffsetDateTime::now_utc()).await {
            Ok(moved) => {
                tx.commit().await?;
                if let Some(status) = moved {
                    tracing::info!(maintenance = %id, status = %status, "maintenance moved on schedule");
                }
                Ok(())
            }
            Err(CommandError::Db(err)) => Err(err.into()),
            Err(other) => Err(JobError::Permanent(other.to_string())),
        }
    })
}
