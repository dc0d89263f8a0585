//! Routing rules as stored (`routing_rules`): their rows, and [`load_enabled`], which
//! the processor routes with. The commands that write them are in `routing::commands`.
//!
//! A stored rule that no longer compiles (or whose stored JSON no longer reads, after an
//! upgrade made the checks stricter) does not stop routing: [`load_enabled`] skips it
//! with a warning in the log and routes with the others.

use serde_json::Value;
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::rules::{CompiledRules, Rule};
use crate::alerts::{AlertSeverity, AlertUrgency};

/// A routing rule as stored; its JSON columns as they are, so that a rule which no
/// longer reads can still be listed and fixed.
#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub enabled: bool,
    pub matchers: Value,
    pub integration_ids: Vec<Uuid>,
    pub severities: Vec<String>,
    pub urgency: AlertUrgency,
    pub declare: Option<Value>,
    pub component_status: Option<Value>,
    /// The team the rule routes to (its duty is paged for `critical`).
    pub team_id: Option<Uuid>,
    /// The policy a `critical` group runs; `None`: the team's.
    pub escalation_policy_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl RuleRow {
    /// The rule to evaluate, or why its stored JSON does not read.
    pub fn rule(&self) -> Result<Rule, String> {
        let severities = self
            .severities
            .iter()
            .map(|s| AlertSeverity::parse(s).ok_or_else(|| format!("unknown severity `{s}`")))
            .collect::<Result<_, _>>()?;
        let read = |what: &str, e: serde_json::Error| format!("stored {what}: {e}");
        Ok(Rule {
            id: self.id,
            name: self.name.clone(),
            position: self.position,
            enabled: self.enabled,
            matchers: serde_json::from_value(self.matchers.clone())
                .map_err(|e| read("matchers", e))?,
            integration_ids: self.integration_ids.clone(),
            severities,
            urgency: self.urgency,
            declare: self
                .declare
                .clone()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| read("declare", e))?,
            component_status: self
                .component_status
                .clone()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| read("component_status", e))?,
        })
    }
}

/// A statement yielding whole rule rows; `$before` and `$after` go either side of the
/// column list.
macro_rules! rule_rows {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            RuleRow,
            $before
                + r#"id, name, position, enabled, matchers, integration_ids,
                     severities::text[] AS "severities!", urgency AS "urgency: AlertUrgency",
                     declare, component_status, team_id, escalation_policy_id, created_by, version,
                     created_at, updated_at "#
                + $after
            $(, $arg)*
        )
    };
}
pub(super) use rule_rows;

/// Every rule, in the order they are tried.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<RuleRow>> {
    rule_rows!(
        "SELECT ",
        "FROM routing_rules ORDER BY position, created_at, id"
    )
    .fetch_all(db)
    .await
}

/// One rule.
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<RuleRow>> {
    rule_rows!("SELECT ", "FROM routing_rules WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// The enabled rules that read, in the order they are tried (`position`, then
/// `created_at`). One that does not read or compile is skipped with a warning.
pub async fn enabled_rules(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Rule>> {
    let rows = rule_rows!(
        "SELECT ",
        "FROM routing_rules WHERE enabled ORDER BY position, created_at, id"
    )
    .fetch_all(db)
    .await?;
    let mut rules = Vec::with_capacity(rows.len());
    for row in rows {
        match row.rule() {
            Ok(rule) => rules.push(rule),
            Err(error) => tracing::warn!(
                rule_id = %row.id, %error,
                "a routing rule does not read; it is skipped until someone fixes it"
            ),
        }
    }
    Ok(rules)
}

/// The enabled rules compiled, as the processor routes with them.
pub async fn load_enabled(db: impl PgExecutor<'_>) -> sqlx::Result<CompiledRules> {
    Ok(compile_skipping(enabled_rules(db).await?))
}

/// Compile `rules`, leaving out (with a warning) those that do not compile.
pub fn compile_skipping(rules: Vec<Rule>) -> CompiledRules {
    let (compiled, errors) = CompiledRules::skipping_invalid(rules);
    for error in errors {
        tracing::warn!(
            rule_id = %error.id, %error,
            "a routing rule does not compile; it is skipped until someone fixes it"
        );
    }
    compiled
}
