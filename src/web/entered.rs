//! Bookings the therapist enters: the therapist's entry page (`/therapist/appointments/new`:
//! a service, a day, one of its free times, the client's email and name, a note), and the
//! client's screening page (`/bookings/{id}/screening`), which works logged in as the
//! booking's client or through the mail's single-use token. The rules are in
//! `services::entered`; these pages parse, call and render.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::domain::appointment::Visit;
use crate::domain::practice::VisitRequest;
use crate::domain::screening::Outcome;
use crate::error::{AppError, FieldErrors};
use crate::models::service::Service;
use crate::services::access;
use crate::services::booking;
use crate::services::entered::{self, Answerer, EnteredRequest};
use crate::services::with_conn;
use crate::web::booking::{HealthForm, BOOKING_PRIVACY};
use crate::web::format::{local_time, technique_name};
use crate::web::{
    app_state, no_store, redirect_with_flash, render, As, CsrfForm, PageCtx, PageResult,
};

// ---- The client's screening page -------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub token: Option<String>,
}

#[derive(Template)]
#[template(path = "booking/screening.html")]
pub struct ScreeningPage {
    pub ctx: PageCtx,
    pub id: i64,
    /// The mail's token, carried by the form (empty when logged in as the client).
    pub token: String,
    /// "Swedish massage, 60 minutes with Maya Okafor, Tuesday 1 December, 09:00".
    pub what: String,
    pub health: HealthForm,
    pub clearance_confirmed: bool,
    /// The link does not work, or there is nothing to answer: the page says why.
    pub problem: Option<String>,
    /// Answered: what the client is told.
    pub done: Option<String>,
    /// Whether the viewer is the booking's client logged in (links to their booking).
    pub logged_in: bool,
}

fn page(ctx: PageCtx, id: i64, token: String, logged_in: bool) -> ScreeningPage {
    ScreeningPage {
        ctx,
        id,
        token,
        what: String::new(),
        health: HealthForm::blank(BOOKING_PRIVACY),
        clearance_confirmed: false,
        problem: None,
        done: None,
        logged_in,
    }
}

/// What the page says to a visitor with neither the mail's token nor a login.
const NO_WAY_IN: &str = "This page opens from the link in the mail about your booking, or once you log in as the client of the booking.";

/// Who answers: the token when the request carries one, else the logged-in client (a visitor
/// with neither is sent to log in).
async fn answerer(req: &HttpRequest) -> Result<Option<crate::models::user::User>, AppError> {
    Ok(crate::web::viewer(req).await?.map(|s| s.user))
}

/// The refusals the page says in words (a link that does not work, nothing to answer).
fn said_on_page(e: &AppError) -> bool {
    matches!(e, AppError::Rule { .. } | AppError::Conflict { .. })
}

pub async fn screening_form(
    req: HttpRequest,
    ctx: PageCtx,
    id: web::Path<i64>,
    q: web::Query<TokenQuery>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let token = q.into_inner().token.unwrap_or_default();
    let user = answerer(&req).await?;
    if token.trim().is_empty() && user.is_none() {
        // Public: the page says how to open it (the mail's link, or logging in).
        let mut p = page(ctx, id, String::new(), false);
        p.problem = Some(NO_WAY_IN.into());
        return no_store(render(StatusCode::OK, &p)?);
    }
    let state = app_state(&req);
    let (t, u) = (token.clone(), user.clone());
    let found = with_conn(&state.pool, move |conn| {
        let who = if t.trim().is_empty() {
            Answerer::Client(u.as_ref().expect("checked above"))
        } else {
            Answerer::Token(&t)
        };
        let appt = entered::screening_target(conn, &who, id)?;
        let s = entered::screening_summary(conn, &appt)?;
        Ok((appt, s))
    })
    .await;
    let mut p = page(ctx, id, token.trim().to_string(), user.is_some());
    let status = match found {
        Ok((appt, s)) => {
            p.what = what(&appt, &s);
            StatusCode::OK
        }
        Err(e) if said_on_page(&e) => {
            p.problem = Some(e.public_message());
            e.status()
        }
        Err(e) => return Err(e.into()),
    };
    no_store(render(status, &p)?)
}

fn what(appt: &crate::models::appointment::Appointment, s: &entered::ScreeningSummary) -> String {
    let tz = crate::models::therapist::zone(&s.timezone);
    format!(
        "{}, {} minutes with {}, {}",
        technique_name(&s.technique),
        s.duration_min,
        s.therapist_name,
        local_time(appt.starts_at.and_utc(), tz, Utc::now())
    )
}

pub async fn screening_submit(
    req: HttpRequest,
    ctx: PageCtx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let token = form
        .get("token")
        .cloned()
        .unwrap_or_default()
        .trim()
        .to_string();
    let user = answerer(&req).await?;
    if token.is_empty() && user.is_none() {
        let mut p = page(ctx, id, String::new(), false);
        p.problem = Some(NO_WAY_IN.into());
        return no_store(render(StatusCode::UNAUTHORIZED, &p)?);
    }
    let (health, answers) = HealthForm::read(&form, BOOKING_PRIVACY);
    let clearance = form.contains_key("clearance_confirmed");
    let mut p = page(ctx, id, token.clone(), user.is_some());
    p.clearance_confirmed = clearance;
    let state = app_state(&req);
    let st = state.clone();
    let (t, u) = (token.clone(), user.clone());
    let answers_ok = answers.as_ref().ok().cloned();
    let result = with_conn(&state.pool, move |conn| {
        let who = if t.is_empty() {
            Answerer::Client(u.as_ref().expect("checked above"))
        } else {
            Answerer::Token(&t)
        };
        let Some(answers) = answers_ok else {
            // The form's own error: show it with the booking's summary.
            let appt = entered::screening_target(conn, &who, id)?;
            let s = entered::screening_summary(conn, &appt)?;
            return Ok(Err(what(&appt, &s)));
        };
        let done =
            entered::answer_screening(conn, &st.mail, &st.cipher, &who, id, &answers, clearance)?;
        Ok(Ok(done.evaluation.outcome))
    })
    .await;
    p.health = health;
    match result {
        Ok(Err(what)) => {
            p.what = what;
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &p)?)
        }
        Ok(Ok(outcome)) if token.is_empty() => Ok(redirect_with_flash(
            &format!("/bookings/{id}"),
            format!(
                "Thank you: your answers are recorded. {}.",
                outcome.client_words()
            ),
        )),
        Ok(Ok(outcome)) => {
            p.done = Some(done_words(outcome));
            no_store(render(StatusCode::OK, &p)?)
        }
        Err(e) if said_on_page(&e) => {
            p.problem = Some(e.public_message());
            no_store(render(e.status(), &p)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// What the client is told once they answered through the link.
fn done_words(outcome: Outcome) -> String {
    if crate::domain::screening::entered_needs_decision(outcome, false) {
        format!(
            "Thank you: your answers are recorded. {}. Your therapist reads them before the session and will get in touch with you about it.",
            outcome.client_words()
        )
    } else {
        format!(
            "Thank you: your answers are recorded. {}. See you at the session.",
            outcome.client_words()
        )
    }
}

// ---- The therapist's entry page --------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
pub struct EnterQuery {
    pub service: Option<String>,
    pub day: Option<String>,
}

#[derive(Template)]
#[template(path = "therapist/enter.html")]
pub struct EnterPage {
    pub ctx: PageCtx,
    pub services: Vec<Service>,
    pub service_id: Option<i64>,
    /// The day shown, `YYYY-MM-DD` on the therapist's clock.
    pub day: String,
    /// That day's free starts of the service: (value, words).
    pub times: Vec<(String, String)>,
    /// The chosen start (value).
    pub start: String,
    pub client_email: String,
    pub client_name: String,
    pub note: String,
    pub errors: FieldErrors,
    /// A refusal of the whole booking (the time was taken meanwhile).
    pub error: Option<String>,
    pub zone: String,
    /// Where the therapist sees clients: a studio (an address), mobile visits, or both.
    pub offers_studio: bool,
    pub offers_mobile: bool,
    /// The visit chosen (`studio` or `mobile`, empty: the default) and a mobile visit's
    /// address, as typed.
    pub visit: String,
    pub client_address: String,
    pub client_city: String,
}

impl EnterPage {
    pub fn err(&self, field: &str) -> Option<String> {
        self.errors.get(field).cloned()
    }
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.error.is_some()
    }
    pub fn service_label(&self, s: &Service) -> String {
        format!(
            "{}, {} minutes, {}",
            technique_name(&s.technique_slug),
            s.duration_min,
            crate::web::format::money(s.price_cents)
        )
    }
    pub fn is_service(&self, s: &Service) -> bool {
        self.service_id == Some(s.id)
    }
    pub fn summary(&self) -> Vec<(String, String)> {
        let ids = [
            ("service", "service"),
            ("day", "day"),
            ("starts_at", "times"),
            ("client_email", "client_email"),
            ("client_name", "client_name"),
            ("note", "note"),
            ("visit", "visit-studio"),
            ("client_address", "client_address"),
            ("client_city", "client_city"),
        ];
        ids.iter()
            .filter_map(|(f, target)| self.err(f).map(|m| (target.to_string(), m)))
            .collect()
    }
}

/// The entry page for a service and a day (today on the therapist's clock when none).
async fn enter_page(
    req: &HttpRequest,
    user: &As<access::Therapist>,
    service: Option<String>,
    day: Option<String>,
) -> Result<EnterPage, AppError> {
    let state = app_state(req);
    let me = user.who.clone();
    let mut errors = FieldErrors::new();
    let service_id = match service.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.insert("service".into(), "Choose one of your services.".into());
                None
            }
        },
    };
    let day_in = day.unwrap_or_default().trim().to_string();
    let now = Utc::now();
    let (t, services, times, day, service_id) = with_conn(&state.pool, move |conn| {
        let (t, services) = entered::own_services(conn, &me)?;
        let tz = crate::models::therapist::zone(&t.timezone);
        let today = crate::domain::schedule::local_today(now, tz);
        let day = if day_in.is_empty() {
            Ok(today)
        } else {
            NaiveDate::parse_from_str(&day_in, "%Y-%m-%d")
                .map_err(|_| "Enter a date like 2026-12-01.".to_string())
                .and_then(|d| {
                    if d < today || d > today + chrono::Duration::days(366) {
                        Err("Choose a day from today to a year ahead.".to_string())
                    } else {
                        Ok(d)
                    }
                })
        };
        // The first service until one is chosen.
        let service_id = service_id.or_else(|| services.first().map(|s| s.id));
        let mut times = Vec::new();
        if let (Some(sid), Ok(d)) = (service_id, &day) {
            if services.iter().any(|s| s.id == sid) {
                let (tz, slots) = booking::slots(conn, t.id, sid, *d, *d, now)?;
                times = slots
                    .into_iter()
                    .map(|i| {
                        (
                            i.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            local_time(i.start, tz, now),
                        )
                    })
                    .collect();
            }
        }
        Ok::<_, AppError>((
            t,
            services,
            times,
            day.map(|d| d.to_string()).map_err(|e| (e, day_in)),
            service_id,
        ))
    })
    .await?;
    if let Some(sid) = service_id {
        if !services.iter().any(|s| s.id == sid) {
            errors.insert("service".into(), "Choose one of your services.".into());
        }
    }
    let day = match day {
        Ok(d) => d,
        Err((message, typed)) => {
            errors.insert("day".into(), message);
            typed
        }
    };
    Ok(EnterPage {
        ctx: user.ctx.clone(),
        zone: crate::web::format::zone_city(crate::models::therapist::zone(&t.timezone)),
        services,
        service_id,
        day,
        times,
        start: String::new(),
        client_email: String::new(),
        client_name: String::new(),
        note: String::new(),
        errors,
        error: None,
        offers_studio: t.address.is_some(),
        offers_mobile: t.mobile && t.mobile_radius_km.is_some(),
        visit: String::new(),
        client_address: String::new(),
        client_city: String::new(),
    })
}

pub async fn enter_form(
    req: HttpRequest,
    user: As<access::Therapist>,
    q: web::Query<EnterQuery>,
) -> PageResult<HttpResponse> {
    let q = q.into_inner();
    let p = enter_page(&req, &user, q.service, q.day).await?;
    let status = if p.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    no_store(render(status, &p)?)
}

#[derive(Debug, Deserialize)]
pub struct EnterForm {
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub day: String,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub client_email: String,
    #[serde(default)]
    pub client_name: String,
    #[serde(default)]
    pub note: String,
    /// `studio` or `mobile` (asked only when the therapist offers both).
    #[serde(default)]
    pub visit: String,
    #[serde(default)]
    pub client_address: String,
    #[serde(default)]
    pub client_city: String,
}

pub async fn enter_submit(
    req: HttpRequest,
    user: As<access::Therapist>,
    CsrfForm(form): CsrfForm<EnterForm>,
) -> PageResult<HttpResponse> {
    let mut p = enter_page(
        &req,
        &user,
        Some(form.service.clone()),
        Some(form.day.clone()),
    )
    .await?;
    p.start = form.starts_at.trim().to_string();
    p.client_email = form.client_email.clone();
    p.client_name = form.client_name.clone();
    p.note = form.note.clone();
    p.visit = form.visit.trim().to_string();
    p.client_address = form.client_address.clone();
    p.client_city = form.client_city.clone();
    if p.service_id.is_none() && !p.errors.contains_key("service") {
        p.errors
            .insert("service".into(), "Choose one of your services.".into());
    }
    let start = DateTime::parse_from_rfc3339(&p.start).map(|t| t.with_timezone(&Utc));
    if start.is_err() && !p.errors.contains_key("service") && !p.errors.contains_key("day") {
        p.errors.insert(
            "starts_at".into(),
            "Choose one of the free times of this day.".into(),
        );
    }
    if !p.errors.is_empty() {
        return no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &p)?);
    }
    let (Some(service_id), Ok(starts_at)) = (p.service_id, start) else {
        return no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &p)?);
    };
    let request = EnteredRequest {
        client_email: form.client_email,
        client_name: form.client_name,
        service_id,
        starts_at,
        note: form.note,
        visit: VisitRequest {
            visit: Visit::parse(form.visit.trim()),
            client_address: form.client_address,
            client_city: form.client_city,
        },
    };
    let state = app_state(&req);
    let st = state.clone();
    let me = user.who.clone();
    let result = with_conn(&state.pool, move |conn| {
        entered::enter_for_client(conn, &st.mail, &st.cipher, &me, &request)
    })
    .await;
    match result {
        Ok(appt) => Ok(redirect_with_flash(
            &format!("/therapist/appointments/{}", appt.id),
            "Booked and confirmed. The client was mailed a link to answer the health questions.",
        )),
        Err(AppError::Validation { fields, .. }) => {
            p.errors = fields;
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &p)?)
        }
        // The visit rule: its message on its field (`visit`, `client_address`, `client_city`).
        Err(AppError::FieldRule {
            fields, message, ..
        }) => {
            p.errors = fields;
            if p.errors.is_empty() {
                p.errors.insert("visit".into(), message);
            }
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &p)?)
        }
        Err(e @ AppError::Conflict { .. }) => {
            p.errors.insert("starts_at".into(), e.public_message());
            let status = e.status();
            // The free times again, without the one just taken.
            let fresh = enter_page(&req, &user, Some(form.service), Some(form.day)).await?;
            p.times = fresh.times;
            no_store(render(status, &p)?)
        }
        Err(e) => Err(e.into()),
    }
}
