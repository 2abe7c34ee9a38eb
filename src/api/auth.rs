//! `/api/v1/auth/*` and `/api/v1/me`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiUser, UserOut};
use crate::error::{ApiResult, AppError};
use crate::http::{app_state, client_ip};
use crate::services::accounts::{self, RegisterInput};
use crate::services::with_conn;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    pub email: String,
    /// 8 to 128 characters.
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
    responses((status = 201, body = RegisterOut), (status = 409, description = "email_taken"),
              (status = 422, description = "validation_failed")))]
pub async fn register(req: HttpRequest, body: web::Json<RegisterBody>) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let body = body.into_inner();
    let input = RegisterInput {
        email: body.email,
        password: body.password,
        name: body.name,
        role: body.role,
    };
    let user = with_conn(&state.pool, move |conn| accounts::register(conn, &input)).await?;
    Ok(HttpResponse::Created().json(RegisterOut {
        user: UserOut::from(&user),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginOut {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub user: UserOut,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = LoginOut), (status = 401, description = "invalid_credentials"),
              (status = 429, description = "too_many_requests, with Retry-After")))]
pub async fn login(req: HttpRequest, body: web::Json<LoginBody>) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    if let Err(wait) = state.login_limiter.check(client_ip(&req)) {
        return Err(AppError::TooManyRequests {
            retry_after_secs: wait,
        }
        .into());
    }
    let settings = state.settings.clone();
    let body = body.into_inner();
    let (user, token) = with_conn(&state.pool, move |conn| {
        let user = accounts::authenticate(conn, &settings, &body.email, &body.password)?;
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
pub async fn logout(req: HttpRequest, caller: ApiUser) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let user_id = caller.user.id;
    with_conn(&state.pool, move |conn| {
        accounts::revoke_api_token(conn, &caller.token, user_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = UserOut), (status = 401)))]
pub async fn me(caller: ApiUser) -> ApiResult<web::Json<UserOut>> {
    Ok(web::Json(UserOut::from(&caller.user)))
}
