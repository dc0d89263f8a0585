//! The signed-in admin UI under `/admin`.

mod action_items;
mod alerts;
pub(crate) mod checks;
mod components;
mod dashboard;
mod email_subscribers;
mod heartbeats;
pub mod incidents;
mod integrations;
mod maintenance;
mod postmortems;
mod profile;
mod profile_contacts;
mod public_summary;
mod routing_rules;
mod settings;
pub(crate) mod subscribers;
pub(crate) mod teams;
mod tokens;
mod upstream;
mod users;

use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;
use crate::http::error::AppError;

/// What an admin handler answers: a page or a redirect, or an error page.
pub(crate) type Reply = Result<Response, AppError>;

/// Why a form's command was refused: the message to show above the form, and whether
/// to keep the form as typed (what was typed was wrong) or show the record as it is now
/// (someone changed it meanwhile).
pub(crate) struct Refusal {
    pub message: String,
    pub keep_form: bool,
}

/// The end of a create or edit form: commit and redirect with a flash (`done` names
/// where to and what to say), or the refusal to show with the form. `what` names the
/// record in the stale-version message ("Someone changed this check …").
pub(crate) async fn settle<R, T>(
    staff: &crate::http::extract::Staff<R>,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    outcome: Result<T, crate::platform::command::CommandError>,
    what: &str,
    done: impl FnOnce(&T) -> (String, String),
) -> Result<Result<Response, Refusal>, AppError> {
    use crate::platform::command::CommandError;
    match outcome {
        Ok(row) => {
            let (to, message) = done(&row);
            Ok(Ok(staff.commit_and_flash(tx, &to, &message).await?))
        }
        Err(CommandError::Invalid { message, .. }) => Ok(Err(Refusal {
            message,
            keep_form: true,
        })),
        Err(CommandError::Stale { .. }) => Ok(Err(Refusal {
            message: format!(
                "Someone changed this {what} while you were editing; nothing was saved. \
                 The form now shows it as it is."
            ),
            keep_form: false,
        })),
        Err(err) => Err(err.into()),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(teams::router())
        .route("/admin", get(dashboard::show_dashboard))
        .route(
            "/admin/components",
            get(components::list_components).post(components::create_component),
        )
        .route(
            "/admin/components/{id}",
            get(components::show_component).post(components::update_component),
        )
        .route(
            "/admin/components/{id}/status",
            post(components::set_status),
        )
        .route(
            "/admin/components/{id}/dependencies",
            post(components::set_dependencies),
        )
        .route(
            "/admin/components/{id}/move",
            post(components::move_component),
        )
        .route(
            "/admin/components/{id}/delete",
            post(components::delete_component),
        )
        .route("/admin/component-groups", post(components::create_group))
        .route(
            "/admin/component-groups/{id}/move",
            post(components::move_group),
        )
        .route(
            "/admin/component-groups/{id}/delete",
            post(components::delete_group),
        )
        .route(
            "/admin/users",
            get(users::list_users).post(users::create_user),
        )
        .route("/admin/users/{id}/role", post(users::change_role))
        .route("/admin/users/{id}/disable", post(users::disable_user))
        .route("/admin/users/{id}/enable", post(users::enable_user))
        .route("/admin/users/{id}/password", post(users::reset_password))
        .route(
            "/admin/tokens",
            get(tokens::list_tokens).post(tokens::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke_token))
        .route(
            "/admin/maintenance",
            get(maintenance::list_maintenances).post(maintenance::schedule_maintenance),
        )
        .route(
            "/admin/maintenance/{id}",
            get(maintenance::show_maintenance).post(maintenance::edit_maintenance),
        )
        .route(
            "/admin/maintenance/{id}/updates",
            post(maintenance::post_maintenance_update),
        )
        .route(
            "/admin/settings",
            get(settings::show_settings).post(settings::save_settings),
        )
        .route("/admin/settings/logo", post(settings::upload_logo))
        .route(
            "/admin/profile",
            get(profile::show_profile).post(profile::save_profile),
        )
        .route(
            "/admin/profile/contact-methods",
            post(profile_contacts::add_contact),
        )
        .route(
            "/admin/profile/contact-methods/{id}/test",
            post(profile_contacts::test_contact),
        )
        .route(
            "/admin/profile/contact-methods/{id}/remove",
            post(profile_contacts::remove_contact),
        )
        .route(
            "/admin/email-subscribers",
            get(email_subscribers::list_email_subscribers)
                .post(email_subscribers::add_email_subscriber),
        )
        .route(
            "/admin/email-subscribers.csv",
            get(email_subscribers::export_email_subscribers),
        )
        .route(
            "/admin/email-subscribers/import",
            post(email_subscribers::import_email_subscribers),
        )
        .route(
            "/admin/email-subscribers/{id}/delete",
            post(email_subscribers::remove_email_subscriber),
        )
        .route(
            "/admin/subscribers",
            get(subscribers::list_subscribers).post(subscribers::create_subscriber),
        )
        .route("/admin/subscribers/{id}", get(subscribers::show_subscriber))
        .route("/admin/subscribers/{id}/test", post(subscribers::send_test))
        .route(
            "/admin/subscribers/{id}/pause",
            post(subscribers::pause_subscriber),
        )
        .route(
            "/admin/subscribers/{id}/resume",
            post(subscribers::resume_subscriber),
        )
        .route(
            "/admin/subscribers/{id}/enable",
            post(subscribers::enable_subscriber),
        )
        .route(
            "/admin/subscribers/{id}/delete",
            post(subscribers::delete_subscriber),
        )
        .route(
            "/admin/subscribers/{id}/deliveries/{delivery_id}/resend",
            post(subscribers::resend_delivery),
        )
        .route("/admin/postmortems", get(postmortems::list_postmortems))
        .route("/admin/postmortems/{id}", get(postmortems::show_postmortem))
        .route(
            "/admin/postmortems/{id}/edit",
            get(postmortems::edit_postmortem).post(postmortems::save_postmortem),
        )
        .route(
            "/admin/postmortems/{id}/status",
            post(postmortems::set_status),
        )
        .route(
            "/admin/postmortems/{id}/public-summary",
            get(public_summary::edit_public_summary).post(public_summary::save_public_summary),
        )
        .route(
            "/admin/postmortems/{id}/public-summary/publish",
            post(public_summary::publish_public_summary),
        )
        .route(
            "/admin/postmortems/{id}/public-summary/unpublish",
            post(public_summary::unpublish_public_summary),
        )
        .route(
            "/admin/postmortems/{id}/markdown",
            get(postmortems::download_markdown),
        )
        .route(
            "/admin/incidents/{number}/postmortem",
            post(postmortems::start_postmortem),
        )
        .route(
            "/admin/incidents/{number}/action-items",
            post(action_items::create_item),
        )
        .route(
            "/admin/incidents/{number}/action-items/new",
            get(action_items::new_item),
        )
        .route("/admin/action-items", get(action_items::list_items))
        .route("/admin/action-items.csv", get(action_items::export_csv))
        .route("/admin/action-items.json", get(action_items::export_json))
        .route(
            "/admin/action-items/{id}",
            get(action_items::show_item).post(action_items::update_item),
        )
        .route(
            "/admin/postmortem-templates",
            get(postmortems::list_templates).post(postmortems::create_template),
        )
        .route(
            "/admin/postmortem-templates/{id}",
            get(postmortems::show_template).post(postmortems::update_template),
        )
        .route(
            "/admin/postmortem-templates/{id}/delete",
            post(postmortems::delete_template),
        )
        .merge(incidents::router())
        .merge(alerts::router())
        .merge(integrations::router())
        .merge(heartbeats::router())
        .merge(checks::router())
        .merge(routing_rules::router())
}

pub(crate) use crate::http::zone::{format_time, stamp, Stamp};
pub(crate) use crate::platform::time::rfc3339;
