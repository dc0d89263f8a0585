//! The components page: groups with their components, in display order.

use askama::Template;
use uuid::Uuid;

use super::Reply;
use crate::accounts::Role;
use crate::components::dependencies::Upstream;
use crate::components::{self, ComponentRow, ComponentStatus, GroupRow};
use crate::http::error::AppError;
use crate::http::extract::Staff;
use crate::http::page::{render_admin, render_refused, Layout};

pub struct StatusOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub fn status_options(selected: ComponentStatus) -> Vec<StatusOption> {
    ComponentStatus::ALL
        .iter()
        .map(|s| StatusOption {
            value: s.as_str(),
            label: s.label(),
            selected: *s == selected,
        })
        .collect()
}

pub struct GroupOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

pub(super) fn group_options(groups: &[GroupRow], selected: Option<Uuid>) -> Vec<GroupOption> {
    groups
        .iter()
        .map(|g| GroupOption {
            id: g.id.to_string(),
            name: g.name.clone(),
            selected: Some(g.id) == selected,
        })
        .collect()
}

pub struct ComponentView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub status_label: &'static str,
    pub status_class: &'static str,
    /// What customers see instead, while an unpublished incident holds the change back.
    pub held_back: Option<&'static str>,
    pub statuses: Vec<StatusOption>,
    pub first: bool,
    pub last: bool,
    pub position: i32,
    /// Trouble upstream: "upstream: cache-dc1 is in a major outage".
    pub upstream: Vec<String>,
}

pub struct GroupView {
    pub id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub worst_label: &'static str,
    pub worst_class: &'static str,
    pub components: Vec<ComponentView>,
    pub first: bool,
    pub last: bool,
    pub position: i32,
}

#[derive(Template)]
#[template(path = "admin/components.html")]
struct ComponentsPage {
    layout: Layout,
    groups: Vec<GroupView>,
    group_options: Vec<GroupOption>,
    new_statuses: Vec<StatusOption>,
    can_manage: bool,
    /// What checks propose for components, and where their buttons come back to.
    proposals: Vec<crate::http::admin::checks::ProposalItem>,
    back: &'static str,
    error: Option<String>,
}

fn views(rows: &[ComponentRow], upstream: &[Upstream]) -> Vec<ComponentView> {
    let n = rows.len();
    rows.iter()
        .enumerate()
        .map(|(i, c)| ComponentView {
            id: c.id,
            name: c.name.clone(),
            description: c.description.clone().unwrap_or_default(),
            status_label: c.status.label(),
            status_class: c.status.css_class(),
            held_back: (c.public_status != c.status).then(|| c.public_status.label()),
            statuses: status_options(c.status),
            first: i == 0,
            last: i + 1 == n,
            position: i as i32 + 1,
            upstream: upstream
                .iter()
                .filter(|u| u.component_id == c.id)
                .map(Upstream::words)
                .collect(),
        })
        .collect()
}

/// Groups (and the ungrouped components first) with their components, in display order.
fn group_views(
    groups: &[GroupRow],
    components: &[ComponentRow],
    upstream: &[Upstream],
) -> Vec<GroupView> {
    let mut out = Vec::new();
    let ungrouped: Vec<ComponentRow> = components
        .iter()
        .filter(|c| c.group_id.is_none())
        .cloned()
        .collect();
    if !ungrouped.is_empty() {
        let worst = ComponentStatus::worst(ungrouped.iter().map(|c| c.status));
        out.push(GroupView {
            id: None,
            name: "Not in a group".into(),
            description: String::new(),
            worst_label: worst.label(),
            worst_class: worst.css_class(),
            components: views(&ungrouped, upstream),
            first: true,
            last: true,
            position: 0,
        });
    }
    let n = groups.len();
    for (i, g) in groups.iter().enumerate() {
        let members: Vec<ComponentRow> = components
            .iter()
            .filter(|c| c.group_id == Some(g.id))
            .cloned()
            .collect();
        let worst = ComponentStatus::worst(members.iter().map(|c| c.status));
        out.push(GroupView {
            id: Some(g.id),
            name: g.name.clone(),
            description: g.description.clone().unwrap_or_default(),
            worst_label: worst.label(),
            worst_class: worst.css_class(),
            components: views(&members, upstream),
            first: i == 0,
            last: i + 1 == n,
            position: i as i32 + 1,
        });
    }
    out
}

async fn page<R>(staff: &Staff<R>, error: Option<String>) -> Result<ComponentsPage, AppError> {
    let groups = components::list_groups(&staff.state.pool).await?;
    let components = components::list(&staff.state.pool).await?;
    let ids: Vec<Uuid> = components.iter().map(|c| c.id).collect();
    let upstream = components::dependencies::upstream_trouble(&staff.state.pool, &ids).await?;
    Ok(ComponentsPage {
        layout: Layout::of(staff, "Components", "Components"),
        group_options: group_options(&groups, None),
        groups: group_views(&groups, &components, &upstream),
        new_statuses: status_options(ComponentStatus::Operational),
        can_manage: staff.user.can(Role::Admin),
        proposals: crate::http::admin::checks::open_proposals(&staff.state, None).await?,
        back: "/admin/components",
        error,
    })
}

pub async fn list_components(staff: Staff) -> Reply {
    let page = page(&staff, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

pub(super) async fn refuse<R>(staff: &Staff<R>, message: String) -> Reply {
    let page = page(staff, Some(message)).await?;
    render_refused(&staff.state, &page.layout, &page)
}
