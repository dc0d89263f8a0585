//! Why a command of any capability was refused.

use uuid::Uuid;

/// A versioned record as it is now, carried by [`CommandError::Conflict`]: enough for a
/// front door to explain the conflict and to show (or reload) the current values.
#[derive(Debug, Clone)]
pub struct Current {
    pub id: Uuid,
    pub version: i32,
    /// How people name the record, e.g. `INC-42`.
    pub reference: String,
    /// The record's current values, as the generic HTTP 409 body shows them.
    pub snapshot: serde_json::Value,
}

/// Why a command was refused.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("there is no such incident")]
    NotFound,
    /// The record changed since `expected`; `current` describes it as it is now.
    #[error("it changed since version {expected}")]
    Conflict {
        expected: i32,
        current: Box<Current>,
    },
    /// A versioned object was changed since `expected` (it is at version `current`).
    #[error("it changed since version {expected} (it is at version {current})")]
    Stale { expected: i32, current: i32 },
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<crate::platform::text::FieldError> for CommandError {
    fn from(err: crate::platform::text::FieldError) -> Self {
        CommandError::Invalid {
            field: err.field,
            message: err.message,
        }
    }
}

impl CommandError {
    /// [`CommandError::Stale`] unless the record is still at the version read.
    pub fn unless_version(read: i32, current: i32) -> Result<(), Self> {
        if read == current {
            Ok(())
        } else {
            Err(CommandError::Stale {
                expected: read,
                current,
            })
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        CommandError::Invalid {
            field,
            message: message.into(),
        }
    }
}
