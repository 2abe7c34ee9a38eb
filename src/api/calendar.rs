//! Calendars through the API: an appointment's .ics, and the therapist's private feed URL
//! (`/api/v1/me/calendar-feed`). The feed itself is `GET /calendar/{token}.ics` (`web::calendar`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::ApiAs;
use crate::api::ApiUser;
use crate::error::ApiResult;
use crate::http::app_state;
use crate::http::{feed_url, ics_response};
use crate::services::access::{self, Proof};
use crate::services::{calendar, with_conn};

#[utoipa::path(get, path = "/api/v1/appointments/{id}/calendar.ics", tag = "calendar",
    responses((status = 200, content_type = "text/calendar", body = String,
               description = "the appointment as an iCalendar file: time (UTC), technique, the other party's name, status; never screening data"),
              (status = 401), (status = 404, description = "unknown, or not the caller's appointment (admins too)")))]
pub async fn appointment_ics(
    req: HttpRequest,
    caller: ApiUser,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let id = id.into_inner();
    let ics = with_conn(&state.pool, move |conn| {
        calendar::appointment_ics_for(conn, &caller.user, id)
    })
    .await?;
    Ok(ics_response(ics, Some(id)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedOut {
    /// The private feed URL to subscribe to. Shown only now: the server keeps only a hash.
    pub url: String,
}

#[utoipa::path(post, path = "/api/v1/me/calendar-feed", tag = "calendar",
    responses((status = 201, body = FeedOut, description = "a new feed URL; any previous one stops working"), (status = 401), (status = 403, description = "not a therapist")))]
pub async fn create_feed(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<HttpResponse> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _user_id = caller.who.user().id;
    let token = with_conn(&state.pool, move |conn| {
        calendar::create_feed_token(conn, &me)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(FeedOut {
            url: feed_url(&req, &token),
        }))
}

#[utoipa::path(delete, path = "/api/v1/me/calendar-feed", tag = "calendar",
    responses((status = 204, description = "the feed URL no longer works"), (status = 401), (status = 403, description = "not a therapist")))]
pub async fn revoke_feed(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<HttpResponse> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _user_id = caller.who.user().id;
    with_conn(&state.pool, move |conn| {
        calendar::revoke_feed_token(conn, &me)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
