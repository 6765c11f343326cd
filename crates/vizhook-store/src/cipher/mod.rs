//! Encryption at rest for the secrets a store must keep usable (webhook signing secrets,
//! embedded connection passwords), shared by every backend: keys and their ids, the key ring
//! (one primary key that encrypts, previous keys that only decrypt), the stored format, and
//! [`AtRest`], the policy a backend applies on write, on read and at open.
//!
//! A stored value is `vhenc:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`: AES-256-GCM
//! (aws-lc-rs, the provider rustls already uses) with a random 96-bit nonce per value, and the
//! value's column as associated data, so a value copied into another column does not decrypt.
//! A key id is the first 8 hex digits of SHA-256 over a domain-separated copy of the key: it
//! names the key without revealing it.

mod at_rest;
mod keys;

pub use at_rest::AtRest;
pub use keys::*;

#[cfg(test)]
mod tests;
