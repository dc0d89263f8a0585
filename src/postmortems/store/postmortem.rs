//! A postmortem: started from a template, changed at a version, with its revisions.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::facts::facts;
use super::templates::{template, templates, STANDARD_TEMPLATE};
use crate::accounts::users::UserRow;
use crate::incidents::{self, CommandError};
use crate::platform::text;
use crate::postmortems::draft;
use crate::postmortems::{PostmortemEvent, PostmortemStatus};

#[derive(Debug, Clone)]
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

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<PostmortemRow>> {
    Ok(select(db, Some(id), None).await?.into_iter().next())
}

pub async fn of_incident(
    db: impl PgExecutor<'_>,
    incident_id: Uuid,
) -> sqlx::Result<Option<PostmortemRow>> {
    Ok(select(db, None, Some(incident_id))
        .await?
        .into_iter()
        .next())
}

/// Every postmortem, newest first.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<PostmortemRow>> {
    select(db, None, None).await
}

/// The postmortems, newest first: the one `id`, the one of `incident_id`, or all.
async fn select(
    db: impl PgExecutor<'_>,
    id: Option<Uuid>,
    incident_id: Option<Uuid>,
) -> sqlx::Result<Vec<PostmortemRow>> {
    sqlx::query_as!(
        PostmortemRow,
        "SELECT p.id, p.incident_id, i.number AS incident_number, i.title AS incident_title, \
             i.visibility = 'public' AS \"incident_public!\", p.template_id, p.body, \
             p.status AS \"status: PostmortemStatus\", p.public, p.published_at, \
             p.public_summary, p.public_summary_published_at, \
             (i.visibility = 'public' AND i.published_at IS NOT NULL) AS \"incident_on_page!\", \
             p.version, c.name AS \"created_by_name?\", u.name AS \"updated_by_name?\", \
             p.created_at, p.updated_at \
         FROM postmortems p JOIN incidents i ON i.id = p.incident_id \
         LEFT JOIN users c ON c.id = p.created_by LEFT JOIN users u ON u.id = p.updated_by \
         WHERE ($1::uuid IS NULL OR p.id = $1) AND ($2::uuid IS NULL OR p.incident_id = $2) \
         ORDER BY p.created_at DESC",
        id,
        incident_id
    )
    .fetch_all(db)
    .await
}

async fn revision(
    conn: &mut PgConnection,
    row: &PostmortemRow,
    actor: &UserRow,
    what: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO postmortem_revisions (postmortem_id, version, what, status, public, body, changed_by, public_summary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        row.id,
        row.version,
        what,
        row.status as PostmortemStatus,
        row.public,
        &row.body,
        actor.id,
        &row.public_summary
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Start the postmortem of an incident from a template (the default one when `None`).
#[tracing::instrument(skip_all, fields(incident = %incident_id, actor = %actor.id))]
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
    sqlx::query!(
        "INSERT INTO postmortems (id, incident_id, template_id, body, created_by, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $5)",
        id,
        incident_id,
        template.id,
        &body,
        actor.id
    )
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
    sqlx::query!(
        "SELECT 1 AS one FROM postmortems WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    find(&mut *conn, id).await?.ok_or(CommandError::NotFound)
}

/// What a change may set.
#[derive(Debug, Default, Clone)]
pub struct PostmortemChanges {
    pub body: Option<String>,
    pub status: Option<PostmortemStatus>,
    /// The text customers will read.
    pub public_summary: Option<String>,
    /// Publish the public summary on the status page (`true`), or take it off.
    pub public: Option<bool>,
    pub regenerate_timeline: bool,
}

/// Save a change made from `version`. A stale version is refused with the current row.
#[tracing::instrument(skip_all, fields(postmortem = %id, version = version, actor = %actor.id))]
pub async fn change(
    conn: &mut PgConnection,
    actor: &UserRow,
    id: Uuid,
    version: i32,
    change: PostmortemChanges,
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
    sqlx::query!(
        "UPDATE postmortems SET body = $2, status = $3, public = $4, version = version + 1, \
             published_at = CASE WHEN $3::postmortem_status = 'published' THEN coalesce(published_at, now()) END, \
             public_summary = $6, \
             public_summary_published_at = CASE WHEN NOT $4 THEN public_summary_published_at \
                 WHEN NOT public OR public_summary <> $6 THEN now() \
                 ELSE public_summary_published_at END, \
             updated_by = $5, updated_at = now() WHERE id = $1",
        id,
        &body,
        status as PostmortemStatus,
        public,
        actor.id,
        &summary
    )
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

#[derive(Debug, Clone)]
pub struct RevisionRow {
    pub version: i32,
    pub what: String,
    pub status: PostmortemStatus,
    pub changed_by_name: Option<String>,
    pub changed_at: OffsetDateTime,
}

pub async fn revisions(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Vec<RevisionRow>> {
    sqlx::query_as!(
        RevisionRow,
        "SELECT r.version, r.what, r.status AS \"status: PostmortemStatus\", \
             u.name AS \"changed_by_name?\", r.changed_at \
         FROM postmortem_revisions r LEFT JOIN users u ON u.id = r.changed_by \
         WHERE r.postmortem_id = $1 ORDER BY r.id DESC",
        id
    )
    .fetch_all(db)
    .await
}
