//! The actions of a route, run in the processor's transaction when a group is routed.
//!
//! `component_status` only proposes: the change is stored in the group's `proposals`
//! for a person to apply, with a `component_proposed` entry in its history. No
//! component and nothing on the status page changes here. `declare` declares an incident
//! for the group once (`alerts::incident_link`), on behalf of the rule's owner, who leads
//! it; when the owner cannot (gone, disabled, a viewer) the group's history says so.

use serde_json::{json, Value};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::rules::{ComponentStatusAction, DeclareAction};
use super::template::TemplateInput;
use crate::alerts::grouping::RoutedGroup;
use crate::alerts::history::{self, GroupEventKind, NewGroupEvent};
use crate::alerts::incident_link::{self, Declaration, LinkError};
use crate::alerts::intake::{cut, Labels, TITLE_MAX};
use crate::components::{self, ComponentRow};
use crate::platform::command::CommandError;

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

/// Run a rule's `declare` for the group: an incident is declared once per group (a group
/// attached already is left alone), titled by the rule's template, with the components
/// it names, led by the rule's owner. A refusal is written to the group's history as
/// `action_failed`; only a database failure fails the delivery.
pub async fn declare_incident(
    conn: &mut PgConnection,
    group: RoutedGroup<'_>,
    rule: (Uuid, &str),
    action: &DeclareAction,
) -> sqlx::Result<()> {
    let facts = sqlx::query!(
        r#"SELECT g.incident_id, g.annotations, g.alerts_firing, g.title, i.name AS integration,
               r.created_by AS "owner?"
           FROM alert_groups g JOIN integrations i ON i.id = g.integration_id
           LEFT JOIN routing_rules r ON r.id = $2
           WHERE g.id = $1"#,
        group.id,
        rule.0
    )
    .fetch_one(&mut *conn)
    .await?;
    if facts.incident_id.is_some() {
        return Ok(());
    }
    let owner = match facts.owner {
        Some(owner) => crate::incidents::responder(&mut *conn, owner, "leader_id").await,
        None => Err(CommandError::invalid(
            "leader_id",
            "The rule's owner no longer exists.",
        )),
    };
    let owner = match owner {
        Ok(owner) => owner,
        Err(CommandError::Db(err)) => return Err(err),
        Err(err) => return declare_failed(conn, group, rule, &err.to_string()).await,
    };
    let annotations: Labels = serde_json::from_value(facts.annotations).unwrap_or_default();
    let input = TemplateInput {
        labels: group.labels,
        annotations: &annotations,
        severity: group.severity,
        integration: &facts.integration,
        count: u32::try_from(facts.alerts_firing).unwrap_or(0),
    };
    let title = action
        .title_template
        .as_ref()
        .and_then(|t| t.render(&input))
        .map(|t| cut(t.trim(), TITLE_MAX))
        .filter(|t| !t.is_empty());
    let all = components::list(&mut *conn).await?;
    let named = named_components(
        &action.component_ids,
        action.component_label.as_deref(),
        group.labels,
        &all,
    );
    let declaration = Declaration {
        title: title.or(Some(facts.title)),
        severity: Some(action.incident_severity(group.severity)),
        component_ids: named.iter().map(|c| c.id).collect(),
        by_rule: Some(rule.1.to_owned()),
        leader_id: None,
    };
    // In a savepoint: a refused declaration leaves nothing half-written behind.
    let mut attempt = sqlx::Connection::begin(&mut *conn).await?;
    let declared =
        incident_link::declare_from_group(&mut attempt, &owner, group.id, declaration).await;
    match declared {
        Ok(_) => attempt.commit().await,
        Err(LinkError::AlreadyAttached { .. }) => attempt.rollback().await,
        Err(LinkError::Command(CommandError::Db(err))) => Err(err),
        Err(LinkError::Command(err)) => {
            attempt.rollback().await?;
            declare_failed(conn, group, rule, &err.to_string()).await
        }
    }
}

async fn declare_failed(
    conn: &mut PgConnection,
    group: RoutedGroup<'_>,
    rule: (Uuid, &str),
    why: &str,
) -> sqlx::Result<()> {
    tracing::warn!(group_id = %group.id, rule_id = %rule.0, why, "a routing rule could not declare an incident");
    let body = format!(
        "Routing rule \"{}\" could not declare an incident: {why}",
        rule.1
    );
    let data = json!({ "action": "declare", "rule_id": rule.0, "reason": why });
    let entry = NewGroupEvent::by_source(GroupEventKind::ActionFailed, body, group.at);
    history::record(conn, group.id, entry.with(data)).await
}
