//! Everything the public page shows, loaded in a handful of queries.

use crate::postmortems::store;
use crate::status_page::{rollup, uptime, Indicator};
use std::collections::HashMap;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::components::ComponentStatus;
use crate::components::{self, ComponentRow, GroupRow};
use crate::incidents::updates::UpdateRow;
use crate::incidents::{Impact, IncidentStatus};
use crate::maintenance::{self, MaintenanceRow, MaintenanceUpdateRow};
use crate::status_page::settings::{self, PageSettingsRow};
use crate::status_page::{breakdown, utc_day, DayBreakdown};

/// How many days the uptime bars cover.
pub const UPTIME_DAYS: i64 = 90;

/// A public incident as the page shows it: a row of the `public_incidents` view (public,
/// published, under its public title) with its updates, components and postmortem. Its
/// columns read as its own fields.
#[derive(Debug, Clone)]
pub struct PublicIncident {
    pub row: IncidentColumns,
    pub updates: Vec<UpdateRow>,
    pub component_ids: Vec<Uuid>,
    /// The published postmortem, when it is public.
    pub postmortem: Option<PublicPostmortem>,
}

impl std::ops::Deref for PublicIncident {
    type Target = IncidentColumns;

    fn deref(&self) -> &IncidentColumns {
        &self.row
    }
}

/// A public incident's own columns, as the `public_incidents` view gives them.
#[derive(Debug, Clone)]
pub struct IncidentColumns {
    pub id: Uuid,
    pub number: i64,
    pub title: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub started_at: OffsetDateTime,
    pub declared_at: OffsetDateTime,
    pub monitoring_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A statement over the `public_incidents` view, checked at compile time: `$rest` (from
/// `WHERE` on) picks the rows; [`without_details`] turns them into incidents.
macro_rules! public_incidents {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            $crate::status_page::data::IncidentColumns,
            r#"SELECT id AS "id!", number AS "number!", title AS "title!",
                      status AS "status!: crate::incidents::IncidentStatus",
                      impact AS "impact!: crate::incidents::Impact",
                      started_at AS "started_at!", declared_at AS "declared_at!", monitoring_at,
                      resolved_at, created_at AS "created_at!", updated_at AS "updated_at!"
               FROM public_incidents "# + $rest
            $(, $arg)*
        )
    };
}
pub(crate) use public_incidents;

/// Incidents with no updates, components or postmortem attached yet.
pub fn without_details(rows: Vec<IncidentColumns>) -> Vec<PublicIncident> {
    rows.into_iter()
        .map(|row| PublicIncident {
            row,
            updates: Vec::new(),
            component_ids: Vec::new(),
            postmortem: None,
        })
        .collect()
}

/// A postmortem as the public sees it: its public summary, never the internal document.
#[derive(Debug, Clone)]
pub struct PublicPostmortem {
    /// The public summary, Markdown.
    pub body: String,
    pub published_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct PublicMaintenance {
    pub row: MaintenanceRow,
    pub updates: Vec<MaintenanceUpdateRow>,
    pub component_ids: Vec<Uuid>,
}

#[derive(Debug, Clone)]
pub struct PageData {
    pub loaded_at: OffsetDateTime,
    pub settings: PageSettingsRow,
    /// Page name: the settings', else the configured default.
    pub name: String,
    /// Public URL without a trailing slash.
    pub url: String,
    pub groups: Vec<GroupRow>,
    pub components: Vec<ComponentRow>,
    /// Unresolved, recent (90 days) and the 50 newest public incidents, newest first.
    pub incidents: Vec<PublicIncident>,
    /// Open and recent maintenances, newest window first.
    pub maintenances: Vec<PublicMaintenance>,
    /// Per component: the last [`UPTIME_DAYS`] days, oldest first (`None`: not tracked).
    pub uptime: HashMap<Uuid, Vec<(Date, Option<DayBreakdown>)>>,
}

impl PageData {
    /// The newest change anything on the page shows.
    pub fn updated_at(&self) -> OffsetDateTime {
        let mut latest = self.settings.updated_at;
        for c in &self.components {
            latest = latest.max(c.updated_at);
        }
        for g in &self.groups {
            latest = latest.max(g.updated_at);
        }
        for i in &self.incidents {
            latest = latest.max(i.updated_at);
        }
        for m in &self.maintenances {
            latest = latest.max(m.row.updated_at);
        }
        latest
    }

    /// The page's overall indicator: the open incidents' impact and the components' status.
    pub fn indicator(&self) -> Indicator {
        let impacts: Vec<_> = self
            .incidents
            .iter()
            .filter(|i| !i.status.is_resolved())
            .map(|i| i.impact)
            .collect();
        let statuses: Vec<_> = self.components.iter().map(|c| c.status).collect();
        rollup(&impacts, &statuses)
    }

    pub fn component(&self, id: Uuid) -> Option<&ComponentRow> {
        self.components.iter().find(|c| c.id == id)
    }
}

pub async fn load(
    pool: &sqlx::PgPool,
    default_name: &str,
    default_url: &str,
) -> sqlx::Result<PageData> {
    let mut conn = pool.acquire().await?;
    let conn = &mut *conn;
    let now = OffsetDateTime::now_utc();
    let core = load_core(conn, default_name, default_url).await?;
    let rows = public_incidents!(
        "WHERE status <> 'resolved' OR declared_at > now() - interval '90 days'
            OR id IN (SELECT id FROM public_incidents ORDER BY declared_at DESC LIMIT 50)
         ORDER BY declared_at DESC, id DESC"
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut incidents = without_details(rows);
    attach_details(conn, &mut incidents).await?;

    let mut rows = maintenance::in_window(
        &mut *conn,
        now - Duration::days(UPTIME_DAYS),
        now + Duration::days(365),
    )
    .await?;
    for open in maintenance::list(&mut *conn, true, 100).await? {
        if !rows.iter().any(|r| r.id == open.id) {
            rows.push(open);
        }
    }
    rows.sort_by_key(|m| std::cmp::Reverse(m.scheduled_for));
    let maintenances = with_details(conn, rows).await?;

    let uptime = load_uptime(&mut *conn, &core.components, now).await?;
    Ok(PageData {
        incidents,
        maintenances,
        uptime,
        ..core
    })
}

/// The page's settings, groups and components, and its unresolved public incidents
/// (without details): enough for the overall status and component objects. Runs on any
/// connection, so a transaction sees its own changes.
pub async fn load_core(
    conn: &mut sqlx::PgConnection,
    default_name: &str,
    default_url: &str,
) -> sqlx::Result<PageData> {
    let settings = settings::get(&mut *conn).await?;
    let groups = components::list_groups(&mut *conn).await?;
    let components = components::list_public(&mut *conn).await?;
    let rows = public_incidents!("WHERE status <> 'resolved' ORDER BY declared_at DESC, id DESC")
        .fetch_all(&mut *conn)
        .await?;
    let incidents = without_details(rows);
    Ok(PageData {
        loaded_at: OffsetDateTime::now_utc(),
        name: settings
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| default_name.to_owned()),
        url: settings
            .public_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| default_url.to_owned())
            .trim_end_matches('/')
            .to_owned(),
        settings,
        groups,
        components,
        incidents,
        maintenances: Vec::new(),
        uptime: HashMap::new(),
    })
}

/// Where links point in messages when neither a public URL nor a configured one is known.
const FALLBACK_URL: &str = "http://localhost:8080";

/// The page as a message about a change sees it, from inside the transaction that
/// writes the message, with the base URL for its links.
pub async fn load_for_messages(conn: &mut sqlx::PgConnection) -> sqlx::Result<PageData> {
    let configured = settings::configured_url(&mut *conn).await?;
    load_core(conn, "", configured.as_deref().unwrap_or(FALLBACK_URL)).await
}

/// One public incident with its details; `None` when it is not public.
pub async fn public_incident(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> sqlx::Result<Option<PublicIncident>> {
    let rows = public_incidents!("WHERE id = $1", id)
        .fetch_all(&mut *conn)
        .await?;
    let mut incidents = without_details(rows);
    attach_details(conn, &mut incidents).await?;
    Ok(incidents.pop())
}

/// Fill in the updates, affected components and public postmortem summaries of incidents.
pub async fn attach_details(
    conn: &mut sqlx::PgConnection,
    incidents: &mut [PublicIncident],
) -> sqlx::Result<()> {
    let ids: Vec<Uuid> = incidents.iter().map(|i| i.id).collect();
    let updates = sqlx::query_as!(
        UpdateRow,
        r#"SELECT p.id, p.incident_id, p.status AS "status: IncidentStatus", p.body, p.notify,
                  p.author_id, NULL::text AS author_name, p.affected_components, p.created_at,
                  p.updated_at, p.display_at
           FROM incident_updates p WHERE p.incident_id = ANY($1)
           ORDER BY p.display_at DESC, p.created_at DESC"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let links = sqlx::query!(
        "SELECT ic.incident_id, ic.component_id FROM incident_components ic
         JOIN components c ON c.id = ic.component_id
         WHERE ic.incident_id = ANY($1) ORDER BY c.position",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let public: Vec<(Uuid, PublicPostmortem)> = store::public_of(&mut *conn, &ids)
        .await?
        .into_iter()
        .map(|(incident_id, body, published_at)| {
            (incident_id, PublicPostmortem { body, published_at })
        })
        .collect();
    for incident in incidents.iter_mut() {
        incident.postmortem = public
            .iter()
            .find(|(id, _)| *id == incident.id)
            .map(|(_, p)| p.clone());
        incident.updates = updates
            .iter()
            .filter(|u| u.incident_id == incident.id)
            .cloned()
            .collect();
        incident.component_ids = links
            .iter()
            .filter(|l| l.incident_id == incident.id)
            .map(|l| l.component_id)
            .collect();
    }
    Ok(())
}

/// Maintenances with their updates and components (two queries for all).
pub async fn with_details(
    conn: &mut sqlx::PgConnection,
    rows: Vec<MaintenanceRow>,
) -> sqlx::Result<Vec<PublicMaintenance>> {
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let updates = maintenance::updates(&mut *conn, &ids).await?;
    let links = maintenance::component_links(&mut *conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| PublicMaintenance {
            updates: updates
                .iter()
                .filter(|u| u.maintenance_id == row.id)
                .cloned()
                .collect(),
            component_ids: links
                .iter()
                .filter(|(m, _)| *m == row.id)
                .map(|(_, c)| *c)
                .collect(),
            row,
        })
        .collect())
}

/// The last 90 days per component: rolled-up days where the roll-up has them, the rest
/// (today, and days the roll-up has not reached) from the history.
async fn load_uptime(
    conn: &mut sqlx::PgConnection,
    components: &[ComponentRow],
    now: OffsetDateTime,
) -> sqlx::Result<HashMap<Uuid, Vec<(Date, Option<DayBreakdown>)>>> {
    let today = now.date();
    let first = today - Duration::days(UPTIME_DAYS - 1);
    let rolled = uptime::days_since(&mut *conn, first).await?;
    let mut known: HashMap<(Uuid, Date), DayBreakdown> = HashMap::new();
    for (component, day, b) in rolled {
        known.insert((component, day), b);
    }
    // The oldest day any component still needs from the history.
    let mut earliest_missing = today;
    for c in components {
        let mut day = first;
        while day < today {
            if !known.contains_key(&(c.id, day)) && day >= c.created_at.date() {
                earliest_missing = earliest_missing.min(day);
                break;
            }
            day += Duration::days(1);
        }
    }
    let history = uptime::history_since(&mut *conn, utc_day(earliest_missing).0).await?;
    let mut by_component: HashMap<Uuid, Vec<(OffsetDateTime, ComponentStatus)>> = HashMap::new();
    for (component, at, status) in history {
        by_component
            .entry(component)
            .or_default()
            .push((at, status));
    }
    let mut out = HashMap::new();
    for c in components {
        let changes = by_component.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        let mut days = Vec::with_capacity(UPTIME_DAYS as usize);
        let mut day = first;
        while day <= today {
            let value = match known.get(&(c.id, day)) {
                Some(b) => Some(*b),
                None if day >= earliest_missing => {
                    let (start, end) = utc_day(day);
                    let b = breakdown(changes, start, end.min(now));
                    (b.tracked > 0).then_some(b)
                }
                None => None,
            };
            days.push((day, value));
            day += Duration::days(1);
        }
        out.insert(c.id, days);
    }
    Ok(out)
}
