//! Component statuses of an incident outside a public update. Until the incident is on
//! the status page they are held back from customers, unless the responder shows them
//! now: an outage customers can already see is acknowledged without writing prose first.

use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use uuid::Uuid;

use super::actions::{alert, back, finish};
use super::{incident_path, load};
use crate::accounts::Role;
use crate::app::AppState;
use crate::components::ComponentStatus;
use crate::http::error::AppError;
use crate::http::extract::{CsrfForm, CurrentUser, Path};
use crate::incidents;
use crate::incidents::Visibility;

pub async fn set_components(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    Path(reference): Path<String>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    user.require(Role::Responder)?;
    let incident = load(&state, &reference).await?;
    let mut changes = Vec::new();
    let mut show_now = false;
    for (key, value) in &fields {
        if key == "show_now" {
            show_now = true;
        } else if let Some(id) = key.strip_prefix("component:").filter(|_| !value.is_empty()) {
            let id = Uuid::parse_str(id)
                .map_err(|_| AppError::field("components", "Unknown component."))?;
            let status = ComponentStatus::parse(value).ok_or_else(|| {
                AppError::field(
                    "components",
                    format!("{value:?} is not a component status."),
                )
            })?;
            changes.push((id, status));
        }
    }
    let on_page = incident.is_on_status_page();
    let mut tx = state.pool.begin().await?;
    let outcome =
        incidents::set_components(&mut tx, &user.user, incident.id, changes, show_now).await;
    let path = incident_path(&incident);
    let internal = incident.visibility == Visibility::Internal;
    finish((&state, &user, &jar), tx, incident, outcome, alert, |_| {
        let message = if on_page || show_now {
            "Component statuses saved and shown on the status page."
        } else if internal {
            "Component statuses saved. Customers do not see them: the incident is internal."
        } else {
            "Component statuses saved. Customers see them with the first public update."
        };
        back(&state, &path, "#summary", message)
    })
    .await
}
