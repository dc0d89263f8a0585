//! The actions of a route, run in the processor's transaction when a group is routed.
//!
//! `component_status` only proposes: the change is stored in the group's `proposals`
//! for a person to apply, with a `component_proposed` entry in its history. No
//! component and nothing on the status page changes here. `declare` is not run here.

use serde_json::{json, Value};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::rules::ComponentStatusAction;
use crate::alerts::history::{self, GroupEventKind, NewGroupEvent};
use crate::alerts::intake::Labels;
use crate::components::{self, ComponentRow};

/// The components an action names: by id, and the one whose name (case-insensitively)
/// is the value of its component label.
pub fn named_components<'a>(
    component_ids: &[Uuid],
    component_label: Option<&str>,
    labels: &Labels,
    all: &'a [ComponentRow],
) -> Vec<&'a ComponentRow> {
    let by_label = component_label.and_then(|label| labels.get(label));
    all.iter()
        .filter(|c| {
            component_ids.contains(&c.id)
                || by_label.is_some_and(|value| c.name.eq_ignore_ascii_case(value.trim()))
        })
        .collect()
}

/// Propose the status change of `action` for the group's components: each proposal not
/// yet on the group is added to `proposals` and written to its history.
pub async fn propose_component_status(
    conn: &mut PgConnection,
    group_id: Uuid,
    rule: (Uuid, &str),
    action: &ComponentStatusAction,
    labels: &Labels,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let all = components::list(&mut *conn).await?;
    let named = named_components(
        &action.component_ids,
        action.component_label.as_deref(),
        labels,
        &all,
    );
    if named.is_empty() {
        tracing::info!(
            %group_id, rule_id = %rule.0,
            "a routing rule's component status change names no existing component"
        );
        return Ok(());
    }
    let current: Value = sqlx::query_scalar!(
        "SELECT proposals FROM alert_groups WHERE id = $1 FOR UPDATE",
        group_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut proposals = current.as_array().cloned().unwrap_or_default();
    let mut added = false;
    for component in named {
        let proposal = json!({ "component_id": component.id, "status": action.status });
        if proposals.contains(&proposal) {
            continue;
        }
        proposals.push(proposal);
        added = true;
        let body = format!(
            "Proposed: component {} → {} (routing rule \"{}\").",
            component.name,
            action.status.label(),
            rule.1
        );
        let data = json!({
            "component_id": component.id,
            "status": action.status,
            "rule_id": rule.0,
        });
        let entry = NewGroupEvent::by_source(GroupEventKind::ComponentProposed, body, at);
        history::record(&mut *conn, group_id, entry.with(data)).await?;
    }
    if added {
        sqlx::query!(
            "UPDATE alert_groups SET proposals = $2, updated_at = now() WHERE id = $1",
            group_id,
            Value::Array(proposals)
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
