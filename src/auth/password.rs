//! Password hashing with argon2id (the crate's recommended parameters).

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// A hash of a password nobody has, verified against when the email is
/// unknown so that unknown emails and wrong passwords take equally long.
static DECOY_HASH: LazyLock<Option<String>> = LazyLock::new(|| hash("decoy password").ok());

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt_bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// True when `password` matches the PHC string `hash`; a malformed hash never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the time of one verification, for callers without a hash to check.
pub fn verify_decoy(password: &str) {
    if let Some(hash) = DECOY_HASH.as_deref() {
        let _ = verify(password, hash);
    }
}
