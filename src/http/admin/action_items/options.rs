//! The choices of the action-item forms and filters: priorities, kinds, statuses and the
//! users who can own an item.

use uuid::Uuid;

use crate::accounts::users;
use crate::app::AppState;
use crate::http::error::AppError;

/// One `<option>` of a select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn options<T: Copy + PartialEq>(
    all: &[T],
    chosen: Option<T>,
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt {
            value: value(*v).to_owned(),
            label: label(*v).to_owned(),
            selected: chosen == Some(*v),
        })
        .collect()
}

pub async fn owners(state: &AppState, chosen: Option<Uuid>) -> Result<Vec<Opt>, AppError> {
    Ok(users::list(&state.pool)
        .await?
        .into_iter()
        .filter(|u| !u.is_disabled())
        .map(|u| Opt {
            selected: chosen == Some(u.id),
            value: u.id.to_string(),
            label: u.name,
        })
        .collect())
}
