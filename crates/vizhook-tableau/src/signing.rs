//! Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`):
//! HMAC-SHA256 over `{id}.{timestamp}.{body}` with a `whsec_`-prefixed base64 secret.

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A parsed signing secret. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    #[error("a signing secret looks like whsec_ followed by base64")]
    Prefix,
    #[error("the part after whsec_ is not valid base64")]
    Base64,
    #[error("a signing secret must hold 24 to 64 bytes")]
    Length,
}

impl Signer {
    pub fn new(secret: &str) -> Result<Self, SecretFormatError> {
        let encoded = secret
            .trim()
            .strip_prefix("whsec_")
            .ok_or(SecretFormatError::Prefix)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SecretFormatError::Base64)?;
        if !(24..=64).contains(&key.len()) {
            return Err(SecretFormatError::Length);
        }
        Ok(Self { key })
    }

    /// A fresh random secret in `whsec_` form.
    pub fn generate() -> Result<String, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(format!("whsec_{}", STANDARD.encode(key)))
    }

    /// The `webhook-signature` header value: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Whether a `webhook-signature` header (space-separated `v1,<base64>` entries, as during
    /// key rotation) holds this key's signature, compared in constant time.
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.sign(id, timestamp, body);
        header
            .split_whitespace()
            .any(|candidate| bool::from(candidate.as_bytes().ct_eq(expected.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let signer = Signer::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let signature = signer.sign(
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        );
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let id = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
        assert!(signer.verify(id, 1_649_367_553, body, &format!("v1,old= {signature}")));
        assert!(!signer.verify(id, 1_649_367_554, body, &signature));
        assert!(!signer.verify(id, 1_649_367_553, b"{}", &signature));
    }

    #[test]
    fn secrets_are_validated_and_generated_in_the_standard_form() {
        assert_eq!(
            Signer::new("C2FVsBQIhrscChlQIMV").unwrap_err(),
            SecretFormatError::Prefix
        );
        assert_eq!(
            Signer::new("whsec_***").unwrap_err(),
            SecretFormatError::Base64
        );
        assert_eq!(
            Signer::new("whsec_AAAA").unwrap_err(),
            SecretFormatError::Length
        );
        let generated = Signer::generate().unwrap();
        assert!(Signer::new(&generated).is_ok());
        assert!(!format!("{:?}", Signer::new(&generated).unwrap()).contains(&generated[6..]));
    }
}
