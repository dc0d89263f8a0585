//! Postmortems in the admin UI: the list with status and age, starting one from an
//! incident, reading (print-friendly), editing with preview and versions, regenerating
//! the timeline, review and publishing, the Markdown download, and the templates.

mod templates;
pub use templates::*;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use uuid::Uuid;

use crate::accounts::Role;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{CsrfForm, CurrentUser, Path};
use crate::http::page::{render_admin, render_admin_status, Layout};
use crate::http::session::redirect_with_flash;
use crate::incidents::format_duration;
use crate::incidents::CommandError;
use crate::platform::markdown;
use crate::postmortems::draft;
use crate::postmortems::store as pm;
use crate::postmortems::store::{Change, PostmortemRow};
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

pub async fn list_postmortems(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
) -> Result<Response, AppError> {
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

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    template_id: String,
}

/// Start the postmortem of an incident (from its page).
pub async fn start_postmortem(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<StartForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let incident = super::incidents::load(&state, &reference).await?;
    let template = Uuid::parse_str(form.template_id.trim()).ok();
    let mut tx = state.pool.begin().await?;
    match pm::start(&mut tx, &user.user, incident.id, template).await {
        Ok(row) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/admin/postmortems/{}/edit", row.id)).into_response())
        }
        Err(CommandError::Invalid { message, .. }) => Ok(redirect_with_flash(
            &state,
            &super::incidents::incident_path(&incident),
            &message,
        )),
        Err(err) => Err(err.into()),
    }
}

pub struct RevisionLine {
    pub version: i32,
    pub what: String,
    pub who: String,
    pub when: super::Stamp,
}

pub struct ItemLineView {
    pub id: Uuid,
    pub title: String,
    pub priority: &'static str,
    pub priority_class: &'static str,
    pub kind: &'static str,
    pub owner: String,
    pub due: String,
    pub status: &'static str,
    pub overdue: bool,
}

pub fn item_views(items: Vec<pm::ItemRow>) -> Vec<ItemLineView> {
    let today = crate::postmortems::today();
    items
        .into_iter()
        .map(|a| ItemLineView {
            overdue: a.is_overdue(today),
            id: a.id,
            title: a.title,
            priority: a.priority.label(),
            priority_class: a.priority.css_class(),
            kind: a.kind.label(),
            owner: a.owner_name.unwrap_or_else(|| "—".into()),
            due: a
                .due_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".into()),
            status: a.status.label(),
        })
        .collect()
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
    items: Vec<ItemLineView>,
    can_respond: bool,
    error: Option<String>,
    /// The status choices: (value, label, current).
    statuses: Vec<(&'static str, &'static str, bool)>,
    /// The public summary, rendered as customers will see it.
    summary_html: String,
    summary_published: Option<super::Stamp>,
}

async fn find(state: &AppState, id: Uuid) -> Result<PostmortemRow, AppError> {
    pm::find(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such postmortem.".into()))
}

async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    p: PostmortemRow,
    error: Option<String>,
) -> Result<ShowPage, AppError> {
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
    let items = item_views(pm::items_of(&state.pool, p.incident_id).await?);
    Ok(ShowPage {
        layout: Layout::new(
            state,
            user,
            jar,
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

pub async fn show_postmortem(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let p = find(&state, id).await?;
    let page = show_page(&state, &user, &jar, p, None).await?;
    render_admin(&state, &page.layout, &page)
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

pub async fn edit_postmortem(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let p = find(&state, id).await?;
    let page = EditPage {
        layout: Layout::new(
            &state,
            &user,
            &jar,
            &format!("Edit postmortem {}", p.reference()),
            "Postmortems",
        ),
        body: p.body.clone(),
        version: p.version,
        preview: markdown::render(&draft::strip_markers(&p.body)),
        conflict: None,
        error: None,
        p,
    };
    render_admin(&state, &page.layout, &page)
}

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    body: String,
    version: i32,
    #[serde(default)]
    action: String,
}

/// Save the text (or regenerate the timeline with it); stale versions come back with both
/// texts and a message.
pub async fn save_postmortem(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<SaveForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let body = form.body.replace("\r\n", "\n");
    let regenerate = form.action == "regenerate";
    let mut tx = state.pool.begin().await?;
    let result = pm::change(
        &mut tx,
        &user.user,
        id,
        form.version,
        Change {
            body: Some(body.clone()),
            regenerate_timeline: regenerate,
            ..Change::default()
        },
    )
    .await;
    let (status, conflict, error) = match result {
        Ok(Ok(row)) => {
            tx.commit().await?;
            let message = if regenerate {
                "Saved, with the timeline regenerated from the log."
            } else {
                "Saved."
            };
            let to = if regenerate {
                format!("/admin/postmortems/{}/edit", row.id)
            } else {
                format!("/admin/postmortems/{}", row.id)
            };
            return Ok(redirect_with_flash(&state, &to, message));
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
        Err(CommandError::Invalid { message, .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, None, Some(message))
        }
        Err(err) => return Err(err.into()),
    };
    drop(tx);
    let p = find(&state, id).await?;
    let page = EditPage {
        layout: Layout::new(
            &state,
            &user,
            &jar,
            &format!("Edit postmortem {}", p.reference()),
            "Postmortems",
        ),
        preview: markdown::render(&draft::strip_markers(&body)),
        body,
        // A conflict moves the form to the current version, so the next save is the merge.
        version: p.version,
        conflict,
        error,
        p,
    };
    render_admin_status(&state, &page.layout, &page, status)
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: PostmortemStatus,
    version: i32,
}

/// Review and publish.
pub async fn set_status(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let mut tx = state.pool.begin().await?;
    let result = pm::change(
        &mut tx,
        &user.user,
        id,
        form.version,
        Change {
            status: Some(form.status),
            ..Change::default()
        },
    )
    .await;
    let error = match result {
        Ok(Ok(row)) => {
            tx.commit().await?;
            let message = match row.status {
                PostmortemStatus::Published => {
                    "Published internally. Customers see only the public summary, once you publish it."
                }
                PostmortemStatus::InReview => "Sent for review.",
                PostmortemStatus::Draft => "Back to draft.",
            };
            return Ok(redirect_with_flash(
                &state,
                &format!("/admin/postmortems/{id}"),
                message,
            ));
        }
        Ok(Err(stale)) => format!(
            "The postmortem changed since you opened it (it is now at version {}); check it and try again.",
            stale.current.version
        ),
        Err(CommandError::Invalid { message, .. }) => message,
        Err(err) => return Err(err.into()),
    };
    drop(tx);
    let p = find(&state, id).await?;
    let page = show_page(&state, &user, &jar, p, Some(error)).await?;
    render_admin_status(&state, &page.layout, &page, StatusCode::CONFLICT)
}

pub async fn download_markdown(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let p = find(&state, id).await?;
    let file = pm::markdown_file(&state.pool, &p).await?;
    Ok((file.headers(), file.body).into_response())
}
