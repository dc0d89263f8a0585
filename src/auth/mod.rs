//! Secrets: password hashing and random tokens. Pure functions, no I/O.

mod password;
mod token;

pub use password::{generate_password, hash_password, verify_password, PasswordHash};
pub use token::{hash_token, random_token, TokenHash};
