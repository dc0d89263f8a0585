//! Declaring an incident from the browser: one short form.

use crate::accounts::users;
use askama::Template;
use axum::http::StatusCode;
use uuid::Uuid;

use super::actions::Responder;
use super::view::{
    component_picks, input_time, parse_input_time, people_choices, severity_options,
    visibility_choices, Choice, ComponentPick, SeverityOption,
};
use super::{refusal, Reply};
use crate::components::{self, ComponentStatus};
use crate::http::error::AppError;
use crate::http::extract::CsrfForm;
use crate::http::page::{render_admin, render_admin_status, Layout};
use crate::incidents::{self, NewIncident};
use crate::incidents::{Impact, Severity, Visibility};

#[derive(Template)]
#[template(path = "admin/declare.html")]
struct DeclarePage {
    layout: Layout,
    severities: Vec<SeverityOption>,
    leaders: Vec<Choice>,
    visibilities: Vec<Choice>,
    impacts: Vec<Choice>,
    components: Vec<ComponentPick>,
    title: String,
    summary: String,
    started_at: String,
    /// The instant `started_at` shows (fresh form only), for the browser to redisplay in
    /// its own zone.
    started_utc: String,
    initial_update: String,
    public_title: String,
    show_components: bool,
    error: Option<String>,
}

#[derive(Default)]
struct Draft {
    title: String,
    summary: String,
    severity: Option<Severity>,
    impact: Option<Impact>,
    visibility: Option<Visibility>,
    leader_id: Option<Uuid>,
    components: Vec<(Uuid, ComponentStatus)>,
    started_at: String,
    started_utc: String,
    time_zone: String,
    initial_update: String,
    public_title: String,
    show_components: bool,
}

async fn page(s: &Responder, draft: Draft, error: Option<String>) -> Result<DeclarePage, AppError> {
    let (state, user) = (&s.state, &s.user);
    let users = users::list(&state.pool).await?;
    let components = components::list(&state.pool).await?;
    let mut impacts = vec![Choice {
        value: String::new(),
        label: "Follow severity".into(),
        selected: draft.impact.is_none(),
    }];
    impacts.extend(super::view::choices(
        Impact::ALL,
        draft.impact,
        Impact::as_str,
        Impact::label,
    ));
    Ok(DeclarePage {
        layout: Layout::new(state, user, &s.jar, "Declare an incident", "Incidents"),
        severities: severity_options(draft.severity),
        leaders: people_choices(&users, Some(draft.leader_id.unwrap_or(user.user.id))),
        visibilities: visibility_choices(draft.visibility.unwrap_or(Visibility::Public)),
        impacts,
        components: component_picks(&components, &draft.components),
        title: draft.title,
        summary: draft.summary,
        started_at: draft.started_at,
        started_utc: draft.started_utc,
        initial_update: draft.initial_update,
        public_title: draft.public_title,
        show_components: draft.show_components,
        error,
    })
}

pub async fn show_declare(s: Responder) -> Reply {
    let now = time::OffsetDateTime::now_utc();
    let draft = Draft {
        started_at: input_time(now),
        started_utc: crate::platform::time::rfc3339(now),
        ..Default::default()
    };
    let page = page(&s, draft, None).await?;
    render_admin(&s.state, &page.layout, &page)
}

fn parse(fields: &[(String, String)]) -> Result<Draft, String> {
    let mut draft = Draft::default();
    for (key, value) in fields {
        match key.as_str() {
            "title" => draft.title = value.clone(),
            "summary" => draft.summary = value.clone(),
            "severity" => {
                draft.severity =
                    Some(Severity::parse(value).ok_or_else(|| {
                        format!("{value:?} is not a severity: choose SEV1 to SEV4.")
                    })?)
            }
            "impact" if value.is_empty() => {}
            "impact" => {
                draft.impact = Some(
                    Impact::parse(value).ok_or_else(|| format!("{value:?} is not an impact."))?,
                )
            }
            "visibility" => {
                draft.visibility = Some(
                    Visibility::parse(value)
                        .ok_or_else(|| format!("{value:?} is not a visibility."))?,
                )
            }
            "leader_id" => draft.leader_id = Uuid::parse_str(value).ok(),
            "started_at" => draft.started_at = value.clone(),
            "time_zone" => draft.time_zone = value.clone(),
            "initial_update" => draft.initial_update = value.clone(),
            "public_title" => draft.public_title = value.clone(),
            "show_components" => draft.show_components = true,
            key => {
                if let (Some(id), false) = (key.strip_prefix("component:"), value.is_empty()) {
                    let id = Uuid::parse_str(id).map_err(|_| "Unknown component.".to_owned())?;
                    let status = ComponentStatus::parse(value)
                        .ok_or_else(|| format!("{value:?} is not a component status."))?;
                    draft.components.push((id, status));
                }
            }
        }
    }
    Ok(draft)
}

pub async fn declare_incident(
    s: Responder,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let draft = match parse(&fields) {
        Ok(draft) => draft,
        Err(message) => return refuse(&s, Draft::default(), message).await,
    };
    let Some(severity) = draft.severity else {
        return refuse(&s, draft, "Choose a severity.".into()).await;
    };
    let raw = draft.started_at.trim().to_owned();
    let started_at = match parse_input_time(&raw, &draft.time_zone) {
        _ if raw.is_empty() => None,
        Ok(at) => Some(at),
        Err(message) => return refuse(&s, draft, message).await,
    };
    let new = NewIncident {
        title: draft.title.clone(),
        severity,
        summary: draft.summary.clone(),
        visibility: draft.visibility.unwrap_or(Visibility::Public),
        impact: draft.impact,
        leader_id: draft.leader_id,
        components: draft.components.clone(),
        started_at,
        detected_at: None,
        acknowledged_at: None,
        declared_by_rule: None,
        initial_update: Some(draft.initial_update.clone()),
        public_title: Some(draft.public_title.clone()).filter(|t| !t.trim().is_empty()),
        show_components: draft.show_components,
    };
    let mut tx = s.begin().await?;
    let incident = match refusal(incidents::declare(&mut tx, &s.user.user, new).await)? {
        Ok(incident) => incident,
        Err(message) => {
            drop(tx);
            return refuse(&s, draft, message).await;
        }
    };
    tx.commit().await?;
    tracing::info!(incident = %incident.reference(), severity = %incident.severity, "incident declared");
    let message = format!(
        "{} declared. You can post updates and add notes below.",
        incident.reference()
    );
    Ok(s.flash(&super::incident_path(&incident), &message))
}

async fn refuse(s: &Responder, draft: Draft, message: String) -> Reply {
    let page = page(s, draft, Some(message)).await?;
    render_admin_status(
        &s.state,
        &page.layout,
        &page,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}
