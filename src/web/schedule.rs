//! The therapist's schedule (weekly hours, time off, booking policy) and appointments
//! (week view, list, one appointment with its screening, and the actions on it).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::domain::appointment::{AppointmentStatus, CancelKind};
use crate::domain::availability::WeeklyRange;
use crate::domain::schedule::{
    format_hhmm, grid_rows, week_start, PolicyInput, WeeklyRangeInput, WEEKDAYS,
};
use crate::domain::screening::{self, Question};
use crate::error::{AppError, FieldErrors};
use crate::models::booking_policy::BookingPolicy;
use crate::services::access::{self, Proof};
use crate::services::booking::{self, AppointmentView, ListItem};
use crate::services::notes;
use crate::services::schedule::{self, Away, Session, TimeOff, WeekView};
use crate::services::{therapists, with_conn};
use crate::web::filters;
use crate::web::notes::{NotesForm, NotesSection, NotesTyped};
use crate::web::{app_state, redirect_with_flash, render, As, CsrfForm, PageCtx, PageResult};

/// Per weekday: (number, name, rows of (start, end)), one blank row at the end.
pub type WeekRows = Vec<(usize, &'static str, Vec<(String, String)>)>;

#[derive(Template)]
#[template(path = "therapist/schedule.html")]
pub struct SchedulePage {
    pub ctx: PageCtx,
    /// Per weekday: (number, name, rows of (start, end)), one blank row at the end.
    pub week: WeekRows,
    pub week_error: Option<String>,
    pub time_off: Vec<TimeOff>,
    pub time_off_errors: FieldErrors,
    pub policy: BookingPolicy,
    pub policy_errors: FieldErrors,
    pub tz: Tz,
}

impl SchedulePage {
    pub fn perr(&self, f: &str) -> Option<&String> {
        self.policy_errors.get(f)
    }
    pub fn terr(&self, f: &str) -> Option<&String> {
        self.time_off_errors.get(f)
    }
}

fn week_rows(ranges: &[WeeklyRange]) -> WeekRows {
    (1..=7)
        .map(|d| {
            let mut rows: Vec<(String, String)> = ranges
                .iter()
                .filter(|r| r.weekday as usize == d)
                .map(|r| (format_hhmm(r.start_min), format_hhmm(r.end_min)))
                .collect();
            rows.push((String::new(), String::new()));
            (d, WEEKDAYS[d - 1], rows)
        })
        .collect()
}

struct Errors {
    week: Option<String>,
    time_off: FieldErrors,
    policy: FieldErrors,
}

async fn schedule_page(
    req: &HttpRequest,
    ctx: PageCtx,
    me: access::Therapist,
    week_override: Option<WeekRows>,
    errors: Errors,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let (t, ranges, time_off, policy) = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        let ranges = schedule::weekly(conn, t.id)?;
        let off = schedule::time_off_list(conn, t.id)?;
        let policy = BookingPolicy::find(conn, t.id)?;
        Ok((t, ranges, off, policy))
    })
    .await?;
    let failed = errors.week.is_some() || !errors.time_off.is_empty() || !errors.policy.is_empty();
    render(
        if failed {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &SchedulePage {
            ctx,
            week: week_override.unwrap_or_else(|| week_rows(&ranges)),
            week_error: errors.week,
            time_off,
            time_off_errors: errors.time_off,
            policy,
            policy_errors: errors.policy,
            tz: crate::models::therapist::zone(&t.timezone),
        },
    )
}

fn no_errors() -> Errors {
    Errors {
        week: None,
        time_off: FieldErrors::new(),
        policy: FieldErrors::new(),
    }
}

pub async fn page(req: HttpRequest, user: As<access::Therapist>) -> PageResult<HttpResponse> {
    let _id = user.session.user.id;
    schedule_page(&req, user.ctx, user.who.clone(), None, no_errors()).await
}

/// The week form: `d{weekday}_start_{k}` / `d{weekday}_end_{k}`; blank rows are skipped.
pub async fn save_week(
    req: HttpRequest,
    user: As<access::Therapist>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let mut input = Vec::new();
    let mut typed: WeekRows = Vec::new();
    for d in 1..=7usize {
        let mut rows = Vec::new();
        for k in 0..20 {
            let (Some(s), Some(e)) = (
                form.get(&format!("d{d}_start_{k}")),
                form.get(&format!("d{d}_end_{k}")),
            ) else {
                break;
            };
            let (s, e) = (s.trim().to_string(), e.trim().to_string());
            if s.is_empty() && e.is_empty() {
                continue;
            }
            input.push(WeeklyRangeInput {
                weekday: d as i64,
                start: s.clone(),
                end: e.clone(),
            });
            rows.push((s, e));
        }
        rows.push((String::new(), String::new()));
        typed.push((d, WEEKDAYS[d - 1], rows));
    }
    let state = app_state(&req);
    let _id = user.session.user.id;
    match with_conn(&state.pool, move |conn| {
        schedule::replace_weekly(conn, &me, &input)
    })
    .await
    {
        Ok(_) => Ok(redirect_with_flash(
            "/therapist/schedule",
            "Your weekly hours are saved.",
        )),
        Err(AppError::Validation { fields, .. }) => {
            let msg = fields.values().cloned().collect::<Vec<_>>().join(" ");
            schedule_page(
                &req,
                user.ctx,
                user.who.clone(),
                Some(typed),
                Errors {
                    week: Some(msg),
                    ..no_errors()
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct TimeOffForm {
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
    #[serde(default)]
    pub note: String,
}

/// A `datetime-local` value in the therapist's zone.
fn local_input(tz: Tz, s: &str) -> Option<chrono::DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M").ok()?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

pub async fn add_time_off(
    req: HttpRequest,
    user: As<access::Therapist>,
    CsrfForm(form): CsrfForm<TimeOffForm>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let _id = user.session.user.id;
    let result = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        let tz: Tz = crate::models::therapist::zone(&t.timezone);
        let mut f = FieldErrors::new();
        let s = local_input(tz, &form.starts_at);
        let e = local_input(tz, &form.ends_at);
        if s.is_none() {
            f.insert("starts_at".into(), "Enter when the time off starts.".into());
        }
        if e.is_none() {
            f.insert("ends_at".into(), "Enter when the time off ends.".into());
        }
        match (s, e) {
            (Some(s), Some(e)) if f.is_empty() => {
                schedule::add_time_off(conn, &me, s, e, &form.note)
            }
            _ => Err(AppError::validation(f)),
        }
    })
    .await;
    match result {
        Ok(_) => Ok(redirect_with_flash(
            "/therapist/schedule",
            "Time off added: those hours are no longer offered.",
        )),
        Err(AppError::Validation { fields, .. }) => {
            schedule_page(
                &req,
                user.ctx,
                user.who.clone(),
                None,
                Errors {
                    time_off: fields,
                    ..no_errors()
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn remove_time_off(
    req: HttpRequest,
    user: As<access::Therapist>,
    path: web::Path<i64>,
    _f: CsrfForm<crate::web::auth::EmptyForm>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let (_id, tid) = (user.session.user.id, path.into_inner());
    with_conn(&state.pool, move |conn| {
        schedule::remove_time_off(conn, &me, tid)
    })
    .await?;
    Ok(redirect_with_flash(
        "/therapist/schedule",
        "Time off removed.",
    ))
}

#[derive(Debug, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    pub min_notice_hours: String,
    #[serde(default)]
    pub max_advance_days: String,
    #[serde(default)]
    pub buffer_min: String,
    #[serde(default)]
    pub cancellation_window_hours: String,
    pub auto_confirm: Option<String>,
}

pub async fn save_policy(
    req: HttpRequest,
    user: As<access::Therapist>,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let n = |s: &str| s.trim().parse::<i32>().unwrap_or(-1);
    let input = PolicyInput {
        min_notice_hours: n(&form.min_notice_hours),
        max_advance_days: n(&form.max_advance_days),
        buffer_min: n(&form.buffer_min),
        cancellation_window_hours: n(&form.cancellation_window_hours),
        auto_confirm: form.auto_confirm.is_some(),
    };
    let state = app_state(&req);
    let _id = user.session.user.id;
    match with_conn(&state.pool, move |conn| {
        schedule::update_policy(conn, &me, &input)
    })
    .await
    {
        Ok(p) => Ok(redirect_with_flash(
            "/therapist/schedule",
            format!(
                "Saved: clients can book from {} hours to {} days ahead.",
                p.min_notice_hours, p.max_advance_days
            ),
        )),
        Err(AppError::Validation { fields, .. }) => {
            schedule_page(
                &req,
                user.ctx,
                user.who.clone(),
                None,
                Errors {
                    policy: fields,
                    ..no_errors()
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Appointments --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "therapist/appointments.html")]
pub struct AppointmentsPage {
    pub ctx: PageCtx,
    /// The week grid.
    pub w: WeekView,
    /// Requested and confirmed, not ended: in date order.
    pub upcoming: Vec<(ListItem, String)>,
    /// Ended, cancelled or declined: most recent first.
    pub recent: Vec<(ListItem, String)>,
    pub prev_week: String,
    pub next_week: String,
    /// Whether the week shown holds today.
    pub is_this_week: bool,
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

/// Grid classes of a block: its day column (`c2`..`c8`, 1 is the time axis) and rows.
fn block_classes(day: usize, rows: (u16, u16)) -> String {
    format!("c{} rs{} re{}", day + 2, rows.0, rows.1)
}

impl AppointmentsPage {
    pub fn time(&self, i: &ListItem) -> String {
        i.starts_at
            .and_utc()
            .with_timezone(&self.tz)
            .format("%H:%M")
            .to_string()
    }
    pub fn awaiting(&self, i: &ListItem) -> bool {
        i.awaiting_acknowledgement()
    }
    /// The hour lines of the grid: (classes, "09:00").
    pub fn hour_lines(&self) -> Vec<(String, String)> {
        let (from, to) = self.w.axis;
        (from..to)
            .step_by(60)
            .map(|m| {
                let (s, e) = grid_rows(m, m + 60, from);
                (format!("rs{s} re{e}"), format_hhmm(m))
            })
            .collect()
    }
    /// Grid classes of the minutes `[start, end)` on day `day` (0 is Monday).
    pub fn at(&self, day: &usize, start: &u16, end: &u16) -> String {
        let (from, to) = self.w.axis;
        block_classes(
            *day,
            grid_rows((*start).max(from), (*end).min(to).max(from + 1), from),
        )
    }
    /// "13:00–17:00", or "all day".
    pub fn away_span(&self, o: &Away) -> String {
        match (o.start_min, o.end_min) {
            (0, 1440) => "all day".into(),
            (s, e) => format!("{}–{}", format_hhmm(s), format_hhmm(e)),
        }
    }
    /// Whether the minutes `[start, end)` show on the grid's hours.
    pub fn shows(&self, start: &u16, end: &u16) -> bool {
        *start < self.w.axis.1 && *end > self.w.axis.0
    }
    /// The whole column of day `day`, below its heading.
    pub fn column(&self, day: &usize) -> String {
        self.at(day, &self.w.axis.0, &self.w.axis.1)
    }
    /// "Week of Monday 30 November 2026".
    pub fn week_title(&self) -> String {
        format!("Week of {}", self.w.monday.format("%A %-d %B %Y"))
    }
    pub fn day_heading(&self, d: &NaiveDate) -> String {
        d.format("%a %-d %b").to_string()
    }
    /// "09:00–17:00, 18:00–20:00" or "No hours".
    pub fn hours_words(&self, hours: &[(u16, u16)]) -> String {
        if hours.is_empty() {
            return "No hours".into();
        }
        hours
            .iter()
            .map(|(s, e)| format!("{}–{}", format_hhmm(*s), format_hhmm(*e)))
            .collect::<Vec<_>>()
            .join(", ")
    }
    pub fn span(&self, s: &Session) -> String {
        let fmt = |t: NaiveDateTime| t.and_utc().with_timezone(&self.tz).format("%H:%M");
        format!("{}–{}", fmt(s.item.starts_at), fmt(s.item.ends_at))
    }
    /// Classes of a session by where it stands.
    /// "short" for a session under an hour and a half: its block holds at most four narrow
    /// lines, so the grid shows the time and the client there (the state by the block's style,
    /// which the page's key explains) and keeps the words for screen readers and the phone's list.
    pub fn session_size(&self, s: &Session) -> &'static str {
        if s.end_min.saturating_sub(s.start_min) < 90 {
            "short"
        } else {
            ""
        }
    }
    pub fn session_class(&self, s: &Session) -> &'static str {
        if s.item.awaiting_acknowledgement() || s.item.needs_decision() {
            "flagged"
        } else {
            match s.item.status {
                AppointmentStatus::Requested => "requested",
                AppointmentStatus::Confirmed => "confirmed",
                _ => "done",
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WeekQuery {
    pub week: Option<NaiveDate>,
}

pub async fn appointments(
    req: HttpRequest,
    user: As<access::Therapist>,
    q: web::Query<WeekQuery>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let _id = user.session.user.id;
    let asked = q.week;
    let now = Utc::now();
    let (w, all) = with_conn(&state.pool, move |conn| {
        let w = schedule::week(conn, &me, asked, now)?;
        let t = therapists::own_profile(conn, &me)?;
        let n = now.naive_utc();
        let all =
            booking::therapist_list(conn, t.id, n - Duration::days(60), n + Duration::days(400))?;
        Ok((w, all))
    })
    .await?;
    let n = now.naive_utc();
    // In date order (therapist_list is soonest first); flags are marked on each line.
    let upcoming: Vec<(ListItem, String)> = all
        .iter()
        .filter(|(i, _)| i.ends_at >= n && i.status.is_active())
        .cloned()
        .collect();
    let mut recent: Vec<(ListItem, String)> = all
        .iter()
        .filter(|(i, _)| i.ends_at < n || !i.status.is_active())
        .cloned()
        .collect();
    recent.reverse();
    recent.truncate(50);
    let monday = w.monday;
    render(
        StatusCode::OK,
        &AppointmentsPage {
            ctx: user.ctx,
            prev_week: (monday - Duration::days(7)).to_string(),
            next_week: (monday + Duration::days(7)).to_string(),
            is_this_week: week_start(w.today) == monday,
            tz: w.tz,
            w,
            upcoming,
            recent,
            now,
        },
    )
}

#[derive(Template)]
#[template(path = "therapist/appointment.html")]
pub struct AppointmentPage {
    pub ctx: PageCtx,
    pub v: AppointmentView,
    pub questions: &'static [Question],
    pub error: Option<String>,
    pub started: bool,
    pub now: DateTime<Utc>,
    /// A booking the therapist entered that needs their decision: the services it can be
    /// kept with (see `services::entered::keep_choices`).
    pub keep_choices: Vec<crate::models::service::Service>,
    /// The session notes section (`templates/therapist/_notes.html`).
    pub notes: NotesSection,
}

impl AppointmentPage {
    pub fn service_label(&self, s: &crate::models::service::Service) -> String {
        format!(
            "{}, {} minutes, {}",
            crate::web::format::technique_name(&s.technique_slug),
            s.duration_min,
            crate::web::format::money(s.price_cents)
        )
    }
    pub fn yes_answers(&self) -> Vec<&Question> {
        let a = self.v.answers.as_ref();
        self.questions
            .iter()
            .filter(|q| a.and_then(|a| a.get(&q.id)).copied().unwrap_or(false))
            .collect()
    }
}

async fn appointment_page(
    req: &HttpRequest,
    user: As<access::Therapist>,
    id: i64,
    error: Option<String>,
) -> PageResult<HttpResponse> {
    appointment_page_with(req, user, id, error, None).await
}

/// The appointment page, with a refused save of the notes shown again (`typed`).
async fn appointment_page_with(
    req: &HttpRequest,
    user: As<access::Therapist>,
    id: i64,
    error: Option<String>,
    typed: Option<NotesTyped>,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let st = state.clone();
    let me = user.session.user.clone();
    let proof = user.who.clone();
    let (v, keep_choices, notes) = with_conn(&state.pool, move |conn| {
        let v = booking::view(conn, &st.cipher, &me, id, "page")?;
        let keep = match (&v.answers, v.needs_decision()) {
            (Some(a), true) => crate::services::entered::keep_choices(conn, &proof, &v.appt, a)?,
            _ => Vec::new(),
        };
        let n = notes::read(conn, &st.cipher, &me, id, "page")?;
        Ok::<_, AppError>((v, keep, n))
    })
    .await?;
    let now = Utc::now();
    let started = v.starts() <= now;
    let status = if error.is_some() || typed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    crate::web::no_store(render(
        status,
        &AppointmentPage {
            ctx: user.ctx,
            questions: &screening::questionnaire().questions,
            error,
            started,
            now,
            keep_choices,
            notes: NotesSection::build(&v, notes, now, typed),
            v,
        },
    )?)
}

/// Saves a new version of the session notes (`services::notes::write`); a refusal shows the
/// page again with what was typed and the message next to its field (422).
pub async fn save_notes(
    req: HttpRequest,
    user: As<access::Therapist>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<NotesForm>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let soap = match form.parse() {
        Ok(s) => s,
        Err(errors) => {
            let typed = NotesTyped {
                form,
                errors,
                error: None,
            };
            return appointment_page_with(&req, user, id, None, Some(typed)).await;
        }
    };
    let state = app_state(&req);
    let st = state.clone();
    let me = user.who.clone();
    match with_conn(&state.pool, move |conn| {
        notes::write(conn, &st.cipher, &me, id, &soap, Utc::now())
    })
    .await
    {
        Ok(version) => Ok(redirect_with_flash(
            &format!("/therapist/appointments/{id}#notes"),
            format!("Session notes saved (version {version})."),
        )),
        Err(e @ (AppError::Rule { .. } | AppError::Conflict { .. })) => {
            let typed = NotesTyped {
                form,
                errors: FieldErrors::new(),
                error: Some(e.public_message()),
            };
            appointment_page_with(&req, user, id, None, Some(typed)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn appointment(
    req: HttpRequest,
    user: As<access::Therapist>,
    id: web::Path<i64>,
) -> PageResult<HttpResponse> {
    appointment_page(&req, user, id.into_inner(), None).await
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub reason: String,
    pub acknowledged_flags: Option<String>,
    /// `keep`: the service to keep a flagged booking the therapist entered with.
    #[serde(default)]
    pub service_id: String,
    /// `dashboard` when sent from the dashboard's inline Confirm or Decline: the answer goes
    /// back there.
    #[serde(default)]
    pub from: String,
}

/// Where a refusal belongs on the dashboard's request: the acknowledgement box, the reason, or
/// the request as a whole.
fn refused_field(e: &AppError) -> &'static str {
    match e {
        AppError::Rule {
            code: "flags_not_acknowledged",
            ..
        } => "acknowledged_flags",
        AppError::Validation { fields, .. } if fields.contains_key("reason") => "reason",
        _ => "action",
    }
}

/// One endpoint for the actions on an appointment: confirm, decline, cancel, complete, no_show.
pub async fn act(
    req: HttpRequest,
    user: As<access::Therapist>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let state = app_state(&req);
    let me = user.who.clone();
    let action = form.action.clone();
    let to_dashboard = form.from == "dashboard";
    let typed_reason = form.reason.clone();
    let mail = state.mail.clone();
    let st_cipher = state.cipher.clone();
    let result = with_conn(&state.pool, move |conn| match action.as_str() {
        "confirm" => booking::confirm(conn, &mail, &me, id, form.acknowledged_flags.is_some())
            .map(|_| "Confirmed."),
        "decline" => booking::decline(conn, &mail, &me, id, &form.reason)
            .map(|_| "Declined. The client sees your reason."),
        "cancel" => booking::cancel(conn, &mail, me.user(), id, &form.reason).map(|_| "Cancelled."),
        "complete" => booking::finish(conn, &me, id, true).map(|_| "Marked as completed."),
        "no_show" => booking::finish(conn, &me, id, false).map(|_| "Marked as a no-show."),
        "keep" => match form.service_id.trim().parse::<i64>() {
            Ok(sid) => {
                crate::services::entered::keep_with_service(conn, &mail, &st_cipher, &me, id, sid)
                    .map(|_| "Kept with the new service. The screening flags are acknowledged.")
            }
            Err(_) => Err(AppError::field(
                "service_id",
                "Choose the service to keep it with.",
            )),
        },
        _ => Err(AppError::BadRequest("Unknown action.".into())),
    })
    .await;
    match result {
        Ok(msg) if to_dashboard => Ok(redirect_with_flash("/therapist", msg)),
        Ok(msg) => Ok(redirect_with_flash(
            &format!("/therapist/appointments/{id}"),
            msg,
        )),
        Err(
            e @ (AppError::Rule { .. } | AppError::Validation { .. } | AppError::Conflict { .. }),
        ) => {
            let msg = match &e {
                AppError::Validation { fields, .. } => {
                    fields.values().cloned().collect::<Vec<_>>().join(" ")
                }
                other => other.public_message(),
            };
            if to_dashboard {
                let failed = crate::web::therapist::InlineError {
                    id,
                    field: refused_field(&e),
                    message: msg,
                    reason: typed_reason.chars().take(500).collect(),
                };
                let me = user.who.clone();
                return crate::web::therapist::dashboard_page(&req, user.ctx, me, Some(failed))
                    .await;
            }
            appointment_page(&req, user, id, Some(msg)).await
        }
        Err(e) => Err(e.into()),
    }
}
