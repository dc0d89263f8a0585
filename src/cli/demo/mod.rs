//! `fireline demo`: a realistic sample — components in groups, 90 days of status history,
//! a resolved incident, an active one with both workstreams and a lively log, and an
//! upcoming maintenance. The rows are data (`sample.json`, times counted back from now);
//! this loader inserts them, and generates the status history deterministically.

mod incidents;
mod sample;

use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::Role;
use crate::accounts::{generate_password, hash_password};
use crate::components::ComponentStatus;
use sample::{Ids, Sample};

const SAMPLE: &str = include_str!("sample.json");

/// Whether the database already holds components, incidents or maintenance.
pub async fn has_data(pool: &PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM components) OR EXISTS (SELECT 1 FROM incidents) \
             OR EXISTS (SELECT 1 FROM maintenances) AS \"has_data!\"",
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
        crate::accounts::users::NewUserRow {
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
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO component_status_changes (component_id, old_status, new_status, changed_at, public) \
         VALUES ($1, $2, $3, $4, true)",
        component,
        old as _,
        new as _,
        at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// 90 days of history: from `created` operational, then a few short degradations and
/// outages per component, the same every time.
async fn generate_history(
    conn: &mut PgConnection,
    ids: &Ids,
    now: OffsetDateTime,
    created: OffsetDateTime,
) -> sqlx::Result<()> {
    let mut dice = Dice(42);
    let mut names: Vec<&String> = ids.components.keys().collect();
    names.sort();
    for name in names {
        let id = ids.components[name];
        history(conn, id, created, None, ComponentStatus::Operational).await?;
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
            let operational = Some(ComponentStatus::Operational);
            history(conn, id, start, operational, status).await?;
            let end = start + Duration::minutes(minutes);
            history(conn, id, end, Some(status), ComponentStatus::Operational).await?;
            day += 6 + dice.next(20) as i64;
        }
    }
    Ok(())
}

/// Fill the database with the sample. `force` first removes existing components,
/// incidents and maintenance (users and tokens stay).
pub async fn seed(pool: &PgPool, force: bool) -> anyhow::Result<()> {
    if has_data(pool).await? && !force {
        anyhow::bail!("this database already has components, incidents or maintenance; `fireline demo --force` replaces them with the sample");
    }
    let sample: Sample = serde_json::from_str(SAMPLE)?;
    let now = OffsetDateTime::now_utc();
    let mut tx = pool.begin().await?;
    if force {
        // Static statements, run together; what they delete cascades to the rest.
        sqlx::raw_sql(
            "DELETE FROM incidents; DELETE FROM maintenances; DELETE FROM components;
             DELETE FROM component_groups;
             DELETE FROM jobs WHERE kind IN ('start_maintenance', 'end_maintenance');",
        )
        .execute(&mut *tx)
        .await?;
    }
    let mut ids = Ids::default();
    for p in &sample.people {
        let id = person(&mut tx, &p.email, &p.name).await?;
        ids.people.insert(p.key.clone(), id);
    }
    sqlx::query!(
        "UPDATE page_settings SET name = coalesce(name, $1), about = CASE WHEN about = '' THEN $2 ELSE about END WHERE id = 1",
        sample.page.name,
        sample.page.about,
    )
    .execute(&mut *tx)
        .await?;

    let created = now - Duration::days(sample.components_created_days_ago);
    for (gpos, group) in sample.groups.iter().enumerate() {
        let gid = sqlx::query_scalar!(
            "INSERT INTO component_groups (id, name, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
            Uuid::new_v4(),
            group.name,
            gpos as i32 + 1,
            created,
        )
        .fetch_one(&mut *tx)
            .await?;
        for (pos, c) in group.components.iter().enumerate() {
            let id = component(&mut tx, Some(gid), &c.name, &c.description, pos, created).await?;
            ids.components.insert(c.name.clone(), id);
        }
    }
    for (pos, c) in sample.ungrouped.iter().enumerate() {
        let id = component(&mut tx, None, &c.name, &c.description, pos, created).await?;
        ids.components.insert(c.name.clone(), id);
    }
    generate_history(&mut tx, &ids, now, created).await?;

    for incident in &sample.incidents {
        incidents::insert(&mut tx, &ids, now, incident).await?;
    }

    // An upcoming maintenance, queued to start and end on its own.
    let m = &sample.maintenance;
    let admin = crate::accounts::users::find(&mut *tx, ids.person(&m.scheduled_by)?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo user vanished"))?;
    let start = (now + Duration::days(m.in_days)).replace_time(time::Time::from_hms(
        m.starts_at_hour,
        0,
        0,
    )?);
    crate::maintenance::schedule(
        &mut tx,
        &admin,
        crate::maintenance::MaintenanceDraft {
            title: m.title.clone(),
            description: m.description.clone(),
            scheduled_for: start,
            scheduled_until: start + Duration::hours(m.hours),
            components: m
                .components
                .iter()
                .map(|name| ids.component(name))
                .collect::<anyhow::Result<_>>()?,
            auto_components: m.auto_components,
            reminder_minutes: None,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(())
}

async fn component(
    conn: &mut PgConnection,
    group: Option<Uuid>,
    name: &str,
    description: &str,
    pos: usize,
    created: OffsetDateTime,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO components (id, group_id, name, description, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        Uuid::new_v4(),
        group,
        name,
        description,
        pos as i32 + 1,
        created,
    )
    .fetch_one(conn)
    .await
}
