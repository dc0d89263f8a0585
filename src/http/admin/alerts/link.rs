//! The responders' ways from an alert group to an incident: declare one from the group
//! (then on to the new incident's page), or attach the group to an open incident.

use serde::Deserialize;

use crate::alerts::incident_link::{Declaration, LinkError};
use crate::http::admin::Reply;
use crate::http::extract::{AsResponder, Button, CsrfForm, Path, Staff};
use crate::incidents::{self, IncidentRef};
use crate::paging::incident as paged;
use crate::platform::command::CommandError;

/// A refusal the person can act on, shown on the group's page; anything else is an error.
fn refusal(staff: &Staff<AsResponder>, to: &str, err: LinkError) -> Reply {
    match err {
        LinkError::AlreadyAttached { .. } => Ok(staff.flash(to, &err.to_string())),
        LinkError::Command(CommandError::Invalid { message, .. }) => Ok(staff.flash(to, &message)),
        LinkError::Command(err) => Err(err.into()),
    }
}

pub async fn declare_group(
    staff: Staff<AsResponder>,
    Path(reference): Path<String>,
    _: Button,
) -> Reply {
    let group = super::load(&staff.state, &reference).await?;
    let back = format!("/admin/alert-groups/{}", group.reference());
    let mut tx = staff.begin().await?;
    let user = &staff.user.user;
    let declared = paged::declare_from_group(&mut tx, user, group.id, Declaration::default()).await;
    match declared {
        Ok(incident) => {
            let to = format!("/admin/incidents/{}", incident.number);
            let message = format!(
                "{} declared from {}. Nothing public has changed: post a public update when \
                 customers should know.",
                incident.reference(),
                group.reference()
            );
            staff.commit_and_flash(tx, &to, &message).await
        }
        Err(err) => refusal(&staff, &back, err),
    }
}

#[derive(Debug, Deserialize)]
pub struct AttachForm {
    /// The incident's id or `INC-42`.
    incident: String,
}

pub async fn attach_group(
    staff: Staff<AsResponder>,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<AttachForm>,
) -> Reply {
    let group = super::load(&staff.state, &reference).await?;
    let back = format!("/admin/alert-groups/{}", group.reference());
    let missing = format!("There is no incident {}.", form.incident.trim());
    let Some(named) = IncidentRef::parse(&form.incident) else {
        return Ok(staff.flash(&back, "Choose the incident to attach the group to."));
    };
    let Some(incident) = incidents::find_ref(&staff.state.pool, named).await? else {
        return Ok(staff.flash(&back, &missing));
    };
    let mut tx = staff.begin().await?;
    let user = &staff.user.user;
    let attached = paged::attach(&mut tx, user, group.id, incident.id).await;
    match attached {
        Ok(incident) => {
            let message = format!(
                "{} attached to {}: its alerts now go into the incident's log.",
                group.reference(),
                incident.reference()
            );
            staff.commit_and_flash(tx, &back, &message).await
        }
        Err(err) => refusal(&staff, &back, err),
    }
}
