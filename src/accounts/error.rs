//! Why an accounts command refused, for every front door to render its own way.

use std::collections::BTreeMap;

/// The last-admin rule, in the words all front doors show.
pub const LAST_ADMIN: &str = "This is the last enabled admin. Make someone else an admin first.";

/// What an accounts command gives back.
pub type AccountResult<T> = Result<T, AccountError>;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("there is no such user")]
    NoSuchUser,
    #[error("there is no such token")]
    NoSuchToken,
    /// The change would leave no enabled admin.
    #[error("{}", LAST_ADMIN)]
    LastAdmin,
    /// The actor's role does not allow the change.
    #[error("your role does not allow this")]
    Forbidden,
    /// One field was refused.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Several fields of a new user, each with why.
    #[error("{}", .0.values().cloned().collect::<Vec<_>>().join(" "))]
    Fields(BTreeMap<String, String>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// Hashing a password failed.
    #[error(transparent)]
    Hashing(#[from] anyhow::Error),
}

impl AccountError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AccountError::Invalid {
            field,
            message: message.into(),
        }
    }
}
