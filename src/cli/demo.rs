//! `fireline demo`: a realistic sample — components in groups, 90 days of status history,
//! a resolved incident, an active one with both workstreams and a lively log, and an
//! upcoming maintenance. Written with explicit timestamps, so it reads like a real past.

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::Role;
use crate::accounts::{generate_password, hash_password};
use crate::components::ComponentStatus;

/// Whether the database already holds components, incidents or maintenance.
pub async fn has_data(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM components) OR EXISTS (SELECT 1 FROM incidents) \
             OR EXISTS (SELECT 1 FROM maintenances)",
    )
    .fetch_one(pool)
    .await
}

/// A small deterministic generator, so every demo looks the same.
struct Dice(u64);

impl Dice {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

async fn person(conn: &mut PgConnection, email: &str, name: &str) -> Result<Uuid, anyhow::Error> {
    if let Some(user) = crate::accounts::users::find_by_email(&mut *conn, email).await? {
        return Ok(user.id);
    }
    let hash = hash_password(&generate_password())?;
    let user = crate::accounts::users::insert(
        &mut *conn,
        crate::accounts::users::NewUser {
            email,
            name,
            role: Role::Responder,
            password_hash: &hash.0,
        },
    )
    .await?;
    Ok(user.id)
}

async fn history(
    conn: &mut PgConnection,
    component: Uuid,
    at: OffsetDateTime,
    old: Option<ComponentStatus>,
    new: ComponentStatus,
    incident: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO component_status_changes (component_id, old_status, new_status, changed_at, incident_id, public) VALUES ($1, $2, $3, $4, $5, true)")
        .bind(component)
        .bind(old)
        .bind(new)
        .bind(at)
        .bind(incident)
        .execute(conn)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)] // one call per row of sample data reads best flat
async fn event(
    conn: &mut PgConnection,
    incident: Uuid,
    at: OffsetDateTime,
    kind: &str,
    author: Uuid,
    workstream: Option<Uuid>,
    body: &str,
    data: serde_json::Value,
    pinned: bool,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO incident_events (id, incident_id, kind, body, data, author_id, workstream_id, occurred_at, recorded_at, pinned) \
         VALUES ($1, $2, $3::event_kind, $4, $5, $6, $7, $8, $8 + interval '20 seconds', $9) RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(incident)
    .bind(kind)
    .bind(body)
    .bind(data)
    .bind(author)
    .bind(workstream)
    .bind(at)
    .bind(pinned)
    .fetch_one(conn)
    .await
}

async fn update(
    conn: &mut PgConnection,
    incident: Uuid,
    at: OffsetDateTime,
    status: &str,
    body: &str,
    author: Uuid,
    affected: Option<serde_json::Value>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO incident_updates (id, incident_id, status, body, author_id, affected_components, created_at, updated_at, display_at) \
         VALUES ($1, $2, $3::incident_status, $4, $5, $6, $7, $7, $7)",
    )
    .bind(Uuid::new_v4())
    .bind(incident)
    .bind(status)
    .bind(body)
    .bind(author)
    .bind(affected)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)] // one call per row of sample data reads best flat
async fn workstream(
    conn: &mut PgConnection,
    incident: Uuid,
    kind: &str,
    title: &str,
    lead: Uuid,
    objective: &str,
    position: i32,
    done_at: Option<OffsetDateTime>,
    created: OffsetDateTime,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO workstreams (id, incident_id, kind, title, lead_id, objective, status, position, created_at, completed_at) \
         VALUES ($1, $2, $3::workstream_kind, $4, $5, $6, CASE WHEN $7::timestamptz IS NULL THEN 'active' ELSE 'done' END::workstream_status, $8, $9, $7) RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(incident)
    .bind(kind)
    .bind(title)
    .bind(lead)
    .bind(objective)
    .bind(done_at)
    .bind(position)
    .bind(created)
    .fetch_one(conn)
    .await
}

async fn task(
    conn: &mut PgConnection,
    workstream: Uuid,
    title: &str,
    assignee: Uuid,
    done_at: Option<OffsetDateTime>,
    position: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO tasks (id, workstream_id, title, assignee_id, done_at, position) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(Uuid::new_v4())
        .bind(workstream)
        .bind(title)
        .bind(assignee)
        .bind(done_at)
        .bind(position)
        .execute(conn)
        .await?;
    Ok(())
}

/// Fill the database with the sample. `force` first removes existing components,
/// incidents and maintenance (users and tokens stay).
pub async fn seed(pool: &PgPool, force: bool) -> anyhow::Result<()> {
    if has_data(pool).await? && !force {
        anyhow::bail!("this database already has components, incidents or maintenance; `fireline demo --force` replaces them with the sample");
    }
    let now = OffsetDateTime::now_utc();
    let ago = |minutes: i64| now - Duration::minutes(minutes);
    let mut tx = pool.begin().await?;
    if force {
        sqlx::query("DELETE FROM incidents")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM maintenances")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM components")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM component_groups")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM jobs WHERE kind IN ('start_maintenance', 'end_maintenance')")
            .execute(&mut *tx)
            .await?;
    }
    let ada = person(&mut tx, "ada@demo.fireline.dev", "Ada Lovelace").await?;
    let grace = person(&mut tx, "grace@demo.fireline.dev", "Grace Hopper").await?;
    let linus = person(&mut tx, "linus@demo.fireline.dev", "Linus Pauling").await?;
    sqlx::query("UPDATE page_settings SET name = coalesce(name, 'Acme Cloud'), about = CASE WHEN about = '' THEN 'Acme Cloud runs the **checkout** and **search** behind thousands of online shops. Questions? Write to support@acme.example.' ELSE about END WHERE id = 1")
        .execute(&mut *tx)
        .await?;

    // Components, created 95 days ago.
    let created = now - Duration::days(95);
    let layout: [(&str, &[(&str, &str)]); 3] = [
        (
            "Core platform",
            &[
                ("API", "REST and GraphQL API"),
                ("Website", "acme.example and the dashboard"),
                ("Authentication", "Sign-in and single sign-on"),
            ],
        ),
        (
            "Payments",
            &[
                ("Checkout", "Hosted checkout pages"),
                ("Card processing", "Authorisations and captures"),
            ],
        ),
        (
            "Data",
            &[
                ("Search", "Product search for shops"),
                ("Reporting", "Sales reports and exports"),
            ],
        ),
    ];
    let mut ids = std::collections::HashMap::new();
    for (gpos, (group, members)) in layout.iter().enumerate() {
        let gid: Uuid = sqlx::query_scalar("INSERT INTO component_groups (id, name, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id")
            .bind(Uuid::new_v4())
            .bind(group)
            .bind(gpos as i32 + 1)
            .bind(created)
            .fetch_one(&mut *tx)
            .await?;
        for (pos, (name, description)) in members.iter().enumerate() {
            let id: Uuid = sqlx::query_scalar(
                "INSERT INTO components (id, group_id, name, description, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            )
            .bind(Uuid::new_v4())
            .bind(gid)
            .bind(name)
            .bind(description)
            .bind(pos as i32 + 1)
            .bind(created)
            .fetch_one(&mut *tx)
            .await?;
            ids.insert(*name, id);
        }
    }
    let email: Uuid = sqlx::query_scalar("INSERT INTO components (id, name, description, position, created_at, updated_at) VALUES ($1, 'Email notifications', 'Order confirmations and receipts', 1, $2, $2) RETURNING id")
        .bind(Uuid::new_v4())
        .bind(created)
        .fetch_one(&mut *tx)
        .await?;
    ids.insert("Email notifications", email);

    // 90 days of history: a few short degradations and outages per component.
    let mut dice = Dice(42);
    let mut names: Vec<&str> = ids.keys().copied().collect();
    names.sort();
    for name in &names {
        let id = ids[name];
        history(
            &mut tx,
            id,
            created,
            None,
            ComponentStatus::Operational,
            None,
        )
        .await?;
        let mut day = 2 + dice.next(10) as i64;
        while day < 88 {
            let start = now - Duration::days(90 - day) + Duration::minutes(dice.next(1200) as i64);
            let (status, minutes) = match dice.next(10) {
                0..=5 => (
                    ComponentStatus::DegradedPerformance,
                    20 + dice.next(120) as i64,
                ),
                6..=8 => (ComponentStatus::PartialOutage, 10 + dice.next(90) as i64),
                _ => (ComponentStatus::MajorOutage, 5 + dice.next(45) as i64),
            };
            history(
                &mut tx,
                id,
                start,
                Some(ComponentStatus::Operational),
                status,
                None,
            )
            .await?;
            history(
                &mut tx,
                id,
                start + Duration::minutes(minutes),
                Some(status),
                ComponentStatus::Operational,
                None,
            )
            .await?;
            day += 6 + dice.next(20) as i64;
        }
    }

    // A resolved incident, five days ago.
    let search = ids["Search"];
    let t0 = now - Duration::days(5) - Duration::hours(3);
    let resolved: Uuid = sqlx::query_scalar(
        "INSERT INTO incidents (id, title, summary, severity, status, impact, leader_id, created_by, started_at, detected_at, declared_at, \
             acknowledged_at, mitigated_at, resolved_at, monitoring_at, last_public_update_at, created_at, updated_at, published_at) \
         VALUES ($1, 'Search results delayed', 'Index updates lagged behind by up to 40 minutes.', 'sev3', 'resolved', 'minor', $2, $2, \
                 $3, $3 + interval '6 minutes', $3 + interval '9 minutes', $3 + interval '10 minutes', $3 + interval '52 minutes', \
                 $3 + interval '95 minutes', $3 + interval '52 minutes', $3 + interval '95 minutes', $3 + interval '9 minutes', $3 + interval '95 minutes', \
                 $3 + interval '12 minutes') RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(grace)
    .bind(t0)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO incident_components (incident_id, component_id) VALUES ($1, $2)")
        .bind(resolved)
        .bind(search)
        .execute(&mut *tx)
        .await?;
    history(
        &mut tx,
        search,
        t0 + Duration::minutes(9),
        Some(ComponentStatus::Operational),
        ComponentStatus::DegradedPerformance,
        Some(resolved),
    )
    .await?;
    history(
        &mut tx,
        search,
        t0 + Duration::minutes(95),
        Some(ComponentStatus::DegradedPerformance),
        ComponentStatus::Operational,
        Some(resolved),
    )
    .await?;
    let affected = |old: &str, new: &str| {
        Some(json!([{ "code": search, "name": "Search", "old_status": old, "new_status": new }]))
    };
    update(
        &mut tx,
        resolved,
        t0 + Duration::minutes(12),
        "investigating",
        "Search results may be up to 40 minutes out of date. We are looking into it.",
        grace,
        affected("operational", "degraded_performance"),
    )
    .await?;
    update(
        &mut tx,
        resolved,
        t0 + Duration::minutes(52),
        "monitoring",
        "A stuck indexing worker was restarted and the backlog is shrinking. We are monitoring.",
        grace,
        None,
    )
    .await?;
    update(
        &mut tx,
        resolved,
        t0 + Duration::minutes(95),
        "resolved",
        "The index is current again. Sorry for the stale results.",
        grace,
        affected("degraded_performance", "operational"),
    )
    .await?;
    let rec = workstream(
        &mut tx,
        resolved,
        "recovery",
        "Recovery",
        grace,
        "Get the index current again.",
        1,
        Some(t0 + Duration::minutes(52)),
        t0 + Duration::minutes(9),
    )
    .await?;
    let rc = workstream(
        &mut tx,
        resolved,
        "root_cause",
        "Root cause",
        linus,
        "Why did the worker stall?",
        2,
        Some(t0 + Duration::days(2)),
        t0 + Duration::minutes(9),
    )
    .await?;
    event(
        &mut tx,
        resolved,
        t0 + Duration::minutes(9),
        "declared",
        grace,
        None,
        "Grace Hopper declared this SEV3 incident, led by Grace Hopper.",
        json!({ "severity": "sev3" }),
        false,
    )
    .await?;
    event(
        &mut tx,
        resolved,
        t0 + Duration::minutes(30),
        "note",
        grace,
        Some(rec),
        "Restarted `indexer-2`; lag falling by ~2 min per minute.",
        json!({}),
        true,
    )
    .await?;
    event(
        &mut tx,
        resolved,
        t0 + Duration::minutes(80),
        "note",
        linus,
        Some(rc),
        "Worker blocked on a lock held by a hung bulk import (ticket SRCH-311).",
        json!({}),
        true,
    )
    .await?;

    // The active incident: a lively log over the last 47 minutes.
    let checkout = ids["Checkout"];
    let cards = ids["Card processing"];
    let active: Uuid = sqlx::query_scalar(
        "INSERT INTO incidents (id, title, summary, severity, status, impact, leader_id, created_by, started_at, detected_at, declared_at, \
             acknowledged_at, last_public_update_at, created_at, updated_at, version, published_at) \
         VALUES ($1, 'Elevated checkout errors', 'Card payments fail for part of the shops; 3-D Secure requests time out at the processor.', \
                 'sev2', 'identified', 'major', $2, $3, $4, $5, $6, $6, $7, $6, $7, 9, $6 + interval '2 minutes') RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(ada)
    .bind(grace)
    .bind(ago(47))
    .bind(ago(45))
    .bind(ago(44))
    .bind(ago(18))
    .fetch_one(&mut *tx)
    .await?;
    for c in [checkout, cards] {
        sqlx::query("INSERT INTO incident_components (incident_id, component_id) VALUES ($1, $2)")
            .bind(active)
            .bind(c)
            .execute(&mut *tx)
            .await?;
    }
    history(
        &mut tx,
        checkout,
        ago(43),
        Some(ComponentStatus::Operational),
        ComponentStatus::PartialOutage,
        Some(active),
    )
    .await?;
    history(
        &mut tx,
        cards,
        ago(43),
        Some(ComponentStatus::Operational),
        ComponentStatus::MajorOutage,
        Some(active),
    )
    .await?;
    history(
        &mut tx,
        cards,
        ago(18),
        Some(ComponentStatus::MajorOutage),
        ComponentStatus::DegradedPerformance,
        Some(active),
    )
    .await?;
    sqlx::query("UPDATE components SET status = 'partial_outage', public_status = 'partial_outage', updated_at = $2 WHERE id = $1")
        .bind(checkout)
        .bind(ago(43))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE components SET status = 'degraded_performance', public_status = 'degraded_performance', updated_at = $2 WHERE id = $1",
    )
    .bind(cards)
    .bind(ago(18))
    .execute(&mut *tx)
    .await?;
    let recovery = workstream(
        &mut tx,
        active,
        "recovery",
        "Recovery",
        grace,
        "Restore payments: fail over to the secondary processor, then roll back if needed.",
        1,
        None,
        ago(44),
    )
    .await?;
    let root = workstream(
        &mut tx,
        active,
        "root_cause",
        "Root cause",
        linus,
        "Find out why 3-D Secure requests time out since 09:58.",
        2,
        None,
        ago(44),
    )
    .await?;
    task(
        &mut tx,
        recovery,
        "Fail over card traffic to the secondary processor",
        grace,
        Some(ago(20)),
        1,
    )
    .await?;
    task(
        &mut tx,
        recovery,
        "Roll back payments-api to v2.41.0",
        ada,
        None,
        2,
    )
    .await?;
    task(
        &mut tx,
        root,
        "Compare the v2.41 → v2.42 deploy diff",
        linus,
        None,
        1,
    )
    .await?;
    task(
        &mut tx,
        root,
        "Get the processor's incident reference",
        ada,
        Some(ago(25)),
        2,
    )
    .await?;
    let p = |id: Uuid, name: &str| json!({ "id": id, "name": name });
    event(
        &mut tx,
        active,
        ago(44),
        "declared",
        grace,
        None,
        "Grace Hopper declared this SEV2 incident, led by Ada Lovelace.",
        json!({ "severity": "sev2", "leader": p(ada, "Ada Lovelace") }),
        false,
    )
    .await?;
    event(
        &mut tx,
        active,
        ago(44),
        "workstream_added",
        grace,
        Some(recovery),
        "Recovery workstream opened, led by Grace Hopper.",
        json!({ "kind": "recovery" }),
        false,
    )
    .await?;
    event(
        &mut tx,
        active,
        ago(44),
        "workstream_added",
        grace,
        Some(root),
        "Root cause workstream opened, led by Linus Pauling.",
        json!({ "kind": "root_cause" }),
        false,
    )
    .await?;
    event(
        &mut tx,
        active,
        ago(43),
        "component_changed",
        ada,
        None,
        "Checkout changed from Operational to Partial outage.",
        json!({ "component_id": checkout, "old": "operational", "new": "partial_outage" }),
        false,
    )
    .await?;
    event(
        &mut tx,
        active,
        ago(43),
        "component_changed",
        ada,
        None,
        "Card processing changed from Operational to Major outage.",
        json!({ "component_id": cards, "old": "operational", "new": "major_outage" }),
        false,
    )
    .await?;
    event(
        &mut tx,
        active,
        ago(42),
        "timestamp_changed",
        ada,
        None,
        "Acknowledged by Ada Lovelace, the incident leader.",
        json!({ "milestone": "acknowledged", "automatic": true }),
        false,
    )
    .await?;
    event(&mut tx, active, ago(41), "note", ada, None, "Checkout error rate at **18 %** since 09:58; p99 latency 9 s. Dashboard: https://grafana.acme.example/d/checkout", json!({}), true).await?;
    event(&mut tx, active, ago(40), "update_posted", ada, None, "Public update posted (Investigating):\n\nSome card payments are failing. We are investigating.", json!({ "status": "investigating" }), false).await?;
    let wrong = event(
        &mut tx,
        active,
        ago(36),
        "note",
        linus,
        Some(root),
        "Only Visa cards seem affected.",
        json!({}),
        false,
    )
    .await?;
    event(
        &mut tx,
        active,
        ago(33),
        "note",
        linus,
        Some(root),
        "3-D Secure requests to the processor time out after 8 s; plain authorisations pass.",
        json!({}),
        true,
    )
    .await?;
    sqlx::query(
        "INSERT INTO incident_events (id, incident_id, kind, body, author_id, workstream_id, occurred_at, recorded_at, corrects) \
         VALUES ($1, $2, 'correction', 'Not only Visa: Mastercard 3-D Secure fails the same way.', $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::new_v4())
    .bind(active)
    .bind(linus)
    .bind(root)
    .bind(ago(36))
    .bind(ago(30))
    .bind(wrong)
    .execute(&mut *tx)
    .await?;
    event(
        &mut tx,
        active,
        ago(28),
        "note",
        grace,
        Some(recovery),
        "Processor confirms a degraded 3-D Secure cluster on their side (ref. PX-88412).",
        json!({}),
        false,
    )
    .await?;
    event(
        &mut tx,
        active,
        ago(21),
        "task_changed",
        grace,
        Some(recovery),
        "Task \"Fail over card traffic to the secondary processor\" done.",
        json!({ "field": "done", "old": false, "new": true }),
        false,
    )
    .await?;
    event(
        &mut tx,
        active,
        ago(19),
        "status_changed",
        ada,
        None,
        "Status changed from Investigating to Identified.",
        json!({ "old": "investigating", "new": "identified" }),
        false,
    )
    .await?;
    event(
        &mut tx,
        active,
        ago(18),
        "component_changed",
        ada,
        None,
        "Card processing changed from Major outage to Degraded performance.",
        json!({ "component_id": cards, "old": "major_outage", "new": "degraded_performance" }),
        false,
    )
    .await?;
    event(&mut tx, active, ago(18), "update_posted", ada, None, "Public update posted (Identified):\n\nOur card processor has a partial outage. We moved most traffic to a backup processor; some payments may still fail.", json!({ "status": "identified" }), false).await?;
    event(
        &mut tx,
        active,
        ago(6),
        "note",
        ada,
        Some(recovery),
        "Error rate down to 3 %. Holding the rollback while the processor recovers.",
        json!({}),
        false,
    )
    .await?;
    update(&mut tx, active, ago(40), "investigating", "Some card payments are failing. We are investigating.", ada,
        Some(json!([{ "code": checkout, "name": "Checkout", "old_status": "operational", "new_status": "partial_outage" }, { "code": cards, "name": "Card processing", "old_status": "operational", "new_status": "major_outage" }]))).await?;
    update(&mut tx, active, ago(18), "identified", "Our card processor has a partial outage. We moved most traffic to a backup processor; some payments may still fail.", ada,
        Some(json!([{ "code": cards, "name": "Card processing", "old_status": "major_outage", "new_status": "degraded_performance" }]))).await?;

    // An upcoming maintenance, queued to start and end on its own.
    let admin = crate::accounts::users::find(&mut *tx, ada)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo user vanished"))?;
    let start = (now + Duration::days(3)).replace_time(time::Time::from_hms(6, 0, 0)?);
    crate::maintenance::schedule(
        &mut tx,
        &admin,
        crate::maintenance::MaintenanceDraft {
            title: "Database upgrade for Search and Reporting".into(),
            description: "We are upgrading the database behind search and reports. Searches may be slow and exports paused for up to two hours.".into(),
            scheduled_for: start,
            scheduled_until: start + Duration::hours(2),
            components: vec![ids["Search"], ids["Reporting"]],
            auto_components: true,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(())
}
