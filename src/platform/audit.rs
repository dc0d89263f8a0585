//! The audit log of changes outside incidents: who did what to which thing.
//!
//! Commands record an [`AuditAction`] in the transaction that makes the change, so the
//! admin UI, the API and the CLI leave the same entry. Each action has one payload shape;
//! the stored `action` is its dotted name, `subject` names the thing (`kind:id`) and
//! `data` holds the remaining fields.

use serde::Serialize;
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

/// What an administrator (or the setup flow, or a subscriber) changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action")]
pub enum AuditAction {
    #[serde(rename = "component.created")]
    ComponentCreated { component_id: Uuid, name: String },
    #[serde(rename = "component.updated")]
    ComponentUpdated { component_id: Uuid, name: String },
    #[serde(rename = "component.deleted")]
    ComponentDeleted { component_id: Uuid, name: String },
    #[serde(rename = "component.dependencies_set")]
    ComponentDependenciesSet {
        component_id: Uuid,
        depends_on: Vec<String>,
    },
    #[serde(rename = "component_group.created")]
    ComponentGroupCreated { group_id: Uuid, name: String },
    #[serde(rename = "component_group.updated")]
    ComponentGroupUpdated { group_id: Uuid, name: String },
    #[serde(rename = "component_group.deleted")]
    ComponentGroupDeleted { group_id: Uuid, name: String },
    #[serde(rename = "acked_mode.ended")]
    AckedModeEnded { team_id: Uuid },
    #[serde(rename = "contact_method.added")]
    ContactMethodAdded {
        contact_id: Uuid,
        /// The person's, or the team's (a channel).
        user_id: Option<Uuid>,
        team_id: Option<Uuid>,
        kind: String,
    },
    #[serde(rename = "contact_method.changed")]
    ContactMethodChanged {
        contact_id: Uuid,
        user_id: Option<Uuid>,
        team_id: Option<Uuid>,
    },
    #[serde(rename = "contact_method.removed")]
    ContactMethodRemoved {
        contact_id: Uuid,
        user_id: Option<Uuid>,
        team_id: Option<Uuid>,
    },
    #[serde(rename = "duty.taken")]
    DutyTaken {
        team_id: Uuid,
        user_id: Uuid,
        /// Who was on duty before, when it was someone else.
        from_user_id: Option<Uuid>,
    },
    #[serde(rename = "duty.released")]
    DutyReleased { team_id: Uuid, user_id: Uuid },
    #[serde(rename = "duty.passed")]
    DutyPassed {
        team_id: Uuid,
        from_user_id: Option<Uuid>,
        to_user_id: Uuid,
    },
    #[serde(rename = "duty_override.added")]
    DutyOverrideAdded {
        override_id: Uuid,
        team_id: Uuid,
        user_id: Uuid,
        starts_at: String,
        ends_at: String,
    },
    #[serde(rename = "duty_override.removed")]
    DutyOverrideRemoved { override_id: Uuid, team_id: Uuid },
    #[serde(rename = "escalation_policy.created")]
    EscalationPolicyCreated { policy_id: Uuid, name: String },
    #[serde(rename = "escalation_policy.updated")]
    EscalationPolicyUpdated { policy_id: Uuid, name: String },
    #[serde(rename = "escalation_policy.deleted")]
    EscalationPolicyDeleted { policy_id: Uuid, name: String },
    #[serde(rename = "integration.created")]
    IntegrationCreated {
        integration_id: Uuid,
        name: String,
        kind: String,
    },
    #[serde(rename = "integration.updated")]
    IntegrationUpdated {
        integration_id: Uuid,
        name: String,
        default_urgency: String,
        default_severity: String,
        /// Whether Grafana signatures are checked after the change.
        signed: bool,
        /// The team its alerts page when no rule names one (absent in older entries).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team_id: Option<Uuid>,
    },
    #[serde(rename = "integration.deleted")]
    IntegrationDeleted { integration_id: Uuid, name: String },
    #[serde(rename = "integration.key_rotated")]
    IntegrationKeyRotated {
        integration_id: Uuid,
        grace_minutes: u32,
    },
    #[serde(rename = "page_settings.updated")]
    PageSettingsUpdated,
    #[serde(rename = "heartbeat.created")]
    HeartbeatCreated { heartbeat_id: Uuid, name: String },
    #[serde(rename = "heartbeat.updated")]
    HeartbeatUpdated { heartbeat_id: Uuid, name: String },
    #[serde(rename = "heartbeat.paused")]
    HeartbeatPaused { heartbeat_id: Uuid, name: String },
    #[serde(rename = "heartbeat.resumed")]
    HeartbeatResumed { heartbeat_id: Uuid, name: String },
    #[serde(rename = "heartbeat.deleted")]
    HeartbeatDeleted { heartbeat_id: Uuid, name: String },
    #[serde(rename = "check.created")]
    CheckCreated { check_id: Uuid, name: String },
    #[serde(rename = "check.updated")]
    CheckUpdated { check_id: Uuid, name: String },
    #[serde(rename = "check.paused")]
    CheckPaused { check_id: Uuid, name: String },
    #[serde(rename = "check.resumed")]
    CheckResumed { check_id: Uuid, name: String },
    #[serde(rename = "check.deleted")]
    CheckDeleted { check_id: Uuid, name: String },
    #[serde(rename = "component_proposal.applied")]
    ProposalApplied {
        proposal_id: Uuid,
        component_id: Uuid,
        status: String,
    },
    #[serde(rename = "component_proposal.dismissed")]
    ProposalDismissed {
        proposal_id: Uuid,
        component_id: Uuid,
        status: String,
    },
    #[serde(rename = "postmortem_template.created")]
    PostmortemTemplateCreated { template_id: Uuid, name: String },
    #[serde(rename = "routing_rule.created")]
    RoutingRuleCreated {
        rule_id: Uuid,
        name: String,
        position: i32,
        urgency: String,
    },
    #[serde(rename = "routing_rule.updated")]
    RoutingRuleUpdated {
        rule_id: Uuid,
        name: String,
        enabled: bool,
        urgency: String,
    },
    #[serde(rename = "routing_rule.deleted")]
    RoutingRuleDeleted { rule_id: Uuid, name: String },
    #[serde(rename = "routing_rule.moved")]
    RoutingRuleMoved {
        rule_id: Uuid,
        name: String,
        from: i32,
        to: i32,
    },
    #[serde(rename = "silence.created")]
    SilenceCreated {
        silence_id: Uuid,
        /// The one group it silences; `None` for a matcher silence.
        group_id: Option<Uuid>,
        matchers: Option<Value>,
        reason: String,
        ends_at: String,
    },
    #[serde(rename = "silence.ended")]
    SilenceEnded { silence_id: Uuid, early: bool },
    #[serde(rename = "setup.admin_created")]
    SetupAdminCreated { user_id: Uuid, email: String },
    #[serde(rename = "subscriber.created")]
    SubscriberCreated {
        subscriber_id: Uuid,
        url: String,
        from: Option<String>,
    },
    #[serde(rename = "subscriber.changed")]
    SubscriberChanged {
        subscriber_id: Uuid,
        state: Option<String>,
        description: Option<String>,
        component_ids: Option<Vec<Uuid>>,
    },
    #[serde(rename = "subscriber.removed")]
    SubscriberRemoved { subscriber_id: Uuid, url: String },
    #[serde(rename = "subscriber.unsubscribed")]
    SubscriberUnsubscribed { subscriber_id: Uuid, url: String },
    #[serde(rename = "email_subscriber.created")]
    EmailSubscriberCreated {
        email_subscriber_id: Uuid,
        email: String,
        source: String,
        from: Option<String>,
    },
    #[serde(rename = "email_subscriber.confirmed")]
    EmailSubscriberConfirmed {
        email_subscriber_id: Uuid,
        email: String,
    },
    #[serde(rename = "email_subscriber.changed")]
    EmailSubscriberChanged {
        email_subscriber_id: Uuid,
        component_ids: Vec<Uuid>,
    },
    #[serde(rename = "email_subscriber.removed")]
    EmailSubscriberRemoved {
        email_subscriber_id: Uuid,
        email: String,
    },
    #[serde(rename = "email_subscriber.unsubscribed")]
    EmailSubscriberUnsubscribed {
        email_subscriber_id: Uuid,
        email: String,
    },
    #[serde(rename = "email_subscribers.imported")]
    EmailSubscribersImported {
        added: u64,
        skipped: u64,
        confirmed: bool,
    },
    #[serde(rename = "team.created")]
    TeamCreated {
        team_id: Uuid,
        name: String,
        member_ids: Vec<Uuid>,
    },
    #[serde(rename = "team.updated")]
    TeamUpdated { team_id: Uuid, name: String },
    #[serde(rename = "team.deleted")]
    TeamDeleted { team_id: Uuid, name: String },
    #[serde(rename = "team.members_set")]
    TeamMembersSet { team_id: Uuid, user_ids: Vec<Uuid> },
    #[serde(rename = "token.created")]
    TokenCreated { token_id: Uuid, name: String },
    #[serde(rename = "token.revoked")]
    TokenRevoked { token_id: Uuid },
    #[serde(rename = "user.created")]
    UserCreated {
        user_id: Uuid,
        email: String,
        role: String,
    },
    #[serde(rename = "user.role_changed")]
    UserRoleChanged {
        user_id: Uuid,
        old: String,
        new: String,
    },
    #[serde(rename = "user.disabled")]
    UserDisabled { user_id: Uuid },
    #[serde(rename = "user.enabled")]
    UserEnabled { user_id: Uuid },
    #[serde(rename = "user.password_reset")]
    UserPasswordReset { user_id: Uuid },
}

impl AuditAction {
    /// The thing acted on, as `kind:id`.
    pub fn subject(&self) -> String {
        use AuditAction::*;
        match self {
            ComponentCreated { component_id, .. }
            | ComponentDependenciesSet { component_id, .. }
            | ComponentUpdated { component_id, .. }
            | ComponentDeleted { component_id, .. } => format!("component:{component_id}"),
            ComponentGroupCreated { group_id, .. }
            | ComponentGroupUpdated { group_id, .. }
            | ComponentGroupDeleted { group_id, .. } => format!("component_group:{group_id}"),
            ContactMethodAdded { contact_id, .. }
            | ContactMethodChanged { contact_id, .. }
            | ContactMethodRemoved { contact_id, .. } => format!("contact_method:{contact_id}"),
            AckedModeEnded { team_id }
            | DutyTaken { team_id, .. }
            | DutyReleased { team_id, .. }
            | DutyPassed { team_id, .. }
            | TeamCreated { team_id, .. }
            | TeamUpdated { team_id, .. }
            | TeamDeleted { team_id, .. }
            | TeamMembersSet { team_id, .. } => format!("team:{team_id}"),
            DutyOverrideAdded { override_id, .. } | DutyOverrideRemoved { override_id, .. } => {
                format!("duty_override:{override_id}")
            }
            EscalationPolicyCreated { policy_id, .. }
            | EscalationPolicyUpdated { policy_id, .. }
            | EscalationPolicyDeleted { policy_id, .. } => {
                format!("escalation_policy:{policy_id}")
            }
            IntegrationCreated { integration_id, .. }
            | IntegrationUpdated { integration_id, .. }
            | IntegrationDeleted { integration_id, .. }
            | IntegrationKeyRotated { integration_id, .. } => {
                format!("integration:{integration_id}")
            }
            PageSettingsUpdated => "page_settings".to_owned(),
            HeartbeatCreated { heartbeat_id, .. }
            | HeartbeatUpdated { heartbeat_id, .. }
            | HeartbeatPaused { heartbeat_id, .. }
            | HeartbeatResumed { heartbeat_id, .. }
            | HeartbeatDeleted { heartbeat_id, .. } => format!("heartbeat:{heartbeat_id}"),
            CheckCreated { check_id, .. }
            | CheckUpdated { check_id, .. }
            | CheckPaused { check_id, .. }
            | CheckResumed { check_id, .. }
            | CheckDeleted { check_id, .. } => format!("check:{check_id}"),
            ProposalApplied { component_id, .. } | ProposalDismissed { component_id, .. } => {
                format!("component:{component_id}")
            }
            RoutingRuleCreated { rule_id, .. }
            | RoutingRuleUpdated { rule_id, .. }
            | RoutingRuleDeleted { rule_id, .. }
            | RoutingRuleMoved { rule_id, .. } => format!("routing_rule:{rule_id}"),
            PostmortemTemplateCreated { template_id, .. } => {
                format!("postmortem_template:{template_id}")
            }
            SilenceCreated { silence_id, .. } | SilenceEnded { silence_id, .. } => {
                format!("silence:{silence_id}")
            }
            SubscriberCreated { subscriber_id, .. }
            | SubscriberChanged { subscriber_id, .. }
            | SubscriberRemoved { subscriber_id, .. }
            | SubscriberUnsubscribed { subscriber_id, .. } => format!("subscriber:{subscriber_id}"),
            EmailSubscriberCreated {
                email_subscriber_id,
                ..
            }
            | EmailSubscriberConfirmed {
                email_subscriber_id,
                ..
            }
            | EmailSubscriberChanged {
                email_subscriber_id,
                ..
            }
            | EmailSubscriberRemoved {
                email_subscriber_id,
                ..
            }
            | EmailSubscriberUnsubscribed {
                email_subscriber_id,
                ..
            } => format!("email_subscriber:{email_subscriber_id}"),
            EmailSubscribersImported { .. } => "email_subscribers".into(),
            TokenCreated { token_id, .. } | TokenRevoked { token_id } => {
                format!("token:{token_id}")
            }
            SetupAdminCreated { user_id, .. }
            | UserCreated { user_id, .. }
            | UserRoleChanged { user_id, .. }
            | UserDisabled { user_id }
            | UserEnabled { user_id }
            | UserPasswordReset { user_id } => format!("user:{user_id}"),
        }
    }

    /// The stored name and the payload (every field but the tag).
    fn split(&self) -> (String, Value) {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        let name = value
            .as_object_mut()
            .and_then(|o| o.remove("action"))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        (name, value)
    }
}

/// Record `action` by `actor_id` (`None`: the system or an anonymous subscriber).
pub async fn log(
    db: impl PgExecutor<'_>,
    actor_id: Option<Uuid>,
    action: &AuditAction,
) -> sqlx::Result<()> {
    let (name, data) = action.split();
    record(db, actor_id, &name, &action.subject(), data).await
}

/// Record a free-form entry. Capabilities use [`log`]; this is for the job runner's
/// housekeeping and tests.
pub async fn record(
    db: impl PgExecutor<'_>,
    actor_id: Option<Uuid>,
    action: &str,
    subject: &str,
    data: Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO audit_log (actor_id, action, subject, data) VALUES ($1, $2, $3, $4)",
        actor_id,
        action,
        subject,
        data
    )
    .execute(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_store_their_dotted_name_and_their_own_fields() {
        let id = Uuid::nil();
        let (name, data) = AuditAction::ComponentCreated {
            component_id: id,
            name: "API".into(),
        }
        .split();
        assert_eq!(name, "component.created");
        assert_eq!(
            data,
            serde_json::json!({ "component_id": id, "name": "API" })
        );
        assert_eq!(
            AuditAction::PageSettingsUpdated.split().0,
            "page_settings.updated"
        );
    }
}
