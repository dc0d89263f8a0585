//! The commands on routing rules: create, change (version-checked), move and delete,
//! each checked by [`Rule::compile`] as the processor will use it, and audited
//! (`routing_rule.created|updated|moved|deleted`) in the caller's transaction, for every
//! front door alike.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::matcher::Matcher;
use super::rules::{Apply, ComponentStatusAction, DeclareAction, Rule, RuleProblem};
use super::store::{rule_rows, RuleRow};
use crate::alerts::{AlertSeverity, AlertUrgency};
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::text;

async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<RuleRow, CommandError> {
    rule_rows!("SELECT ", "FROM routing_rules WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await?
        .ok_or(CommandError::NotFound)
}

/// What a new rule is made of.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub name: String,
    /// `None`: after the last rule.
    pub position: Option<i32>,
    pub enabled: bool,
    pub matchers: Vec<Matcher>,
    pub integration_ids: Vec<Uuid>,
    pub severities: Vec<AlertSeverity>,
    pub urgency: AlertUrgency,
    pub declare: Option<DeclareAction>,
    pub component_status: Option<ComponentStatusAction>,
    /// The team to page (`critical`) or notify (`high`); `None`: the integration's.
    pub team_id: Option<Uuid>,
    /// `None`: the team's policy.
    pub escalation_policy_id: Option<Uuid>,
}

/// New values of a rule; `None` keeps the current one (for the actions, `Some(None)`
/// removes it).
#[derive(Debug, Clone, Default)]
pub struct RuleChanges {
    pub name: Option<String>,
    pub position: Option<i32>,
    pub enabled: Option<bool>,
    pub matchers: Option<Vec<Matcher>>,
    pub integration_ids: Option<Vec<Uuid>>,
    pub severities: Option<Vec<AlertSeverity>>,
    pub urgency: Option<AlertUrgency>,
    pub declare: Option<Option<DeclareAction>>,
    pub component_status: Option<Option<ComponentStatusAction>>,
    pub team_id: Option<Option<Uuid>>,
    pub escalation_policy_id: Option<Option<Uuid>>,
}

impl RuleChanges {
    /// Whether anything but the position changes.
    fn changes_content(&self) -> bool {
        self.name.is_some()
            || self.enabled.is_some()
            || self.matchers.is_some()
            || self.integration_ids.is_some()
            || self.severities.is_some()
            || self.urgency.is_some()
            || self.declare.is_some()
            || self.component_status.is_some()
            || self.team_id.is_some()
            || self.escalation_policy_id.is_some()
    }
}

/// Check `rule` as the processor will use it, and that what it names exists.
async fn check(conn: &mut PgConnection, rule: &Rule) -> Result<(), CommandError> {
    if let Err(err) = rule.compile() {
        let field = match &err.problem {
            RuleProblem::Matcher(_) => "matchers",
            RuleProblem::ComponentLabel(label)
                if rule
                    .declare
                    .as_ref()
                    .and_then(|d| d.component_label.as_ref())
                    == Some(label) =>
            {
                "declare"
            }
            RuleProblem::ComponentLabel(_) | RuleProblem::NoComponents => "component_status",
        };
        return Err(CommandError::invalid(field, capitalised(&err.problem)));
    }
    if rule
        .component_status
        .as_ref()
        .is_some_and(|c| c.apply != Apply::Propose)
    {
        return Err(CommandError::invalid(
            "component_status",
            "Only `\"apply\": \"propose\"` is supported: a routing rule proposes a component \
             status for a person to apply, it does not change it on its own.",
        ));
    }
    let known = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM integrations WHERE id = ANY($1)"#,
        &rule.integration_ids
    )
    .fetch_one(&mut *conn)
    .await?;
    if known != rule.integration_ids.len() as i64 {
        return Err(CommandError::invalid(
            "integration_ids",
            "An integration the rule names does not exist.",
        ));
    }
    let components: Vec<Uuid> = [
        rule.declare.as_ref().map(|d| &d.component_ids),
        rule.component_status.as_ref().map(|c| &c.component_ids),
    ]
    .into_iter()
    .flatten()
    .flatten()
    .copied()
    .collect();
    let known = sqlx::query_scalar!(
        r#"SELECT count(DISTINCT id) AS "n!" FROM components WHERE id = ANY($1)"#,
        &components
    )
    .fetch_one(&mut *conn)
    .await?;
    let distinct = components.iter().collect::<std::collections::HashSet<_>>();
    if known != distinct.len() as i64 {
        let field = if rule.component_status.is_some() {
            "component_status"
        } else {
            "declare"
        };
        return Err(CommandError::invalid(
            field,
            "A component the rule names does not exist.",
        ));
    }
    Ok(())
}

/// A refused write: a team or policy that is gone is the caller's mistake.
fn refused(err: sqlx::Error) -> CommandError {
    match crate::platform::db::violated_constraint(&err) {
        Some("routing_rules_team_id_fkey") => {
            CommandError::invalid("team_id", "There is no such team.")
        }
        Some("routing_rules_escalation_policy_id_fkey") => CommandError::invalid(
            "escalation_policy_id",
            "There is no such escalation policy.",
        ),
        _ => err.into(),
    }
}

fn capitalised(problem: &RuleProblem) -> String {
    let text = problem.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => text,
    }
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn severity_names(severities: &[AlertSeverity]) -> Vec<String> {
    severities.iter().map(|s| s.as_str().to_owned()).collect()
}

/// Create a rule.
#[tracing::instrument(skip_all)]
pub async fn create(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    new: NewRule,
) -> Result<RuleRow, CommandError> {
    let name = text::NAME.trimmed("name", &new.name, "The name cannot be empty.")?;
    let position = match new.position {
        Some(position) => position,
        None => {
            sqlx::query_scalar!(
                r#"SELECT coalesce(max(position), 0) + 1 AS "next!" FROM routing_rules"#
            )
            .fetch_one(&mut *conn)
            .await?
        }
    };
    let rule = Rule {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        position,
        enabled: new.enabled,
        matchers: new.matchers,
        integration_ids: new.integration_ids,
        severities: new.severities,
        urgency: new.urgency,
        declare: new.declare,
        component_status: new.component_status,
    };
    check(conn, &rule).await?;
    let row = rule_rows!(
        "INSERT INTO routing_rules (id, name, position, enabled, matchers, integration_ids, \
             severities, urgency, declare, component_status, created_by, team_id, \
             escalation_policy_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::text[]::alert_severity[], $8, $9, $10, $11, $12, \
             $13) \
         RETURNING ",
        "",
        rule.id,
        rule.name,
        rule.position,
        rule.enabled,
        json(&rule.matchers),
        &rule.integration_ids,
        &severity_names(&rule.severities) as &[String],
        rule.urgency as AlertUrgency,
        rule.declare.as_ref().map(json),
        rule.component_status.as_ref().map(json),
        actor,
        new.team_id,
        new.escalation_policy_id
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(refused)?;
    let action = AuditAction::RoutingRuleCreated {
        rule_id: row.id,
        name: row.name.clone(),
        position: row.position,
        urgency: row.urgency.as_str().to_owned(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(row)
}

/// Change a rule read at `version`; a stale version is refused. A change of position
/// is audited as a move, any other change as an update.
#[tracing::instrument(skip_all, fields(rule_id = %id))]
pub async fn update(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    version: i32,
    change: RuleChanges,
) -> Result<RuleRow, CommandError> {
    let current = lock(&mut *conn, id).await?;
    CommandError::unless_version(version, current.version)?;
    // A rule whose stored JSON no longer reads can still be fixed by replacing it.
    let stored = current.rule().ok();
    let keep = |what: &'static str| {
        CommandError::invalid(
            what,
            format!("The stored {what} of this rule no longer read; give new ones."),
        )
    };
    let name = change.name.as_deref().unwrap_or(&current.name);
    let name = text::NAME.trimmed("name", name, "The name cannot be empty.")?;
    let rule = Rule {
        id,
        name: name.to_owned(),
        position: change.position.unwrap_or(current.position),
        enabled: change.enabled.unwrap_or(current.enabled),
        matchers: match (change.matchers.clone(), &stored) {
            (Some(m), _) => m,
            (None, Some(s)) => s.matchers.clone(),
            (None, None) => return Err(keep("matchers")),
        },
        integration_ids: change
            .integration_ids
            .clone()
            .unwrap_or_else(|| current.integration_ids.clone()),
        severities: match (change.severities.clone(), &stored) {
            (Some(s), _) => s,
            (None, Some(s)) => s.severities.clone(),
            (None, None) => return Err(keep("severities")),
        },
        urgency: change.urgency.unwrap_or(current.urgency),
        declare: match (change.declare.clone(), &stored) {
            (Some(d), _) => d,
            (None, Some(s)) => s.declare.clone(),
            (None, None) => return Err(keep("declare")),
        },
        component_status: match (change.component_status.clone(), &stored) {
            (Some(c), _) => c,
            (None, Some(s)) => s.component_status.clone(),
            (None, None) => return Err(keep("component_status")),
        },
    };
    check(conn, &rule).await?;
    let row = rule_rows!(
        "UPDATE routing_rules SET name = $2, position = $3, enabled = $4, matchers = $5, \
             integration_ids = $6, severities = $7::text[]::alert_severity[], urgency = $8, \
             declare = $9, component_status = $10, team_id = $11, escalation_policy_id = $12, \
             version = version + 1, updated_at = now() \
         WHERE id = $1 RETURNING ",
        "",
        id,
        rule.name,
        rule.position,
        rule.enabled,
        json(&rule.matchers),
        &rule.integration_ids,
        &severity_names(&rule.severities) as &[String],
        rule.urgency as AlertUrgency,
        rule.declare.as_ref().map(json),
        rule.component_status.as_ref().map(json),
        change.team_id.unwrap_or(current.team_id),
        change
            .escalation_policy_id
            .unwrap_or(current.escalation_policy_id)
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(refused)?;
    if change.changes_content() {
        let action = AuditAction::RoutingRuleUpdated {
            rule_id: id,
            name: row.name.clone(),
            enabled: row.enabled,
            urgency: row.urgency.as_str().to_owned(),
        };
        audit::log(&mut *conn, actor, &action).await?;
    }
    if row.position != current.position {
        let action = AuditAction::RoutingRuleMoved {
            rule_id: id,
            name: row.name.clone(),
            from: current.position,
            to: row.position,
        };
        audit::log(&mut *conn, actor, &action).await?;
    }
    Ok(row)
}

/// Move a rule read at `version` to `position` (rules are tried by position, then by
/// age); a stale version is refused.
pub async fn move_to(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    version: i32,
    position: i32,
) -> Result<RuleRow, CommandError> {
    let change = RuleChanges {
        position: Some(position),
        ..RuleChanges::default()
    };
    update(conn, actor, id, version, change).await
}

/// Delete a rule. Groups it routed keep their urgency and lose the link.
#[tracing::instrument(skip_all, fields(rule_id = %id))]
pub async fn delete(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<RuleRow, CommandError> {
    let rule = lock(&mut *conn, id).await?;
    sqlx::query!("DELETE FROM routing_rules WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    let action = AuditAction::RoutingRuleDeleted {
        rule_id: id,
        name: rule.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(rule)
}

/// Which way a rule moves in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Up,
    Down,
}

/// Swap a rule read at `version` with its neighbour in the order (`Step::Up`: the rule
/// tried before it). Rules of the same position are first given distinct positions, in
/// the order they are tried. At either end nothing changes. Each rule whose position
/// changes is audited as moved.
#[tracing::instrument(skip_all, fields(rule_id = %id))]
pub async fn move_step(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    version: i32,
    step: Step,
) -> Result<RuleRow, CommandError> {
    let rules = rule_rows!(
        "SELECT ",
        "FROM routing_rules ORDER BY position, created_at, id FOR UPDATE"
    )
    .fetch_all(&mut *conn)
    .await?;
    let at = rules
        .iter()
        .position(|r| r.id == id)
        .ok_or(CommandError::NotFound)?;
    if rules[at].version != version {
        return Err(CommandError::Stale {
            expected: version,
            current: rules[at].version,
        });
    }
    let other = match step {
        Step::Up => at.checked_sub(1),
        Step::Down => Some(at + 1).filter(|&i| i < rules.len()),
    };
    let Some(other) = other else {
        return Ok(rules[at].clone());
    };
    let distinct = rules.windows(2).all(|w| w[0].position < w[1].position);
    let mut positions: Vec<i32> = if distinct {
        rules.iter().map(|r| r.position).collect()
    } else {
        (1..).take(rules.len()).collect()
    };
    positions.swap(at, other);
    let mut moved = rules[at].clone();
    for (rule, position) in rules.iter().zip(positions) {
        if rule.position != position {
            let row = move_to(&mut *conn, actor, rule.id, rule.version, position).await?;
            if row.id == id {
                moved = row;
            }
        }
    }
    Ok(moved)
}
