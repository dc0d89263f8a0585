//! `/api/v1/oncall-report`: per person, for a month, what being on call came to (JSON,
//! or CSV with `Accept: text/csv`).

use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Answer, ProblemDoc};
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Query};
use crate::paging::report::{self, PersonMonth};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `YYYY-MM` (UTC); default: this month.
    #[param(example = "2026-11")]
    pub month: Option<String>,
    /// Only this team's duty and pages.
    pub team_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct OncallPersonJson {
    pub user_id: Uuid,
    pub name: String,
    pub hours_on_duty: f64,
    pub pages: i64,
    /// Pages that reached them that someone acknowledged.
    pub acknowledged: i64,
    /// Pages they acknowledged themselves.
    pub acknowledged_by_them: i64,
    pub ack_seconds_p50: Option<f64>,
    pub ack_seconds_p90: Option<f64>,
    pub pages_outside_working_hours: i64,
    /// Pages that went on past them unanswered.
    pub missed: i64,
    pub incidents_led: i64,
}

#[derive(Serialize, ToSchema)]
pub struct OncallReportJson {
    /// `YYYY-MM`
    pub month: String,
    pub team_id: Option<Uuid>,
    pub people: Vec<OncallPersonJson>,
}

impl From<PersonMonth> for OncallPersonJson {
    fn from(p: PersonMonth) -> Self {
        OncallPersonJson {
            user_id: p.user_id,
            name: p.name,
            hours_on_duty: p.hours_on_duty,
            pages: p.pages,
            acknowledged: p.acknowledged,
            acknowledged_by_them: p.acknowledged_by_them,
            ack_seconds_p50: p.ack_seconds_p50,
            ack_seconds_p90: p.ack_seconds_p90,
            pages_outside_working_hours: p.pages_outside_working_hours,
            missed: p.missed,
            incidents_led: p.incidents_led,
        }
    }
}

/// The on-call report for a month: hours on duty, pages, acknowledgements, time to
/// acknowledge, pages outside working hours, missed pages and incidents led, per person.
#[utoipa::path(get, path = "/oncall-report", tag = "pages", params(ReportQuery),
    responses((status = 200, body = OncallReportJson, content(
            (OncallReportJson = "application/json"),
            (String = "text/csv"))),
        (status = 422, description = "A month that is not YYYY-MM", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn oncall_report(
    c: Caller,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> Answer<Response> {
    let now = OffsetDateTime::now_utc();
    let month = query.month.as_deref().map(str::trim).map_or_else(
        || format!("{:04}-{:02}", now.year(), u8::from(now.month())),
        str::to_owned,
    );
    let (from, to) = report::parse_month(&month)
        .and_then(|(y, m)| report::month_bounds(y, m))
        .ok_or_else(|| {
            AppError::field(
                "month",
                format!("{month:?} is not a month; write it as YYYY-MM."),
            )
        })?;
    let mut conn = c.state.pool.acquire().await?;
    let rows = report::report(&mut conn, from, to, query.team_id, now).await?;
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    if wants_csv {
        let name = format!("attachment; filename=\"oncall-{month}.csv\"");
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, name),
            ],
            report::csv(&rows),
        )
            .into_response());
    }
    Ok(Json(OncallReportJson {
        month,
        team_id: query.team_id,
        people: rows.into_iter().map(OncallPersonJson::from).collect(),
    })
    .into_response())
}
