//! People and their ways in: users and roles, passwords, sessions, API tokens, setup
//! links and sign-in attempts.

mod error;
pub mod login_attempts;
mod model;
mod password;
mod rows;
pub mod sessions;
pub mod setup_tokens;
pub mod token_commands;
pub mod tokens;
pub mod user_commands;
pub mod users;

pub use error::{AccountError, LAST_ADMIN};
pub use model::{Email, NewPassword, PersonName, Role, ValidationError};
pub use password::{generate_password, hash_password, verify_password, PasswordHash};
pub use rows::UserRow;
