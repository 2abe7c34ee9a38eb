//! Register, log in, log out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::account::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::error::{AppError, FieldErrors};
use crate::services::accounts::{self, RegisterInput};
use crate::services::{blocking, with_conn};
use crate::web::filters;
use crate::web::{
    app_state, client_key, cookie, home_for, redirect_with_flash, removal_cookie, render,
    safe_next, session_cookie_token, CsrfForm, PageCtx, PageResult, SESSION_COOKIE,
};

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub next: String,
}

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub ctx: PageCtx,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
    /// What the login is for, when it comes from a chosen time ([`booking_purpose`]).
    pub purpose: Option<String>,
}

/// The chosen time of a booking link (`/book?therapist=..&service=..&start=..`).
#[derive(Debug, Deserialize)]
struct ChosenTime {
    therapist: i64,
    service: i64,
    start: String,
}

/// What a login or registration that comes back to `next` is for, when `next` is a booking
/// link: "Swedish massage with Maya Lee, tomorrow, 09:00 New York time". None for any other
/// path, or a link that names no bookable service.
async fn booking_purpose(req: &HttpRequest, next: &str) -> Option<String> {
    let query = next.strip_prefix("/book?")?;
    let chosen: ChosenTime = serde_urlencoded::from_str(query).ok()?;
    let start = chrono::DateTime::parse_from_rfc3339(chosen.start.trim()).ok()?;
    let state = app_state(req);
    let today = chrono::Utc::now().date_naive();
    let p = with_conn(&state.pool, move |conn| {
        crate::services::directory::public_profile(conn, chosen.therapist, today)
    })
    .await
    .ok()?;
    let service = p.services.iter().find(|s| s.id == chosen.service)?;
    let tz = crate::models::therapist::zone(&p.therapist.timezone);
    Some(format!(
        "{} with {}, {}",
        crate::web::format::technique_name(&service.technique_slug),
        p.name,
        crate::web::format::local_time(start.to_utc(), tz, chrono::Utc::now())
    ))
}

pub async fn login_form(
    req: HttpRequest,
    ctx: PageCtx,
    q: web::Query<NextQuery>,
) -> PageResult<HttpResponse> {
    let next = safe_next(q.next.as_deref()).unwrap_or_default();
    let purpose = booking_purpose(&req, &next).await;
    render(
        StatusCode::OK,
        &LoginPage {
            ctx,
            email: String::new(),
            next,
            error: None,
            purpose,
        },
    )
}

pub async fn login(
    req: HttpRequest,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let ctx = PageCtx::from_request(&req).await?;
    let next = safe_next(Some(&form.next));
    let purpose = match &next {
        Some(n) => booking_purpose(&req, n).await,
        None => None,
    };
    if let Err(wait) = state.login_limiter.check(&client_key(&req)) {
        return login_failed(
            ctx,
            &form,
            next,
            purpose,
            AppError::TooManyRequests {
                retry_after_secs: wait,
            },
        );
    }
    let settings = state.settings.clone();
    let (email, password) = (form.email.clone(), form.password.clone());
    let old = session_cookie_token(&req);
    let result = with_conn(&state.pool, move |conn| {
        let user = accounts::authenticate(conn, &settings, &email, &password)?;
        if user.totp_enabled() {
            return Ok(Step::SecondFactor(user.id));
        }
        let token = accounts::start_session(conn, &settings, &user, old.as_deref())?;
        Ok(Step::Done(user, token))
    })
    .await;
    match result {
        Ok(Step::Done(user, token)) => Ok(logged_in(&state, &user, token, next)),
        Ok(Step::SecondFactor(user_id)) => {
            // The password stays out of the next form: the step is kept, sealed and bound to
            // this purpose, in a cookie that lasts 5 minutes.
            let pending = PendingLogin {
                user_id,
                next: next.unwrap_or_default(),
                at: chrono::Utc::now().timestamp(),
            };
            let mut resp = render(StatusCode::OK, &TwoFactorLoginPage { ctx, error: None })?;
            let _ = resp.add_cookie(&pending_cookie(&state, &pending)?);
            Ok(resp)
        }
        Err(e @ (AppError::InvalidCredentials | AppError::TooManyRequests { .. })) => {
            login_failed(ctx, &form, next, purpose, e)
        }
        Err(AppError::Suspended(s)) => render(StatusCode::FORBIDDEN, &SuspendedPage { ctx, s: *s }),
        Err(e) => Err(e.into()),
    }
}

/// Where a right password leads.
enum Step {
    /// Logged in: the user and the new session's token.
    Done(crate::models::user::User, String),
    /// The account's second factor is asked next.
    SecondFactor(i64),
}

/// The answer to a completed login: the session cookie (a new session: it is renewed at
/// login), and the page to go on to. An admin without a second factor goes to set it up.
fn logged_in(
    state: &crate::http::AppState,
    user: &crate::models::user::User,
    token: String,
    next: Option<String>,
) -> HttpResponse {
    let to = if user.must_enrol_totp() {
        "/account/two-factor".to_string()
    } else {
        next.unwrap_or_else(|| home_for(user.role()).to_string())
    };
    let mut resp = redirect_with_flash(&to, format!("Welcome back, {}.", user.name));
    let _ = resp.add_cookie(&cookie(state, SESSION_COOKIE, token));
    let _ = resp.add_cookie(&removal_cookie(state, PENDING_LOGIN_COOKIE));
    resp
}

/// The cookie that keeps a login whose password was right while the code is asked: sealed
/// (`services::crypto`, bound to this purpose), for `domain::totp::PENDING_LOGIN_SECS`.
use crate::web::PENDING_LOGIN_COOKIE;
const PENDING_LOGIN_AAD: &[u8] = b"bodywork-pending-login";

#[derive(Debug, serde::Serialize, Deserialize)]
struct PendingLogin {
    user_id: i64,
    next: String,
    /// Unix seconds when the password was right.
    at: i64,
}

fn pending_cookie(
    state: &crate::http::AppState,
    p: &PendingLogin,
) -> PageResult<actix_web::cookie::Cookie<'static>> {
    let json = serde_json::to_vec(p)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("pending login: {e}")))?;
    let mut c = cookie(
        state,
        PENDING_LOGIN_COOKIE,
        state.cipher.encrypt(&json, PENDING_LOGIN_AAD),
    );
    c.set_max_age(actix_web::cookie::time::Duration::seconds(
        crate::domain::totp::PENDING_LOGIN_SECS,
    ));
    Ok(c)
}

/// The login waiting for its code, if one is (and not older than 5 minutes).
fn pending_login(req: &HttpRequest) -> Option<PendingLogin> {
    let c = crate::web::request_cookie(req, PENDING_LOGIN_COOKIE)?;
    let plain = app_state(req)
        .cipher
        .decrypt(c.value(), PENDING_LOGIN_AAD)
        .ok()?;
    let p: PendingLogin = serde_json::from_slice(&plain).ok()?;
    let age = chrono::Utc::now().timestamp() - p.at;
    (0..crate::domain::totp::PENDING_LOGIN_SECS)
        .contains(&age)
        .then_some(p)
}

/// The second step of a login: the code of the authenticator app.
#[derive(Template)]
#[template(path = "auth/two_factor.html")]
pub struct TwoFactorLoginPage {
    pub ctx: PageCtx,
    pub error: Option<String>,
}

/// The login form again, saying why: no password step waits for a code (none was made, or
/// it is older than 5 minutes).
fn start_again(ctx: PageCtx) -> PageResult<HttpResponse> {
    render(
        StatusCode::OK,
        &LoginPage {
            ctx,
            email: String::new(),
            next: String::new(),
            error: Some(
                "Please log in again: the code is asked within 5 minutes of the password.".into(),
            ),
            purpose: None,
        },
    )
}

pub async fn totp_form(req: HttpRequest, ctx: PageCtx) -> PageResult<HttpResponse> {
    if pending_login(&req).is_none() {
        return start_again(ctx);
    }
    render(StatusCode::OK, &TwoFactorLoginPage { ctx, error: None })
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

pub async fn totp_login(
    req: HttpRequest,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let ctx = PageCtx::from_request(&req).await?;
    let Some(pending) = pending_login(&req) else {
        return start_again(ctx);
    };
    let failed = |ctx: PageCtx, e: AppError| -> PageResult<HttpResponse> {
        let mut resp = render(
            e.status(),
            &TwoFactorLoginPage {
                ctx,
                error: Some(e.public_message()),
            },
        )?;
        if let AppError::TooManyRequests { retry_after_secs } = e {
            resp.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                retry_after_secs.into(),
            );
        }
        Ok(resp)
    };
    if let Err(wait) = state.login_limiter.check(&client_key(&req)) {
        return failed(
            ctx,
            AppError::TooManyRequests {
                retry_after_secs: wait,
            },
        );
    }
    let (settings, cipher) = (state.settings.clone(), state.cipher.clone());
    let old = session_cookie_token(&req);
    let code = form.code;
    let user_id = pending.user_id;
    let result = with_conn(&state.pool, move |conn| {
        let user = crate::services::totp::complete_login(conn, &settings, &cipher, user_id, &code)?;
        let token = accounts::start_session(conn, &settings, &user, old.as_deref())?;
        Ok((user, token))
    })
    .await;
    match result {
        Ok((user, token)) => Ok(logged_in(
            &state,
            &user,
            token,
            safe_next(Some(&pending.next)),
        )),
        Err(e @ (AppError::Unauthenticated { .. } | AppError::TooManyRequests { .. })) => {
            failed(ctx, e)
        }
        Err(AppError::InvalidCredentials | AppError::NotFound) => {
            start_again(PageCtx::from_request(&req).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// What a suspended therapist sees when they log in: since when, why, whom to write to.
#[derive(Template)]
#[template(path = "auth/suspended.html")]
pub struct SuspendedPage {
    pub ctx: PageCtx,
    pub s: crate::domain::account::Suspension,
}

fn login_failed(
    ctx: PageCtx,
    form: &LoginForm,
    next: Option<String>,
    purpose: Option<String>,
    e: AppError,
) -> PageResult<HttpResponse> {
    let mut resp = render(
        e.status(),
        &LoginPage {
            ctx,
            email: form.email.clone(),
            next: next.unwrap_or_default(),
            error: Some(e.public_message()),
            purpose,
        },
    )?;
    if let AppError::TooManyRequests { retry_after_secs } = e {
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            retry_after_secs.into(),
        );
    }
    Ok(resp)
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub next: String,
}

#[derive(Template)]
#[template(path = "auth/register.html")]
pub struct RegisterPage {
    pub ctx: PageCtx,
    pub email: String,
    pub name: String,
    pub role: String,
    pub next: String,
    /// What the account is for, when it comes from a chosen time ([`booking_purpose`]).
    pub purpose: Option<String>,
    pub errors: FieldErrors,
    pub min_chars: usize,
    pub max_chars: usize,
}

impl RegisterPage {
    fn new(ctx: PageCtx) -> Self {
        RegisterPage {
            ctx,
            email: String::new(),
            name: String::new(),
            role: "client".into(),
            next: String::new(),
            purpose: None,
            errors: FieldErrors::new(),
            min_chars: PASSWORD_MIN_CHARS,
            max_chars: PASSWORD_MAX_CHARS,
        }
    }

    pub fn password_hint(&self) -> String {
        format!(
            "{} to {} characters, not easy to guess: a few unrelated words work well.",
            self.min_chars, self.max_chars
        )
    }

    pub fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

pub async fn register_form(
    req: HttpRequest,
    ctx: PageCtx,
    q: web::Query<NextQuery>,
) -> PageResult<HttpResponse> {
    let mut page = RegisterPage::new(ctx);
    page.next = safe_next(q.next.as_deref()).unwrap_or_default();
    page.purpose = booking_purpose(&req, &page.next).await;
    render(StatusCode::OK, &page)
}

pub async fn register(
    req: HttpRequest,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let settings = state.settings.clone();
    let input = RegisterInput {
        email: form.email.clone(),
        password: form.password.clone(),
        name: form.name.clone(),
        role: form.role.clone(),
    };
    let old = session_cookie_token(&req);
    let mail = state.mail.clone();
    // Counted before any work; the password is checked and hashed before a connection is
    // taken.
    let prepared = match state.registration_allowed(client_key(&req)) {
        Ok(()) => blocking(move || accounts::prepare_registration(&input)).await,
        Err(e) => Err(e),
    };
    let result = match prepared {
        Ok(prepared) => {
            with_conn(&state.pool, move |conn| {
                let user = accounts::register_prepared(conn, &mail, &prepared)?;
                let token = accounts::start_session(conn, &settings, &user, old.as_deref())?;
                Ok((user, token))
            })
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok((user, token)) => {
            let to =
                safe_next(Some(&form.next)).unwrap_or_else(|| home_for(user.role()).to_string());
            let mut resp = redirect_with_flash(
                &to,
                format!(
                    "Welcome to Bodywork, {}. We sent a link to {}: open it to confirm your address.",
                    user.name, user.email
                ),
            );
            let _ = resp.add_cookie(&cookie(&state, SESSION_COOKIE, token));
            Ok(resp)
        }
        Err(e) => {
            let errors = match &e {
                AppError::Validation { fields, .. } | AppError::FieldRule { fields, .. } => {
                    fields.clone()
                }
                AppError::Conflict { message, .. } => {
                    FieldErrors::from([("email".to_string(), message.clone())])
                }
                _ => return Err(e.into()),
            };
            let mut page = RegisterPage::new(PageCtx::from_request(&req).await?);
            page.email = form.email;
            page.name = form.name;
            page.role = form.role;
            page.next = safe_next(Some(&form.next)).unwrap_or_default();
            page.purpose = booking_purpose(&req, &page.next).await;
            page.errors = errors;
            render(e.status(), &page)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

pub async fn logout(
    req: HttpRequest,
    user: crate::web::Enrolling,
    _form: CsrfForm<EmptyForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    if let Some(token) = session_cookie_token(&req) {
        let user_id = user.session.user.id;
        with_conn(&state.pool, move |conn| {
            accounts::end_session(conn, &token, user_id)
        })
        .await?;
    }
    let mut resp = redirect_with_flash("/", "You are logged out.");
    let _ = resp.add_cookie(&removal_cookie(&state, SESSION_COOKIE));
    let _ = resp.add_cookie(&removal_cookie(&state, crate::web::RETRY_COOKIE));
    // The self-check's answers are health data: they do not outlive the session.
    let _ = resp.add_cookie(&removal_cookie(&state, crate::web::ANSWERS_COOKIE));
    Ok(resp)
}
