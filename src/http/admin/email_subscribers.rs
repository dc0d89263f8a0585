//! Email subscribers (admins): how many are confirmed, waiting and bounced, how their
//! mail went, the list with each address's confirmation and bounce, adding an address
//! (it gets the confirmation mail), removing one, and CSV import and export.

use askama::Template;
use axum::extract::Multipart;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::components::{choices, ComponentChoice};
use super::{format_time, stamp, Reply, Stamp};
use crate::app::AppState;
use crate::email_subscribers::commands::{self, Removal};
use crate::email_subscribers::{csv, outbox, store, EmailSource, EmailState, EmailSubscriberRow};
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, CsrfForm, Path, Query, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::platform::command::CommandError;

const BACK: &str = "/admin/email-subscribers";

pub struct Row {
    pub id: Uuid,
    pub email: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub components: String,
    pub source: &'static str,
    pub created: Stamp,
    /// "confirmed …", "link sent …, works until …"
    pub confirmation: String,
    pub bounce: Option<String>,
}

fn row(r: &EmailSubscriberRow, names: &[(Uuid, String)]) -> Row {
    let components = if r.component_ids.is_empty() {
        "All".to_owned()
    } else {
        let named: Vec<&str> = r
            .component_ids
            .iter()
            .map(|id| {
                names
                    .iter()
                    .find(|(c, _)| c == id)
                    .map_or("(removed)", |(_, n)| n.as_str())
            })
            .collect();
        named.join(", ")
    };
    let confirmation = match (
        r.state,
        r.confirmed_at,
        r.confirm_sent_at,
        r.confirm_expires_at,
    ) {
        (EmailState::Confirmed, Some(at), _, _) => format!("Confirmed {}", format_time(at)),
        (_, _, Some(sent), Some(until)) => format!(
            "Link sent {}, works until {}",
            format_time(sent),
            format_time(until)
        ),
        (_, _, Some(sent), None) => format!("Link sent {}", format_time(sent)),
        _ => "No link sent yet".to_owned(),
    };
    Row {
        id: r.id,
        email: r.email.clone(),
        state: r.state.label(),
        state_class: match r.state {
            EmailState::Confirmed => "ok",
            EmailState::Unconfirmed => "",
            EmailState::Bounced => "warn",
        },
        components,
        source: EmailSource::parse(&r.source).map_or("", EmailSource::label),
        created: stamp(r.created_at),
        confirmation,
        bounce: r.bounced_at.map(|at| {
            format!(
                "{} ({})",
                r.bounce_reason.clone().unwrap_or_default(),
                format_time(at)
            )
        }),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    state: String,
    q: String,
}

#[derive(Template)]
#[template(path = "admin/email_subscribers.html")]
struct ListPage {
    layout: Layout,
    smtp: bool,
    counts: Vec<(&'static str, i64)>,
    mail: Vec<(String, i64)>,
    rows: Vec<Row>,
    more: bool,
    state: String,
    q: String,
    states: Vec<(&'static str, &'static str)>,
    choices: Vec<ComponentChoice>,
    email: String,
    error: Option<String>,
}

/// Rows shown at once; the CSV export has them all.
const SHOWN: i64 = 500;

async fn names(state: &AppState) -> Result<Vec<(Uuid, String)>, AppError> {
    Ok(crate::components::list(&state.pool)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

async fn list_page(
    staff: &Staff<AsAdmin>,
    query: ListQuery,
    form: (String, Vec<Uuid>),
    error: Option<String>,
) -> Result<ListPage, AppError> {
    let state = &staff.state;
    let filter = EmailState::parse(&query.state);
    let search = Some(query.q.trim()).filter(|q| !q.is_empty());
    let mut rows = store::list(&state.pool, filter, search, None, SHOWN + 1).await?;
    let more = rows.len() as i64 > SHOWN;
    rows.truncate(SHOWN as usize);
    let names = names(state).await?;
    let counts = store::counts(&state.pool).await?;
    Ok(ListPage {
        layout: Layout::of(staff, "Email subscribers", "Subscribers"),
        smtp: state.settings.notify.smtp.is_some(),
        counts: EmailState::ALL
            .iter()
            .map(|s| {
                let n = counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n);
                (s.label(), n)
            })
            .collect(),
        mail: outbox::counts(&state.pool).await?,
        rows: rows.iter().map(|r| row(r, &names)).collect(),
        more,
        states: EmailState::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        state: query.state,
        q: query.q,
        choices: choices(state, &form.1).await?,
        email: form.0,
        error,
    })
}

pub async fn list_email_subscribers(
    staff: Staff<AsAdmin>,
    Query(query): Query<ListQuery>,
) -> Reply {
    let page = list_page(&staff, query, Default::default(), None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

pub async fn add_email_subscriber(
    staff: Staff<AsAdmin>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let mut email = String::new();
    let mut components = Vec::new();
    for (k, v) in &fields {
        match k.as_str() {
            "email" => email = v.clone(),
            "component" => components.extend(Uuid::parse_str(v).ok()),
            _ => {}
        }
    }
    let mut tx = staff.begin().await?;
    match commands::add(&mut tx, staff.id(), &email, &components, EmailSource::Admin).await {
        Ok(row) => {
            let message = format!(
                "{} is added. It gets a confirmation email and nothing else until its owner confirms.",
                row.email
            );
            staff.commit_and_flash(tx, BACK, &message).await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            let page = list_page(
                &staff,
                ListQuery::default(),
                (email, components),
                Some(message),
            )
            .await?;
            render_refused(&staff.state, &page.layout, &page)
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn remove_email_subscriber(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let mut tx = staff.begin().await?;
    let removed = commands::remove(&mut tx, id, Removal::RemovedBy(staff.id())).await?;
    let message = if removed {
        "Removed. The address gets no more email."
    } else {
        "That address was removed already."
    };
    staff.commit_and_flash(tx, BACK, message).await
}

/// Every subscriber as CSV.
pub async fn export_email_subscribers(staff: Staff<AsAdmin>) -> Reply {
    let rows = store::all(&staff.state.pool).await?;
    let names = names(&staff.state).await?;
    let body = csv::write(&rows, &names).map_err(AppError::Internal)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"email-subscribers.csv\""),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Import a CSV (a multipart form; its CSRF token is checked here).
pub async fn import_email_subscribers(staff: Staff<AsAdmin>, mut multipart: Multipart) -> Reply {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!("The upload could not be read: {e}"))
    };
    let (mut token, mut file, mut confirmed) = (String::new(), Vec::new(), false);
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf_token") => token = field.text().await.map_err(unreadable)?,
            Some("confirmed") => confirmed = true,
            Some("csv") => file = field.bytes().await.map_err(unreadable)?.to_vec(),
            _ => {}
        }
    }
    if !bool::from(token.as_bytes().ct_eq(staff.user.csrf_token.as_bytes())) {
        return Err(AppError::Forbidden(
            "This form has expired (CSRF check failed). Reload the page and try again.".into(),
        ));
    }
    let refuse = |message: String| async {
        let page = list_page(
            &staff,
            ListQuery::default(),
            Default::default(),
            Some(message),
        )
        .await?;
        render_refused(&staff.state, &page.layout, &page)
    };
    if file.is_empty() {
        return refuse("Choose a CSV file: one address per line, optionally with the component names after a comma (separated by ;).".into()).await;
    }
    let names = names(&staff.state).await?;
    let rows = match csv::read(&file, &names) {
        Ok(rows) => rows,
        Err(problems) => {
            let shown: Vec<String> = problems
                .iter()
                .take(5)
                .map(|p| format!("line {}: {}", p.line, p.message))
                .collect();
            let more = problems.len().saturating_sub(5);
            let tail = if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            };
            return refuse(format!("Nothing was imported: {}{tail}.", shown.join("; "))).await;
        }
    };
    let mut tx = staff.begin().await?;
    match commands::import(&mut tx, staff.id(), &rows, confirmed).await {
        Ok(done) => {
            let how = if confirmed {
                "They get news from now on."
            } else {
                "Each gets a confirmation email first."
            };
            let message = format!(
                "Imported {} addresses ({} were subscribed already and left as they are). {how}",
                done.added, done.skipped
            );
            staff.commit_and_flash(tx, BACK, &message).await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            refuse(format!("Nothing was imported: {message}")).await
        }
        Err(other) => Err(other.into()),
    }
}
