//! Roll component status history up into one row per component per finished UTC day.

use serde_json::Value;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

use crate::platform::jobs::{HandlerFuture, JobContext, JobError};
use crate::status_page::uptime;
use crate::status_page::{breakdown, utc_day};

pub const KIND: &str = "roll_up_uptime";

pub fn roll_up_uptime(ctx: JobContext, _payload: Value) -> HandlerFuture {
    Box::pin(async move {
        let today = OffsetDateTime::now_utc().date();
        let oldest_needed = today - Duration::days(400);
        let pending = uptime::last_rolled(&ctx.pool).await?;
        let mut first_missing = HashMap::new();
        for (component, last, created) in pending {
            let from = last
                .map(|d| d + Duration::days(1))
                .unwrap_or(created.date())
                .max(oldest_needed);
            if from < today {
                first_missing.insert(component, from);
            }
        }
        let Some(earliest) = first_missing.values().min().copied() else {
            return Ok(());
        };
        let history = uptime::history_since(&ctx.pool, utc_day(earliest).0).await?;
        let mut by_component: HashMap<_, Vec<_>> = HashMap::new();
        for (component, at, status) in history {
            by_component
                .entry(component)
                .or_default()
                .push((at, status));
        }
        let mut tx = ctx.pool.begin().await?;
        let mut stored = 0;
        for (component, from) in first_missing {
            let Some(changes) = by_component.get(&component) else {
                continue;
            };
            let mut day = from;
            while day < today {
                let (start, end) = utc_day(day);
                uptime::store_day(&mut tx, component, day, &breakdown(changes, start, end)).await?;
                stored += 1;
                day += Duration::days(1);
            }
        }
        tx.commit().await?;
        tracing::info!(days = stored, "rolled up component uptime");
        Ok::<(), JobError>(())
    })
}
