//! Alerts from monitoring: integrations that receive them in each tool's own format,
//! alerts grouped and deduplicated, routed by urgency, silenced, and turned into
//! incidents.

pub mod intake;
pub mod integrations;
pub mod keys;
pub mod model;

pub use model::{
    AlertFormat, AlertGroupState, AlertSeverity, AlertStatus, AlertUrgency, GroupFacts,
    IntegrationKind,
};
