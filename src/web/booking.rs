//! The client's booking journey: the screening questions, the outcome (booked, clearance,
//! a safer technique, or "see a healthcare provider first"), the bookings list and detail,
//! withdraw, cancel and reschedule; and the standalone self-check.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::domain::appointment::{cannot_cancel_online, CancelKind, ClientOptions, ClientState};
use crate::domain::screening::{self, Evaluation, Question};
use crate::domain::technique::{Technique, CATALOGUE};
use crate::error::AppError;
use crate::services::access::{self, Proof};
use crate::services::booking::{
    self, AppointmentView, BookingRequest, ClientBooking, ClientBookings,
};
use crate::services::directory;
use crate::services::with_conn;
use crate::web::filters;
use crate::web::format::group_by_day;
use crate::web::format::local_time;
use crate::web::{app_state, redirect_with_flash, render, As, CsrfForm, PageCtx, PageResult};
use crate::web::{remembered_answers, ANSWERS_AAD, ANSWERS_COOKIE};

/// Reads the yes/no radios `q_<id>`; a missing answer is an error, not a guess.
fn read_answers(form: &HashMap<String, String>) -> Result<BTreeMap<String, bool>, String> {
    let mut out = BTreeMap::new();
    let mut missing = 0;
    for q in &screening::questionnaire().questions {
        match form.get(&format!("q_{}", q.id)).map(String::as_str) {
            Some("yes") => {
                out.insert(q.id.clone(), true);
            }
            Some("no") => {
                out.insert(q.id.clone(), false);
            }
            _ => missing += 1,
        }
    }
    if missing > 0 {
        Err(format!(
            "Please answer every question ({missing} not answered yet)."
        ))
    } else {
        Ok(out)
    }
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
    pub questions: &'static [Question],
    pub answers: HashMap<String, String>,
    pub error: Option<String>,
    /// Shown when the answers need a practitioner's clearance.
    pub clearance: Option<Evaluation>,
    /// The time starts inside the therapist's cancellation window: the page says so and asks
    /// the client to confirm it knowingly (`domain::appointment::cannot_cancel_online`).
    pub late: bool,
    pub window_hours: i32,
    /// The acknowledgement was missing (shown next to its box).
    pub window_error: Option<String>,
}

impl BookPage {
    pub fn answered(&self, id: &str, value: &str) -> bool {
        self.answers
            .get(&format!("q_{id}"))
            .is_some_and(|v| v == value)
    }
    /// The client ticked the cancellation-window box (kept when the form comes back).
    pub fn window_acknowledged(&self) -> bool {
        self.answers.contains_key(WINDOW_FIELD)
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
    let p = with_conn(&state.pool, move |conn| {
        directory::public_profile(conn, therapist_id, today)
    })
    .await?;
    let service = p
        .services
        .iter()
        .find(|s| s.id == service_id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let tz = crate::models::therapist::zone(&p.therapist.timezone);
    let now = Utc::now();
    Ok(BookPage {
        late: cannot_cancel_online(when, now, p.cancellation_window_hours),
        window_hours: p.cancellation_window_hours,
        window_error: None,
        ctx,
        therapist_id,
        therapist_name: p.name,
        service_id,
        technique: service.technique_slug,
        duration_min: service.duration_min,
        price_cents: service.price_cents,
        start: start.to_string(),
        when: local_time(when, tz, now),
        questions: &screening::questionnaire().questions,
        answers: HashMap::new(),
        error: None,
        clearance: None,
    })
}

/// The screening questions for a chosen time (log in first; the page comes back here).
pub async fn book_form(
    req: HttpRequest,
    user: As<access::Client>,
    q: web::Query<BookQuery>,
) -> PageResult<HttpResponse> {
    let page = book_page(&req, user.ctx, q.therapist, q.service, &q.start).await?;
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
    /// This therapist's services in the suitable techniques.
    pub alternatives: Vec<crate::models::service::Service>,
    pub suggested: Vec<&'static Technique>,
}

pub async fn book(
    req: HttpRequest,
    user: As<access::Client>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult<HttpResponse> {
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let therapist_id: i64 = field("therapist").parse().map_err(|_| AppError::NotFound)?;
    let service_id: i64 = field("service").parse().map_err(|_| AppError::NotFound)?;
    let start = field("start");
    let mut page = book_page(&req, user.ctx.clone(), therapist_id, service_id, &start).await?;
    page.answers = form.clone();
    let answers = match read_answers(&form) {
        Ok(a) => a,
        Err(msg) => {
            page.error = Some(msg);
            return no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?);
        }
    };
    let request = BookingRequest {
        therapist_id,
        service_id,
        starts_at: parse_start(&start)?,
        answers,
        clearance_confirmed: form.contains_key("clearance_confirmed"),
        window_acknowledged: form.contains_key(WINDOW_FIELD),
    };
    let state = app_state(&req);
    let st = state.clone();
    let client = user.who.clone();
    match with_conn(&state.pool, move |conn| {
        booking::book(conn, &st.cipher, &client, &request)
    })
    .await
    {
        Ok((appt, _)) => Ok(redirect_with_flash(
            &format!("/bookings/{}", appt.id),
            format!("Booking {}: {}", appt.status, page.when),
        )),
        Err(AppError::Screening {
            code: "screening_refer",
            screening,
            ..
        }) => no_store(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ReferPage {
                ctx: user.ctx,
                screening: *screening,
            },
        )?),
        Err(AppError::Screening {
            code: "screening_decline",
            screening,
            ..
        }) => {
            let today = Utc::now().date_naive();
            let s = screening.clone();
            let alt = with_conn(&state.pool, move |conn| {
                booking::decline_alternatives(conn, therapist_id, &s, today)
            })
            .await?;
            no_store(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &DeclinePage {
                    ctx: user.ctx,
                    technique: page.technique.clone(),
                    therapist_id,
                    therapist_name: alt.therapist_name,
                    alternatives: alt.services,
                    suggested: alt.suggested,
                    screening: *screening,
                },
            )?)
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
            page.error = Some(message);
            page.clearance = Some(*screening);
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(e @ AppError::Conflict { .. }) => {
            page.error = Some(e.public_message());
            no_store(render(StatusCode::CONFLICT, &page)?)
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
}

/// `/bookings`: upcoming, past, and cancelled or declined, each state in words.
pub async fn list(req: HttpRequest, user: As<access::Client>) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let me = user.who.clone();
    let now = Utc::now();
    let bookings = with_conn(&state.pool, move |conn| {
        booking::client_bookings(conn, &me, now)
    })
    .await?;
    render(
        StatusCode::OK,
        &BookingsPage {
            ctx: user.ctx,
            bookings,
        },
    )
}

#[derive(Template)]
#[template(path = "booking/detail.html")]
pub struct DetailPage {
    pub ctx: PageCtx,
    pub v: AppointmentView,
    pub reads: Vec<(String, String, String)>,
    pub questions: &'static [Question],
    pub error: Option<String>,
    pub state: ClientState,
    /// Withdraw, cancel, move, or "too late, contact them".
    pub options: ClientOptions,
}

impl DetailPage {
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
    let (v, reads) = with_conn(&state.pool, move |conn| {
        let v = booking::view(conn, &st.cipher, client.user(), id, "page")?;
        let reads = booking::access_log(conn, &client, id)?;
        Ok((v, reads))
    })
    .await?;
    let reads = reads
        .into_iter()
        .map(|(who, channel, at)| (who, channel, local_time(at.and_utc(), v.tz(), Utc::now())))
        .collect();
    let now = Utc::now();
    let (state, options) = (v.client_state(now), v.client_options(now));
    no_store(render(
        status,
        &DetailPage {
            ctx: user.ctx,
            v,
            reads,
            questions: &screening::questionnaire().questions,
            error,
            state,
            options,
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
    match with_conn(&state.pool, move |conn| {
        booking::cancel(conn, &client, id, &form.reason)
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
    status: StatusCode,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let st = state.clone();
    let client = user.session.user.clone();
    let today = Utc::now().date_naive();
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
            Utc::now(),
        )?;
        Ok((v, slots))
    })
    .await?;
    let days = group_by_day(&slots, v.tz(), Utc::now());
    no_store(render(
        status,
        &ReschedulePage {
            ctx: user.ctx,
            v,
            days,
            error,
            next_from: (from + Duration::days(7)).to_string(),
        },
    )?)
}

pub async fn reschedule_form(
    req: HttpRequest,
    user: As<access::Client>,
    id: web::Path<i64>,
    q: web::Query<FromQuery>,
) -> PageResult<HttpResponse> {
    reschedule_page(&req, user, id.into_inner(), q.from, None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct RescheduleForm {
    #[serde(default)]
    pub start: String,
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
    match with_conn(&state.pool, move |conn| {
        booking::reschedule(conn, &client, id, start)
    })
    .await
    {
        Ok(new) => Ok(redirect_with_flash(
            &format!("/bookings/{}", new.id),
            "Your booking has moved.",
        )),
        Err(e @ (AppError::Rule { .. } | AppError::Conflict { .. })) => {
            let msg = e.public_message();
            reschedule_page(
                &req,
                user,
                id,
                None,
                Some(msg),
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
    pub questions: &'static [Question],
    pub technique: String,
    pub answers: HashMap<String, String>,
    pub error: Option<String>,
    pub result: Option<Evaluation>,
    /// Answers are kept (encrypted, in a session cookie) for the search filter.
    pub remembered: bool,
}

impl SelfCheckPage {
    pub fn answered(&self, id: &str, value: &str) -> bool {
        self.answers
            .get(&format!("q_{id}"))
            .is_some_and(|v| v == value)
    }
}

/// `/screening`: anyone can answer the questions for a technique; nothing is stored, and the
/// answers travel in a POST body, never in the URL.
pub async fn self_check_form(req: HttpRequest, ctx: PageCtx) -> PageResult<HttpResponse> {
    let remembered = remembered_answers(&req).is_some();
    render(
        StatusCode::OK,
        &SelfCheckPage {
            ctx,
            techniques: CATALOGUE,
            questions: &screening::questionnaire().questions,
            technique: "swedish".into(),
            answers: HashMap::new(),
            error: None,
            result: None,
            remembered,
        },
    )
}

pub async fn self_check(
    req: HttpRequest,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult<HttpResponse> {
    let technique = form.get("technique").cloned().unwrap_or_default();
    let mut page = SelfCheckPage {
        ctx,
        techniques: CATALOGUE,
        questions: &screening::questionnaire().questions,
        technique: technique.clone(),
        answers: form.clone(),
        error: None,
        result: None,
        remembered: false,
    };
    let mut remember = None;
    let status = match read_answers(&form) {
        Err(msg) => {
            page.error = Some(msg);
            StatusCode::UNPROCESSABLE_ENTITY
        }
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
