//! Safe retries: the rules of an `Idempotency-Key` (the API's header, the booking pages' hidden
//! field). `services::idempotency` stores and replays; this module only parses and fingerprints.

use sha2::{Digest, Sha256};

/// A key has 1 to this many characters.
pub const MAX_KEY_LEN: usize = 200;

/// How long a key is remembered: a retry within this answers the first answer again; the mail
/// worker's housekeeping deletes older keys, and an older key counts as new.
pub const KEEP_HOURS: i64 = 24;

/// A waiting retry looks at the first request's row this often ...
pub const WAIT_STEP_MS: u64 = 50;
/// ... and for at most this long before it answers 409 `idempotency_key_in_progress`.
pub const WAIT_MAX_MS: u64 = 5_000;

/// A parsed key: 1 to [`MAX_KEY_LEN`] visible ASCII characters (`!` to `~`, no space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// Why a key was refused (422 `invalid_idempotency_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKey(pub &'static str);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<IdempotencyKey, InvalidKey> {
        if raw.is_empty() {
            return Err(InvalidKey(
                "The Idempotency-Key is empty: send 1 to 200 visible ASCII characters.",
            ));
        }
        if raw.len() > MAX_KEY_LEN {
            return Err(InvalidKey(
                "The Idempotency-Key is longer than 200 characters.",
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidKey(
                "The Idempotency-Key may hold visible ASCII characters only (no spaces, no control characters, no accents).",
            ));
        }
        Ok(IdempotencyKey(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored of the key: its SHA-256 in hex (a fixed width for the unique index).
    pub fn stored_hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// The fingerprint of a request: SHA-256 (hex) of what it asks for, `route` (so one key used on
/// two routes is a reuse) and the canonical form of its body (parsed, so the same request with
/// its fields in another order or other spacing is the same).
pub fn fingerprint(route: &str, canonical_body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(route.as_bytes());
    h.update(b"\n");
    h.update(canonical_body);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_1_to_200_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(200)).is_ok());
        assert!(IdempotencyKey::parse("0b8e-4f1c:~!{}").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(201)).is_err());
        assert!(IdempotencyKey::parse("two words").is_err());
        assert!(IdempotencyKey::parse("tab\there").is_err());
        assert!(IdempotencyKey::parse("caf\u{e9}").is_err());
    }

    #[test]
    fn the_fingerprint_tells_routes_and_bodies_apart() {
        let a = fingerprint("POST /api/v1/appointments", b"{\"x\":1}");
        assert_eq!(a, fingerprint("POST /api/v1/appointments", b"{\"x\":1}"));
        assert_ne!(a, fingerprint("POST /api/v1/courses", b"{\"x\":1}"));
        assert_ne!(a, fingerprint("POST /api/v1/appointments", b"{\"x\":2}"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn the_stored_hash_is_not_the_key() {
        let k = IdempotencyKey::parse("my-key-1").unwrap();
        assert_ne!(k.stored_hash(), "my-key-1");
        assert_eq!(k.stored_hash().len(), 64);
    }
}
