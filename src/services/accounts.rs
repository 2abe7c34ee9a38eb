//! Accounts: register, log in and out (page sessions and API tokens), and who is asking.

use chrono::{Duration as ChronoDuration, NaiveDateTime};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::config::Settings;
use crate::db::{write_transaction, DbConnection};
use crate::domain::account::{Email, NewPassword, PersonName, Role};
use crate::error::{AppError, FieldErrors};
use crate::models::api_token::{self, NewApiToken};
use crate::models::audit;
use crate::models::login_attempt::LoginAttempt;
use crate::models::now;
use crate::models::session::{NewSession, Session};
use crate::models::therapist::Therapist;
use crate::models::user::{NewUser, User};
use crate::services::{password, tokens};

/// What a registration form or API body carries, unparsed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RegisterInput {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
}

fn chrono(d: std::time::Duration) -> ChronoDuration {
    ChronoDuration::from_std(d).unwrap_or(ChronoDuration::MAX)
}

pub fn email_taken() -> AppError {
    AppError::Conflict {
        code: "email_taken",
        message: "An account with this email already exists. Log in instead.".into(),
    }
}

/// Registers a client or a therapist (never an admin: see [`create_admin`]).
pub fn register(conn: &mut DbConnection, input: &RegisterInput) -> Result<User, AppError> {
    let role = Role::parse_self_service(&input.role);
    create_user(conn, input, role, None)
}

/// Makes an admin: from the CLI (`create-admin`, no actor) or by another admin.
pub fn create_admin(
    conn: &mut DbConnection,
    input: &RegisterInput,
    actor: Option<i64>,
) -> Result<User, AppError> {
    create_user(conn, input, Ok(Role::Admin), actor)
}

fn create_user(
    conn: &mut DbConnection,
    input: &RegisterInput,
    role: Result<Role, String>,
    actor: Option<i64>,
) -> Result<User, AppError> {
    let mut fields = FieldErrors::new();
    let email = Email::parse(&input.email)
        .map_err(|m| fields.insert("email".into(), m))
        .ok();
    let pw = NewPassword::parse(&input.password)
        .map_err(|m| fields.insert("password".into(), m))
        .ok();
    let name = PersonName::parse(&input.name)
        .map_err(|m| fields.insert("name".into(), m))
        .ok();
    let role = role.map_err(|m| fields.insert("role".into(), m)).ok();
    let (Some(email), Some(pw), Some(name), Some(role)) = (email, pw, name, role) else {
        return Err(AppError::validation(fields));
    };
    if User::find_by_email(conn, email.as_str())?.is_some() {
        return Err(email_taken());
    }
    let hash = password::hash(&pw)?;
    let now = now();
    let user_id = write_transaction(conn, |conn| {
        let id = NewUser {
            email: email.as_str(),
            password_hash: &hash,
            name: name.as_str(),
            role: role.as_str(),
            created_at: now,
        }
        .insert(conn)
        .map_err(|e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => email_taken(),
            other => other.into(),
        })?;
        if role == Role::Therapist {
            Therapist::create_for_user(conn, id, now)?;
        }
        audit::record(
            conn,
            actor.or(Some(id)),
            "account.create",
            "user",
            Some(id),
            &format!("{} account created", role.as_str()),
        )?;
        Ok::<_, AppError>(id)
    })?;
    Ok(User::find(conn, user_id)?)
}

/// Checks an email and password. The same answer and the same work (one argon2 verification)
/// for an unknown email and a wrong password. Failures are counted per account in the database;
/// after `login_max_failures` within `login_window` the account is paused for `login_lock`
/// (short, so an attacker cannot keep a person out for long) and answers 429.
pub fn authenticate(
    conn: &mut DbConnection,
    settings: &Settings,
    email: &str,
    password_input: &str,
) -> Result<User, AppError> {
    let key = email.trim().to_lowercase();
    let now = now();
    let attempt = LoginAttempt::find(conn, &key)?;
    if let Some(until) = attempt.as_ref().and_then(|a| a.locked_until) {
        if until > now {
            let secs = (until - now).num_seconds().max(0) as u64 + 1;
            return Err(AppError::TooManyRequests {
                retry_after_secs: secs,
            });
        }
    }
    let user = User::find_by_email(conn, &key)?;
    let ok = password::verify(
        user.as_ref().map(|u| u.password_hash.as_str()),
        password_input,
    );
    match (ok, user) {
        (true, Some(user)) => {
            if attempt.is_some() {
                LoginAttempt::clear(conn, &key)?;
            }
            Ok(user)
        }
        _ => {
            record_failure(conn, settings, &key, now)?;
            Err(AppError::InvalidCredentials)
        }
    }
}

fn record_failure(
    conn: &mut DbConnection,
    settings: &Settings,
    key: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let window = chrono(settings.login_window);
    let lock = chrono(settings.login_lock);
    // Two processes may insert the first failure at once: the loser retries as an update.
    for attempt_no in 0..2 {
        let result = write_transaction(conn, |conn| {
            let mut a = LoginAttempt::find(conn, key)?.unwrap_or(LoginAttempt {
                account_key: key.to_string(),
                failures: 0,
                window_started_at: now,
                locked_until: None,
            });
            let lock_over = a.locked_until.is_some_and(|u| u <= now);
            if a.window_started_at + window <= now || lock_over {
                a.failures = 0;
                a.window_started_at = now;
                a.locked_until = None;
            }
            a.failures += 1;
            if a.failures >= settings.login_max_failures {
                a.locked_until = Some(now + lock);
            }
            a.save(conn)
        });
        match result {
            Ok(_) => return Ok(()),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
                if attempt_no == 0 =>
            {
                continue
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A page session: the user, the session row and its CSRF token.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub session_id: i64,
    pub user: User,
    pub csrf_token: String,
}

/// Starts a page session with a new id; the old one (if any) is deleted (renewed at login).
/// Returns the raw cookie token.
pub fn start_session(
    conn: &mut DbConnection,
    settings: &Settings,
    user: &User,
    old_token: Option<&str>,
) -> Result<String, AppError> {
    let token = tokens::random_token();
    let csrf = tokens::random_token();
    let now = now();
    let hash = tokens::hash_token(&token);
    write_transaction(conn, |conn| {
        if let Some(old) = old_token {
            Session::delete_by_hash(conn, &tokens::hash_token(old))?;
        }
        Session::delete_expired(conn, now, now - chrono(settings.session_idle))?;
        NewSession {
            token_hash: &hash,
            user_id: user.id,
            csrf_token: &csrf,
            created_at: now,
            last_seen_at: now,
            expires_at: now + chrono(settings.session_absolute),
        }
        .insert(conn)?;
        audit::record(
            conn,
            Some(user.id),
            "account.login",
            "user",
            Some(user.id),
            "logged in (page session)",
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(token)
}

/// The live session of a cookie token, if any; refreshes its idle timer at most once a minute.
pub fn resolve_session(
    conn: &mut DbConnection,
    settings: &Settings,
    token: &str,
) -> Result<Option<SessionInfo>, AppError> {
    let now = now();
    let found = Session::find_live(
        conn,
        &tokens::hash_token(token),
        now,
        now - chrono(settings.session_idle),
    )?;
    let Some((session, user)) = found else {
        return Ok(None);
    };
    if now - session.last_seen_at > ChronoDuration::seconds(60) {
        Session::touch(conn, session.id, now)?;
    }
    Ok(Some(SessionInfo {
        session_id: session.id,
        user,
        csrf_token: session.csrf_token,
    }))
}

/// Ends a page session: the row is deleted, so the cookie is worthless from now on.
pub fn end_session(conn: &mut DbConnection, token: &str, user_id: i64) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        Session::delete_by_hash(conn, &tokens::hash_token(token))?;
        audit::record(
            conn,
            Some(user_id),
            "account.logout",
            "user",
            Some(user_id),
            "logged out (page session)",
        )?;
        Ok(())
    })
}

/// Issues an API bearer token (stored hashed, expiring).
pub fn issue_api_token(
    conn: &mut DbConnection,
    settings: &Settings,
    user: &User,
) -> Result<String, AppError> {
    let token = tokens::random_token();
    let now = now();
    let hash = tokens::hash_token(&token);
    write_transaction(conn, |conn| {
        NewApiToken {
            token_hash: &hash,
            user_id: user.id,
            created_at: now,
            expires_at: now + chrono(settings.token_ttl),
        }
        .insert(conn)?;
        audit::record(
            conn,
            Some(user.id),
            "account.login",
            "user",
            Some(user.id),
            "logged in (API token)",
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(token)
}

pub fn resolve_api_token(conn: &mut DbConnection, token: &str) -> Result<Option<User>, AppError> {
    Ok(api_token::find_live_user(
        conn,
        &tokens::hash_token(token),
        now(),
    )?)
}

pub fn revoke_api_token(
    conn: &mut DbConnection,
    token: &str,
    user_id: i64,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        api_token::revoke(conn, &tokens::hash_token(token), now())?;
        audit::record(
            conn,
            Some(user_id),
            "account.logout",
            "user",
            Some(user_id),
            "logged out (API token revoked)",
        )?;
        Ok(())
    })
}
