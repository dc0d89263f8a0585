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
pub(super) fn back(from: &FromQuery, group_path: &str) -> String {
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
    press(staff, &reference, &from, Press::Acknowledge).await
}

pub async fn resolve_group(
    staff: Staff<AsResponder>,
    Path(reference): Path<String>,
    Query(from): Query<FromQuery>,
    _: Button,
) -> Reply {
    press(staff, &reference, &from, Press::Resolve).await
}

/// Which button was pressed.
enum Press {
    Acknowledge,
    Resolve,
}

/// Runs the button's command in one transaction and goes back with what it did, or
/// with why it was refused.
async fn press(
    staff: Staff<AsResponder>,
    reference: &str,
    from: &FromQuery,
    press: Press,
) -> Reply {
    let group = super::load(&staff.state, reference).await?;
    let reference = group.reference();
    let to = back(from, &format!("/admin/alert-groups/{reference}"));
    let mut tx = staff.begin().await?;
    let done = match press {
        Press::Acknowledge => commands::acknowledge(&mut tx, staff.id(), group.id)
            .await
            .map(|change| match change {
                Change::Made => format!("{reference} acknowledged: you are on it."),
                Change::Unchanged => format!("{reference} was acknowledged already."),
            }),
        Press::Resolve => commands::resolve(&mut tx, staff.id(), group.id)
            .await
            .map(|()| {
                format!("{reference} resolved. If its alerts keep firing, they open a new group.")
            }),
    };
    match done {
        Ok(message) => staff.commit_and_flash(tx, &to, &message).await,
        Err(CommandError::Invalid { message, .. }) => Ok(staff.flash(&to, &message)),
        Err(err) => Err(err.into()),
    }
}
