//! `/admin/alerts`: open groups first (firing, acknowledged, silenced) by urgency and then
//! age, then the recently resolved ones; filtered by state and urgency.

use askama::Template;
use serde::Deserialize;
use time::OffsetDateTime;

use super::view::{item, GroupItem, PagingLine};
use crate::accounts::Role;
use crate::alerts::queries::{self, GroupFilter, GroupView};
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
    /// The filter, as the query string of the live stream.
    live_query: String,
}

/// What the rows and their buttons need of the layout.
pub struct RowsLayout {
    pub csrf_token: String,
    pub can_respond: bool,
}

/// The groups of the Alerts page alone, as its live stream sends them.
#[derive(Template)]
#[template(path = "admin/alert_group_rows.html")]
pub struct AlertGroupRows {
    pub layout: RowsLayout,
    pub groups: Vec<GroupItem>,
    pub filtered: bool,
}

/// The page's filter, read from its query.
pub struct Filter {
    state: Option<AlertGroupState>,
    urgency: Option<AlertUrgency>,
}

impl Filter {
    pub fn read(query: &AlertsQuery) -> Result<Filter, AppError> {
        Ok(Filter {
            state: parsed(&query.state, "state", AlertGroupState::parse)?,
            urgency: parsed(&query.urgency, "urgency", AlertUrgency::parse)?,
        })
    }

    pub fn is_set(&self) -> bool {
        self.state.is_some() || self.urgency.is_some()
    }

    /// The filter as a query string (`?state=firing`), empty when unset.
    fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(state) = self.state {
            query.append_pair("state", state.as_str());
        }
        if let Some(urgency) = self.urgency {
            query.append_pair("urgency", urgency.as_str());
        }
        let query = query.finish();
        if query.is_empty() {
            query
        } else {
            format!("?{query}")
        }
    }

    /// The groups the filter shows, open ones first.
    pub async fn groups(&self, pool: &sqlx::PgPool) -> sqlx::Result<Vec<GroupView>> {
        let filter = GroupFilter {
            states: self.state.into_iter().collect(),
            urgency: self.urgency,
            ..Default::default()
        };
        queries::list_groups(pool, &filter, SHOWN).await
    }
}

/// The groups as the page lists them (times in the reader's zone), each with where its
/// latest page stands.
pub async fn items(
    pool: &sqlx::PgPool,
    groups: &[GroupView],
    can_respond: bool,
) -> sqlx::Result<Vec<GroupItem>> {
    let now = OffsetDateTime::now_utc();
    let ids: Vec<uuid::Uuid> = groups.iter().map(|g| g.id).collect();
    let pages = crate::paging::store::latest_of_groups(pool, &ids).await?;
    Ok(groups
        .iter()
        .map(|g| {
            let mut it = item(g, can_respond, now);
            it.paging = pages
                .iter()
                .find(|p| p.alert_group_id == g.id)
                .and_then(|p| PagingLine::of(p, now));
            it
        })
        .collect())
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
    let filter = Filter::read(&query)?;
    let (state, urgency) = (filter.state, filter.urgency);
    let pool = &staff.state.pool;
    let can_respond = staff.user.can(Role::Responder);
    let groups = items(pool, &filter.groups(pool).await?, can_respond).await?;
    let firing = queries::count_firing(pool).await?;
    let page = AlertsPage {
        layout: Layout::of(&staff, "Alerts", "Alerts"),
        groups,
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
        filtered: filter.is_set(),
        live_query: filter.query(),
    };
    render_admin(&staff.state, &page.layout, &page)
}
