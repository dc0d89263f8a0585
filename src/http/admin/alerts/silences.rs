//! `/admin/silences`: the active and recent silences with their End buttons and the form
//! for a matcher silence, and the silence form of the alert-group buttons. Each write is
//! one command in one transaction, then back with a message.

use askama::Template;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::actions::{back, FromQuery};
use crate::alerts::routing::parse_matchers;
use crate::alerts::silences::{self, Ended, Ending, NewSilence, SilenceRow, Target, Until};
use crate::http::admin::Reply;
use crate::http::error::AppError;
use crate::http::extract::{AsResponder, Button, CsrfForm, Path, Query, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::http::zone::{stamp, Stamp};
use crate::platform::command::CommandError;

/// How many ended silences the page shows.
const RECENT: i64 = 50;
const PAGE: &str = "/admin/silences";

/// One silence as the page shows it.
struct SilenceItem {
    id: Uuid,
    covers: String,
    /// The group's page, for a group silence.
    group_path: Option<String>,
    reason: String,
    created_by: String,
    starts: Stamp,
    ends: Stamp,
    ended: Option<Stamp>,
    /// Who ended it early; none when it ran its course.
    ended_by: Option<String>,
    groups_silenced: i64,
}

fn item(s: &SilenceRow) -> SilenceItem {
    SilenceItem {
        id: s.id,
        covers: s.covers(),
        group_path: s
            .group_number
            .map(|n| format!("/admin/alert-groups/ALR-{n}")),
        reason: s.reason.clone(),
        created_by: s.created_by_name.clone().unwrap_or_default(),
        starts: stamp(s.starts_at),
        ends: stamp(s.ends_at),
        ended: s.ended_at.map(stamp),
        ended_by: s.ended_by_name.clone(),
        groups_silenced: s.groups_silenced,
    }
}

#[derive(Template)]
#[template(path = "admin/silences.html")]
struct SilencesPage {
    layout: Layout,
    active: Vec<SilenceItem>,
    recent: Vec<SilenceItem>,
    /// The form as typed, when it was refused; else its defaults.
    form: SilenceForm,
    error: Option<String>,
}

async fn silences_page<R>(
    staff: &Staff<R>,
    form: SilenceForm,
    error: Option<String>,
) -> Result<SilencesPage, AppError> {
    let pool = &staff.state.pool;
    let now = OffsetDateTime::now_utc();
    let active = silences::list(pool, Some(true), None, i64::from(i32::MAX)).await?;
    let recent = silences::list(pool, Some(false), None, RECENT).await?;
    Ok(SilencesPage {
        layout: Layout::of(staff, "Silences", "Alerts"),
        active: active.iter().filter(|s| s.active(now)).map(item).collect(),
        recent: recent.iter().map(item).collect(),
        form,
        error,
    })
}

pub async fn list_silences(staff: Staff) -> Reply {
    let page = silences_page(&staff, SilenceForm::default(), None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// Minutes as typed: a whole number (the command checks the range).
fn minutes(raw: &str) -> Result<i64, String> {
    raw.trim().parse().map_err(|_| {
        format!(
            "Minutes must be a whole number from {} to {}.",
            silences::MINUTES.start(),
            silences::MINUTES.end()
        )
    })
}

#[derive(Debug, Clone, Deserialize)]
pub struct SilenceForm {
    #[serde(default)]
    pub matchers: String,
    #[serde(default)]
    pub minutes: String,
    #[serde(default)]
    pub reason: String,
}

impl Default for SilenceForm {
    fn default() -> Self {
        SilenceForm {
            matchers: String::new(),
            minutes: "60".into(),
            reason: String::new(),
        }
    }
}

/// Runs `create` and goes back to `to` saying what it did; `Err` with why it was refused,
/// for the caller to show the form again.
async fn create(
    staff: &Staff<AsResponder>,
    to: &str,
    target: Result<Target, String>,
    form: &SilenceForm,
    done: impl FnOnce(&SilenceRow, i64) -> String,
) -> Result<Result<axum::response::Response, String>, AppError> {
    let (target, minutes) = match (target, minutes(&form.minutes)) {
        (Ok(target), Ok(minutes)) => (target, minutes),
        (Err(message), _) | (_, Err(message)) => return Ok(Err(message)),
    };
    let new = NewSilence {
        target,
        until: Until::Minutes(minutes),
        reason: form.reason.clone(),
    };
    let mut tx = staff.begin().await?;
    let now = OffsetDateTime::now_utc();
    match silences::create(&mut tx, staff.id(), new, now).await {
        Ok(id) => {
            let row = silences::find(&mut *tx, id).await?;
            let row = row.ok_or_else(|| AppError::NotFound("The silence is gone.".into()))?;
            Ok(Ok(staff
                .commit_and_flash(tx, to, &done(&row, minutes))
                .await?))
        }
        Err(CommandError::Invalid { message, .. }) => Ok(Err(message)),
        Err(err) => Err(err.into()),
    }
}

/// A matcher silence from the page's form (matchers as Alertmanager writes them).
pub async fn create_silence(
    staff: Staff<AsResponder>,
    CsrfForm(form): CsrfForm<SilenceForm>,
) -> Reply {
    let target = parse_matchers(&form.matchers)
        .map(Target::Matchers)
        .map_err(|e| format!("The matchers cannot be read: {e}."));
    let created = create(&staff, PAGE, target, &form, |s, minutes| {
        let groups = match s.groups_silenced {
            1 => "1 open group".to_owned(),
            n => format!("{n} open groups"),
        };
        format!(
            "Silenced {} for {minutes} minutes: {groups} now, and any that open meanwhile.",
            s.covers()
        )
    })
    .await?;
    match created {
        Ok(response) => Ok(response),
        Err(message) => {
            let page = silences_page(&staff, form, Some(message)).await?;
            render_refused(&staff.state, &page.layout, &page)
        }
    }
}

/// The group buttons' silence form.
pub async fn silence_group(
    staff: Staff<AsResponder>,
    Path(reference): Path<String>,
    Query(from): Query<FromQuery>,
    CsrfForm(form): CsrfForm<SilenceForm>,
) -> Reply {
    let group = super::load(&staff.state, &reference).await?;
    let reference = group.reference();
    let to = back(&from, &format!("/admin/alert-groups/{reference}"));
    let created = create(
        &staff,
        &to,
        Ok(Target::Group(group.id)),
        &form,
        |_, minutes| format!("{reference} silenced for {minutes} minutes."),
    )
    .await?;
    match created {
        Ok(response) => Ok(response),
        // Shown on the group's own page, wherever it was pressed, with the form as typed.
        Err(message) => super::group::refused(&staff, group, form, message).await,
    }
}

/// The End button.
pub async fn end_silence(staff: Staff<AsResponder>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    let now = OffsetDateTime::now_utc();
    let message = match silences::end(&mut tx, Ending::Early(staff.id()), id, now).await {
        Ok(Ended::Now) => "Silence ended: its groups fire again.",
        Ok(Ended::Already | Ended::NotDue(_)) => "That silence had ended already.",
        Err(CommandError::NotFound) => {
            return Err(AppError::NotFound("There is no such silence.".into()))
        }
        Err(err) => return Err(err.into()),
    };
    staff.commit_and_flash(tx, PAGE, message).await
}
