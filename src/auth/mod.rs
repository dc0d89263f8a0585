//! Secrets: password hashing, random tokens and signed values. Pure functions, no I/O.

mod password;
mod signed;
mod token;

pub use password::{generate_password, hash_password, verify_password, PasswordHash};
pub use signed::SigningKey;
pub use token::{hash_token, random_token, TokenHash};
