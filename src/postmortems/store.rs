//! Postmortems, their templates and revisions, and action items with their change history.

use super::PostmortemEvent;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgExecutor};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::users::UserRow;
use crate::components::ComponentStatus;
use crate::incidents::{self, CommandError};
use crate::platform::text;
use crate::postmortems::draft::{self, Affected, Facts, ItemLine};
use crate::postmortems::{ActionKind, ActionPriority, ActionStatus, PostmortemStatus};

// --- Templates ------------------------------------------------------------------------

/// The "Standard" template shipped with Fireline: the default.
pub const STANDARD_TEMPLATE: Uuid = Uuid::from_u128(0x5f0c2a5e_0000_4000_8000_000000000001);

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub body: String,
    pub builtin: bool,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const TEMPLATE_COLUMNS: &str =
    "id, name, description, body, builtin, version, created_at, updated_at";

pub async fn templates(db: impl PgExecutor<'_>) -> Result<Vec<TemplateRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TEMPLATE_COLUMNS} FROM postmortem_templates ORDER BY builtin DESC, lower(name)"
    ))
    .fetch_all(db)
    .await
}

pub async fn template(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<TemplateRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TEMPLATE_COLUMNS} FROM postmortem_templates WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

fn check_template(name: &str, description: &str, body: &str) -> Result<(), CommandError> {
    if name.contains('\0') || body.contains('\0') {
        return Err(CommandError::invalid(
            "body",
            "The text contains a NUL character.",
        ));
    }
    if name.trim().is_empty() {
        return Err(CommandError::invalid(
            "name",
            "Give the template a name of 1 to 100 characters.",
        ));
    }
    text::NAME.check("name", name.trim())?;
    text::DESCRIPTION.check("description", description.trim())?;
    if body.trim().is_empty() {
        return Err(CommandError::invalid(
            "body",
            "A template needs a body of at most 100,000 characters.",
        ));
    }
    text::TEMPLATE.check("body", body)?;
    Ok(())
}

pub async fn insert_template(
    conn: &mut PgConnection,
    actor: &UserRow,
    name: &str,
    description: &str,
    body: &str,
) -> Result<TemplateRow, CommandError> {
    check_template(name, description, body)?;
    let row: Option<TemplateRow> = sqlx::query_as(&format!(
        "INSERT INTO postmortem_templates (id, name, description, body, created_by) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING {TEMPLATE_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(name.trim())
    .bind(description.trim())
    .bind(body)
    .bind(actor.id)
    .fetch_optional(conn)
    .await?;
    row.ok_or_else(|| CommandError::invalid("name", "A template with this name exists."))
}

pub async fn update_template(
    conn: &mut PgConnection,
    id: Uuid,
    version: i32,
    name: &str,
    description: &str,
    body: &str,
) -> Result<TemplateRow, CommandError> {
    check_template(name, description, body)?;
    let current = sqlx::query_scalar::<_, i32>(
        "SELECT version FROM postmortem_templates WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CommandError::NotFound)?;
    if version != current {
        return Err(CommandError::Stale {
            expected: version,
            current,
        });
    }
    let row = sqlx::query_as(&format!(
        "UPDATE postmortem_templates SET name = $2, description = $3, body = $4, \
             version = version + 1, updated_at = now() WHERE id = $1 RETURNING {TEMPLATE_COLUMNS}"
    ))
    .bind(id)
    .bind(name.trim())
    .bind(description.trim())
    .bind(body)
    .fetch_one(&mut *conn)
    .await;
    match row {
        Ok(row) => Ok(row),
        Err(err) if crate::platform::db::violated_constraint(&err).is_some() => Err(
            CommandError::invalid("name", "A template with this name exists."),
        ),
        Err(err) => Err(err.into()),
    }
}

/// Delete a template; the ones shipped with Fireline stay.
pub async fn delete_template(conn: &mut PgConnection, id: Uuid) -> Result<(), CommandError> {
    let builtin: bool =
        sqlx::query_scalar("SELECT builtin FROM postmortem_templates WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(CommandError::NotFound)?;
    if builtin {
        return Err(CommandError::invalid(
            "id",
            "The templates shipped with Fireline can be edited but not deleted.",
        ));
    }
    sqlx::query("DELETE FROM postmortem_templates WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

// --- Postmortems ----------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PostmortemRow {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub incident_number: i64,
    pub incident_title: String,
    pub incident_public: bool,
    pub template_id: Option<Uuid>,
    pub body: String,
    pub status: PostmortemStatus,
    /// The public summary is on the status page.
    pub public: bool,
    pub published_at: Option<OffsetDateTime>,
    /// Markdown written for customers: the only part that is ever public.
    pub public_summary: String,
    /// When the public summary last went out.
    pub public_summary_published_at: Option<OffsetDateTime>,
    /// The incident is on the status page (public and published).
    pub incident_on_page: bool,
    pub version: i32,
    pub created_by_name: Option<String>,
    pub updated_by_name: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl PostmortemRow {
    pub fn reference(&self) -> String {
        format!("INC-{}", self.incident_number)
    }

    /// Its public summary is shown on the status page: published, of an incident that is
    /// on the page.
    pub fn is_public(&self) -> bool {
        self.public && self.incident_on_page
    }
}

const SELECT: &str =
    "SELECT p.id, p.incident_id, i.number AS incident_number, i.title AS incident_title, \
     i.visibility = 'public' AS incident_public, p.template_id, p.body, p.status, p.public, \
     p.published_at, p.public_summary, p.public_summary_published_at, \
     (i.visibility = 'public' AND i.published_at IS NOT NULL) AS incident_on_page, p.version, c.name AS created_by_name, u.name AS updated_by_name, \
     p.created_at, p.updated_at \
     FROM postmortems p JOIN incidents i ON i.id = p.incident_id \
     LEFT JOIN users c ON c.id = p.created_by LEFT JOIN users u ON u.id = p.updated_by";

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<PostmortemRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn of_incident(
    db: impl PgExecutor<'_>,
    incident_id: Uuid,
) -> Result<Option<PostmortemRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE p.incident_id = $1"))
        .bind(incident_id)
        .fetch_optional(db)
        .await
}

/// Every postmortem, newest first.
pub async fn list(db: impl PgExecutor<'_>) -> Result<Vec<PostmortemRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} ORDER BY p.created_at DESC"))
        .fetch_all(db)
        .await
}

/// Everything a draft is made from, as `conn` sees it.
pub async fn facts(conn: &mut PgConnection, incident_id: Uuid) -> Result<Facts, CommandError> {
    let incident = incidents::find(&mut *conn, incident_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let events = incidents::events::all(&mut *conn, incident_id).await?;
    let workstreams = incidents::workstreams::list(&mut *conn, incident_id).await?;
    let tasks = incidents::workstreams::tasks_of(&mut *conn, &[incident_id]).await?;
    // Every component the incident touched, with the worst status it set.
    let touched: Vec<(Uuid, String, Option<ComponentStatus>)> = sqlx::query_as(
        "SELECT c.id, c.name, h.new_status FROM incident_components ic \
         JOIN components c ON c.id = ic.component_id \
         LEFT JOIN component_status_changes h ON h.component_id = c.id AND h.incident_id = ic.incident_id \
         WHERE ic.incident_id = $1 ORDER BY c.position, lower(c.name)",
    )
    .bind(incident_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut components: Vec<(Uuid, Affected)> = Vec::new();
    for (id, name, status) in touched {
        let status = status.unwrap_or(ComponentStatus::Operational);
        match components.iter_mut().find(|(c, _)| *c == id) {
            Some((_, a)) => a.worst = ComponentStatus::worst([a.worst, status]),
            None => components.push((
                id,
                Affected {
                    name,
                    worst: status,
                },
            )),
        }
    }
    let items = item_lines(&mut *conn, incident_id).await?;
    Ok(Facts {
        incident,
        events,
        workstreams,
        tasks,
        components: components.into_iter().map(|(_, a)| a).collect(),
        items,
    })
}

pub async fn item_lines(
    db: impl PgExecutor<'_>,
    incident_id: Uuid,
) -> Result<Vec<ItemLine>, sqlx::Error> {
    Ok(items_of_many(db, &[incident_id])
        .await?
        .into_iter()
        .map(|(_, line)| line)
        .collect())
}

/// The action items of several incidents at once: `(incident_id, line)`.
pub async fn items_of_many(
    db: impl PgExecutor<'_>,
    incident_ids: &[Uuid],
) -> Result<Vec<(Uuid, ItemLine)>, sqlx::Error> {
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "{ITEM_SELECT} WHERE a.incident_id = ANY($1) {ITEM_ORDER}"
    ))
    .bind(incident_ids)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.incident_id,
                ItemLine {
                    title: r.title,
                    priority: r.priority,
                    kind: r.kind,
                    owner: r.owner_name,
                    due_on: r.due_on,
                    status: r.status,
                    tracker_url: r.tracker_url,
                },
            )
        })
        .collect())
}

async fn revision(
    conn: &mut PgConnection,
    row: &PostmortemRow,
    actor: &UserRow,
    what: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO postmortem_revisions (postmortem_id, version, what, status, public, body, changed_by, public_summary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(row.id)
    .bind(row.version)
    .bind(what)
    .bind(row.status)
    .bind(row.public)
    .bind(&row.body)
    .bind(actor.id)
    .bind(&row.public_summary)
    .execute(conn)
    .await?;
    Ok(())
}

/// Start the postmortem of an incident from a template (the default one when `None`).
pub async fn start(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    template_id: Option<Uuid>,
) -> Result<PostmortemRow, CommandError> {
    incidents::lock(conn, incident_id).await?;
    if let Some(existing) = of_incident(&mut *conn, incident_id).await? {
        return Err(CommandError::invalid(
            "incident",
            format!(
                "{} already has a postmortem; open it instead.",
                existing.reference()
            ),
        ));
    }
    let template = match template_id {
        Some(id) => template(&mut *conn, id).await?.ok_or_else(|| {
            CommandError::invalid("template_id", format!("There is no template {id}."))
        })?,
        None => {
            let all = templates(&mut *conn).await?;
            let standard = all
                .iter()
                .position(|t| t.id == STANDARD_TEMPLATE)
                .unwrap_or(0);
            all.into_iter()
                .nth(standard)
                .ok_or_else(|| CommandError::invalid("template_id", "There are no templates."))?
        }
    };
    let facts = facts(conn, incident_id).await?;
    let body = draft::fill(&template.body, &facts);
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO postmortems (id, incident_id, template_id, body, created_by, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(id)
    .bind(incident_id)
    .bind(template.id)
    .bind(&body)
    .bind(actor.id)
    .execute(&mut *conn)
    .await?;
    let row = find(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    revision(
        conn,
        &row,
        actor,
        &format!("started from the template \"{}\"", template.name),
    )
    .await?;
    Ok(row)
}

/// Why a save was refused: someone saved in between.
pub struct Stale {
    pub current: PostmortemRow,
}

async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<PostmortemRow, CommandError> {
    sqlx::query("SELECT 1 FROM postmortems WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    find(&mut *conn, id).await?.ok_or(CommandError::NotFound)
}

/// What a change may set.
#[derive(Debug, Default, Clone)]
pub struct Change {
    pub body: Option<String>,
    pub status: Option<PostmortemStatus>,
    /// The text customers will read.
    pub public_summary: Option<String>,
    /// Publish the public summary on the status page (`true`), or take it off.
    pub public: Option<bool>,
    pub regenerate_timeline: bool,
}

/// Save a change made from `version`. A stale version is refused with the current row.
pub async fn change(
    conn: &mut PgConnection,
    actor: &UserRow,
    id: Uuid,
    version: i32,
    change: Change,
) -> Result<Result<PostmortemRow, Stale>, CommandError> {
    let current = lock(conn, id).await?;
    if current.version != version {
        return Ok(Err(Stale { current }));
    }
    let mut body = change.body.clone().unwrap_or_else(|| current.body.clone());
    text::POSTMORTEM.check("body", &body)?;
    if body.contains('\0') {
        return Err(CommandError::invalid(
            "body",
            "The text contains a NUL character.",
        ));
    }
    let mut what = Vec::new();
    if change.body.as_deref().is_some_and(|b| b != current.body) {
        what.push("edited the text".to_owned());
    }
    if change.regenerate_timeline {
        let facts = facts(conn, current.incident_id).await?;
        body = draft::regenerate_timeline(&body, &facts).ok_or_else(|| {
            CommandError::invalid(
                "body",
                format!(
                    "The generated timeline's markers ({} … {}) are no longer in the text, so it cannot be regenerated. Put them back around the timeline, or paste a fresh one.",
                    draft::TIMELINE_START,
                    draft::TIMELINE_END
                ),
            )
        })?;
        what.push("regenerated the timeline".to_owned());
    }
    let summary = change
        .public_summary
        .as_deref()
        .map(|s| s.replace("\r\n", "\n").trim().to_owned())
        .unwrap_or_else(|| current.public_summary.clone());
    valid_summary(&summary)?;
    let summary_edited = summary != current.public_summary;
    if summary_edited {
        what.push("edited the public summary".to_owned());
    }
    if change.public == Some(true) {
        if !current.incident_public {
            return Err(CommandError::invalid(
                "public",
                "This is an internal incident: nothing about it is ever shown on the status page.",
            ));
        }
        if !current.incident_on_page {
            return Err(CommandError::invalid(
                "public",
                "The incident is not on the status page yet: post its first public update before publishing a summary.",
            ));
        }
        if summary.is_empty() {
            return Err(CommandError::invalid(
                "public_summary",
                "Write the public summary first: only that text is shown to customers, never the postmortem itself.",
            ));
        }
    }
    // An incident made internal since takes its summary off the page, and so does
    // clearing its text.
    let public =
        change.public.unwrap_or(current.public) && current.incident_on_page && !summary.is_empty();
    if public && !current.public {
        what.push("published the public summary on the status page".to_owned());
    } else if !public && current.public {
        what.push("took the public summary off the status page".to_owned());
    } else if public && summary_edited {
        what.push("updated the public summary on the status page".to_owned());
    }
    let status = change.status.unwrap_or(current.status);
    if status != current.status {
        what.push(format!(
            "moved it from {} to {}",
            current.status.label().to_lowercase(),
            status.label().to_lowercase()
        ));
    }
    if what.is_empty() {
        return Ok(Ok(current));
    }
    sqlx::query(
        "UPDATE postmortems SET body = $2, status = $3, public = $4, version = version + 1, \
             published_at = CASE WHEN $3 = 'published' THEN coalesce(published_at, now()) END, \
             public_summary = $6, \
             public_summary_published_at = CASE WHEN NOT $4 THEN public_summary_published_at \
                 WHEN NOT public OR public_summary <> $6 THEN now() \
                 ELSE public_summary_published_at END, \
             updated_by = $5, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(&body)
    .bind(status)
    .bind(public)
    .bind(actor.id)
    .bind(&summary)
    .execute(&mut *conn)
    .await?;
    let row = find(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    revision(conn, &row, actor, &what.join("; ")).await?;
    if row.is_public() && !current.is_public() {
        PostmortemEvent::Published {
            incident_id: row.incident_id,
        }
        .record(conn)
        .await?;
    }
    Ok(Ok(row))
}

/// A public summary may be empty (not written yet); otherwise Markdown of at most
/// [`text::MARKDOWN`]'s length.
pub fn valid_summary(summary: &str) -> Result<(), CommandError> {
    Ok(text::MARKDOWN.check("public_summary", summary)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub version: i32,
    pub what: String,
    pub status: PostmortemStatus,
    pub changed_by_name: Option<String>,
    pub changed_at: OffsetDateTime,
}

pub async fn revisions(db: impl PgExecutor<'_>, id: Uuid) -> Result<Vec<RevisionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.version, r.what, r.status, u.name AS changed_by_name, r.changed_at \
         FROM postmortem_revisions r LEFT JOIN users u ON u.id = r.changed_by \
         WHERE r.postmortem_id = $1 ORDER BY r.id DESC",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

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

// --- Action items ----------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub incident_number: i64,
    pub incident_title: String,
    pub title: String,
    pub description: String,
    pub priority: ActionPriority,
    pub kind: ActionKind,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub due_on: Option<Date>,
    pub status: ActionStatus,
    pub tracker_url: Option<String>,
    pub source_event_id: Option<Uuid>,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

impl ItemRow {
    pub fn is_overdue(&self, today: Date) -> bool {
        crate::postmortems::is_overdue(self.status, self.due_on, today)
    }
}

const ITEM_SELECT: &str = "SELECT a.id, a.incident_id, i.number AS incident_number, \
     i.title AS incident_title, a.title, a.description, a.priority, a.kind, a.owner_id, \
     u.name AS owner_name, u.email AS owner_email, a.due_on, a.status, a.tracker_url, \
     a.source_event_id, a.version, a.created_at, a.updated_at, a.completed_at \
     FROM action_items a JOIN incidents i ON i.id = a.incident_id \
     LEFT JOIN users u ON u.id = a.owner_id";

/// Priority order: high first.
const ITEM_ORDER: &str =
    "ORDER BY CASE a.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, \
     a.due_on NULLS LAST, a.created_at";

pub async fn items_of(
    db: impl PgExecutor<'_>,
    incident_id: Uuid,
) -> Result<Vec<ItemRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{ITEM_SELECT} WHERE a.incident_id = $1 {ITEM_ORDER}"
    ))
    .bind(incident_id)
    .fetch_all(db)
    .await
}

pub async fn item(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<ItemRow>, sqlx::Error> {
    sqlx::query_as(&format!("{ITEM_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Filters of the list across incidents.
#[derive(Debug, Default, Clone)]
pub struct ItemFilter {
    pub priority: Option<ActionPriority>,
    pub status: Option<ActionStatus>,
    pub owner_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub overdue: bool,
}

pub async fn items(
    db: impl PgExecutor<'_>,
    filter: &ItemFilter,
    today: Date,
) -> Result<Vec<ItemRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{ITEM_SELECT} WHERE ($1::action_priority IS NULL OR a.priority = $1) \
           AND ($2::action_status IS NULL OR a.status = $2) \
           AND ($3::uuid IS NULL OR a.owner_id = $3) \
           AND ($4::uuid IS NULL OR a.incident_id = $4) \
           AND (NOT $5 OR (a.status IN ('open', 'in_progress') AND a.due_on < $6)) \
         {ITEM_ORDER} LIMIT 5000"
    ))
    .bind(filter.priority)
    .bind(filter.status)
    .bind(filter.owner_id)
    .bind(filter.incident_id)
    .bind(filter.overdue)
    .bind(today)
    .fetch_all(db)
    .await
}

/// An action item's fields, as given.
#[derive(Debug, Clone)]
pub struct ItemFields {
    pub title: String,
    pub description: String,
    pub priority: ActionPriority,
    pub kind: ActionKind,
    pub owner_id: Option<Uuid>,
    /// `None`: the priority's default.
    pub due_on: Option<Date>,
    pub status: ActionStatus,
    pub tracker_url: Option<String>,
}

fn check_item(fields: &ItemFields) -> Result<(), CommandError> {
    let texts = [
        fields.title.as_str(),
        fields.description.as_str(),
        fields.tracker_url.as_deref().unwrap_or(""),
    ];
    if texts.iter().any(|t| t.contains('\0')) {
        return Err(CommandError::invalid(
            "title",
            "The text contains a NUL character.",
        ));
    }
    let title = fields.title.trim();
    if title.is_empty() {
        return Err(CommandError::invalid(
            "title",
            "Give the action item a title of 1 to 300 characters.",
        ));
    }
    text::ACTION_TITLE.check("title", title)?;
    text::MARKDOWN.check("description", &fields.description)?;
    if let Some(url) = fields.tracker_url.as_deref().filter(|u| !u.is_empty()) {
        text::URL.check("tracker_url", url)?;
        let ok = url.len() <= 2000
            && url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return Err(CommandError::invalid(
                "tracker_url",
                "The tracker URL must be an http(s) link of at most 2,000 characters.",
            ));
        }
    }
    Ok(())
}

async fn check_owner(conn: &mut PgConnection, owner: Option<Uuid>) -> Result<(), CommandError> {
    if let Some(id) = owner {
        let user = crate::accounts::users::find(&mut *conn, id)
            .await?
            .ok_or_else(|| CommandError::invalid("owner_id", "There is no such user."))?;
        if user.is_disabled() {
            return Err(CommandError::invalid(
                "owner_id",
                format!("{} is disabled.", user.name),
            ));
        }
    }
    Ok(())
}

fn snapshot(row: &ItemRow) -> Value {
    json!({
        "title": row.title, "description": row.description, "priority": row.priority,
        "kind": row.kind, "owner": row.owner_name, "due_on": row.due_on.map(|d| d.to_string()),
        "status": row.status, "tracker_url": row.tracker_url,
    })
}

async fn record_change(
    conn: &mut PgConnection,
    item: Uuid,
    actor: &UserRow,
    changes: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO action_item_changes (action_item_id, changed_by, changes) VALUES ($1, $2, $3)",
    )
    .bind(item)
    .bind(actor.id)
    .bind(changes)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn create_item(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    fields: ItemFields,
    source_event_id: Option<Uuid>,
    today: Date,
) -> Result<ItemRow, CommandError> {
    check_item(&fields)?;
    check_owner(conn, fields.owner_id).await?;
    incidents::find(&mut *conn, incident_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if let Some(event) = source_event_id {
        let belongs: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM incident_events WHERE id = $1 AND incident_id = $2)",
        )
        .bind(event)
        .bind(incident_id)
        .fetch_one(&mut *conn)
        .await?;
        if !belongs {
            return Err(CommandError::invalid(
                "source_event_id",
                "That log entry is not in this incident.",
            ));
        }
    }
    let due = fields.due_on.or(fields.priority.default_due(today));
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO action_items (id, incident_id, title, description, priority, kind, owner_id, \
             due_on, status, tracker_url, source_event_id, created_by, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 CASE WHEN $9 IN ('done', 'wont_do') THEN now() END)",
    )
    .bind(id)
    .bind(incident_id)
    .bind(fields.title.trim())
    .bind(fields.description.trim())
    .bind(fields.priority)
    .bind(fields.kind)
    .bind(fields.owner_id)
    .bind(due)
    .bind(fields.status)
    .bind(
        fields
            .tracker_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty()),
    )
    .bind(source_event_id)
    .bind(actor.id)
    .execute(&mut *conn)
    .await?;
    let row = item(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    record_change(conn, id, actor, json!({ "created": snapshot(&row) })).await?;
    Ok(row)
}

/// Change an item read at `version`; a stale version is refused with the current row.
pub async fn update_item(
    conn: &mut PgConnection,
    actor: &UserRow,
    id: Uuid,
    version: i32,
    fields: ItemFields,
) -> Result<Result<ItemRow, ItemRow>, CommandError> {
    sqlx::query("SELECT 1 FROM action_items WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let current = item(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    if current.version != version {
        return Ok(Err(current));
    }
    check_item(&fields)?;
    if fields.owner_id != current.owner_id {
        check_owner(conn, fields.owner_id).await?;
    }
    sqlx::query(
        "UPDATE action_items SET title = $2, description = $3, priority = $4, kind = $5, \
             owner_id = $6, due_on = $7, status = $8, tracker_url = $9, version = version + 1, \
             updated_at = now(), \
             completed_at = CASE WHEN $8 IN ('done', 'wont_do') THEN coalesce(completed_at, now()) END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(fields.title.trim())
    .bind(fields.description.trim())
    .bind(fields.priority)
    .bind(fields.kind)
    .bind(fields.owner_id)
    .bind(fields.due_on)
    .bind(fields.status)
    .bind(fields.tracker_url.as_deref().map(str::trim).filter(|u| !u.is_empty()))
    .execute(&mut *conn)
    .await?;
    let row = item(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    let (old, new) = (snapshot(&current), snapshot(&row));
    let mut changes = serde_json::Map::new();
    if let (Some(old), Some(new)) = (old.as_object(), new.as_object()) {
        for (field, value) in new {
            if old.get(field) != Some(value) {
                changes.insert(
                    field.clone(),
                    json!({ "old": old.get(field), "new": value }),
                );
            }
        }
    }
    if !changes.is_empty() {
        record_change(conn, id, actor, Value::Object(changes)).await?;
    }
    Ok(Ok(row))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemChangeRow {
    pub changed_by_name: Option<String>,
    pub changed_at: OffsetDateTime,
    pub changes: Value,
}

pub async fn item_changes(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Vec<ItemChangeRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.name AS changed_by_name, c.changed_at, c.changes FROM action_item_changes c \
         LEFT JOIN users u ON u.id = c.changed_by WHERE c.action_item_id = $1 ORDER BY c.id DESC",
    )
    .bind(id)
    .fetch_all(db)
    .await
}
