//! Encryption of health data at rest (screening answers, session notes, a mobile client's
//! address, a therapist's entry note): XChaCha20-Poly1305 with 32-byte keys from the
//! configuration.
//!
//! Stored form: `v2:` + the sealing key's id + `:` + standard base64 of `nonce (24 bytes) ||
//! ciphertext with its tag`. The key id ([`AnswerCipher::key_id`]) names the key without
//! revealing it, so a ciphertext says which key opens it; the older `v1:` form (no id) is opened
//! by trying each configured key. The nonce is random per encryption (192 bits, so random nonces
//! never realistically repeat). The associated data (`aad`) binds a ciphertext to its row: it is
//! authenticated but not stored, so the caller must pass the same bytes to decrypt (for example
//! the therapist and client ids of the appointment, which are known before the row is
//! inserted). A ciphertext copied to another row, a wrong key or any changed byte fails to
//! decrypt.
//!
//! **Rotation.** The cipher seals with its current key and opens with it or any old key given
//! (`BODYWORK_ANSWERS_OLD_KEYS`); `bodywork rekey` (`services::rekey`) re-seals every stored
//! value under the current key. The key that was once committed to this repository is refused
//! as the current key ([`COMPROMISED_KEY_IDS`]); it may only be an old key, to rekey from.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;

const PREFIX_V1: &str = "v1:";
const PREFIX: &str = "v2:";

/// Ids of keys that were published (a development key committed to the repository until
/// 2026-11-26): refused as the current key at start, accepted as an old key to rekey from.
pub const COMPROMISED_KEY_IDS: &[&str] = &["1bec08d5c9815b90"];
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Encrypts with the current key and decrypts with it or an old one.
#[derive(Clone)]
pub struct AnswerCipher {
    cipher: XChaCha20Poly1305,
    key_id: String,
    /// Keys that only open (a rotation in progress), by id.
    old: Vec<(String, XChaCha20Poly1305)>,
}

impl AnswerCipher {
    /// The cipher for screening answers: the configured key, else the key file (made on first
    /// start, readable by its owner only).
    /// The old keys (`BODYWORK_ANSWERS_OLD_KEYS`) open what they sealed; a published key is
    /// refused as the current one.
    pub fn from_settings(settings: &crate::config::Settings) -> anyhow::Result<AnswerCipher> {
        let current = AnswerCipher::current_from_settings(settings)?;
        if COMPROMISED_KEY_IDS.contains(&current.key_id()) {
            anyhow::bail!(
                "the screening answers key ({}) is the key that was published in this repository's history, so anyone can read what it sealed. Make a new key (`openssl rand -base64 32`), set it as BODYWORK_ANSWERS_KEY, give this one as BODYWORK_ANSWERS_OLD_KEYS and run `bodywork rekey`",
                settings.answers_key_source()
            );
        }
        let mut old = Vec::new();
        for (i, k) in settings.answers_old_keys.iter().enumerate() {
            old.push(
                AnswerCipher::from_base64(k.expose()).map_err(|e| {
                    anyhow::anyhow!("BODYWORK_ANSWERS_OLD_KEYS, key {}: {e}", i + 1)
                })?,
            );
        }
        Ok(current.with_old_keys(old))
    }

    fn current_from_settings(settings: &crate::config::Settings) -> anyhow::Result<AnswerCipher> {
        if let Some(k) = &settings.answers_key {
            return AnswerCipher::from_base64(k.expose())
                .map_err(|e| anyhow::anyhow!("BODYWORK_ANSWERS_KEY: {e}"));
        }
        let path = &settings.answers_key_file;
        if !path.exists() {
            let key = AnswerCipher::generate_key_base64();
            write_private(path, &key)?;
            tracing::warn!(file = %path.display(), "created a new key for screening answers: back it up, answers cannot be read without it");
        }
        let key = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read the answers key file {}: {e}", path.display())
        })?;
        AnswerCipher::from_base64(&key).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn from_key(key: [u8; KEY_LEN]) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(
            b"bodywork-key-id:"
                .iter()
                .chain(&key)
                .copied()
                .collect::<Vec<u8>>(),
        );
        AnswerCipher {
            cipher: XChaCha20Poly1305::new(Key::from_slice(&key)),
            key_id: hex::encode(&digest[..8]),
            old: Vec::new(),
        }
    }

    /// This cipher, also opening what `old` keys sealed (their own old keys are not taken; the
    /// current key of this one is never among them).
    pub fn with_old_keys(mut self, old: Vec<AnswerCipher>) -> Self {
        for o in old {
            if o.key_id != self.key_id && !self.old.iter().any(|(id, _)| *id == o.key_id) {
                self.old.push((o.key_id, o.cipher));
            }
        }
        self
    }

    /// Whether `stored` is sealed with the current key (what `rekey` leaves alone).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == self.key_id)
    }

    /// The start of every value the current key seals (`v2:<key id>:`), for a query that finds
    /// the others.
    pub fn current_prefix(&self) -> String {
        format!("{PREFIX}{}:", self.key_id)
    }

    /// The key's id: 16 hex digits of a SHA-256 of the key (it does not reveal the key), stored
    /// beside what this key seals so that a later key rotation knows which key opens a row.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Key as standard base64 (44 characters with padding), from configuration. Surrounding
    /// whitespace (a key file's final newline) is ignored. The error never repeats the key.
    pub fn from_base64(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the screening answers key is empty: expected 32 bytes as standard base64 (44 characters)".into());
        }
        let bytes = STANDARD.decode(s).map_err(|_| {
            "the screening answers key is not valid standard base64: expected 32 bytes as standard base64 (44 characters, A-Z a-z 0-9 + / and = padding)".to_string()
        })?;
        let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "the screening answers key must be {KEY_LEN} bytes (44 base64 characters), not {} bytes",
                bytes.len()
            )
        })?;
        Ok(Self::from_key(key))
    }

    /// A new random key from the operating system, as standard base64 (for `serve --demo` key
    /// files and for operators).
    pub fn generate_key_base64() -> String {
        let mut key = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// `"v1:" + base64(nonce(24) || ciphertext)`. `aad` binds the ciphertext to its row; pass
    /// the same bytes to [`AnswerCipher::decrypt`].
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Only fails for messages beyond the cipher's length limit (about 256 GiB).
            .expect("XChaCha20-Poly1305 encryption of an in-memory message");
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}:{}", self.key_id, STANDARD.encode(sealed))
    }

    /// The plaintext, or an error when the text is not ours, the key or `aad` differ, or any
    /// byte changed.
    pub fn decrypt(&self, stored: &str, aad: &[u8]) -> Result<Vec<u8>, String> {
        let keys = std::iter::once((self.key_id.as_str(), &self.cipher))
            .chain(self.old.iter().map(|(id, c)| (id.as_str(), c)));
        if let Some(rest) = stored.strip_prefix(PREFIX) {
            let Some((id, body)) = rest.split_once(':') else {
                return Err("encrypted data: no key id".into());
            };
            let Some((_, cipher)) = keys.into_iter().find(|(k, _)| *k == id) else {
                return Err(format!(
                    "encrypted data: sealed with key {id}, which is not configured (give it in BODYWORK_ANSWERS_OLD_KEYS until `bodywork rekey` has run)"
                ));
            };
            return open(cipher, body, aad);
        }
        let Some(body) = stored.strip_prefix(PREFIX_V1) else {
            return Err("encrypted data: unknown format (expected the v2: or v1: prefix)".into());
        };
        // The first form names no key: each configured key is tried.
        let mut last = Err("encrypted data: no key".to_string());
        for (_, cipher) in keys {
            last = open(cipher, body, aad);
            if last.is_ok() {
                break;
            }
        }
        last
    }
}

fn open(cipher: &XChaCha20Poly1305, body: &str, aad: &[u8]) -> Result<Vec<u8>, String> {
    let sealed = STANDARD
        .decode(body)
        .map_err(|_| "encrypted data: not valid base64".to_string())?;
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err("encrypted data: too short".into());
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| {
            "encrypted data: cannot decrypt (wrong key, wrong record or damaged data)".to_string()
        })
}

impl fmt::Debug for AnswerCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerCipher")
            .field("algorithm", &"XChaCha20-Poly1305")
            .field("key", &"<redacted>")
            .field("key_id", &self.key_id)
            .field("old_keys", &self.old.len())
            .finish()
    }
}

fn write_private(path: &std::path::Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        anyhow::anyhow!("cannot create the answers key file {}: {e}", path.display())
    })?;
    writeln!(f, "{content}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: &[u8] = b"therapist:7;client:42";
    const ANSWERS: &[u8] = br#"{"version":1,"answers":{"pregnant":true,"fever":false}}"#;

    /// The base64 part of a stored value (after `v2:<key id>:`).
    fn body(stored: &str) -> &str {
        stored.splitn(3, ':').nth(2).unwrap()
    }

    fn cipher() -> AnswerCipher {
        AnswerCipher::from_key([7u8; 32])
    }

    #[test]
    fn round_trip() {
        let c = cipher();
        let stored = c.encrypt(ANSWERS, AAD);
        assert!(stored.starts_with(&format!("v2:{}:", c.key_id())));
        assert_eq!(c.decrypt(&stored, AAD).unwrap(), ANSWERS);
        // Empty plaintext too.
        assert_eq!(c.decrypt(&c.encrypt(b"", AAD), AAD).unwrap(), b"");
    }

    #[test]
    fn the_stored_form_has_nonce_ciphertext_and_tag() {
        let stored = cipher().encrypt(ANSWERS, AAD);
        let sealed = STANDARD.decode(body(&stored)).unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + ANSWERS.len() + TAG_LEN);
    }

    #[test]
    fn every_encryption_uses_a_fresh_nonce() {
        let c = cipher();
        let a = c.encrypt(ANSWERS, AAD);
        let b = c.encrypt(ANSWERS, AAD);
        assert_ne!(a, b);
        let nonce = |s: &str| STANDARD.decode(body(s)).unwrap()[..NONCE_LEN].to_vec();
        assert_ne!(nonce(&a), nonce(&b));
        assert_eq!(c.decrypt(&a, AAD).unwrap(), c.decrypt(&b, AAD).unwrap());
    }

    #[test]
    fn a_wrong_key_fails() {
        let stored = cipher().encrypt(ANSWERS, AAD);
        let other = AnswerCipher::from_key([8u8; 32]);
        let err = other.decrypt(&stored, AAD).unwrap_err();
        assert!(err.contains("not configured"), "{err}");
        // The first form names no key: the wrong one is tried and fails.
        let err = other.decrypt(&v1(&cipher(), ANSWERS), AAD).unwrap_err();
        assert!(err.contains("cannot decrypt"), "{err}");
        // A ciphertext naming the right key id but sealed by another fails too.
        let forged = stored.replacen(cipher().key_id(), other.key_id(), 1);
        assert!(other
            .decrypt(&forged, AAD)
            .unwrap_err()
            .contains("cannot decrypt"));
    }

    #[test]
    fn a_wrong_aad_fails() {
        let c = cipher();
        let stored = c.encrypt(ANSWERS, AAD);
        assert!(c.decrypt(&stored, b"therapist:7;client:43").is_err());
        assert!(c.decrypt(&stored, b"").is_err());
    }

    #[test]
    fn any_tampering_fails() {
        let c = cipher();
        let stored = c.encrypt(ANSWERS, AAD);
        let sealed = STANDARD.decode(body(&stored)).unwrap();
        // Flip one bit in every position: nonce, ciphertext and tag.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            let text = format!("v1:{}", STANDARD.encode(&bad));
            assert!(c.decrypt(&text, AAD).is_err(), "byte {i}");
        }
        // Truncated, extended, not ours.
        let mut short = sealed.clone();
        short.pop();
        assert!(c
            .decrypt(&format!("v1:{}", STANDARD.encode(&short)), AAD)
            .is_err());
        let mut long = sealed.clone();
        long.push(0);
        assert!(c
            .decrypt(&format!("v1:{}", STANDARD.encode(&long)), AAD)
            .is_err());
        assert!(c
            .decrypt(&format!("v1:{}", STANDARD.encode(&sealed[..30])), AAD)
            .unwrap_err()
            .contains("too short"));
        assert!(c
            .decrypt(&stored.replacen("v2:", "v3:", 1), AAD)
            .unwrap_err()
            .contains("unknown format"));
        assert!(c
            .decrypt("v1:not base64!", AAD)
            .unwrap_err()
            .contains("base64"));
        assert!(c.decrypt("", AAD).is_err());
    }

    #[test]
    fn the_stored_text_does_not_contain_the_plaintext() {
        let c = cipher();
        let stored = c.encrypt(ANSWERS, AAD);
        for needle in ["pregnant", "fever", "answers", "true"] {
            assert!(!stored.contains(needle), "{needle}");
        }
        let sealed = STANDARD.decode(body(&stored)).unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"pregnant"));
        assert!(!stored.contains(&STANDARD.encode(ANSWERS)));
    }

    #[test]
    fn generated_keys_are_44_base64_characters_and_random() {
        let a = AnswerCipher::generate_key_base64();
        let b = AnswerCipher::generate_key_base64();
        assert_eq!(a.len(), 44);
        assert_ne!(a, b);
        assert_eq!(STANDARD.decode(&a).unwrap().len(), 32);
        let ca = AnswerCipher::from_base64(&a).unwrap();
        let stored = ca.encrypt(ANSWERS, AAD);
        // The same key read again (with a key file's newline) decrypts; another key does not.
        let again = AnswerCipher::from_base64(&format!("{a}\n")).unwrap();
        assert_eq!(again.decrypt(&stored, AAD).unwrap(), ANSWERS);
        let cb = AnswerCipher::from_base64(&b).unwrap();
        assert!(cb.decrypt(&stored, AAD).is_err());
    }

    #[test]
    fn from_base64_matches_from_key() {
        let key = [9u8; 32];
        let stored = AnswerCipher::from_key(key).encrypt(ANSWERS, AAD);
        let same = AnswerCipher::from_base64(&STANDARD.encode(key)).unwrap();
        assert_eq!(same.decrypt(&stored, AAD).unwrap(), ANSWERS);
    }

    #[test]
    fn bad_keys_are_refused_with_a_clear_message() {
        let err = AnswerCipher::from_base64("").unwrap_err();
        assert!(err.contains("empty"), "{err}");
        let err = AnswerCipher::from_base64("   \n").unwrap_err();
        assert!(err.contains("empty"), "{err}");

        let secret_looking = "not*base64*at*all*but*forty*four*chars*long!";
        let err = AnswerCipher::from_base64(secret_looking).unwrap_err();
        assert!(err.contains("not valid standard base64"), "{err}");
        assert!(!err.contains(secret_looking));

        // URL-safe alphabet is not standard base64.
        let url_safe = base64::engine::general_purpose::URL_SAFE.encode([0xfbu8; 32]);
        assert!(url_safe.contains('-') || url_safe.contains('_'));
        let err = AnswerCipher::from_base64(&url_safe).unwrap_err();
        assert!(err.contains("not valid standard base64"), "{err}");

        let short = STANDARD.encode([1u8; 16]);
        let err = AnswerCipher::from_base64(&short).unwrap_err();
        assert!(err.contains("must be 32 bytes"), "{err}");
        assert!(err.contains("not 16 bytes"), "{err}");
        assert!(!err.contains(&short));

        let long = STANDARD.encode([1u8; 33]);
        let err = AnswerCipher::from_base64(&long).unwrap_err();
        assert!(err.contains("not 33 bytes"), "{err}");
    }

    #[test]
    fn debug_never_prints_the_key() {
        let key = [0xabu8; 32];
        let text = format!("{:?}", AnswerCipher::from_key(key));
        assert!(text.contains("redacted"), "{text}");
        assert!(!text.contains(&STANDARD.encode(key)));
        assert!(!text.to_lowercase().contains("abab"));
        assert!(!text.contains("171"));
    }

    /// The first form: `v1:` + base64, sealed by `c` (what a database written before key ids
    /// holds).
    fn v1(c: &AnswerCipher, plaintext: &[u8]) -> String {
        format!("v1:{}", body(&c.encrypt(plaintext, AAD)))
    }

    #[test]
    fn an_old_key_opens_what_it_sealed_and_the_current_one_seals() {
        let old = AnswerCipher::from_key([1u8; 32]);
        let new = AnswerCipher::from_key([2u8; 32]);
        let by_old = old.encrypt(ANSWERS, AAD);
        let first_form = v1(&old, ANSWERS);
        assert!(
            new.decrypt(&by_old, AAD).is_err(),
            "the new key alone cannot"
        );
        let err = new.decrypt(&by_old, AAD).unwrap_err();
        assert!(err.contains(old.key_id()), "{err}");
        let both = new.clone().with_old_keys(vec![old.clone()]);
        assert_eq!(both.decrypt(&by_old, AAD).unwrap(), ANSWERS);
        assert_eq!(both.decrypt(&first_form, AAD).unwrap(), ANSWERS);
        let resealed = both.encrypt(ANSWERS, AAD);
        assert!(both.is_current(&resealed));
        assert!(!both.is_current(&by_old));
        assert!(!both.is_current(&first_form));
        assert!(resealed.starts_with(&both.current_prefix()));
        assert_eq!(new.decrypt(&resealed, AAD).unwrap(), ANSWERS);
    }

    #[test]
    fn the_published_key_is_known_by_its_id() {
        // The key committed by mistake until 2026-11-26 (public in the history anyway).
        let published =
            AnswerCipher::from_base64("9JYDnQe+OgrIKNB0T1A2zUEIUgYxA0TQoe7PkLoK964=").unwrap();
        assert!(COMPROMISED_KEY_IDS.contains(&published.key_id()));
        assert!(!COMPROMISED_KEY_IDS.contains(&cipher().key_id()));
    }
}
