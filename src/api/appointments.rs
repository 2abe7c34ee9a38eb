//! `/api/v1/appointments/...`.

use actix_web::{web, HttpRequest};
use chrono::SecondsFormat;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::ApiUser;
use crate::error::ApiResult;
use crate::services::{booking, with_conn};
use crate::web::app_state;

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreeningSummaryOut {
    /// `ok`, `caution`, `needs_clearance`, `decline` or `refer`.
    pub outcome: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentOut {
    pub id: i64,
    pub therapist_id: i64,
    pub client_id: i64,
    pub service_id: i64,
    /// `requested`, `confirmed`, `completed`, `cancelled` or `no_show`.
    pub status: String,
    /// RFC 3339, UTC.
    pub starts_at: String,
    pub ends_at: String,
    pub screening: ScreeningSummaryOut,
}

#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "appointments",
    responses((status = 200, body = AppointmentOut),
              (status = 404, description = "unknown, or not the caller's appointment")))]
pub async fn get(
    req: HttpRequest,
    caller: ApiUser,
    id: web::Path<i64>,
) -> ApiResult<web::Json<AppointmentOut>> {
    let state = app_state(&req);
    let id = id.into_inner();
    let a = with_conn(&state.pool, move |conn| {
        booking::find_visible(conn, &caller.user, id)
    })
    .await?;
    Ok(web::Json(AppointmentOut {
        id: a.id,
        therapist_id: a.therapist_id,
        client_id: a.client_id,
        service_id: a.service_id,
        status: a.status,
        starts_at: a
            .starts_at
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        ends_at: a
            .ends_at
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        screening: ScreeningSummaryOut {
            outcome: a.screening_outcome,
        },
    }))
}
