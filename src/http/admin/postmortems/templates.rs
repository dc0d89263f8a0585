//! The postmortem templates pages: list, create, edit, delete.

use super::super::incidents::{refusal, Posted, Reply};
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, Button, CsrfForm, Path, Staff};
use crate::http::page::{render_admin_status, Layout};
use crate::incidents::CommandError;
use crate::postmortems::draft;
use crate::postmortems::store as pm;
use askama::Template;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

type Admin = Staff<AsAdmin>;

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

const TEMPLATES: &str = "/admin/postmortem-templates";

/// The templates page, editing `editing` (or adding one), with the form as typed and its
/// problem when it comes back.
async fn templates_page(
    s: &Admin,
    editing: Option<pm::TemplateRow>,
    error: Option<String>,
    form: Option<(String, String, String)>,
    status: StatusCode,
) -> Reply {
    let (name, description, body) = form.unwrap_or_else(|| match &editing {
        Some(t) => (t.name.clone(), t.description.clone(), t.body.clone()),
        None => (
            String::new(),
            String::new(),
            "# {{title}} ({{number}})\n\n## Summary\n\n{{summary}}\n\n## Timeline\n\n{{timeline}}\n\n## Action items\n\n{{action_items}}\n".into(),
        ),
    });
    let page = TemplatesPage {
        layout: Layout::new(
            &s.state,
            &s.user,
            &s.jar,
            "Postmortem templates",
            "Postmortems",
        ),
        templates: pm::templates(&s.state.pool).await?,
        placeholders: draft::PLACEHOLDERS,
        editing,
        name,
        description,
        body,
        error,
    };
    render_admin_status(&s.state, &page.layout, &page, status)
}

async fn find_template(s: &Admin, id: Uuid) -> Result<pm::TemplateRow, AppError> {
    pm::template(&s.state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such template.".into()))
}

pub async fn list_templates(s: Admin) -> Reply {
    templates_page(&s, None, None, None, StatusCode::OK).await
}

pub async fn show_template(s: Admin, Path(id): Path<Uuid>) -> Reply {
    let template = find_template(&s, id).await?;
    templates_page(&s, Some(template), None, None, StatusCode::OK).await
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

pub async fn create_template(s: Admin, CsrfForm(form): CsrfForm<TemplateForm>) -> Reply {
    let body = form.body.replace("\r\n", "\n");
    let mut tx = s.begin().await?;
    let made = pm::create_template(&mut tx, &s.user.user, &form.name, &form.description, &body);
    match refusal(made.await)? {
        Ok(row) => {
            let message = format!("The template \"{}\" is ready.", row.name);
            s.commit_and_flash(tx, TEMPLATES, &message).await
        }
        Err(message) => {
            drop(tx);
            let form = Some((form.name, form.description, body));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            templates_page(&s, None, Some(message), form, status).await
        }
    }
}

pub async fn update_template(
    Posted { s, at: id, form }: Posted<Uuid, TemplateForm, AsAdmin>,
) -> Reply {
    let template = find_template(&s, id).await?;
    let body = form.body.replace("\r\n", "\n");
    let refuse = |editing, message: String, status| {
        let form = (form.name.clone(), form.description.clone(), body.clone());
        templates_page(&s, Some(editing), Some(message), Some(form), status)
    };
    let Some(version) = form.version else {
        let message = "This form did not say which version it edits; reload the page and make \
                       your change again.";
        return refuse(template, message.into(), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let mut tx = s.begin().await?;
    match pm::update_template(&mut tx, id, version, &form.name, &form.description, &body).await {
        Ok(row) => {
            let message = format!("The template \"{}\" is saved.", row.name);
            s.commit_and_flash(tx, TEMPLATES, &message).await
        }
        Err(CommandError::Stale { current, .. }) => {
            drop(tx);
            // The form moves to the current version with the text as typed, so the next
            // save is a deliberate merge.
            let fresh = find_template(&s, id).await?;
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

pub async fn delete_template(s: Admin, Path(id): Path<Uuid>, _: Button) -> Reply {
    find_template(&s, id).await?;
    let mut tx = s.begin().await?;
    let message = match refusal(pm::delete_template(&mut tx, id).await)? {
        Ok(()) => {
            tx.commit().await?;
            "The template is deleted.".to_owned()
        }
        Err(message) => message,
    };
    Ok(s.flash(TEMPLATES, &message))
}
