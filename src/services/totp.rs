//! Two-factor sign-in (TOTP): enrolment (a pending secret, confirmed with a code, which makes
//! ten recovery codes shown once), the second step of a login, turning it off. The rules of
//! codes live in `domain::totp`; that admins must enrol is the admin proof's
//! (`services::access::Admin`).
//!
//! The secret is sealed like the health data (`services::crypto`, `v2:<key id>:`, bound to
//! the user), so `bodywork rekey` re-seals it (`services::rekey`). Recovery codes are stored as
//! SHA-256 (they are random, 80 bits). A wrong code at login counts towards the same lock as a
//! wrong password (`accounts::record_failure`) and is audited as `account.totp_failed`, never
//! with the code.

use rand::rngs::OsRng;
use rand::RngCore;

use crate::config::Settings;
use crate::db::{write_transaction, DbConnection};
use crate::domain::totp::{self as rules, SecondFactor};
use crate::error::{AppError, FieldErrors};
use crate::models::audit;
use crate::models::now;
use crate::models::totp::{RecoveryCodes, TotpSecret};
use crate::models::user::User;
use crate::services::accounts::{self, Failure};
use crate::services::crypto::AnswerCipher;
use crate::services::tokens;

/// The associated data that binds a sealed secret to its account.
pub fn totp_aad(user_id: i64) -> Vec<u8> {
    format!("bodywork-totp:{user_id}").into_bytes()
}

/// A pending enrolment: what the person types or scans into their app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32.
    pub secret: String,
    /// `otpauth://totp/Bodywork:<email>?secret=...&issuer=Bodywork...`
    pub otpauth_uri: String,
}

impl Enrolment {
    /// The URI as a QR code, an SVG image's `data:` URI (`domain::totp::qr_data_uri`).
    pub fn qr_src(&self) -> String {
        rules::qr_data_uri(&self.otpauth_uri)
    }
}

/// Where an account's second factor stands.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub enabled: bool,
    pub enabled_at: Option<chrono::NaiveDateTime>,
    /// An enrolment started and not confirmed yet.
    pub pending: bool,
    pub recovery_codes_left: i64,
}

fn now_secs() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

fn enrolment(user: &User, secret: &[u8]) -> Result<Enrolment, AppError> {
    let totp =
        rules::totp(secret, &user.email).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(Enrolment {
        secret: rules::secret_base32(secret),
        otpauth_uri: totp
            .to_url()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("otpauth URI: {e}")))?,
    })
}

fn open_secret(cipher: &AnswerCipher, row: &TotpSecret) -> Result<Vec<u8>, AppError> {
    cipher
        .decrypt(&row.sealed, &totp_aad(row.user_id))
        .map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "the TOTP secret of user {} cannot be opened: {e}",
                row.user_id
            ))
        })
}

fn already_enabled() -> AppError {
    AppError::Conflict {
        code: rules::TOTP_ALREADY_ENABLED,
        message: "Two-factor sign-in is already on. Turn it off first to move it to another app."
            .into(),
    }
}

/// 422 `invalid_totp` on `field` (a confirmation or turning it off).
fn wrong_code(field: &str) -> AppError {
    let message =
        "That code is not right (or was used already). Type the 6 digits your app shows now.";
    AppError::FieldRule {
        code: rules::INVALID_TOTP,
        message: message.into(),
        fields: FieldErrors::from([(field.to_string(), message.to_string())]),
    }
}

/// 401 `invalid_totp`: the second factor of a login is wrong.
pub fn invalid_login_code() -> AppError {
    AppError::Unauthenticated {
        code: rules::INVALID_TOTP,
        message: "That two-factor code is not right, or was used already.".into(),
    }
}

/// 401 `totp_required`: the password was right, the account needs its code too.
pub fn code_required() -> AppError {
    AppError::Unauthenticated {
        code: rules::TOTP_REQUIRED,
        message: "This account signs in with a second factor: send the 6-digit code of your authenticator app (or a recovery code) as `totp`.".into(),
    }
}

/// Where the account's second factor stands.
pub fn status(conn: &mut DbConnection, user_id: i64) -> Result<Status, AppError> {
    let Some(row) = TotpSecret::find(conn, user_id)? else {
        return Ok(Status::default());
    };
    Ok(Status {
        enabled: row.confirmed_at.is_some(),
        enabled_at: row.confirmed_at,
        pending: row.confirmed_at.is_none(),
        recovery_codes_left: RecoveryCodes::unused(conn, user_id)?,
    })
}

/// Starts (or starts again, with a new secret) an enrolment: 409 `totp_already_enabled` when
/// the account has a confirmed second factor.
pub fn start(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    user: &User,
) -> Result<Enrolment, AppError> {
    let mut secret = [0u8; rules::SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    let sealed = cipher.encrypt(&secret, &totp_aad(user.id));
    write_transaction(conn, |conn| {
        if User::find(conn, user.id)?.totp_enabled() {
            return Err(already_enabled());
        }
        TotpSecret::put_pending(conn, user.id, &sealed, now())?;
        audit::record(
            conn,
            Some(user.id),
            "account.totp_enrolment_started",
            "user",
            Some(user.id),
            "two-factor setup started (a new secret, not confirmed yet)",
        )?;
        Ok(())
    })?;
    enrolment(user, &secret)
}

/// The enrolment waiting for its confirmation, if one does (the page shows it again).
pub fn pending(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    user: &User,
) -> Result<Option<Enrolment>, AppError> {
    match TotpSecret::find(conn, user.id)? {
        Some(row) if row.confirmed_at.is_none() => {
            Ok(Some(enrolment(user, &open_secret(cipher, &row)?)?))
        }
        _ => Ok(None),
    }
}

/// Confirms the pending enrolment with a code of the app (422 `invalid_totp` on `code`
/// otherwise; 422 `totp_not_pending` without one; 409 when already on): two-factor sign-in is
/// on, and here are the ten recovery codes, the only time they are shown.
pub fn confirm(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    user: &User,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let codes: Vec<String> = (0..rules::RECOVERY_CODES)
        .map(|_| {
            let mut b = [0u8; 10];
            OsRng.fill_bytes(&mut b);
            rules::recovery_code(b)
        })
        .collect();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
    write_transaction(conn, |conn| {
        if User::find(conn, user.id)?.totp_enabled() {
            return Err(already_enabled());
        }
        let Some(row) = TotpSecret::find(conn, user.id)?.filter(|r| r.confirmed_at.is_none())
        else {
            return Err(AppError::Rule {
                code: rules::TOTP_NOT_PENDING,
                message: "Start the two-factor setup first (POST /api/v1/me/totp).".into(),
            });
        };
        let secret = open_secret(cipher, &row)?;
        let totp = rules::totp(&secret, &user.email)
            .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
        let step = match SecondFactor::parse(code) {
            Some(SecondFactor::Code(c)) => rules::accepted_step(&totp, &c, now_secs(), None),
            _ => None,
        }
        .ok_or_else(|| wrong_code("code"))?;
        let at = now();
        TotpSecret::confirm(conn, user.id, step, at)?;
        RecoveryCodes::replace(conn, user.id, &hashes)?;
        audit::record(
            conn,
            Some(user.id),
            "account.totp_enabled",
            "user",
            Some(user.id),
            "two-factor sign-in turned on (10 recovery codes made)",
        )?;
        Ok(())
    })?;
    Ok(codes)
}

fn recovery_hash(code: &str) -> String {
    let plain = match SecondFactor::parse(code) {
        Some(SecondFactor::Recovery(r)) => r,
        _ => code.to_string(),
    };
    tokens::hash_token(&format!("bodywork-recovery:{plain}"))
}

/// Checks a second factor of `user` (a code of a step later than the last used one, or an
/// unused recovery code) and uses it. Ok(false) for a wrong one, which is counted towards the
/// login lock and audited (`account.totp_failed`); 429 while the lock holds.
fn check_second_factor(
    conn: &mut DbConnection,
    settings: &Settings,
    cipher: &AnswerCipher,
    user: &User,
    input: &str,
) -> Result<bool, AppError> {
    let key = accounts::login_key(&user.email);
    let at = now();
    accounts::check_not_locked(conn, &key, at)?;
    let used = write_transaction(conn, |conn| {
        let Some(row) = TotpSecret::find(conn, user.id)?.filter(|r| r.confirmed_at.is_some())
        else {
            return Ok::<_, AppError>(false);
        };
        match SecondFactor::parse(input) {
            Some(SecondFactor::Code(c)) => {
                let secret = open_secret(cipher, &row)?;
                let totp = rules::totp(&secret, &user.email)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
                match rules::accepted_step(&totp, &c, now_secs(), row.last_step) {
                    Some(step) => Ok(TotpSecret::use_step(conn, user.id, step)? == 1),
                    None => Ok(false),
                }
            }
            Some(SecondFactor::Recovery(r)) => {
                let used = RecoveryCodes::use_code(conn, user.id, &recovery_hash(&r), at)? == 1;
                if used {
                    let left = RecoveryCodes::unused(conn, user.id)?;
                    audit::record(
                        conn,
                        Some(user.id),
                        "account.totp_recovery_used",
                        "user",
                        Some(user.id),
                        &format!("a recovery code was used ({left} left)"),
                    )?;
                }
                Ok(used)
            }
            None => Ok(false),
        }
    })?;
    if used {
        accounts::clear_failures(conn, &key)?;
    } else {
        accounts::record_failure(
            conn,
            settings,
            &key,
            Some(user.id),
            at,
            Failure::SecondFactor,
        )?;
    }
    Ok(used)
}

/// A whole API login: the password (`accounts::authenticate`), then, when the account has a
/// second factor, `totp` (401 `totp_required` without it, 401 `invalid_totp` for a wrong one).
pub fn login(
    conn: &mut DbConnection,
    settings: &Settings,
    cipher: &AnswerCipher,
    email: &str,
    password: &str,
    totp: Option<&str>,
) -> Result<User, AppError> {
    let user = accounts::authenticate(conn, settings, email, password)?;
    if !user.totp_enabled() {
        return Ok(user);
    }
    let Some(code) = totp.filter(|c| !c.trim().is_empty()) else {
        return Err(code_required());
    };
    if check_second_factor(conn, settings, cipher, &user, code)? {
        Ok(user)
    } else {
        Err(invalid_login_code())
    }
}

/// The second step of a page login (the password was right for `user_id` a moment ago, see
/// `domain::totp::PENDING_LOGIN_SECS`): the user, once `code` is right; 401 `invalid_totp`.
pub fn complete_login(
    conn: &mut DbConnection,
    settings: &Settings,
    cipher: &AnswerCipher,
    user_id: i64,
    code: &str,
) -> Result<User, AppError> {
    let user = User::find(conn, user_id)?;
    if user.erased_at.is_some() || !user.totp_enabled() {
        return Err(AppError::InvalidCredentials);
    }
    if check_second_factor(conn, settings, cipher, &user, code)? {
        Ok(user)
    } else {
        Err(invalid_login_code())
    }
}

/// Turns two-factor sign-in off (the password checked beforehand, see
/// `accounts::check_current_password`) with a code or a recovery code: 422 `invalid_totp` on
/// `code` for a wrong one (counted like a failed login); 422 `totp_not_enabled` when it is off.
/// An admin is led to enrol again at once (`services::access::Admin`).
pub fn disable(
    conn: &mut DbConnection,
    settings: &Settings,
    cipher: &AnswerCipher,
    user: &User,
    code: &str,
) -> Result<(), AppError> {
    let user = User::find(conn, user.id)?;
    if !user.totp_enabled() {
        return Err(AppError::Rule {
            code: rules::TOTP_NOT_ENABLED,
            message: "Two-factor sign-in is not on.".into(),
        });
    }
    if !check_second_factor(conn, settings, cipher, &user, code)? {
        return Err(wrong_code("code"));
    }
    write_transaction(conn, |conn| {
        TotpSecret::remove(conn, user.id)?;
        audit::record(
            conn,
            Some(user.id),
            "account.totp_disabled",
            "user",
            Some(user.id),
            "two-factor sign-in turned off",
        )?;
        Ok(())
    })
}

/// Enrols `user` with a known secret, confirmed at once, without recovery codes: the demo's
/// admin (its secret is published in the README, like the demo's password).
pub fn enrol_with_secret(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    user: &User,
    secret: &[u8],
) -> Result<(), AppError> {
    let sealed = cipher.encrypt(secret, &totp_aad(user.id));
    write_transaction(conn, |conn| {
        let at = now();
        TotpSecret::put_pending(conn, user.id, &sealed, at)?;
        TotpSecret::confirm(conn, user.id, 0, at)?;
        audit::record(
            conn,
            Some(user.id),
            "account.totp_enabled",
            "user",
            Some(user.id),
            "two-factor sign-in turned on (the demo's published secret)",
        )?;
        Ok(())
    })
}
