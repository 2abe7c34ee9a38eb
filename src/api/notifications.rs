//! `/api/v1/me/notifications`: the caller's mail choices (whether reminders come before their
//! sessions).

use actix_web::{web, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::ApiUser;
use crate::error::ApiResult;
use crate::http::app_state;
use crate::services::preferences::{self, Notifications};
use crate::services::with_conn;

/// A person's mail choices.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationsBody {
    /// Reminder mails before each session (`BODYWORK_REMINDER_HOURS` before, default 24).
    pub reminders: bool,
}

impl From<Notifications> for NotificationsBody {
    fn from(n: Notifications) -> Self {
        NotificationsBody {
            reminders: n.reminders,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "auth",
    responses((status = 200, body = NotificationsBody), (status = 401)))]
pub async fn get_notifications(
    req: HttpRequest,
    caller: ApiUser,
) -> ApiResult<web::Json<NotificationsBody>> {
    let state = app_state(&req);
    let user_id = caller.user.id;
    let n = with_conn(&state.pool, move |conn| {
        preferences::notifications(conn, user_id)
    })
    .await?;
    Ok(web::Json(n.into()))
}

#[utoipa::path(put, path = "/api/v1/me/notifications", tag = "auth",
    request_body = NotificationsBody,
    responses((status = 200, body = NotificationsBody, description = "the stored choices; turning reminders off withdraws those already planned"),
              (status = 400), (status = 401)))]
pub async fn put_notifications(
    req: HttpRequest,
    caller: ApiUser,
    body: web::Json<NotificationsBody>,
) -> ApiResult<web::Json<NotificationsBody>> {
    let state = app_state(&req);
    let user_id = caller.user.id;
    let choice = Notifications {
        reminders: body.reminders,
    };
    let n = with_conn(&state.pool, move |conn| {
        preferences::set_notifications(conn, user_id, choice)
    })
    .await?;
    Ok(web::Json(n.into()))
}
