//! `/api/v1/me/...`: the therapist's own data (therapists only).

use actix_web::{web, HttpRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::ApiUser;
use crate::domain::account::Role;
use crate::error::ApiResult;
use crate::services::{therapists, with_conn};
use crate::web::app_state;

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingPolicyOut {
    pub min_notice_hours: i32,
    /// Up to 365.
    pub max_advance_days: i32,
    pub buffer_min: i32,
    pub cancellation_window_hours: i32,
    pub auto_confirm: bool,
}

#[utoipa::path(get, path = "/api/v1/me/booking-policy", tag = "therapist",
    responses((status = 200, body = BookingPolicyOut), (status = 401), (status = 403)))]
pub async fn get_booking_policy(
    req: HttpRequest,
    caller: ApiUser,
) -> ApiResult<web::Json<BookingPolicyOut>> {
    let caller = caller.require(Role::Therapist)?;
    let state = app_state(&req);
    let user_id = caller.user.id;
    let p = with_conn(&state.pool, move |conn| {
        therapists::booking_policy(conn, user_id)
    })
    .await?;
    Ok(web::Json(BookingPolicyOut {
        min_notice_hours: p.min_notice_hours,
        max_advance_days: p.max_advance_days,
        buffer_min: p.buffer_min,
        cancellation_window_hours: p.cancellation_window_hours,
        auto_confirm: p.auto_confirm,
    }))
}
