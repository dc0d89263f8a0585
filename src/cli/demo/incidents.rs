//! Inserting the sample's incidents: the incident row, its components and their status
//! changes, workstreams with tasks, the event log and the public updates.

use std::collections::HashMap;

use serde_json::json;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::sample::{Event, Ids, Incident};

pub async fn insert(
    conn: &mut PgConnection,
    ids: &Ids,
    now: OffsetDateTime,
    incident: &Incident,
) -> anyhow::Result<()> {
    let ago = |minutes: i64| now - Duration::minutes(minutes);
    let ago_opt = |minutes: Option<i64>| minutes.map(ago);
    let times = &incident.minutes_ago;
    let id = sqlx::query_scalar!(
        "INSERT INTO incidents (id, title, summary, severity, status, impact, leader_id, created_by, started_at, detected_at, declared_at, \
             acknowledged_at, mitigated_at, resolved_at, monitoring_at, last_public_update_at, created_at, updated_at, version, published_at) \
         VALUES ($1, $2, $3, $4::text::severity, $5::text::incident_status, $6::text::incident_impact, $7, $8, $9, $10, $11, $12, $13, $14, \
                 $15, $16, $17, $18, $19, $20) \
         RETURNING id",
        Uuid::new_v4(),
        incident.title,
        incident.summary,
        incident.severity,
        incident.status,
        incident.impact,
        ids.person(&incident.leader)?,
        ids.person(&incident.created_by)?,
        ago(times.started),
        ago_opt(times.detected),
        ago(times.declared),
        ago_opt(times.acknowledged),
        ago_opt(times.mitigated),
        ago_opt(times.resolved),
        ago_opt(times.monitoring),
        ago_opt(times.last_public_update),
        ago(times.created),
        ago(times.updated),
        incident.version,
        ago_opt(times.published),
    )
    .fetch_one(&mut *conn)
    .await?;
    for name in &incident.components {
        sqlx::query!(
            "INSERT INTO incident_components (incident_id, component_id) VALUES ($1, $2)",
            id,
            ids.component(name)?,
        )
        .execute(&mut *conn)
        .await?;
    }
    for change in &incident.status_changes {
        sqlx::query!(
            "INSERT INTO component_status_changes (component_id, old_status, new_status, changed_at, incident_id, public) \
             VALUES ($1, $2::text::component_status, $3::text::component_status, $4, $5, true)",
            ids.component(&change.component)?,
            change.old,
            change.new,
            ago(change.minutes_ago),
            id,
        )
        .execute(&mut *conn)
        .await?;
    }
    for current in &incident.current_status {
        sqlx::query!(
            "UPDATE components SET status = $2::text::component_status, public_status = $2::text::component_status, updated_at = $3 \
             WHERE id = $1",
            ids.component(&current.component)?,
            current.status,
            ago(current.minutes_ago),
        )
        .execute(&mut *conn)
        .await?;
    }

    let mut workstreams = HashMap::new();
    for (position, ws) in incident.workstreams.iter().enumerate() {
        let done_at = ago_opt(ws.done_minutes_ago);
        let wid = sqlx::query_scalar!(
            "INSERT INTO workstreams (id, incident_id, kind, title, lead_id, objective, status, position, created_at, completed_at) \
             VALUES ($1, $2, $3::text::workstream_kind, $4, $5, $6, \
                     CASE WHEN $7::timestamptz IS NULL THEN 'active' ELSE 'done' END::workstream_status, $8, $9, $7) \
             RETURNING id",
            Uuid::new_v4(),
            id,
            ws.kind,
            ws.title,
            ids.person(&ws.lead)?,
            ws.objective,
            done_at,
            position as i32 + 1,
            ago(ws.created_minutes_ago),
        )
        .fetch_one(&mut *conn)
        .await?;
        for (position, task) in ws.tasks.iter().enumerate() {
            sqlx::query!(
                "INSERT INTO tasks (id, workstream_id, title, assignee_id, done_at, position) VALUES ($1, $2, $3, $4, $5, $6)",
                Uuid::new_v4(),
                wid,
                task.title,
                ids.person(&task.assignee)?,
                ago_opt(task.done_minutes_ago),
                position as i32 + 1,
            )
            .execute(&mut *conn)
            .await?;
        }
        workstreams.insert(ws.key.as_str(), wid);
    }

    let mut events: HashMap<&str, Uuid> = HashMap::new();
    for event in &incident.events {
        let workstream = match &event.workstream {
            Some(key) => Some(*workstreams.get(key.as_str()).ok_or_else(|| {
                anyhow::anyhow!("the demo sample names an unknown workstream {key:?}")
            })?),
            None => None,
        };
        let corrects = match &event.corrects {
            Some(key) => Some(*events.get(key.as_str()).ok_or_else(|| {
                anyhow::anyhow!("the demo sample corrects an unknown event {key:?}")
            })?),
            None => None,
        };
        let eid = insert_event(conn, ids, now, id, workstream, corrects, event).await?;
        if let Some(key) = &event.key {
            events.insert(key, eid);
        }
    }

    for update in &incident.updates {
        let affected = match &update.affected {
            Some(list) => Some(serde_json::Value::Array(
                list.iter()
                    .map(|a| {
                        Ok(json!({ "code": ids.component(&a.component)?, "name": a.component, "old_status": a.old, "new_status": a.new }))
                    })
                    .collect::<anyhow::Result<_>>()?,
            )),
            None => None,
        };
        sqlx::query!(
            "INSERT INTO incident_updates (id, incident_id, status, body, author_id, affected_components, created_at, updated_at, display_at) \
             VALUES ($1, $2, $3::text::incident_status, $4, $5, $6, $7, $7, $7)",
            Uuid::new_v4(),
            id,
            update.status,
            update.body,
            ids.person(&update.author)?,
            affected,
            ago(update.minutes_ago),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn insert_event(
    conn: &mut PgConnection,
    ids: &Ids,
    now: OffsetDateTime,
    incident: Uuid,
    workstream: Option<Uuid>,
    corrects: Option<Uuid>,
    event: &Event,
) -> anyhow::Result<Uuid> {
    let occurred = now - Duration::minutes(event.minutes_ago);
    let recorded = match event.recorded_minutes_ago {
        Some(minutes) => now - Duration::minutes(minutes),
        None => occurred + Duration::seconds(20),
    };
    let id = sqlx::query_scalar!(
        "INSERT INTO incident_events (id, incident_id, kind, body, data, author_id, workstream_id, occurred_at, recorded_at, pinned, corrects) \
         VALUES ($1, $2, $3::text::event_kind, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        Uuid::new_v4(),
        incident,
        event.kind,
        event.body,
        ids.resolve(&event.data)?,
        ids.person(&event.author)?,
        workstream,
        occurred,
        recorded,
        event.pinned,
        corrects,
    )
    .fetch_one(conn)
    .await?;
    Ok(id)
}
