//! Alerts from monitoring: integrations that receive them in each tool's own format,
//! alerts grouped and deduplicated, routed by urgency, silenced, and turned into
//! incidents.

pub mod commands;
pub mod doors;
pub mod grouping;
pub mod groups;
pub mod happened;
pub mod history;
pub mod incident_link;
pub mod intake;
pub mod integrations;
pub mod keys;
pub mod model;
pub mod process;
pub mod queries;
pub mod queue;
pub mod routing;
pub mod silences;

pub use model::{
    AlertFormat, AlertGroupState, AlertSeverity, AlertStatus, AlertUrgency, GroupFacts,
    IntegrationKind,
};
