//! Encryption of screening answers at rest: XChaCha20-Poly1305 with a 32-byte key from the
//! configuration.
//!
//! Stored form: `v1:` + standard base64 of `nonce (24 bytes) || ciphertext with its tag`. The
//! nonce is random per encryption (192 bits, so random nonces never realistically repeat). The
//! associated data (`aad`) binds a ciphertext to its row: it is authenticated but not stored, so
//! the caller must pass the same bytes to decrypt (for example the therapist and client ids of
//! the appointment, which are known before the row is inserted). A ciphertext copied to another
//! row, a wrong key or any changed byte fails to decrypt.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;

const PREFIX: &str = "v1:";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Encrypts and decrypts screening answers with one key.
#[derive(Clone)]
pub struct AnswerCipher {
    cipher: XChaCha20Poly1305,
    key_id: String,
}

impl AnswerCipher {
    /// The cipher for screening answers: the configured key, else the key file (made on first
    /// start, readable by its owner only).
    pub fn from_settings(settings: &crate::config::Settings) -> anyhow::Result<AnswerCipher> {
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
        }
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
        format!("{PREFIX}{}", STANDARD.encode(sealed))
    }

    /// The plaintext, or an error when the text is not ours, the key or `aad` differ, or any
    /// byte changed.
    pub fn decrypt(&self, stored: &str, aad: &[u8]) -> Result<Vec<u8>, String> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Err("encrypted answers: unknown format (expected the v1: prefix)".into());
        };
        let sealed = STANDARD
            .decode(body)
            .map_err(|_| "encrypted answers: not valid base64".to_string())?;
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err("encrypted answers: too short".into());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| {
                "encrypted answers: cannot decrypt (wrong key, wrong record or damaged data)"
                    .to_string()
            })
    }
}

impl fmt::Debug for AnswerCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerCipher")
            .field("algorithm", &"XChaCha20-Poly1305")
            .field("key", &"<redacted>")
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

    fn cipher() -> AnswerCipher {
        AnswerCipher::from_key([7u8; 32])
    }

    #[test]
    fn round_trip() {
        let c = cipher();
        let stored = c.encrypt(ANSWERS, AAD);
        assert!(stored.starts_with("v1:"));
        assert_eq!(c.decrypt(&stored, AAD).unwrap(), ANSWERS);
        // Empty plaintext too.
        assert_eq!(c.decrypt(&c.encrypt(b"", AAD), AAD).unwrap(), b"");
    }

    #[test]
    fn the_stored_form_has_nonce_ciphertext_and_tag() {
        let stored = cipher().encrypt(ANSWERS, AAD);
        let sealed = STANDARD.decode(&stored[3..]).unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + ANSWERS.len() + TAG_LEN);
    }

    #[test]
    fn every_encryption_uses_a_fresh_nonce() {
        let c = cipher();
        let a = c.encrypt(ANSWERS, AAD);
        let b = c.encrypt(ANSWERS, AAD);
        assert_ne!(a, b);
        let nonce = |s: &str| STANDARD.decode(&s[3..]).unwrap()[..NONCE_LEN].to_vec();
        assert_ne!(nonce(&a), nonce(&b));
        assert_eq!(c.decrypt(&a, AAD).unwrap(), c.decrypt(&b, AAD).unwrap());
    }

    #[test]
    fn a_wrong_key_fails() {
        let stored = cipher().encrypt(ANSWERS, AAD);
        let other = AnswerCipher::from_key([8u8; 32]);
        let err = other.decrypt(&stored, AAD).unwrap_err();
        assert!(err.contains("cannot decrypt"), "{err}");
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
        let sealed = STANDARD.decode(&stored[3..]).unwrap();
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
            .decrypt(&stored.replacen("v1:", "v2:", 1), AAD)
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
        let sealed = STANDARD.decode(&stored[3..]).unwrap();
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
}
