use crate::accounts::users;
use crate::components;
use crate::incidents;
use askama::Template;
use time::OffsetDateTime;

use super::incidents::list::{item, IncidentItem};
use super::Reply;
use crate::http::extract::Staff;
use crate::http::page::{render_admin, Layout};

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    open: Vec<IncidentItem>,
    root_cause_open: Vec<IncidentItem>,
    resolved: Vec<IncidentItem>,
    has_components: bool,
    user_count: usize,
    overdue_items: Vec<super::action_items::Row>,
    missing_postmortems: Vec<super::postmortems::MissingLine>,
    paged_unreported: Vec<super::postmortems::PagedLine>,
    on_duty: Vec<super::teams::TeamItem>,
}

/// Open incidents by severity, incidents whose root cause is still open, and the
/// recently resolved ones.
pub async fn show_dashboard(staff: Staff) -> Reply {
    let state = &staff.state;
    let now = OffsetDateTime::now_utc();
    let nudges = &state.settings.nudges;
    let to_items = |rows: Vec<incidents::IncidentRow>| {
        rows.iter()
            .map(|i| item(i, now, nudges))
            .collect::<Vec<_>>()
    };
    let open = to_items(incidents::open(&state.pool).await?);
    let root_cause_open = to_items(incidents::root_cause_open(&state.pool).await?);
    let resolved = to_items(incidents::recently_resolved(&state.pool, 7, 10).await?);
    let has_components = !components::list(&state.pool).await?.is_empty();
    let user_count = users::list(&state.pool)
        .await?
        .iter()
        .filter(|u| !u.is_disabled())
        .count();
    let overdue_items = super::action_items::overdue_rows(state).await?;
    let missing_postmortems = super::postmortems::missing_lines(state).await?;
    let paged_unreported = super::postmortems::paged_lines(state).await?;
    let on_duty = super::teams::team_items(&state.pool).await?;
    let page = DashboardPage {
        paged_unreported,
        on_duty,
        overdue_items,
        missing_postmortems,
        layout: Layout::of(&staff, "Dashboard", "Dashboard"),
        open,
        root_cause_open,
        resolved,
        has_components,
        user_count,
    };
    render_admin(state, &page.layout, &page)
}
