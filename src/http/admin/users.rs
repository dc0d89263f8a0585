//! The Users page: everyone can look; admins create, change roles, disable, reset passwords.

use askama::Template;
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

use super::Reply;
use crate::accounts::user_commands::{self, NewUser};
use crate::accounts::users::{self, UserRow};
use crate::accounts::{AccountError, NewPassword, Role};
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, Button, CsrfForm, Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};

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

/// The Users page with the new-user form as given, what was wrong in it, and a password
/// to show once.
async fn users_page<R>(
    staff: &Staff<R>,
    form: NewUserForm,
    errors: BTreeMap<String, String>,
    shown_password: Option<(String, String)>,
) -> Result<UsersPage, AppError> {
    let users = users::list(&staff.state.pool)
        .await?
        .into_iter()
        .map(|u: UserRow| UserView {
            is_self: u.id == staff.id(),
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
        layout: Layout::of(staff, "Users", "Users"),
        users,
        can_manage: staff.user.can(Role::Admin),
        new_roles: role_options(selected),
        form,
        errors,
        shown_password,
        min_password: NewPassword::MIN_CHARS,
    })
}

pub async fn list_users(staff: Staff) -> Reply {
    let page = users_page(&staff, NewUserForm::default(), BTreeMap::new(), None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewUserForm {
    pub email: String,
    pub name: String,
    pub role: String,
    pub password: String,
}

pub async fn create_user(staff: Staff<AsAdmin>, CsrfForm(form): CsrfForm<NewUserForm>) -> Reply {
    let input = NewUser {
        email: form.email.clone(),
        name: form.name.clone(),
        role: Role::parse(&form.role),
        // An empty password field means: generate one and show it once.
        password: (!form.password.is_empty()).then(|| form.password.clone()),
    };
    let by = Some(&staff.user.user);
    let created = match user_commands::create_user(&staff.state.pool, by, input).await {
        Ok(created) => created,
        Err(AccountError::Fields(errors)) => return refused(&staff, form, errors).await,
        Err(AccountError::Invalid { field, message }) => {
            let errors = BTreeMap::from([(field.to_owned(), message)]);
            return refused(&staff, form, errors).await;
        }
        Err(err) => return Err(err.into()),
    };
    let user_row = created.user;
    if let Some(plain) = created.generated {
        // Shown once, on this response; never stored in plain text.
        return show_password(&staff, user_row.email, plain).await;
    }
    let message = format!("{} can now sign in as {}.", user_row.name, user_row.role);
    Ok(staff.flash(BACK, &message))
}

/// The Users page again with the form as typed (but no password) and what was wrong.
async fn refused<R>(
    staff: &Staff<R>,
    mut form: NewUserForm,
    errors: BTreeMap<String, String>,
) -> Reply {
    form.password.clear();
    let page = users_page(staff, form, errors, None).await?;
    render_refused(&staff.state, &page.layout, &page)
}

/// The Users page with a password shown once.
async fn show_password<R>(staff: &Staff<R>, email: String, plain: String) -> Reply {
    let shown = Some((email, plain));
    let page = users_page(staff, NewUserForm::default(), BTreeMap::new(), shown).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// Where the changes to a user go back to.
const BACK: &str = "/admin/users";

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RoleForm {
    role: String,
}

pub async fn change_role(staff: Staff<AsAdmin>, id: Path<Uuid>, form: CsrfForm<RoleForm>) -> Reply {
    let role = user_commands::parse_role(&form.0.role)?;
    let (pool, by) = (&staff.state.pool, Some(&staff.user.user));
    let target = user_commands::change_role(pool, by, id.0, role).await?;
    Ok(staff.flash(BACK, &format!("{} is now a {}.", target.name, role)))
}

pub async fn disable_user(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let by = Some(&staff.user.user);
    let target = user_commands::disable_user(&staff.state.pool, by, id).await?;
    let done = "is disabled: signed out everywhere, API tokens revoked.";
    Ok(staff.flash(BACK, &format!("{} {done}", target.name)))
}

pub async fn enable_user(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let by = Some(&staff.user.user);
    let target = user_commands::enable_user(&staff.state.pool, by, id).await?;
    let done = "can sign in again; their old API tokens stay revoked.";
    Ok(staff.flash(BACK, &format!("{} {done}", target.name)))
}

/// Set a generated password and show it once; the user's sessions end.
pub async fn reset_password(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let by = Some(&staff.user.user);
    let set = user_commands::reset_password(&staff.state.pool, by, id, None).await?;
    let plain = set.generated.unwrap_or_default();
    show_password(&staff, set.user.email, plain).await
}
