//! The JSON API `/api/v1`: the same services as the pages, bearer-token auth.

pub mod account;
pub mod admin;
pub mod appointments;
pub mod auth;
pub mod calendar;
pub mod courses;
pub mod directory;
pub mod me;
pub mod notes;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod reviews;
pub mod schedule;
pub mod screening;
pub mod totp;
pub mod waitlist;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::account::Role;
use crate::error::{ApiError, AppError};
use crate::http::app_state;
use crate::models::user::User;
use crate::services::access::Proof;
use crate::services::{accounts, with_conn};

/// The bearer token of the request, if any.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty() && token.len() <= 128).then(|| token.to_string())
}

/// The user a bearer token of this request resolved to (kept in the request's extensions).
#[derive(Clone)]
struct ResolvedToken(String, User);

/// The caller, authenticated by a live bearer token (401 otherwise).
pub struct ApiUser {
    pub user: User,
    pub token: String,
}

impl ApiUser {
    /// 403 unless the caller has `role`.
    pub fn require(self, role: Role) -> Result<ApiUser, ApiError> {
        if self.user.role() == role {
            Ok(self)
        } else {
            Err(AppError::Forbidden.into())
        }
    }
}

/// The caller of a live bearer token, whoever they are (an admin who has not enrolled a
/// second factor included): what the few routes they may reach take (`/api/v1/me`,
/// `/api/v1/me/totp*`, logout). Every other route takes [`ApiUser`] or [`ApiAs`].
pub struct ApiEnrolling {
    pub user: User,
    pub token: String,
}

impl FromRequest for ApiEnrolling {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiEnrolling, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let token = bearer_token(&req).ok_or(AppError::Unauthorized)?;
            // Resolved once per request: the route's guard and the handler's extractor share it.
            if let Some(ResolvedToken(t, user)) = req.extensions().get::<ResolvedToken>() {
                if *t == token {
                    return Ok(ApiEnrolling {
                        user: user.clone(),
                        token,
                    });
                }
            }
            let state = app_state(&req);
            let t = token.clone();
            let user = with_conn(&state.pool, move |conn| {
                accounts::resolve_api_token(conn, &t)
            })
            .await?
            .ok_or(AppError::Unauthorized)?;
            req.extensions_mut()
                .insert(ResolvedToken(token.clone(), user.clone()));
            Ok(ApiEnrolling { user, token })
        })
    }
}

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiUser, ApiError>>>>;

    /// [`ApiEnrolling`], and 403 `totp_enrolment_required` for an admin without a second
    /// factor (`services::access::may_act`).
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = ApiEnrolling::from_request(req, payload);
        Box::pin(async move {
            let ApiEnrolling { user, token } = caller.await?;
            crate::services::access::may_act(&user)?;
            Ok(ApiUser { user, token })
        })
    }
}

/// The caller, authenticated by a live bearer token and proven to have one role
/// (`ApiAs<Admin>`, ...): 401 without a live token, 403 for another role.
pub struct ApiAs<P> {
    pub who: P,
    pub token: String,
}

impl<P: Proof> FromRequest for ApiAs<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiAs<P>, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = ApiEnrolling::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let ApiEnrolling { user, token } = user.await?;
            match P::prove(user.clone()) {
                Ok(who) => Ok(ApiAs { who, token }),
                Err(e) if e.code() == crate::domain::totp::TOTP_ENROLMENT_REQUIRED => Err(e.into()),
                Err(e) => {
                    crate::http::refused(&req, &user, P::ROLE).await;
                    Err(e.into())
                }
            }
        })
    }
}

/// A user as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// `client`, `therapist` or `admin`.
    pub role: String,
    /// Whether the email address is verified (booking needs it; an invited admin who has not
    /// accepted yet is not).
    pub email_verified: bool,
    /// Whether logging in takes a TOTP code (two-factor sign-in is on).
    pub totp_enabled: bool,
}

impl From<&User> for UserOut {
    fn from(u: &User) -> Self {
        UserOut {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            email_verified: u.email_verified(),
            totp_enabled: u.totp_enabled(),
        }
    }
}

/// A page of a list: `{total, page, per_page, results}`.
#[derive(Debug, Serialize)]
pub struct ListOut<T> {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub results: Vec<T>,
}

/// Malformed JSON, wrong types, an oversized body: a JSON error, never a 500.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError;
            let app = match &err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => AppError::PayloadTooLarge,
                JsonPayloadError::ContentType => {
                    AppError::BadRequest("Send JSON with Content-Type: application/json.".into())
                }
                // serde's message can quote the value (a password): give the place only.
                JsonPayloadError::Deserialize(e) => AppError::BadRequest(format!(
                    "The JSON body could not be read (line {}, column {}): check the field names and types against /api/openapi.json.",
                    e.line(),
                    e.column()
                )),
                _ => AppError::BadRequest("The JSON body could not be read.".into()),
            };
            ApiError(app).into()
        })
}

/// The header of safe retries on `POST /api/v1/appointments` and `POST /api/v1/courses`.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The claim of the request's `Idempotency-Key` on this route and body (None without the
/// header; 422 `invalid_idempotency_key` when it is not 1 to 200 visible ASCII characters).
/// The body is the parsed request serialized again, so the same request with its fields in
/// another order is the same request.
pub fn idempotency_claim<B: Serialize>(
    req: &HttpRequest,
    user_id: i64,
    route: &str,
    body: &B,
) -> Result<Option<crate::services::idempotency::Claim>, AppError> {
    use crate::domain::idempotency::IdempotencyKey;
    use crate::services::idempotency::{invalid_key, Claim};
    let Some(value) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| invalid_key("The Idempotency-Key may hold visible ASCII characters only."))
        .and_then(|v| IdempotencyKey::parse(v).map_err(|e| invalid_key(e.0)))?;
    let canonical = serde_json::to_vec(body).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Some(Claim::new(user_id, &key, route, &canonical)))
}

/// The first answer of a key, given again (`Idempotent-Replayed: true`).
pub fn replayed(stored: crate::services::idempotency::Stored) -> actix_web::HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(stored.status)
        .unwrap_or(actix_web::http::StatusCode::OK);
    actix_web::HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("Idempotent-Replayed", "true"))
        .body(stored.body)
}

/// The answer of a request that created something: 201 with this JSON body (what an
/// idempotency key keeps, `services::idempotency::run`, and what the handler answers).
pub fn created_answer<T: Serialize>(
    out: &T,
) -> Result<crate::services::idempotency::Stored, AppError> {
    Ok(crate::services::idempotency::Stored {
        status: 201,
        body: serde_json::to_string(out).map_err(|e| AppError::Internal(e.into()))?,
    })
}

/// A 201 with this JSON body.
pub fn created<T: Serialize>(out: &T) -> Result<actix_web::HttpResponse, AppError> {
    let stored = created_answer(out)?;
    Ok(actix_web::HttpResponse::Created()
        .content_type("application/json")
        .body(stored.body))
}
