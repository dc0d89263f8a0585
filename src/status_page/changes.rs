//! What customers are told about: the public changes among the domain events, named the
//! way hosted status pages name them. Webhooks and email both fan out from this, so a
//! change reaches every kind of subscriber or none.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::components::{ComponentEvent, ComponentStatus};
use crate::incidents::IncidentEvent;
use crate::maintenance::{MaintenanceEvent, MaintenanceStatus};
use crate::platform::events::StoredEvent;
use crate::postmortems::PostmortemEvent;

/// A change subscribers hear of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicChange {
    Incident {
        incident_id: Uuid,
        change: IncidentChange,
    },
    Component {
        component_id: Uuid,
        old: ComponentStatus,
        new: ComponentStatus,
        at: OffsetDateTime,
        /// Made by an incident or a maintenance, whose own notice tells of it.
        covered: bool,
    },
    Maintenance {
        maintenance_id: Uuid,
        change: MaintenanceChange,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentChange {
    Created,
    Updated,
    Resolved,
    PostmortemPublished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenanceChange {
    Scheduled,
    Rescheduled,
    Updated,
    Started,
    Completed,
    Cancelled,
}

impl PublicChange {
    /// The public change `event` is, if it is one: an update that notifies nobody, or
    /// one of an internal incident, is none.
    pub fn of(event: &StoredEvent) -> anyhow::Result<Option<PublicChange>> {
        let family = event.kind.split('.').next().unwrap_or_default();
        let payload = event.payload.clone();
        Ok(match family {
            "incident" => incident(serde_json::from_value(payload)?),
            "component" => {
                let ComponentEvent::PublicStatusChanged {
                    component_id,
                    old,
                    new,
                    at,
                    incident_id,
                    maintenance_id,
                } = serde_json::from_value(payload)?;
                Some(PublicChange::Component {
                    component_id,
                    old,
                    new,
                    at,
                    covered: incident_id.is_some() || maintenance_id.is_some(),
                })
            }
            "maintenance" => maintenance(serde_json::from_value(payload)?),
            "postmortem" => {
                let PostmortemEvent::Published { incident_id } = serde_json::from_value(payload)?;
                Some(PublicChange::Incident {
                    incident_id,
                    change: IncidentChange::PostmortemPublished,
                })
            }
            _ => None,
        })
    }
}

fn incident(event: IncidentEvent) -> Option<PublicChange> {
    let (incident_id, change) = match event {
        // Subscribers hear of a published incident made public again as of a new one.
        IncidentEvent::MadePublicAgain { incident_id } => (incident_id, IncidentChange::Created),
        IncidentEvent::UpdatePosted { notify: false, .. }
        | IncidentEvent::UpdatePosted { public: false, .. } => return None,
        // Subscribers first hear of an incident as created, even when the update that
        // published it notified nobody.
        IncidentEvent::UpdatePosted {
            incident_id,
            announces,
            resolved,
            ..
        } => {
            let change = if announces {
                IncidentChange::Created
            } else if resolved {
                IncidentChange::Resolved
            } else {
                IncidentChange::Updated
            };
            (incident_id, change)
        }
    };
    Some(PublicChange::Incident {
        incident_id,
        change,
    })
}

fn maintenance(event: MaintenanceEvent) -> Option<PublicChange> {
    let (maintenance_id, change) = match event {
        MaintenanceEvent::Scheduled { maintenance_id } => {
            (maintenance_id, MaintenanceChange::Scheduled)
        }
        MaintenanceEvent::Rescheduled { maintenance_id } => {
            (maintenance_id, MaintenanceChange::Rescheduled)
        }
        MaintenanceEvent::UpdatePosted { notify: false, .. } => return None,
        MaintenanceEvent::UpdatePosted {
            maintenance_id,
            from,
            to,
            ..
        } => (maintenance_id, MaintenanceChange::moved(from, to)),
    };
    Some(PublicChange::Maintenance {
        maintenance_id,
        change,
    })
}

impl MaintenanceChange {
    /// What a maintenance update is called, by where it moves.
    fn moved(from: MaintenanceStatus, to: MaintenanceStatus) -> MaintenanceChange {
        match to {
            _ if to == from => MaintenanceChange::Updated,
            MaintenanceStatus::Scheduled => MaintenanceChange::Scheduled,
            MaintenanceStatus::InProgress if !from.is_active() => MaintenanceChange::Started,
            MaintenanceStatus::InProgress | MaintenanceStatus::Verifying => {
                MaintenanceChange::Updated
            }
            MaintenanceStatus::Completed => MaintenanceChange::Completed,
            MaintenanceStatus::Cancelled => MaintenanceChange::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MaintenanceStatus::*;

    #[test]
    fn maintenance_updates_are_named_by_where_they_move() {
        use MaintenanceChange as C;
        assert_eq!(C::moved(Scheduled, InProgress), C::Started);
        assert_eq!(C::moved(InProgress, Verifying), C::Updated);
        assert_eq!(C::moved(Verifying, Verifying), C::Updated);
        assert_eq!(C::moved(Verifying, Completed), C::Completed);
        assert_eq!(C::moved(Scheduled, Cancelled), C::Cancelled);
    }
}
