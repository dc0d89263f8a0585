//! The Users page: everyone can look; admins create, change roles, disable, reset passwords.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::accounts::user_commands::{self, CreateUser};
use crate::accounts::users::{self, UserRow};
use crate::accounts::{AccountError, NewPassword, Role};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::EmptyForm;
use crate::http::extract::{CsrfForm, CurrentUser, Path};
use crate::http::page::{render_admin, render_admin_status, Layout};
use crate::http::session::redirect_with_flash;

pub struct UserView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub created: super::Stamp,
    pub is_self: bool,
}

pub struct RoleOption {
    pub value: &'static str,
    pub label: &'static str,
    pub describe: &'static str,
    pub selected: bool,
}

fn role_options(selected: Role) -> Vec<RoleOption> {
    Role::ALL
        .iter()
        .map(|r| RoleOption {
            value: r.as_str(),
            label: r.label(),
            describe: r.describe(),
            selected: *r == selected,
        })
        .collect()
}

impl UserView {
    fn role_options(&self) -> Vec<RoleOption> {
        role_options(self.role)
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserView>,
    can_manage: bool,
    new_roles: Vec<RoleOption>,
    form: NewUserForm,
    errors: BTreeMap<String, String>,
    /// A password just generated, shown once.
    shown_password: Option<(String, String)>,
    min_password: usize,
}

impl UsersPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

async fn users_page(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    form: NewUserForm,
    errors: BTreeMap<String, String>,
    shown_password: Option<(String, String)>,
) -> Result<UsersPage, AppError> {
    let users = users::list(&state.pool)
        .await?
        .into_iter()
        .map(|u: UserRow| UserView {
            is_self: u.id == user.user.id,
            disabled: u.is_disabled(),
            created: super::stamp(u.created_at),
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role,
        })
        .collect();
    let selected = Role::parse(&form.role).unwrap_or(Role::Responder);
    Ok(UsersPage {
        layout: Layout::new(state, user, jar, "Users", "Users"),
        users,
        can_manage: user.can(Role::Admin),
        new_roles: role_options(selected),
        form,
        errors,
        shown_password,
        min_password: NewPassword::MIN_CHARS,
    })
}

pub async fn list_users(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let page = users_page(
        &state,
        &user,
        &jar,
        NewUserForm::default(),
        BTreeMap::new(),
        None,
    )
    .await?;
    render_admin(&state, &page.layout, &page)
}

#[derive(Debug, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub password: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<NewUserForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let input = CreateUser {
        email: form.email.clone(),
        name: form.name.clone(),
        role: Role::parse(&form.role),
        // An empty password field means: generate one and show it once.
        password: (!form.password.is_empty()).then(|| form.password.clone()),
    };
    let created = match user_commands::create_user(&state.pool, Some(&user.user), input).await {
        Ok(created) => created,
        Err(AccountError::Fields(errors)) => {
            return refused(&state, &user, &jar, form, errors).await
        }
        Err(AccountError::Invalid { field, message }) => {
            let errors = BTreeMap::from([(field.to_owned(), message)]);
            return refused(&state, &user, &jar, form, errors).await;
        }
        Err(err) => return Err(err.into()),
    };
    let user_row = created.user;
    if let Some(plain) = created.generated {
        // Shown once, on this response; never stored in plain text.
        return show_password(&state, &user, &jar, user_row.email, plain).await;
    }
    Ok(redirect_with_flash(
        &state,
        "/admin/users",
        &format!("{} can now sign in as {}.", user_row.name, user_row.role),
    ))
}

/// The Users page again with the form as typed (but no password) and what was wrong.
async fn refused(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    mut form: NewUserForm,
    errors: BTreeMap<String, String>,
) -> Result<Response, AppError> {
    form.password.clear();
    let page = users_page(state, user, jar, form, errors, None).await?;
    render_admin_status(state, &page.layout, &page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// The Users page with a password shown once.
async fn show_password(
    state: &AppState,
    user: &CurrentUser,
    jar: &CookieJar,
    email: String,
    plain: String,
) -> Result<Response, AppError> {
    let page = users_page(
        state,
        user,
        jar,
        NewUserForm::default(),
        BTreeMap::new(),
        Some((email, plain)),
    )
    .await?;
    render_admin(state, &page.layout, &page)
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let role = user_commands::parse_role(&form.role)?;
    let target = user_commands::change_role(&state.pool, Some(&user.user), id, role).await?;
    Ok(flash(&state, format!("{} is now a {}.", target.name, role)))
}

fn flash(state: &AppState, message: String) -> Response {
    redirect_with_flash(state, "/admin/users", &message)
}

pub async fn disable_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let target = user_commands::disable_user(&state.pool, Some(&user.user), id).await?;
    let done = "is disabled: signed out everywhere, API tokens revoked.";
    Ok(flash(&state, format!("{} {done}", target.name)))
}

pub async fn enable_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let target = user_commands::enable_user(&state.pool, Some(&user.user), id).await?;
    let done = "can sign in again; their old API tokens stay revoked.";
    Ok(flash(&state, format!("{} {done}", target.name)))
}

/// Set a generated password and show it once; the user's sessions end.
pub async fn reset_password(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let set = user_commands::reset_password(&state.pool, Some(&user.user), id, None).await?;
    let plain = set.generated.unwrap_or_default();
    show_password(&state, &user, &jar, set.user.email, plain).await
}
