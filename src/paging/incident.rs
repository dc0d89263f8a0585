//! A page and the incident it leads to. Whoever acknowledged the page leads the incident
//! declared from its group (and takes command of one a routing rule declared before
//! anybody answered); whoever was paged first writes the report, and the dashboard
//! lists the paged incidents whose report is still missing.
//!
//! Lock order, as everywhere: the group's row, then the incident's.

use serde_json::json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::alerts::incident_link::{self, Declaration, LinkError};
use crate::incidents::{self, AlertEntry, IncidentRow, Severity};
use crate::platform::command::CommandError;

/// Whom a group's pages reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageRoles {
    /// The person who acknowledged its latest acknowledged page.
    pub acknowledger: Option<Uuid>,
    /// The first person any of its pages paged.
    pub paged_first: Option<Uuid>,
}

impl PageRoles {
    /// Who writes the report: the person paged, else the one who answered before
    /// anybody was paged (during the countdown).
    pub fn report_owner(&self) -> Option<Uuid> {
        self.paged_first.or(self.acknowledger)
    }
}

pub async fn roles(db: impl PgExecutor<'_>, group_id: Uuid) -> sqlx::Result<PageRoles> {
    let row = sqlx::query!(
        r#"SELECT
             (SELECT p.acknowledged_by FROM pages p
              WHERE p.alert_group_id = $1 AND p.acknowledged_by IS NOT NULL
              ORDER BY p.acknowledged_at DESC LIMIT 1) AS acknowledger,
             (SELECT r.user_id FROM page_recipients r JOIN pages p ON p.id = r.page_id
              WHERE p.alert_group_id = $1
              ORDER BY r.paged_at, r.user_id LIMIT 1) AS paged_first"#,
        group_id
    )
    .fetch_one(db)
    .await?;
    Ok(PageRoles {
        acknowledger: row.acknowledger,
        paged_first: row.paged_first,
    })
}

/// `user`, if they may lead an incident (an enabled responder or admin).
async fn may_lead(conn: &mut PgConnection, user: Option<Uuid>) -> sqlx::Result<Option<Uuid>> {
    let Some(user) = user else { return Ok(None) };
    match incidents::responder(conn, user, "leader_id").await {
        Ok(row) => Ok(Some(row.id)),
        Err(CommandError::Db(err)) => Err(err),
        Err(_) => Ok(None),
    }
}

/// Declare an incident from the group (a person's declaration): the acknowledger of its
/// page leads it, and the person paged writes the report.
pub async fn declare_from_group(
    conn: &mut PgConnection,
    actor: &crate::accounts::users::UserRow,
    group_id: Uuid,
    mut declaration: Declaration,
) -> Result<IncidentRow, LinkError> {
    // The group is locked first, before its pages are read.
    crate::alerts::groups::lock(&mut *conn, group_id).await?;
    let roles = roles(&mut *conn, group_id).await?;
    if declaration.leader_id.is_none() {
        declaration.leader_id = may_lead(conn, roles.acknowledger).await?;
    }
    let incident = incident_link::declare_from_group(conn, actor, group_id, declaration).await?;
    follow(conn, group_id, incident, roles).await
}

/// Attach the group to an incident; the incident's report goes to the person its page
/// reached, unless someone has it already.
pub async fn attach(
    conn: &mut PgConnection,
    actor: &crate::accounts::users::UserRow,
    group_id: Uuid,
    incident_id: Uuid,
) -> Result<IncidentRow, LinkError> {
    let incident = incident_link::attach(conn, actor, group_id, incident_id).await?;
    let roles = roles(&mut *conn, group_id).await?;
    follow(conn, group_id, incident, roles).await
}

async fn follow(
    conn: &mut PgConnection,
    group_id: Uuid,
    incident: IncidentRow,
    roles: PageRoles,
) -> Result<IncidentRow, LinkError> {
    let Some(owner) = roles.report_owner() else {
        return Ok(incident);
    };
    assign_report(conn, group_id, incident.id, owner).await?;
    incidents::find(&mut *conn, incident.id)
        .await?
        .ok_or(LinkError::Command(CommandError::NotFound))
}

/// The group's incident, if it has one (the group is locked by the caller).
async fn incident_of(conn: &mut PgConnection, group_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "SELECT incident_id FROM alert_groups WHERE id = $1",
        group_id
    )
    .fetch_one(conn)
    .await
}

/// The report of the incident goes to `owner` unless it has an owner; the log says why.
async fn assign_report(
    conn: &mut PgConnection,
    group_id: Uuid,
    incident_id: Uuid,
    owner: Uuid,
) -> sqlx::Result<()> {
    if !incidents::assign_report(&mut *conn, incident_id, owner).await? {
        return Ok(());
    }
    let group = sqlx::query!(
        "SELECT g.number, u.name FROM alert_groups g, users u WHERE g.id = $1 AND u.id = $2",
        group_id,
        owner
    )
    .fetch_one(&mut *conn)
    .await?;
    let reference = crate::alerts::commands::reference(group.number);
    let entry = AlertEntry {
        incident_id,
        joined: false,
        author_id: None,
        body: format!(
            "{} was paged for {reference} and writes the incident report.",
            group.name
        ),
        data: json!({
            "group_id": group_id,
            "number": group.number,
            "transition": "report_assigned",
            "report_owner": { "id": owner, "name": group.name },
        }),
        occurred_at: OffsetDateTime::now_utc(),
    };
    incidents::record_alert_event(conn, entry).await?;
    Ok(())
}

/// People were paged for the group (locked): its incident's report goes to the first of
/// them unless it has an owner.
pub async fn paged(conn: &mut PgConnection, group_id: Uuid, paged: &[Uuid]) -> sqlx::Result<()> {
    let (Some(first), Some(incident_id)) = (paged.first(), incident_of(conn, group_id).await?)
    else {
        return Ok(());
    };
    assign_report(conn, group_id, incident_id, *first).await
}

/// `user` acknowledged the group's (locked) page. An incident a routing rule declared for
/// the group, still led by the rule's owner because no person chose a leader, is now led
/// by them; its report goes to them if nobody was paged.
pub async fn acknowledged(conn: &mut PgConnection, group_id: Uuid, user: Uuid) -> sqlx::Result<()> {
    let Some(incident_id) = incident_of(conn, group_id).await? else {
        return Ok(());
    };
    assign_report(conn, group_id, incident_id, user).await?;
    let incident = match incidents::lock(conn, incident_id).await {
        Ok(incident) => incident,
        Err(CommandError::Db(err)) => return Err(err),
        Err(_) => return Ok(()),
    };
    if incident.leader_id == user || !led_by_rule(&mut *conn, incident.id).await? {
        return Ok(());
    }
    let Some(leader) = may_lead(conn, Some(user)).await? else {
        return Ok(());
    };
    let Some(actor) = crate::accounts::users::find(&mut *conn, leader).await? else {
        return Ok(());
    };
    match incidents::hand_over(conn, &actor, incident.id, leader).await {
        Ok(_) => Ok(()),
        Err(CommandError::Db(err)) => Err(err),
        // A refusal (a closed incident, say) leaves the command where it is.
        Err(_) => Ok(()),
    }
}

/// A rule declared the incident and nobody has changed its command since.
async fn led_by_rule(conn: &mut PgConnection, incident_id: Uuid) -> sqlx::Result<bool> {
    let row = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM incident_events
                          WHERE incident_id = $1 AND kind = 'declared' AND author_id IS NULL)
              AND NOT EXISTS (SELECT 1 FROM incident_events
                              WHERE incident_id = $1 AND kind = 'command_changed'
                                AND data->>'role' = 'incident') AS "led_by_rule!""#,
        incident_id
    )
    .fetch_one(conn)
    .await?;
    Ok(row)
}

/// An incident a page led to whose report is not published yet.
#[derive(Debug, Clone)]
pub struct UnreportedIncident {
    pub incident_id: Uuid,
    pub number: i64,
    pub title: String,
    pub severity: Severity,
    pub resolved_at: Option<OffsetDateTime>,
    pub report_owner_name: Option<String>,
    pub postmortem_id: Option<Uuid>,
}

/// Resolved incidents that a page led to (someone was paged for one of their groups)
/// and that have no published report yet, oldest first.
pub async fn unreported(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<UnreportedIncident>> {
    sqlx::query_as!(
        UnreportedIncident,
        r#"SELECT i.id AS incident_id, i.number, i.title,
                  i.severity AS "severity: Severity", i.resolved_at,
                  (SELECT o.name FROM users o WHERE o.id = i.report_owner_id)
                      AS report_owner_name,
                  pm.id AS "postmortem_id?"
           FROM incidents i LEFT JOIN postmortems pm ON pm.incident_id = i.id
           WHERE i.status = 'resolved'
             AND (pm.id IS NULL OR pm.status <> 'published')
             AND EXISTS (SELECT 1 FROM alert_groups g JOIN pages p ON p.alert_group_id = g.id
                         JOIN page_recipients r ON r.page_id = p.id
                         WHERE g.incident_id = i.id)
           ORDER BY i.resolved_at, i.number"#
    )
    .fetch_all(db)
    .await
}
