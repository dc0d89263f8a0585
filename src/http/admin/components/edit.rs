//! One component's page: its details form and its status history.

use askama::Template;
use uuid::Uuid;

use super::views::{group_options, GroupOption};
use super::Reply;
use crate::accounts::Role;
use crate::components;
use crate::http::error::AppError;
use crate::http::extract::{Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::monitors::history::{self, Window};

pub struct HistoryView {
    pub at: crate::http::admin::Stamp,
    pub old: &'static str,
    pub new: &'static str,
    pub cause: String,
    /// Customers saw it (else responders only).
    pub public: bool,
}

/// One check of the component, with how often it passed.
pub struct CheckLine {
    pub id: Uuid,
    pub name: String,
    pub state: &'static str,
    /// The share of runs that passed over 24 hours, 7 and 90 days.
    pub passed: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "admin/component_edit.html")]
struct EditPage {
    layout: Layout,
    id: Uuid,
    name: String,
    description: String,
    groups: Vec<GroupOption>,
    history: Vec<HistoryView>,
    checks: Vec<CheckLine>,
    /// The share of its checks' runs that passed, by window (where it has checks).
    measured: Vec<(&'static str, String)>,
    proposals: Vec<crate::http::admin::checks::ProposalItem>,
    back: String,
    /// Every other component, ticked when this one depends on it.
    dependencies: Vec<(Uuid, String, bool)>,
    upstream: Vec<String>,
    can_manage: bool,
    error: Option<String>,
}

async fn edit_page<R>(
    staff: &Staff<R>,
    id: Uuid,
    error: Option<String>,
) -> Result<EditPage, AppError> {
    let pool = &staff.state.pool;
    let component = components::find(pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such component.".into()))?;
    let groups = components::list_groups(pool).await?;
    let mut history = components::history(pool, id).await?;
    history.reverse();
    history.truncate(50);
    let now = time::OffsetDateTime::now_utc();
    let ratios = |check: Option<Uuid>, component: Option<Uuid>| async move {
        let mut out = Vec::new();
        for w in Window::ALL {
            let ratio = history::success_ratio(pool, check, component, now - w.length()).await?;
            if let Some(r) = ratio {
                out.push((w.label(), crate::http::admin::checks::percent(r)));
            }
        }
        Ok::<_, sqlx::Error>(out)
    };
    let mut checks = Vec::new();
    for c in crate::monitors::checks::of_component(pool, id).await? {
        checks.push(CheckLine {
            passed: ratios(Some(c.id), None).await?,
            id: c.id,
            name: c.name,
            state: c.state.label(),
        });
    }
    let depends_on = components::dependencies::of(pool, id).await?;
    let dependencies = components::list(pool)
        .await?
        .into_iter()
        .filter(|c| c.id != id)
        .map(|c| {
            let ticked = depends_on.iter().any(|(d, _)| *d == c.id);
            (c.id, c.name, ticked)
        })
        .collect();
    let upstream = components::dependencies::upstream_trouble(pool, &[id])
        .await?
        .iter()
        .map(components::dependencies::Upstream::words)
        .collect();
    Ok(EditPage {
        dependencies,
        upstream,
        measured: ratios(None, Some(id)).await?,
        checks,
        proposals: crate::http::admin::checks::open_proposals(&staff.state, Some(id)).await?,
        back: format!("/admin/components/{id}"),
        layout: Layout::of(staff, &component.name, "Components"),
        id,
        name: component.name,
        description: component.description.unwrap_or_default(),
        groups: group_options(&groups, component.group_id),
        history: history
            .into_iter()
            .map(|h| HistoryView {
                at: crate::http::admin::stamp(h.changed_at),
                old: h.old_status.map(|s| s.label()).unwrap_or("—"),
                new: h.new_status.label(),
                cause: match (h.incident_id, h.maintenance_id, h.check_id, h.heartbeat_id) {
                    (Some(_), _, _, _) => "incident",
                    (_, Some(_), _, _) => "maintenance",
                    (_, _, Some(_), _) => "check",
                    (_, _, _, Some(_)) => "heartbeat",
                    _ => "by hand",
                }
                .to_owned(),
                public: h.public,
            })
            .collect(),
        can_manage: staff.user.can(Role::Admin),
        error,
    })
}

pub async fn show_component(staff: Staff, Path(id): Path<Uuid>) -> Reply {
    let page = edit_page(&staff, id, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// The edit page again, with `message` above the form.
pub(super) async fn refuse_edit<R>(staff: &Staff<R>, id: Uuid, message: String) -> Reply {
    let page = edit_page(staff, id, Some(message)).await?;
    render_refused(&staff.state, &page.layout, &page)
}

/// Set what the component depends on (the ticked `depends_on` fields); a cycle is
/// refused with the page saying why.
pub async fn set_dependencies(
    staff: Staff<crate::http::extract::AsAdmin>,
    Path(id): Path<Uuid>,
    crate::http::extract::CsrfForm(fields): crate::http::extract::CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let chosen: Vec<Uuid> = fields
        .iter()
        .filter(|(k, _)| k == "depends_on")
        .filter_map(|(_, v)| Uuid::parse_str(v).ok())
        .collect();
    let mut tx = staff.begin().await?;
    match components::dependencies::set(&mut tx, Some(staff.id()), id, &chosen).await {
        Ok(now) => {
            let message = if now.is_empty() {
                "It depends on nothing now.".to_owned()
            } else {
                let names: Vec<String> = now.into_iter().map(|(_, n)| n).collect();
                format!("It depends on {} now.", names.join(", "))
            };
            staff
                .commit_and_flash(tx, &format!("/admin/components/{id}"), &message)
                .await
        }
        Err(crate::platform::command::CommandError::Invalid { message, .. }) => {
            drop(tx);
            refuse_edit(&staff, id, message).await
        }
        Err(crate::platform::command::CommandError::NotFound) => {
            Err(AppError::NotFound("There is no such component.".into()))
        }
        Err(err) => Err(err.into()),
    }
}
