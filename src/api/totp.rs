//! `/api/v1/me/totp`: two-factor sign-in (`services::totp`). An admin who has not enrolled
//! reaches these (and `/api/v1/me`, logout) and nothing else.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiEnrolling, ApiUser};
use crate::error::ApiResult;
use crate::http::app_state;
use crate::services::{accounts, blocking, totp, with_conn};

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpStatusOut {
    /// Logging in takes a code.
    pub enabled: bool,
    /// An enrolment waits for its confirmation.
    pub pending: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

#[utoipa::path(get, path = "/api/v1/me/totp", tag = "auth",
    responses((status = 200, body = TotpStatusOut), (status = 401)))]
pub async fn status(req: HttpRequest, caller: ApiEnrolling) -> ApiResult<web::Json<TotpStatusOut>> {
    let state = app_state(&req);
    let id = caller.user.id;
    let s = with_conn(&state.pool, move |conn| totp::status(conn, id)).await?;
    Ok(web::Json(TotpStatusOut {
        enabled: s.enabled,
        pending: s.pending,
        recovery_codes_left: s.recovery_codes_left,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolmentOut {
    /// The secret in base32, for an app without a camera.
    pub secret: String,
    /// `otpauth://totp/Bodywork:<email>?secret=...&issuer=Bodywork` (SHA-1, 6 digits, 30 s).
    pub otpauth_uri: String,
}

#[utoipa::path(post, path = "/api/v1/me/totp", tag = "auth",
    responses((status = 200, body = TotpEnrolmentOut, description = "a pending enrolment with a new secret (an earlier pending one is replaced); confirm it with a code"),
              (status = 401), (status = 409, description = "totp_already_enabled: turn it off first")))]
pub async fn start(
    req: HttpRequest,
    caller: ApiEnrolling,
) -> ApiResult<web::Json<TotpEnrolmentOut>> {
    let state = app_state(&req);
    let cipher = state.cipher.clone();
    let user = caller.user;
    let e = with_conn(&state.pool, move |conn| totp::start(conn, &cipher, &user)).await?;
    Ok(web::Json(TotpEnrolmentOut {
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpCodeBody {
    /// The 6 digits the app shows now.
    #[serde(default)]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesOut {
    /// Ten codes, each good for one login without the app: shown this once only.
    pub recovery_codes: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "auth", request_body = TotpCodeBody,
    responses((status = 200, body = RecoveryCodesOut, description = "two-factor sign-in is on; the token in use keeps working"),
              (status = 401), (status = 409, description = "totp_already_enabled"),
              (status = 422, description = "invalid_totp (a wrong code, `fields.code`); totp_not_pending (no enrolment started)")))]
pub async fn confirm(
    req: HttpRequest,
    caller: ApiEnrolling,
    body: web::Json<TotpCodeBody>,
) -> ApiResult<web::Json<RecoveryCodesOut>> {
    let state = app_state(&req);
    let cipher = state.cipher.clone();
    let user = caller.user;
    let code = body.into_inner().code;
    let codes = with_conn(&state.pool, move |conn| {
        totp::confirm(conn, &cipher, &user, &code)
    })
    .await?;
    Ok(web::Json(RecoveryCodesOut {
        recovery_codes: codes,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpDisableBody {
    #[serde(default)]
    pub current_password: String,
    /// A code of the app, or a recovery code.
    #[serde(default)]
    pub code: String,
}

#[utoipa::path(delete, path = "/api/v1/me/totp", tag = "auth", request_body = TotpDisableBody,
    responses((status = 204, description = "two-factor sign-in is off (an admin must enrol again before anything else)"),
              (status = 401),
              (status = 403, description = "totp_enrolment_required (an admin without a second factor)"),
              (status = 422, description = "wrong_password (`fields.current_password`); invalid_totp (`fields.code`, counted like a failed login); totp_not_enabled"),
              (status = 429, description = "too_many_requests: logins are locked after too many failures, with Retry-After")))]
pub async fn disable(
    req: HttpRequest,
    caller: ApiUser,
    body: web::Json<TotpDisableBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    let user = caller.user;
    let u = user.clone();
    let password = b.current_password;
    blocking(move || accounts::check_current_password(&u, &password, "current_password")).await?;
    let (settings, cipher) = (state.settings.clone(), state.cipher.clone());
    with_conn(&state.pool, move |conn| {
        totp::disable(conn, &settings, &cipher, &user, &b.code)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
