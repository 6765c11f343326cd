//! Unit tests of the cipher: keys, the stored format, the ring, and the at-rest policy.

use aws_lc_rs::{aead::NONCE_LEN, digest};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};

use super::*;
use crate::ClaimedDelivery;

const COLUMN: SecretColumn = SecretColumn::WebhookSigningSecret;

fn key(byte: u8) -> Key {
    Key::from_bytes(&[byte; KEY_LEN]).unwrap()
}

fn ring(primary: u8, previous: &[u8]) -> KeyRing {
    KeyRing::new(key(primary), previous.iter().map(|b| key(*b)).collect())
}

#[test]
fn values_round_trip_with_a_fresh_nonce_each_time() {
    let ring = ring(1, &[]);
    let first = ring.seal(COLUMN, "whsec_hello").unwrap();
    let second = ring.seal(COLUMN, "whsec_hello").unwrap();
    assert_ne!(first, second, "a random nonce per value");
    for stored in [&first, &second] {
        assert!(stored.starts_with(&format!("vhenc:v1:{}:", ring.primary_id())));
        assert!(!stored.contains("hello"));
        let opened = ring.open(COLUMN, stored).unwrap();
        assert_eq!(opened.plaintext, "whsec_hello");
        assert!(opened.current);
    }
    // Empty and non-ASCII values too.
    for plaintext in ["", "pässwörd ✓"] {
        let stored = ring.seal(COLUMN, plaintext).unwrap();
        assert_eq!(ring.open(COLUMN, &stored).unwrap().plaintext, plaintext);
    }
}

#[test]
fn previous_keys_decrypt_but_do_not_count_as_current() {
    let old = ring(1, &[]);
    let stored = old.seal(COLUMN, "secret").unwrap();
    let rotating = ring(2, &[1]);
    let opened = rotating.open(COLUMN, &stored).unwrap();
    assert_eq!(opened.plaintext, "secret");
    assert!(!opened.current);
    assert!(
        rotating
            .seal(COLUMN, "secret")
            .unwrap()
            .contains(rotating.primary_id()),
        "new values use the primary key"
    );
}

#[test]
fn a_value_under_another_key_names_that_key() {
    let stored = ring(1, &[]).seal(COLUMN, "secret").unwrap();
    let other = ring(2, &[3]);
    let err = other.open(COLUMN, &stored).unwrap_err();
    assert_eq!(
        err,
        CipherError::UnknownKey {
            key_id: key(1).id().to_owned()
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the database's secrets were encrypted with key {}, which is not the configured key or one of the previous keys",
            key(1).id()
        )
    );
}

#[test]
fn a_wrong_key_with_the_same_id_or_a_tampered_value_does_not_decrypt() {
    let ring = ring(1, &[]);
    let stored = ring.seal(COLUMN, "secret").unwrap();
    let id = ring.primary_id().to_owned();
    let undecryptable = CipherError::Undecryptable {
        column: COLUMN,
        key_id: id.clone(),
    };

    // Another key that claims the same id (as a colliding fingerprint would).
    let impostor = KeyRing::new(
        Key {
            id: id.clone(),
            ..key(9)
        },
        Vec::new(),
    );
    assert_eq!(impostor.open(COLUMN, &stored).unwrap_err(), undecryptable);

    // Every byte of nonce, ciphertext and tag is authenticated.
    let (head, encoded) = stored.rsplit_once(':').unwrap();
    let sealed = STANDARD.decode(encoded).unwrap();
    for at in [0, NONCE_LEN, sealed.len() - 1] {
        let mut altered = sealed.clone();
        altered[at] ^= 1;
        let altered = format!("{head}:{}", STANDARD.encode(altered));
        assert_eq!(ring.open(COLUMN, &altered).unwrap_err(), undecryptable);
    }
    let truncated = format!("{head}:{}", STANDARD.encode(&sealed[..NONCE_LEN - 1]));
    assert_eq!(ring.open(COLUMN, &truncated).unwrap_err(), undecryptable);
}

#[test]
fn a_value_copied_into_another_column_does_not_decrypt() {
    let ring = ring(1, &[]);
    let stored = ring
        .seal(SecretColumn::ConnectionPassword, "secret")
        .unwrap();
    assert_eq!(
        ring.open(SecretColumn::WebhookSigningSecret, &stored)
            .unwrap_err(),
        CipherError::Undecryptable {
            column: SecretColumn::WebhookSigningSecret,
            key_id: ring.primary_id().to_owned(),
        }
    );
    assert!(ring.open(SecretColumn::ConnectionPassword, &stored).is_ok());
}

#[test]
fn malformed_values_are_reported_as_such() {
    let ring = ring(1, &[]);
    for stored in [
        "vhenc:",
        "vhenc:v2:00000000:AAAA",
        "vhenc:v1:nothex!!:AAAA",
        "vhenc:v1:0000:AAAA",
        "vhenc:v1:00000000:not base64",
    ] {
        assert_eq!(
            ring.open(COLUMN, stored).unwrap_err(),
            CipherError::Malformed { column: COLUMN },
            "{stored}"
        );
    }
}

#[test]
fn keys_are_read_from_base64_or_hex_and_must_be_32_bytes() {
    let bytes: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(250))
        .collect();
    let expected = Key::from_bytes(&bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    for text in [
        STANDARD.encode(&bytes),
        URL_SAFE_NO_PAD.encode(&bytes),
        hex.clone(),
        hex.to_lowercase(),
        format!("  {}\n", STANDARD.encode(&bytes)),
    ] {
        assert_eq!(Key::parse(&text).unwrap().id(), expected.id(), "{text}");
    }
    assert_eq!(
        Key::parse(&STANDARD.encode([0u8; 16])).unwrap_err(),
        CipherError::KeyLength(16)
    );
    assert_eq!(
        Key::parse(&STANDARD.encode([0u8; 33])).unwrap_err(),
        CipherError::KeyLength(33)
    );
    assert_eq!(Key::parse("").unwrap_err(), CipherError::KeyLength(0));
    assert_eq!(
        Key::parse("not a key!").unwrap_err(),
        CipherError::KeyEncoding
    );
    assert!(
        CipherError::KeyLength(16)
            .to_string()
            .contains("must be 32 random bytes, and this one is 16 bytes")
    );

    let generated = Key::generate().unwrap();
    assert_eq!(STANDARD.decode(&generated).unwrap().len(), KEY_LEN);
    assert_ne!(generated, Key::generate().unwrap());
    assert!(Key::parse(&generated).is_ok());
}

#[test]
fn key_ids_are_fingerprints_and_debug_never_shows_key_material() {
    let first = key(1);
    assert_eq!(first.id().len(), 8);
    assert!(first.id().bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(first.id(), key(2).id());
    // Not a plain SHA-256 of the key: the id is domain-separated.
    let plain = digest::digest(&digest::SHA256, &[1u8; KEY_LEN]);
    let plain: String = plain.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_ne!(first.id(), plain);

    let ring = KeyRing::new(first, vec![key(2)]);
    let shown = format!("{ring:?}");
    assert!(shown.contains(ring.primary_id()), "{shown}");
    assert!(shown.contains(key(2).id()), "{shown}");
    let opened = ring
        .open(COLUMN, &ring.seal(COLUMN, "hunter2").unwrap())
        .unwrap();
    assert!(!format!("{opened:?}").contains("hunter2"));
}

#[test]
fn plain_policy_keeps_values_and_refuses_encrypted_ones() {
    let plain = AtRest::plain();
    assert_eq!(
        plain.seal(COLUMN, Some("s".into())).unwrap().as_deref(),
        Some("s")
    );
    assert_eq!(plain.review(COLUMN, "s").unwrap(), None);
    let stored = ring(1, &[]).seal(COLUMN, "s").unwrap();
    let no_key = CipherError::NoKey {
        key_id: key(1).id().to_owned(),
    };
    assert_eq!(plain.review(COLUMN, &stored).unwrap_err(), no_key);
    assert_eq!(plain.unseal(COLUMN, Some(stored)).unwrap_err(), no_key);
    assert_eq!(plain.unseal(COLUMN, None).unwrap(), None);
}

#[test]
fn keyed_policy_rewrites_plain_and_previous_values_and_keeps_current_ones() {
    let keyed = AtRest::keyed(ring(2, &[1]));
    let current = keyed.seal(COLUMN, Some("a".into())).unwrap().unwrap();
    assert_eq!(keyed.review(COLUMN, &current).unwrap(), None);

    let old = ring(1, &[]).seal(COLUMN, "b").unwrap();
    let plain = "c";
    for (stored, plaintext) in [(old.as_str(), "b"), (plain, "c")] {
        let rewritten = keyed.review(COLUMN, stored).unwrap().unwrap();
        assert_eq!(sealed_key_id(&rewritten), Some(key(2).id()));
        assert_eq!(
            keyed.unseal(COLUMN, Some(rewritten)).unwrap().as_deref(),
            Some(plaintext)
        );
    }
    let unknown = ring(3, &[]).seal(COLUMN, "d").unwrap();
    assert!(matches!(
        keyed.review(COLUMN, &unknown),
        Err(CipherError::UnknownKey { .. })
    ));
}

#[test]
fn deliveries_of_one_webhook_share_a_decryption_and_each_gets_its_own_secret() {
    use uuid::Uuid;
    use vizhook_core::{DeliveryId, EventId, SiteId, WebhookId};
    let keyed = AtRest::keyed(ring(1, &[]));
    let seal = |s: &str| keyed.seal(COLUMN, Some(s.to_owned())).unwrap();
    let (a, b) = (seal("whsec_a"), seal("whsec_b"));
    let delivery = |n: u128, secret: Option<String>| ClaimedDelivery {
        id: DeliveryId::from_uuid(Uuid::from_u128(n)),
        event_id: EventId::from_uuid(Uuid::from_u128(n)),
        webhook_id: WebhookId::from_uuid(Uuid::from_u128(n)),
        site_id: SiteId::from_uuid(Uuid::from_u128(0)),
        url: "https://example.com".to_owned(),
        signing_secret: secret,
        payload: Vec::new(),
        attempt: 1,
        round_attempt: 1,
    };
    let mut batch = vec![
        delivery(1, a.clone()),
        delivery(2, None),
        delivery(3, b),
        delivery(4, a.clone()),
    ];
    keyed.unseal_deliveries(&mut batch).unwrap();
    let secrets: Vec<Option<&str>> = batch.iter().map(|d| d.signing_secret.as_deref()).collect();
    assert_eq!(
        secrets,
        [Some("whsec_a"), None, Some("whsec_b"), Some("whsec_a")]
    );

    // Without a key, an encrypted secret anywhere in the batch is refused.
    let mut batch = vec![delivery(1, Some("whsec_plain".into())), delivery(2, a)];
    assert!(matches!(
        AtRest::plain().unseal_deliveries(&mut batch),
        Err(CipherError::NoKey { .. })
    ));
}
