//! Incidents, their lifecycle and their enums.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::platform::labelled_enum;

labelled_enum!(
    /// How bad it is. sev1 is the worst.
    Severity, "severity" {
        Sev1 => "sev1", "SEV1";
        Sev2 => "sev2", "SEV2";
        Sev3 => "sev3", "SEV3";
        Sev4 => "sev4", "SEV4";
    }
);

impl Severity {
    /// One line of guidance shown where severity is chosen.
    pub fn guidance(self) -> &'static str {
        match self {
            Severity::Sev1 => "Critical customer-facing outage: all hands.",
            Severity::Sev2 => "Major degradation for many customers.",
            Severity::Sev3 => "Minor or partial problem; some customers notice.",
            Severity::Sev4 => "Low: no customer impact.",
        }
    }

    /// The public impact an incident of this severity has unless someone overrides it.
    pub fn default_impact(self) -> Impact {
        match self {
            Severity::Sev1 => Impact::Critical,
            Severity::Sev2 => Impact::Major,
            Severity::Sev3 => Impact::Minor,
            Severity::Sev4 => Impact::None,
        }
    }

    /// Minutes without a public update before the app says so.
    pub fn nudge_after(self, nudges: &Nudges) -> i64 {
        match self {
            Severity::Sev1 | Severity::Sev2 => nudges.high_minutes,
            Severity::Sev3 | Severity::Sev4 => nudges.low_minutes,
        }
    }
}

labelled_enum!(
    /// Where the response is.
    IncidentStatus, "incident_status" {
        Investigating => "investigating", "Investigating";
        Identified => "identified", "Identified";
        Monitoring => "monitoring", "Monitoring";
        Resolved => "resolved", "Resolved";
    }
);

impl IncidentStatus {
    pub fn is_resolved(self) -> bool {
        self == IncidentStatus::Resolved
    }
}

labelled_enum!(
    /// The impact customers see (drives the status page's colour).
    Impact, "incident_impact" {
        None => "none", "None";
        Minor => "minor", "Minor";
        Major => "major", "Major";
        Critical => "critical", "Critical";
    }
);

labelled_enum!(
    /// Public incidents appear on the status page; internal ones nowhere public.
    Visibility, "visibility" {
        Public => "public", "Public";
        Internal => "internal", "Internal";
    }
);

labelled_enum!(
    WorkstreamKind, "workstream_kind" {
        Recovery => "recovery", "Recovery";
        RootCause => "root_cause", "Root cause";
        Custom => "custom", "Workstream";
    }
);

labelled_enum!(
    WorkstreamStatus, "workstream_status" {
        Active => "active", "Active";
        Done => "done", "Done";
    }
);

labelled_enum!(
    /// What an entry of the event log records.
    EventKind, "event_kind" {
        Note => "note", "Note";
        Declared => "declared", "Declared";
        StatusChanged => "status_changed", "Status";
        SeverityChanged => "severity_changed", "Severity";
        ImpactChanged => "impact_changed", "Impact";
        VisibilityChanged => "visibility_changed", "Visibility";
        TitleChanged => "title_changed", "Title";
        CommandChanged => "command_changed", "Command";
        ComponentChanged => "component_changed", "Component";
        WorkstreamAdded => "workstream_added", "Workstream";
        WorkstreamChanged => "workstream_changed", "Workstream";
        TaskAdded => "task_added", "Task";
        TaskChanged => "task_changed", "Task";
        UpdatePosted => "update_posted", "Public update";
        TimestampChanged => "timestamp_changed", "Timestamp";
        Correction => "correction", "Correction";
        Alert => "alert", "Alert";
        AlertAttached => "alert_attached", "Alert group";
    }
);

/// The lifecycle timestamps that people may edit (with a reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    Started,
    Detected,
    Declared,
    Acknowledged,
    Mitigated,
    Resolved,
}

impl Milestone {
    pub const ALL: [Milestone; 6] = [
        Milestone::Started,
        Milestone::Detected,
        Milestone::Declared,
        Milestone::Acknowledged,
        Milestone::Mitigated,
        Milestone::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Milestone::Started => "started",
            Milestone::Detected => "detected",
            Milestone::Declared => "declared",
            Milestone::Acknowledged => "acknowledged",
            Milestone::Mitigated => "mitigated",
            Milestone::Resolved => "resolved",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Milestone::Started => "Impact started",
            Milestone::Detected => "Detected",
            Milestone::Declared => "Declared",
            Milestone::Acknowledged => "Acknowledged",
            Milestone::Mitigated => "Mitigated",
            Milestone::Resolved => "Resolved",
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            Milestone::Started => "started_at",
            Milestone::Detected => "detected_at",
            Milestone::Declared => "declared_at",
            Milestone::Acknowledged => "acknowledged_at",
            Milestone::Mitigated => "mitigated_at",
            Milestone::Resolved => "resolved_at",
        }
    }

    pub fn parse(raw: &str) -> Option<Milestone> {
        Milestone::ALL.into_iter().find(|m| m.as_str() == raw)
    }
}

/// The lifecycle times of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    pub started: OffsetDateTime,
    pub detected: Option<OffsetDateTime>,
    pub declared: OffsetDateTime,
    pub acknowledged: Option<OffsetDateTime>,
    pub mitigated: Option<OffsetDateTime>,
    pub resolved: Option<OffsetDateTime>,
}

/// The durations people measure incidents by, all from the start of impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Durations {
    pub to_detect: Option<Duration>,
    pub to_acknowledge: Option<Duration>,
    pub to_mitigate: Option<Duration>,
    pub to_resolve: Option<Duration>,
}

impl Lifecycle {
    pub fn get(&self, milestone: Milestone) -> Option<OffsetDateTime> {
        match milestone {
            Milestone::Started => Some(self.started),
            Milestone::Detected => self.detected,
            Milestone::Declared => Some(self.declared),
            Milestone::Acknowledged => self.acknowledged,
            Milestone::Mitigated => self.mitigated,
            Milestone::Resolved => self.resolved,
        }
    }

    /// Time to detect, acknowledge, mitigate and resolve, measured from when impact
    /// started. Detection defaults to the declaration when nobody recorded it.
    pub fn durations(&self) -> Durations {
        let since_start = |at: Option<OffsetDateTime>| at.map(|t| t - self.started);
        Durations {
            to_detect: since_start(Some(self.detected.unwrap_or(self.declared))),
            to_acknowledge: since_start(self.acknowledged),
            to_mitigate: since_start(self.mitigated),
            to_resolve: since_start(self.resolved),
        }
    }
}

/// Human duration: "45 s", "12 min", "3 h 05 min", "2 d 4 h".
pub fn format_duration(d: Duration) -> String {
    let secs = d.whole_seconds();
    if secs < 0 {
        return format!("−{}", format_duration(-d));
    }
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60),
        _ => format!("{} d {} h", secs / 86_400, (secs % 86_400) / 3600),
    }
}

/// When the app nags about missing public updates (minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nudges {
    /// For sev1 and sev2.
    pub high_minutes: i64,
    /// For sev3 and sev4.
    pub low_minutes: i64,
}

impl Default for Nudges {
    fn default() -> Self {
        Nudges {
            high_minutes: 30,
            low_minutes: 60,
        }
    }
}

/// Minutes since the last public update (or the declaration) if an open public incident
/// has waited longer than its severity allows; `None` when no nudge is due.
pub fn overdue_update_minutes(
    severity: Severity,
    visibility: Visibility,
    status: IncidentStatus,
    declared: OffsetDateTime,
    last_public_update: Option<OffsetDateTime>,
    now: OffsetDateTime,
    nudges: &Nudges,
) -> Option<i64> {
    if status.is_resolved() || visibility == Visibility::Internal {
        return None;
    }
    let since = last_public_update.unwrap_or(declared);
    let minutes = (now - since).whole_minutes();
    (minutes >= severity.nudge_after(nudges)).then_some(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn impact_follows_severity_by_default() {
        assert_eq!(Severity::Sev1.default_impact(), Impact::Critical);
        assert_eq!(Severity::Sev2.default_impact(), Impact::Major);
        assert_eq!(Severity::Sev3.default_impact(), Impact::Minor);
        assert_eq!(Severity::Sev4.default_impact(), Impact::None);
    }

    #[test]
    fn durations_are_measured_from_the_start_of_impact() {
        let lc = Lifecycle {
            started: datetime!(2026-03-04 10:00 UTC),
            detected: Some(datetime!(2026-03-04 10:04 UTC)),
            declared: datetime!(2026-03-04 10:10 UTC),
            acknowledged: Some(datetime!(2026-03-04 10:12 UTC)),
            mitigated: Some(datetime!(2026-03-04 10:40 UTC)),
            resolved: None,
        };
        let d = lc.durations();
        assert_eq!(d.to_detect, Some(Duration::minutes(4)));
        assert_eq!(d.to_acknowledge, Some(Duration::minutes(12)));
        assert_eq!(d.to_mitigate, Some(Duration::minutes(40)));
        assert_eq!(d.to_resolve, None);
    }

    #[test]
    fn undetected_incidents_count_detection_at_declaration() {
        let lc = Lifecycle {
            started: datetime!(2026-03-04 10:00 UTC),
            detected: None,
            declared: datetime!(2026-03-04 10:10 UTC),
            acknowledged: None,
            mitigated: None,
            resolved: None,
        };
        assert_eq!(lc.durations().to_detect, Some(Duration::minutes(10)));
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(format_duration(Duration::seconds(45)), "45 s");
        assert_eq!(format_duration(Duration::minutes(12)), "12 min");
        assert_eq!(format_duration(Duration::minutes(185)), "3 h 05 min");
        assert_eq!(format_duration(Duration::hours(52)), "2 d 4 h");
    }

    #[test]
    fn open_public_incidents_are_nudged_after_their_severitys_limit() {
        let nudges = Nudges::default();
        let declared = datetime!(2026-03-04 10:00 UTC);
        let at = |m| declared + Duration::minutes(m);
        let check = |sev, vis, status, last, now| {
            overdue_update_minutes(sev, vis, status, declared, last, now, &nudges)
        };
        use IncidentStatus::*;
        use Visibility::*;
        assert_eq!(
            check(Severity::Sev1, Public, Investigating, None, at(29)),
            None
        );
        assert_eq!(
            check(Severity::Sev1, Public, Investigating, None, at(31)),
            Some(31)
        );
        assert_eq!(
            check(Severity::Sev3, Public, Investigating, None, at(31)),
            None
        );
        assert_eq!(
            check(Severity::Sev3, Public, Identified, Some(at(10)), at(75)),
            Some(65)
        );
        assert_eq!(
            check(Severity::Sev1, Internal, Investigating, None, at(90)),
            None
        );
        assert_eq!(check(Severity::Sev1, Public, Resolved, None, at(90)), None);
    }
}

/// How people and tools name an incident: its UUID, `INC-42` (in any case) or `42`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentRef {
    Id(uuid::Uuid),
    Number(i64),
}

impl IncidentRef {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if let Ok(id) = uuid::Uuid::parse_str(raw) {
            return Some(IncidentRef::Id(id));
        }
        let digits = match raw.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("INC-") => &raw[4..],
            _ => raw,
        };
        digits
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(IncidentRef::Number)
    }
}

#[cfg(test)]
mod reference_tests {
    use crate::incidents::IncidentRef;

    #[test]
    fn an_incident_is_named_by_uuid_reference_in_any_case_or_number() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            IncidentRef::parse(&id.to_string()),
            Some(IncidentRef::Id(id))
        );
        for raw in ["INC-42", "inc-42", "Inc-42", "42", " INC-42 "] {
            assert_eq!(
                IncidentRef::parse(raw),
                Some(IncidentRef::Number(42)),
                "{raw}"
            );
        }
        for raw in ["", "INC-", "INC-x", "-3", "0", "INC--3", "ÄÖÜ-1", "INC-42a"] {
            assert_eq!(IncidentRef::parse(raw), None, "{raw}");
        }
    }
}
