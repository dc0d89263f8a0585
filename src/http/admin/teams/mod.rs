//! `/admin/teams`: the teams with who is on duty now and next; a team's page, where its
//! members take, hand back or pass duty, add overrides and end acked mode, and admins
//! change its members, rotation, working hours and policy. Every write is one command in
//! one transaction, then back with a message.

mod forms;

use askama::Template;
use axum::routing::{get, post};
use axum::Router;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::admin::Reply;
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, AsResponder, Button, CsrfForm, Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::http::zone::{stamp, Stamp};
use crate::oncall::duty::{self, DutyNow};
use crate::oncall::overrides;
use crate::oncall::team_commands::{self, NewTeam};
use crate::oncall::{policies, teams, TeamRow};
use crate::paging::reach::{acked_mode, AckedMode};
use crate::platform::command::CommandError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/teams", get(list_teams).post(create_team))
        .route("/admin/teams/{id}", get(show_team).post(forms::update_team))
        .route("/admin/teams/{id}/take", post(take_duty))
        .route("/admin/teams/{id}/release", post(release_duty))
        .route("/admin/teams/{id}/pass", post(pass_duty))
        .route("/admin/teams/{id}/overrides", post(forms::add_override))
        .route(
            "/admin/duty-overrides/{id}/remove",
            post(forms::remove_override),
        )
        .route("/admin/teams/{id}/acked-mode/end", post(end_acked_mode))
}

/// Who is on duty, in words: "Ada (rotation), since …; next Grace at …".
pub(crate) struct DutyLine {
    pub who: String,
    pub why: &'static str,
    pub since: Option<Stamp>,
    pub next: Option<(String, Stamp)>,
}

impl DutyLine {
    pub fn of(duty: &DutyNow) -> DutyLine {
        DutyLine {
            who: duty
                .on_duty
                .as_ref()
                .map_or("Nobody".into(), |p| p.name.clone()),
            why: duty
                .source
                .map_or("no rotation, nobody took duty", |s| s.label()),
            since: duty.since.map(stamp),
            next: duty.next.as_ref().map(|n| {
                let who = n
                    .person
                    .as_ref()
                    .map_or("nobody".into(), |p| p.name.clone());
                (who, stamp(n.at))
            }),
        }
    }
}

/// A team in a list: who is on duty, and whether it is in acked mode.
pub(crate) struct TeamItem {
    pub path: String,
    pub name: String,
    pub members: usize,
    pub duty: DutyLine,
    pub acked_until: Option<Stamp>,
}

/// Every team with who is on duty now (the Teams page and the dashboard).
pub(crate) async fn team_items(pool: &sqlx::PgPool) -> Result<Vec<TeamItem>, AppError> {
    let now = OffsetDateTime::now_utc();
    let mut conn = pool.acquire().await?;
    let rows = teams::list(&mut *conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|t| t.id).collect();
    let members = teams::members_of(&mut *conn, &ids).await?;
    let mut items = Vec::new();
    for team in rows {
        let duty = duty::now(&mut conn, &team, now).await?;
        let acked = acked_mode(&mut conn, team.id, now).await?;
        items.push(TeamItem {
            path: format!("/admin/teams/{}", team.id),
            members: members
                .iter()
                .filter(|m| m.team_id == team.id && !m.disabled)
                .count(),
            name: team.name,
            duty: DutyLine::of(&duty),
            acked_until: acked.map(|a| stamp(a.until)),
        });
    }
    Ok(items)
}

#[derive(Template)]
#[template(path = "admin/teams.html")]
struct TeamsPage {
    layout: Layout,
    teams: Vec<TeamItem>,
    users: Vec<(Uuid, String, bool)>,
    name: String,
    error: Option<String>,
}

async fn teams_page<R>(
    staff: &Staff<R>,
    name: String,
    chosen: &[Uuid],
    error: Option<String>,
) -> Result<TeamsPage, AppError> {
    let items = team_items(&staff.state.pool).await?;
    let users = crate::accounts::users::list(&staff.state.pool)
        .await?
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .map(|u| (u.id, u.name, chosen.contains(&u.id)))
        .collect();
    Ok(TeamsPage {
        layout: Layout::of(staff, "Teams", "Teams"),
        teams: items,
        users,
        name,
        error,
    })
}

pub async fn list_teams(staff: Staff) -> Reply {
    let page = teams_page(&staff, String::new(), &[], None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// The admin's form: a name and members.
pub async fn create_team(
    staff: Staff<AsAdmin>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let name = forms::field(&fields, "name");
    let members = forms::ids(&fields, "member");
    let new = NewTeam {
        name: name.clone(),
        member_ids: members.clone(),
        ..NewTeam::default()
    };
    let mut tx = staff.begin().await?;
    match team_commands::create(&mut tx, Some(staff.id()), new, OffsetDateTime::now_utc()).await {
        Ok(id) => {
            let to = format!("/admin/teams/{id}");
            staff
                .commit_and_flash(tx, &to, &format!("Team {} created.", name.trim()))
                .await
        }
        Err(CommandError::Invalid { message, .. }) => {
            let page = teams_page(&staff, name, &members, Some(message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
        Err(err) => Err(err.into()),
    }
}

struct PageItem {
    path: String,
    reference: String,
    group: String,
    title: String,
    state: &'static str,
    started: Stamp,
}

struct TakeItem {
    who: String,
    how: String,
    started: Stamp,
    ended: Option<Stamp>,
}

struct OverrideItem {
    id: Uuid,
    who: String,
    starts: Stamp,
    ends: Stamp,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/team.html")]
pub(super) struct TeamPage {
    layout: Layout,
    team: TeamRow,
    duty: DutyLine,
    acked: Option<(Stamp, String, bool)>,
    is_member: bool,
    holds_duty: bool,
    members: Vec<(Uuid, String)>,
    takes: Vec<TakeItem>,
    overrides: Vec<OverrideItem>,
    pages: Vec<PageItem>,
    form: forms::TeamSettings,
    policies: Vec<(Uuid, String)>,
    error: Option<String>,
}

pub(super) async fn team_page<R>(
    staff: &Staff<R>,
    id: Uuid,
    form: Option<forms::TeamSettings>,
    error: Option<String>,
) -> Result<TeamPage, AppError> {
    let pool = &staff.state.pool;
    let now = OffsetDateTime::now_utc();
    let mut conn = pool.acquire().await?;
    let team = teams::find(&mut *conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such team.".into()))?;
    let members = teams::members_of(&mut *conn, &[id]).await?;
    let duty_now = duty::now(&mut conn, &team, now).await?;
    let acked = acked_mode(&mut conn, id, now).await?;
    let open_take = duty::takes(&mut *conn, id, 50).await?;
    let holds_duty = open_take
        .iter()
        .any(|t| t.ended_at.is_none() && t.user_id == staff.id());
    let pages = crate::paging::store::list(&mut *conn, &[], Some(id), None, 20).await?;
    let overrides = overrides::overrides(&mut *conn, id, now).await?;
    let policies = policies::list(&mut *conn).await?;
    let can_end =
        |a: &AckedMode| a.by == Some(staff.id()) || staff.user.can(crate::accounts::Role::Admin);
    Ok(TeamPage {
        layout: Layout::of(staff, &team.name, "Teams"),
        duty: DutyLine::of(&duty_now),
        acked: acked.map(|a| {
            (
                stamp(a.until),
                a.by_name.clone().unwrap_or_default(),
                can_end(&a),
            )
        }),
        is_member: members
            .iter()
            .any(|m| m.user_id == staff.id() && !m.disabled),
        holds_duty,
        members: members
            .iter()
            .filter(|m| !m.disabled)
            .map(|m| (m.user_id, m.name.clone()))
            .collect(),
        takes: open_take
            .into_iter()
            .map(|t| TakeItem {
                how: match &t.passed_by_name {
                    Some(by) => format!("passed by {by}"),
                    None => "took duty".into(),
                },
                who: t.user_name,
                started: stamp(t.started_at),
                ended: t.ended_at.map(stamp),
            })
            .collect(),
        overrides: overrides
            .into_iter()
            .map(|o| OverrideItem {
                id: o.id,
                who: o.user_name,
                starts: stamp(o.starts_at),
                ends: stamp(o.ends_at),
                reason: o.reason.unwrap_or_default(),
            })
            .collect(),
        pages: pages
            .into_iter()
            .map(|p| PageItem {
                path: format!("/admin/alert-groups/ALR-{}", p.group_number),
                reference: p.reference(),
                group: crate::alerts::commands::reference(p.group_number),
                title: p.group_title,
                state: p.state.label(),
                started: stamp(p.started_at),
            })
            .collect(),
        form: form.unwrap_or_else(|| forms::TeamSettings::of(&team, &members)),
        policies: policies.into_iter().map(|p| (p.id, p.name)).collect(),
        team,
        error,
    })
}

pub async fn show_team(staff: Staff, Path(id): Path<Uuid>) -> Reply {
    let page = team_page(&staff, id, None, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// A refused duty change: the team's page again, saying why.
async fn refused(staff: &Staff<AsResponder>, id: Uuid, err: CommandError) -> Reply {
    match err {
        CommandError::Invalid { message, .. } => {
            let page = team_page(staff, id, None, Some(message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
        CommandError::NotFound => Err(AppError::NotFound("There is no such team.".into())),
        other => Err(other.into()),
    }
}

pub async fn take_duty(staff: Staff<AsResponder>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    match duty::take(&mut tx, id, staff.id(), OffsetDateTime::now_utc()).await {
        Ok(()) => {
            let to = format!("/admin/teams/{id}");
            staff
                .commit_and_flash(
                    tx,
                    &to,
                    "You are on duty now, until you hand it back or someone else takes it.",
                )
                .await
        }
        Err(err) => refused(&staff, id, err).await,
    }
}

pub async fn release_duty(staff: Staff<AsResponder>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    match duty::release(&mut tx, id, staff.id(), OffsetDateTime::now_utc()).await {
        Ok(()) => {
            let to = format!("/admin/teams/{id}");
            staff
                .commit_and_flash(tx, &to, "You handed duty back: the rotation decides again.")
                .await
        }
        Err(err) => refused(&staff, id, err).await,
    }
}

pub async fn pass_duty(
    staff: Staff<AsResponder>,
    Path(id): Path<Uuid>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let Some(to_user) = forms::ids(&fields, "user_id").into_iter().next() else {
        return refused(
            &staff,
            id,
            CommandError::invalid("user_id", "Choose whom to pass duty to."),
        )
        .await;
    };
    let mut tx = staff.begin().await?;
    match duty::pass(&mut tx, id, staff.id(), to_user, OffsetDateTime::now_utc()).await {
        Ok(()) => {
            let to = format!("/admin/teams/{id}");
            let message = format!("Duty passed. {}", duty::PASS_WARNING);
            staff.commit_and_flash(tx, &to, &message).await
        }
        Err(err) => refused(&staff, id, err).await,
    }
}

pub async fn end_acked_mode(staff: Staff<AsResponder>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let admin = staff.user.can(crate::accounts::Role::Admin);
    let mut tx = staff.begin().await?;
    match crate::paging::acknowledge::end_acked_mode(
        &mut tx,
        id,
        staff.id(),
        admin,
        OffsetDateTime::now_utc(),
    )
    .await
    {
        Ok(()) => {
            let to = format!("/admin/teams/{id}");
            staff
                .commit_and_flash(tx, &to, "Acked mode ended: critical alerts page again.")
                .await
        }
        Err(err) => refused(&staff, id, err).await,
    }
}
