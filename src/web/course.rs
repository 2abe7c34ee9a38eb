//! Courses of therapy, the pages: `/book/course` (the series previewed with each session's
//! state and the nearest free time of its week, the choice all-or-nothing or skip, the health
//! questions once, then booking), `/courses/{id}` (the course's sessions for its client or its
//! therapist, and the cancel-course form). The rules are `domain::course`, the use cases
//! `services::course`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::appointment::cannot_cancel_online;
use crate::domain::course::{CourseShape, OnConflict, SessionState};
use crate::domain::screening::Evaluation;
use crate::error::AppError;
use crate::services::access::{self, Proof};
use crate::services::booking;
use crate::services::course::{self, CourseError, CourseParty, CourseRequest, CourseView, Preview};
use crate::services::directory;
use crate::services::idempotency::Once;
use crate::services::with_conn;
use crate::web::booking::{HealthForm, ReferPage, WhereForm, BOOKING_PRIVACY};
use crate::web::filters;
use crate::web::format::local_time;
use crate::web::{app_state, no_store, redirect_with_flash, render, As, CsrfForm, LoggedIn};
use crate::web::{PageCtx, PageResult};

#[derive(Debug, Deserialize)]
pub struct CourseQuery {
    pub therapist: i64,
    pub service: i64,
    pub start: String,
    pub sessions: Option<i64>,
    pub every: Option<i64>,
}

/// One line of the preview table.
pub struct PreviewLine {
    pub number: u32,
    pub when: String,
    pub state: SessionState,
    pub alternative: Option<String>,
}

#[derive(Template)]
#[template(path = "booking/course.html")]
pub struct CoursePage {
    pub ctx: PageCtx,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub service_id: i64,
    pub technique: String,
    pub duration_min: i32,
    pub start: String,
    pub sessions: u32,
    pub every_weeks: u32,
    pub lines: Vec<PreviewLine>,
    pub free: usize,
    pub on_conflict: String,
    pub health: HealthForm,
    pub error: Option<String>,
    pub shape_errors: crate::domain::FieldErrors,
    pub clearance: Option<Evaluation>,
    pub clearance_error: Option<String>,
    pub late: bool,
    pub window_hours: i32,
    pub window_error: Option<String>,
    /// Where the sessions take place (`booking/_where.html`), the same for every session.
    pub place: WhereForm,
    /// This form's key of safe retries (`web::IDEMPOTENCY_FIELD`).
    pub idempotency_key: String,
}

impl CoursePage {
    pub fn taken_any(&self) -> bool {
        self.free < self.lines.len()
    }
    pub fn is_free(&self, s: &SessionState) -> bool {
        *s == SessionState::Free
    }
    pub fn on_conflict_is(&self, v: &str) -> bool {
        self.on_conflict == v
    }
    pub fn tone(&self, s: &SessionState) -> &'static str {
        match s {
            SessionState::Free => "ok",
            SessionState::Taken => "off",
            SessionState::Unavailable => "plain",
        }
    }
    pub fn summary(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .shape_errors
            .iter()
            .map(|(f, m)| (f.clone(), m.clone()))
            .collect();
        out.extend(self.place.summary());
        out.extend(self.health.summary());
        if let Some(e) = &self.clearance_error {
            out.push(("clearance_confirmed".into(), e.clone()));
        }
        if let Some(e) = &self.window_error {
            out.push(("window_acknowledged".into(), e.clone()));
        }
        out
    }
    pub fn has_errors(&self) -> bool {
        self.error.is_some() || !self.summary().is_empty()
    }
    pub fn every_is(&self, n: u32) -> bool {
        self.every_weeks == n
    }
    pub fn sessions_choices(&self) -> Vec<u32> {
        (crate::domain::course::MIN_SESSIONS..=crate::domain::course::MAX_SESSIONS).collect()
    }
}

fn parse_start(s: &str) -> Result<DateTime<Utc>, AppError> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            AppError::BadRequest(
                "That time could not be read. Choose a time on the therapist's page.".into(),
            )
        })
}

/// The course page for a first time and a shape: the therapist's public profile and the
/// series' preview.
async fn course_page(
    req: &HttpRequest,
    ctx: PageCtx,
    therapist_id: i64,
    service_id: i64,
    start: &str,
    sessions: i64,
    every: i64,
) -> Result<CoursePage, AppError> {
    let first = parse_start(start)?;
    let (shape, shape_errors) = match CourseShape::parse(sessions, every) {
        Ok(s) => (s, Default::default()),
        Err(f) => (CourseShape::default(), f),
    };
    let state = app_state(req);
    let now = Utc::now();
    let (p, preview): (_, Preview) = with_conn(&state.pool, move |conn| {
        let p = directory::public_profile(conn, therapist_id, now.date_naive())?;
        let preview = course::preview(conn, therapist_id, service_id, first, shape, now)?;
        Ok((p, preview))
    })
    .await?;
    let tz = preview.tz;
    let lines: Vec<PreviewLine> = preview
        .sessions
        .iter()
        .map(|s| PreviewLine {
            number: s.number,
            when: match s.start {
                Some(t) => local_time(t, tz, now),
                None => format!(
                    "{} (this time does not exist that day: the clocks change)",
                    s.local.format("%A %-d %B %Y, %H:%M")
                ),
            },
            state: s.state,
            alternative: s.alternative.map(|t| local_time(t, tz, now)),
        })
        .collect();
    Ok(CoursePage {
        ctx,
        therapist_id,
        therapist_name: p.name.clone(),
        service_id,
        technique: preview.service.technique_slug.clone(),
        duration_min: preview.service.duration_min,
        start: start.to_string(),
        sessions: shape.sessions,
        every_weeks: shape.every_weeks,
        free: preview.free_count(),
        lines,
        on_conflict: "fail".into(),
        health: HealthForm::blank(BOOKING_PRIVACY),
        error: None,
        shape_errors,
        clearance: None,
        clearance_error: None,
        late: cannot_cancel_online(first, now, p.cancellation_window_hours),
        window_hours: p.cancellation_window_hours,
        window_error: None,
        place: WhereForm::new(&p),
        idempotency_key: crate::web::new_form_key(),
    })
}

/// `GET /book/course`: the series from a chosen first time (default ten weekly sessions).
pub async fn course_form(
    req: HttpRequest,
    user: As<access::VerifiedClient>,
    q: web::Query<CourseQuery>,
) -> PageResult<HttpResponse> {
    let page = course_page(
        &req,
        user.ctx,
        q.therapist,
        q.service,
        &q.start,
        q.sessions
            .unwrap_or(crate::domain::course::DEFAULT_SESSIONS as i64),
        q.every
            .unwrap_or(crate::domain::course::DEFAULT_EVERY_WEEKS as i64),
    )
    .await?;
    no_store(render(StatusCode::OK, &page)?)
}

/// `POST /book/course`: books the course with the answers given once.
pub async fn course_book(
    req: HttpRequest,
    user: As<access::VerifiedClient>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult<HttpResponse> {
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let therapist_id: i64 = field("therapist").parse().map_err(|_| AppError::NotFound)?;
    let service_id: i64 = field("service").parse().map_err(|_| AppError::NotFound)?;
    let start = field("start");
    let sessions: i64 = field("sessions").parse().unwrap_or(0);
    let every: i64 = field("every").parse().unwrap_or(0);
    let mut page = course_page(
        &req,
        user.ctx.clone(),
        therapist_id,
        service_id,
        &start,
        sessions,
        every,
    )
    .await?;
    let (claim, key) = crate::web::form_claim(user.who.user().id, "POST /book/course", &form);
    page.idempotency_key = key;
    let (health, answers) = HealthForm::read(&form, BOOKING_PRIVACY);
    page.health = health;
    let on_conflict = OnConflict::parse(&field("on_conflict"));
    if let Some(oc) = on_conflict {
        page.on_conflict = oc.as_str().into();
    } else {
        page.shape_errors.insert(
            "on_conflict".into(),
            "Choose what to do with taken weeks.".into(),
        );
    }
    let visit = page.place.read(&form);
    let Ok(answers) = answers else {
        return no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?);
    };
    if !page.shape_errors.is_empty() || !page.place.errors.is_empty() {
        return no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?);
    }
    let request = CourseRequest {
        therapist_id,
        service_id,
        first_starts_at: parse_start(&start)?,
        shape: CourseShape {
            sessions: page.sessions,
            every_weeks: page.every_weeks,
        },
        answers,
        clearance_confirmed: form.contains_key("clearance_confirmed"),
        window_acknowledged: form.contains_key("window_acknowledged"),
        on_conflict: on_conflict.unwrap_or(OnConflict::Fail),
        visit,
    };
    let state = app_state(&req);
    state.booking_allowed(user.who.user().id)?;
    let st = state.clone();
    let client = user.who.clone();
    let result = crate::services::idempotency::run(
        &state.pool,
        &state.cipher,
        claim.clone(),
        move |conn| {
            course::book(
                conn,
                &st.mail,
                &st.cipher,
                &client,
                st.booking_limits,
                &request,
            )
        },
        |b| Ok(crate::web::form_answer(format!("/courses/{}", b.course_id))),
    )
    .await;
    match result {
        Ok(Once::Ran(b)) => {
            let location = format!("/courses/{}", b.course_id);
            Ok(redirect_with_flash(
                &location,
                format!(
                    "Your course is booked: {} session(s){}.",
                    b.appointments.len(),
                    if b.skipped.is_empty() {
                        String::new()
                    } else {
                        format!(", {} taken week(s) skipped", b.skipped.len())
                    }
                ),
            ))
        }
        Ok(Once::Replay(stored) | Once::OtherRequest(stored)) => {
            Ok(crate::web::already_booked(&stored))
        }
        Err(CourseError::Conflicts(c)) => {
            page.error = Some(format!(
                "{} session(s) of this course can't be booked, so nothing was booked. Choose \"skip the taken weeks\" or another first time.",
                c.len()
            ));
            no_store(render(StatusCode::CONFLICT, &page)?)
        }
        Err(CourseError::App(AppError::Screening {
            code: "screening_refer",
            screening,
            ..
        })) => no_store(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ReferPage {
                ctx: user.ctx,
                screening: *screening,
            },
        )?),
        Err(CourseError::App(AppError::Screening {
            code: "screening_decline",
            message,
            ..
        })) => {
            page.error = Some(message);
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(CourseError::App(AppError::Screening {
            screening, message, ..
        })) => {
            page.clearance_error = Some(message);
            page.clearance = Some(*screening);
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(CourseError::App(AppError::Rule {
            code: booking::WINDOW_NOT_ACKNOWLEDGED,
            message,
        })) => {
            page.late = true;
            page.window_error = Some(message);
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(CourseError::App(AppError::FieldRule { fields, .. })) => {
            page.place.errors = fields;
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(CourseError::App(e @ (AppError::Rule { .. } | AppError::Conflict { .. }))) => {
            page.error = Some(e.public_message());
            no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?)
        }
        Err(CourseError::App(e)) => Err(e.into()),
    }
}

/// A session line of the course page.
pub struct SessionLine {
    pub number: i32,
    pub appointment_id: i64,
    pub when: String,
    pub words: String,
}

#[derive(Template)]
#[template(path = "booking/course_detail.html")]
pub struct CourseDetailPage {
    pub ctx: PageCtx,
    pub v: CourseView,
    pub lines: Vec<SessionLine>,
    pub cancellable: bool,
    pub error: Option<String>,
}

impl CourseDetailPage {
    pub fn is_client(&self) -> bool {
        self.v.party == CourseParty::Client
    }
    /// The link of a session's own page for this reader.
    pub fn session_link(&self, id: &i64) -> String {
        if self.is_client() {
            format!("/bookings/{id}")
        } else {
            format!("/therapist/appointments/{id}")
        }
    }
    /// For its client: the course page of the same course continued, from the week after its
    /// last session (None when that local time does not exist that day).
    pub fn next_course_link(&self) -> Option<String> {
        if !self.is_client() {
            return None;
        }
        let c = &self.v.course;
        let shape = CourseShape {
            sessions: c.sessions as u32 + 1,
            every_weeks: c.every_weeks as u32,
        };
        let next = crate::domain::course::series(c.first_starts_at.and_utc(), self.v.tz(), shape)
            .last()?
            .start?;
        let query = serde_urlencoded::to_string([
            ("therapist", c.therapist_id.to_string()),
            ("service", c.service_id.to_string()),
            (
                "start",
                next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            ("sessions", c.sessions.to_string()),
            ("every", c.every_weeks.to_string()),
        ])
        .ok()?;
        Some(format!("/book/course?{query}"))
    }
    pub fn every_words(&self) -> &'static str {
        if self.v.course.every_weeks == 2 {
            "every two weeks"
        } else {
            "weekly"
        }
    }
}

async fn detail_page(
    req: &HttpRequest,
    user: LoggedIn,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let viewer = user.session.user.clone();
    let v = with_conn(&state.pool, move |conn| course::view(conn, &viewer, id)).await?;
    let now = Utc::now();
    let tz = v.tz();
    let lines = v
        .sessions
        .iter()
        .map(|(n, a)| SessionLine {
            number: *n,
            appointment_id: a.id,
            when: local_time(a.starts_at.and_utc(), tz, now),
            words: course::session_words(&v, a, now),
        })
        .collect();
    no_store(render(
        status,
        &CourseDetailPage {
            ctx: user.ctx,
            cancellable: v.cancellable(now),
            v,
            lines,
            error,
        },
    )?)
}

/// `GET /courses/{id}`: the course for its client or its therapist.
pub async fn detail(
    req: HttpRequest,
    user: LoggedIn,
    id: web::Path<i64>,
) -> PageResult<HttpResponse> {
    detail_page(&req, user, id.into_inner(), None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct CancelCourseForm {
    #[serde(default)]
    pub reason: String,
}

/// `POST /courses/{id}/cancel`: cancels every future session it may; the page says which
/// were kept inside the cancellation window.
pub async fn cancel(
    req: HttpRequest,
    user: LoggedIn,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<CancelCourseForm>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let state = app_state(&req);
    let who = user.session.user.clone();
    let mail = state.mail.clone();
    match with_conn(&state.pool, move |conn| {
        course::cancel(conn, &mail, &who, id, &form.reason)
    })
    .await
    {
        Ok(out) => Ok(redirect_with_flash(
            &format!("/courses/{id}"),
            if out.kept.is_empty() {
                format!(
                    "The course is cancelled: {} session(s).",
                    out.cancelled.len()
                )
            } else {
                format!(
                    "The course is cancelled: {} session(s). {} session(s) inside the cancellation window are kept.",
                    out.cancelled.len(),
                    out.kept.len()
                )
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
