//! The account pages: `/account` (a list of sections: the email address and its verification,
//! reminders before sessions, the password, an email change, the data export, deleting a
//! client's account), and the pages
//! the mails' links open: `/verify-email`, `/password-reset` (and `/confirm`), `/accept-invite`.
//! A link's page shows a button that posts: nothing changes on a GET.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::account::{TokenPurpose, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::error::{AppError, FieldErrors};
use crate::services::access::{self, Proof};
use crate::services::accounts::{self, Current, Verified};
use crate::services::preferences::{self, Notifications};
use crate::services::{account_data, blocking, with_conn};
use crate::web::{
    app_state, client_key, no_store, redirect_with_flash, removal_cookie, render, As, CsrfForm,
    LoggedIn, PageCtx, PageResult, SESSION_COOKIE,
};

/// The hint under every new password field.
fn password_hint() -> String {
    format!(
        "{PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters, not easy to guess: a few unrelated words work well."
    )
}

/// The field errors of a refusal, or the refusal itself when it has none to show.
fn field_errors(e: AppError) -> Result<FieldErrors, AppError> {
    match &e {
        AppError::Conflict { message, .. } => {
            Ok(FieldErrors::from([("email".to_string(), message.clone())]))
        }
        _ => e.fields().cloned().ok_or(e),
    }
}

// ---- /account ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "account/page.html")]
pub struct AccountPage {
    pub ctx: PageCtx,
    pub email: String,
    pub email_verified: bool,
    /// The address an email change waits to confirm.
    pub pending_email: Option<String>,
    /// Clients may delete their account here.
    pub is_client: bool,
    pub password_hint: String,
    pub password_errors: FieldErrors,
    /// What was typed as the new address.
    pub new_email: String,
    pub email_errors: FieldErrors,
    pub delete_errors: FieldErrors,
    /// Reminders before each session (as stored, or as just chosen).
    pub reminders: bool,
    pub reminder_hours: i64,
    pub reminders_error: Option<String>,
    /// Two-factor sign-in is on (its own page: `web::totp`).
    pub totp_enabled: bool,
}

async fn account_page(req: &HttpRequest, user: LoggedIn) -> PageResult<AccountPage> {
    let state = app_state(req);
    let me = user.session.user;
    let id = me.id;
    let (pending_email, stored) = with_conn(&state.pool, move |conn| {
        Ok((
            accounts::pending_email(conn, id)?,
            preferences::notifications(conn, id)?,
        ))
    })
    .await?;
    Ok(AccountPage {
        ctx: user.ctx,
        is_client: me.role() == crate::domain::account::Role::Client,
        totp_enabled: me.totp_enabled(),
        email_verified: me.email_verified(),
        email: me.email,
        pending_email,
        password_hint: password_hint(),
        password_errors: FieldErrors::new(),
        new_email: String::new(),
        email_errors: FieldErrors::new(),
        delete_errors: FieldErrors::new(),
        reminders: stored.reminders,
        reminder_hours: state.mail.reminder_hours,
        reminders_error: None,
    })
}

fn rerender(page: &AccountPage, status: StatusCode) -> PageResult<HttpResponse> {
    no_store(render(status, page)?)
}

/// `/account`.
pub async fn page(req: HttpRequest, user: LoggedIn) -> PageResult<HttpResponse> {
    let page = account_page(&req, user).await?;
    rerender(&page, StatusCode::OK)
}

#[derive(Debug, Default, Deserialize)]
pub struct NotificationsForm {
    /// `on` or `off`.
    #[serde(default)]
    pub reminders: String,
}

/// The reminders section: on or off (turned off, the reminders already planned are withdrawn).
pub async fn save_notifications(
    req: HttpRequest,
    user: LoggedIn,
    CsrfForm(form): CsrfForm<NotificationsForm>,
) -> PageResult<HttpResponse> {
    let reminders = match form.reminders.trim() {
        "on" => true,
        "off" => false,
        _ => {
            let mut page = account_page(&req, user).await?;
            page.reminders_error = Some("Choose whether you want reminders.".into());
            return rerender(&page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let state = app_state(&req);
    let user_id = user.session.user.id;
    with_conn(&state.pool, move |conn| {
        preferences::set_notifications(conn, user_id, Notifications { reminders })
    })
    .await?;
    Ok(redirect_with_flash(
        "/account",
        if reminders {
            "Saved: you get reminders before your sessions."
        } else {
            "Saved: no more reminders. Reminders already planned are withdrawn."
        },
    ))
}

/// The banner's and the account page's "Send the link again".
pub async fn resend_verification(
    req: HttpRequest,
    user: LoggedIn,
    _form: CsrfForm<EmptyForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let me = user.session.user;
    if me.email_verified() {
        return Ok(redirect_with_flash(
            "/account",
            "Your email address is already confirmed.",
        ));
    }
    state.account_mail_allowed(None, &me.email)?;
    let (mail, email) = (state.mail.clone(), me.email.clone());
    with_conn(&state.pool, move |conn| {
        accounts::resend_verification(conn, &mail, &me)
    })
    .await?;
    Ok(redirect_with_flash(
        "/account",
        format!("We sent a new link to {email}. It works for 48 hours."),
    ))
}

#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub new_password: String,
}

pub async fn change_password(
    req: HttpRequest,
    user: LoggedIn,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let me = user.session.user.clone();
    let checked = blocking(move || {
        accounts::prepare_password_change(&me, &form.current_password, &form.new_password)
    })
    .await;
    let hash = match checked {
        Ok(h) => h,
        Err(e) => {
            let errors = field_errors(e)?;
            let mut page = account_page(&req, user).await?;
            page.password_errors = errors;
            return rerender(&page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let (mail, me, keep) = (
        state.mail.clone(),
        user.session.user.clone(),
        Current::Session(user.session.session_id),
    );
    with_conn(&state.pool, move |conn| {
        accounts::change_password(conn, &mail, &me, &hash, &keep)
    })
    .await?;
    Ok(redirect_with_flash(
        "/account",
        "Your password is changed. You are logged out everywhere else.",
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub email: String,
}

pub async fn change_email(
    req: HttpRequest,
    user: LoggedIn,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let me = user.session.user.clone();
    let current = form.current_password.clone();
    let mut result =
        blocking(move || accounts::check_current_password(&me, &current, "current_password")).await;
    if result.is_ok() {
        let (mail, me, email) = (
            state.mail.clone(),
            user.session.user.clone(),
            form.email.clone(),
        );
        result = with_conn(&state.pool, move |conn| {
            accounts::change_email(conn, &mail, &me, &email)
        })
        .await;
    }
    match result {
        Ok(()) => Ok(redirect_with_flash(
            "/account",
            format!(
                "We sent a link to {}: your address changes when you open it.",
                form.email.trim()
            ),
        )),
        Err(e) => {
            let errors = field_errors(e)?;
            let mut page = account_page(&req, user).await?;
            page.new_email = form.email;
            page.email_errors = errors;
            rerender(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// Downloads everything stored about the viewer (the API's export, as a file).
pub async fn export(req: HttpRequest, user: LoggedIn) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let st = state.clone();
    let me = user.session.user;
    let doc = with_conn(&state.pool, move |conn| {
        account_data::export(conn, &st.cipher, &me)
    })
    .await?;
    let body = serde_json::to_string_pretty(&doc).map_err(|e| AppError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"bodywork-my-data.json\"",
        ))
        .body(body))
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

/// What a missing confirmation box says.
pub const DELETE_CONFIRM_MESSAGE: &str =
    "Tick the box to confirm that you want your account deleted for good.";

pub async fn delete(
    req: HttpRequest,
    user: As<access::Client>,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let me = user.who.user().clone();
    let current = form.current_password.clone();
    let checked =
        blocking(move || accounts::check_current_password(&me, &current, "current_password")).await;
    let mut errors = match checked {
        Ok(()) => FieldErrors::new(),
        Err(e) => field_errors(e)?,
    };
    if form.confirm.as_deref() != Some("yes") {
        errors.insert("confirm".into(), DELETE_CONFIRM_MESSAGE.into());
    }
    if !errors.is_empty() {
        let logged_in = LoggedIn {
            session: user.session,
            ctx: user.ctx,
        };
        let mut page = account_page(&req, logged_in).await?;
        page.delete_errors = errors;
        return rerender(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (mail, client) = (state.mail.clone(), user.who);
    with_conn(&state.pool, move |conn| {
        account_data::erase(conn, &mail, &client, chrono::Utc::now())
    })
    .await?;
    let mut resp = redirect_with_flash(
        "/",
        "Your account is deleted. Your upcoming bookings are cancelled and your therapists told.",
    );
    let _ = resp.add_cookie(&removal_cookie(&state, SESSION_COOKIE));
    let _ = resp.add_cookie(&removal_cookie(&state, crate::web::RETRY_COOKIE));
    // The self-check's answers are health data: they do not outlive the session.
    let _ = resp.add_cookie(&removal_cookie(&state, crate::web::ANSWERS_COOKIE));
    Ok(resp)
}

// ---- /verify-email -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub token: String,
}

#[derive(Template)]
#[template(path = "account/verify.html")]
pub struct VerifyPage {
    pub ctx: PageCtx,
    pub token: String,
    /// An email change: the address it confirms.
    pub new_email: Option<String>,
    pub error: Option<String>,
}

/// The mail's link: the page with a button that confirms (a GET changes nothing).
pub async fn verify_email_form(
    req: HttpRequest,
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let token = q.into_inner().token;
    let t = token.clone();
    let checked = with_conn(&state.pool, move |conn| {
        accounts::check_token(conn, &t, TokenPurpose::VerifyEmail)
    })
    .await;
    let (new_email, error, status) = match checked {
        Ok(t) => (t.new_email, None, StatusCode::OK),
        Err(e @ AppError::Rule { .. }) => (None, Some(e.public_message()), e.status()),
        Err(e) => return Err(e.into()),
    };
    no_store(render(
        status,
        &VerifyPage {
            ctx,
            token,
            new_email,
            error,
        },
    )?)
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub password: String,
}

pub async fn verify_email(
    req: HttpRequest,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let token = form.token.clone();
    let result = with_conn(&state.pool, move |conn| {
        accounts::verify_email(conn, &token)
    })
    .await;
    let next = if ctx.is_logged_in() {
        "/account"
    } else {
        "/login"
    };
    match result {
        Ok(Verified::Address) => Ok(redirect_with_flash(
            next,
            "Thank you: your email address is confirmed.",
        )),
        Ok(Verified::NewAddress(email)) => Ok(redirect_with_flash(
            next,
            format!("Your email address is now {email}."),
        )),
        Err(e @ (AppError::Rule { .. } | AppError::Conflict { .. })) => no_store(render(
            e.status(),
            &VerifyPage {
                ctx,
                token: form.token,
                new_email: None,
                error: Some(e.public_message()),
            },
        )?),
        Err(e) => Err(e.into()),
    }
}

// ---- /password-reset -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "account/reset_request.html")]
pub struct ResetRequestPage {
    pub ctx: PageCtx,
    pub email: String,
    pub errors: FieldErrors,
}

pub async fn reset_request_form(ctx: PageCtx) -> PageResult<HttpResponse> {
    render(
        StatusCode::OK,
        &ResetRequestPage {
            ctx,
            email: String::new(),
            errors: FieldErrors::new(),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct EmailOnlyForm {
    #[serde(default)]
    pub email: String,
}

/// Asks for a reset link: the same answer (back to the login page, saying a link is on its way
/// if an account uses the address) whether or not one does, given before the work is done.
pub async fn reset_request(
    req: HttpRequest,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<EmailOnlyForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let checked = crate::domain::account::Email::parse(&form.email)
        .map_err(|m| AppError::field("email", m))
        .and_then(|_| state.account_mail_allowed(Some(client_key(&req)), &form.email));
    if let Err(e) = checked {
        let status = e.status();
        let errors = match e {
            AppError::TooManyRequests { .. } => {
                FieldErrors::from([("email".to_string(), e.public_message())])
            }
            other => field_errors(other)?,
        };
        return render(
            status,
            &ResetRequestPage {
                ctx,
                email: form.email,
                errors,
            },
        );
    }
    accounts::spawn_password_reset(&state.pool, &state.mail, form.email);
    Ok(redirect_with_flash(
        "/login",
        "If an account uses that address, we have sent it a link to choose a new password. The link works for 1 hour.",
    ))
}

// ---- Pages that set a password from a link: reset, invitation -------------------------------

#[derive(Template)]
#[template(path = "account/set_password.html")]
pub struct SetPasswordPage {
    pub ctx: PageCtx,
    pub title: &'static str,
    pub intro: String,
    pub button: &'static str,
    pub action: &'static str,
    pub invite: bool,
    pub token: String,
    /// The account's address, for password managers.
    pub email: String,
    pub token_error: Option<String>,
    pub errors: FieldErrors,
    pub password_hint: String,
}

impl SetPasswordPage {
    fn new(ctx: PageCtx, purpose: TokenPurpose, token: String) -> SetPasswordPage {
        let invite = purpose == TokenPurpose::AdminInvite;
        SetPasswordPage {
            ctx,
            title: if invite {
                "Accept your invitation"
            } else {
                "Choose a new password"
            },
            intro: if invite {
                "You are invited to administer Bodywork. Choose your password to finish.".into()
            } else {
                "Choose a new password. Once it is saved, you are logged out everywhere and log in with the new one.".into()
            },
            button: if invite {
                "Set my password"
            } else {
                "Save the new password"
            },
            action: if invite {
                "/accept-invite"
            } else {
                "/password-reset/confirm"
            },
            invite,
            token,
            email: String::new(),
            token_error: None,
            errors: FieldErrors::new(),
            password_hint: password_hint(),
        }
    }
}

async fn set_password_form(
    req: HttpRequest,
    ctx: PageCtx,
    token: String,
    purpose: TokenPurpose,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let t = token.clone();
    let owner = with_conn(&state.pool, move |conn| {
        accounts::token_owner(conn, &t, purpose)
    })
    .await;
    let mut page = SetPasswordPage::new(ctx, purpose, token);
    let status = match owner {
        Ok(u) => {
            if page.invite && u.role() == crate::domain::account::Role::Client {
                // A client whose therapist made the account when booking them claims it.
                page.title = "Claim your account";
                page.intro = format!(
                    "Welcome, {}. Your therapist booked you on Bodywork and made this account for you: choose your password to see and manage your bookings.",
                    u.name
                );
            } else if page.invite {
                page.intro = format!(
                    "Welcome, {}. You are invited to administer Bodywork: choose your password to finish.",
                    u.name
                );
            }
            page.email = u.email;
            StatusCode::OK
        }
        Err(e @ AppError::Rule { .. }) => {
            page.token_error = Some(e.public_message());
            e.status()
        }
        Err(e) => return Err(e.into()),
    };
    no_store(render(status, &page)?)
}

async fn set_password(
    req: HttpRequest,
    ctx: PageCtx,
    form: TokenForm,
    purpose: TokenPurpose,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let result =
        accounts::set_password_by_token(&state.pool, form.token.clone(), form.password, purpose)
            .await;
    match result {
        Ok(_) => {
            let mut resp = redirect_with_flash(
                "/login",
                if purpose == TokenPurpose::AdminInvite {
                    // Logging in then leads to the two-factor setup (`web::auth::logged_in`).
                    "Your password is set. Log in, then set up two-factor sign-in with an authenticator app: administrators sign in with a code."
                } else {
                    "Your password is changed and you are logged out everywhere. Log in with the new one."
                },
            );
            if purpose == TokenPurpose::PasswordReset {
                let _ = resp.add_cookie(&removal_cookie(&state, SESSION_COOKIE));
            }
            Ok(resp)
        }
        Err(e @ AppError::Rule { .. }) => {
            let mut page = SetPasswordPage::new(ctx, purpose, form.token);
            page.token_error = Some(e.public_message());
            no_store(render(e.status(), &page)?)
        }
        Err(e) => {
            let status = e.status();
            let errors = field_errors(e)?;
            let mut page = SetPasswordPage::new(ctx, purpose, form.token);
            page.errors = errors;
            no_store(render(status, &page)?)
        }
    }
}

/// The reset mail's link: the form for the new password.
pub async fn reset_confirm_form(
    req: HttpRequest,
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> PageResult<HttpResponse> {
    set_password_form(req, ctx, q.into_inner().token, TokenPurpose::PasswordReset).await
}

pub async fn reset_confirm(
    req: HttpRequest,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> PageResult<HttpResponse> {
    set_password(req, ctx, form, TokenPurpose::PasswordReset).await
}

/// The invitation mail's link: the form for the invitee's password.
pub async fn accept_invite_form(
    req: HttpRequest,
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> PageResult<HttpResponse> {
    set_password_form(req, ctx, q.into_inner().token, TokenPurpose::AdminInvite).await
}

pub async fn accept_invite(
    req: HttpRequest,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> PageResult<HttpResponse> {
    set_password(req, ctx, form, TokenPurpose::AdminInvite).await
}
