//! Process-wide cryptography: the rustls crypto provider (ring) and local
//! password hashing (argon2id, PHC strings), with the bounded pool that
//! runs the checks (`pool`) and gives their memory back (`memory`). Used
//! by the transport, the console, the upstream client and provisioning.

mod memory;
mod pool;

pub use memory::{trim, tune_allocator};
pub use pool::{Busy, Hasher};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::secret::Secret;

/// Installs the ring provider as the process default (idempotent). Needed
/// when several providers end up in the dependency tree (DESIGN.md crate notes).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(argon2::password_hash::Error);

/// Hashes a new local password (argon2id, random salt) into a PHC string.
pub fn hash_password(password: &Secret<String>) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(HashError)
}

/// Whether `password` matches the PHC string `phc` (false for a malformed one).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash_password(&Secret::new("pw".into())).unwrap();
        assert!(verify_password("pw", &h));
        assert!(!verify_password("nope", &h));
        assert!(!verify_password("pw", "not a phc string"));
    }
}
