//! The public summary of a postmortem: the text written for customers, the only part of a
//! postmortem that ever reaches the status page. Written with a preview of exactly what
//! the public incident page will show, reviewed on a confirmation page, then published;
//! every step is on the postmortem's record.

use askama::Template;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::Reply;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{AsResponder, CsrfForm, Path, Staff};
use crate::http::page::{render_admin, render_admin_status, render_refused, Layout};
use crate::incidents::CommandError;
use crate::platform::markdown;
use crate::postmortems::draft;
use crate::postmortems::store as pm;
use crate::postmortems::store::{PostmortemChanges, PostmortemRow};

#[derive(Template)]
#[template(path = "admin/public_summary.html")]
struct EditPage {
    layout: Layout,
    draft: Draft,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/public_summary_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    draft: Draft,
}

/// A summary being written or reviewed, with its postmortem and how it will read.
struct Draft {
    p: PostmortemRow,
    /// The name customers know the incident by.
    public_title: String,
    summary: String,
    /// The postmortem's version the text was written against.
    version: i32,
    preview: String,
    /// The page customers read it on.
    public_path: String,
}

impl Draft {
    fn new((p, public_title): (PostmortemRow, String), summary: String, version: i32) -> Self {
        Draft {
            public_title,
            preview: markdown::render(&summary),
            summary,
            version,
            public_path: format!("/incidents/{}", p.incident_id),
            p,
        }
    }
}

async fn find(state: &AppState, id: Uuid) -> Result<(PostmortemRow, String), AppError> {
    let p = pm::find(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such postmortem.".into()))?;
    let incident = crate::incidents::find(&state.pool, p.incident_id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such incident.".into()))?;
    Ok((p, incident.public_name().to_owned()))
}

/// The editor with `summary` and its preview, and what was wrong with it.
fn edit_page(
    staff: &Staff<AsResponder>,
    (p, public_title): (PostmortemRow, String),
    summary: String,
    error: Option<String>,
) -> EditPage {
    let title = format!("Public summary of {}", p.reference());
    let version = p.version;
    EditPage {
        layout: Layout::of(staff, &title, "Postmortems"),
        draft: Draft::new((p, public_title), summary, version),
        error,
    }
}

/// The editor, with the saved summary or, before there is one, a starter for customers.
pub async fn edit_public_summary(staff: Staff<AsResponder>, Path(id): Path<Uuid>) -> Reply {
    let found = find(&staff.state, id).await?;
    let summary = if found.0.public_summary.is_empty() {
        let mut conn = staff.state.pool.acquire().await?;
        let facts = pm::facts(&mut conn, found.0.incident_id).await?;
        draft::public_summary_starter(&facts)
    } else {
        found.0.public_summary.clone()
    };
    let page = edit_page(&staff, found, summary, None);
    render_admin(&staff.state, &page.layout, &page)
}

#[derive(Deserialize)]
pub struct SummaryForm {
    #[serde(default)]
    public_summary: String,
    version: i32,
    #[serde(default)]
    action: String,
}

impl SummaryForm {
    /// The summary as typed, with the browser's line ends made plain.
    fn text(&self) -> String {
        self.public_summary.replace("\r\n", "\n")
    }
}

/// Save the draft, show it for review before it goes out, or (back from the review)
/// edit it again.
pub async fn save_public_summary(
    staff: Staff<AsResponder>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<SummaryForm>,
) -> Reply {
    let summary = form.text();
    let (p, public_title) = find(&staff.state, id).await?;
    if form.action == "edit" {
        let page = edit_page(&staff, (p, public_title), summary, None);
        return render_admin(&staff.state, &page.layout, &page);
    }
    // A summary on the status page changes only through the confirmation step.
    if form.action == "review" || p.is_public() {
        if let Err(message) = reviewable(&p, &summary) {
            let page = edit_page(&staff, (p, public_title), summary, Some(message));
            return render_refused(&staff.state, &page.layout, &page);
        }
        let title = format!("Publish the public summary of {}", p.reference());
        let page = ConfirmPage {
            layout: Layout::of(&staff, &title, "Postmortems"),
            draft: Draft::new((p, public_title), summary, form.version),
        };
        return render_admin(&staff.state, &page.layout, &page);
    }
    let change = PostmortemChanges {
        public_summary: Some(summary),
        ..PostmortemChanges::default()
    };
    apply(&staff, (id, form.version), change, "Public summary saved.").await
}

/// Publish the reviewed text on the status page.
pub async fn publish_public_summary(
    staff: Staff<AsResponder>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<SummaryForm>,
) -> Reply {
    set_public(&staff, (id, form.version), Some(form.text())).await
}

#[derive(Deserialize)]
pub struct VersionForm {
    version: i32,
}

/// Take the public summary off the status page (the text stays, for later).
pub async fn unpublish_public_summary(
    staff: Staff<AsResponder>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<VersionForm>,
) -> Reply {
    set_public(&staff, (id, form.version), None).await
}

/// Put the summary on the status page (with the text as reviewed), or, without a text,
/// take it off.
async fn set_public(staff: &Staff<AsResponder>, at: (Uuid, i32), text: Option<String>) -> Reply {
    let public = text.is_some();
    let message = if public {
        "The public summary is on the status page."
    } else {
        "The public summary is off the status page."
    };
    let change = PostmortemChanges {
        public_summary: text,
        public: Some(public),
        ..PostmortemChanges::default()
    };
    apply(staff, at, change, message).await
}

/// Why the text cannot be published as it stands, said before the confirmation step.
fn reviewable(p: &PostmortemRow, summary: &str) -> Result<(), String> {
    if !p.incident_public {
        return Err(
            "This is an internal incident: nothing about it is ever shown on the status page."
                .into(),
        );
    }
    if !p.incident_on_page {
        return Err("The incident is not on the status page yet: post its first public update before publishing a summary.".into());
    }
    if summary.trim().is_empty() {
        return Err("Write the summary customers will read first.".into());
    }
    pm::valid_summary(summary.trim()).map_err(|e| e.to_string())
}

/// Run one change; a stale version or bad input comes back to the editor with the text
/// kept.
async fn apply(
    staff: &Staff<AsResponder>,
    (id, version): (Uuid, i32),
    change: PostmortemChanges,
    message: &str,
) -> Reply {
    // What the editor shows again if the change is refused: the text as sent, or as saved.
    let sent = change.public_summary.clone();
    let mut tx = staff.begin().await?;
    let (status, error) = match pm::change(&mut tx, &staff.user.user, id, version, change).await {
        Ok(Ok(row)) => {
            let to = format!("/admin/postmortems/{}#public-summary", row.id);
            return staff.commit_and_flash(tx, &to, message).await;
        }
        Ok(Err(stale)) => (
            StatusCode::CONFLICT,
            format!(
                "{} saved this postmortem in the meantime (it is now at version {}). Nothing was published or saved; your text is kept below. Check it and try again.",
                stale.current.updated_by_name.as_deref().unwrap_or("Someone"),
                stale.current.version
            ),
        ),
        Err(CommandError::Invalid { message, .. }) => (StatusCode::UNPROCESSABLE_ENTITY, message),
        Err(err) => return Err(err.into()),
    };
    drop(tx);
    let found = find(&staff.state, id).await?;
    let summary = sent.unwrap_or_else(|| found.0.public_summary.clone());
    let page = edit_page(staff, found, summary, Some(error));
    render_admin_status(&staff.state, &page.layout, &page, status)
}
