//! Escalation policies: what happens, step by step, when a critical alert reaches a
//! team. Validation, the change and its audit entry, for every front door alike.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::text;

/// The policy every database starts with: announce, count down 30 s, page the person on
/// duty, wait 5 minutes, page everyone.
pub const DEFAULT_POLICY_ID: Uuid = Uuid::from_u128(0x00000000_0000_4000_8000_000000000001);

/// One step of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Tell the team's channels that an alert is about to page someone.
    Announce,
    /// Wait `seconds` (default 30) before the next step, announcing every 5 s who is
    /// about to be paged; anyone may acknowledge meanwhile.
    Countdown {
        #[serde(default = "countdown_default")]
        seconds: u32,
    },
    /// Page whoever is on duty for the team.
    PageOnDuty,
    /// Page one named person.
    PageUser { user_id: Uuid },
    /// Page every member of the team.
    PageTeam,
    /// Page every enabled user.
    PageEveryone,
    /// Wait `seconds` (default 300) for an acknowledgement before the next step.
    Wait {
        #[serde(default = "wait_default")]
        seconds: u32,
    },
}

fn countdown_default() -> u32 {
    30
}

fn wait_default() -> u32 {
    300
}

impl Step {
    /// The step in words: "Count down 30 s".
    pub fn describe(&self) -> String {
        match self {
            Step::Announce => "Announce to the team".into(),
            Step::Countdown { seconds } => format!("Count down {seconds} s"),
            Step::PageOnDuty => "Page the person on duty".into(),
            Step::PageUser { .. } => "Page a named person".into(),
            Step::PageTeam => "Page the whole team".into(),
            Step::PageEveryone => "Page everyone".into(),
            Step::Wait { seconds } if seconds % 60 == 0 => format!("Wait {} min", seconds / 60),
            Step::Wait { seconds } => format!("Wait {seconds} s"),
        }
    }

    /// Whether the step pages people.
    pub fn pages(&self) -> bool {
        matches!(
            self,
            Step::PageOnDuty | Step::PageUser { .. } | Step::PageTeam | Step::PageEveryone
        )
    }
}

/// A policy as stored.
#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub id: Uuid,
    pub name: String,
    pub steps: Vec<Step>,
    pub repeat: i32,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

struct StoredPolicy {
    id: Uuid,
    name: String,
    steps: serde_json::Value,
    repeat: i32,
    version: i32,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<StoredPolicy> for PolicyRow {
    fn from(p: StoredPolicy) -> Self {
        PolicyRow {
            // Stored steps were checked when written; a step this build does not know
            // (written by a newer one) is left out rather than failing the read.
            steps: match serde_json::from_value::<Vec<serde_json::Value>>(p.steps) {
                Ok(raw) => raw
                    .into_iter()
                    .filter_map(|s| serde_json::from_value(s).ok())
                    .collect(),
                Err(_) => Vec::new(),
            },
            id: p.id,
            name: p.name,
            repeat: p.repeat,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<PolicyRow>> {
    let row = sqlx::query_as!(
        StoredPolicy,
        "SELECT id, name, steps, repeat, version, created_at, updated_at
         FROM escalation_policies WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(PolicyRow::from))
}

/// Every policy, by name.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<PolicyRow>> {
    let rows = sqlx::query_as!(
        StoredPolicy,
        "SELECT id, name, steps, repeat, version, created_at, updated_at
         FROM escalation_policies ORDER BY lower(name), id"
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(PolicyRow::from).collect())
}

/// A policy as a front door gives it.
#[derive(Debug, Clone)]
pub struct NewPolicy {
    pub name: String,
    pub steps: Vec<Step>,
    pub repeat: Option<i32>,
}

/// Changes to a policy; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct PolicyChanges {
    pub name: Option<String>,
    pub steps: Option<Vec<Step>>,
    pub repeat: Option<i32>,
    pub version: Option<i32>,
}

async fn check(
    conn: &mut PgConnection,
    name: &str,
    steps: &[Step],
    repeat: i32,
) -> Result<String, CommandError> {
    let name = name.trim();
    text::NAME.check_required("name", name)?;
    if steps.is_empty() || steps.len() > 20 {
        return Err(CommandError::invalid(
            "steps",
            "A policy has 1 to 20 steps.",
        ));
    }
    if !steps.iter().any(Step::pages) {
        return Err(CommandError::invalid(
            "steps",
            "A policy must page someone: add page_on_duty, page_user, page_team or page_everyone.",
        ));
    }
    for step in steps {
        match step {
            Step::Countdown { seconds } if *seconds > 600 => {
                return Err(CommandError::invalid(
                    "steps",
                    "A countdown lasts at most 600 seconds.",
                ))
            }
            Step::Wait { seconds } if !(10..=86_400).contains(seconds) => {
                return Err(CommandError::invalid(
                    "steps",
                    "A wait lasts 10 seconds to 24 hours.",
                ))
            }
            _ => {}
        }
    }
    let named: Vec<Uuid> = steps
        .iter()
        .filter_map(|s| match s {
            Step::PageUser { user_id } => Some(*user_id),
            _ => None,
        })
        .collect();
    let enabled = super::teams::enabled_users(&mut *conn, &named).await?;
    if let Some(missing) = named.iter().find(|id| !enabled.contains(id)) {
        return Err(CommandError::invalid(
            "steps",
            format!("There is no enabled user {missing} to page."),
        ));
    }
    if !(0..=10).contains(&repeat) {
        return Err(CommandError::invalid(
            "repeat",
            "A policy repeats 0 to 10 times.",
        ));
    }
    Ok(name.to_owned())
}

fn steps_json(steps: &[Step]) -> serde_json::Value {
    serde_json::to_value(steps).unwrap_or_default()
}

fn refused(err: sqlx::Error, name: &str) -> CommandError {
    if crate::platform::db::violated_constraint(&err) == Some("escalation_policies_name_key") {
        CommandError::invalid(
            "name",
            format!("A policy called \"{name}\" exists already."),
        )
    } else {
        err.into()
    }
}

#[tracing::instrument(skip_all, fields(name = new.name))]
pub async fn create(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    new: NewPolicy,
) -> Result<Uuid, CommandError> {
    let repeat = new.repeat.unwrap_or(0);
    let name = check(&mut *conn, &new.name, &new.steps, repeat).await?;
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO escalation_policies (id, name, steps, repeat) VALUES ($1, $2, $3, $4)",
        id,
        name,
        steps_json(&new.steps),
        repeat
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| refused(e, &name))?;
    let action = AuditAction::EscalationPolicyCreated {
        policy_id: id,
        name,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(id)
}

#[tracing::instrument(skip_all, fields(policy_id = %id))]
pub async fn update(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    change: PolicyChanges,
) -> Result<(), CommandError> {
    let current = sqlx::query!(
        "SELECT version FROM escalation_policies WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CommandError::NotFound)?;
    if let Some(expected) = change.version.filter(|v| *v != current.version) {
        return Err(CommandError::Stale {
            expected,
            current: current.version,
        });
    }
    let policy = find(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    let steps = change.steps.unwrap_or(policy.steps);
    let repeat = change.repeat.unwrap_or(policy.repeat);
    let name = check(
        &mut *conn,
        change.name.as_deref().unwrap_or(&policy.name),
        &steps,
        repeat,
    )
    .await?;
    sqlx::query!(
        "UPDATE escalation_policies SET name = $2, steps = $3, repeat = $4,
                version = version + 1, updated_at = now()
         WHERE id = $1",
        id,
        name,
        steps_json(&steps),
        repeat
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| refused(e, &name))?;
    let action = AuditAction::EscalationPolicyUpdated {
        policy_id: id,
        name,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}

/// Delete a policy no team and no routing rule uses.
#[tracing::instrument(skip_all, fields(policy_id = %id))]
pub async fn delete(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<(), CommandError> {
    let policy = find(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    let users = sqlx::query_scalar!(
        r#"SELECT name AS "name!" FROM teams WHERE escalation_policy_id = $1
           UNION ALL SELECT name FROM routing_rules WHERE escalation_policy_id = $1
           ORDER BY 1"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    if !users.is_empty() {
        return Err(CommandError::invalid(
            "id",
            format!(
                "{} is in use by {}; choose another policy there first.",
                policy.name,
                users.join(", ")
            ),
        ));
    }
    sqlx::query!("DELETE FROM escalation_policies WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    let action = AuditAction::EscalationPolicyDeleted {
        policy_id: id,
        name: policy.name,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_and_write_the_api_shape_with_their_defaults() {
        let steps: Vec<Step> = serde_json::from_value(serde_json::json!([
            {"kind": "announce"}, {"kind": "countdown"}, {"kind": "page_on_duty"},
            {"kind": "wait", "seconds": 120}, {"kind": "page_everyone"}
        ]))
        .expect("valid steps");
        assert_eq!(
            steps,
            vec![
                Step::Announce,
                Step::Countdown { seconds: 30 },
                Step::PageOnDuty,
                Step::Wait { seconds: 120 },
                Step::PageEveryone
            ]
        );
        assert_eq!(
            serde_json::to_value(&steps[1]).expect("serialises"),
            serde_json::json!({"kind": "countdown", "seconds": 30})
        );
        assert!(serde_json::from_value::<Step>(serde_json::json!({"kind": "page_cat"})).is_err());
        assert_eq!(Step::Wait { seconds: 300 }.describe(), "Wait 5 min");
    }
}
