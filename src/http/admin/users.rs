//! The Users page: everyone can look; admins create, change roles, disable, reset passwords.

use crate::accounts::sessions;
use crate::platform::audit;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::accounts::users::{self, UserRow};
use crate::accounts::{generate_password, hash_password};
use crate::accounts::{Email, NewPassword, PersonName, Role};
use crate::app::AppState;
use crate::http::error::AppError;
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
    let mut errors = BTreeMap::new();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.insert("email".into(), e.0))
        .ok();
    let name = PersonName::parse(&form.name)
        .map_err(|e| errors.insert("name".into(), e.0))
        .ok();
    let role = Role::parse(&form.role);
    if role.is_none() {
        errors.insert("role".into(), "Choose admin, responder or viewer.".into());
    }
    // An empty password field means: generate one and show it once.
    let generated = form.password.is_empty();
    let password = if generated {
        generate_password()
    } else {
        form.password.clone()
    };
    let password = NewPassword::parse(password)
        .map_err(|e| errors.insert("password".into(), e.0))
        .ok();
    let (Some(email), Some(name), Some(role), Some(password)) = (email, name, role, password)
    else {
        let mut form = form;
        form.password.clear();
        let page = users_page(&state, &user, &jar, form, errors, None).await?;
        return render_admin_status(
            &state,
            &page.layout,
            &page,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let plain = password.expose().to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(password.expose()))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))??;
    let mut tx = state.pool.begin().await?;
    let inserted = users::insert(
        &mut *tx,
        users::NewUser {
            email: email.as_str(),
            name: name.as_str(),
            role,
            password_hash: &hash.0,
        },
    )
    .await;
    let created = match inserted {
        Ok(created) => created,
        Err(err) if crate::platform::db::violated_constraint(&err) == Some("users_email_key") => {
            let mut form = form;
            form.password.clear();
            let errors = BTreeMap::from([(
                "email".into(),
                "An account with this email already exists.".into(),
            )]);
            let page = users_page(&state, &user, &jar, form, errors, None).await?;
            return render_admin_status(
                &state,
                &page.layout,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Err(err) => return Err(err.into()),
    };
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "user.created",
        &format!("user:{}", created.id),
        json!({ "email": created.email, "role": created.role }),
    )
    .await?;
    tx.commit().await?;
    if generated {
        // Shown once, on this response; never stored in plain text.
        let page = users_page(
            &state,
            &user,
            &jar,
            NewUserForm::default(),
            BTreeMap::new(),
            Some((created.email.clone(), plain)),
        )
        .await?;
        return render_admin(&state, &page.layout, &page);
    }
    Ok(redirect_with_flash(
        &state,
        "/admin/users",
        &format!("{} can now sign in as {}.", created.name, created.role),
    ))
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
    let role = Role::parse(&form.role)
        .ok_or_else(|| AppError::field("role", "Choose admin, responder or viewer."))?;
    let mut tx = state.pool.begin().await?;
    let target = load(&mut tx, id).await?;
    if target.role == Role::Admin && role != Role::Admin {
        keep_an_admin(&mut tx, id).await?;
    }
    users::set_role(&mut tx, id, role).await?;
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "user.role_changed",
        &format!("user:{id}"),
        json!({ "old": target.role, "new": role }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/users",
        &format!("{} is now a {}.", target.name, role),
    ))
}

#[derive(Deserialize)]
pub struct EmptyForm {}

pub async fn disable_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let target = load(&mut tx, id).await?;
    if target.role == Role::Admin {
        keep_an_admin(&mut tx, id).await?;
    }
    users::set_disabled(&mut tx, id, true).await?;
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "user.disabled",
        &format!("user:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/users",
        &format!(
            "{} is disabled: signed out everywhere, API tokens revoked.",
            target.name
        ),
    ))
}

pub async fn enable_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let target = load(&mut tx, id).await?;
    users::set_disabled(&mut tx, id, false).await?;
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "user.enabled",
        &format!("user:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/users",
        &format!(
            "{} can sign in again; their old API tokens stay revoked.",
            target.name
        ),
    ))
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
    let password = generate_password();
    let plain = password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))??;
    let mut tx = state.pool.begin().await?;
    let target = load(&mut tx, id).await?;
    users::set_password(&mut tx, id, &hash.0).await?;
    if id != user.user.id {
        sessions::delete_for_user(&mut tx, id).await?;
    }
    audit::record(
        &mut *tx,
        Some(user.user.id),
        "user.password_reset",
        &format!("user:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    let page = users_page(
        &state,
        &user,
        &jar,
        NewUserForm::default(),
        BTreeMap::new(),
        Some((target.email, plain)),
    )
    .await?;
    render_admin(&state, &page.layout, &page)
}

async fn load(conn: &mut sqlx::PgConnection, id: Uuid) -> Result<UserRow, AppError> {
    users::find(&mut *conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such user.".into()))
}

/// Refuse a change that would leave no enabled admin.
async fn keep_an_admin(conn: &mut sqlx::PgConnection, id: Uuid) -> Result<(), AppError> {
    users::lock_admin_changes(&mut *conn).await?;
    if users::other_enabled_admins(&mut *conn, id).await? == 0 {
        return Err(AppError::Conflict {
            message: "This is the last enabled admin. Make someone else an admin first.".into(),
            current: None,
        });
    }
    Ok(())
}
