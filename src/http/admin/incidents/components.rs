//! Component statuses of an incident outside a public update. Until the incident is on
//! the status page they are held back from customers, unless the responder shows them
//! now: an outage customers can already see is acknowledged without writing prose first.

use super::actions::{alert, back, component_status, finish, Fields};
use super::{incident_path, load, Posted, Reply};
use crate::incidents;
use crate::incidents::Visibility;

pub async fn set_components(Posted { s, at, form }: Posted<String, Fields>) -> Reply {
    let incident = load(&s.state, &at).await?;
    let mut changes = Vec::new();
    let mut show_now = false;
    for (key, value) in &form {
        if key == "show_now" {
            show_now = true;
        } else if let Some(id) = key.strip_prefix("component:").filter(|_| !value.is_empty()) {
            changes.push(component_status(id, value)?);
        }
    }
    let on_page = incident.is_on_status_page();
    let mut tx = s.begin().await?;
    let outcome =
        incidents::set_components(&mut tx, &s.user.user, incident.id, changes, show_now).await;
    let path = incident_path(&incident);
    let internal = incident.visibility == Visibility::Internal;
    finish(&s, tx, incident, outcome, alert, |_| {
        let message = if on_page || show_now {
            "Component statuses saved and shown on the status page."
        } else if internal {
            "Component statuses saved. Customers do not see them: the incident is internal."
        } else {
            "Component statuses saved. Customers see them with the first public update."
        };
        back(&s, &path, "#summary", message)
    })
    .await
}
