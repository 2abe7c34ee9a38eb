//! `/api/v1/appointments/...`, `/api/v1/me/bookings`, `/api/v1/me/appointments` and free slots.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::ApiAs;
use crate::api::ApiUser;
use crate::domain::screening::Evaluation;
use crate::error::{ApiResult, AppError};
use crate::http::app_state;
use crate::search::schedules::{local_rfc3339 as rfc3339, RawSlots};
use crate::services::access::{self, Proof};
use crate::services::booking::{
    self, AppointmentView, BookingRequest, ClientBooking, ListItem, Party,
};
use crate::services::{therapists, with_conn};

#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonOut {
    pub question_id: String,
    pub outcome: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreeningOut {
    /// `ok`, `caution`, `needs_clearance`, `decline` or `refer`.
    pub outcome: String,
    /// Present for the client and the therapist of the booking only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<ReasonOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_techniques: Option<Vec<String>>,
    /// The therapist's notes (caution, clearance), for the therapist only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub therapist_notes: Option<Vec<String>>,
}

fn screening_out(e: &Evaluation, notes: bool) -> ScreeningOut {
    ScreeningOut {
        outcome: e.outcome.as_str().to_string(),
        reasons: Some(
            e.reasons
                .iter()
                .map(|r| ReasonOut {
                    question_id: r.question_id.clone(),
                    outcome: r.outcome.as_str().into(),
                    message: r.message.clone(),
                })
                .collect(),
        ),
        suggested_techniques: Some(e.suggested_techniques.clone()),
        therapist_notes: notes.then(|| e.therapist_notes.clone()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentOut {
    pub id: i64,
    pub therapist_id: i64,
    pub client_id: i64,
    pub service_id: i64,
    /// `requested`, `confirmed`, `completed`, `cancelled` or `no_show`.
    pub status: String,
    /// RFC 3339 in the therapist's zone.
    pub starts_at: String,
    pub ends_at: String,
    pub timezone: String,
    pub therapist_name: String,
    pub client_name: String,
    pub technique: String,
    pub price_cents: i64,
    pub screening: ScreeningOut,
    /// The answers: only for the client and the therapist of the booking (each read by the
    /// therapist is logged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<BTreeMap<String, bool>>,
    pub clearance_confirmed: bool,
    pub flags_acknowledged: bool,
    pub cancel_reason: Option<String>,
    /// How a cancelled appointment ended: `cancelled`, `withdrawn` (a request its client
    /// withdrew), `declined` (by the therapist, `cancel_reason` holds their reason) or
    /// `rescheduled`; null otherwise.
    pub cancel_kind: Option<String>,
}

fn appointment_out(v: AppointmentView) -> AppointmentOut {
    let tz = v.tz();
    let screening = match (&v.screening, v.party) {
        (Some(e), p) => screening_out(e, p == Party::Therapist),
        (None, _) => ScreeningOut {
            outcome: v.appt.screening_outcome.clone(),
            reasons: None,
            suggested_techniques: None,
            therapist_notes: None,
        },
    };
    AppointmentOut {
        id: v.appt.id,
        therapist_id: v.appt.therapist_id,
        client_id: v.appt.client_id,
        service_id: v.appt.service_id,
        status: v.appt.status.as_str().into(),
        starts_at: rfc3339(v.appt.starts_at.and_utc(), tz),
        ends_at: rfc3339(v.appt.ends_at.and_utc(), tz),
        timezone: v.timezone.clone(),
        therapist_name: v.therapist_name.clone(),
        client_name: v.client_name.clone(),
        technique: v.technique.clone(),
        price_cents: v.price_cents,
        screening,
        answers: v.answers.clone(),
        clearance_confirmed: v.appt.clearance_confirmed,
        flags_acknowledged: v.appt.flags_acknowledged_at.is_some(),
        cancel_reason: v.appt.cancel_reason.clone(),
        cancel_kind: v.appt.cancel_kind().map(|k| k.as_str().to_string()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BookBody {
    pub therapist_id: i64,
    pub service_id: i64,
    /// RFC 3339 with an offset, one of the free slots.
    pub starts_at: DateTime<chrono::FixedOffset>,
    /// Every question of the current questionnaire, id → yes/no.
    pub answers: BTreeMap<String, bool>,
    #[serde(default)]
    pub clearance_confirmed: bool,
}

/// A service of the same therapist in a technique the screening suggests, offered with a
/// `screening_decline` (what the booking page's decline shows).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlternativeOut {
    pub service_id: i64,
    pub technique: String,
    pub duration_min: i32,
    pub price_cents: i64,
    /// The declined `starts_at` can be booked with this service as it is.
    pub same_time_free: bool,
    /// When it cannot: that day's free starts for this service (at most 12, the nearest to the
    /// declined time), on the therapist's clock.
    pub day_times: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/appointments", tag = "appointments", request_body = BookBody,
    responses((status = 201, body = AppointmentOut),
              (status = 409, description = "slot_taken, slot_unavailable"),
              (status = 422, description = "screening_refer, screening_decline, clearance_required (with `screening` in the error body; a screening_decline also has `alternatives`: [AlternativeOut], this therapist's services in the suggested techniques with whether the same time is free), validation_failed"),
              (status = 404, description = "unknown or suspended therapist, unknown or retired service")))]
pub async fn create(
    req: HttpRequest,
    caller: ApiAs<access::Client>,
    body: web::Json<BookBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    let request = BookingRequest {
        therapist_id: b.therapist_id,
        service_id: b.service_id,
        starts_at: b.starts_at.with_timezone(&Utc),
        answers: b.answers,
        clearance_confirmed: b.clearance_confirmed,
    };
    let (therapist_id, starts_at) = (request.therapist_id, request.starts_at);
    let client = caller.who;
    let st = state.clone();
    let booked = with_conn(&state.pool, move |conn| {
        let (appt, _) = booking::book(conn, &st.cipher, &client, &request)?;
        booking::view(conn, &st.cipher, client.user(), appt.id, "api")
    })
    .await;
    match booked {
        Ok(v) => Ok(HttpResponse::Created().json(appointment_out(v))),
        Err(
            e @ AppError::Screening {
                code: "screening_decline",
                ..
            },
        ) => {
            let AppError::Screening { screening, .. } = &e else {
                return Err(e.into());
            };
            let s = (**screening).clone();
            let alt = with_conn(&state.pool, move |conn| {
                booking::decline_alternatives(conn, therapist_id, &s, starts_at, Utc::now())
            })
            .await?;
            let alternatives: Vec<AlternativeOut> = alt
                .services
                .into_iter()
                .map(|a| AlternativeOut {
                    service_id: a.service.id,
                    technique: a.service.technique_slug,
                    duration_min: a.service.duration_min,
                    price_cents: a.service.price_cents,
                    same_time_free: a.same_time_free,
                    day_times: a
                        .day_times
                        .into_iter()
                        .map(|t| rfc3339(t, alt.tz))
                        .collect(),
                })
                .collect();
            Ok(HttpResponse::UnprocessableEntity().json(serde_json::json!({
                "error": {
                    "code": e.code(),
                    "message": e.public_message(),
                    "screening": screening,
                    "alternatives": alternatives,
                }
            })))
        }
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "appointments",
    responses((status = 200, body = AppointmentOut, description = "answers and reasons only for the client and the therapist; an admin sees the outcome alone"),
              (status = 404, description = "unknown, or not the caller's appointment")))]
pub async fn get(req: HttpRequest, caller: ApiUser, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let id = id.into_inner();
    let st = state.clone();
    let v = with_conn(&state.pool, move |conn| {
        booking::view(conn, &st.cipher, &caller.user, id, "api")
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(appointment_out(v)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingLine {
    pub id: i64,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub status: String,
    pub starts_at: String,
    pub ends_at: String,
    pub technique: String,
    pub duration_min: i32,
    pub price_cents: i64,
    pub screening_outcome: String,
    /// Flagged (caution or clearance) and not yet acknowledged by the therapist.
    pub awaiting_acknowledgement: bool,
    /// The client's name (therapist lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The reason given when it was cancelled or declined (`rescheduled` for a move).
    pub cancel_reason: Option<String>,
    /// How a cancelled appointment ended: `cancelled`, `withdrawn`, `declined` or
    /// `rescheduled`; null otherwise.
    pub cancel_kind: Option<String>,
    /// The client's list only: `upcoming` (requested or confirmed, not ended), `past`
    /// (completed, no-show, or requested or confirmed and ended) or `cancelled` (cancelled,
    /// withdrawn, declined or moved), as on the bookings page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The client's list only: where it stands for the client, `awaiting_confirmation`,
    /// `confirmed`, `completed`, `no_show`, `not_confirmed`, `ended`, `declined`, `withdrawn`,
    /// `cancelled_by_you`, `cancelled_by_therapist`, `moved` or `cancelled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The client's list only: the state in words, as the bookings page shows it
    /// ("Waiting for Maya Okafor to confirm", "Declined by the therapist").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_label: Option<String>,
}

fn line(i: &ListItem, client_name: Option<String>) -> BookingLine {
    let tz = i.tz();
    BookingLine {
        id: i.id,
        therapist_id: i.therapist_id,
        therapist_name: i.therapist_name.clone(),
        status: i.status.as_str().into(),
        starts_at: rfc3339(i.starts_at.and_utc(), tz),
        ends_at: rfc3339(i.ends_at.and_utc(), tz),
        technique: i.technique.clone(),
        duration_min: i.duration_min,
        price_cents: i.price_cents,
        screening_outcome: i.screening_outcome.clone(),
        awaiting_acknowledgement: i.awaiting_acknowledgement(),
        client_name,
        cancel_reason: i.cancel_reason.clone(),
        cancel_kind: i.cancel_kind().map(|k| k.as_str().to_string()),
        group: None,
        state: None,
        state_label: None,
    }
}

/// A line of the client's own list: with its group and state, as on the bookings page.
fn client_line(b: &ClientBooking) -> BookingLine {
    BookingLine {
        group: Some(b.group().as_str().into()),
        state: Some(b.state.code().into()),
        state_label: Some(b.words()),
        ..line(&b.item, None)
    }
}

#[utoipa::path(get, path = "/api/v1/me/bookings", tag = "appointments",
    responses((status = 200, body = [BookingLine], description = "the client's appointments, soonest first, each with its `group` and `state` as the bookings page shows them (the page orders upcoming soonest first, past and cancelled most recent first)")))]
pub async fn my_bookings(
    req: HttpRequest,
    caller: ApiAs<access::Client>,
) -> ApiResult<web::Json<Vec<BookingLine>>> {
    let state = app_state(&req);
    let me = caller.who;
    let now = Utc::now();
    let list = with_conn(&state.pool, move |conn| booking::client_list(conn, &me)).await?;
    Ok(web::Json(
        list.into_iter()
            .map(|i| client_line(&ClientBooking::new(i, now)))
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[utoipa::path(get, path = "/api/v1/me/appointments", tag = "therapist",
    params(("from" = Option<String>, Query, description = "YYYY-MM-DD, default 30 days ago"), ("to" = Option<String>, Query, description = "YYYY-MM-DD, default 90 days ahead")),
    responses((status = 200, body = [BookingLine], description = "the therapist's appointments with screening flags")))]
pub async fn my_appointments(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    q: web::Query<RangeQuery>,
) -> ApiResult<web::Json<Vec<BookingLine>>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let today = Utc::now().date_naive();
    let from = date_param(
        "from",
        &q.from.map(|d| d.to_string()),
        today - Duration::days(30),
    )?;
    let to = date_param(
        "to",
        &q.to.map(|d| d.to_string()),
        today + Duration::days(90),
    )?;
    if to < from || (to - from).num_days() > 400 {
        return Err(AppError::field("to", "Ask for at most 400 days, `to` after `from`.").into());
    }
    let list = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        booking::therapist_list(
            conn,
            t.id,
            from.and_hms_opt(0, 0, 0).unwrap_or_default(),
            (to + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        )
    })
    .await?;
    Ok(web::Json(
        list.into_iter().map(|(i, n)| line(&i, Some(n))).collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmBody {
    /// Must be true when the booking is flagged (caution or clearance).
    #[serde(default)]
    pub acknowledged_flags: bool,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RescheduleBody {
    pub starts_at: DateTime<chrono::FixedOffset>,
}

async fn after_change(
    req: &HttpRequest,
    user: crate::models::user::User,
    id: i64,
) -> ApiResult<HttpResponse> {
    let state = app_state(req);
    let st = state.clone();
    let v = with_conn(&state.pool, move |conn| {
        booking::view(conn, &st.cipher, &user, id, "api")
    })
    .await?;
    Ok(HttpResponse::Ok().json(appointment_out(v)))
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/confirm", tag = "appointments", request_body = ConfirmBody,
    responses((status = 200, body = AppointmentOut), (status = 422, description = "flags_not_acknowledged, invalid_transition"), (status = 403), (status = 404)))]
pub async fn confirm(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    id: web::Path<i64>,
    body: web::Json<ConfirmBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let (id, ack, user) = (id.into_inner(), body.acknowledged_flags, caller.who.clone());
    with_conn(&state.pool, move |conn| {
        booking::confirm(conn, &user, id, ack)
    })
    .await?;
    after_change(&req, caller.who.user().clone(), id).await
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/decline", tag = "appointments", request_body = ReasonBody,
    responses((status = 200, body = AppointmentOut), (status = 422, description = "validation_failed (reason), invalid_transition")))]
pub async fn decline(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    id: web::Path<i64>,
    body: web::Json<ReasonBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let (id, reason, user) = (
        id.into_inner(),
        body.into_inner().reason,
        caller.who.clone(),
    );
    with_conn(&state.pool, move |conn| {
        booking::decline(conn, &user, id, &reason)
    })
    .await?;
    after_change(&req, caller.who.user().clone(), id).await
}

/// Cancels: the client withdraws a request (not confirmed yet) any time before it starts, and
/// cancels a confirmed booking outside the therapist's cancellation window; the therapist cancels
/// any time before the start.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/cancel", tag = "appointments", request_body = ReasonBody,
    responses((status = 200, body = AppointmentOut, description = "`cancel_kind` is `withdrawn` for a request its client withdrew, `cancelled` otherwise"), (status = 422, description = "too_late_to_cancel (a confirmed booking inside the cancellation window), already_started, invalid_transition"), (status = 404)))]
pub async fn cancel(
    req: HttpRequest,
    caller: ApiUser,
    id: web::Path<i64>,
    body: Option<web::Json<ReasonBody>>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let reason = body.map(|b| b.into_inner().reason).unwrap_or_default();
    let (id, user) = (id.into_inner(), caller.user.clone());
    with_conn(&state.pool, move |conn| {
        booking::cancel(conn, &user, id, &reason)
    })
    .await?;
    after_change(&req, caller.user, id).await
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/complete", tag = "appointments",
    responses((status = 200, body = AppointmentOut), (status = 422, description = "not_started, invalid_transition")))]
pub async fn complete(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    finish(req, caller, id.into_inner(), true).await
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/no-show", tag = "appointments",
    responses((status = 200, body = AppointmentOut), (status = 422, description = "not_started, invalid_transition")))]
pub async fn no_show(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    finish(req, caller, id.into_inner(), false).await
}

async fn finish(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    id: i64,
    completed: bool,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let user = caller.who.clone();
    with_conn(&state.pool, move |conn| {
        booking::finish(conn, &user, id, completed)
    })
    .await?;
    after_change(&req, caller.who.user().clone(), id).await
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", tag = "appointments", request_body = RescheduleBody,
    responses((status = 200, body = AppointmentOut, description = "the new appointment; the old one is cancelled in the same transaction"),
              (status = 409, description = "slot_taken, slot_unavailable"), (status = 422, description = "too_late_to_cancel")))]
pub async fn reschedule(
    req: HttpRequest,
    caller: ApiUser,
    id: web::Path<i64>,
    body: web::Json<RescheduleBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let (id, start, user) = (
        id.into_inner(),
        body.starts_at.with_timezone(&Utc),
        caller.user.clone(),
    );
    let new = with_conn(&state.pool, move |conn| {
        booking::reschedule(conn, &user, id, start)
    })
    .await?;
    after_change(&req, caller.user, new.id).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessOut {
    pub reader: String,
    pub channel: String,
    pub read_at: String,
}

#[utoipa::path(get, path = "/api/v1/appointments/{id}/access-log", tag = "appointments",
    responses((status = 200, body = [AccessOut], description = "who read the client's answers, newest first (the client only)"), (status = 404)))]
pub async fn access_log(
    req: HttpRequest,
    caller: ApiUser,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<AccessOut>>> {
    let state = app_state(&req);
    // Only the booking's client reads who read their answers; to anyone else it does not exist.
    let client = access::Client::prove(caller.user).map_err(|_| AppError::NotFound)?;
    let id = id.into_inner();
    let rows = with_conn(&state.pool, move |conn| {
        booking::access_log(conn, &client, id)
    })
    .await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|(reader, channel, at)| AccessOut {
                reader,
                channel,
                read_at: at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct SlotsQuery {
    pub service_id: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The availability body's shape (for the OpenAPI description; the handler writes the same JSON
/// from the slot objects kept by `ScheduleCache`, see `slots_body`).
#[derive(Debug, Serialize, ToSchema)]
#[cfg_attr(not(test), allow(dead_code))]
pub struct SlotOut {
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[cfg_attr(not(test), allow(dead_code))]
pub struct SlotsOut {
    pub timezone: String,
    pub slots: Vec<SlotOut>,
}

/// A date within two years of today (anything further is a mistake, and date arithmetic on
/// it could overflow).
fn date_param(field: &str, v: &Option<String>, default: NaiveDate) -> Result<NaiveDate, AppError> {
    let d = match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => default,
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| AppError::field(field, "Use a date as YYYY-MM-DD."))?,
    };
    let today = Utc::now().date_naive();
    if (d - today).num_days().abs() > 730 {
        return Err(AppError::field(
            field,
            "Choose a date within two years of today.",
        ));
    }
    Ok(d)
}

#[utoipa::path(get, path = "/api/v1/therapists/{id}/availability", tag = "directory",
    params(("service_id" = i64, Query), ("from" = Option<String>, Query, description = "YYYY-MM-DD, default today"), ("to" = Option<String>, Query, description = "YYYY-MM-DD, at most 31 days after from; default from + 6")),
    responses((status = 200, body = SlotsOut), (status = 404), (status = 422, description = "validation_failed")))]
pub async fn availability(
    req: HttpRequest,
    id: web::Path<i64>,
    q: web::Query<SlotsQuery>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let id = id.into_inner();
    let service_id = q
        .service_id
        .ok_or_else(|| AppError::field("service_id", "Choose a service (service_id)."))?;
    let today = Utc::now().date_naive();
    let from = date_param("from", &q.from, today)?;
    let to = date_param("to", &q.to, from + Duration::days(6))?;
    let raw = state
        .engine
        .slots(&state.pool, state.sqlite(), (id, service_id), (from, to))
        .await?;
    let body = slots_body(&raw, Utc::now());
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// The availability body (`SlotsOut` as JSON) from the slot objects kept with the raw slots.
fn slots_body(raw: &RawSlots, now: DateTime<Utc>) -> String {
    let objects = raw.json.as_deref().unwrap_or_default();
    let mut body = String::with_capacity(48 + objects.iter().map(|o| o.len() + 1).sum::<usize>());
    body.push_str(r#"{"timezone":"#);
    body.push_str(&serde_json::to_string(raw.tz.name()).unwrap_or_default());
    body.push_str(r#","slots":["#);
    for (n, (i, _)) in raw.bookable(now).enumerate() {
        if n > 0 {
            body.push(',');
        }
        body.push_str(&objects[i]);
    }
    body.push_str("]}");
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::Interval;
    use chrono::TimeZone;

    /// The hand-written body is exactly what serde would write for `SlotsOut`, and it keeps only
    /// the slots inside the notice and advance window.
    #[test]
    fn slots_body_is_the_serde_body_of_the_bookable_slots() {
        let tz = chrono_tz::America::New_York;
        let at = |d, h| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
        let slots = vec![
            Interval {
                start: at(7, 14),
                end: at(7, 15),
            },
            Interval {
                start: at(9, 13),
                end: at(9, 14),
            },
            Interval {
                start: at(20, 13),
                end: at(20, 14),
            },
        ];
        let raw = RawSlots {
            tz,
            min_notice_hours: 24,
            max_advance_days: 10,
            json: Some(
                slots
                    .iter()
                    .map(|s| {
                        serde_json::to_string(&SlotOut {
                            starts_at: rfc3339(s.start, tz),
                            ends_at: rfc3339(s.end, tz),
                        })
                        .unwrap()
                        .into_boxed_str()
                    })
                    .collect(),
            ),
            slots: slots.clone(),
        };
        // At 2026-03-07 10:00Z: the first slot is inside the 24 h notice, the last one past
        // the 10-day window.
        let body = slots_body(&raw, at(7, 10));
        let expected = SlotsOut {
            timezone: "America/New_York".into(),
            slots: vec![SlotOut {
                starts_at: "2026-03-09T09:00:00-04:00".into(),
                ends_at: "2026-03-09T10:00:00-04:00".into(),
            }],
        };
        assert_eq!(body, serde_json::to_string(&expected).unwrap());
    }
}
