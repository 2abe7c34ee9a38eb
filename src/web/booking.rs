//! The client's booking journey: the screening questions, the outcome (booked, clearance,
//! a safer technique, or "see a healthcare provider first"), the bookings list and detail,
//! withdraw, cancel and reschedule; and the standalone self-check.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::appointment::{
    cannot_cancel_online, CancelKind, ClientOptions, ClientState, Visit,
};
use crate::domain::practice::VisitRequest;
use crate::domain::screening::{
    self, Applies, ChecklistError, Evaluation, Group, Outcome, Question,
};
use crate::domain::technique::{Technique, CATALOGUE};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::models::therapist::Therapist;
use crate::services::access::{self, Proof};
use crate::services::booking::{
    self, Alternative, AppointmentView, BookingRequest, ClientBooking, ClientBookings, ReadSubject,
};
use crate::services::directory;
use crate::services::idempotency::Once;
use crate::services::notes::{self, Notes};
use crate::services::with_conn;
use crate::web::filters;
use crate::web::format::group_by_day;
use crate::web::format::local_time;
use crate::web::{app_state, redirect_with_flash, render, As, CsrfForm, PageCtx, PageResult};
use crate::web::{remembered_answers, ANSWERS_AAD, ANSWERS_COOKIE, RETRY_COOKIE};

// ---- The short health form (booking and self-check) ----------------------------------------

/// Where earlier answers that fill the form in came from, said on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefill {
    /// The answers of this client's declined attempt (the retry cookie).
    DeclinedAttempt,
    /// The self-check answers kept in this browser session (the answers cookie).
    SelfCheck,
}

impl Prefill {
    pub fn words(self) -> &'static str {
        match self {
            Prefill::DeclinedAttempt => "We filled in the answers you gave a moment ago.",
            Prefill::SelfCheck => "We filled in the answers of your self-check.",
        }
    }
}

/// The short health form as shown: the first choice ("none apply" / "some apply"), the ticked
/// questions of the grouped checklist, the error on one of the two parts, and where prefilled
/// answers came from. The rules are `screening::checklist_answers`; this only reads and shows.
pub struct HealthForm {
    pub groups: Vec<(&'static Group, Vec<&'static Question>)>,
    pub applies: Option<Applies>,
    pub ticked: BTreeSet<String>,
    pub error: Option<ChecklistError>,
    pub prefilled: Option<Prefill>,
    /// Who can read the answers, true for the page it is on.
    pub privacy: &'static str,
}

/// On the booking form: the answers are stored with the booking.
pub(crate) const BOOKING_PRIVACY: &str = "Your answers are stored encrypted with your booking: only you and your therapist can read them.";
/// On the self-check: nothing is stored unless the visitor asks to keep them in the browser.
const SELF_CHECK_PRIVACY: &str = "Your answers are not stored on our server. If you ask us to keep them, they stay encrypted in this browser session only.";

impl HealthForm {
    pub(crate) fn blank(privacy: &'static str) -> HealthForm {
        HealthForm {
            groups: screening::questionnaire().grouped(),
            applies: None,
            ticked: BTreeSet::new(),
            error: None,
            prefilled: None,
            privacy,
        }
    }

    /// Reads the posted form (`applies` = none|some, a checkbox `q_<id>` = yes per ticked
    /// question) into the page state and, through the domain's rule, the full yes/no answers.
    pub(crate) fn read(
        form: &HashMap<String, String>,
        privacy: &'static str,
    ) -> (HealthForm, Result<BTreeMap<String, bool>, ChecklistError>) {
        let q = screening::questionnaire();
        let mut f = HealthForm::blank(privacy);
        f.applies = form.get("applies").and_then(|v| Applies::parse(v));
        let ticked: Vec<String> = q
            .questions
            .iter()
            .filter(|qn| {
                form.get(&format!("q_{}", qn.id))
                    .is_some_and(|v| v == "yes")
            })
            .map(|qn| qn.id.clone())
            .collect();
        f.ticked = ticked.iter().cloned().collect();
        let answers = screening::checklist_answers(q, f.applies, &ticked);
        f.error = answers.as_ref().err().cloned();
        (f, answers)
    }

    /// Fills the form in from earlier answers when they cover every question.
    fn prefill(&mut self, answers: &BTreeMap<String, bool>, from: Prefill) {
        if let Some((applies, yes)) = screening::checklist_of(screening::questionnaire(), answers) {
            self.applies = Some(applies);
            self.ticked = yes;
            self.prefilled = Some(from);
        }
    }

    pub fn applies_is(&self, value: &str) -> bool {
        self.applies.is_some_and(|a| a.as_str() == value)
    }

    pub fn is_ticked(&self, id: &str) -> bool {
        self.ticked.contains(id)
    }

    /// The message on `field` (`applies` or `checklist`), if any.
    pub fn error_on(&self, field: &str) -> Option<String> {
        self.error
            .as_ref()
            .filter(|e| e.field() == field)
            .map(|e| e.to_string())
    }

    /// The error summary's line: (the id of the control it leads to, the message).
    pub fn summary(&self) -> Option<(String, String)> {
        let e = self.error.as_ref()?;
        let target = match e.field() {
            "applies" => "applies-none".to_string(),
            _ => match self.ticked.iter().next() {
                Some(id) if matches!(e, ChecklistError::NoneButTicked(_)) => format!("q-{id}"),
                _ => self
                    .groups
                    .first()
                    .and_then(|(_, qs)| qs.first())
                    .map_or("checklist".into(), |qn| format!("q-{}", qn.id)),
            },
        };
        Some((target, e.to_string()))
    }
}

/// How long a declined attempt's answers are kept for the next try ([`RETRY_COOKIE`]).
const RETRY_HOURS: i64 = 2;

fn retry_aad(user_id: i64) -> Vec<u8> {
    format!("bodywork-booking-retry:{user_id}").into_bytes()
}

#[derive(Serialize, Deserialize)]
struct RetryAnswers {
    /// Unix seconds when kept: older than [`RETRY_HOURS`] is ignored.
    kept_at: i64,
    answers: BTreeMap<String, bool>,
}

/// The declined attempt's answers of this client, while fresh.
fn retry_answers(req: &HttpRequest, user_id: i64) -> Option<BTreeMap<String, bool>> {
    let c = crate::web::request_cookie(req, RETRY_COOKIE)?;
    let plain = app_state(req)
        .cipher
        .decrypt(c.value(), &retry_aad(user_id))
        .ok()?;
    let kept: RetryAnswers = serde_json::from_slice(&plain).ok()?;
    let age = Utc::now().timestamp() - kept.kept_at;
    (0..RETRY_HOURS * 3600)
        .contains(&age)
        .then_some(kept.answers)
}

fn retry_cookie(
    req: &HttpRequest,
    user_id: i64,
    answers: &BTreeMap<String, bool>,
) -> Result<actix_web::cookie::Cookie<'static>, AppError> {
    let state = app_state(req);
    let json = serde_json::to_vec(&RetryAnswers {
        kept_at: Utc::now().timestamp(),
        answers: answers.clone(),
    })
    .map_err(|e| AppError::Internal(e.into()))?;
    let mut c = crate::web::cookie(
        &state,
        RETRY_COOKIE,
        state.cipher.encrypt(&json, &retry_aad(user_id)),
    );
    c.set_max_age(actix_web::cookie::time::Duration::hours(RETRY_HOURS));
    Ok(c)
}

#[derive(Debug, Deserialize)]
pub struct BookQuery {
    pub therapist: i64,
    pub service: i64,
    pub start: String,
}

#[derive(Template)]
#[template(path = "booking/book.html")]
pub struct BookPage {
    pub ctx: PageCtx,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub service_id: i64,
    pub technique: String,
    pub duration_min: i32,
    pub price_cents: i64,
    pub start: String,
    pub when: String,
    pub health: HealthForm,
    /// A message that belongs to no field (the time was taken, ...).
    pub error: Option<String>,
    /// Shown when the answers need a practitioner's clearance.
    pub clearance: Option<Evaluation>,
    /// The time starts inside the therapist's cancellation window: the page says so and asks
    /// the client to confirm it knowingly (`domain::appointment::cannot_cancel_online`).
    pub late: bool,
    pub window_hours: i32,
    /// The acknowledgement was missing (shown next to its box).
    pub window_error: Option<String>,
    /// The client ticked the cancellation-window box (kept when the form comes back).
    pub window_acknowledged: bool,
    /// The clearance box was not ticked on a form that showed it.
    pub clearance_error: Option<String>,
    /// Where the session takes place (`booking/_where.html`).
    pub place: WhereForm,
    /// This form's key of safe retries (`web::IDEMPOTENCY_FIELD`): new per rendered form,
    /// the same when the form comes back unbooked.
    pub idempotency_key: String,
}

/// The "Where" part of a booking form, one booking's or a course's (`booking/_where.html`):
/// what the therapist offers, the visit chosen and a mobile visit's address as typed (kept
/// when the form comes back), and the visit rule's refusal by field.
pub struct WhereForm {
    /// The therapist's studio address (None: mobile visits only), and whether they offer
    /// mobile visits (within `mobile_radius_km` of `city`).
    pub studio_address: Option<String>,
    pub mobile_radius_km: Option<i32>,
    pub city: String,
    pub therapist_name: String,
    /// `studio` or `mobile`.
    pub visit: String,
    pub client_address: String,
    pub client_city: String,
    /// The visit rule's refusal, by field (`visit`, `client_address`, `client_city`).
    pub errors: FieldErrors,
    /// The therapist, for the visit rule (`booking::resolve_visit`).
    therapist: Therapist,
}

impl WhereForm {
    /// The offer of the profile's therapist, with the visit they default to.
    pub fn new(p: &directory::PublicProfile) -> Self {
        let offer = booking::visit_offer(&p.therapist);
        WhereForm {
            studio_address: p.therapist.address.clone(),
            mobile_radius_km: offer.mobile_radius_km,
            city: p.city_label().unwrap_or_default(),
            therapist_name: p.name.clone(),
            visit: offer.default_visit().as_str().to_string(),
            client_address: String::new(),
            client_city: String::new(),
            errors: FieldErrors::new(),
            therapist: p.therapist.clone(),
        }
    }

    /// Reads the posted choice and address, keeps them for the form, and checks them with the
    /// visit rule (`booking::resolve_visit`, the service checks it again), so that its errors
    /// show together with the health form's.
    pub fn read(&mut self, form: &HashMap<String, String>) -> VisitRequest {
        let field = |k: &str| form.get(k).cloned().unwrap_or_default();
        let visit = VisitRequest {
            visit: form.get("visit").and_then(|v| Visit::parse(v)),
            client_address: field("client_address"),
            client_city: field("client_city"),
        };
        if let Some(v) = visit.visit {
            self.visit = v.as_str().to_string();
        }
        self.client_address = visit.client_address.clone();
        self.client_city = visit.client_city.clone();
        if let Err(AppError::FieldRule { fields, .. }) =
            booking::resolve_visit(&self.therapist, &visit)
        {
            self.errors = fields;
        }
        visit
    }

    pub fn offers_both(&self) -> bool {
        self.studio_address.is_some() && self.mobile_radius_km.is_some()
    }
    pub fn visit_error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
    /// The visit the form shows chosen.
    pub fn visit_is(&self, v: &str) -> bool {
        self.visit == v
    }
    /// The error summary's lines of this part: (the id of the control, the message).
    pub fn summary(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.errors.iter().map(|(f, m)| {
            let target = if f == "visit" {
                "visit-choice".to_string()
            } else {
                f.clone()
            };
            (target, m.clone())
        })
    }
}

impl BookPage {
    /// The error summary: (the id of the control, the message) per field in error.
    pub fn summary(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self.place.summary().collect();
        out.extend(self.health.summary());
        if let Some(e) = &self.clearance_error {
            out.push(("clearance_confirmed".into(), e.clone()));
        }
        if let Some(e) = &self.window_error {
            out.push((WINDOW_FIELD.into(), e.clone()));
        }
        out
    }

    pub fn has_errors(&self) -> bool {
        self.error.is_some() || !self.summary().is_empty()
    }
}

/// The booking form's box "I understand this can't be cancelled online".
const WINDOW_FIELD: &str = "window_acknowledged";

fn parse_start(s: &str) -> Result<DateTime<Utc>, AppError> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            AppError::BadRequest(
                "That time could not be read. Choose a time on the therapist's page.".into(),
            )
        })
}

async fn book_page(
    req: &HttpRequest,
    ctx: PageCtx,
    therapist_id: i64,
    service_id: i64,
    start: &str,
) -> Result<BookPage, AppError> {
    let when = parse_start(start)?;
    let state = app_state(req);
    let today = Utc::now().date_naive();
    let (p, _) = state.public_profile(therapist_id, today).await?;
    let service = p
        .services
        .iter()
        .find(|s| s.id == service_id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let tz = crate::models::therapist::zone(&p.therapist.timezone);
    let now = Utc::now();
    Ok(BookPage {
        place: WhereForm::new(&p),
        idempotency_key: crate::web::new_form_key(),
        late: cannot_cancel_online(when, now, p.cancellation_window_hours),
        window_hours: p.cancellation_window_hours,
        window_error: None,
        ctx,
        therapist_id,
        therapist_name: p.name.clone(),
        service_id,
        technique: service.technique_slug,
        duration_min: service.duration_min,
        price_cents: service.price_cents,
        start: start.to_string(),
        when: local_time(when, tz, now),
        health: HealthForm::blank(BOOKING_PRIVACY),
        window_acknowledged: false,
        error: None,
        clearance: None,
        clearance_error: None,
    })
}

/// The health form for a chosen time (log in first; the page comes back here), filled in from
/// this client's declined attempt or else from the self-check kept in this browser session.
pub async fn book_form(
    req: HttpRequest,
    user: As<access::VerifiedClient>,
    q: web::Query<BookQuery>,
) -> PageResult<HttpResponse> {
    let mut page = book_page(&req, user.ctx, q.therapist, q.service, &q.start).await?;
    if let Some(a) = retry_answers(&req, user.who.user().id) {
        page.health.prefill(&a, Prefill::DeclinedAttempt);
    } else if let Some(a) = remembered_answers(&req) {
        page.health.prefill(&a, Prefill::SelfCheck);
    }
    no_store(render(StatusCode::OK, &page)?)
}

use crate::web::no_store;

#[derive(Template)]
#[template(path = "booking/refer.html")]
pub struct ReferPage {
    pub ctx: PageCtx,
    pub screening: Evaluation,
}

#[derive(Template)]
#[template(path = "booking/decline.html")]
pub struct DeclinePage {
    pub ctx: PageCtx,
    pub screening: Evaluation,
    pub technique: String,
    pub therapist_id: i64,
    pub therapist_name: String,
    /// The declined time: its RFC 3339 form (for links) and in words.
    pub start: String,
    pub when: String,
    pub tz: chrono_tz::Tz,
    /// This therapist's services in the suitable techniques, with the declined time.
    pub alternatives: Vec<Alternative>,
    pub suggested: Vec<&'static Technique>,
}

impl DeclinePage {
    /// A time as a link parameter.
    pub fn rfc3339(&self, t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
    /// A time of the declined day: "09:30".
    pub fn clock(&self, t: &DateTime<Utc>) -> String {
        t.with_timezone(&self.tz).format("%H:%M").to_string()
    }
}

pub async fn book(
    req: HttpRequest,
    user: As<access::VerifiedClient>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult<HttpResponse> {
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let therapist_id: i64 = field("therapist").parse().map_err(|_| AppError::NotFound)?;
    let service_id: i64 = field("service").parse().map_err(|_| AppError::NotFound)?;
    let start = field("start");
    let mut page = book_page(&req, user.ctx.clone(), therapist_id, service_id, &start).await?;
    let (claim, key) = crate::web::form_claim(user.who.user().id, "POST /book", &form);
    page.idempotency_key = key;
    let (health, answers) = HealthForm::read(&form, BOOKING_PRIVACY);
    page.health = health;
    page.window_acknowledged = form.contains_key(WINDOW_FIELD);
    let visit = page.place.read(&form);
    let Ok(answers) = answers else {
        return no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?);
    };
    if !page.place.errors.is_empty() {
        return no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?);
    }
    let starts_at = parse_start(&start)?;
    let clearance_confirmed = form.contains_key("clearance_confirmed");
    let request = BookingRequest {
        therapist_id,
        service_id,
        starts_at,
        answers: answers.clone(),
        clearance_confirmed,
        window_acknowledged: form.contains_key(WINDOW_FIELD),
        visit,
    };
    let state = app_state(&req);
    state.booking_allowed(user.who.user().id)?;
    let st = state.clone();
    let client = user.who.clone();
    let user_id = user.who.user().id;
    match crate::services::idempotency::run(
        &state.pool,
        &state.cipher,
        claim.clone(),
        move |conn| {
            booking::book(
                conn,
                &st.mail,
                &st.cipher,
                &client,
                st.booking_limits,
                &request,
            )
        },
        |(appt, _)| Ok(crate::web::form_answer(format!("/bookings/{}", appt.id))),
    )
    .await
    {
        Ok(Once::Ran((appt, _))) => {
            let location = format!("/bookings/{}", appt.id);
            let mut resp =
                redirect_with_flash(&location, format!("Booking {}: {}", appt.status, page.when));
            let _ = resp.add_cookie(&crate::web::removal_cookie(&state, RETRY_COOKIE));
            Ok(resp)
        }
        // A double submit, or a retry after a dropped connection: what the first one booked.
        Ok(Once::Replay(stored) | Once::OtherRequest(stored)) => {
            Ok(crate::web::already_booked(&stored))
        }
        Err(AppError::Screening {
            code: "screening_refer",
            screening,
            ..
        }) => {
            let mut resp = no_store(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ReferPage {
                    ctx: user.ctx,
                    screening: *screening,
                },
            )?)?;
            // The page says the answers are not kept: nor are those of an earlier attempt.
            let _ = resp.add_cookie(&crate::web::removal_cookie(&state, RETRY_COOKIE));
            Ok(resp)
        }
        Err(AppError::Screening {
            code: "screening_decline",
            screening,
            ..
        }) => {
            let s = screening.clone();
            let alt = with_conn(&state.pool, move |conn| {
                booking::decline_alternatives(conn, therapist_id, &s, starts_at, Utc::now())
            })
            .await?;
            let mut resp = no_store(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &DeclinePage {
                    ctx: user.ctx,
                    technique: page.technique.clone(),
                    therapist_id,
                    therapist_name: alt.therapist_name,
                    start: starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    when: page.when.clone(),
                    tz: alt.tz,
                    alternatives: alt.services,
                    suggested: alt.suggested,
                    screening: *screening,
                },
            )?)?;
            // The answers carry over to the suggested service's form (encrypted, this client's).
            let _ = resp.add_cookie(&retry_cookie(&req, user_id, &answers)?);
            Ok(resp)
        }
        Err(AppError::Rule {
            code: booking::WINDOW_NOT_ACKNOWLEDGED,
            message,
        }) => {
            page.late = true;
            page.window_error = Some(message);
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(AppError::Screening {
            screening, message, ..
        }) => {
            page.clearance_error = Some(message);
            page.clearance = Some(*screening);
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(e @ AppError::Conflict { .. }) => {
            page.error = Some(e.public_message());
            no_store(render(StatusCode::CONFLICT, &page)?)
        }
        Err(
            e @ AppError::Rule {
                code: crate::services::idempotency::REUSED,
                ..
            },
        ) => {
            page.error = Some(e.public_message());
            page.idempotency_key = crate::web::new_form_key();
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(AppError::FieldRule { fields, .. }) => {
            page.place.errors = fields;
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "booking/list.html")]
pub struct BookingsPage {
    pub ctx: PageCtx,
    /// Grouped and ordered by the service (`ClientBookings::group`).
    pub bookings: ClientBookings,
    /// The client's courses, newest first: (id, what, sessions still to come).
    pub courses: Vec<(i64, String, usize)>,
}

/// The look of a state's badge (`badge ok`, ...).
pub fn state_tone(state: ClientState) -> &'static str {
    match state {
        ClientState::Confirmed | ClientState::Completed => "ok",
        ClientState::AwaitingConfirmation => "pending",
        ClientState::Ended | ClientState::NotConfirmed | ClientState::Moved => "plain",
        ClientState::NoShow
        | ClientState::Declined
        | ClientState::Withdrawn
        | ClientState::CancelledByYou
        | ClientState::CancelledByTherapist
        | ClientState::Cancelled => "off",
    }
}

impl BookingsPage {
    pub fn tone(&self, b: &ClientBooking) -> &'static str {
        state_tone(b.state)
    }
    /// A booking the therapist entered whose questions the client can answer now.
    pub fn awaits_answers(&self, b: &ClientBooking) -> bool {
        b.item.awaits_answers(Utc::now())
    }
}

/// `/bookings`: upcoming, past, and cancelled or declined, each state in words.
pub async fn list(req: HttpRequest, user: As<access::Client>) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let me = user.who.clone();
    let now = Utc::now();
    let (bookings, courses) = with_conn(&state.pool, move |conn| {
        let courses = crate::services::course::client_courses(conn, me.user())?;
        Ok((booking::client_bookings(conn, &me, now)?, courses))
    })
    .await?;
    let courses = courses
        .iter()
        .map(|c| {
            (
                c.course.id,
                format!(
                    "{} with {}, {} sessions{}",
                    crate::domain::technique::find(&c.technique)
                        .map_or(c.technique.as_str(), |t| t.name),
                    c.therapist_name,
                    c.course.sessions,
                    if c.course.cancelled_at.is_some() {
                        " (cancelled)"
                    } else {
                        ""
                    }
                ),
                c.upcoming(now),
            )
        })
        .collect();
    render(
        StatusCode::OK,
        &BookingsPage {
            ctx: user.ctx,
            bookings,
            courses,
        },
    )
}

#[derive(Template)]
#[template(path = "booking/detail.html")]
pub struct DetailPage {
    pub ctx: PageCtx,
    pub v: AppointmentView,
    /// Who read what, when, through what: (reader, channel, time, what).
    pub reads: Vec<(String, String, String, &'static str)>,
    /// The session notes of this booking (the client's right of access; the read is logged).
    pub notes: Notes,
    pub questions: &'static [Question],
    pub error: Option<String>,
    pub state: ClientState,
    /// Withdraw, cancel, move, or "too late, contact them".
    pub options: ClientOptions,
    /// The client's review of this booking (hidden or not), and whether they may write one.
    pub review: Option<crate::services::reviews::ReviewView>,
    pub can_review: bool,
}

impl DetailPage {
    /// A booking the therapist entered whose questions the client can answer now.
    pub fn awaits_answers(&self) -> bool {
        self.v.awaits_answers(Utc::now())
    }
    pub fn state_words(&self) -> String {
        self.state.words(&self.v.therapist_name)
    }
    pub fn tone(&self) -> &'static str {
        state_tone(self.state)
    }
    /// The reason given for a cancel or decline, with how to introduce it.
    pub fn reason(&self) -> Option<(&'static str, &str)> {
        self.state.reason(self.v.appt.cancel_reason.as_deref())
    }
    pub fn answer(&self, id: &str) -> &'static str {
        match self.v.answers.as_ref().and_then(|a| a.get(id)) {
            Some(true) => "Yes",
            Some(false) => "No",
            None => "Not asked",
        }
    }
}

async fn detail_page(
    req: &HttpRequest,
    user: As<access::Client>,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let st = state.clone();
    let client = user.who.clone();
    let (v, notes, reads, review, can_review) = with_conn(&state.pool, move |conn| {
        let v = booking::view(conn, &st.cipher, client.user(), id, "page")?;
        let notes = notes::read(conn, &st.cipher, client.user(), id, "page")?;
        let reads = booking::access_log(conn, &client, id)?;
        let review = crate::services::reviews::of_appointment(conn, client.user(), id)?;
        let can_review =
            crate::services::reviews::may_review(conn, client.user(), &v.appt, Utc::now())?;
        Ok((v, notes, reads, review, can_review))
    })
    .await?;
    let reads = reads
        .into_iter()
        .map(|(who, channel, at, subject)| {
            (
                who,
                channel,
                local_time(at.and_utc(), v.tz(), Utc::now()),
                ReadSubject::words_of(&subject),
            )
        })
        .collect();
    let now = Utc::now();
    let (state, options) = (v.client_state(now), v.client_options(now));
    no_store(render(
        status,
        &DetailPage {
            ctx: user.ctx,
            v,
            reads,
            notes,
            questions: &screening::questionnaire().questions,
            error,
            state,
            options,
            review,
            can_review,
        },
    )?)
}

pub async fn detail(
    req: HttpRequest,
    user: As<access::Client>,
    id: web::Path<i64>,
) -> PageResult<HttpResponse> {
    detail_page(&req, user, id.into_inner(), None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    pub reason: String,
}

pub async fn cancel(
    req: HttpRequest,
    user: As<access::Client>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<CancelForm>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let state = app_state(&req);
    let client = user.session.user.clone();
    let mail = state.mail.clone();
    match with_conn(&state.pool, move |conn| {
        booking::cancel(conn, &mail, &client, id, &form.reason)
    })
    .await
    {
        Ok(kind) => Ok(redirect_with_flash(
            "/bookings",
            if kind == CancelKind::Withdrawn {
                "Your request is withdrawn."
            } else {
                "Your booking is cancelled."
            },
        )),
        Err(
            e @ (AppError::Rule { .. } | AppError::Validation { .. } | AppError::Conflict { .. }),
        ) => {
            let msg = e.public_message();
            detail_page(&req, user, id, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "booking/reschedule.html")]
pub struct ReschedulePage {
    pub ctx: PageCtx,
    pub v: AppointmentView,
    pub days: Vec<(String, Vec<(String, String)>)>,
    pub error: Option<String>,
    pub next_from: String,
    /// A time inside the cancellation window chosen without the acknowledgement: asked again,
    /// with the box to tick (its RFC 3339 start and how it reads).
    pub confirm: Option<(String, String)>,
    pub window_hours: i32,
    pub now: DateTime<Utc>,
}

impl ReschedulePage {
    /// Whether a listed start (RFC 3339) falls inside the cancellation window.
    pub fn late(&self, start: &str) -> bool {
        DateTime::parse_from_rfc3339(start)
            .is_ok_and(|t| cannot_cancel_online(t.with_timezone(&Utc), self.now, self.window_hours))
    }
}

#[derive(Debug, Deserialize)]
pub struct FromQuery {
    pub from: Option<NaiveDate>,
}

async fn reschedule_page(
    req: &HttpRequest,
    user: As<access::Client>,
    id: i64,
    from: Option<NaiveDate>,
    error: Option<String>,
    confirm: Option<DateTime<Utc>>,
    status: StatusCode,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let st = state.clone();
    let client = user.session.user.clone();
    let now = Utc::now();
    let today = now.date_naive();
    let from = from
        .unwrap_or(today)
        .clamp(today, today + Duration::days(365));
    let (v, slots) = with_conn(&state.pool, move |conn| {
        let v = booking::view(conn, &st.cipher, &client, id, "page")?;
        let (_, slots) = booking::slots(
            conn,
            v.appt.therapist_id,
            v.appt.service_id,
            from,
            from + Duration::days(6),
            now,
        )?;
        Ok((v, slots))
    })
    .await?;
    let window_hours = v.cancellation_window_hours;
    let days = group_by_day(&slots, v.tz(), now);
    let confirm = confirm.map(|t| {
        (
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            crate::web::format::local_time(t, v.tz(), now),
        )
    });
    no_store(render(
        status,
        &ReschedulePage {
            ctx: user.ctx,
            v,
            days,
            error,
            next_from: (from + Duration::days(7)).to_string(),
            confirm,
            window_hours,
            now,
        },
    )?)
}

pub async fn reschedule_form(
    req: HttpRequest,
    user: As<access::Client>,
    id: web::Path<i64>,
    q: web::Query<FromQuery>,
) -> PageResult<HttpResponse> {
    reschedule_page(
        &req,
        user,
        id.into_inner(),
        q.from,
        None,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct RescheduleForm {
    #[serde(default)]
    pub start: String,
    /// The box "I understand this time can't be cancelled online" (present when ticked).
    pub window_acknowledged: Option<String>,
}

pub async fn reschedule(
    req: HttpRequest,
    user: As<access::Client>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<RescheduleForm>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let start = parse_start(&form.start)?;
    let state = app_state(&req);
    let client = user.session.user.clone();
    let st = state.clone();
    let mail = state.mail.clone();
    let acknowledged = form.window_acknowledged.is_some();
    match with_conn(&state.pool, move |conn| {
        booking::reschedule(conn, &st.cipher, &mail, &client, id, start, acknowledged)
    })
    .await
    {
        Ok(new) => Ok(redirect_with_flash(
            &format!("/bookings/{}", new.id),
            "Your booking has moved.",
        )),
        Err(e @ (AppError::Rule { .. } | AppError::Conflict { .. })) => {
            let confirm = matches!(&e, AppError::Rule { code, .. } if *code == booking::WINDOW_NOT_ACKNOWLEDGED)
                .then_some(start);
            let msg = e.public_message();
            reschedule_page(
                &req,
                user,
                id,
                None,
                Some(msg),
                confirm,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Self-check ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "booking/self_check.html")]
pub struct SelfCheckPage {
    pub ctx: PageCtx,
    pub techniques: &'static [Technique],
    pub technique: String,
    pub health: HealthForm,
    pub error: Option<String>,
    pub result: Option<Evaluation>,
    /// Answers are kept (encrypted, in a session cookie) for the booking form and search.
    pub remembered: bool,
}

impl SelfCheckPage {
    pub fn outcome_words(&self, o: &Outcome) -> &'static str {
        o.client_words()
    }
}

/// `/screening`: anyone can answer the questions for a technique; nothing is stored on the
/// server, the answers travel in a POST body, never in the URL, and on request they are kept
/// encrypted in a session cookie (the booking form and the search filter read them).
pub async fn self_check_form(req: HttpRequest, ctx: PageCtx) -> PageResult<HttpResponse> {
    let kept = remembered_answers(&req);
    let mut health = HealthForm::blank(SELF_CHECK_PRIVACY);
    if let Some(a) = &kept {
        health.prefill(a, Prefill::SelfCheck);
    }
    no_store(render(
        StatusCode::OK,
        &SelfCheckPage {
            ctx,
            techniques: CATALOGUE,
            technique: "swedish".into(),
            health,
            error: None,
            result: None,
            remembered: kept.is_some(),
        },
    )?)
}

pub async fn self_check(
    req: HttpRequest,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult<HttpResponse> {
    let technique = form.get("technique").cloned().unwrap_or_default();
    let (health, answers) = HealthForm::read(&form, SELF_CHECK_PRIVACY);
    let mut page = SelfCheckPage {
        ctx,
        techniques: CATALOGUE,
        technique: technique.clone(),
        health,
        error: None,
        result: None,
        remembered: false,
    };
    let mut remember = None;
    let status = match answers {
        Err(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Ok(answers) => {
            match screening::evaluate(screening::questionnaire(), &technique, &answers) {
                Ok(e) => {
                    page.result = Some(e);
                    if form.contains_key("remember") {
                        remember = Some(answers);
                    }
                    StatusCode::OK
                }
                Err(_) => {
                    page.error = Some("Choose a technique from the list.".into());
                    StatusCode::UNPROCESSABLE_ENTITY
                }
            }
        }
    };
    page.remembered = remember.is_some() || remembered_answers(&req).is_some();
    let mut resp = no_store(render(status, &page)?)?;
    if let Some(answers) = remember {
        let state = app_state(&req);
        let json = serde_json::to_vec(&answers).map_err(|e| AppError::Internal(e.into()))?;
        let sealed = state.cipher.encrypt(&json, ANSWERS_AAD);
        let _ = resp.add_cookie(&crate::web::cookie(&state, ANSWERS_COOKIE, sealed));
    }
    Ok(resp)
}

/// Forgets the self-check answers kept for the search filter.
pub async fn forget_answers(
    req: HttpRequest,
    _f: CsrfForm<crate::web::auth::EmptyForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let mut resp = redirect_with_flash("/screening", "Your answers are forgotten.");
    let _ = resp.add_cookie(&crate::web::removal_cookie(&state, ANSWERS_COOKIE));
    Ok(resp)
}
