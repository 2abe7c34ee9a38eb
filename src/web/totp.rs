//! `/account/two-factor`: set up two-factor sign-in (the QR code, the key as text, a code to
//! confirm), the recovery codes shown once, turning it off (`services::totp`). An admin who
//! has not set it up is sent here from every other page (`web::errors`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::account::Role;
use crate::error::{AppError, FieldErrors};
use crate::services::totp::{self, Enrolment, Status};
use crate::services::{accounts, blocking, with_conn};
use crate::web::auth::EmptyForm;
use crate::web::{
    app_state, no_store, redirect_with_flash, render, CsrfForm, Enrolling, LoggedIn, PageCtx,
    PageResult,
};

#[derive(Template)]
#[template(path = "account/two_factor.html")]
pub struct TwoFactorPage {
    pub ctx: PageCtx,
    pub status: Status,
    pub enrolment: Option<Enrolment>,
    /// The enrolment's QR code: an SVG image's `data:` URI (drawn by the `qrcode` crate).
    pub qr_src: String,
    /// An admin without a second factor: the page says why they are here.
    pub must_enrol: bool,
    pub is_admin: bool,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub ctx: PageCtx,
    pub codes: Vec<String>,
    pub continue_to: String,
}

async fn page_for(
    req: &HttpRequest,
    user: &crate::models::user::User,
    ctx: PageCtx,
    errors: FieldErrors,
) -> PageResult<TwoFactorPage> {
    let state = app_state(req);
    let cipher = state.cipher.clone();
    let u = user.clone();
    let (status, enrolment) = with_conn(&state.pool, move |conn| {
        Ok((totp::status(conn, u.id)?, totp::pending(conn, &cipher, &u)?))
    })
    .await?;
    Ok(TwoFactorPage {
        ctx,
        qr_src: enrolment
            .as_ref()
            .map(Enrolment::qr_src)
            .unwrap_or_default(),
        status,
        enrolment,
        must_enrol: user.must_enrol_totp(),
        is_admin: user.role() == Role::Admin,
        errors,
    })
}

fn show(page: &TwoFactorPage, status: StatusCode) -> PageResult<HttpResponse> {
    no_store(render(status, page)?)
}

pub async fn page(req: HttpRequest, user: Enrolling) -> PageResult<HttpResponse> {
    let p = page_for(&req, &user.session.user, user.ctx, FieldErrors::new()).await?;
    show(&p, StatusCode::OK)
}

/// Starts (or starts again) the setup: a new key, shown by the page.
pub async fn start(
    req: HttpRequest,
    user: Enrolling,
    _form: CsrfForm<EmptyForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let cipher = state.cipher.clone();
    let u = user.session.user.clone();
    match with_conn(&state.pool, move |conn| totp::start(conn, &cipher, &u)).await {
        Ok(_) => Ok(redirect_with_flash(
            "/account/two-factor",
            "Scan the code with your app, then type the code it shows.",
        )),
        Err(AppError::Conflict { message, .. }) => {
            Ok(redirect_with_flash("/account/two-factor", message))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

/// Confirms the setup with a code: the recovery codes, shown this once.
pub async fn confirm(
    req: HttpRequest,
    user: Enrolling,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let cipher = state.cipher.clone();
    let u = user.session.user.clone();
    let code = form.code;
    match with_conn(&state.pool, move |conn| {
        totp::confirm(conn, &cipher, &u, &code)
    })
    .await
    {
        Ok(codes) => {
            let continue_to = if user.session.user.role() == Role::Admin {
                "/admin"
            } else {
                "/account"
            };
            let page = RecoveryCodesPage {
                ctx: user.ctx,
                codes,
                continue_to: continue_to.into(),
            };
            no_store(render(StatusCode::OK, &page)?)
        }
        Err(e) => field_errors_or(&req, &user.session.user, user.ctx, e).await,
    }
}

async fn field_errors_or(
    req: &HttpRequest,
    user: &crate::models::user::User,
    ctx: PageCtx,
    e: AppError,
) -> PageResult<HttpResponse> {
    let errors = match &e {
        AppError::FieldRule { fields, .. } | AppError::Validation { fields, .. } => fields.clone(),
        AppError::Rule { message, .. } | AppError::Conflict { message, .. } => {
            FieldErrors::from([("code".to_string(), message.clone())])
        }
        AppError::TooManyRequests { .. } => {
            FieldErrors::from([("code".to_string(), e.public_message())])
        }
        _ => return Err(e.into()),
    };
    let p = page_for(req, user, ctx, errors).await?;
    show(&p, e.status())
}

#[derive(Debug, Default, Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub code: String,
}

/// Turns it off, with the password and a code.
pub async fn disable(
    req: HttpRequest,
    user: LoggedIn,
    CsrfForm(form): CsrfForm<DisableForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let me = user.session.user.clone();
    let u = me.clone();
    let password = form.current_password;
    let checked =
        blocking(move || accounts::check_current_password(&u, &password, "current_password")).await;
    let result = match checked {
        Ok(()) => {
            let (settings, cipher) = (state.settings.clone(), state.cipher.clone());
            let u = me.clone();
            let code = form.code;
            with_conn(&state.pool, move |conn| {
                totp::disable(conn, &settings, &cipher, &u, &code)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(redirect_with_flash(
            "/account/two-factor",
            "Two-factor sign-in is off.",
        )),
        Err(e) => field_errors_or(&req, &me, user.ctx, e).await,
    }
}
