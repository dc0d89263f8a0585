//! `/admin/alerts`: open groups first (firing, acknowledged, silenced) by urgency and then
//! age, then the recently resolved ones; filtered by state and urgency.

use askama::Template;
use serde::Deserialize;
use time::OffsetDateTime;

use super::view::{item, GroupItem};
use crate::accounts::Role;
use crate::alerts::queries::{self, GroupFilter};
use crate::alerts::{AlertGroupState, AlertUrgency};
use crate::http::admin::incidents::view::{choices, Choice};
use crate::http::admin::Reply;
use crate::http::error::AppError;
use crate::http::extract::{Query, Staff};
use crate::http::page::{render_admin, Layout};

/// How many groups the page shows (open ones come first).
const SHOWN: i64 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct AlertsQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    urgency: String,
}

#[derive(Template)]
#[template(path = "admin/alerts.html")]
struct AlertsPage {
    layout: Layout,
    groups: Vec<GroupItem>,
    states: Vec<Choice>,
    urgencies: Vec<Choice>,
    firing: i64,
    filtered: bool,
}

fn parsed<T>(
    raw: &str,
    field: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, AppError> {
    if raw.is_empty() {
        return Ok(None);
    }
    parse(raw)
        .map(Some)
        .ok_or_else(|| AppError::field(field, format!("{raw:?} is not a {field}.")))
}

fn with_any(label: &str, selected: bool, mut rest: Vec<Choice>) -> Vec<Choice> {
    rest.insert(
        0,
        Choice {
            value: String::new(),
            label: label.into(),
            selected,
        },
    );
    rest
}

pub async fn list_alert_groups(staff: Staff, Query(query): Query<AlertsQuery>) -> Reply {
    let state = parsed(&query.state, "state", AlertGroupState::parse)?;
    let urgency = parsed(&query.urgency, "urgency", AlertUrgency::parse)?;
    let filter = GroupFilter {
        states: state.into_iter().collect(),
        urgency,
        ..Default::default()
    };
    let pool = &staff.state.pool;
    let rows = queries::list_groups(pool, &filter, SHOWN).await?;
    let firing = queries::count_firing(pool).await?;
    let now = OffsetDateTime::now_utc();
    let can_respond = staff.user.can(Role::Responder);
    let page = AlertsPage {
        layout: Layout::of(&staff, "Alerts", "Alerts"),
        groups: rows.iter().map(|g| item(g, can_respond, now)).collect(),
        states: with_any(
            "Any state",
            state.is_none(),
            choices(
                AlertGroupState::ALL,
                state,
                AlertGroupState::as_str,
                AlertGroupState::label,
            ),
        ),
        urgencies: with_any(
            "Any urgency",
            urgency.is_none(),
            choices(
                AlertUrgency::ALL,
                urgency,
                AlertUrgency::as_str,
                AlertUrgency::label,
            ),
        ),
        firing,
        filtered: state.is_some() || urgency.is_some(),
    };
    render_admin(&staff.state, &page.layout, &page)
}
