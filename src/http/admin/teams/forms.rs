//! The team page's forms: the admin's settings (members, rotation, working hours, acked
//! mode, policy) and the overrides any responder adds or removes.

use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use super::team_page;
use crate::http::admin::Reply;
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, AsResponder, Button, CsrfForm, Path, Staff};
use crate::http::page::render_refused;
use crate::oncall::model::MemberRow;
use crate::oncall::overrides::{self, NewOverride};
use crate::oncall::team_commands::{self, RotationInput, TeamChanges, WorkingHoursInput};
use crate::oncall::{RotationInterval, TeamRow};
use crate::platform::command::CommandError;

/// The first value of `name`, as typed.
pub fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Every value of `name` that is an id.
pub fn ids(fields: &[(String, String)], name: &str) -> Vec<Uuid> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .filter_map(|(_, v)| Uuid::parse_str(v.trim()).ok())
        .collect()
}

/// The settings form as typed (or as stored).
#[derive(Debug, Clone, Default)]
pub struct TeamSettings {
    pub name: String,
    pub members: Vec<Uuid>,
    /// `""` (no rotation), `daily` or `weekly`.
    pub rotation: String,
    pub handoff: String,
    pub rotation_zone: String,
    pub starts_on: String,
    /// The rotation's order: one member's email per line.
    pub order: String,
    pub work_days: Vec<i16>,
    pub work_starts: String,
    pub work_ends: String,
    pub work_zone: String,
    pub acked_minutes: String,
    pub policy: String,
    pub version: i32,
}

fn clock(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

impl TeamSettings {
    pub fn of(team: &TeamRow, members: &[MemberRow]) -> TeamSettings {
        let email = |id: &Uuid| {
            members
                .iter()
                .find(|m| m.user_id == *id)
                .map(|m| m.email.clone())
        };
        TeamSettings {
            name: team.name.clone(),
            members: members
                .iter()
                .filter(|m| !m.disabled)
                .map(|m| m.user_id)
                .collect(),
            rotation: team
                .rotation_interval
                .map_or(String::new(), |i| i.as_str().to_owned()),
            handoff: team.rotation_handoff.map_or("09:00".into(), clock),
            rotation_zone: team
                .rotation_time_zone
                .clone()
                .unwrap_or_else(|| team.work_time_zone.clone()),
            starts_on: team
                .rotation_starts_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            order: team
                .rotation_user_ids
                .iter()
                .filter_map(email)
                .collect::<Vec<_>>()
                .join("\n"),
            work_days: team.work_days.clone(),
            work_starts: clock(team.work_starts),
            work_ends: clock(team.work_ends),
            work_zone: team.work_time_zone.clone(),
            acked_minutes: team.acked_mode_minutes.to_string(),
            policy: team
                .escalation_policy_id
                .map(|p| p.to_string())
                .unwrap_or_default(),
            version: team.version,
        }
    }

    fn read(fields: &[(String, String)]) -> TeamSettings {
        TeamSettings {
            name: field(fields, "name"),
            members: ids(fields, "member"),
            rotation: field(fields, "rotation"),
            handoff: field(fields, "handoff"),
            rotation_zone: field(fields, "rotation_zone"),
            starts_on: field(fields, "starts_on"),
            order: field(fields, "order"),
            work_days: fields
                .iter()
                .filter(|(k, _)| k == "work_day")
                .filter_map(|(_, v)| v.parse().ok())
                .collect(),
            work_starts: field(fields, "work_starts"),
            work_ends: field(fields, "work_ends"),
            work_zone: field(fields, "work_zone"),
            acked_minutes: field(fields, "acked_minutes"),
            policy: field(fields, "policy"),
            version: field(fields, "version").trim().parse().unwrap_or(0),
        }
    }

    /// Whether weekday `day` is ticked.
    pub fn works(&self, day: &i16) -> bool {
        self.work_days.contains(day)
    }

    /// The change the form asks for, with the members' emails to read the order by.
    fn changes(&self, members: &[MemberRow]) -> Result<TeamChanges, String> {
        let time = |raw: &str, what: &str| -> Result<Time, String> {
            let bad = || format!("{what} is a time of day, HH:MM.");
            let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
            Time::from_hms(
                h.parse().map_err(|_| bad())?,
                m.parse().map_err(|_| bad())?,
                0,
            )
            .map_err(|_| bad())
        };
        let rotation = match self.rotation.as_str() {
            "" => None,
            raw => {
                let interval =
                    RotationInterval::parse(raw).ok_or("Choose a daily or weekly rotation.")?;
                let mut user_ids = Vec::new();
                for line in self.order.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let member = members
                        .iter()
                        .find(|m| m.email.eq_ignore_ascii_case(line))
                        .filter(|m| self.members.contains(&m.user_id))
                        .ok_or_else(|| {
                            format!(
                                "{line} is not a member of the team; tick them as a member first."
                            )
                        })?;
                    user_ids.push(member.user_id);
                }
                let format = time::macros::format_description!("[year]-[month]-[day]");
                let starts_on = match self.starts_on.trim() {
                    "" => None,
                    day => Some(
                        Date::parse(day, &format)
                            .map_err(|_| "The start day is YYYY-MM-DD.".to_owned())?,
                    ),
                };
                Some(RotationInput {
                    interval,
                    handoff: time(&self.handoff, "The hand-off")?,
                    time_zone: self.rotation_zone.clone(),
                    starts_on,
                    user_ids,
                })
            }
        };
        Ok(TeamChanges {
            name: Some(self.name.clone()),
            rotation: Some(rotation),
            working_hours: Some(WorkingHoursInput {
                days: self.work_days.clone(),
                start: time(&self.work_starts, "The start of working hours")?,
                end: time(&self.work_ends, "The end of working hours")?,
                time_zone: self.work_zone.clone(),
            }),
            acked_mode_minutes: Some(
                self.acked_minutes
                    .trim()
                    .parse()
                    .map_err(|_| "Acked mode lasts a whole number of minutes.".to_owned())?,
            ),
            escalation_policy_id: Some(Uuid::parse_str(self.policy.trim()).ok()),
            version: Some(self.version),
        })
    }
}

/// The admin's settings form: members first (a rotation may name only members), then
/// the rest, in one transaction.
pub async fn update_team(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let form = TeamSettings::read(&fields);
    let now = OffsetDateTime::now_utc();
    let mut tx = staff.begin().await?;
    let result = async {
        team_commands::set_members(&mut tx, Some(staff.id()), id, &form.members, now).await?;
        let members = crate::oncall::teams::members_of(&mut *tx, &[id]).await?;
        let mut change = form
            .changes(&members)
            .map_err(|m| CommandError::invalid("form", m))?;
        // Setting the members may have moved the version on.
        change.version = None;
        team_commands::update(&mut tx, Some(staff.id()), id, change, now).await
    };
    let version = crate::oncall::teams::find(&staff.state.pool, id)
        .await?
        .map(|t| t.version);
    if version.is_some_and(|v| v != form.version) {
        let message = "Someone changed this team since you opened it; nothing was saved. Here it is as it is now.";
        let page = team_page(&staff, id, None, Some(message.into())).await?;
        return render_refused(&staff.state, &page.layout, &page);
    }
    match result.await {
        Ok(()) => {
            staff
                .commit_and_flash(tx, &format!("/admin/teams/{id}"), "Team saved.")
                .await
        }
        Err(CommandError::Invalid { message, .. }) => {
            let page = team_page(&staff, id, Some(form), Some(message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
        Err(CommandError::NotFound) => Err(AppError::NotFound("There is no such team.".into())),
        Err(err) => Err(err.into()),
    }
}

/// Someone covers the team for a while (local times in the reader's zone).
pub async fn add_override(
    staff: Staff<AsResponder>,
    Path(id): Path<Uuid>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let zone = field(&fields, "time_zone");
    let at = |name: &str| {
        crate::http::admin::incidents::view::parse_input_time(&field(&fields, name), &zone)
    };
    let staff = &staff;
    let refuse = |message: String| async move {
        let page = team_page(staff, id, None, Some(message)).await?;
        render_refused(&staff.state, &page.layout, &page)
    };
    let (starts_at, ends_at) = match (at("starts_at"), at("ends_at")) {
        (Ok(starts), Ok(ends)) => (starts, ends),
        (Err(message), _) | (_, Err(message)) => return refuse(message).await,
    };
    let Some(user_id) = ids(&fields, "user_id").into_iter().next() else {
        return refuse("Choose who covers.".into()).await;
    };
    let new = NewOverride {
        user_id,
        starts_at,
        ends_at,
        reason: Some(field(&fields, "reason")),
    };
    let mut tx = staff.begin().await?;
    match overrides::add_override(
        &mut tx,
        Some(staff.id()),
        id,
        new,
        OffsetDateTime::now_utc(),
    )
    .await
    {
        Ok(_) => {
            staff
                .commit_and_flash(tx, &format!("/admin/teams/{id}"), "Override added.")
                .await
        }
        Err(CommandError::Invalid { message, .. }) => refuse(message).await,
        Err(CommandError::NotFound) => Err(AppError::NotFound("There is no such team.".into())),
        Err(err) => Err(err.into()),
    }
}

pub async fn remove_override(staff: Staff<AsResponder>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let team: Option<Uuid> = overrides::override_team(&staff.state.pool, id).await?;
    let Some(team) = team else {
        return Err(AppError::NotFound("There is no such override.".into()));
    };
    let mut tx = staff.begin().await?;
    overrides::remove_override(&mut tx, Some(staff.id()), id).await?;
    staff
        .commit_and_flash(tx, &format!("/admin/teams/{team}"), "Override removed.")
        .await
}
