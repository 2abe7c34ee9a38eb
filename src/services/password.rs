//! Passwords: the one check of a password a person chooses ([`check_new`]: registration, reset,
//! change, an accepted invitation), and hashing: argon2id with the OWASP minimum (m = 19 MiB,
//! t = 2, p = 1), the crate's defaults. Call these from blocking threads only, and where a flow
//! allows it before taking a database connection (`actix_web::web::block`).

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

use crate::domain::account::NewPassword;
use crate::error::{AppError, FieldErrors};

/// The code of a refused new password (422).
pub const PASSWORD_WEAK: &str = "password_weak";

/// A password a person chooses, checked by the one rule (`NewPassword::parse_strong`: 10 to 128
/// characters, zxcvbn score 3 or more with their `name` and `email` counted as guessable), or
/// 422 `password_weak` with the reason on `field` (the form's password field).
pub fn check_new(
    input: &str,
    field: &str,
    name: &str,
    email: &str,
) -> Result<NewPassword, AppError> {
    NewPassword::parse_strong(input, &[name, email]).map_err(|why| AppError::FieldRule {
        code: PASSWORD_WEAK,
        message: why.clone(),
        fields: FieldErrors::from([(field.to_string(), why)]),
    })
}

/// Checks a new password and hashes it (blocking work, no database).
pub fn check_and_hash(
    input: &str,
    field: &str,
    name: &str,
    email: &str,
) -> Result<String, AppError> {
    let pw = check_new(input, field, name, email)?;
    Ok(hash(&pw)?)
}

/// A stored hash that no password verifies (an invited admin before they accept, an erased
/// account): not a PHC string, so [`verify`] is false for every input.
pub const NO_PASSWORD: &str = "!";

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &NewPassword) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// A hash of a random password, verified against when the email is unknown so that an unknown
/// email and a wrong password take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random = crate::services::tokens::random_token();
    hash(&NewPassword::parse(&random).expect("43 characters")).expect("hashing works")
});

pub fn verify(stored_hash: Option<&str>, password: &str) -> bool {
    let dummy = DUMMY_HASH.as_str();
    // An unknown email, or an account without a password (NO_PASSWORD), costs one argon2
    // verification like any other, so the time tells nothing.
    let (parsed, real) = match stored_hash.map(PasswordHash::new) {
        Some(Ok(h)) => (h, true),
        _ => match PasswordHash::new(dummy) {
            Ok(h) => (h, false),
            Err(_) => return false,
        },
    };
    let ok = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

/// Warms the dummy hash at start so the first unknown-email login is not faster than the rest.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        assert!(!verify(Some(NO_PASSWORD), ""));
        assert!(!verify(Some(NO_PASSWORD), "!"));
        let p = NewPassword::parse("correct horse battery").unwrap();
        let h = hash(&p).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(Some(&h), "correct horse battery"));
        assert!(!verify(Some(&h), "correct horse batter"));
        assert!(!verify(None, "correct horse battery"));
    }
}
