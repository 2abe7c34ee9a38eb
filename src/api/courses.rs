//! `/api/v1/courses`: book a course of therapy, read it, cancel it (`services::course`).

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{created, created_answer, idempotency_claim, replayed, ApiAs, ApiUser};
use crate::domain::appointment::Visit;
use crate::domain::course::{CourseShape, OnConflict};
use crate::domain::practice::VisitRequest;
use crate::error::{ApiResult, AppError};
use crate::http::app_state;
use crate::search::schedules::local_rfc3339 as rfc3339;
use crate::services::access::{self, Proof};
use crate::services::course::{self, CourseError, CourseRequest};
use crate::services::idempotency::{self, Once};
use crate::services::with_conn;

fn default_sessions() -> i64 {
    crate::domain::course::DEFAULT_SESSIONS as i64
}

fn default_every() -> i64 {
    crate::domain::course::DEFAULT_EVERY_WEEKS as i64
}

fn default_on_conflict() -> String {
    "fail".into()
}

/// Serialize: its canonical form is what an `Idempotency-Key` fingerprints.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CourseBody {
    pub therapist_id: i64,
    pub service_id: i64,
    /// The first session, RFC 3339 with an offset: every other session is at the same local
    /// wall-clock time on the therapist's clock, across daylight-saving changes.
    pub first_starts_at: DateTime<chrono::FixedOffset>,
    /// 2 to 12 (default 10, the study's course).
    #[serde(default = "default_sessions")]
    pub sessions: i64,
    /// 1 (weekly, the default) or 2 (every two weeks).
    #[serde(default = "default_every")]
    pub every_weeks: i64,
    /// Every question of the current questionnaire, id → yes/no: one screening for the whole
    /// course, carried by each session.
    pub answers: BTreeMap<String, bool>,
    #[serde(default)]
    pub clearance_confirmed: bool,
    /// `fail` (all or nothing, the default) or `skip` (book the free sessions).
    #[serde(default = "default_on_conflict")]
    pub on_conflict: String,
    /// As for one booking: required when a session starts inside the cancellation window.
    #[serde(default)]
    pub cancellation_window_acknowledged: bool,
    /// `studio` or `mobile`, as for one booking.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub visit: Option<Visit>,
    #[serde(default)]
    pub client_address: String,
    #[serde(default)]
    pub client_city: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseSessionOut {
    /// The appointment's id.
    pub id: i64,
    /// Its number in the course, from 1.
    pub session: i32,
    /// RFC 3339 in the therapist's zone.
    pub starts_at: String,
    pub ends_at: String,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedOut {
    pub session: u32,
    pub starts_at: String,
    /// `slot_taken` or `slot_unavailable`.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseBookedOut {
    pub id: i64,
    pub appointments: Vec<CourseSessionOut>,
    pub skipped: Vec<SkippedOut>,
}

/// A booked course as the API answers it, its times on the therapist's clock.
fn course_booked_out(b: &course::Booked, tz: chrono_tz::Tz) -> CourseBookedOut {
    CourseBookedOut {
        id: b.course_id,
        appointments: b
            .appointments
            .iter()
            .map(|(n, a)| CourseSessionOut {
                id: a.id,
                session: *n as i32,
                starts_at: rfc3339(a.starts_at.and_utc(), tz),
                ends_at: rfc3339(a.ends_at.and_utc(), tz),
                status: a.status.as_str().into(),
            })
            .collect(),
        skipped: b
            .skipped
            .iter()
            .map(|c| SkippedOut {
                session: c.number,
                starts_at: rfc3339(c.starts_at, tz),
                reason: conflict_reason(c),
            })
            .collect(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseOut {
    pub id: i64,
    pub therapist_id: i64,
    pub client_id: i64,
    pub service_id: i64,
    pub therapist_name: String,
    pub client_name: String,
    pub technique: String,
    /// Sessions asked for (skipped ones have no appointment).
    pub sessions: i32,
    pub every_weeks: i32,
    pub timezone: String,
    /// When the course was cancelled (RFC 3339), null otherwise.
    pub cancelled_at: Option<String>,
    pub appointments: Vec<CourseSessionOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CourseCancelBody {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseCancelOut {
    /// The sessions cancelled.
    pub cancelled: Vec<i64>,
    /// Future sessions kept: inside the cancellation window, which the client may not cancel
    /// online.
    pub kept: Vec<i64>,
}

fn conflict_reason(c: &course::Conflict) -> String {
    c.state.reason().to_string()
}

#[utoipa::path(post, path = "/api/v1/courses", tag = "courses", request_body = CourseBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Safe retries, as for `POST /api/v1/appointments`: the same caller, key and body within 24 hours answers the first answer again and books nothing twice.")),
    responses((status = 201, body = CourseBookedOut),
              (status = 403, description = "email_unverified"),
              (status = 409, description = "idempotency_key_in_progress; course_conflict: `{error: {code, message, conflicts: [{session, starts_at, reason: slot_taken | slot_unavailable}]}}`, nothing booked (`fail`, or no session free with `skip`)"),
              (status = 422, description = "invalid_idempotency_key, idempotency_key_reused, validation_failed (sessions 2 to 12, every_weeks 1 or 2, on_conflict fail or skip, first_starts_at at most a year from now), too_many_bookings (every session of the course counts against BODYWORK_MAX_ACTIVE_BOOKINGS), screening_refer, screening_decline, clearance_required, cancellation_window_not_acknowledged, and the visit errors of one booking"),
              (status = 404, description = "unknown or suspended therapist, unknown or retired service"),
              (status = 429, description = "too_many_requests: too many bookings by this client in the hour, with Retry-After")))]
pub async fn create(
    req: HttpRequest,
    caller: ApiAs<access::VerifiedClient>,
    body: web::Json<CourseBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    let claim = idempotency_claim(&req, caller.who.user().id, "POST /api/v1/courses", &b)?;
    let shape = CourseShape::parse(b.sessions, b.every_weeks);
    let on_conflict = OnConflict::parse(&b.on_conflict);
    let shape = match (shape, on_conflict) {
        (Ok(s), Some(_)) => s,
        (r, oc) => {
            let mut f = r.err().unwrap_or_default();
            if oc.is_none() {
                f.insert("on_conflict".into(), "Choose fail or skip.".into());
            }
            return Err(AppError::validation(f).into());
        }
    };
    let request = CourseRequest {
        therapist_id: b.therapist_id,
        service_id: b.service_id,
        first_starts_at: b.first_starts_at.with_timezone(&Utc),
        shape,
        answers: b.answers,
        clearance_confirmed: b.clearance_confirmed,
        window_acknowledged: b.cancellation_window_acknowledged,
        on_conflict: on_conflict.unwrap_or(OnConflict::Fail),
        visit: VisitRequest {
            visit: b.visit,
            client_address: b.client_address,
            client_city: b.client_city,
        },
    };
    let client = caller.who;
    let therapist_id = request.therapist_id;
    state.booking_allowed(client.user().id)?;
    let st = state.clone();
    let booked = idempotency::run(
        &state.pool,
        &state.cipher,
        claim,
        move |conn| {
            let tz = crate::models::therapist::zone(
                &crate::models::therapist::Therapist::find(conn, request.therapist_id)
                    .map_err(AppError::from)?
                    .timezone,
            );
            let b = course::book(
                conn,
                &st.mail,
                &st.cipher,
                &client,
                st.booking_limits,
                &request,
            )?;
            Ok::<_, CourseError>(course_booked_out(&b, tz))
        },
        created_answer,
    )
    .await;
    match booked {
        Ok(Once::Ran(out)) => Ok(created(&out)?),
        Ok(Once::Replay(stored)) => Ok(replayed(stored)),
        Ok(Once::OtherRequest(_)) => Err(idempotency::reused_error().into()),
        Err(CourseError::Conflicts(conflicts)) => {
            let tz = with_conn(&state.pool, move |conn| {
                Ok(crate::models::therapist::zone(
                    &crate::models::therapist::Therapist::find(conn, therapist_id)?.timezone,
                ))
            })
            .await?;
            let list: Vec<serde_json::Value> = conflicts
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "session": c.number,
                        "starts_at": rfc3339(c.starts_at, tz),
                        "reason": conflict_reason(c),
                    })
                })
                .collect();
            Ok(HttpResponse::Conflict().json(serde_json::json!({
                "error": {
                    "code": "course_conflict",
                    "message": "Some sessions of this course cannot be booked, so nothing was booked. Choose another first time, or skip the taken weeks.",
                    "conflicts": list,
                }
            })))
        }
        Err(CourseError::App(e)) => Err(e.into()),
    }
}

fn course_out(v: &course::CourseView) -> CourseOut {
    let tz = v.tz();
    CourseOut {
        id: v.course.id,
        therapist_id: v.course.therapist_id,
        client_id: v.course.client_id,
        service_id: v.course.service_id,
        therapist_name: v.therapist_name.clone(),
        client_name: v.client_name.clone(),
        technique: v.technique.clone(),
        sessions: v.course.sessions,
        every_weeks: v.course.every_weeks,
        timezone: v.timezone.clone(),
        cancelled_at: v.course.cancelled_at.map(|t| rfc3339(t.and_utc(), tz)),
        appointments: v
            .sessions
            .iter()
            .map(|(n, a)| CourseSessionOut {
                id: a.id,
                session: *n,
                starts_at: rfc3339(a.starts_at.and_utc(), tz),
                ends_at: rfc3339(a.ends_at.and_utc(), tz),
                status: a.status.as_str().into(),
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/courses/{id}", tag = "courses",
    responses((status = 200, body = CourseOut), (status = 404, description = "unknown, or not the caller's course (its client and its therapist read it)")))]
pub async fn get(req: HttpRequest, caller: ApiUser, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let id = id.into_inner();
    let v = with_conn(&state.pool, move |conn| {
        course::view(conn, &caller.user, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(course_out(&v)))
}

#[utoipa::path(post, path = "/api/v1/courses/{id}/cancel", tag = "courses", request_body = CourseCancelBody,
    responses((status = 200, body = CourseCancelOut, description = "every future session cancelled, except (for the client) confirmed ones inside the cancellation window, which are kept"),
              (status = 422, description = "nothing_to_cancel (no session still to come)"),
              (status = 404, description = "unknown, or not the caller's course")))]
pub async fn cancel(
    req: HttpRequest,
    caller: ApiUser,
    id: web::Path<i64>,
    body: Option<web::Json<CourseCancelBody>>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let reason = body.map(|b| b.into_inner().reason).unwrap_or_default();
    let id = id.into_inner();
    let mail = state.mail.clone();
    let out = with_conn(&state.pool, move |conn| {
        course::cancel(conn, &mail, &caller.user, id, &reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(CourseCancelOut {
        cancelled: out.cancelled,
        kept: out.kept,
    }))
}
