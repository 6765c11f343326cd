//! Keys and the stored format of encryption at rest: a key and its id, the key ring (one
//! primary key that encrypts, previous keys that only decrypt), `CipherError`, and
//! `vhenc:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`.

use std::fmt;

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey},
    digest,
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD},
};

/// What every encrypted value starts with.
pub const PREFIX: &str = "vhenc:";
/// The format written today, after [`PREFIX`].
const VERSION: &str = "v1";
/// Bytes in a key.
pub const KEY_LEN: usize = 32;
/// What the key id hashes before the key, so that the id is not a plain hash of the key.
const KEY_ID_DOMAIN: &[u8] = b"vizhook encryption key id v1\0";

/// The columns whose values are encrypted; each is its values' associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretColumn {
    /// `webhooks.signing_secret`: a Standard Webhooks secret (`whsec_…`).
    WebhookSigningSecret,
    /// `connections.password`: a password embedded in a published data source or workbook.
    ConnectionPassword,
}

impl SecretColumn {
    pub const ALL: [Self; 2] = [Self::WebhookSigningSecret, Self::ConnectionPassword];

    /// `table.column`, as every backend names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::WebhookSigningSecret => "webhooks.signing_secret",
            Self::ConnectionPassword => "connections.password",
        }
    }

    fn associated_data(self) -> Aad<String> {
        Aad::from(format!("{PREFIX}{VERSION}:{}", self.name()))
    }
}

impl fmt::Display for SecretColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key could not be used or a value could not be read. Messages name keys by their id
/// and values by their column, never by their contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error(
        "an encryption key must be 32 random bytes written in base64 or hex, and this one is not valid base64 or hex"
    )]
    KeyEncoding,
    #[error("an encryption key must be 32 random bytes, and this one is {0} bytes")]
    KeyLength(usize),
    #[error("no random bytes could be had for a key or a nonce")]
    Random,
    #[error("a value could not be encrypted")]
    Encrypt,
    #[error(
        "the database's secrets were encrypted with key {key_id}, which is not the configured key or one of the previous keys"
    )]
    UnknownKey { key_id: String },
    #[error(
        "the database's secrets were encrypted with key {key_id}, but no encryption key is configured"
    )]
    NoKey { key_id: String },
    #[error(
        "a value of {column} does not decrypt with key {key_id}: it was altered, or encrypted with another key that has the same id"
    )]
    Undecryptable {
        column: SecretColumn,
        key_id: String,
    },
    #[error(
        "a value of {column} starts as an encrypted value does but is not one (vhenc:v1:<key id>:<base64>)"
    )]
    Malformed { column: SecretColumn },
}

/// One AES-256-GCM key. Its `Debug` shows only its id.
pub struct Key {
    // Visible to the cipher's tests, which forge a key with another key's id.
    pub(super) id: String,
    pub(super) aead: RandomizedNonceKey,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// Reads a key written as 64 hex digits or as base64 (standard or url-safe, padded or not).
    pub fn parse(text: &str) -> Result<Self, CipherError> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..KEY_LEN)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| CipherError::KeyEncoding)?
        } else {
            let standard: String = text
                .trim_end_matches('=')
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    other => other,
                })
                .collect();
            STANDARD_NO_PAD
                .decode(standard)
                .map_err(|_| CipherError::KeyEncoding)?
        };
        Self::from_bytes(&bytes)
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CipherError> {
        if bytes.len() != KEY_LEN {
            return Err(CipherError::KeyLength(bytes.len()));
        }
        let mut input = KEY_ID_DOMAIN.to_vec();
        input.extend_from_slice(bytes);
        let hash = digest::digest(&digest::SHA256, &input);
        let id = hash.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let aead = RandomizedNonceKey::new(&AES_256_GCM, bytes)
            .map_err(|_| CipherError::KeyLength(bytes.len()))?;
        Ok(Self { id, aead })
    }

    /// A fresh random key, in standard base64: what `Key::parse` reads.
    pub fn generate() -> Result<String, CipherError> {
        let mut bytes = [0u8; KEY_LEN];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CipherError::Random)?;
        Ok(STANDARD.encode(bytes))
    }

    /// The key's id: 8 hex digits.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn seal(&self, column: SecretColumn, plaintext: &str) -> Result<String, CipherError> {
        let mut in_out = plaintext.as_bytes().to_vec();
        let nonce = self
            .aead
            .seal_in_place_append_tag(column.associated_data(), &mut in_out)
            .map_err(|_| CipherError::Encrypt)?;
        let mut sealed = nonce.as_ref().to_vec();
        sealed.extend_from_slice(&in_out);
        Ok(format!(
            "{PREFIX}{VERSION}:{}:{}",
            self.id,
            STANDARD.encode(sealed)
        ))
    }

    /// The plaintext of `sealed` (nonce ‖ ciphertext ‖ tag), if this key sealed it for `column`.
    fn open(&self, column: SecretColumn, sealed: &[u8]) -> Option<String> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self
            .aead
            .open_in_place(nonce, column.associated_data(), &mut in_out)
            .ok()?;
        String::from_utf8(plaintext.to_vec()).ok()
    }
}

/// The key that encrypts, and the keys that values may still be encrypted with.
#[derive(Debug)]
pub struct KeyRing {
    primary: Key,
    previous: Vec<Key>,
}

/// A decrypted value, and whether it was encrypted with the primary key. `Debug` is redacted.
pub struct Opened {
    pub plaintext: String,
    pub current: bool,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("plaintext", &"<redacted>")
            .field("current", &self.current)
            .finish()
    }
}

impl KeyRing {
    pub fn new(primary: Key, previous: Vec<Key>) -> Self {
        Self { primary, previous }
    }

    pub fn primary_id(&self) -> &str {
        self.primary.id()
    }

    /// Encrypts `plaintext` for `column` with the primary key.
    pub fn seal(&self, column: SecretColumn, plaintext: &str) -> Result<String, CipherError> {
        self.primary.seal(column, plaintext)
    }

    /// Decrypts a stored value of `column` with whichever key of the ring has its id (two keys
    /// may share an id, so each is tried).
    pub fn open(&self, column: SecretColumn, stored: &str) -> Result<Opened, CipherError> {
        let (key_id, sealed) = split(column, stored)?;
        let keys = std::iter::once(&self.primary).chain(&self.previous);
        let mut known = false;
        for (index, key) in keys.enumerate().filter(|(_, key)| key.id == key_id) {
            known = true;
            if let Some(plaintext) = key.open(column, &sealed) {
                return Ok(Opened {
                    plaintext,
                    current: index == 0,
                });
            }
        }
        let key_id = key_id.to_owned();
        Err(if known {
            CipherError::Undecryptable { column, key_id }
        } else {
            CipherError::UnknownKey { key_id }
        })
    }
}

/// Whether a stored value is encrypted (or claims to be).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// The id of the key an encrypted value names, if it names one.
pub fn sealed_key_id(stored: &str) -> Option<&str> {
    let rest = stored.strip_prefix(PREFIX)?.strip_prefix(VERSION)?;
    let (key_id, _) = rest.strip_prefix(':')?.split_once(':')?;
    Some(key_id)
}

/// A stored value's key id and decoded nonce ‖ ciphertext ‖ tag.
fn split(column: SecretColumn, stored: &str) -> Result<(&str, Vec<u8>), CipherError> {
    let malformed = || CipherError::Malformed { column };
    let key_id = sealed_key_id(stored).ok_or_else(malformed)?;
    let (_, encoded) = stored.rsplit_once(':').ok_or_else(malformed)?;
    let sealed = STANDARD.decode(encoded).map_err(|_| malformed())?;
    if key_id.len() != 8 || !key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed());
    }
    Ok((key_id, sealed))
}
