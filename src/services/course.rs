//! Courses of therapy (the study behind massage for low back pain: one session a week for ten
//! weeks): the preview of a series with each session's state and the nearest free time of its
//! week, booking it, reading it and cancelling it. Page and API call these.
//!
//! A course is booked through the single bookings' path: the screening once (`booking::screen`,
//! the same answers sealed on every session, a refer or decline refuses the course), the
//! upcoming-bookings cap with every asked session counted, then, in one write transaction, each
//! session through `booking::insert_in_free_slot` (the engine's free-time check and the
//! database's overlap refusal) inside a savepoint. `fail` refuses the whole course when one
//! session cannot be booked (nothing stays: the transaction rolls back); `skip` keeps the
//! others. Cancelling cancels each future session through `booking::cancel` (so whatever
//! follows a single cancel follows each), in one transaction; sessions inside the
//! cancellation window that the client may not cancel online are kept and listed.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::{write_transaction, DbConnection};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::availability;
use crate::domain::course::{self as rules, CourseShape, OnConflict, SessionState};
use crate::domain::practice::VisitRequest;
use crate::domain::screening::Evaluation;
use crate::error::AppError;
use crate::models::appointment::Appointment;
use crate::models::audit;
use crate::models::booking_policy::BookingPolicy;
use crate::models::course::{Course, NewCourse};
use crate::models::now;
use crate::models::service::Service;
use crate::models::therapist::{zone, Therapist};
use crate::models::user::User;
use crate::search::schedules::{load_schedules, slot_query_error, utc_window};
use crate::services::access::{self, Proof};
use crate::services::booking::{self, BookingLimits, ClientRow};
use crate::services::crypto::AnswerCipher;
use crate::services::mail::MailCtx;
use crate::services::notify;

/// One session of a previewed series.
#[derive(Debug, Clone)]
pub struct PreviewSession {
    pub number: u32,
    /// The local wall-clock start on the therapist's clock.
    pub local: NaiveDateTime,
    /// Its instant (None: that local time does not exist that day).
    pub start: Option<DateTime<Utc>>,
    pub state: SessionState,
    /// Not free: the nearest free time of its week with this therapist and service.
    pub alternative: Option<DateTime<Utc>>,
}

/// A series before booking.
#[derive(Debug, Clone)]
pub struct Preview {
    pub tz: Tz,
    pub service: Service,
    pub shape: CourseShape,
    pub sessions: Vec<PreviewSession>,
}

impl Preview {
    pub fn free_count(&self) -> usize {
        self.sessions
            .iter()
            .filter(|s| s.state == SessionState::Free)
            .count()
    }
}

/// The state of one start, by the one free-time check bookings use.
fn state_of(
    conn: &mut DbConnection,
    service: &Service,
    start: Option<DateTime<Utc>>,
    now_utc: DateTime<Utc>,
) -> Result<SessionState, AppError> {
    let Some(start) = start else {
        return Ok(SessionState::Unavailable);
    };
    match booking::check_slot(
        conn,
        service.therapist_id,
        service.duration_min as i64,
        start,
        now_utc,
        None,
    ) {
        Ok(()) => Ok(SessionState::Free),
        Err(AppError::Conflict { code, .. }) => Ok(SessionState::of_code(code)),
        Err(e) => Err(e),
    }
}

/// The nearest free start of `wanted`'s week for `service` (the engine's free slots).
fn alternative(
    conn: &mut DbConnection,
    service: &Service,
    tz: Tz,
    wanted: DateTime<Utc>,
    now_utc: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let day = wanted.with_timezone(&tz).date_naive();
    let (from, to) = (
        day - Duration::days(rules::WEEK_REACH_DAYS),
        day + Duration::days(rules::WEEK_REACH_DAYS),
    );
    let (wf, wt) = utc_window(from, to);
    let Some(s) =
        load_schedules(conn, &[service.therapist_id], wf, wt, None)?.remove(&service.therapist_id)
    else {
        return Ok(None);
    };
    let free: Vec<DateTime<Utc>> =
        availability::free_slots(&s.query(service.duration_min as i64, now_utc, from, to))
            .map_err(slot_query_error)?
            .into_iter()
            .map(|i| i.start)
            .collect();
    Ok(rules::nearest_free_in_week(&free, wanted))
}

/// The series of a course from `first`, each session with its state and, when not free, the
/// nearest free time of its week (404: unknown or suspended therapist, unknown or retired
/// service).
pub fn preview(
    conn: &mut DbConnection,
    therapist_id: i64,
    service_id: i64,
    first: DateTime<Utc>,
    shape: CourseShape,
    now_utc: DateTime<Utc>,
) -> Result<Preview, AppError> {
    rules::check_first_start(first, now_utc).map_err(AppError::validation)?;
    let (therapist, service) = booking::bookable(conn, therapist_id, service_id)?;
    let tz = zone(&therapist.timezone);
    let mut sessions = Vec::new();
    for s in rules::series(first, tz, shape) {
        let state = state_of(conn, &service, s.start, now_utc)?;
        let alternative = if state == SessionState::Free {
            None
        } else {
            let wanted = s
                .start
                .or_else(|| rules::instant_of(tz, s.local + Duration::hours(1)))
                .unwrap_or(first);
            alternative(conn, &service, tz, wanted, now_utc)?
        };
        sessions.push(PreviewSession {
            number: s.number,
            local: s.local,
            start: s.start,
            state,
            alternative,
        });
    }
    Ok(Preview {
        tz,
        service,
        shape,
        sessions,
    })
}

/// What a client asks for.
#[derive(Debug, Clone)]
pub struct CourseRequest {
    pub therapist_id: i64,
    pub service_id: i64,
    pub first_starts_at: DateTime<Utc>,
    pub shape: CourseShape,
    pub answers: BTreeMap<String, bool>,
    pub clearance_confirmed: bool,
    /// Required when a session starts inside the cancellation window (as for one booking).
    pub window_acknowledged: bool,
    pub on_conflict: OnConflict,
    pub visit: VisitRequest,
}

/// A session that could not be booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub number: u32,
    /// Its start (for a local time that does not exist that day: the local time read as UTC,
    /// never booked).
    pub starts_at: DateTime<Utc>,
    pub state: SessionState,
}

/// A course refused: a booking error, or (`fail`, or nothing free at all) the sessions that
/// could not be booked, nothing booked.
#[derive(Debug)]
pub enum CourseError {
    App(AppError),
    Conflicts(Vec<Conflict>),
}

impl From<AppError> for CourseError {
    fn from(e: AppError) -> Self {
        CourseError::App(e)
    }
}

impl From<diesel::result::Error> for CourseError {
    fn from(e: diesel::result::Error) -> Self {
        CourseError::App(e.into())
    }
}

/// A booked course.
#[derive(Debug, Clone)]
pub struct Booked {
    pub course_id: i64,
    /// (session number, appointment), in order.
    pub appointments: Vec<(u32, Appointment)>,
    /// Sessions skipped (`skip` only).
    pub skipped: Vec<Conflict>,
    pub screening: Evaluation,
}

/// Books a course (see the module's doc). One mail to each side for the whole course.
pub fn book(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &AnswerCipher,
    client: &access::VerifiedClient,
    limits: BookingLimits,
    req: &CourseRequest,
) -> Result<Booked, CourseError> {
    let client = client.user();
    rules::check_first_start(req.first_starts_at, Utc::now()).map_err(AppError::validation)?;
    let (therapist, service) = booking::bookable(conn, req.therapist_id, req.service_id)?;
    let plan = booking::resolve_visit(&therapist, &req.visit)?;
    let sealed_address = booking::seal_address(cipher, therapist.id, client.id, &plan)?;
    let eval = booking::screen(
        &service.technique_slug,
        &req.answers,
        req.clearance_confirmed,
    )?;
    let sealed = booking::seal_answers(cipher, &req.answers, therapist.id, client.id)?;
    let tz = zone(&therapist.timezone);
    let series = rules::series(req.first_starts_at, tz, req.shape);
    let now_utc = Utc::now();
    let row = ClientRow {
        therapist_id: therapist.id,
        client_id: client.id,
        service: &service,
        eval: &eval,
        sealed_answers: &sealed,
        sealed_address: &sealed_address,
        visit: plan.visit(),
        clearance_confirmed: req.clearance_confirmed,
        window_acknowledged: req.window_acknowledged,
    };
    let (course_id, ids, skipped) = write_transaction(conn, |conn| {
        // Every asked session counts against the cap, skipped or not: the cap is known before
        // the sessions are tried.
        booking::check_active_cap_adding(
            conn,
            client.id,
            limits,
            now_utc,
            req.shape.sessions as i64,
        )?;
        let course_id = NewCourse {
            client_id: client.id,
            therapist_id: therapist.id,
            service_id: service.id,
            sessions: req.shape.sessions as i32,
            every_weeks: req.shape.every_weeks as i32,
            first_starts_at: req.first_starts_at.naive_utc(),
            created_at: now(),
        }
        .insert(conn)?;
        let mut ids = Vec::new();
        let mut conflicts = Vec::new();
        for s in &series {
            let Some(start) = s.start else {
                conflicts.push(Conflict {
                    number: s.number,
                    starts_at: s.local.and_utc(),
                    state: SessionState::Unavailable,
                });
                continue;
            };
            // A savepoint: a session the database refuses leaves the others standing.
            let inserted = write_transaction(conn, |conn| {
                booking::insert_in_free_slot(conn, &service, start, now_utc, |policy| {
                    row.build(policy, start, now_utc)
                })
            });
            match inserted {
                Ok((id, new)) => {
                    Course::link(conn, course_id, s.number as i32, id)?;
                    audit::record(
                        conn,
                        Some(client.id),
                        "appointment.create",
                        "appointment",
                        Some(id),
                        &format!(
                            "{}: {} {} min at {} UTC (course {course_id}, session {} of {}; screening {})",
                            new.status,
                            service.technique_slug,
                            service.duration_min,
                            new.starts_at,
                            s.number,
                            req.shape.sessions,
                            eval.outcome.as_str()
                        ),
                    )?;
                    ids.push(id);
                }
                Err(AppError::Conflict { code, .. })
                    if code == "slot_taken" || code == "slot_unavailable" =>
                {
                    conflicts.push(Conflict {
                        number: s.number,
                        starts_at: start,
                        state: SessionState::of_code(code),
                    });
                }
                Err(e) => return Err(CourseError::App(e)),
            }
        }
        if ids.is_empty() || (req.on_conflict == OnConflict::Fail && !conflicts.is_empty()) {
            return Err(CourseError::Conflicts(conflicts));
        }
        audit::record(
            conn,
            Some(client.id),
            "course.create",
            "course",
            Some(course_id),
            &format!(
                "{} of {} sessions every {} week(s) from {} UTC ({})",
                ids.len(),
                req.shape.sessions,
                req.shape.every_weeks,
                req.first_starts_at.naive_utc(),
                req.on_conflict.as_str()
            ),
        )?;
        notify::course_booked(conn, mail, course_id, &ids)?;
        Ok((course_id, ids, conflicts))
    })?;
    let numbers = Course::session_ids(conn, course_id)?;
    let mut appointments = Vec::new();
    for (n, id) in numbers {
        debug_assert!(ids.contains(&id));
        appointments.push((n as u32, Appointment::find(conn, id)?));
    }
    Ok(Booked {
        course_id,
        appointments,
        skipped,
        screening: eval,
    })
}

/// Who reads a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CourseParty {
    Client,
    Therapist,
}

/// A course with its sessions, for its client or its therapist.
#[derive(Debug, Clone)]
pub struct CourseView {
    pub course: Course,
    pub party: CourseParty,
    pub therapist_name: String,
    pub client_name: String,
    pub technique: String,
    pub duration_min: i32,
    pub timezone: String,
    pub cancellation_window_hours: i32,
    /// (session number, appointment), in order.
    pub sessions: Vec<(i32, Appointment)>,
}

impl CourseView {
    pub fn tz(&self) -> Tz {
        zone(&self.timezone)
    }

    /// Sessions still to come and active (requested or confirmed).
    pub fn upcoming(&self, now_utc: DateTime<Utc>) -> usize {
        self.sessions
            .iter()
            .filter(|(_, a)| a.status.is_active() && a.starts_at.and_utc() > now_utc)
            .count()
    }

    /// Whether a cancel of the course would cancel anything for this reader now.
    pub fn cancellable(&self, now_utc: DateTime<Utc>) -> bool {
        self.upcoming(now_utc) > 0
    }
}

/// The course if `viewer` is its client or its therapist; 404 for anyone else.
pub fn view(conn: &mut DbConnection, viewer: &User, id: i64) -> Result<CourseView, AppError> {
    let course = Course::find(conn, id)?;
    let therapist = Therapist::find(conn, course.therapist_id)?;
    let party = if course.client_id == viewer.id {
        CourseParty::Client
    } else if therapist.user_id == viewer.id {
        CourseParty::Therapist
    } else {
        return Err(AppError::NotFound);
    };
    let service = Service::find(conn, course.service_id)?;
    let therapist_name: String = users::table
        .find(therapist.user_id)
        .select(users::name)
        .first(conn)?;
    let client_name: String = users::table
        .find(course.client_id)
        .select(users::name)
        .first(conn)?;
    let policy = BookingPolicy::find(conn, therapist.id)?;
    let mut sessions = Vec::new();
    for (n, appt_id) in Course::session_ids(conn, id)? {
        sessions.push((n, Appointment::find(conn, appt_id)?));
    }
    Ok(CourseView {
        course,
        party,
        therapist_name,
        client_name,
        technique: service.technique_slug,
        duration_min: service.duration_min,
        timezone: therapist.timezone,
        cancellation_window_hours: policy.cancellation_window_hours,
        sessions,
    })
}

/// A client's courses, newest first (their bookings page lists them).
pub fn client_courses(conn: &mut DbConnection, client: &User) -> Result<Vec<CourseView>, AppError> {
    let mut out = Vec::new();
    for c in Course::of_client(conn, client.id)? {
        out.push(view(conn, client, c.id)?);
    }
    Ok(out)
}

/// What a course cancel did: the sessions cancelled, and those kept (still to come, inside
/// the cancellation window, which the client may not cancel online).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CancelOutcome {
    pub cancelled: Vec<i64>,
    pub kept: Vec<i64>,
}

/// Cancels a course for its client or its therapist (404 for anyone else): every future
/// session by the rules of `booking::cancel` in one transaction (each one's freed slot and
/// withdrawn reminders as a single cancel), the ones refused as too late kept; the other party
/// gets one mail for the whole course (`notify::course_cancelled`).
pub fn cancel(
    conn: &mut DbConnection,
    mail: &MailCtx,
    user: &User,
    id: i64,
    reason: &str,
) -> Result<CancelOutcome, AppError> {
    let v = view(conn, user, id)?;
    let now_utc = Utc::now();
    write_transaction(conn, |conn| {
        let mut out = CancelOutcome::default();
        let mut told = Vec::new();
        let mut by = None;
        for (_, appt) in &v.sessions {
            if !appt.status.is_active() || appt.starts_at.and_utc() <= now_utc {
                continue;
            }
            let mut was_confirmed = false;
            let done = booking::cancel_then(conn, user, appt.id, reason, |conn, _, confirmed| {
                was_confirmed = confirmed;
                crate::services::outbox::withdraw_reminders(conn, appt.id).map(|_| ())
            });
            match done {
                Ok((_, canceller)) => {
                    out.cancelled.push(appt.id);
                    told.push((appt.id, was_confirmed));
                    by = Some(canceller);
                }
                Err(AppError::Rule {
                    code: "too_late_to_cancel",
                    ..
                }) => out.kept.push(appt.id),
                Err(e) => return Err(e),
            }
        }
        if out.cancelled.is_empty() && out.kept.is_empty() {
            return Err(AppError::Rule {
                code: "nothing_to_cancel",
                message: "This course has no session still to come.".into(),
            });
        }
        if let Some(by) = by {
            notify::course_cancelled(conn, mail, id, &told, by)?;
        }
        Course::mark_cancelled(conn, id, now())?;
        audit::record(
            conn,
            Some(user.id),
            "course.cancel",
            "course",
            Some(id),
            &format!(
                "{} session(s) cancelled, {} kept inside the cancellation window",
                out.cancelled.len(),
                out.kept.len()
            ),
        )?;
        Ok(out)
    })
}

/// The status words of a course session for its reader (the pages' table).
pub fn session_words(v: &CourseView, appt: &Appointment, now_utc: DateTime<Utc>) -> String {
    match v.party {
        CourseParty::Client => booking_client_words(v, appt, now_utc),
        CourseParty::Therapist => appt
            .status
            .therapist_words(
                appt.cancel_kind(),
                appt.cancelled_by.map(|by| by == appt.client_id),
                appt.ends_at.and_utc() <= now_utc,
            )
            .to_string(),
    }
}

fn booking_client_words(v: &CourseView, appt: &Appointment, now_utc: DateTime<Utc>) -> String {
    let state = crate::domain::appointment::ClientState::of(
        appt.status,
        appt.cancel_kind(),
        appt.cancelled_by.map(|by| by == appt.client_id),
        appt.ends_at.and_utc() <= now_utc,
    );
    let mut words = state.words(&v.therapist_name);
    if appt.status == AppointmentStatus::Confirmed
        && crate::domain::appointment::cannot_cancel_online(
            appt.starts_at.and_utc(),
            now_utc,
            v.cancellation_window_hours,
        )
        && appt.starts_at.and_utc() > now_utc
    {
        words.push_str(" (inside the cancellation window: kept if you cancel the course)");
    }
    words
}
