//! What a component is doing.

use serde::{Deserialize, Serialize};

use crate::platform::labelled_enum;

labelled_enum!(
    /// What a component is doing, from best to worst (maintenance aside).
    ComponentStatus, "component_status" {
        Operational => "operational", "Operational";
        DegradedPerformance => "degraded_performance", "Degraded performance";
        PartialOutage => "partial_outage", "Partial outage";
        MajorOutage => "major_outage", "Major outage";
        UnderMaintenance => "under_maintenance", "Under maintenance";
    }
);

impl ComponentStatus {
    /// How bad, for "worst of": maintenance ranks above operational, below any outage.
    pub fn rank(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    pub fn worst(statuses: impl IntoIterator<Item = ComponentStatus>) -> ComponentStatus {
        statuses
            .into_iter()
            .max_by_key(|s| s.rank())
            .unwrap_or(ComponentStatus::Operational)
    }

    /// CSS class for the status colour (the label is always shown too).
    pub fn css_class(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "st-ok",
            ComponentStatus::DegradedPerformance => "st-degraded",
            ComponentStatus::PartialOutage => "st-partial",
            ComponentStatus::MajorOutage => "st-major",
            ComponentStatus::UnderMaintenance => "st-maintenance",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_component_status_wins_and_maintenance_is_not_an_outage() {
        use ComponentStatus::*;
        assert_eq!(
            ComponentStatus::worst([Operational, PartialOutage, DegradedPerformance]),
            PartialOutage
        );
        assert_eq!(
            ComponentStatus::worst([Operational, UnderMaintenance]),
            UnderMaintenance
        );
        assert_eq!(
            ComponentStatus::worst([UnderMaintenance, DegradedPerformance]),
            DegradedPerformance
        );
        assert_eq!(ComponentStatus::worst([]), Operational);
    }
}
