//! What an alert and an alert group are: their states, severities and urgencies.

use serde::{Deserialize, Serialize};

use crate::platform::labelled_enum;

labelled_enum!(
    /// The kind of sender an integration is made for; it decides which URLs it answers.
    IntegrationKind, "integration_kind" {
        Alertmanager => "alertmanager", "Prometheus Alertmanager";
        Grafana => "grafana", "Grafana alerting";
        Pagerduty => "pagerduty", "PagerDuty Events API";
        Generic => "generic", "Generic JSON";
    }
);

labelled_enum!(
    /// The wire format a delivery came in.
    AlertFormat, "alert_format" {
        Alertmanager => "alertmanager", "Alertmanager webhook";
        Grafana => "grafana", "Grafana webhook";
        PagerdutyV2 => "pagerduty_v2", "PagerDuty Events v2";
        PagerdutyV1 => "pagerduty_v1", "PagerDuty generic v1";
        Generic => "generic", "Generic JSON";
    }
);

labelled_enum!(
    /// Whether the source says the condition holds.
    AlertStatus, "alert_status" {
        Firing => "firing", "Firing";
        Resolved => "resolved", "Resolved";
    }
);

labelled_enum!(
    /// PagerDuty's four severities, the scale every format is mapped onto, from worst.
    AlertSeverity, "alert_severity" {
        Critical => "critical", "Critical";
        Error => "error", "Error";
        Warning => "warning", "Warning";
        Info => "info", "Info";
    }
);

labelled_enum!(
    /// How fast a person must look: critical pages now, high notifies the team without
    /// waking anyone, low is recorded only.
    AlertUrgency, "alert_urgency" {
        Critical => "critical", "Critical";
        High => "high", "High";
        Low => "low", "Low";
    }
);

labelled_enum!(
    /// Where an alert group stands.
    AlertGroupState, "alert_group_state" {
        Firing => "firing", "Firing";
        Acknowledged => "acknowledged", "Acknowledged";
        Silenced => "silenced", "Silenced";
        Resolved => "resolved", "Resolved";
    }
);

impl AlertSeverity {
    /// How bad, for "worst of": higher is worse.
    pub fn rank(self) -> u8 {
        match self {
            AlertSeverity::Info => 0,
            AlertSeverity::Warning => 1,
            AlertSeverity::Error => 2,
            AlertSeverity::Critical => 3,
        }
    }

    /// Reads the words monitoring setups use for severity (`crit`, `P1`, `sev2`,
    /// `warn`, ...), case-insensitively; `None` for anything else.
    pub fn from_alias(raw: &str) -> Option<AlertSeverity> {
        let word = raw.trim().to_ascii_lowercase();
        Some(match word.as_str() {
            "critical" | "crit" | "fatal" | "emergency" | "emerg" | "alert" | "page" | "p1"
            | "sev1" | "disaster" => AlertSeverity::Critical,
            "error" | "err" | "high" | "major" | "p2" | "sev2" => AlertSeverity::Error,
            "warning" | "warn" | "medium" | "minor" | "average" | "p3" | "sev3" => {
                AlertSeverity::Warning
            }
            "info" | "informational" | "information" | "low" | "notice" | "none" | "ok" | "p4"
            | "p5" | "sev4" | "sev5" => AlertSeverity::Info,
            _ => return None,
        })
    }
}

impl AlertUrgency {
    /// Higher is more urgent; a group's urgency only ever rises.
    pub fn rank(self) -> u8 {
        match self {
            AlertUrgency::Low => 0,
            AlertUrgency::High => 1,
            AlertUrgency::Critical => 2,
        }
    }
}

impl AlertGroupState {
    /// CSS class for the state colour (the label is always shown too).
    pub fn css_class(self) -> &'static str {
        match self {
            AlertGroupState::Firing => "al-firing",
            AlertGroupState::Acknowledged => "al-acknowledged",
            AlertGroupState::Silenced => "al-silenced",
            AlertGroupState::Resolved => "al-resolved",
        }
    }
}

/// The facts a group's state follows from, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupFacts {
    pub firing: bool,
    pub silenced: bool,
    pub acknowledged: bool,
}

impl GroupFacts {
    /// Resolved once nothing fires; a silence outranks an acknowledgement.
    pub fn state(self) -> AlertGroupState {
        if !self.firing {
            AlertGroupState::Resolved
        } else if self.silenced {
            AlertGroupState::Silenced
        } else if self.acknowledged {
            AlertGroupState::Acknowledged
        } else {
            AlertGroupState::Firing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_aliases_from_common_setups_are_read_and_unknown_words_are_not() {
        assert_eq!(
            AlertSeverity::from_alias("CRIT"),
            Some(AlertSeverity::Critical)
        );
        assert_eq!(
            AlertSeverity::from_alias(" P2 "),
            Some(AlertSeverity::Error)
        );
        assert_eq!(
            AlertSeverity::from_alias("warn"),
            Some(AlertSeverity::Warning)
        );
        assert_eq!(
            AlertSeverity::from_alias("informational"),
            Some(AlertSeverity::Info)
        );
        assert_eq!(AlertSeverity::from_alias("bananas"), None);
        assert_eq!(AlertSeverity::from_alias(""), None);
    }

    #[test]
    fn a_group_resolves_only_when_nothing_fires_and_a_silence_outranks_an_ack() {
        let facts = |firing, silenced, acknowledged| GroupFacts {
            firing,
            silenced,
            acknowledged,
        };
        assert_eq!(facts(false, true, true).state(), AlertGroupState::Resolved);
        assert_eq!(facts(true, true, true).state(), AlertGroupState::Silenced);
        assert_eq!(
            facts(true, false, true).state(),
            AlertGroupState::Acknowledged
        );
        assert_eq!(facts(true, false, false).state(), AlertGroupState::Firing);
    }
}
