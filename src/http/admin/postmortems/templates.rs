//! The postmortem templates pages: list, create, edit, delete.

use crate::accounts::Role;
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::EmptyForm;
use crate::http::extract::{CsrfForm, CurrentUser, Path};
use crate::http::page::{render_admin, render_admin_status, Layout};
use crate::http::session::redirect_with_flash;
use crate::incidents::CommandError;
use crate::postmortems::draft;
use crate::postmortems::store as pm;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "admin/postmortem_templates.html")]
struct TemplatesPage {
    layout: Layout,
    templates: Vec<pm::TemplateRow>,
    placeholders: &'static [(&'static str, &'static str)],
    editing: Option<pm::TemplateRow>,
    name: String,
    description: String,
    body: String,
    error: Option<String>,
}

async fn templates_page(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    editing: Option<pm::TemplateRow>,
    error: Option<String>,
    form: Option<(String, String, String)>,
) -> Result<TemplatesPage, AppError> {
    let (name, description, body) = form.unwrap_or_else(|| match &editing {
        Some(t) => (t.name.clone(), t.description.clone(), t.body.clone()),
        None => (
            String::new(),
            String::new(),
            "# {{title}} ({{number}})\n\n## Summary\n\n{{summary}}\n\n## Timeline\n\n{{timeline}}\n\n## Action items\n\n{{action_items}}\n".into(),
        ),
    });
    Ok(TemplatesPage {
        layout: Layout::new(state, user, jar, "Postmortem templates", "Postmortems"),
        templates: pm::templates(&state.pool).await?,
        placeholders: draft::PLACEHOLDERS,
        editing,
        name,
        description,
        body,
        error,
    })
}

pub async fn list_templates(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let page = templates_page(&state, &user, &jar, None, None, None).await?;
    render_admin(&state, &page.layout, &page)
}

pub async fn show_template(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let template = pm::template(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such template.".into()))?;
    let page = templates_page(&state, &user, &jar, Some(template), None, None).await?;
    render_admin(&state, &page.layout, &page)
}

#[derive(Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    body: String,
    version: Option<i32>,
}

pub async fn create_template(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<TemplateForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let body = form.body.replace("\r\n", "\n");
    let mut tx = state.pool.begin().await?;
    match pm::create_template(&mut tx, &user.user, &form.name, &form.description, &body).await {
        Ok(row) => {
            tx.commit().await?;
            Ok(redirect_with_flash(
                &state,
                "/admin/postmortem-templates",
                &format!("The template \"{}\" is ready.", row.name),
            ))
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            let page = templates_page(
                &state,
                &user,
                &jar,
                None,
                Some(message),
                Some((form.name, form.description, body)),
            )
            .await?;
            render_admin_status(
                &state,
                &page.layout,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn update_template(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<TemplateForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let template = pm::template(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such template.".into()))?;
    let body = form.body.replace("\r\n", "\n");
    let refuse = |editing, message: String, status| {
        let (state, user, jar) = (&state, &user, &jar);
        let form = (form.name.clone(), form.description.clone(), body.clone());
        async move {
            let page =
                templates_page(state, user, jar, Some(editing), Some(message), Some(form)).await?;
            render_admin_status(state, &page.layout, &page, status)
        }
    };
    let Some(version) = form.version else {
        let message = "This form did not say which version it edits; reload the page and make \
                       your change again.";
        return refuse(template, message.into(), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let mut tx = state.pool.begin().await?;
    match pm::update_template(&mut tx, id, version, &form.name, &form.description, &body).await {
        Ok(row) => {
            tx.commit().await?;
            Ok(redirect_with_flash(
                &state,
                "/admin/postmortem-templates",
                &format!("The template \"{}\" is saved.", row.name),
            ))
        }
        Err(CommandError::Stale { current, .. }) => {
            drop(tx);
            // The form moves to the current version with the text as typed, so the next
            // save is a deliberate merge.
            let fresh = pm::template(&state.pool, id)
                .await?
                .ok_or_else(|| AppError::NotFound("There is no such template.".into()))?;
            let message = format!(
                "Not saved: someone else changed this template while you were editing (it is \
                 now at version {current}). Your text is below; compare it with the saved one \
                 in the list and save again to replace it."
            );
            refuse(fresh, message, StatusCode::CONFLICT).await
        }
        Err(CommandError::Invalid { message, .. }) => {
            drop(tx);
            refuse(template, message, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn delete_template(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    pm::template(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such template.".into()))?;
    let mut tx = state.pool.begin().await?;
    let message = match pm::delete_template(&mut tx, id).await {
        Ok(()) => {
            tx.commit().await?;
            "The template is deleted.".to_owned()
        }
        Err(CommandError::Invalid { message, .. }) => message,
        Err(err) => return Err(err.into()),
    };
    Ok(redirect_with_flash(
        &state,
        "/admin/postmortem-templates",
        &message,
    ))
}
