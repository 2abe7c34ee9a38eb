//! Opaque random tokens (sessions, API tokens, CSRF) and how they are stored (hashed); the
//! single-use tokens mailed to people ([`issue`], [`redeem`]: verify an address, reset a
//! password, accept an invitation), which work once and for `TokenPurpose::lifetime_hours`;
//! and their housekeeping ([`purge`], run by the mail worker with the outbox's).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes from the OS generator, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token: its SHA-256, hex. A leaked table gives no usable token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

use crate::db::{write_transaction, DbConnection};
use crate::domain::account::TokenPurpose;
use crate::error::AppError;
use crate::models::account_token::{AccountToken, NewAccountToken};

/// Issues a single-use token for `purpose` to `user_id` (with the new address of an email
/// change); returns the raw token, which only the mail's link carries.
pub fn issue(
    conn: &mut DbConnection,
    user_id: i64,
    purpose: TokenPurpose,
    new_email: Option<&str>,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let token = random_token();
    store(conn, user_id, purpose, new_email, &token, now)?;
    Ok(token)
}

/// Stores the hash of a raw token made beforehand ([`random_token`]), working from `now` for the
/// purpose's lifetime.
pub fn store(
    conn: &mut DbConnection,
    user_id: i64,
    purpose: TokenPurpose,
    new_email: Option<&str>,
    raw: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    NewAccountToken {
        user_id,
        purpose: purpose.as_str(),
        token_hash: &hash_token(raw),
        new_email,
        created_at: now,
        expires_at: now + Duration::hours(purpose.lifetime_hours()),
        appointment_id: None,
    }
    .insert(conn)?;
    Ok(())
}

/// Issues a single-use token bound to an appointment that works until `until` (a screening
/// link: until the appointment starts); returns the raw token.
pub fn issue_until(
    conn: &mut DbConnection,
    user_id: i64,
    purpose: TokenPurpose,
    appointment_id: i64,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let token = random_token();
    NewAccountToken {
        user_id,
        purpose: purpose.as_str(),
        token_hash: &hash_token(&token),
        new_email: None,
        created_at: now,
        expires_at: until,
        appointment_id: Some(appointment_id),
    }
    .insert(conn)?;
    Ok(token)
}

/// The error of a token that does not work, said for the person who followed the link.
fn unusable(code: &'static str, message: &str) -> AppError {
    AppError::Rule {
        code,
        message: message.into(),
    }
}

/// The token if it can be used now: 422 `token_invalid` (unknown, or for something else),
/// `token_used` or `token_expired` otherwise. Nothing changes.
pub fn check(
    conn: &mut DbConnection,
    raw: &str,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> Result<AccountToken, AppError> {
    let raw = raw.trim();
    let found = if raw.is_empty() || raw.len() > 128 {
        None
    } else {
        AccountToken::find(conn, &hash_token(raw), purpose.as_str())?
    };
    let Some(t) = found else {
        return Err(unusable(
            "token_invalid",
            "This link is not valid. Copy the whole link from the mail, or ask for a new one.",
        ));
    };
    if t.used_at.is_some() {
        return Err(unusable(
            "token_used",
            "This link was already used. Each link works once: ask for a new one if you need it.",
        ));
    }
    if t.expires_at <= now {
        return Err(unusable(
            "token_expired",
            "This link has expired. Ask for a new one.",
        ));
    }
    Ok(t)
}

/// Uses the token: [`check`], then marks it used, so it never works again. Call it inside the
/// write transaction of what the token does: if that fails, the token stays unused.
pub fn redeem(
    conn: &mut DbConnection,
    raw: &str,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> Result<AccountToken, AppError> {
    let t = check(conn, raw, purpose, now)?;
    if !AccountToken::use_once(conn, t.id, now)? {
        // Another request used it between the read and the write.
        return Err(unusable(
            "token_used",
            "This link was already used. Each link works once: ask for a new one if you need it.",
        ));
    }
    Ok(t)
}

/// Deletes the single-use tokens that were used, or expired, more than `keep` before `now` (the
/// outbox's keep period: the mail worker runs both purges at its housekeeping). Returns how
/// many were deleted.
pub fn purge(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    keep: std::time::Duration,
) -> Result<usize, AppError> {
    let before = now - Duration::from_std(keep).unwrap_or(Duration::days(30));
    write_transaction(conn, |conn| {
        Ok(AccountToken::purge(conn, before.naive_utc())?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed_differently() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_ne!(hash_token(&a), a);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, "short"));
    }
}
