//! `/api/v1/me/weekly-hours`, `/api/v1/me/time-off`, `PUT /api/v1/me/booking-policy` (therapists).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::me::BookingPolicyOut;
use crate::api::ApiAs;
use crate::domain::schedule::{format_hhmm, PolicyInput, WeeklyRangeInput};
use crate::error::ApiResult;
use crate::http::app_state;
use crate::services::access::{self, Proof};
use crate::services::{schedule, therapists, with_conn};

fn week_out(ranges: Vec<crate::domain::availability::WeeklyRange>) -> Vec<WeeklyRangeInput> {
    ranges
        .into_iter()
        .map(|r| WeeklyRangeInput {
            weekday: r.weekday as i64,
            start: format_hhmm(r.start_min),
            end: format_hhmm(r.end_min),
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/me/weekly-hours", tag = "therapist",
    responses((status = 200, body = [WeeklyRangeInput])))]
pub async fn get_weekly(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<web::Json<Vec<WeeklyRangeInput>>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let w = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        schedule::weekly(conn, t.id)
    })
    .await?;
    Ok(web::Json(week_out(w)))
}

#[utoipa::path(put, path = "/api/v1/me/weekly-hours", tag = "therapist", request_body = [WeeklyRangeInput],
    responses((status = 200, body = [WeeklyRangeInput], description = "replaces the whole week"), (status = 422, description = "validation_failed")))]
pub async fn put_weekly(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    body: web::Json<Vec<WeeklyRangeInput>>,
) -> ApiResult<web::Json<Vec<WeeklyRangeInput>>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let input = body.into_inner();
    let w = with_conn(&state.pool, move |conn| {
        schedule::replace_weekly(conn, &me, &input)
    })
    .await?;
    Ok(web::Json(week_out(w)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TimeOffBody {
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOffOut {
    pub id: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub note: String,
}

fn time_off_out(t: schedule::TimeOff) -> TimeOffOut {
    TimeOffOut {
        id: t.id,
        starts_at: t
            .starts_at
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        ends_at: t
            .ends_at
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        note: t.note,
    }
}

#[utoipa::path(get, path = "/api/v1/me/time-off", tag = "therapist",
    responses((status = 200, body = [TimeOffOut], description = "time off that has not ended")))]
pub async fn list_time_off(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<web::Json<Vec<TimeOffOut>>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let list = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        schedule::time_off_list(conn, t.id)
    })
    .await?;
    Ok(web::Json(list.into_iter().map(time_off_out).collect()))
}

#[utoipa::path(post, path = "/api/v1/me/time-off", tag = "therapist", request_body = TimeOffBody,
    responses((status = 201, body = TimeOffOut), (status = 422, description = "validation_failed: `ends_at` not after `starts_at`, more than a year long, or already over; `starts_at` more than two years ahead")))]
pub async fn add_time_off(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    body: web::Json<TimeOffBody>,
) -> ApiResult<HttpResponse> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let b = body.into_inner();
    let t = with_conn(&state.pool, move |conn| {
        schedule::add_time_off(
            conn,
            &me,
            b.starts_at.with_timezone(&Utc),
            b.ends_at.with_timezone(&Utc),
            &b.note,
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(time_off_out(t)))
}

#[utoipa::path(delete, path = "/api/v1/me/time-off/{id}", tag = "therapist",
    responses((status = 204), (status = 404)))]
pub async fn remove_time_off(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let (_id, tid) = (caller.who.user().id, path.into_inner());
    with_conn(&state.pool, move |conn| {
        schedule::remove_time_off(conn, &me, tid)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, path = "/api/v1/me/booking-policy", tag = "therapist", request_body = PolicyInput,
    responses((status = 200, body = BookingPolicyOut), (status = 422, description = "validation_failed")))]
pub async fn put_policy(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    body: web::Json<PolicyInput>,
) -> ApiResult<web::Json<BookingPolicyOut>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let input = body.into_inner();
    let p = with_conn(&state.pool, move |conn| {
        schedule::update_policy(conn, &me, &input)
    })
    .await?;
    Ok(web::Json(p.into()))
}
