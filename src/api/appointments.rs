//! `/api/v1/appointments/...`, `/api/v1/me/bookings`, `/api/v1/me/appointments` and free slots.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::ApiAs;
use crate::api::ApiUser;
use crate::api::{created, created_answer, idempotency_claim, replayed};
use crate::domain::appointment::{cannot_cancel_online, AppointmentStatus, Visit};
use crate::domain::practice::VisitRequest;
use crate::domain::screening::{Evaluation, Outcome};
use crate::error::{ApiResult, AppError};
use crate::http::app_state;
use crate::search::schedules::{local_rfc3339 as rfc3339, RawSlots};
use crate::services::access::{self, Proof};
use crate::services::booking::{
    self, AppointmentView, BookingRequest, ClientBooking, ListItem, Party,
};
use crate::services::idempotency::{self, Once};
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
    /// The outcome in words, as the therapist's pages show it ("Needs a healthcare
    /// practitioner's clearance").
    pub outcome_label: String,
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
        outcome_label: e.outcome.words().to_string(),
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
    /// Where it stands in the caller's words, as their pages say it: for the therapist
    /// "Waiting for you to confirm", "Declined by you"; for the client "Waiting for Maya Okafor
    /// to confirm", "Declined by the therapist". Absent for an admin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_label: Option<String>,
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
    /// The reason given when it was cancelled or declined: for its client and its therapist
    /// only (it may hold health details); null for an admin, who reads `cancel_reason_given`.
    pub cancel_reason: Option<String>,
    /// Whether a cancel or decline reason was given.
    pub cancel_reason_given: bool,
    /// How a cancelled appointment ended: `cancelled`, `withdrawn` (a request its client
    /// withdrew), `declined` (by the therapist, `cancel_reason` holds their reason) or
    /// `rescheduled`; null otherwise.
    pub cancel_kind: Option<String>,
    /// A request only (null otherwise): by when the therapist is asked to confirm or decline it,
    /// RFC 3339 in the therapist's zone: 24 hours after the request, but never later than 2
    /// hours before the start (a request made later: its start). Nothing happens by itself
    /// when it passes; the client may withdraw the request.
    pub confirm_by: Option<String>,
    /// How to contact the therapist (for now their account's email).
    pub therapist_email: String,
    /// `studio` or `mobile`.
    pub visit: String,
    /// The therapist's studio address (public): where a studio visit happens.
    pub studio_address: Option<String>,
    pub therapist_phone: Option<String>,
    /// A mobile visit's address ("12 Elm St, Cambridge, MA"): only for the booking's client
    /// and therapist (each read by the therapist is in the client's access log); absent for
    /// anyone else and for a studio visit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
    /// The screening outcome: `ok`, `caution`, `needs_clearance`, `decline`, `refer`, or
    /// `pending` while a booking the therapist entered waits for its client's answers (the
    /// same as `screening.outcome`).
    pub screening_outcome: String,
    /// Entered by the therapist and waiting for the client's answers.
    pub screening_pending: bool,
    /// Entered by the therapist (phone or walk-in) rather than booked by the client.
    pub entered_by_therapist: bool,
    /// Entered by the therapist, the answers need their decision: cancel with a reason, or
    /// keep with another service (`POST /api/v1/appointments/{id}/keep`). Nothing is
    /// cancelled by itself.
    pub needs_decision: bool,
    /// The therapist's note when entering it: for the therapist only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_note: Option<String>,
    /// The course it is a session of (`GET /api/v1/courses/{id}`), null for a single booking.
    pub course_id: Option<i64>,
    /// Its session number in that course ("session 3 of 10": 3), null for a single booking.
    pub course_session: Option<i32>,
    /// How many sessions that course has (10), null for a single booking.
    pub course_sessions: Option<i32>,
}

fn appointment_out(v: AppointmentView) -> AppointmentOut {
    let tz = v.tz();
    let screening = match (&v.screening, v.party) {
        (Some(e), p) if !v.screening_pending() => screening_out(e, p == Party::Therapist),
        _ => ScreeningOut {
            outcome: v.outcome().to_string(),
            outcome_label: Outcome::words_of(v.outcome()).to_string(),
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
        status_label: match v.party {
            Party::Therapist => Some(v.therapist_words(Utc::now()).to_string()),
            Party::Client => Some(v.client_state(Utc::now()).words(&v.therapist_name)),
            Party::Admin => None,
        },
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
        cancel_reason_given: v.cancel_reason_given,
        cancel_kind: v.appt.cancel_kind().map(|k| k.as_str().to_string()),
        confirm_by: v.confirm_by().map(|t| rfc3339(t, tz)),
        therapist_email: v.therapist_email.clone(),
        visit: v.appt.visit.as_str().to_string(),
        studio_address: v.studio_address.clone(),
        therapist_phone: v.therapist_phone.clone(),
        client_address: v.client_address.as_ref().map(|a| a.line()),
        screening_outcome: v.outcome().to_string(),
        screening_pending: v.screening_pending(),
        entered_by_therapist: v.appt.entered_by.is_some(),
        needs_decision: v.needs_decision(),
        entry_note: v.entry_note.clone(),
        course_id: v.course.map(|c| c.course_id),
        course_session: v.course.map(|c| c.session),
        course_sessions: v.course.map(|c| c.of),
    }
}

/// Serialize: its canonical form is what an `Idempotency-Key` fingerprints.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct BookBody {
    pub therapist_id: i64,
    pub service_id: i64,
    /// RFC 3339 with an offset, one of the free slots.
    pub starts_at: DateTime<chrono::FixedOffset>,
    /// Every question of the current questionnaire, id → yes/no.
    pub answers: BTreeMap<String, bool>,
    #[serde(default)]
    pub clearance_confirmed: bool,
    /// Required (true) when the slot starts within the therapist's cancellation window (its
    /// `cancellable_online` is false in the availability): the client knows that, once
    /// confirmed, it can't be cancelled or moved online. Without it such a booking is 422
    /// `cancellation_window_not_acknowledged`; other slots ignore it, so clients that book
    /// outside the window need no change.
    #[serde(default)]
    pub cancellation_window_acknowledged: bool,
    /// `studio` or `mobile`. Omitted: `studio` when the therapist has a studio address, else
    /// `mobile` (clients written before visits existed keep booking studios as before).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub visit: Option<Visit>,
    /// A mobile visit's street address (5 to 200 characters). Only the client and that
    /// therapist ever read it; ignored for a studio visit.
    #[serde(default)]
    pub client_address: String,
    /// A mobile visit's city ("Cambridge, MA"): it must lie within the therapist's
    /// `mobile_radius_km` of their city.
    #[serde(default)]
    pub client_city: String,
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
    params(("Idempotency-Key" = Option<String>, Header, description = "Safe retries: 1 to 200 visible ASCII characters. The same caller, key and body within 24 hours answers the first answer again (same status and body, with `Idempotent-Replayed: true`) and books nothing twice; only answers that booked are kept, so a refused request runs again when retried.")),
    responses((status = 201, body = AppointmentOut),
              (status = 403, description = "email_unverified: the client has not confirmed their email address yet (`POST /api/v1/auth/resend-verification` sends a new link)"),
              (status = 409, description = "slot_taken, slot_unavailable, idempotency_key_in_progress (a request with this key is still running: retry)"),
              (status = 422, description = "invalid_idempotency_key (not 1 to 200 visible ASCII characters), idempotency_key_reused (the key was used with another body), studio_unavailable (the therapist has no studio address), mobile_unavailable (the therapist does not offer mobile visits), address_required (a mobile visit without `client_address` or a known `client_city`, with `fields`), outside_mobile_area (`client_city` is farther than the therapist's radius), screening_refer, screening_decline, clearance_required (with `screening` in the error body; a screening_decline also has `alternatives`: [AlternativeOut], this therapist's services in the suggested techniques with whether the same time is free), cancellation_window_not_acknowledged (a slot inside the cancellation window booked without `cancellation_window_acknowledged: true`), validation_failed"),
              (status = 404, description = "unknown or suspended therapist, unknown or retired service"),
              (status = 429, description = "too_many_requests: too many bookings by this client in the hour, with Retry-After")))]
pub async fn create(
    req: HttpRequest,
    caller: ApiAs<access::VerifiedClient>,
    body: web::Json<BookBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    let claim = idempotency_claim(&req, caller.who.user().id, "POST /api/v1/appointments", &b)?;
    let request = BookingRequest {
        therapist_id: b.therapist_id,
        service_id: b.service_id,
        starts_at: b.starts_at.with_timezone(&Utc),
        answers: b.answers,
        clearance_confirmed: b.clearance_confirmed,
        window_acknowledged: b.cancellation_window_acknowledged,
        visit: VisitRequest {
            visit: b.visit,
            client_address: b.client_address,
            client_city: b.client_city,
        },
    };
    let (therapist_id, starts_at) = (request.therapist_id, request.starts_at);
    let client = caller.who;
    state.booking_allowed(client.user().id)?;
    let st = state.clone();
    let booked = idempotency::run(
        &state.pool,
        &state.cipher,
        claim,
        move |conn| {
            let (appt, _) = booking::book(
                conn,
                &st.mail,
                &st.cipher,
                &client,
                st.booking_limits,
                &request,
            )?;
            booking::view(conn, &st.cipher, client.user(), appt.id, "api").map(appointment_out)
        },
        created_answer,
    )
    .await;
    match booked {
        Ok(Once::Ran(out)) => Ok(created(&out)?),
        Ok(Once::Replay(stored)) => Ok(replayed(stored)),
        Ok(Once::OtherRequest(_)) => Err(idempotency::reused_error().into()),
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
    /// `ok`, `caution`, `needs_clearance`, `decline`, `refer`, or `pending` (a booking the
    /// therapist entered, waiting for its client's answers).
    pub screening_outcome: String,
    /// The screening outcome in words ("Nothing to flag", "Caution, with notes for you",
    /// "Screening pending").
    pub screening_label: String,
    /// Entered by the therapist and waiting for the client's answers.
    pub screening_pending: bool,
    /// Entered by the therapist, the answers need their decision (see the appointment).
    pub needs_decision: bool,
    /// Flagged (caution or clearance) and not yet acknowledged by the therapist.
    pub awaiting_acknowledgement: bool,
    /// The therapist's lists only: where it stands in the therapist's words, as their pages
    /// say it ("Waiting for you to confirm", "Declined by you", "Withdrawn by the client").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_label: Option<String>,
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
    /// A request only (null otherwise): by when the therapist is asked to answer it (as in
    /// the appointment object).
    pub confirm_by: Option<String>,
    /// `studio` or `mobile`.
    pub visit: String,
    /// The therapist's list only, a mobile visit's address (each read is in the client's
    /// access log); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
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
        screening_outcome: i.outcome().to_string(),
        screening_label: i.outcome_words().to_string(),
        screening_pending: i.screening_pending,
        needs_decision: i.needs_decision(),
        awaiting_acknowledgement: i.awaiting_acknowledgement(),
        status_label: None,
        client_name,
        cancel_reason: i.cancel_reason.clone(),
        cancel_kind: i.cancel_kind().map(|k| k.as_str().to_string()),
        group: None,
        state: None,
        state_label: None,
        confirm_by: i.confirm_by().map(|t| rfc3339(t, tz)),
        visit: i.visit.as_str().to_string(),
        client_address: None,
    }
}

/// A line of the therapist's lists: with the client's name and the status in the therapist's
/// words.
fn therapist_line(i: &ListItem, client_name: &str, now: DateTime<Utc>) -> BookingLine {
    BookingLine {
        status_label: Some(i.therapist_words(now).to_string()),
        ..line(i, Some(client_name.to_string()))
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
    /// Stored statuses, comma-separated (`requested`, `confirmed`, ...); all when absent.
    pub status: Option<String>,
}

/// `status=requested,confirmed` → the statuses; an unknown one is a field error.
fn status_filter(v: Option<&str>) -> Result<Option<Vec<AppointmentStatus>>, AppError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    v.split(',')
        .map(|s| {
            AppointmentStatus::parse(s.trim()).ok_or_else(|| {
                AppError::field(
                    "status",
                    "Use requested, confirmed, completed, cancelled or no_show, comma-separated.",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[utoipa::path(get, path = "/api/v1/me/appointments", tag = "therapist",
    params(("from" = Option<String>, Query, description = "YYYY-MM-DD, default 30 days ago"), ("to" = Option<String>, Query, description = "YYYY-MM-DD, default 90 days ahead"),
           ("status" = Option<String>, Query, description = "only these stored statuses, comma-separated: `status=requested` lists the requests waiting for the therapist")),
    responses((status = 200, body = [BookingLine], description = "the therapist's appointments with screening flags, soonest first, each with `status_label`"),
              (status = 422, description = "validation_failed (`from`, `to` or `status`)")))]
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
    let only = status_filter(q.status.as_deref())?;
    let st = state.clone();
    let (list, addresses) = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        let list: Vec<_> = booking::therapist_list(
            conn,
            t.id,
            from.and_hms_opt(0, 0, 0).unwrap_or_default(),
            (to + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        )?
        .into_iter()
        .filter(|(i, _)| only.as_ref().is_none_or(|o| o.contains(&i.status)))
        .collect();
        let mobile: Vec<i64> = list
            .iter()
            .filter(|(i, _)| i.visit == Visit::Mobile)
            .map(|(i, _)| i.id)
            .collect();
        let addresses = booking::mobile_addresses(conn, &st.cipher, &me, &mobile, "api")?;
        Ok((list, addresses))
    })
    .await?;
    let now = Utc::now();
    Ok(web::Json(
        list.iter()
            .map(|(i, n)| BookingLine {
                client_address: addresses.get(&i.id).map(|a| a.line()),
                ..therapist_line(i, n, now)
            })
            .collect(),
    ))
}

/// What the therapist's dashboard leads with.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgendaOut {
    pub timezone: String,
    /// Today on the therapist's clock, YYYY-MM-DD.
    pub today: String,
    /// Requests waiting for the therapist to confirm or decline.
    pub waiting_count: usize,
    /// Of those, how many have screening flags to read (and acknowledge) before confirming.
    pub flagged_count: usize,
    /// The waiting requests, soonest first.
    pub waiting: Vec<BookingLine>,
    /// Today's sessions (not cancelled or declined), in time order.
    pub today_sessions: Vec<BookingLine>,
    /// Tomorrow's, the same way.
    pub tomorrow_sessions: Vec<BookingLine>,
}

#[utoipa::path(get, path = "/api/v1/me/agenda", tag = "therapist",
    responses((status = 200, body = AgendaOut, description = "the dashboard's lead: the requests waiting (soonest first, with their flags), today's and tomorrow's sessions")))]
pub async fn my_agenda(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<web::Json<AgendaOut>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let now = Utc::now();
    let a = with_conn(&state.pool, move |conn| booking::agenda(conn, &me, now)).await?;
    let lines = |v: &[(ListItem, String)]| -> Vec<BookingLine> {
        v.iter().map(|(i, n)| therapist_line(i, n, now)).collect()
    };
    Ok(web::Json(AgendaOut {
        timezone: a.tz.name().to_string(),
        today: a.today.to_string(),
        waiting_count: a.waiting.len(),
        flagged_count: a.flagged_count(),
        waiting: lines(&a.waiting),
        today_sessions: lines(&a.today_items),
        tomorrow_sessions: lines(&a.tomorrow_items),
    }))
}

/// A span of a day on the therapist's clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct DaySpanOut {
    /// "HH:MM".
    pub start: String,
    /// "HH:MM", "24:00" when it runs to midnight.
    pub end: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOffSpanOut {
    pub start: String,
    pub end: String,
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WeekDayOut {
    /// YYYY-MM-DD.
    pub date: String,
    pub is_today: bool,
    /// The weekly working hours of that weekday.
    pub hours: Vec<DaySpanOut>,
    /// Time off on that day.
    pub time_off: Vec<TimeOffSpanOut>,
    /// Its sessions (not cancelled or declined), in time order.
    pub appointments: Vec<BookingLine>,
}

/// The therapist's week, as the week grid shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeekOut {
    pub timezone: String,
    /// The Monday the week starts on (weeks start on Monday), YYYY-MM-DD.
    pub week_start: String,
    pub previous_week: String,
    pub next_week: String,
    pub today: String,
    /// The hours the grid shows: whole hours around the working hours and sessions.
    pub grid_start: String,
    pub grid_end: String,
    /// Monday to Sunday.
    pub days: Vec<WeekDayOut>,
}

#[derive(Debug, Deserialize)]
pub struct WeekQuery {
    pub week: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me/week", tag = "therapist",
    params(("week" = Option<String>, Query, description = "YYYY-MM-DD, any day of the week wanted (within two years); default the current week on the therapist's clock")),
    responses((status = 200, body = WeekOut), (status = 422, description = "validation_failed (`week`)")))]
pub async fn my_week(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    q: web::Query<WeekQuery>,
) -> ApiResult<web::Json<WeekOut>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let now = Utc::now();
    let asked = match q.week.as_deref() {
        None => None,
        Some(_) => Some(date_param("week", &q.week, now.date_naive())?),
    };
    let w = with_conn(&state.pool, move |conn| {
        crate::services::schedule::week(conn, &me, asked, now)
    })
    .await?;
    let hhmm = crate::domain::schedule::format_hhmm;
    Ok(web::Json(WeekOut {
        timezone: w.tz.name().to_string(),
        week_start: w.monday.to_string(),
        previous_week: (w.monday - Duration::days(7)).to_string(),
        next_week: (w.monday + Duration::days(7)).to_string(),
        today: w.today.to_string(),
        grid_start: hhmm(w.axis.0),
        grid_end: hhmm(w.axis.1),
        days: w
            .days
            .iter()
            .map(|d| WeekDayOut {
                date: d.date.to_string(),
                is_today: d.is_today,
                hours: d
                    .hours
                    .iter()
                    .map(|(s, e)| DaySpanOut {
                        start: hhmm(*s),
                        end: hhmm(*e),
                    })
                    .collect(),
                time_off: d
                    .away
                    .iter()
                    .map(|o| TimeOffSpanOut {
                        start: hhmm(o.start_min),
                        end: hhmm(o.end_min),
                        note: o.note.clone(),
                    })
                    .collect(),
                appointments: d
                    .sessions
                    .iter()
                    .map(|s| therapist_line(&s.item, &s.client, now))
                    .collect(),
            })
            .collect(),
    }))
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
    /// Needed (true) when the new time starts inside the therapist's cancellation window, as
    /// when booking; ignored otherwise.
    #[serde(default)]
    pub cancellation_window_acknowledged: bool,
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
    let mail = state.mail.clone();
    with_conn(&state.pool, move |conn| {
        booking::confirm(conn, &mail, &user, id, ack)
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
    let mail = state.mail.clone();
    with_conn(&state.pool, move |conn| {
        booking::decline(conn, &mail, &user, id, &reason)
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
    let mail = state.mail.clone();
    with_conn(&state.pool, move |conn| {
        booking::cancel(conn, &mail, &user, id, &reason)
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
              (status = 409, description = "slot_taken, slot_unavailable"), (status = 422, description = "too_late_to_cancel, cancellation_window_not_acknowledged (a new time inside the cancellation window without `cancellation_window_acknowledged: true`)")))]
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
    let acknowledged = body.cancellation_window_acknowledged;
    let st = state.clone();
    let mail = state.mail.clone();
    let new = with_conn(&state.pool, move |conn| {
        booking::reschedule(conn, &st.cipher, &mail, &user, id, start, acknowledged)
    })
    .await?;
    after_change(&req, caller.user, new.id).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessOut {
    pub reader: String,
    pub channel: String,
    pub read_at: String,
    /// What was read: `answers`, `notes` (the session notes) or `address`.
    pub subject: String,
}

#[utoipa::path(get, path = "/api/v1/appointments/{id}/access-log", tag = "appointments",
    responses((status = 200, body = [AccessOut], description = "who read the client's answers, session notes or address, newest first (the client only)"), (status = 404)))]
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
            .map(|(reader, channel, at, subject)| AccessOut {
                reader,
                channel,
                read_at: at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true),
                subject,
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
    /// False when the slot starts within the therapist's cancellation window: once confirmed,
    /// such a booking can't be cancelled or moved online by its client, and booking it needs
    /// `cancellation_window_acknowledged: true` (see `POST /api/v1/appointments`).
    pub cancellable_online: bool,
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
        .slots(
            &state.pool,
            state.sqlite(),
            (id, service_id),
            (from, to),
            true,
            None,
        )
        .await?;
    let body = slots_body(&raw, Utc::now());
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// The availability body (`SlotsOut` as JSON) from the slot objects kept with the raw slots
/// (`{"starts_at":..,"ends_at":..}`), each closed with its `cancellable_online` as of `now`.
fn slots_body(raw: &RawSlots, now: DateTime<Utc>) -> String {
    let objects = raw.json.as_deref().unwrap_or_default();
    let mut body = String::with_capacity(48 + objects.iter().map(|o| o.len() + 28).sum::<usize>());
    body.push_str(r#"{"timezone":"#);
    body.push_str(&serde_json::to_string(raw.tz.name()).unwrap_or_default());
    body.push_str(r#","slots":["#);
    for (n, (i, slot)) in raw.bookable(now).enumerate() {
        if n > 0 {
            body.push(',');
        }
        let object = &objects[i];
        body.push_str(object.strip_suffix('}').unwrap_or(object));
        body.push_str(
            if cannot_cancel_online(slot.start, now, raw.cancellation_window_hours) {
                r#","cancellable_online":false}"#
            } else {
                r#","cancellable_online":true}"#
            },
        );
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
            cancellation_window_hours: 48,
            json: Some(
                slots
                    .iter()
                    .map(|s| {
                        format!(
                            r#"{{"starts_at":"{}","ends_at":"{}"}}"#,
                            rfc3339(s.start, tz),
                            rfc3339(s.end, tz)
                        )
                        .into_boxed_str()
                    })
                    .collect(),
            ),
            slots: slots.clone(),
        };
        // At 2026-03-07 10:00Z: the first slot is inside the 24 h notice, the last one past
        // the 10-day window; the one left starts in 51 hours, outside the 48-hour window.
        let body = slots_body(&raw, at(7, 10));
        let expected = SlotsOut {
            timezone: "America/New_York".into(),
            slots: vec![SlotOut {
                starts_at: "2026-03-09T09:00:00-04:00".into(),
                ends_at: "2026-03-09T10:00:00-04:00".into(),
                cancellable_online: true,
            }],
        };
        assert_eq!(body, serde_json::to_string(&expected).unwrap());
        // A day later it starts in 27 hours: inside the window.
        let body = slots_body(&raw, at(8, 10));
        let expected = SlotsOut {
            timezone: "America/New_York".into(),
            slots: vec![SlotOut {
                starts_at: "2026-03-09T09:00:00-04:00".into(),
                ends_at: "2026-03-09T10:00:00-04:00".into(),
                cancellable_online: false,
            }],
        };
        assert_eq!(body, serde_json::to_string(&expected).unwrap());
    }
}

// ---- Bookings the therapist enters -------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnterBody {
    /// The client's email: an existing client's, or a new person's (an account is made for
    /// them to claim by mail). A therapist's or an admin's address is refused.
    pub client_email: String,
    /// The name of a new person (1 to 100 characters); an existing client keeps theirs.
    #[serde(default)]
    pub client_name: String,
    /// One of the therapist's current services.
    pub service_id: i64,
    /// RFC 3339 with an offset, one of the free slots of that service.
    pub starts_at: DateTime<chrono::FixedOffset>,
    /// The therapist's note (at most 1000 characters), stored encrypted; for the therapist only.
    #[serde(default)]
    pub note: String,
    /// `studio` or `mobile`, as for a client's booking (absent: the studio when the therapist
    /// has an address, else mobile).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub visit: Option<Visit>,
    /// A mobile visit's street address (5 to 200 characters), stored encrypted.
    #[serde(default)]
    pub client_address: String,
    /// A mobile visit's city ("Cambridge, MA"), within the therapist's radius.
    #[serde(default)]
    pub client_city: String,
}

#[utoipa::path(post, path = "/api/v1/me/appointments", tag = "therapist", request_body = EnterBody,
    responses((status = 201, body = AppointmentOut, description = "the booking, `confirmed`, with `screening_outcome: \"pending\"`; the client is mailed a link to answer the questions (and, for a new person, one to claim their account)"),
              (status = 409, description = "slot_taken (another booking holds the time, the same refusal as a client's booking), slot_unavailable (outside the hours, time off, too soon or too far ahead)"),
              (status = 422, description = "validation_failed: `client_email` (also a therapist's or an admin's address), `client_name` (required for a new person), `note`"),
              (status = 404, description = "not one of the therapist's current services, or the therapist is suspended"),
              (status = 403, description = "not a therapist")))]
pub async fn enter(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    body: web::Json<EnterBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    let request = crate::services::entered::EnteredRequest {
        client_email: b.client_email,
        client_name: b.client_name,
        service_id: b.service_id,
        starts_at: b.starts_at.with_timezone(&Utc),
        note: b.note,
        visit: crate::domain::practice::VisitRequest {
            visit: b.visit,
            client_address: b.client_address,
            client_city: b.client_city,
        },
    };
    let me = caller.who;
    let st = state.clone();
    let v = with_conn(&state.pool, move |conn| {
        let appt =
            crate::services::entered::enter_for_client(conn, &st.mail, &st.cipher, &me, &request)?;
        booking::view(conn, &st.cipher, me.user(), appt.id, "api")
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(appointment_out(v)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswerBody {
    /// Every question of the current questionnaire, id → yes/no.
    pub answers: BTreeMap<String, bool>,
    /// The client confirms that their healthcare practitioner cleared them (when the answers
    /// ask for it).
    #[serde(default)]
    pub clearance_confirmed: bool,
    /// The single-use token of the mail's link, when the caller is not logged in as the
    /// booking's client.
    #[serde(default)]
    pub token: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/screening", tag = "appointments", request_body = AnswerBody,
    responses((status = 200, body = AppointmentOut, description = "the appointment with its outcome; a `refer` or `decline` (or a clearance not confirmed) flags it (`needs_decision`) and mails the therapist; it is never refused or cancelled"),
              (status = 401, description = "neither a bearer token nor `token`"),
              (status = 404, description = "not the caller's booking"),
              (status = 409, description = "screening_answered: already answered"),
              (status = 422, description = "token_invalid, token_used, token_expired; already_started; validation_failed (`answers`)")))]
pub async fn answer_screening(
    req: HttpRequest,
    caller: Option<ApiUser>,
    id: web::Path<i64>,
    body: web::Json<AnswerBody>,
) -> ApiResult<HttpResponse> {
    use crate::services::entered::{self, Answerer};
    let state = app_state(&req);
    let id = id.into_inner();
    let b = body.into_inner();
    let user = caller.map(|c| c.user);
    let token = b.token.filter(|t| !t.trim().is_empty());
    if user.is_none() && token.is_none() {
        return Err(AppError::Unauthorized.into());
    }
    let st = state.clone();
    let v = with_conn(&state.pool, move |conn| {
        let who = match (&token, &user) {
            (Some(t), _) => Answerer::Token(t),
            (None, Some(u)) => Answerer::Client(u),
            (None, None) => return Err(AppError::Unauthorized),
        };
        let done = entered::answer_screening(
            conn,
            &st.mail,
            &st.cipher,
            &who,
            id,
            &b.answers,
            b.clearance_confirmed,
        )?;
        booking::view(conn, &st.cipher, &done.client, id, "api")
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(appointment_out(v)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct KeepBody {
    /// Another of the therapist's current services, in a technique the client's answers allow.
    pub service_id: i64,
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/keep", tag = "appointments", request_body = KeepBody,
    responses((status = 200, body = AppointmentOut, description = "kept with the new service, its flags acknowledged"),
              (status = 404, description = "not the therapist's appointment"),
              (status = 409, description = "slot_taken (the new length overlaps another booking), slot_unavailable, changed_meanwhile"),
              (status = 422, description = "no_decision_needed, already_started, validation_failed (`service_id`: not theirs, or a technique the answers do not allow)")))]
pub async fn keep(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    id: web::Path<i64>,
    body: web::Json<KeepBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let id = id.into_inner();
    let service_id = body.into_inner().service_id;
    let me = caller.who;
    let st = state.clone();
    let v = with_conn(&state.pool, move |conn| {
        crate::services::entered::keep_with_service(
            conn, &st.mail, &st.cipher, &me, id, service_id,
        )?;
        booking::view(conn, &st.cipher, me.user(), id, "api")
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(appointment_out(v)))
}
