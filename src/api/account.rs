//! `/api/v1/me/...` for any logged-in person's own account: change the password or the email
//! address, export everything stored about them; and a client erasing their account.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::{ApiAs, ApiUser};
use crate::error::ApiResult;
use crate::http::app_state;
use crate::services::access::{self, Proof};
use crate::services::accounts::{self, Current};
use crate::services::{account_data, blocking, with_conn};

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChangeBody {
    #[serde(default)]
    pub current_password: String,
    /// 10 to 128 characters, not easy to guess.
    #[serde(default)]
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "account", request_body = PasswordChangeBody,
    responses((status = 204, description = "changed; every other session and API token of the account ended (this token goes on); a notice is mailed"),
              (status = 401),
              (status = 422, description = "wrong_password (`fields.current_password`), password_weak (`fields.new_password`)")))]
pub async fn change_password(
    req: HttpRequest,
    caller: ApiUser,
    body: web::Json<PasswordChangeBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    let user = caller.user.clone();
    let hash = blocking(move || {
        accounts::prepare_password_change(&user, &b.current_password, &b.new_password)
    })
    .await?;
    let (mail, user, keep) = (
        state.mail.clone(),
        caller.user,
        Current::ApiToken(caller.token),
    );
    with_conn(&state.pool, move |conn| {
        accounts::change_password(conn, &mail, &user, &hash, &keep)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailChangeBody {
    #[serde(default)]
    pub current_password: String,
    /// The new address: it takes effect when the token of the link mailed to it is posted to
    /// `POST /api/v1/auth/verify-email`.
    #[serde(default)]
    pub email: String,
}

#[utoipa::path(put, path = "/api/v1/me/email", tag = "account", request_body = EmailChangeBody,
    responses((status = 202, description = "a link (48 hours, once) went to the new address, a notice to the current one; the address changes when the link's token is verified"),
              (status = 401),
              (status = 409, description = "email_taken"),
              (status = 422, description = "wrong_password, validation_failed (`fields.email`)")))]
pub async fn change_email(
    req: HttpRequest,
    caller: ApiUser,
    body: web::Json<EmailChangeBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    let user = caller.user.clone();
    let current = b.current_password;
    blocking(move || accounts::check_current_password(&user, &current, "current_password")).await?;
    let (mail, user) = (state.mail.clone(), caller.user);
    with_conn(&state.pool, move |conn| {
        accounts::change_email(conn, &mail, &user, &b.email)
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

#[utoipa::path(get, path = "/api/v1/me/export", tag = "account",
    responses((status = 200, description = "everything stored about the caller as one JSON document: `account`, `appointments_as_client` (with the caller's own `screening_answers` decrypted; each decryption is logged like any read of answers), `practice` (therapists), `sessions`, `api_tokens`, `mails`, `audit`", content_type = "application/json"),
              (status = 401)))]
pub async fn export(req: HttpRequest, caller: ApiUser) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let st = state.clone();
    let doc = with_conn(&state.pool, move |conn| {
        account_data::export(conn, &st.cipher, &caller.user)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(doc))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteAccountBody {
    #[serde(default)]
    pub current_password: String,
}

#[utoipa::path(delete, path = "/api/v1/me", tag = "account", request_body = DeleteAccountBody,
    responses((status = 204, description = "erased: upcoming bookings cancelled (their therapists are mailed), name and email replaced by a placeholder that cannot log in, screening answers destroyed, every session and token ended; therapists keep an anonymised record of past sessions"),
              (status = 401), (status = 403, description = "not a client"),
              (status = 422, description = "wrong_password")))]
pub async fn delete_me(
    req: HttpRequest,
    caller: ApiAs<access::Client>,
    body: web::Json<DeleteAccountBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let user = caller.who.user().clone();
    let current = body.into_inner().current_password;
    blocking(move || accounts::check_current_password(&user, &current, "current_password")).await?;
    let (mail, client) = (state.mail.clone(), caller.who);
    with_conn(&state.pool, move |conn| {
        account_data::erase(conn, &mail, &client, chrono::Utc::now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
