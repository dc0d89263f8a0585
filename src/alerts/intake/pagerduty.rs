//! PagerDuty's Events API v2 (`POST /v2/enqueue`) and its older generic v1 endpoint
//! (`POST /generic/2010-04-15/create_event.json`).

use super::{Delivery, IntakeError};

/// A PagerDuty event: the key that names the integration, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    /// `routing_key` (v2) or `service_key` (v1), as sent.
    pub key: String,
    /// The group's `dedup_key` (v1: `incident_key`), generated for a trigger without one;
    /// the answer returns it.
    pub dedup_key: String,
    pub delivery: Delivery,
}

/// Reads an Events API v2 body.
pub fn parse_v2(body: &[u8]) -> Result<Enqueued, IntakeError> {
    let _ = body;
    Err(IntakeError::Malformed("parser not written yet".into()))
}

/// Reads a generic v1 body.
pub fn parse_v1(body: &[u8]) -> Result<Enqueued, IntakeError> {
    let _ = body;
    Err(IntakeError::Malformed("parser not written yet".into()))
}
