//! People and their ways in: users and roles, passwords, sessions, API tokens, setup
//! links and sign-in attempts.

pub mod login_attempts;
mod model;
mod password;
pub mod sessions;
pub mod setup_tokens;
pub mod tokens;
pub mod users;

pub use model::{Email, NewPassword, PersonName, Role, ValidationError};
pub use password::{generate_password, hash_password, verify_password, PasswordHash};
