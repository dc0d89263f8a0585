//! Postmortems in the admin UI: the list with status and age, starting one from an
//! incident, reading (print-friendly), editing with preview and versions, regenerating
//! the timeline, review and publishing, the Markdown download, and the templates.

mod templates;
pub use templates::*;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

use super::action_items::{rows, Row};
use super::incidents::{incident_path, load, refusal, Posted, Reply};
use crate::accounts::Role;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{AsResponder, Path, Staff};
use crate::http::page::{render_admin, render_admin_status, Layout};
use crate::incidents::format_duration;
use crate::platform::markdown;
use crate::postmortems::draft;
use crate::postmortems::store as pm;
use crate::postmortems::store::{PostmortemChanges, PostmortemRow};
use crate::postmortems::PostmortemStatus;

pub struct PostmortemLine {
    pub id: Uuid,
    pub reference: String,
    pub title: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub age: String,
    pub updated: super::Stamp,
    pub updated_by: String,
    pub public: bool,
}

fn status_class(status: PostmortemStatus) -> &'static str {
    match status {
        PostmortemStatus::Draft => "warn",
        PostmortemStatus::InReview => "",
        PostmortemStatus::Published => "ok",
    }
}

#[derive(Template)]
#[template(path = "admin/postmortems.html")]
struct ListPage {
    layout: Layout,
    postmortems: Vec<PostmortemLine>,
    missing: Vec<MissingLine>,
}

pub struct MissingLine {
    pub reference: String,
    pub title: String,
    pub severity: &'static str,
    pub resolved_ago: String,
    pub state: String,
    pub href: String,
}

/// SEV1/SEV2 incidents resolved more than five days ago without a published postmortem.
pub async fn missing_lines(state: &AppState) -> Result<Vec<MissingLine>, AppError> {
    let now = time::OffsetDateTime::now_utc();
    Ok(pm::missing(&state.pool)
        .await?
        .into_iter()
        .map(|m| MissingLine {
            reference: format!("INC-{}", m.number),
            title: m.title,
            severity: m.severity.label(),
            resolved_ago: format_duration(now - m.resolved_at),
            state: match m.postmortem_status {
                None => "not started".into(),
                Some(s) => s.label().to_lowercase(),
            },
            href: match m.postmortem_id {
                Some(id) => format!("/admin/postmortems/{id}"),
                None => format!("/admin/incidents/INC-{}", m.number),
            },
        })
        .collect())
}

/// A resolved incident a page led to, still without a published report.
pub struct PagedLine {
    pub reference: String,
    pub title: String,
    pub severity: &'static str,
    pub resolved_ago: String,
    /// Who was paged and writes it; "nobody yet" when no one has it.
    pub owner: String,
    pub href: String,
}

/// Resolved incidents that paged someone, without a published report, oldest first.
pub async fn paged_lines(state: &AppState) -> Result<Vec<PagedLine>, AppError> {
    let now = time::OffsetDateTime::now_utc();
    Ok(crate::paging::incident::unreported(&state.pool)
        .await?
        .into_iter()
        .map(|m| PagedLine {
            reference: format!("INC-{}", m.number),
            title: m.title,
            severity: m.severity.label(),
            resolved_ago: m
                .resolved_at
                .map_or_else(String::new, |at| format_duration(now - at)),
            owner: m.report_owner_name.unwrap_or_else(|| "nobody yet".into()),
            href: match m.postmortem_id {
                Some(id) => format!("/admin/postmortems/{id}"),
                None => format!("/admin/incidents/INC-{}", m.number),
            },
        })
        .collect())
}

pub async fn list_postmortems(
    Staff {
        state, user, jar, ..
    }: Staff,
) -> Reply {
    let now = time::OffsetDateTime::now_utc();
    let postmortems = pm::list(&state.pool)
        .await?
        .into_iter()
        .map(|p| PostmortemLine {
            id: p.id,
            reference: p.reference(),
            title: p.incident_title.clone(),
            status: p.status.label(),
            status_class: status_class(p.status),
            age: format_duration(now - p.created_at),
            updated: super::stamp(p.updated_at),
            updated_by: p.updated_by_name.clone().unwrap_or_default(),
            public: p.is_public(),
        })
        .collect();
    let page = ListPage {
        layout: Layout::new(&state, &user, &jar, "Postmortems", "Postmortems"),
        postmortems,
        missing: missing_lines(&state).await?,
    };
    render_admin(&state, &page.layout, &page)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StartForm {
    template_id: String,
}

/// Start the postmortem of an incident (from its page).
pub async fn start_postmortem(Posted { s, at, form }: Posted<String, StartForm>) -> Reply {
    let incident = load(&s.state, &at).await?;
    let template = Uuid::parse_str(form.template_id.trim()).ok();
    let mut tx = s.begin().await?;
    match refusal(pm::start(&mut tx, &s.user.user, incident.id, template).await)? {
        Ok(row) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/admin/postmortems/{}/edit", row.id)).into_response())
        }
        Err(message) => Ok(s.flash(&incident_path(&incident), &message)),
    }
}

pub struct RevisionLine {
    pub version: i32,
    pub what: String,
    pub who: String,
    pub when: super::Stamp,
}

#[derive(Template)]
#[template(path = "admin/postmortem.html")]
struct ShowPage {
    layout: Layout,
    p: PostmortemRow,
    status_label: &'static str,
    status_class: &'static str,
    html: String,
    incident_path: String,
    revisions: Vec<RevisionLine>,
    items: Vec<Row>,
    can_respond: bool,
    error: Option<String>,
    /// The status choices: (value, label, current).
    statuses: Vec<(&'static str, &'static str, bool)>,
    /// The public summary, rendered as customers will see it.
    summary_html: String,
    summary_published: Option<super::Stamp>,
    /// Who writes it: the person paged, when a page led to the incident.
    report_owner: Option<String>,
}

async fn find(state: &AppState, id: Uuid) -> Result<PostmortemRow, AppError> {
    pm::find(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such postmortem.".into()))
}

async fn show_page<R>(
    s: &Staff<R>,
    p: PostmortemRow,
    error: Option<String>,
) -> Result<ShowPage, AppError> {
    let (state, user) = (&s.state, &s.user);
    let body = draft::strip_markers(&pm::current_body(&state.pool, &p).await?);
    let revisions = pm::revisions(&state.pool, p.id)
        .await?
        .into_iter()
        .map(|r| RevisionLine {
            version: r.version,
            what: r.what,
            who: r.changed_by_name.unwrap_or_else(|| "someone".into()),
            when: super::stamp(r.changed_at),
        })
        .collect();
    let items = rows(
        pm::items_of(&state.pool, p.incident_id).await?,
        crate::postmortems::today(),
    );
    let report_owner = crate::incidents::find(&state.pool, p.incident_id)
        .await?
        .and_then(|i| i.report_owner_name);
    Ok(ShowPage {
        report_owner,
        layout: Layout::new(
            state,
            user,
            &s.jar,
            &format!("Postmortem {}", p.reference()),
            "Postmortems",
        ),
        status_label: p.status.label(),
        status_class: status_class(p.status),
        html: markdown::render(&body),
        incident_path: format!("/admin/incidents/{}", p.reference()),
        revisions,
        items,
        can_respond: user.can(Role::Responder),
        error,
        statuses: PostmortemStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label(), *s == p.status))
            .collect(),
        summary_html: markdown::render(&p.public_summary),
        summary_published: p.public_summary_published_at.map(super::stamp),
        p,
    })
}

pub async fn show_postmortem(s: Staff, Path(id): Path<Uuid>) -> Reply {
    let page = show_page(&s, find(&s.state, id).await?, None).await?;
    render_admin(&s.state, &page.layout, &page)
}

#[derive(Template)]
#[template(path = "admin/postmortem_edit.html")]
struct EditPage {
    layout: Layout,
    p: PostmortemRow,
    body: String,
    version: i32,
    preview: String,
    conflict: Option<Conflict>,
    error: Option<String>,
}

/// What the editor shows when someone saved in between.
pub struct Conflict {
    pub message: String,
    pub current_body: String,
}

/// The editor with `body` as typed; the form edits the postmortem's current version.
async fn editor(
    s: &Staff<AsResponder>,
    p: PostmortemRow,
    body: String,
    conflict: Option<Conflict>,
    error: Option<String>,
    status: StatusCode,
) -> Reply {
    let page = EditPage {
        layout: Layout::new(
            &s.state,
            &s.user,
            &s.jar,
            &format!("Edit postmortem {}", p.reference()),
            "Postmortems",
        ),
        preview: markdown::render(&draft::strip_markers(&body)),
        body,
        version: p.version,
        conflict,
        error,
        p,
    };
    render_admin_status(&s.state, &page.layout, &page, status)
}

pub async fn edit_postmortem(s: Staff<AsResponder>, Path(id): Path<Uuid>) -> Reply {
    let p = find(&s.state, id).await?;
    let body = p.body.clone();
    editor(&s, p, body, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct SaveForm {
    version: i32,
    #[serde(default)]
    body: String,
    #[serde(default)]
    action: String,
}

/// Save the text (or regenerate the timeline with it); stale versions come back with both
/// texts and a message.
pub async fn save_postmortem(Posted { s, at: id, form }: Posted<Uuid, SaveForm>) -> Reply {
    let body = form.body.replace("\r\n", "\n");
    let regenerate = form.action == "regenerate";
    let change = PostmortemChanges {
        body: Some(body.clone()),
        regenerate_timeline: regenerate,
        ..PostmortemChanges::default()
    };
    let mut tx = s.begin().await?;
    let result = pm::change(&mut tx, &s.user.user, id, form.version, change).await;
    let (status, conflict, error) = match refusal(result)? {
        Ok(Ok(row)) if regenerate => {
            let to = format!("/admin/postmortems/{}/edit", row.id);
            let message = "Saved, with the timeline regenerated from the log.";
            return s.commit_and_flash(tx, &to, message).await;
        }
        Ok(Ok(row)) => {
            let to = format!("/admin/postmortems/{}", row.id);
            return s.commit_and_flash(tx, &to, "Saved.").await;
        }
        Ok(Err(stale)) => (
            StatusCode::CONFLICT,
            Some(Conflict {
                message: format!(
                    "{} saved this postmortem while you were editing (it is now at version {}). Your text is kept below; the current text is under it. Merge what you need, then save again.",
                    stale.current.updated_by_name.as_deref().unwrap_or("Someone"),
                    stale.current.version
                ),
                current_body: stale.current.body.clone(),
            }),
            None,
        ),
        Err(message) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(message)),
    };
    drop(tx);
    // A conflict moves the form to the current version, so the next save is the merge.
    editor(&s, find(&s.state, id).await?, body, conflict, error, status).await
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: PostmortemStatus,
    version: i32,
}

/// Review and publish.
pub async fn set_status(Posted { s, at: id, form }: Posted<Uuid, StatusForm>) -> Reply {
    let change = PostmortemChanges {
        status: Some(form.status),
        ..PostmortemChanges::default()
    };
    let mut tx = s.begin().await?;
    let result = pm::change(&mut tx, &s.user.user, id, form.version, change).await;
    let error = match refusal(result)? {
        Ok(Ok(row)) => {
            let message = match row.status {
                PostmortemStatus::Published => {
                    "Published internally. Customers see only the public summary, once you publish it."
                }
                PostmortemStatus::InReview => "Sent for review.",
                PostmortemStatus::Draft => "Back to draft.",
            };
            let to = format!("/admin/postmortems/{id}");
            return s.commit_and_flash(tx, &to, message).await;
        }
        Ok(Err(stale)) => format!(
            "The postmortem changed since you opened it (it is now at version {}); check it and try again.",
            stale.current.version
        ),
        Err(message) => message,
    };
    drop(tx);
    let page = show_page(&s, find(&s.state, id).await?, Some(error)).await?;
    render_admin_status(&s.state, &page.layout, &page, StatusCode::CONFLICT)
}

pub async fn download_markdown(s: Staff, Path(id): Path<Uuid>) -> Reply {
    let p = find(&s.state, id).await?;
    let file = pm::markdown_file(&s.state.pool, &p).await?;
    Ok((file.headers(), file.body).into_response())
}
