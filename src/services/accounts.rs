//! Accounts: register (with a link that verifies the address), log in and out (page sessions
//! and API tokens), who is asking; and what people do with their account by mail links:
//! verify an address, reset a forgotten password, change the password or the address, accept
//! an admin invitation. Each link is a single-use token (`services::tokens`), mailed through the
//! outbox in the transaction of the change that issues it.
//!
//! Passwords are checked and hashed before a database connection is taken ([`prepare`],
//! [`prepare_password_change`]; the token flows read the token's owner first, [`token_owner`]).

use chrono::{Duration as ChronoDuration, NaiveDateTime};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::config::Settings;
use crate::db::{blocking, with_conn, write_transaction, DbConnection, Pool};
use crate::domain::account::{Email, NewPassword, PersonName, Role, Suspension, TokenPurpose};
use crate::error::{AppError, FieldErrors};
use crate::models::account_token::AccountToken;
use crate::models::api_token::{self, NewApiToken};
use crate::models::audit;
use crate::models::login_attempt::LoginAttempt;
use crate::models::now;
use crate::models::session::{NewSession, Session};
use crate::models::therapist::Therapist;
use crate::models::user::{NewUser, User};
use crate::services::access::{Admin, Proof};
use crate::services::mail::{render_account, AccountEvent, AccountMail, MailCtx};
use crate::services::outbox::{self, Outgoing};
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

/// A registration whose fields are checked and whose password is hashed: made without a
/// database connection ([`prepare`]), then stored ([`register_prepared`]).
#[derive(Debug, Clone)]
pub struct Prepared {
    email: Email,
    name: PersonName,
    role: Role,
    hash: String,
}

/// Checks a registration (the fields, then the password's strength with the person's name and
/// email as context: 422 `password_weak`) and hashes its password. Blocking work (argon2), no
/// database: run it before taking a connection.
pub fn prepare(input: &RegisterInput, role: Result<Role, String>) -> Result<Prepared, AppError> {
    let mut fields = FieldErrors::new();
    let email = Email::parse(&input.email)
        .map_err(|m| fields.insert("email".into(), m))
        .ok();
    let name = PersonName::parse(&input.name)
        .map_err(|m| fields.insert("name".into(), m))
        .ok();
    let role = role.map_err(|m| fields.insert("role".into(), m)).ok();
    let (Some(email), Some(name), Some(role)) = (email, name, role) else {
        if let Err(m) = NewPassword::parse(&input.password) {
            fields.insert("password".into(), m);
        }
        return Err(AppError::validation(fields));
    };
    let hash =
        password::check_and_hash(&input.password, "password", name.as_str(), email.as_str())?;
    Ok(Prepared {
        email,
        name,
        role,
        hash,
    })
}

/// [`prepare`] for the roles a person may choose (client or therapist).
pub fn prepare_registration(input: &RegisterInput) -> Result<Prepared, AppError> {
    prepare(input, Role::parse_self_service(&input.role))
}

/// Registers a client or a therapist (never an admin: see [`create_admin`]), and mails the
/// link that verifies the address, in one transaction.
pub fn register(
    conn: &mut DbConnection,
    mail: &MailCtx,
    input: &RegisterInput,
) -> Result<User, AppError> {
    let p = prepare_registration(input)?;
    register_prepared(conn, mail, &p)
}

/// Stores a prepared registration (unverified) and mails the verification link.
pub fn register_prepared(
    conn: &mut DbConnection,
    mail: &MailCtx,
    p: &Prepared,
) -> Result<User, AppError> {
    let id = write_transaction(conn, |conn| {
        let id = insert_user(conn, p, None, None)?;
        send_verification(conn, mail, id, p.email.as_str(), p.name.as_str(), None)?;
        Ok::<_, AppError>(id)
    })?;
    Ok(User::find(conn, id)?)
}

/// Registers a client or a therapist whose address needs no link: the demo's people.
pub fn register_verified(conn: &mut DbConnection, input: &RegisterInput) -> Result<User, AppError> {
    let p = prepare_registration(input)?;
    let id = write_transaction(conn, |conn| insert_user(conn, &p, None, Some(now())))?;
    Ok(User::find(conn, id)?)
}

/// Makes an admin from the CLI (`create-admin`) or the demo: verified, with the password typed
/// by the operator (checked like any new password). Admins invite other admins by mail
/// ([`invite_admin`]).
pub fn create_admin(
    conn: &mut DbConnection,
    input: &RegisterInput,
    actor: Option<i64>,
) -> Result<User, AppError> {
    let p = prepare(input, Ok(Role::Admin))?;
    let id = write_transaction(conn, |conn| insert_user(conn, &p, actor, Some(now())))?;
    Ok(User::find(conn, id)?)
}

/// Inserts the user (a therapist gets their profile) and audits it; inside a transaction.
fn insert_user(
    conn: &mut DbConnection,
    p: &Prepared,
    actor: Option<i64>,
    verified_at: Option<NaiveDateTime>,
) -> Result<i64, AppError> {
    if User::find_by_email(conn, p.email.as_str())?.is_some() {
        return Err(email_taken());
    }
    let now = now();
    let id = NewUser {
        email: p.email.as_str(),
        password_hash: &p.hash,
        name: p.name.as_str(),
        role: p.role.as_str(),
        created_at: now,
        email_verified_at: verified_at,
    }
    .insert(conn)
    .map_err(taken_or)?;
    if p.role == Role::Therapist {
        Therapist::create_for_user(conn, id, now)?;
    }
    audit::record(
        conn,
        actor.or(Some(id)),
        "account.create",
        "user",
        Some(id),
        &format!("{} account created", p.role.as_str()),
    )?;
    Ok(id)
}

/// A unique violation on the email is `email_taken`.
fn taken_or(e: DieselError) -> AppError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => email_taken(),
        other => other.into(),
    }
}

// ---- Mails with a link ---------------------------------------------------------------------

/// Writes an account mail to the outbox (inside the caller's transaction).
#[allow(clippy::too_many_arguments)]
fn account_mail(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    event: AccountEvent,
    user_id: i64,
    to_email: &str,
    to_name: &str,
    link: String,
    valid_for: Option<String>,
    new_email: Option<String>,
    invited_by: Option<String>,
) -> Result<(), AppError> {
    let m = AccountMail {
        event,
        to_name: to_name.to_string(),
        link,
        valid_for,
        new_email,
        invited_by,
    };
    outbox::enqueue(
        conn,
        Outgoing {
            kind: event.kind(),
            to_email: to_email.to_string(),
            user_id: Some(user_id),
            appointment_id: None,
            send_after: None,
            rendered: render_account(ctx, &m)?,
        },
    )?;
    Ok(())
}

/// The link a mail carries for a token.
fn token_link(ctx: &MailCtx, purpose: TokenPurpose, raw: &str) -> String {
    ctx.link(&format!("{}?token={raw}", purpose.page()))
}

/// Issues a verification token and mails its link to `to_email`: the account's own address, or
/// `new_email` of an email change (then the token changes the address when used).
fn send_verification(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    user_id: i64,
    to_email: &str,
    name: &str,
    new_email: Option<&str>,
) -> Result<(), AppError> {
    let purpose = TokenPurpose::VerifyEmail;
    let raw = tokens::issue(conn, user_id, purpose, new_email, now())?;
    account_mail(
        conn,
        ctx,
        AccountEvent::VerifyEmail,
        user_id,
        new_email.unwrap_or(to_email),
        name,
        token_link(ctx, purpose, &raw),
        Some(purpose.lifetime_words()),
        None,
        None,
    )
}

/// Sends a new verification link to an account that is not verified yet (202); 409
/// `already_verified` when it is.
pub fn resend_verification(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    user: &User,
) -> Result<(), AppError> {
    let user = User::find(conn, user.id)?;
    if user.email_verified() {
        return Err(AppError::Conflict {
            code: "already_verified",
            message: "Your email address is already confirmed.".into(),
        });
    }
    write_transaction(conn, |conn| {
        send_verification(conn, ctx, user.id, &user.email, &user.name, None)
    })
}

/// What following a verification link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// The account's address is confirmed.
    Address,
    /// The account's address is now this new one.
    NewAddress(String),
}

/// Uses a verification token: confirms the account's address, or makes an email change take
/// effect (409 `email_taken` when someone took the address meanwhile, and the token stays
/// unused). 422 `token_invalid`, `token_used`, `token_expired`.
pub fn verify_email(conn: &mut DbConnection, raw: &str) -> Result<Verified, AppError> {
    write_transaction(conn, |conn| {
        let at = now();
        let t = tokens::redeem(conn, raw, TokenPurpose::VerifyEmail, at)?;
        match t.new_email {
            None => {
                User::mark_verified(conn, t.user_id, at)?;
                audit::record(
                    conn,
                    Some(t.user_id),
                    "account.verify_email",
                    "user",
                    Some(t.user_id),
                    "email address confirmed",
                )?;
                Ok(Verified::Address)
            }
            Some(new) => {
                if User::find_by_email(conn, &new)?.is_some() {
                    return Err(email_taken());
                }
                User::set_email(conn, t.user_id, &new, at).map_err(taken_or)?;
                AccountToken::end_unused(
                    conn,
                    t.user_id,
                    TokenPurpose::VerifyEmail.as_str(),
                    Some(true),
                    at,
                )?;
                audit::record(
                    conn,
                    Some(t.user_id),
                    "account.email_change",
                    "user",
                    Some(t.user_id),
                    "email address changed (the new address confirmed)",
                )?;
                Ok(Verified::NewAddress(new))
            }
        }
    })
}

// ---- Passwords -----------------------------------------------------------------------------

/// "Forgot your password?": mails a reset link (1 hour, once) when an account has this address.
/// The caller answers the same whatever happens here, and the work is the same either way: the
/// lookup, a token made and hashed, the mail rendered and one write transaction (which stores
/// them only for an account that exists). An address that is not one is 422.
pub fn request_password_reset(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    email: &str,
) -> Result<(), AppError> {
    let email = Email::parse(email).map_err(|m| AppError::field("email", m))?;
    let user = User::find_by_email(conn, email.as_str())?.filter(|u| u.erased_at.is_none());
    let purpose = TokenPurpose::PasswordReset;
    let raw = tokens::random_token();
    let name = user.as_ref().map_or("there", |u| u.name.as_str());
    let m = AccountMail {
        event: AccountEvent::PasswordReset,
        to_name: name.to_string(),
        link: token_link(ctx, purpose, &raw),
        valid_for: Some(purpose.lifetime_words()),
        new_email: None,
        invited_by: None,
    };
    let rendered = render_account(ctx, &m)?;
    let at = now();
    write_transaction(conn, |conn| {
        let Some(user) = &user else {
            return Ok(());
        };
        tokens::store(conn, user.id, purpose, None, &raw, at)?;
        outbox::enqueue(
            conn,
            Outgoing {
                kind: m.event.kind(),
                to_email: user.email.clone(),
                user_id: Some(user.id),
                appointment_id: None,
                send_after: None,
                rendered,
            },
        )?;
        audit::record(
            conn,
            Some(user.id),
            "account.password_reset_requested",
            "user",
            Some(user.id),
            "password reset link mailed",
        )?;
        Ok::<_, AppError>(())
    })
}

/// Does the work of a reset request ([`request_password_reset`]) without the answer waiting for
/// it: the answer is the same, and as fast, whether or not an account has the address.
pub fn spawn_password_reset(pool: &Pool, mail: &MailCtx, email: String) {
    let (pool, mail) = (pool.clone(), mail.clone());
    actix_web::rt::spawn(async move {
        if let Err(e) = with_conn(&pool, move |conn| {
            request_password_reset(conn, &mail, &email)
        })
        .await
        {
            e.log();
        }
    });
}

/// A password set with a mail link (a reset, an invitation): the token's owner is read, the
/// password checked against their name and email and hashed without a connection, then stored
/// as the token is used ([`reset_password`], [`accept_invite`]).
pub async fn set_password_by_token(
    pool: &Pool,
    token: String,
    password: String,
    purpose: TokenPurpose,
) -> Result<User, AppError> {
    let t = token.clone();
    let owner = with_conn(pool, move |conn| token_owner(conn, &t, purpose)).await?;
    let hash = blocking(move || {
        password::check_and_hash(&password, "password", &owner.name, &owner.email)
    })
    .await?;
    with_conn(pool, move |conn| match purpose {
        TokenPurpose::AdminInvite => accept_invite(conn, &token, &hash),
        _ => reset_password(conn, &token, &hash),
    })
    .await
}

/// The token of a mail's link if it can be used now (its page shows what it does); 422
/// `token_invalid`, `token_used`, `token_expired` otherwise.
pub fn check_token(
    conn: &mut DbConnection,
    raw: &str,
    purpose: TokenPurpose,
) -> Result<AccountToken, AppError> {
    tokens::check(conn, raw, purpose, now())
}

/// Who a password reset or an invitation token belongs to (name and email: the context of the
/// new password's strength), if it can be used now.
pub fn token_owner(
    conn: &mut DbConnection,
    raw: &str,
    purpose: TokenPurpose,
) -> Result<User, AppError> {
    let t = tokens::check(conn, raw, purpose, now())?;
    Ok(User::find(conn, t.user_id)?)
}

/// Sets a new password with a reset link (`hash`: the new password, checked against the
/// owner's name and email and hashed beforehand, see [`token_owner`]): the token is used, every
/// session and API token of the account ends, other reset links stop working, and the address
/// counts as verified (the link was opened from it).
pub fn reset_password(conn: &mut DbConnection, raw: &str, hash: &str) -> Result<User, AppError> {
    let user_id = write_transaction(conn, |conn| {
        let at = now();
        let t = tokens::redeem(conn, raw, TokenPurpose::PasswordReset, at)?;
        User::set_password_hash(conn, t.user_id, hash)?;
        User::mark_verified(conn, t.user_id, at)?;
        AccountToken::end_unused(
            conn,
            t.user_id,
            TokenPurpose::PasswordReset.as_str(),
            None,
            at,
        )?;
        end_access(conn, t.user_id, None, at)?;
        let user = User::find(conn, t.user_id)?;
        LoginAttempt::clear(conn, &user.email)?;
        audit::record(
            conn,
            Some(t.user_id),
            "account.password_reset",
            "user",
            Some(t.user_id),
            "password reset by mail link; every session and API token ended",
        )?;
        Ok::<_, AppError>(t.user_id)
    })?;
    Ok(User::find(conn, user_id)?)
}

/// The session or API token a person is using now, kept when they change their password.
#[derive(Debug, Clone)]
pub enum Current {
    /// A page session (its id).
    Session(i64),
    /// An API bearer token (the raw token).
    ApiToken(String),
}

/// Ends the sessions and API tokens of a user, but `keep`.
fn end_access(
    conn: &mut DbConnection,
    user_id: i64,
    keep: Option<&Current>,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let (session, token_hash) = match keep {
        Some(Current::Session(id)) => (Some(*id), None),
        Some(Current::ApiToken(t)) => (None, Some(tokens::hash_token(t))),
        None => (None, None),
    };
    Session::delete_of_user(conn, user_id, session)?;
    api_token::revoke_of_user(conn, user_id, token_hash.as_deref(), at)?;
    Ok(())
}

/// The current password, checked (blocking work, no database: the user was read with the
/// session): 422 on `field` when it is not right.
pub fn check_current_password(user: &User, input: &str, field: &str) -> Result<(), AppError> {
    if password::verify(Some(&user.password_hash), input) {
        Ok(())
    } else {
        Err(AppError::FieldRule {
            code: "wrong_password",
            message: "Your current password is not right.".into(),
            fields: FieldErrors::from([(
                field.to_string(),
                "Your current password is not right.".to_string(),
            )]),
        })
    }
}

/// Checks the current password and the new one, and hashes the new one: blocking work done
/// before taking a connection. Returns the new hash.
pub fn prepare_password_change(
    user: &User,
    current_password: &str,
    new_password: &str,
) -> Result<String, AppError> {
    check_current_password(user, current_password, "current_password")?;
    password::check_and_hash(new_password, "new_password", &user.name, &user.email)
}

/// Stores a changed password (prepared by [`prepare_password_change`]): every other session
/// and API token of the account ends, `keep` goes on, and the account is told by mail.
pub fn change_password(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    user: &User,
    hash: &str,
    keep: &Current,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let at = now();
        User::set_password_hash(conn, user.id, hash)?;
        end_access(conn, user.id, Some(keep), at)?;
        AccountToken::end_unused(
            conn,
            user.id,
            TokenPurpose::PasswordReset.as_str(),
            None,
            at,
        )?;
        account_mail(
            conn,
            ctx,
            AccountEvent::PasswordChanged,
            user.id,
            &user.email,
            &user.name,
            ctx.link("/password-reset"),
            None,
            None,
            None,
        )?;
        audit::record(
            conn,
            Some(user.id),
            "account.password_change",
            "user",
            Some(user.id),
            "password changed; other sessions and API tokens ended",
        )?;
        Ok(())
    })
}

/// Asks to change the account's address (the current password checked beforehand, see
/// [`check_current_password`]): the new address gets a link (48 hours, once) that makes the
/// change take effect, the old one a notice; an earlier pending change stops working. 409
/// `email_taken` for an address of another account.
pub fn change_email(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    user: &User,
    new_email: &str,
) -> Result<(), AppError> {
    let email = Email::parse(new_email).map_err(|m| AppError::field("email", m))?;
    if email.as_str() == user.email {
        return Err(AppError::field(
            "email",
            "This is already your email address.",
        ));
    }
    write_transaction(conn, |conn| {
        if User::find_by_email(conn, email.as_str())?.is_some() {
            return Err(email_taken());
        }
        let at = now();
        AccountToken::end_unused(
            conn,
            user.id,
            TokenPurpose::VerifyEmail.as_str(),
            Some(true),
            at,
        )?;
        send_verification(
            conn,
            ctx,
            user.id,
            &user.email,
            &user.name,
            Some(email.as_str()),
        )?;
        account_mail(
            conn,
            ctx,
            AccountEvent::EmailChangeNotice,
            user.id,
            &user.email,
            &user.name,
            ctx.link("/account"),
            None,
            Some(email.as_str().to_string()),
            None,
        )?;
        audit::record(
            conn,
            Some(user.id),
            "account.email_change_requested",
            "user",
            Some(user.id),
            "email change asked; a link went to the new address, a notice to the old",
        )?;
        Ok(())
    })
}

/// The address an email change waits to confirm, if one does.
pub fn pending_email(conn: &mut DbConnection, user_id: i64) -> Result<Option<String>, AppError> {
    Ok(
        AccountToken::pending(conn, user_id, TokenPurpose::VerifyEmail.as_str(), now())?
            .into_iter()
            .find_map(|t| t.new_email),
    )
}

// ---- Admin invitations ---------------------------------------------------------------------

/// An admin invites another by mail: the account is made (an admin without a password, who
/// cannot log in yet) and the invitee gets a link (7 days, once) to set their own password
/// ([`accept_invite`]). No admin ever types another's password. Audited as `account.invite`.
pub fn invite_admin(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    admin: &Admin,
    email: &str,
    name: &str,
) -> Result<User, AppError> {
    let mut fields = FieldErrors::new();
    let email = Email::parse(email)
        .map_err(|m| fields.insert("email".into(), m))
        .ok();
    let name = PersonName::parse(name)
        .map_err(|m| fields.insert("name".into(), m))
        .ok();
    let (Some(email), Some(name)) = (email, name) else {
        return Err(AppError::validation(fields));
    };
    let inviter = admin.user().clone();
    let id = write_transaction(conn, |conn| {
        if User::find_by_email(conn, email.as_str())?.is_some() {
            return Err(email_taken());
        }
        let at = now();
        let id = NewUser {
            email: email.as_str(),
            password_hash: password::NO_PASSWORD,
            name: name.as_str(),
            role: Role::Admin.as_str(),
            created_at: at,
            email_verified_at: None,
        }
        .insert(conn)
        .map_err(taken_or)?;
        let purpose = TokenPurpose::AdminInvite;
        let raw = tokens::issue(conn, id, purpose, None, at)?;
        account_mail(
            conn,
            ctx,
            AccountEvent::AdminInvitation,
            id,
            email.as_str(),
            name.as_str(),
            token_link(ctx, purpose, &raw),
            Some(purpose.lifetime_words()),
            None,
            Some(inviter.name.clone()),
        )?;
        audit::record(
            conn,
            Some(inviter.id),
            "account.invite",
            "user",
            Some(id),
            &format!("invited {} as an admin (link mailed)", email.as_str()),
        )?;
        Ok::<_, AppError>(id)
    })?;
    Ok(User::find(conn, id)?)
}

/// The invitee sets their password (checked against their name and email and hashed
/// beforehand, see [`token_owner`]): the token is used and the address counts as verified.
pub fn accept_invite(conn: &mut DbConnection, raw: &str, hash: &str) -> Result<User, AppError> {
    let id = write_transaction(conn, |conn| {
        let at = now();
        let t = tokens::redeem(conn, raw, TokenPurpose::AdminInvite, at)?;
        User::set_password_hash(conn, t.user_id, hash)?;
        User::mark_verified(conn, t.user_id, at)?;
        audit::record(
            conn,
            Some(t.user_id),
            "account.invite_accepted",
            "user",
            Some(t.user_id),
            "invitation accepted: password set",
        )?;
        Ok::<_, AppError>(t.user_id)
    })?;
    Ok(User::find(conn, id)?)
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
    let key = login_key(email);
    let now = now();
    let attempt = check_not_locked(conn, &key, now)?;
    let user = User::find_by_email(conn, &key)?;
    let ok = password::verify(
        user.as_ref().map(|u| u.password_hash.as_str()),
        password_input,
    );
    let account = user.as_ref().map(|u| u.id);
    match (ok, user) {
        (true, Some(user)) => {
            // With a second factor, the count ends only once the code is right too
            // (`services::totp`): a right password alone does not reset it.
            if attempt.is_some() && !user.totp_enabled() {
                LoginAttempt::clear(conn, &key)?;
            }
            // Told only after the right password, so the refusal reveals nothing to a guesser.
            if let Some(s) = suspension(conn, settings, &user)? {
                return Err(AppError::Suspended(Box::new(s)));
            }
            Ok(user)
        }
        _ => {
            record_failure(conn, settings, &key, account, now, Failure::Password)?;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// What logins are counted by: the address typed, trimmed and lower-cased.
pub fn login_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// 429 (with the wait) while logins for `key` are locked after too many failures; the count so
/// far otherwise.
pub fn check_not_locked(
    conn: &mut DbConnection,
    key: &str,
    now: NaiveDateTime,
) -> Result<Option<LoginAttempt>, AppError> {
    let attempt = LoginAttempt::find(conn, key)?;
    if let Some(until) = attempt.as_ref().and_then(|a| a.locked_until) {
        if until > now {
            let secs = (until - now).num_seconds().max(0) as u64 + 1;
            return Err(AppError::TooManyRequests {
                retry_after_secs: secs,
            });
        }
    }
    Ok(attempt)
}

/// Ends the failure count of `key` (a login that completed).
pub fn clear_failures(conn: &mut DbConnection, key: &str) -> Result<(), AppError> {
    LoginAttempt::clear(conn, key)?;
    Ok(())
}

/// What a failed login got wrong (both count alike towards the lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Password,
    /// The second factor (a TOTP or recovery code): audited as `account.totp_failed`.
    SecondFactor,
}

/// What [`purge_stale`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: usize,
    pub api_tokens: usize,
    pub login_attempts: usize,
}

/// Deletes what can no longer be used and has been kept `keep` long enough: page sessions past
/// their absolute expiry, API tokens expired or revoked more than `keep` ago, and failed-login
/// counts whose window started more than `keep` ago and that lock nobody (the mail worker's
/// housekeeping runs it, beside the mailed tokens' purge).
pub fn purge_stale(
    conn: &mut DbConnection,
    now: chrono::DateTime<chrono::Utc>,
    keep: std::time::Duration,
) -> Result<Purged, AppError> {
    use crate::db::schema::{api_tokens, login_attempts, sessions};
    use diesel::prelude::*;
    let now = now.naive_utc();
    let before = now - ChronoDuration::from_std(keep).unwrap_or(ChronoDuration::days(30));
    write_transaction(conn, |conn| {
        let sessions =
            diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?;
        let api_tokens = diesel::delete(
            api_tokens::table.filter(
                api_tokens::expires_at
                    .le(before)
                    .or(api_tokens::revoked_at.le(before)),
            ),
        )
        .execute(conn)?;
        let login_attempts = diesel::delete(
            login_attempts::table
                .filter(login_attempts::window_started_at.le(before))
                .filter(
                    login_attempts::locked_until
                        .is_null()
                        .or(login_attempts::locked_until.le(now)),
                ),
        )
        .execute(conn)?;
        Ok(Purged {
            sessions,
            api_tokens,
            login_attempts,
        })
    })
}

/// Why `user` may not log in: their therapist profile is suspended (None: they may).
fn suspension(
    conn: &mut DbConnection,
    settings: &Settings,
    user: &User,
) -> Result<Option<Suspension>, AppError> {
    if user.role() != Role::Therapist {
        return Ok(None);
    }
    let Some(t) = Therapist::find_by_user(conn, user.id)? else {
        return Ok(None);
    };
    let Some(since) = t.suspended_at else {
        return Ok(None);
    };
    let contact = match &settings.support_email {
        Some(e) => e.clone(),
        None => User::first_admin_email(conn)?
            .unwrap_or_else(|| "the site's administrators".to_string()),
    };
    Ok(Some(Suspension {
        since,
        reason: t.suspended_reason,
        contact,
    }))
}

/// Ends every page session, API token and the calendar feed of a suspended therapist's
/// account, in the suspension's transaction: a suspension takes effect at once.
pub fn end_access_of_suspended(
    conn: &mut DbConnection,
    therapist: &Therapist,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    end_access(conn, therapist.user_id, None, at)?;
    Therapist::set_calendar_token_hash(conn, therapist.id, None)?;
    Ok(())
}

/// Counts a failed login for `key` (the address typed), locks it after
/// `login_max_failures`, and audits both: the account when one has this address (never the
/// password typed, nor an address that has no account, which may be a password typed in the
/// wrong field).
pub fn record_failure(
    conn: &mut DbConnection,
    settings: &Settings,
    key: &str,
    account: Option<i64>,
    now: NaiveDateTime,
    failure: Failure,
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
            let locks = a.failures >= settings.login_max_failures;
            if locks {
                a.locked_until = Some(now + lock);
            }
            a.save(conn)?;
            let summary = match (account, failure) {
                (Some(_), Failure::Password) => format!(
                    "A login with a wrong password (failure {} in a row)",
                    a.failures
                ),
                (Some(_), Failure::SecondFactor) => format!(
                    "A login with a right password and a wrong two-factor code (failure {} in a row)",
                    a.failures
                ),
                (None, _) => "A login for an address that has no account".to_string(),
            };
            let action = match failure {
                Failure::Password => "account.login_failed",
                Failure::SecondFactor => "account.totp_failed",
            };
            audit::record(conn, None, action, "user", account, &summary)?;
            if locks {
                audit::record(
                    conn,
                    None,
                    "account.locked",
                    "user",
                    account,
                    &format!(
                        "Logins locked for {} minutes after {} failures",
                        lock.num_minutes(),
                        a.failures
                    ),
                )?;
            }
            Ok(())
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
    let found = find_session(conn, settings, token)?;
    if let Some((s, true)) = &found {
        touch_session(conn, s)?;
    }
    Ok(found.map(|(s, _)| s))
}

/// [`resolve_session`] in two steps, so that the read (one indexed query) can run where a write
/// should not wait: the live session of a cookie token, and whether its idle timer is due to be
/// refreshed ([`touch_session`], at most once a minute).
pub fn find_session(
    conn: &mut DbConnection,
    settings: &Settings,
    token: &str,
) -> Result<Option<(SessionInfo, bool)>, AppError> {
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
    let due = now - session.last_seen_at > ChronoDuration::seconds(60);
    Ok(Some((
        SessionInfo {
            session_id: session.id,
            user,
            csrf_token: session.csrf_token,
        },
        due,
    )))
}

/// Refreshes a session's idle timer (see [`find_session`]).
pub fn touch_session(conn: &mut DbConnection, s: &SessionInfo) -> Result<(), AppError> {
    Session::touch(conn, s.session_id, now())?;
    Ok(())
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
