//! Secrets: argon2 hashing of passwords and personal access tokens, random token generation,
//! and the SHA-256 under which session tokens are stored. No secret is ever logged.

use std::sync::OnceLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use vizhook_core::SiteId;
use vizhook_store::TokenHash;

/// The OS random source or argon2 failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("could not hash a secret: {0}")]
    Hash(String),
    #[error("the OS random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// Hashes a password or token secret as an argon2id PHC string with a fresh salt.
pub fn hash_secret(secret: &str) -> Result<String, SecretError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| SecretError::Hash(err.to_string()))
}

/// Whether `candidate` matches the PHC string `hash`. A malformed hash matches nothing.
pub fn verify_secret(hash: &str, candidate: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Verifies on the blocking pool: argon2 is deliberately slow and must not stall the runtime.
/// With no hash to check against, a dummy one is checked so that unknown names take as long
/// as wrong secrets and cannot be told apart by timing.
pub async fn verify_secret_blocking(hash: Option<String>, candidate: String) -> bool {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_secret(&hash, &candidate),
        None => {
            verify_secret(dummy_hash(), &candidate);
            false
        }
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let secret = random_secret().unwrap_or_else(|_| "vizhook-dummy".to_owned());
        hash_secret(&secret).unwrap_or_default()
    })
}

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn random_secret() -> Result<String, SecretError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(SecretError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A session token in the shape of current Tableau tokens: three `|`-separated parts, the
/// last being the site's LUID. Clients treat it as opaque.
pub fn session_token(site: SiteId) -> Result<String, SecretError> {
    let secret = random_secret()?;
    let (first, second) = secret.split_at(22);
    Ok(format!("{first}|{second}|{site}"))
}

/// The SHA-256 of a session token. Tokens carry 256 random bits, so a fast hash is enough.
pub fn token_hash(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_secret() {
        let hash = hash_secret("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_secret(&hash, "correct horse"));
        assert!(!verify_secret(&hash, "correct horse "));
        assert!(!verify_secret("not a hash", "correct horse"));
    }

    #[test]
    fn session_tokens_are_unique_and_name_their_site() {
        let site = SiteId::from_uuid(uuid::Uuid::new_v4());
        let (a, b) = (session_token(site).unwrap(), session_token(site).unwrap());
        assert_ne!(a, b);
        assert_eq!(a.split('|').count(), 3);
        assert!(a.ends_with(&site.to_string()));
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
