//! Booking: the one service behind the booking page and `POST /api/v1/appointments`, and the
//! appointment lifecycle (confirm, decline, cancel, reschedule, complete, no-show). The
//! database has the last word on overlaps: a refused insert is the typed `slot_taken` error.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{appointments, screening_access_log, services, therapists, users};
use crate::db::{write_transaction, DbConnection};
use crate::domain::account::Role;
use crate::domain::appointment::{
    self as rules, AppointmentStatus, BookingGroup, CancelKind, CancelRefusal, ClientCancel,
    ClientOptions, ClientState, Visit,
};
use crate::domain::availability;
use crate::domain::gazetteer::GeoPoint;
use crate::domain::practice::{choose_visit, ClientAddress, VisitOffer, VisitPlan, VisitRequest};
use crate::domain::screening::{self, Evaluation, Outcome, ScreeningError};
use crate::domain::technique::{self, Technique};
use crate::error::{AppError, FieldErrors};
use crate::models::appointment::{slot_taken, Appointment, NewAppointment};
use crate::models::audit;
use crate::models::booking_policy::BookingPolicy;
use crate::models::now;
use crate::models::service::Service;
use crate::models::therapist::Therapist;
use crate::models::user::User;
use crate::search::schedules::{load_schedules, utc_window};
use crate::services::access::{self, Proof};
use crate::services::crypto::AnswerCipher;
use crate::services::mail::MailCtx;
use crate::services::notify::{self, Canceller};
use crate::services::waitlist;

/// Inserts an appointment inside a write transaction (BEGIN IMMEDIATE on SQLite) and audits it.
pub fn insert_appointment(conn: &mut DbConnection, new: &NewAppointment) -> Result<i64, AppError> {
    write_transaction(conn, |conn| {
        let id = new.insert(conn)?;
        audit::record(
            conn,
            Some(new.client_id),
            "appointment.create",
            "appointment",
            Some(id),
            &format!("booked {} to {} UTC", new.starts_at, new.ends_at),
        )?;
        Ok(id)
    })
}

/// What a client asks for.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub therapist_id: i64,
    pub service_id: i64,
    pub starts_at: DateTime<Utc>,
    pub answers: BTreeMap<String, bool>,
    pub clearance_confirmed: bool,
    /// The client knows that this time can't be cancelled online once confirmed: required
    /// when it starts inside the therapist's cancellation window
    /// ([`rules::cannot_cancel_online`]), else ignored.
    pub window_acknowledged: bool,
    /// Studio or mobile, and a mobile visit's address ([`resolve_visit`]).
    pub visit: VisitRequest,
}

/// What the therapist offers, as the visit rule sees it.
pub fn visit_offer(t: &Therapist) -> VisitOffer {
    VisitOffer {
        studio: t.address.is_some(),
        mobile_radius_km: t.mobile_radius_km.filter(|_| t.mobile),
        base: match (t.latitude, t.longitude) {
            (Some(lat), Some(lon)) => GeoPoint::new(lat, lon).ok(),
            _ => None,
        },
    }
}

/// The one visit rule of every way of booking (the client's page and API, a booking the
/// therapist enters): a studio visit needs the therapist's address; a mobile visit needs a
/// therapist who offers them, the address and a city within their radius. 422 with the
/// refusal's code (`studio_unavailable`, `mobile_unavailable`, `address_required`,
/// `outside_mobile_area`) and the field it concerns.
pub fn resolve_visit(therapist: &Therapist, req: &VisitRequest) -> Result<VisitPlan, AppError> {
    choose_visit(&visit_offer(therapist), req).map_err(|r| AppError::FieldRule {
        code: r.code,
        message: r.message,
        fields: r.fields,
    })
}

/// The associated data that binds a mobile visit's address to its therapist and client.
pub(crate) fn address_aad(therapist_id: i64, client_id: i64) -> Vec<u8> {
    format!("bodywork-address:{therapist_id}:{client_id}").into_bytes()
}

/// What `appointments.client_address` holds for a visit: '' for a studio visit, the address
/// encrypted for a mobile one.
pub fn seal_address(
    cipher: &AnswerCipher,
    therapist_id: i64,
    client_id: i64,
    plan: &VisitPlan,
) -> Result<String, AppError> {
    match plan {
        VisitPlan::Studio => Ok(String::new()),
        VisitPlan::Mobile { address, .. } => Ok(cipher.encrypt(
            &serde_json::to_vec(address).map_err(|e| AppError::Internal(e.into()))?,
            &address_aad(therapist_id, client_id),
        )),
    }
}

/// A mobile visit's address, decrypted (None for a studio visit or an erased one). Callers
/// show it only to the booking's client and therapist and log the therapist's reads.
pub fn open_address(
    cipher: &AnswerCipher,
    appt: &Appointment,
) -> Result<Option<ClientAddress>, AppError> {
    if appt.client_address.is_empty() {
        return Ok(None);
    }
    let plain = cipher
        .decrypt(
            &appt.client_address,
            &address_aad(appt.therapist_id, appt.client_id),
        )
        .map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "address of appointment {} cannot be decrypted: {e}",
                appt.id
            ))
        })?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(|e| AppError::Internal(e.into()))
}

/// The error of a booking inside the cancellation window without the client's acknowledgement.
pub const WINDOW_NOT_ACKNOWLEDGED: &str = "cancellation_window_not_acknowledged";

/// A time inside the cancellation window chosen without saying so (to `book` or `move to`).
fn window_not_acknowledged(window_hours: i32, verb: &str) -> AppError {
    AppError::Rule {
        code: WINDOW_NOT_ACKNOWLEDGED,
        message: format!(
            "This time starts within the therapist's {window_hours}-hour cancellation window: once confirmed, it can't be cancelled or moved online. Confirm that you know this to {verb} it."
        ),
    }
}

/// Evaluates answers for a technique; a missing or unknown answer is a field error on
/// `answers`. Nothing is refused for the outcome (see [`screen`] for a client's booking).
pub fn evaluate_answers(
    technique: &str,
    answers: &BTreeMap<String, bool>,
) -> Result<Evaluation, AppError> {
    let q = screening::questionnaire();
    screening::evaluate(q, technique, answers).map_err(|e| {
        let mut f = FieldErrors::new();
        f.insert(
            "answers".into(),
            match e {
                ScreeningError::MissingAnswer(id) => {
                    format!("Please answer every question (missing: {id}).")
                }
                ScreeningError::UnknownQuestion(id) => {
                    format!("\"{id}\" is not one of our questions.")
                }
                ScreeningError::UnknownTechnique(t) => {
                    format!("\"{t}\" is not a technique we list.")
                }
            },
        );
        AppError::validation(f)
    })
}

/// Screens the answers for a technique: the outcomes that stop a booking become errors that
/// carry the screening result.
pub fn screen(
    technique: &str,
    answers: &BTreeMap<String, bool>,
    clearance_confirmed: bool,
) -> Result<Evaluation, AppError> {
    let eval = evaluate_answers(technique, answers)?;
    match eval.outcome {
        Outcome::Refer => Err(AppError::Screening {
            code: "screening_refer",
            message: "Massage is not right for you today. Please see a healthcare provider first."
                .into(),
            screening: Box::new(eval),
        }),
        Outcome::Decline => Err(AppError::Screening {
            code: "screening_decline",
            message:
                "This technique is not safe for you now. The techniques that suit you are listed."
                    .into(),
            screening: Box::new(eval),
        }),
        Outcome::NeedsClearance if !clearance_confirmed => Err(AppError::Screening {
            code: "clearance_required",
            message:
                "Please confirm that your healthcare practitioner has cleared you for massage."
                    .into(),
            screening: Box::new(eval),
        }),
        _ => Ok(eval),
    }
}

/// The associated data that binds encrypted answers to their booking's people.
pub(crate) fn answers_aad(therapist_id: i64, client_id: i64) -> Vec<u8> {
    format!("bodywork-answers:{therapist_id}:{client_id}").into_bytes()
}

/// The newest screening answers stored, sealed: (appointment id, therapist id, client id, text).
pub type SealedAnswers = (i64, i64, i64, String);

/// The newest screening answers stored, if any: what a key must open at start.
pub fn newest_sealed_answers(conn: &mut DbConnection) -> QueryResult<Option<SealedAnswers>> {
    appointments::table
        .filter(appointments::screening_answers.ne(""))
        .order(appointments::id.desc())
        .select((
            appointments::id,
            appointments::therapist_id,
            appointments::client_id,
            appointments::screening_answers,
        ))
        .first(conn)
        .optional()
}

/// Whether `cipher` opens stored answers: a server started with a lost or a wrong key would take
/// bookings whose therapists could not read them, and could not show the earlier ones.
pub fn key_opens(cipher: &AnswerCipher, sealed: &SealedAnswers) -> Result<(), String> {
    let (id, therapist_id, client_id, text) = sealed;
    cipher
        .decrypt(text, &answers_aad(*therapist_id, *client_id))
        .map(drop)
        .map_err(|e| {
            format!("the screening answers key does not open the answers of appointment {id}: {e}")
        })
}

/// Stored answers: the questionnaire version's answers, encrypted.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredAnswers {
    answers: BTreeMap<String, bool>,
}

/// Answers sealed for storage: the questionnaire version's answers, encrypted and bound to the
/// booking's therapist and client (what [`open_answers`] opens).
pub fn seal_answers(
    cipher: &AnswerCipher,
    answers: &BTreeMap<String, bool>,
    therapist_id: i64,
    client_id: i64,
) -> Result<String, AppError> {
    Ok(cipher.encrypt(
        &serde_json::to_vec(&StoredAnswers {
            answers: answers.clone(),
        })
        .map_err(|e| AppError::Internal(e.into()))?,
        &answers_aad(therapist_id, client_id),
    ))
}

/// The answers stored with an appointment, decrypted (None when there are none: destroyed, or
/// a booking written without them). The caller logs the read (`screening_access_log`).
pub fn open_answers(
    cipher: &AnswerCipher,
    appt: &Appointment,
) -> Result<Option<BTreeMap<String, bool>>, AppError> {
    if appt.screening_answers.is_empty() {
        return Ok(None);
    }
    let plain = cipher
        .decrypt(
            &appt.screening_answers,
            &answers_aad(appt.therapist_id, appt.client_id),
        )
        .map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "answers of appointment {} cannot be decrypted: {e}",
                appt.id
            ))
        })?;
    let stored: StoredAnswers =
        serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Some(stored.answers))
}

/// The associated data that binds an entered booking's note to its therapist and client.
pub(crate) fn note_aad(therapist_id: i64, client_id: i64) -> Vec<u8> {
    format!("bodywork-entry-note:{therapist_id}:{client_id}").into_bytes()
}

/// The therapist's note of a booking they entered, decrypted (None without one). Only the
/// therapist of the booking is shown it.
pub fn open_note(cipher: &AnswerCipher, appt: &Appointment) -> Result<Option<String>, AppError> {
    if appt.entry_note.is_empty() {
        return Ok(None);
    }
    let plain = cipher
        .decrypt(
            &appt.entry_note,
            &note_aad(appt.therapist_id, appt.client_id),
        )
        .map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "the note of appointment {} cannot be decrypted: {e}",
                appt.id
            ))
        })?;
    Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
}

/// A therapist's note sealed for storage, bound to the booking's therapist and client.
pub fn seal_note(cipher: &AnswerCipher, note: &str, therapist_id: i64, client_id: i64) -> String {
    cipher.encrypt(note.as_bytes(), &note_aad(therapist_id, client_id))
}

/// Records a read of an appointment's answers: who, through what (`page`, `api`, `export`),
/// when.
pub fn log_answers_read(
    conn: &mut DbConnection,
    appointment_id: i64,
    reader: i64,
    channel: &str,
) -> Result<(), AppError> {
    log_private_read(conn, appointment_id, reader, channel, ReadSubject::Answers)
}

/// What a logged read of an appointment's private data was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSubject {
    /// The screening answers.
    Answers,
    /// The session notes.
    Notes,
    /// A mobile visit's address.
    Address,
}

impl ReadSubject {
    /// What a stored `subject` was about, in the words the client's access log shows.
    pub fn words_of(stored: &str) -> &'static str {
        match stored {
            "answers" => "your health answers",
            "notes" => "the session notes",
            "address" => "your address",
            _ => "your private details",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReadSubject::Answers => "answers",
            ReadSubject::Notes => "notes",
            ReadSubject::Address => "address",
        }
    }
}

/// Records a read of an appointment's private data (`screening_access_log`, which the client
/// sees): who, through what channel, what, when.
pub fn log_private_read(
    conn: &mut DbConnection,
    appointment_id: i64,
    reader: i64,
    channel: &str,
    subject: ReadSubject,
) -> Result<(), AppError> {
    diesel::insert_into(screening_access_log::table)
        .values((
            screening_access_log::appointment_id.eq(appointment_id),
            screening_access_log::reader_user_id.eq(reader),
            screening_access_log::channel.eq(channel),
            screening_access_log::read_at.eq(now()),
            screening_access_log::subject.eq(subject.as_str()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether a proposed start is bookable for this therapist and service right now, answered by
/// the engine. `Err(slot_taken)` when only another booking is in the way.
pub(crate) fn check_slot(
    conn: &mut DbConnection,
    therapist_id: i64,
    duration_min: i64,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    ignore: Option<i64>,
) -> Result<(), AppError> {
    // Never open: in the past or beyond the longest advance window any therapist may set. Said
    // before the calendar arithmetic below, which a start at the ends of chrono's range (year
    // -262143, which the JSON's parser accepts) would overflow.
    let reach = Duration::days(crate::domain::schedule::MAX_ADVANCE_DAYS as i64 + 1);
    if start < now - Duration::days(1) || start > now + reach {
        return Err(slot_unavailable());
    }
    let day = start.date_naive();
    let (from, to) = utc_window(day, day);
    let mut schedules = load_schedules(conn, &[therapist_id], from, to, None)?;
    let Some(mut s) = schedules.remove(&therapist_id) else {
        return Err(AppError::NotFound);
    };
    if let Some(id) = ignore {
        // Rescheduling: the booking being moved does not block its own new time.
        let old = Appointment::find(conn, id)?;
        let (os, ob) = (old.starts_at.and_utc(), old.blocked_until.and_utc());
        s.busy.retain(|b| !(b.start == os && b.end == ob));
    }
    let q = s.query(
        duration_min,
        now,
        day - Duration::days(1),
        day + Duration::days(1),
    );
    if availability::is_free(&q, start) {
        return Ok(());
    }
    let no_busy = crate::domain::availability::SlotQuery { busy: &[], ..q };
    if availability::is_free(&no_busy, start) {
        Err(slot_taken())
    } else {
        Err(slot_unavailable())
    }
}

fn slot_unavailable() -> AppError {
    AppError::Conflict {
        code: "slot_unavailable",
        message: "This time is not open for booking (outside working hours, time off, too soon or too far ahead). Please choose one of the free times shown.".into(),
    }
}

/// The bookable service of a bookable therapist, or 404.
pub(crate) fn bookable(
    conn: &mut DbConnection,
    therapist_id: i64,
    service_id: i64,
) -> Result<(Therapist, Service), AppError> {
    let t = Therapist::find(conn, therapist_id)?;
    if t.suspended_at.is_some() {
        return Err(AppError::NotFound);
    }
    let s = Service::find(conn, service_id)?;
    if s.therapist_id != t.id || s.retired_at.is_some() {
        return Err(AppError::NotFound);
    }
    Ok((t, s))
}

/// The heart every new booking shares (a client's, one the therapist enters): inside the
/// caller's write transaction, the engine's free-time check of `start` for `service` (the same
/// rules as the free times shown: hours, time off, notice, advance window, other bookings),
/// then the row `build` makes from the therapist's policy (buffer, auto-confirm, window) is
/// inserted; the database may still refuse it (`slot_taken`).
pub(crate) fn insert_in_free_slot(
    conn: &mut DbConnection,
    service: &Service,
    start: DateTime<Utc>,
    now_utc: DateTime<Utc>,
    build: impl FnOnce(&BookingPolicy) -> Result<NewAppointment, AppError>,
) -> Result<(i64, NewAppointment), AppError> {
    check_slot(
        conn,
        service.therapist_id,
        service.duration_min as i64,
        start,
        now_utc,
        None,
    )?;
    let policy = BookingPolicy::find(conn, service.therapist_id)?;
    let new = build(&policy)?;
    let id = new.insert(conn)?;
    Ok((id, new))
}

/// How many upcoming bookings one client may hold (`BODYWORK_MAX_ACTIVE_BOOKINGS`): a few
/// scripted accounts must not hold every free slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingLimits {
    pub max_active: u32,
}

impl Default for BookingLimits {
    fn default() -> Self {
        BookingLimits { max_active: 10 }
    }
}

/// 422 `too_many_bookings` when the client already holds `limits.max_active` requested or
/// confirmed bookings still to come (checked in the booking's write transaction).
fn check_active_cap(
    conn: &mut DbConnection,
    client_id: i64,
    limits: BookingLimits,
    now_utc: DateTime<Utc>,
) -> Result<(), AppError> {
    check_active_cap_adding(conn, client_id, limits, now_utc, 1)
}

/// The cap for `adding` new bookings at once (a course counts each of its sessions): refused
/// when the client would hold more than `limits.max_active` upcoming bookings.
pub(crate) fn check_active_cap_adding(
    conn: &mut DbConnection,
    client_id: i64,
    limits: BookingLimits,
    now_utc: DateTime<Utc>,
    adding: i64,
) -> Result<(), AppError> {
    let held: i64 = appointments::table
        .filter(appointments::client_id.eq(client_id))
        .filter(appointments::status.eq_any(AppointmentStatus::active_strs()))
        .filter(appointments::starts_at.gt(now_utc.naive_utc()))
        .count()
        .get_result(conn)?;
    if held + adding > limits.max_active as i64 {
        let message = if adding == 1 {
            format!(
                "You already have {held} upcoming bookings, the most one person may hold at once ({}). Cancel one you no longer need, or wait until one has taken place.",
                limits.max_active
            )
        } else {
            format!(
                "You have {held} upcoming bookings: with these {adding} sessions you would hold more than one person may at once ({}). Choose fewer sessions, or cancel a booking you no longer need.",
                limits.max_active
            )
        };
        return Err(AppError::Rule {
            code: "too_many_bookings",
            message,
        });
    }
    Ok(())
}

/// The row of a client's own booking (a single one, or a course's session): the screening's
/// outcome and sealed answers, the visit, the therapist's policy deciding the status.
pub(crate) struct ClientRow<'a> {
    pub therapist_id: i64,
    pub client_id: i64,
    pub service: &'a Service,
    pub eval: &'a Evaluation,
    pub sealed_answers: &'a str,
    pub sealed_address: &'a str,
    pub visit: Visit,
    pub clearance_confirmed: bool,
    pub window_acknowledged: bool,
}

impl ClientRow<'_> {
    /// The appointment at `start` under `policy`: a time inside the cancellation window only
    /// knowingly (`cancellation_window_not_acknowledged`), confirmed at once with auto-confirm
    /// unless the screening flagged something.
    pub(crate) fn build(
        &self,
        policy: &BookingPolicy,
        start: DateTime<Utc>,
        now_utc: DateTime<Utc>,
    ) -> Result<NewAppointment, AppError> {
        let window_hours = policy.cancellation_window_hours;
        if rules::cannot_cancel_online(start, now_utc, window_hours) && !self.window_acknowledged {
            return Err(window_not_acknowledged(window_hours, "book"));
        }
        let end = start + Duration::minutes(self.service.duration_min as i64);
        let flagged = self.eval.outcome >= Outcome::Caution;
        let status = if policy.auto_confirm && !flagged {
            AppointmentStatus::Confirmed
        } else {
            AppointmentStatus::Requested
        };
        Ok(NewAppointment {
            therapist_id: self.therapist_id,
            client_id: self.client_id,
            service_id: self.service.id,
            starts_at: start.naive_utc(),
            ends_at: end.naive_utc(),
            blocked_until: (end + Duration::minutes(policy.buffer_min as i64)).naive_utc(),
            status,
            screening_version: screening::questionnaire().version,
            screening_answers: self.sealed_answers.to_string(),
            screening_outcome: self.eval.outcome.as_str().into(),
            clearance_confirmed: self.clearance_confirmed
                && self.eval.outcome == Outcome::NeedsClearance,
            created_at: now(),
            updated_at: now(),
            visit: self.visit,
            client_address: self.sealed_address.to_string(),
            screening_pending: false,
            entered_by: None,
            entry_note: String::new(),
        })
    }
}

/// Books: screens the answers, then in one write transaction re-checks the slot against the
/// engine and inserts; the database constraint is the last word. Only a client whose email is
/// verified books (`access::VerifiedClient`).
pub fn book(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &AnswerCipher,
    client: &access::VerifiedClient,
    limits: BookingLimits,
    req: &BookingRequest,
) -> Result<(Appointment, Evaluation), AppError> {
    let client = client.user();
    let (therapist, service) = bookable(conn, req.therapist_id, req.service_id)?;
    let plan = resolve_visit(&therapist, &req.visit)?;
    let sealed_address = seal_address(cipher, therapist.id, client.id, &plan)?;
    let eval = screen(
        &service.technique_slug,
        &req.answers,
        req.clearance_confirmed,
    )?;
    let now_utc = Utc::now();
    let start = req.starts_at;
    let sealed = seal_answers(cipher, &req.answers, therapist.id, client.id)?;
    let id = write_transaction(conn, |conn| {
        check_active_cap(conn, client.id, limits, now_utc)?;
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
        let (id, new) = insert_in_free_slot(conn, &service, start, now_utc, |policy| {
            row.build(policy, start, now_utc)
        })?;
        let status = new.status;
        audit::record(
            conn,
            Some(client.id),
            "appointment.create",
            "appointment",
            Some(id),
            &format!(
                "{status}: {} {} min at {} UTC (screening {})",
                service.technique_slug,
                service.duration_min,
                new.starts_at,
                eval.outcome.as_str()
            ),
        )?;
        notify::booked(conn, mail, id)?;
        Ok::<_, AppError>(id)
    })?;
    Ok((Appointment::find(conn, id)?, eval))
}

/// What a client whose technique the screening declined is offered instead.
#[derive(Debug, Clone)]
pub struct DeclineAlternatives {
    pub therapist_name: String,
    /// The therapist's zone, for the times.
    pub tz: chrono_tz::Tz,
    /// The techniques the screening suggests, in its order.
    pub suggested: Vec<&'static Technique>,
    /// This therapist's services in the suggested techniques, each with the declined time.
    pub services: Vec<Alternative>,
}

/// At most this many of a day's free times are offered for an alternative whose declined time
/// is not free: the nearest to it.
pub const DAY_TIMES_SHOWN: usize = 12;

/// One of the therapist's services in a suggested technique, and whether the time the client
/// chose is still free for it (its own duration and the therapist's buffer).
#[derive(Debug, Clone)]
pub struct Alternative {
    pub service: Service,
    /// The declined start can be booked with this service as it is.
    pub same_time_free: bool,
    /// When it cannot: that day's free starts for this service (the therapist's local day), at
    /// most [`DAY_TIMES_SHOWN`], the nearest to the declined start, in time order.
    pub day_times: Vec<DateTime<Utc>>,
}

/// The free starts of `all` nearest to `wanted`, at most `n`, in time order.
fn nearest_starts(
    all: &[availability::Interval],
    wanted: DateTime<Utc>,
    n: usize,
) -> Vec<DateTime<Utc>> {
    let mut starts: Vec<DateTime<Utc>> = all.iter().map(|i| i.start).collect();
    starts.sort_by_key(|t| ((*t - wanted).num_seconds().abs(), *t));
    starts.truncate(n);
    starts.sort();
    starts
}

/// The alternatives to a declined technique at this therapist, each saying whether `start` (the
/// declined time) is still free for it, and if not that day's free times (404 when not
/// bookable: unknown or suspended).
pub fn decline_alternatives(
    conn: &mut DbConnection,
    therapist_id: i64,
    screening: &Evaluation,
    start: DateTime<Utc>,
    now_utc: DateTime<Utc>,
) -> Result<DeclineAlternatives, AppError> {
    let suggested = screening
        .suggested_techniques
        .iter()
        .filter_map(|s| technique::find(s))
        .collect();
    let p = crate::services::directory::public_profile(conn, therapist_id, now_utc.date_naive())?;
    let tz = crate::models::therapist::zone(&p.therapist.timezone);
    let day = start.with_timezone(&tz).date_naive();
    let rank = |slug: &str| {
        screening
            .suggested_techniques
            .iter()
            .position(|s| s == slug)
    };
    // In the order of the suggestion, then as the profile lists them.
    let mut offered: Vec<Service> = p
        .services
        .into_iter()
        .filter(|s| rank(&s.technique_slug).is_some())
        .collect();
    offered.sort_by_key(|s| rank(&s.technique_slug));
    // One schedule read for every offered service (each only asks another length).
    let (wf, wt) = utc_window(day, day);
    let schedule = load_schedules(conn, &[therapist_id], wf, wt, None)?.remove(&therapist_id);
    let mut services = Vec::new();
    for service in offered {
        let free = match &schedule {
            Some(s) => {
                availability::free_slots(&s.query(service.duration_min as i64, now_utc, day, day))
                    .map_err(crate::search::schedules::slot_query_error)?
            }
            None => Vec::new(),
        };
        let same_time_free = free.iter().any(|i| i.start == start);
        let day_times = if same_time_free {
            Vec::new()
        } else {
            nearest_starts(&free, start, DAY_TIMES_SHOWN)
        };
        services.push(Alternative {
            service,
            same_time_free,
            day_times,
        });
    }
    Ok(DeclineAlternatives {
        therapist_name: p.name,
        tz,
        suggested,
        services,
    })
}

/// The appointment if `viewer` is its client, its therapist or an admin; anyone else gets 404.
pub fn find_visible(
    conn: &mut DbConnection,
    viewer: &User,
    id: i64,
) -> Result<Appointment, AppError> {
    let appt = Appointment::find(conn, id)?;
    party(conn, viewer, &appt)?;
    Ok(appt)
}

/// A stored outcome the therapist must read and acknowledge before confirming.
pub fn is_flagged(outcome: &str) -> bool {
    Outcome::is_flagged_str(outcome)
}

/// How a viewer relates to an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Client,
    Therapist,
    Admin,
}

fn party(conn: &mut DbConnection, viewer: &User, appt: &Appointment) -> Result<Party, AppError> {
    match viewer.role() {
        Role::Admin => Ok(Party::Admin),
        Role::Client if appt.client_id == viewer.id => Ok(Party::Client),
        Role::Therapist
            if Therapist::find_by_user(conn, viewer.id)?
                .is_some_and(|t| t.id == appt.therapist_id) =>
        {
            Ok(Party::Therapist)
        }
        _ => Err(AppError::NotFound),
    }
}

/// An appointment with what its viewer may read.
#[derive(Debug, Clone)]
pub struct AppointmentView {
    pub appt: Appointment,
    pub party: Party,
    pub therapist_name: String,
    /// How the client reaches the therapist (shown wherever a page says "contact them"; with
    /// `studio_address` and `therapist_phone` below).
    pub therapist_email: String,
    pub client_name: String,
    pub timezone: String,
    pub technique: String,
    pub duration_min: i32,
    pub price_cents: i64,
    /// The answers and the full screening: only for the client and the therapist.
    pub answers: Option<BTreeMap<String, bool>>,
    pub screening: Option<Evaluation>,
    pub cancellation_window_hours: i32,
    /// The therapist's studio address and phone (public).
    pub studio_address: Option<String>,
    pub therapist_phone: Option<String>,
    /// A mobile visit's address: only for the client and the therapist (each read by the
    /// therapist logged); None for an admin and for a studio visit.
    pub client_address: Option<ClientAddress>,
    /// The note the therapist wrote when entering the booking: for its therapist only.
    pub entry_note: Option<String>,
    /// Whether a cancel or decline reason was given (`appt.cancel_reason` is emptied for an
    /// admin: only the two parties read it).
    pub cancel_reason_given: bool,
    /// The course it is a session of ("session 3 of 10"), if any.
    pub course: Option<crate::models::course::CoursePlace>,
}

impl AppointmentView {
    pub fn starts(&self) -> DateTime<Utc> {
        self.appt.starts_at.and_utc()
    }
    pub fn tz(&self) -> chrono_tz::Tz {
        crate::models::therapist::zone(&self.timezone)
    }
    /// The outcome as every output says it: `pending` while the screening is pending.
    pub fn outcome(&self) -> &str {
        screening::shown_outcome(&self.appt.screening_outcome, self.appt.screening_pending)
    }
    pub fn is_flagged(&self) -> bool {
        is_flagged(self.outcome())
    }
    /// Waiting for the client's answers (a booking the therapist entered).
    pub fn screening_pending(&self) -> bool {
        self.appt.screening_pending
    }
    /// Waits for its client's answers and can still take them.
    pub fn awaits_answers(&self, now: DateTime<Utc>) -> bool {
        rules::awaits_answers(
            self.appt.status,
            self.appt.screening_pending,
            self.starts(),
            now,
        )
    }
    /// Entered by the therapist, its answers need their decision (see
    /// `domain::appointment::needs_decision`).
    pub fn needs_decision(&self) -> bool {
        rules::needs_decision(
            self.appt.status,
            self.appt.entered_by.is_some(),
            self.appt.screening_pending,
            &self.appt.screening_outcome,
            self.appt.clearance_confirmed,
            self.appt.flags_acknowledged_at.is_some(),
        )
    }
    /// By when the therapist is asked to answer a request (see [`rules::confirm_by`]).
    pub fn confirm_by(&self) -> Option<DateTime<Utc>> {
        rules::confirm_by(
            self.appt.status,
            self.appt.created_at.and_utc(),
            self.starts(),
        )
    }
    /// Where it stands for its client (see [`ClientState`]).
    pub fn client_state(&self, now: DateTime<Utc>) -> ClientState {
        ClientState::of(
            self.appt.status,
            self.appt.cancel_kind(),
            self.appt.cancelled_by.map(|by| by == self.appt.client_id),
            self.appt.ends_at.and_utc() <= now,
        )
    }
    /// Where it stands in the therapist's words (see [`AppointmentStatus::therapist_words`]).
    pub fn therapist_words(&self, now: DateTime<Utc>) -> &'static str {
        self.appt.status.therapist_words(
            self.appt.cancel_kind(),
            self.appt.cancelled_by.map(|by| by == self.appt.client_id),
            self.appt.ends_at.and_utc() <= now,
        )
    }
    /// What its client may do now: withdraw, cancel, move (see [`rules::client_options`]).
    pub fn client_options(&self, now: DateTime<Utc>) -> ClientOptions {
        rules::client_options(
            self.appt.status,
            self.starts(),
            now,
            self.cancellation_window_hours,
        )
    }
}

/// Reads an appointment for `viewer`. The client and the therapist see the answers (decrypted);
/// every read by someone other than the client who gave them is written to the access log.
/// An admin sees the outcome only.
pub fn view(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    viewer: &User,
    id: i64,
    channel: &str,
) -> Result<AppointmentView, AppError> {
    let mut appt = Appointment::find(conn, id)?;
    let party = party(conn, viewer, &appt)?;
    // A cancel or decline reason may hold health details: only the two parties read it; an
    // admin learns that there is one.
    let cancel_reason_given = appt.cancel_reason.as_deref().is_some_and(|r| !r.is_empty());
    if party == Party::Admin {
        appt.cancel_reason = None;
    }
    let (therapist, service) = (
        Therapist::find(conn, appt.therapist_id)?,
        Service::find(conn, appt.service_id)?,
    );
    let (therapist_name, therapist_email): (String, String) = users::table
        .find(therapist.user_id)
        .select((users::name, users::email))
        .first(conn)?;
    let client_name: String = users::table
        .find(appt.client_id)
        .select(users::name)
        .first(conn)?;
    let policy = BookingPolicy::find(conn, therapist.id)?;
    let opened = if party == Party::Admin {
        None
    } else {
        open_answers(cipher, &appt)?
    };
    let client_address = if party == Party::Admin {
        None
    } else {
        let address = open_address(cipher, &appt)?;
        if address.is_some() && party != Party::Client {
            log_private_read(conn, id, viewer.id, channel, ReadSubject::Address)?;
        }
        address
    };
    let (answers, screening) = match opened {
        None => (None, None),
        Some(answers) => {
            if party != Party::Client {
                log_answers_read(conn, id, viewer.id, channel)?;
            }
            let eval = screening::evaluate(
                screening::questionnaire(),
                &service.technique_slug,
                &answers,
            )
            .ok();
            (Some(answers), eval)
        }
    };
    let entry_note = if party == Party::Therapist {
        open_note(cipher, &appt)?
    } else {
        None
    };
    let course = crate::models::course::place_of(conn, appt.id)?;
    Ok(AppointmentView {
        course,
        entry_note,
        cancel_reason_given,
        party,
        therapist_name,
        therapist_email,
        client_name,
        timezone: therapist.timezone,
        technique: service.technique_slug,
        duration_min: service.duration_min,
        price_cents: service.price_cents,
        answers,
        screening,
        cancellation_window_hours: policy.cancellation_window_hours,
        studio_address: therapist.address,
        therapist_phone: therapist.phone,
        client_address,
        appt,
    })
}

/// The mobile visits' addresses among these appointments of the therapist (by appointment
/// id), for their list: each one read is logged (`ReadSubject::Address`) like a single view.
pub fn mobile_addresses(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    therapist: &access::Therapist,
    ids: &[i64],
    channel: &str,
) -> Result<BTreeMap<i64, ClientAddress>, AppError> {
    let reader = therapist.id();
    let Some(t) = Therapist::find_by_user(conn, reader)? else {
        return Ok(BTreeMap::new());
    };
    let rows: Vec<Appointment> = appointments::table
        .filter(appointments::therapist_id.eq(t.id))
        .filter(appointments::id.eq_any(ids))
        .filter(appointments::client_address.ne(""))
        .select(Appointment::as_select())
        .load(conn)?;
    let mut out = BTreeMap::new();
    for a in rows {
        if let Some(address) = open_address(cipher, &a)? {
            log_private_read(conn, a.id, reader, channel, ReadSubject::Address)?;
            out.insert(a.id, address);
        }
    }
    Ok(out)
}

/// A logged read of an appointment's private data: who, through what channel, when, and what
/// (`answers`, `notes` or `address`: [`ReadSubject::as_str`]).
pub type AccessLine = (String, String, NaiveDateTime, String);

/// Who read the private data of an appointment (answers, notes, address), and when (for its
/// client), newest first.
pub fn access_log(
    conn: &mut DbConnection,
    client: &access::Client,
    id: i64,
) -> Result<Vec<AccessLine>, AppError> {
    let client = client.user();
    let appt = Appointment::find(conn, id)?;
    if appt.client_id != client.id {
        return Err(AppError::NotFound);
    }
    Ok(screening_access_log::table
        .inner_join(users::table)
        .filter(screening_access_log::appointment_id.eq(id))
        .order((
            screening_access_log::read_at.desc(),
            screening_access_log::id.desc(),
        ))
        .select((
            users::name,
            screening_access_log::channel,
            screening_access_log::read_at,
            screening_access_log::subject,
        ))
        .load(conn)?)
}

/// A line of a booking list.
#[derive(Debug, Clone, Queryable)]
pub struct ListItem {
    pub id: i64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    #[diesel(deserialize_as = String)]
    pub status: AppointmentStatus,
    pub screening_outcome: String,
    pub flags_acknowledged_at: Option<NaiveDateTime>,
    pub technique: String,
    pub duration_min: i32,
    pub price_cents: i64,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub timezone: String,
    pub client_id: i64,
    pub cancelled_by: Option<i64>,
    pub cancel_reason: Option<String>,
    /// Stored text of [`CancelKind`]; read it with [`ListItem::cancel_kind`].
    pub cancel_kind: Option<String>,
    /// When it was requested.
    pub created_at: NaiveDateTime,
    /// The calendar event's chain of moves and sequence (see `Appointment::calendar_id`).
    pub calendar_series: Option<i64>,
    pub calendar_sequence: i32,
    /// Studio or mobile (a mobile visit's address is not on a list line).
    #[diesel(deserialize_as = String)]
    pub visit: Visit,
    /// The therapist's studio address (public).
    pub studio_address: Option<String>,
    /// Entered by the therapist and waiting for the client's answers (see [`ListItem::outcome`]).
    pub screening_pending: bool,
    /// The therapist's user who entered it (None: the client booked it).
    pub entered_by: Option<i64>,
    pub clearance_confirmed: bool,
}

impl ListItem {
    /// The outcome as every output says it: `pending` while the screening is pending (see
    /// `domain::screening::shown_outcome`).
    pub fn outcome(&self) -> &str {
        screening::shown_outcome(&self.screening_outcome, self.screening_pending)
    }
    pub fn is_flagged(&self) -> bool {
        is_flagged(self.outcome())
    }
    /// Flagged by screening, still requested and not yet acknowledged by the therapist.
    pub fn awaiting_acknowledgement(&self) -> bool {
        crate::domain::appointment::awaiting_acknowledgement(
            self.status,
            self.outcome(),
            self.flags_acknowledged_at.is_some(),
        )
    }
    /// Waits for its client's answers and can still take them (see
    /// `domain::appointment::awaits_answers`).
    pub fn awaits_answers(&self, now: DateTime<Utc>) -> bool {
        rules::awaits_answers(
            self.status,
            self.screening_pending,
            self.starts_at.and_utc(),
            now,
        )
    }
    /// A booking the therapist entered whose answers need their decision (see
    /// `domain::appointment::needs_decision`).
    pub fn needs_decision(&self) -> bool {
        rules::needs_decision(
            self.status,
            self.entered_by.is_some(),
            self.screening_pending,
            &self.screening_outcome,
            self.clearance_confirmed,
            self.flags_acknowledged_at.is_some(),
        )
    }
    pub fn tz(&self) -> chrono_tz::Tz {
        crate::models::therapist::zone(&self.timezone)
    }
    pub fn cancel_kind(&self) -> Option<CancelKind> {
        self.cancel_kind.as_deref().and_then(CancelKind::parse)
    }
    /// By when the therapist is asked to answer a request (see [`rules::confirm_by`]).
    pub fn confirm_by(&self) -> Option<DateTime<Utc>> {
        rules::confirm_by(
            self.status,
            self.created_at.and_utc(),
            self.starts_at.and_utc(),
        )
    }
    /// Where it stands for its client (see [`ClientState`]).
    pub fn client_state(&self, now: DateTime<Utc>) -> ClientState {
        ClientState::of(
            self.status,
            self.cancel_kind(),
            self.cancelled_by.map(|by| by == self.client_id),
            self.ends_at.and_utc() <= now,
        )
    }
    /// Where it stands in the therapist's words (see [`AppointmentStatus::therapist_words`]).
    pub fn therapist_words(&self, now: DateTime<Utc>) -> &'static str {
        self.status.therapist_words(
            self.cancel_kind(),
            self.cancelled_by.map(|by| by == self.client_id),
            self.ends_at.and_utc() <= now,
        )
    }
    /// The screening outcome in words (see [`Outcome::words`]; "Screening pending").
    pub fn outcome_words(&self) -> &'static str {
        Outcome::words_of(self.outcome())
    }
}

type ListColumns = (
    appointments::id,
    appointments::starts_at,
    appointments::ends_at,
    appointments::status,
    appointments::screening_outcome,
    appointments::flags_acknowledged_at,
    services::technique_slug,
    services::duration_min,
    services::price_cents,
    therapists::id,
    users::name,
    therapists::timezone,
    appointments::client_id,
    appointments::cancelled_by,
    appointments::cancel_reason,
    appointments::cancel_kind,
    appointments::created_at,
    appointments::calendar_series,
    appointments::calendar_sequence,
    appointments::visit,
    therapists::address,
    appointments::screening_pending,
    appointments::entered_by,
    appointments::clearance_confirmed,
);

const LIST_COLUMNS: ListColumns = (
    appointments::id,
    appointments::starts_at,
    appointments::ends_at,
    appointments::status,
    appointments::screening_outcome,
    appointments::flags_acknowledged_at,
    services::technique_slug,
    services::duration_min,
    services::price_cents,
    therapists::id,
    users::name,
    therapists::timezone,
    appointments::client_id,
    appointments::cancelled_by,
    appointments::cancel_reason,
    appointments::cancel_kind,
    appointments::created_at,
    appointments::calendar_series,
    appointments::calendar_sequence,
    appointments::visit,
    therapists::address,
    appointments::screening_pending,
    appointments::entered_by,
    appointments::clearance_confirmed,
);

/// A line of the client's bookings list: the appointment and where it stands for them.
#[derive(Debug, Clone)]
pub struct ClientBooking {
    pub item: ListItem,
    pub state: ClientState,
}

impl ClientBooking {
    pub fn new(item: ListItem, now: DateTime<Utc>) -> ClientBooking {
        let state = item.client_state(now);
        ClientBooking { item, state }
    }
    pub fn group(&self) -> BookingGroup {
        self.state.group()
    }
    /// The state in the client's words ("Waiting for Maya Okafor to confirm").
    pub fn words(&self) -> String {
        self.state.words(&self.item.therapist_name)
    }
    /// The reason given for a cancel or decline, with how to introduce it ("Their reason").
    pub fn reason(&self) -> Option<(&'static str, &str)> {
        self.state.reason(self.item.cancel_reason.as_deref())
    }
}

/// The client's bookings by group, each in the group's order (see [`BookingGroup`]).
#[derive(Debug, Clone, Default)]
pub struct ClientBookings {
    pub upcoming: Vec<ClientBooking>,
    pub past: Vec<ClientBooking>,
    pub cancelled: Vec<ClientBooking>,
}

impl ClientBookings {
    /// Groups and orders a client's appointments as of `now`; the one place of this rule for
    /// the bookings page and `GET /api/v1/me/bookings`.
    pub fn group(items: Vec<ListItem>, now: DateTime<Utc>) -> ClientBookings {
        let mut out = ClientBookings::default();
        for item in items {
            let b = ClientBooking::new(item, now);
            match b.group() {
                BookingGroup::Upcoming => out.upcoming.push(b),
                BookingGroup::Past => out.past.push(b),
                BookingGroup::Cancelled => out.cancelled.push(b),
            }
        }
        for (group, list) in [
            (BookingGroup::Upcoming, &mut out.upcoming),
            (BookingGroup::Past, &mut out.past),
            (BookingGroup::Cancelled, &mut out.cancelled),
        ] {
            list.sort_by_key(|b| (b.item.starts_at, b.item.id));
            if group.latest_first() {
                list.reverse();
            }
        }
        out
    }
}

/// A client's bookings grouped as the bookings page shows them.
pub fn client_bookings(
    conn: &mut DbConnection,
    client: &access::Client,
    now: DateTime<Utc>,
) -> Result<ClientBookings, AppError> {
    Ok(ClientBookings::group(client_list(conn, client)?, now))
}

/// A client's appointments, soonest first (`users::name` is the therapist's).
pub fn client_list(
    conn: &mut DbConnection,
    client: &access::Client,
) -> Result<Vec<ListItem>, AppError> {
    let client_id = client.id();
    Ok(appointments::table
        .inner_join(services::table)
        .inner_join(therapists::table.inner_join(users::table))
        .filter(appointments::client_id.eq(client_id))
        .order(appointments::starts_at.asc())
        .select(LIST_COLUMNS)
        .load(conn)?)
}

/// A therapist's appointments between two instants, soonest first, with client names.
pub fn therapist_list(
    conn: &mut DbConnection,
    therapist_id: i64,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(ListItem, String)>, AppError> {
    let items: Vec<ListItem> = appointments::table
        .inner_join(services::table)
        .inner_join(therapists::table.inner_join(users::table))
        .filter(appointments::therapist_id.eq(therapist_id))
        .filter(appointments::starts_at.ge(from))
        .filter(appointments::starts_at.lt(to))
        .order(appointments::starts_at.asc())
        .select(LIST_COLUMNS)
        .load(conn)?;
    let ids: Vec<i64> = items.iter().map(|i| i.client_id).collect();
    let names: std::collections::HashMap<i64, String> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok(items
        .into_iter()
        .map(|i| {
            let n = names.get(&i.client_id).cloned().unwrap_or_default();
            (i, n)
        })
        .collect())
}

/// What the therapist's dashboard leads with: the requests waiting for them, then today's and
/// tomorrow's sessions, on their clock. The one place of this selection for the page and
/// `GET /api/v1/me/agenda`.
#[derive(Debug, Clone)]
pub struct Agenda {
    pub tz: chrono_tz::Tz,
    /// Today on the therapist's clock.
    pub today: NaiveDate,
    /// Requested, not started yet: soonest first (a request not confirmed by its start is lost).
    pub waiting: Vec<(ListItem, String)>,
    /// Today's sessions (not cancelled or declined), in time order.
    pub today_items: Vec<(ListItem, String)>,
    /// Tomorrow's, the same way.
    pub tomorrow_items: Vec<(ListItem, String)>,
    /// Bookings the therapist entered whose answers need their decision, not started yet,
    /// soonest first (see `ListItem::needs_decision`).
    pub decisions: Vec<(ListItem, String)>,
}

impl Agenda {
    /// How many waiting requests have screening flags the therapist must read first.
    pub fn flagged_count(&self) -> usize {
        self.waiting
            .iter()
            .filter(|(i, _)| i.awaiting_acknowledgement())
            .count()
    }
}

/// The therapist's agenda as of `now` (see [`Agenda`]).
pub fn agenda(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    now: DateTime<Utc>,
) -> Result<Agenda, AppError> {
    let t = Therapist::find_by_user(conn, therapist.id())?.ok_or(AppError::NotFound)?;
    let tz = crate::models::therapist::zone(&t.timezone);
    let today = crate::domain::schedule::local_today(now, tz);
    let from = crate::domain::schedule::day_begins(today, tz);
    // Requests can be made as far ahead as the longest advance window (a year).
    let to = now + Duration::days(400);
    let all = therapist_list(conn, t.id, from.naive_utc(), to.naive_utc())?;
    let on = |day: NaiveDate| -> Vec<(ListItem, String)> {
        all.iter()
            .filter(|(i, _)| {
                i.status != AppointmentStatus::Cancelled
                    && i.starts_at.and_utc().with_timezone(&tz).date_naive() == day
            })
            .cloned()
            .collect()
    };
    let (today_items, tomorrow_items) = (on(today), on(today + Duration::days(1)));
    let waiting = all
        .iter()
        .filter(|(i, _)| i.status.awaits_decision() && i.starts_at.and_utc() > now)
        .cloned()
        .collect();
    let decisions = all
        .iter()
        .filter(|(i, _)| i.needs_decision() && i.starts_at.and_utc() > now)
        .cloned()
        .collect();
    Ok(Agenda {
        tz,
        today,
        decisions,
        waiting,
        today_items,
        tomorrow_items,
    })
}

fn own_therapist_appt(
    conn: &mut DbConnection,
    user: &User,
    id: i64,
) -> Result<Appointment, AppError> {
    let appt = Appointment::find(conn, id)?;
    match party(conn, user, &appt)? {
        Party::Therapist => Ok(appt),
        Party::Client | Party::Admin => Err(AppError::Forbidden),
    }
}

fn transition_error(appt: &Appointment, action: &str) -> AppError {
    AppError::Rule {
        code: "invalid_transition",
        message: format!("A {} appointment cannot be {action}.", appt.status.label()),
    }
}

/// What a cancel stores besides the status.
struct Cancelled<'a> {
    reason: &'a str,
    by: i64,
    kind: CancelKind,
}

/// Changes the status (only from the one read: `changed_meanwhile` otherwise), audits it, and
/// writes the event's mails (`then`) in the same transaction.
fn set_status(
    conn: &mut DbConnection,
    actor: &User,
    appt: &Appointment,
    status: AppointmentStatus,
    cancelled: Option<Cancelled<'_>>,
    summary: &str,
    then: impl FnOnce(&mut DbConnection) -> Result<(), AppError>,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let changed = diesel::update(
            appointments::table
                .find(appt.id)
                .filter(appointments::status.eq(appt.status.as_str())),
        )
        .set((
            appointments::status.eq(status.as_str()),
            appointments::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(AppError::Conflict {
                code: "changed_meanwhile",
                message: "This appointment changed meanwhile. Reload and try again.".into(),
            });
        }
        if status == AppointmentStatus::Cancelled {
            // Its time may come free for someone on the waitlist (checked after the commit).
            waitlist::note_freed(conn, appt.therapist_id, appt.starts_at, appt.blocked_until)?;
        }
        if let Some(c) = cancelled {
            diesel::update(appointments::table.find(appt.id))
                .set((
                    appointments::cancel_reason.eq(c.reason),
                    appointments::cancelled_by.eq(c.by),
                    appointments::cancel_kind.eq(c.kind.as_str()),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            Some(actor.id),
            &format!("appointment.{status}"),
            "appointment",
            Some(appt.id),
            summary,
        )?;
        then(conn)
    })
}

/// The therapist confirms; flagged bookings need `acknowledged_flags` (auto-confirm never skips it).
pub fn confirm(
    conn: &mut DbConnection,
    mail: &MailCtx,
    therapist: &access::Therapist,
    id: i64,
    acknowledged_flags: bool,
) -> Result<(), AppError> {
    let therapist_user = therapist.user();
    let appt = own_therapist_appt(conn, therapist_user, id)?;
    if !appt.status.awaits_decision() {
        return Err(transition_error(&appt, "confirmed"));
    }
    let flagged = is_flagged(screening::shown_outcome(
        &appt.screening_outcome,
        appt.screening_pending,
    ));
    if flagged && !acknowledged_flags {
        return Err(AppError::Rule {
            code: "flags_not_acknowledged",
            message: "Read the screening notes and confirm that you have acknowledged them first."
                .into(),
        });
    }
    write_transaction(conn, |conn| {
        if flagged {
            diesel::update(appointments::table.find(id))
                .set(appointments::flags_acknowledged_at.eq(now()))
                .execute(conn)?;
        }
        Ok::<_, AppError>(())
    })?;
    set_status(
        conn,
        therapist_user,
        &appt,
        AppointmentStatus::Confirmed,
        None,
        if flagged {
            "confirmed, screening flags acknowledged"
        } else {
            "confirmed"
        },
        |conn| notify::confirmed(conn, mail, id),
    )
}

fn check_reason(reason: &str, required: bool) -> Result<String, AppError> {
    let r = reason.trim();
    if required && r.is_empty() {
        return Err(AppError::field("reason", "Give the client a short reason."));
    }
    if r.chars().count() > 500 {
        return Err(AppError::field(
            "reason",
            "A reason has at most 500 characters.",
        ));
    }
    Ok(r.to_string())
}

/// The therapist declines a request, with a reason the client sees.
pub fn decline(
    conn: &mut DbConnection,
    mail: &MailCtx,
    therapist: &access::Therapist,
    id: i64,
    reason: &str,
) -> Result<(), AppError> {
    let therapist_user = therapist.user();
    let reason = check_reason(reason, true)?;
    let appt = own_therapist_appt(conn, therapist_user, id)?;
    if !appt.status.awaits_decision() {
        return Err(transition_error(&appt, "declined"));
    }
    set_status(
        conn,
        therapist_user,
        &appt,
        AppointmentStatus::Cancelled,
        Some(Cancelled {
            reason: &reason,
            by: therapist_user.id,
            kind: CancelKind::Declined,
        }),
        "declined by the therapist (reason given to the client)",
        |conn| notify::declined(conn, mail, id),
    )
}

/// A client's cancel or move inside the therapist's cancellation window.
fn too_late(verb: &str, window_hours: i32) -> AppError {
    AppError::Rule {
        code: "too_late_to_cancel",
        message: format!(
            "It is too late to {verb} this booking online: this therapist asks for {window_hours} hours' notice. Please contact them."
        ),
    }
}

/// The error for a cancel the rules refuse.
fn refusal_error(appt: &Appointment, refusal: CancelRefusal) -> AppError {
    match refusal {
        CancelRefusal::Final => transition_error(appt, "cancelled"),
        CancelRefusal::Started => AppError::Rule {
            code: "already_started",
            message: "This appointment has already started.".into(),
        },
        CancelRefusal::TooLate { window_hours } => too_late("cancel", window_hours),
    }
}

/// Cancels. The client withdraws a request any time before it starts, and cancels a confirmed
/// booking only outside the cancellation window (`too_late_to_cancel`; the rule is
/// [`rules::client_cancel`]); the therapist, or an admin (a suspended therapist's bookings, say),
/// cancels any time before the start. The other side is mailed in the same transaction
/// (`services::notify::cancelled`). Returns how it ended: withdrawn or cancelled.
pub fn cancel(
    conn: &mut DbConnection,
    mail: &MailCtx,
    user: &User,
    id: i64,
    reason: &str,
) -> Result<CancelKind, AppError> {
    cancel_then(conn, user, id, reason, |conn, canceller, was_confirmed| {
        notify::cancelled(conn, mail, id, canceller, was_confirmed)
    })
    .map(|(kind, _)| kind)
}

/// A cancel with the same rules as [`cancel`], whose mail is `tell`'s to write (in the same
/// transaction) with who cancelled and whether the booking was confirmed: a course's cancel
/// tells once for all its sessions (`notify::course_cancelled`).
pub(crate) fn cancel_then(
    conn: &mut DbConnection,
    user: &User,
    id: i64,
    reason: &str,
    tell: impl FnOnce(&mut DbConnection, notify::Canceller, bool) -> Result<(), AppError>,
) -> Result<(CancelKind, notify::Canceller), AppError> {
    let reason = check_reason(reason, false)?;
    let appt = Appointment::find(conn, id)?;
    let who = party(conn, user, &appt)?;
    let now_utc = Utc::now();
    let starts = appt.starts_at.and_utc();
    let kind = match who {
        Party::Client => {
            let policy = BookingPolicy::find(conn, appt.therapist_id)?;
            match rules::client_cancel(
                appt.status,
                starts,
                now_utc,
                policy.cancellation_window_hours,
            ) {
                Ok(ClientCancel::Withdraw) => CancelKind::Withdrawn,
                Ok(ClientCancel::Cancel) => CancelKind::Cancelled,
                Err(refusal) => return Err(refusal_error(&appt, refusal)),
            }
        }
        Party::Therapist | Party::Admin => {
            if !appt.status.is_active() {
                return Err(transition_error(&appt, "cancelled"));
            }
            if starts <= now_utc {
                return Err(refusal_error(&appt, CancelRefusal::Started));
            }
            CancelKind::Cancelled
        }
    };
    let (by, done, canceller) = match (who, kind) {
        (Party::Client, CancelKind::Withdrawn) => {
            ("client", "withdrawn", Canceller::Client { withdrawn: true })
        }
        (Party::Client, _) => (
            "client",
            "cancelled",
            Canceller::Client { withdrawn: false },
        ),
        (Party::Admin, _) => ("admin", "cancelled", Canceller::Admin),
        (Party::Therapist, _) => ("therapist", "cancelled", Canceller::Therapist),
    };
    // The reason may hold health details: it stays on the appointment, not in the audit log.
    let summary = if reason.is_empty() {
        format!("{done} by the {by}")
    } else {
        format!("{done} by the {by} (reason given)")
    };
    let was_confirmed = appt.status == AppointmentStatus::Confirmed;
    set_status(
        conn,
        user,
        &appt,
        AppointmentStatus::Cancelled,
        Some(Cancelled {
            reason: &reason,
            by: user.id,
            kind,
        }),
        &summary,
        |conn| tell(conn, canceller, was_confirmed),
    )?;
    Ok((kind, canceller))
}

/// Marks a past appointment completed or a no-show (therapist, after its start).
pub fn finish(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    id: i64,
    completed: bool,
) -> Result<(), AppError> {
    let therapist_user = therapist.user();
    let appt = own_therapist_appt(conn, therapist_user, id)?;
    let status = if completed {
        AppointmentStatus::Completed
    } else {
        AppointmentStatus::NoShow
    };
    if !appt.status.is_active() {
        return Err(transition_error(
            &appt,
            if completed {
                "completed"
            } else {
                "marked as a no-show"
            },
        ));
    }
    if appt.starts_at.and_utc() > Utc::now() {
        return Err(AppError::Rule {
            code: "not_started",
            message: "This appointment has not started yet.".into(),
        });
    }
    set_status(
        conn,
        therapist_user,
        &appt,
        status,
        None,
        status.as_str(),
        |_| Ok(()),
    )
}

/// Moves a client's booking to a new start: cancel and book as one transaction (both or neither),
/// with the same service and screening answers; both are mailed in it (`services::notify::moved`).
pub fn reschedule(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    mail: &MailCtx,
    client: &User,
    id: i64,
    new_start: DateTime<Utc>,
    window_acknowledged: bool,
) -> Result<Appointment, AppError> {
    let appt = Appointment::find(conn, id)?;
    if party(conn, client, &appt)? != Party::Client {
        return Err(AppError::NotFound);
    }
    if !appt.status.is_active() {
        return Err(transition_error(&appt, "rescheduled"));
    }
    let (therapist, service) = bookable(conn, appt.therapist_id, appt.service_id)?;
    // The place moves with the booking only while the therapist still offers it.
    let address = open_address(cipher, &appt)?;
    crate::domain::practice::recheck_visit(&visit_offer(&therapist), appt.visit, address.as_ref())
        .map_err(|r| AppError::Rule {
            code: r.code,
            message: r.message,
        })?;
    let policy = BookingPolicy::find(conn, therapist.id)?;
    let now_utc = Utc::now();
    let starts = appt.starts_at.and_utc();
    if !rules::client_may_move(
        appt.status,
        starts,
        now_utc,
        policy.cancellation_window_hours,
    ) {
        return Err(too_late("move", policy.cancellation_window_hours));
    }
    // A new time inside the window is chosen only knowingly, as when booking.
    if rules::cannot_cancel_online(new_start, now_utc, policy.cancellation_window_hours)
        && !window_acknowledged
    {
        return Err(window_not_acknowledged(
            policy.cancellation_window_hours,
            "move your booking to",
        ));
    }
    let end = new_start + Duration::minutes(service.duration_min as i64);
    let new_status = rules::status_after_move(appt.status, policy.auto_confirm);
    let back_to_request = new_status != appt.status;
    let new_id = write_transaction(conn, |conn| {
        check_slot(
            conn,
            therapist.id,
            service.duration_min as i64,
            new_start,
            now_utc,
            Some(appt.id),
        )?;
        let changed = diesel::update(
            appointments::table
                .find(appt.id)
                .filter(appointments::status.eq(appt.status.as_str())),
        )
        .set((
            appointments::status.eq(AppointmentStatus::Cancelled.as_str()),
            appointments::cancel_reason.eq("rescheduled"),
            appointments::cancelled_by.eq(client.id),
            appointments::cancel_kind.eq(CancelKind::Rescheduled.as_str()),
            appointments::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(AppError::Conflict {
                code: "changed_meanwhile",
                message: "This appointment changed meanwhile. Reload and try again.".into(),
            });
        }
        let new = NewAppointment {
            therapist_id: appt.therapist_id,
            client_id: appt.client_id,
            service_id: appt.service_id,
            starts_at: new_start.naive_utc(),
            ends_at: end.naive_utc(),
            blocked_until: (end + Duration::minutes(policy.buffer_min as i64)).naive_utc(),
            status: new_status,
            screening_version: appt.screening_version,
            screening_answers: appt.screening_answers.clone(),
            screening_outcome: appt.screening_outcome.clone(),
            clearance_confirmed: appt.clearance_confirmed,
            created_at: now(),
            updated_at: now(),
            visit: appt.visit,
            client_address: appt.client_address.clone(),
            screening_pending: appt.screening_pending,
            entered_by: appt.entered_by,
            entry_note: appt.entry_note.clone(),
        };
        let new_id = new.insert(conn)?;
        waitlist::note_freed(conn, appt.therapist_id, appt.starts_at, appt.blocked_until)?;
        // The calendar event moves with it: same UID, one more in sequence.
        diesel::update(appointments::table.find(new_id))
            .set((
                appointments::flags_acknowledged_at.eq(appt.flags_acknowledged_at),
                appointments::calendar_series.eq(Some(appt.calendar_id())),
                appointments::calendar_sequence.eq(crate::domain::mail::sequence_after_move(
                    appt.calendar_sequence,
                    back_to_request,
                )),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            Some(client.id),
            "appointment.reschedule",
            "appointment",
            Some(new_id),
            &format!(
                "moved from appointment {} ({} UTC) to {} UTC",
                appt.id, appt.starts_at, new.starts_at
            ),
        )?;
        notify::moved(conn, mail, &appt, new_id)?;
        Ok::<_, AppError>(new_id)
    })?;
    Ok(Appointment::find(conn, new_id)?)
}

/// Free slots of a service between two local dates (at most 31 days).
pub fn slots(
    conn: &mut DbConnection,
    therapist_id: i64,
    service_id: i64,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    now_utc: DateTime<Utc>,
) -> Result<(chrono_tz::Tz, Vec<availability::Interval>), AppError> {
    let (_, service) = bookable(conn, therapist_id, service_id)?;
    let (wf, wt) = utc_window(from, to);
    let mut schedules = load_schedules(conn, &[therapist_id], wf, wt, None)?;
    let s = schedules.remove(&therapist_id).ok_or(AppError::NotFound)?;
    let list = availability::free_slots(&s.query(service.duration_min as i64, now_utc, from, to))
        .map_err(crate::search::schedules::slot_query_error)?;
    Ok((s.tz, list))
}
