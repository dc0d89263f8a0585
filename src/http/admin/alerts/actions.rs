//! The responders' buttons on the alert pages: acknowledge and resolve, each one command
//! in one transaction, then back to the page it was pressed on with a message.

use serde::Deserialize;

use crate::alerts::commands::{self, Change};
use crate::http::admin::Reply;
use crate::http::extract::{AsResponder, Button, Path, Query, Staff};
use crate::platform::command::CommandError;

#[derive(Debug, Default, Deserialize)]
pub struct FromQuery {
    /// `list`: pressed on the Alerts page, which the answer goes back to.
    #[serde(default)]
    from: String,
}

/// Where the button was pressed: the Alerts page or the group's own page.
fn back(from: &FromQuery, group_path: &str) -> String {
    match from.from.as_str() {
        "list" => "/admin/alerts".to_owned(),
        _ => group_path.to_owned(),
    }
}

pub async fn acknowledge_group(
    staff: Staff<AsResponder>,
    Path(reference): Path<String>,
    Query(from): Query<FromQuery>,
    _: Button,
) -> Reply {
    let group = super::load(&staff.state, &reference).await?;
    let to = back(&from, &format!("/admin/alert-groups/{}", group.reference()));
    let mut tx = staff.begin().await?;
    let message = match commands::acknowledge(&mut tx, staff.id(), group.id).await {
        Ok(Change::Made) => format!("{} acknowledged: you are on it.", group.reference()),
        Ok(Change::Unchanged) => format!("{} was acknowledged already.", group.reference()),
        Err(CommandError::Invalid { message, .. }) => return Ok(staff.flash(&to, &message)),
        Err(err) => return Err(err.into()),
    };
    staff.commit_and_flash(tx, &to, &message).await
}

pub async fn resolve_group(
    staff: Staff<AsResponder>,
    Path(reference): Path<String>,
    Query(from): Query<FromQuery>,
    _: Button,
) -> Reply {
    let group = super::load(&staff.state, &reference).await?;
    let to = back(&from, &format!("/admin/alert-groups/{}", group.reference()));
    let mut tx = staff.begin().await?;
    match commands::resolve(&mut tx, staff.id(), group.id).await {
        Ok(()) => {}
        Err(CommandError::Invalid { message, .. }) => return Ok(staff.flash(&to, &message)),
        Err(err) => return Err(err.into()),
    }
    let message = format!(
        "{} resolved. If its alerts keep firing, they open a new group.",
        group.reference()
    );
    staff.commit_and_flash(tx, &to, &message).await
}
