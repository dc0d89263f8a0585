//! `/api/v1/teams`: teams, their members, rotation and working hours (viewers read,
//! admins write), who is on duty (`/duty`: members take, hand back and pass it), and
//! overrides.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::{Date, OffsetDateTime, Time};
use utoipa::ToSchema;
use uuid::Uuid;

use super::incidents::PersonJson;
use super::{created, missing, present, Admin, Answer, Edit, ProblemDoc, Reply, Responder};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{Caller, Json, Path};
use crate::oncall::duty::{self, DutyNow};
use crate::oncall::team_commands::{self, NewTeam, RotationInput, TeamChanges, WorkingHoursInput};
use crate::oncall::{teams, RotationInterval, TeamRow};
use crate::platform::command::CommandError;

/// A team's rotation: `user_ids` take turns, handing off at `handoff_time` local time.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationJson {
    pub interval: RotationInterval,
    /// `HH:MM`, local time in `time_zone`.
    #[schema(example = "09:00")]
    pub handoff_time: String,
    /// An IANA name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// `YYYY-MM-DD`: the day of the first hand-off, to the first of `user_ids`. Default:
    /// today in `time_zone`.
    pub starts_on: Option<String>,
    /// Members, in the order they take over.
    pub user_ids: Vec<Uuid>,
}

/// When the team works: `high` alerts notify it then, and the on-call report counts
/// pages outside these hours.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingHoursJson {
    /// ISO weekdays: 1 (Monday) to 7 (Sunday).
    pub days: Vec<i16>,
    /// `HH:MM`
    #[schema(example = "09:00")]
    pub start: String,
    /// `HH:MM`
    #[schema(example = "17:00")]
    pub end: String,
    pub time_zone: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberJson {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// Who is on duty now and next.
#[derive(Serialize, ToSchema)]
pub struct DutyJson {
    pub on_duty: Option<PersonJson>,
    /// `override`, `taken`, `rotation`, or `none` when nobody is on duty.
    #[schema(example = "rotation")]
    pub source: String,
    /// When the current stretch began.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// The next change known in advance: null while taken duty is held with nothing
    /// scheduled after it.
    pub next: Option<NextDutyJson>,
}

#[derive(Serialize, ToSchema)]
pub struct NextDutyJson {
    /// Null: nobody will be on duty from `at`.
    pub user: Option<PersonJson>,
    #[schema(example = "rotation")]
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<DutyNow> for DutyJson {
    fn from(d: DutyNow) -> Self {
        let person = |p: duty::Person| PersonJson {
            id: p.id,
            name: p.name,
        };
        DutyJson {
            on_duty: d.on_duty.map(person),
            source: d.source.map_or("none", |s| s.as_str()).to_owned(),
            since: d.since,
            next: d.next.map(|n| NextDutyJson {
                user: n.person.map(person),
                source: n.source.map_or("none", |s| s.as_str()).to_owned(),
                at: n.at,
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TeamJson {
    pub id: Uuid,
    pub name: String,
    pub members: Vec<MemberJson>,
    pub rotation: Option<RotationJson>,
    pub working_hours: WorkingHoursJson,
    /// For how long an acknowledgement mutes further pages for the team.
    pub acked_mode_minutes: i32,
    /// The policy critical alerts for the team run, unless their route names another.
    pub escalation_policy_id: Option<Uuid>,
    pub duty: DutyJson,
    /// While on: further critical alerts for the team are announced but page nobody.
    pub acked_mode: Option<AckedModeJson>,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Acked mode: someone acknowledged a page and is watching.
#[derive(Serialize, ToSchema)]
pub struct AckedModeJson {
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    pub by: Option<PersonJson>,
    /// The page whose acknowledgement turned it on.
    pub page_id: Option<Uuid>,
}

fn clock(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn parse_clock(field: &'static str, raw: &str) -> Result<Time, AppError> {
    let bad = || {
        AppError::field(
            field,
            format!("\"{raw}\" is not a time of day; write it as HH:MM, e.g. 09:00."),
        )
    };
    let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::from_hms(h, m, 0).map_err(|_| bad())
}

fn parse_day(field: &'static str, raw: &str) -> Result<Date, AppError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw.trim(), &format).map_err(|_| {
        AppError::field(
            field,
            format!("\"{raw}\" is not a day; write it as YYYY-MM-DD."),
        )
    })
}

impl RotationJson {
    fn into_input(self) -> Result<RotationInput, AppError> {
        Ok(RotationInput {
            interval: self.interval,
            handoff: parse_clock("rotation.handoff_time", &self.handoff_time)?,
            time_zone: self.time_zone,
            starts_on: self
                .starts_on
                .as_deref()
                .map(|d| parse_day("rotation.starts_on", d))
                .transpose()?,
            user_ids: self.user_ids,
        })
    }
}

impl WorkingHoursJson {
    fn into_input(self) -> Result<WorkingHoursInput, AppError> {
        Ok(WorkingHoursInput {
            days: self.days,
            start: parse_clock("working_hours.start", &self.start)?,
            end: parse_clock("working_hours.end", &self.end)?,
            time_zone: self.time_zone,
        })
    }
}

async fn team_json(conn: &mut PgConnection, team: TeamRow) -> Result<TeamJson, AppError> {
    let members = teams::members_of(&mut *conn, &[team.id]).await?;
    let now = OffsetDateTime::now_utc();
    let duty = duty::now(&mut *conn, &team, now).await?;
    let acked = crate::paging::reach::acked_mode(&mut *conn, team.id, now).await?;
    let rotation = match (
        team.rotation_interval,
        team.rotation_handoff,
        &team.rotation_time_zone,
    ) {
        (Some(interval), Some(handoff), Some(zone)) => Some(RotationJson {
            interval,
            handoff_time: clock(handoff),
            time_zone: zone.clone(),
            starts_on: team.rotation_starts_on.map(|d| d.to_string()),
            user_ids: team.rotation_user_ids.clone(),
        }),
        _ => None,
    };
    Ok(TeamJson {
        id: team.id,
        name: team.name,
        members: members
            .into_iter()
            .filter(|m| !m.disabled)
            .map(|m| MemberJson {
                id: m.user_id,
                name: m.name,
                email: m.email,
            })
            .collect(),
        rotation,
        working_hours: WorkingHoursJson {
            days: team.work_days,
            start: clock(team.work_starts),
            end: clock(team.work_ends),
            time_zone: team.work_time_zone,
        },
        acked_mode_minutes: team.acked_mode_minutes,
        escalation_policy_id: team.escalation_policy_id,
        duty: duty.into(),
        acked_mode: acked.map(|mode| AckedModeJson {
            until: mode.until,
            by: PersonJson::of(mode.by, mode.by_name),
            page_id: mode.page_id,
        }),
        version: team.version,
        created_at: team.created_at,
        updated_at: team.updated_at,
    })
}

async fn find_json(state: &AppState, id: Uuid) -> Result<TeamJson, AppError> {
    let mut conn = state.pool.acquire().await?;
    let team = teams::find(&mut *conn, id)
        .await?
        .ok_or_else(|| missing("team", id))?;
    team_json(&mut conn, team).await
}

pub(super) fn refused(id: Uuid, err: CommandError) -> AppError {
    match err {
        CommandError::NotFound => missing("team", id),
        other => other.into(),
    }
}

/// Every team, by name, with who is on duty.
#[utoipa::path(get, path = "/teams", tag = "teams",
    responses((status = 200, body = Vec<TeamJson>), (status = 401, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn list_teams(c: Caller) -> Reply<Vec<TeamJson>> {
    let mut conn = c.state.pool.acquire().await?;
    let mut out = Vec::new();
    for team in teams::list(&mut *conn).await? {
        out.push(team_json(&mut conn, team).await?);
    }
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeamJson {
    #[schema(max_length = 100)]
    pub name: String,
    /// The members (enabled users).
    #[serde(default)]
    pub user_ids: Vec<Uuid>,
    pub rotation: Option<RotationJson>,
    /// Default: Monday to Friday, 09:00 to 17:00 UTC.
    pub working_hours: Option<WorkingHoursJson>,
    /// 1 to 1440, default 30.
    pub acked_mode_minutes: Option<i32>,
    pub escalation_policy_id: Option<Uuid>,
}

/// Create a team (admin).
#[utoipa::path(post, path = "/teams", security(("bearer" = ["admin"])), tag = "teams", request_body = NewTeamJson,
    responses((status = 201, body = TeamJson),
        (status = 422, description = "A blank or taken name, an unknown user or time zone, a rotation member who is not a member", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn create_team(c: Admin, Json(body): Json<NewTeamJson>) -> Answer {
    let new = NewTeam {
        name: body.name,
        member_ids: body.user_ids,
        escalation_policy_id: body.escalation_policy_id,
        rotation: body.rotation.map(RotationJson::into_input).transpose()?,
        working_hours: body
            .working_hours
            .map(WorkingHoursJson::into_input)
            .transpose()?,
        acked_mode_minutes: body.acked_mode_minutes,
    };
    let mut tx = c.begin().await?;
    let id = team_commands::create(&mut tx, Some(c.id()), new, OffsetDateTime::now_utc()).await?;
    tx.commit().await?;
    created(
        format!("/api/v1/teams/{id}"),
        find_json(&c.state, id).await?,
    )
}

/// One team.
#[utoipa::path(get, path = "/teams/{id}", tag = "teams", params(("id" = Uuid, Path)),
    responses((status = 200, body = TeamJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn get_team(c: Caller, Path(id): Path<Uuid>) -> Reply<TeamJson> {
    Ok(Json(find_json(&c.state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatchJson {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// `null` ends the rotation.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<RotationJson>)]
    pub rotation: Option<Option<RotationJson>>,
    pub working_hours: Option<WorkingHoursJson>,
    pub acked_mode_minutes: Option<i32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub escalation_policy_id: Option<Option<Uuid>>,
    /// The version the change was made against: a newer one answers 409.
    pub version: Option<i32>,
}

/// Change a team (admin).
#[utoipa::path(patch, path = "/teams/{id}", security(("bearer" = ["admin"])), tag = "teams", params(("id" = Uuid, Path)), request_body = TeamPatchJson,
    responses((status = 200, body = TeamJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn patch_team(c: Admin, Edit(id, body): Edit<TeamPatchJson>) -> Reply<TeamJson> {
    let change = TeamChanges {
        name: body.name,
        rotation: body
            .rotation
            .map(|r| r.map(RotationJson::into_input).transpose())
            .transpose()?,
        working_hours: body
            .working_hours
            .map(WorkingHoursJson::into_input)
            .transpose()?,
        acked_mode_minutes: body.acked_mode_minutes,
        escalation_policy_id: body.escalation_policy_id,
        version: body.version,
    };
    let mut tx = c.begin().await?;
    team_commands::update(&mut tx, Some(c.id()), id, change, OffsetDateTime::now_utc())
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(find_json(&c.state, id).await?))
}

/// Delete a team and its duty record (admin).
#[utoipa::path(delete, path = "/teams/{id}", security(("bearer" = ["admin"])), tag = "teams", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn delete_team(c: Admin, Path(id): Path<Uuid>) -> Answer<axum::http::StatusCode> {
    let mut tx = c.begin().await?;
    team_commands::delete(&mut tx, Some(c.id()), id)
        .await
        .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMembersJson {
    pub user_ids: Vec<Uuid>,
}

/// Set a team's members (admin). Whoever leaves also leaves the rotation, and hands
/// back duty they took.
#[utoipa::path(put, path = "/teams/{id}/members", security(("bearer" = ["admin"])), tag = "teams", params(("id" = Uuid, Path)), request_body = TeamMembersJson,
    responses((status = 200, body = TeamJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn put_members(c: Admin, Edit(id, body): Edit<TeamMembersJson>) -> Reply<TeamJson> {
    let mut tx = c.begin().await?;
    team_commands::set_members(
        &mut tx,
        Some(c.id()),
        id,
        &body.user_ids,
        OffsetDateTime::now_utc(),
    )
    .await
    .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(find_json(&c.state, id).await?))
}

/// End the team's acked mode early (responder: the person who acknowledged, or an
/// admin): critical alerts page again.
#[utoipa::path(delete, path = "/teams/{id}/acked-mode", security(("bearer" = ["responder"])), tag = "teams", params(("id" = Uuid, Path)),
    responses((status = 200, body = TeamJson), (status = 404, body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not in acked mode, or someone else acknowledged", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn end_acked_mode(c: Responder, Path(id): Path<Uuid>) -> Reply<TeamJson> {
    let admin = c.user.role.allows(crate::accounts::Role::Admin);
    let mut tx = c.begin().await?;
    crate::paging::acknowledge::end_acked_mode(
        &mut tx,
        id,
        c.id(),
        admin,
        OffsetDateTime::now_utc(),
    )
    .await
    .map_err(|e| refused(id, e))?;
    tx.commit().await?;
    Ok(Json(find_json(&c.state, id).await?))
}
