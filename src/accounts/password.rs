use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::seq::SliceRandom;
use std::sync::{Condvar, Mutex};

/// At most this many hashes at once (each takes 19 MiB): a burst of sign-in attempts
/// queues instead of multiplying the server's memory. More would not be faster: hashing
/// is bound by the cores.
fn hashing_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
}

/// A counting gate for the blocking threads that hash.
struct Gate {
    busy: Mutex<usize>,
    freed: Condvar,
}

struct Slot(&'static Gate);

impl Gate {
    fn enter(&'static self) -> Slot {
        let slots = hashing_slots();
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        while *busy >= slots {
            busy = self.freed.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy += 1;
        Slot(self)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(|e| e.into_inner());
        *busy -= 1;
        self.0.freed.notify_one();
    }
}

fn hashing() -> Slot {
    static GATE: Gate = Gate {
        busy: Mutex::new(0),
        freed: Condvar::new(),
    };
    GATE.enter()
}

/// A PHC-format argon2id hash, as stored in `users.password_hash`.
#[derive(Debug, Clone)]
pub struct PasswordHash(pub String);

fn hasher() -> Argon2<'static> {
    // OWASP's first recommended argon2id setting: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password with argon2id and a fresh salt. CPU-heavy: call it off the async
/// threads; waits while [`hashing_slots`] others are hashing.
pub fn hash_password(password: &str) -> anyhow::Result<PasswordHash> {
    let salt = SaltString::generate(&mut OsRng);
    let _slot = hashing();
    let hash = hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?;
    Ok(PasswordHash(hash.to_string()))
}

/// Check a password against a stored hash. A malformed hash never matches. Blocking, and
/// waits like [`hash_password`].
pub fn verify_password(password: &str, stored: &str) -> bool {
    match argon2::PasswordHash::new(stored) {
        Ok(parsed) => {
            let _slot = hashing();
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }
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
    fn no_more_hashes_run_at_once_than_there_are_slots() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static INSIDE: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        let threads: Vec<_> = (0..hashing_slots() * 3)
            .map(|_| {
                std::thread::spawn(|| {
                    let _slot = hashing();
                    let now = INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
                    MOST.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    INSIDE.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(MOST.load(Ordering::SeqCst) <= hashing_slots());
        assert!(MOST.load(Ordering::SeqCst) >= 1);
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
