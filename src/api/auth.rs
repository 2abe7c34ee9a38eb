//! `/api/v1/auth/*` and `/api/v1/me`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiEnrolling, ApiUser, UserOut};
use crate::domain::account::TokenPurpose;
use crate::error::{ApiResult, AppError};
use crate::http::{app_state, client_key};
use crate::services::accounts::{self, RegisterInput};
use crate::services::{blocking, with_conn};

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    pub email: String,
    /// 10 to 128 characters, not easy to guess (422 `password_weak` with the reason).
    pub password: String,
    pub name: String,
    /// `client` or `therapist` (admins are never self-registered).
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterOut {
    pub user: UserOut,
}

#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses((status = 201, body = RegisterOut, description = "registered (`user.email_verified` false); a mail with the verification link (`/verify-email?token=...`, 48 hours, once) is on its way"),
              (status = 409, description = "email_taken"),
              (status = 422, description = "validation_failed, password_weak (the reason in `message` and `fields.password`)"),
              (status = 429, description = "too_many_requests: too many registrations from this address, with Retry-After")))]
pub async fn register(req: HttpRequest, body: web::Json<RegisterBody>) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    state.registration_allowed(client_key(&req))?;
    let body = body.into_inner();
    let input = RegisterInput {
        email: body.email,
        password: body.password,
        name: body.name,
        role: body.role,
    };
    // The password is checked and hashed before a connection is taken.
    let prepared = blocking(move || accounts::prepare_registration(&input)).await?;
    let mail = state.mail.clone();
    let user = with_conn(&state.pool, move |conn| {
        accounts::register_prepared(conn, &mail, &prepared)
    })
    .await?;
    Ok(HttpResponse::Created().json(RegisterOut {
        user: UserOut::from(&user),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
    /// The second factor of an account with two-factor sign-in: the 6-digit code of the
    /// authenticator app (a code of a time step already used is refused) or one of the
    /// recovery codes (each works once).
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginOut {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub user: UserOut,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = LoginOut),
              (status = 401, description = "invalid_credentials; totp_required (the password is right, the account needs `totp`); invalid_totp (a wrong or already used code: counted and locked like a wrong password, and audited)"),
              (status = 403, description = "account_suspended"),
              (status = 429, description = "too_many_requests, with Retry-After")))]
pub async fn login(req: HttpRequest, body: web::Json<LoginBody>) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    if let Err(wait) = state.login_limiter.check(&client_key(&req)) {
        return Err(AppError::TooManyRequests {
            retry_after_secs: wait,
        }
        .into());
    }
    let settings = state.settings.clone();
    let cipher = state.cipher.clone();
    let body = body.into_inner();
    let (user, token) = with_conn(&state.pool, move |conn| {
        let user = crate::services::totp::login(
            conn,
            &settings,
            &cipher,
            &body.email,
            &body.password,
            body.totp.as_deref(),
        )?;
        let token = accounts::issue_api_token(conn, &settings, &user)?;
        Ok((user, token))
    })
    .await?;
    Ok(HttpResponse::Ok().json(LoginOut {
        token,
        user: UserOut::from(&user),
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "the token is revoked"), (status = 401)))]
pub async fn logout(req: HttpRequest, caller: ApiEnrolling) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let user_id = caller.user.id;
    with_conn(&state.pool, move |conn| {
        accounts::revoke_api_token(conn, &caller.token, user_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = UserOut, description = "the caller, with `email_verified` and `totp_enabled` (an admin without a second factor reaches this, `/api/v1/me/totp*` and logout only)"), (status = 401)))]
pub async fn me(caller: ApiEnrolling) -> ApiResult<web::Json<UserOut>> {
    Ok(web::Json(UserOut::from(&caller.user)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenBody {
    /// The `token` of the mail's link.
    #[serde(default)]
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = TokenBody,
    responses((status = 204, description = "the address is verified; for an email change, the new address is the account's now"),
              (status = 409, description = "email_taken: the new address of an email change belongs to another account since"),
              (status = 422, description = "token_invalid, token_used (each link works once), token_expired (after 48 hours)")))]
pub async fn verify_email(req: HttpRequest, body: web::Json<TokenBody>) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let token = body.into_inner().token;
    with_conn(&state.pool, move |conn| {
        accounts::verify_email(conn, &token)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/auth/resend-verification", tag = "auth",
    responses((status = 202, description = "a new verification link is on its way"), (status = 401),
              (status = 409, description = "already_verified"),
              (status = 429, description = "too_many_requests: too many links asked for this address, with Retry-After")))]
pub async fn resend_verification(req: HttpRequest, caller: ApiUser) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let user = caller.user;
    if !user.email_verified() {
        state.account_mail_allowed(None, &user.email)?;
    }
    let mail = state.mail.clone();
    with_conn(&state.pool, move |conn| {
        accounts::resend_verification(conn, &mail, &user)
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailBody {
    #[serde(default)]
    pub email: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = EmailBody,
    responses((status = 202, description = "the same answer, in the same time, whether or not an account has this address; when one has, a reset link (1 hour, once) is mailed to it"),
              (status = 422, description = "validation_failed: not an email address"),
              (status = 429, description = "too_many_requests: per client address or per email, with Retry-After")))]
pub async fn password_reset(
    req: HttpRequest,
    body: web::Json<EmailBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let email = body.into_inner().email;
    crate::domain::account::Email::parse(&email).map_err(|m| AppError::field("email", m))?;
    state.account_mail_allowed(Some(client_key(&req)), &email)?;
    accounts::spawn_password_reset(&state.pool, &state.mail, email);
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenPasswordBody {
    /// The `token` of the mail's link.
    #[serde(default)]
    pub token: String,
    /// The new password: 10 to 128 characters, not easy to guess.
    #[serde(default)]
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = TokenPasswordBody,
    responses((status = 204, description = "the password is changed; every session and API token of the account ended"),
              (status = 422, description = "token_invalid, token_used, token_expired (after 1 hour), password_weak")))]
pub async fn password_reset_confirm(
    req: HttpRequest,
    body: web::Json<TokenPasswordBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    accounts::set_password_by_token(
        &state.pool,
        b.token,
        b.password,
        TokenPurpose::PasswordReset,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/auth/accept-invite", tag = "auth", request_body = TokenPasswordBody,
    responses((status = 204, description = "the invited admin's password is set; they can log in"),
              (status = 422, description = "token_invalid, token_used, token_expired (after 7 days), password_weak")))]
pub async fn accept_invite(
    req: HttpRequest,
    body: web::Json<TokenPasswordBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    accounts::set_password_by_token(&state.pool, b.token, b.password, TokenPurpose::AdminInvite)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
