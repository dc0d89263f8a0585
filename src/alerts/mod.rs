//! Alerts from monitoring: integrations that receive them in each tool's own format,
//! alerts grouped and deduplicated, routed by urgency, silenced, and turned into
//! incidents.

pub mod intake;
pub mod model;
pub mod routing;

pub use model::{
    AlertFormat, AlertGroupState, AlertSeverity, AlertStatus, AlertUrgency, GroupFacts,
    IntegrationKind,
};
