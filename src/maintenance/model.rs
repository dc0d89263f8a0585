//! Where a scheduled maintenance is.

use serde::{Deserialize, Serialize};

use crate::platform::labelled_enum;

labelled_enum!(
    /// Where a scheduled maintenance is.
    MaintenanceStatus, "maintenance_status" {
        Scheduled => "scheduled", "Scheduled";
        InProgress => "in_progress", "In progress";
        Verifying => "verifying", "Verifying";
        Completed => "completed", "Completed";
        Cancelled => "cancelled", "Cancelled";
    }
);

impl MaintenanceStatus {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            MaintenanceStatus::Scheduled
                | MaintenanceStatus::InProgress
                | MaintenanceStatus::Verifying
        )
    }

    pub fn is_active(self) -> bool {
        matches!(
            self,
            MaintenanceStatus::InProgress | MaintenanceStatus::Verifying
        )
    }

    /// Statuspage's enum has no "cancelled": a cancelled maintenance reads as completed.
    pub fn statuspage(self) -> &'static str {
        match self {
            MaintenanceStatus::Cancelled => "completed",
            other => other.as_str(),
        }
    }
}
