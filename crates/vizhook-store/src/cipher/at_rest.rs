//! [`AtRest`]: what a backend does with the secret columns. Without a key values are stored as
//! given; with one, every value is encrypted on write and decrypted on read, so callers only
//! ever see plaintext, and at open every value is reviewed: plain ones and ones under a
//! previous key are re-encrypted with the primary key (which is how a key is rotated).

use std::{collections::HashMap, sync::Arc};

use super::keys::{CipherError, KeyRing, SecretColumn, is_sealed, sealed_key_id};
use crate::{
    content::{Connection, ContentChange},
    error::StoreError,
    outbox::ClaimedDelivery,
};

/// A backend's encryption policy: plain, or a key ring. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct AtRest {
    ring: Option<Arc<KeyRing>>,
}

impl AtRest {
    /// No encryption: values are stored as given, and an encrypted value is an error.
    pub fn plain() -> Self {
        Self::default()
    }

    pub fn keyed(ring: KeyRing) -> Self {
        Self {
            ring: Some(Arc::new(ring)),
        }
    }

    pub fn key_ring(&self) -> Option<&KeyRing> {
        self.ring.as_deref()
    }

    /// The value to store for `value`: encrypted with the primary key when there is one.
    pub fn seal(
        &self,
        column: SecretColumn,
        value: Option<String>,
    ) -> Result<Option<String>, CipherError> {
        match (&self.ring, value) {
            (Some(ring), Some(value)) => ring.seal(column, &value).map(Some),
            (_, value) => Ok(value),
        }
    }

    /// The plaintext of a stored value.
    pub fn unseal(
        &self,
        column: SecretColumn,
        stored: Option<String>,
    ) -> Result<Option<String>, CipherError> {
        let Some(stored) = stored else {
            return Ok(None);
        };
        match &self.ring {
            Some(ring) if is_sealed(&stored) => Ok(Some(ring.open(column, &stored)?.plaintext)),
            None if is_sealed(&stored) => Err(no_key(column, &stored)),
            // A plain value in a keyed store is only ever one that open has not reviewed yet.
            _ => Ok(Some(stored)),
        }
    }

    /// What open does with a stored value: `None` to keep it, or the value to write instead.
    /// An error for a value no key of the ring opens, or an encrypted value without a key.
    pub fn review(
        &self,
        column: SecretColumn,
        stored: &str,
    ) -> Result<Option<String>, CipherError> {
        match &self.ring {
            None if is_sealed(stored) => Err(no_key(column, stored)),
            None => Ok(None),
            Some(ring) if is_sealed(stored) => {
                let opened = ring.open(column, stored)?;
                if opened.current {
                    Ok(None)
                } else {
                    ring.seal(column, &opened.plaintext).map(Some)
                }
            }
            Some(ring) => ring.seal(column, stored).map(Some),
        }
    }

    /// Encrypts the connection passwords that `changes` write.
    pub fn seal_changes(&self, changes: &mut [ContentChange]) -> Result<(), CipherError> {
        if self.ring.is_none() {
            return Ok(());
        }
        for change in changes {
            let connections = match change {
                ContentChange::SaveDatasource { connections, .. }
                | ContentChange::SaveWorkbook { connections, .. } => {
                    connections.as_deref_mut().unwrap_or_default()
                }
                ContentChange::SaveConnection(connection) => std::slice::from_mut(connection),
                _ => continue,
            };
            for connection in connections {
                connection.password =
                    self.seal(SecretColumn::ConnectionPassword, connection.password.take())?;
            }
        }
        Ok(())
    }

    /// Decrypts the connections' passwords as read.
    pub fn unseal_connections(&self, connections: &mut [Connection]) -> Result<(), CipherError> {
        for connection in connections {
            connection.password =
                self.unseal(SecretColumn::ConnectionPassword, connection.password.take())?;
        }
        Ok(())
    }

    /// Decrypts the signing secrets of claimed or leased deliveries. A batch holds many
    /// deliveries of few webhooks, so each stored value is decrypted once.
    pub fn unseal_deliveries(&self, deliveries: &mut [ClaimedDelivery]) -> Result<(), CipherError> {
        let column = SecretColumn::WebhookSigningSecret;
        if self.ring.is_none() {
            // Plain: nothing to decrypt, and nothing encrypted may pass as a secret.
            let mut secrets = deliveries
                .iter()
                .filter_map(|d| d.signing_secret.as_deref());
            return match secrets.find(|stored| is_sealed(stored)) {
                Some(stored) => Err(no_key(column, stored)),
                None => Ok(()),
            };
        }
        let mut opened: HashMap<String, Option<String>> = HashMap::new();
        for delivery in deliveries {
            let Some(stored) = delivery.signing_secret.take() else {
                continue;
            };
            if let Some(plaintext) = opened.get(&stored) {
                delivery.signing_secret = plaintext.clone();
                continue;
            }
            let plaintext = self.unseal(column, Some(stored.clone()))?;
            delivery.signing_secret = plaintext.clone();
            opened.insert(stored, plaintext);
        }
        Ok(())
    }
}

fn no_key(column: SecretColumn, stored: &str) -> CipherError {
    match sealed_key_id(stored) {
        Some(key_id) => CipherError::NoKey {
            key_id: key_id.to_owned(),
        },
        None => CipherError::Malformed { column },
    }
}

impl From<CipherError> for StoreError {
    /// A value that cannot be read is corrupt data; failing to encrypt is the backend failing.
    fn from(err: CipherError) -> Self {
        match err {
            CipherError::Random | CipherError::Encrypt => StoreError::unavailable(err),
            other => StoreError::Corrupt(other.to_string()),
        }
    }
}
