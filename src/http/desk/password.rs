//! Agent passwords (issue 6: "Agents and supervisors log in with passwords
//! stored as Argon2 hashes"): Argon2id (RFC 9106) with the `argon2` crate's
//! default parameters, stored as a PHC string (`$argon2id$v=19$m=…`).
//! `softacd hash-password` prints one; the desk verifies against it.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Longest password accepted (bytes): bounds the hashing work per attempt.
pub const MAX_PASSWORD: usize = 128;

/// Why a password could not be hashed or a hash is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password hash: empty password")]
    Empty,
    #[error("password hash: password longer than {MAX_PASSWORD} bytes")]
    TooLong,
    #[error("password hash: no randomness for the salt: {0}")]
    Salt(String),
    #[error("password hash: {0}")]
    Hash(String),
    #[error("not an Argon2 PHC string ({0})")]
    NotPhc(String),
}

/// A fresh PHC string for `password`, with a random 16-byte salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.len() > MAX_PASSWORD {
        return Err(PasswordError::TooLong);
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError::Salt(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// True when `password` matches the PHC string `phc`. A malformed hash or an
/// over-long password never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Config check: `phc` parses and names an Argon2 algorithm.
pub fn check_phc(phc: &str) -> Result<(), PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|e| PasswordError::NotPhc(e.to_string()))?;
    match parsed.algorithm.as_str() {
        "argon2id" | "argon2i" | "argon2d" => Ok(()),
        other => Err(PasswordError::NotPhc(format!(
            "algorithm {other}, want argon2id"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_its_password() {
        let phc = hash("demo1001").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(check_phc(&phc).is_ok());
        assert!(verify("demo1001", &phc));
        assert!(!verify("demo1002", &phc));
        assert!(!verify("", &phc));
    }

    #[test]
    fn salts_differ() {
        assert_ne!(hash("x").unwrap(), hash("x").unwrap());
    }

    #[test]
    fn bad_input_is_refused_not_panicking() {
        assert_eq!(hash(""), Err(PasswordError::Empty));
        assert_eq!(hash(&"a".repeat(200)), Err(PasswordError::TooLong));
        assert!(!verify("x", "not a hash"));
        assert!(!verify(
            &"a".repeat(200),
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"
        ));
        assert!(check_phc("plain").is_err());
        assert!(check_phc("$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2doYXNoaGFzaA").is_err());
    }
}
