use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::seq::SliceRandom;

/// A PHC-format argon2id hash, as stored in `users.password_hash`.
#[derive(Debug, Clone)]
pub struct PasswordHash(pub String);

fn hasher() -> Argon2<'static> {
    // OWASP's first recommended argon2id setting: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password with argon2id and a fresh salt. CPU-heavy: call it off the async threads.
pub fn hash_password(password: &str) -> anyhow::Result<PasswordHash> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?;
    Ok(PasswordHash(hash.to_string()))
}

/// Check a password against a stored hash. A malformed hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match argon2::PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A strong password that is still typeable: 24 characters without look-alikes (~137 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..24)
        .map(|i| {
            let c = *ALPHABET.choose(&mut rng).unwrap_or(&b'x') as char;
            if i > 0 && i % 6 == 0 {
                format!("-{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash.0));
        assert!(!verify_password("correct horse batterY", &hash.0));
    }

    #[test]
    fn a_malformed_stored_hash_never_matches() {
        assert!(!verify_password("anything", "not-a-hash"));
    }

    #[test]
    fn generated_passwords_are_long_and_different() {
        let a = generate_password();
        let b = generate_password();
        assert_ne!(a, b);
        assert_eq!(a.replace('-', "").len(), 24);
    }
}
