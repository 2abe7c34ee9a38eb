//! The admin area (`/admin`), admins only: dashboard, verification queues, expiring licenses,
//! therapists' standing, flagged bookings, admins, the audit log.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use crate::domain::audit as audit_words;
use crate::domain::credential::{license_counts, CredentialStatus};
use crate::domain::license_lookup::{self, LicenseLookup};
use crate::domain::mail::{MailKind, OutboxStatus};
use crate::domain::paging::{Page, PageQuery, DEFAULT_PER_PAGE};
use crate::error::{AppError, FieldErrors};
use crate::models::audit::{AuditEntry, AuditRow};
use crate::models::credential::{ExpiringLicense, License, LicenseQueueItem, TrainingQueueItem};
use crate::models::outbox::OutboxLine;
use crate::models::user::{Person, User};
use crate::services::access;
use crate::services::admin::{
    self, AdminDashboard, AuditQuery, Credential, FlaggedBooking, Queued, TherapistDetail,
    TherapistRow,
};
use crate::services::{outbox, with_conn};
use crate::web::auth::EmptyForm;
use crate::web::filters;
use crate::web::{app_state, redirect_with_flash, render, As, CsrfForm, PageCtx, PageResult};

/// Page numbers of a list.
#[derive(Debug, Clone)]
pub struct Paging {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// The query string without `page`, for the links.
    pub base: String,
    pub path: &'static str,
}

impl Paging {
    pub fn pages(&self) -> i64 {
        (self.total + self.per_page - 1) / self.per_page
    }
    pub fn link(&self, page: i64) -> String {
        if self.base.is_empty() {
            format!("{}?page={page}", self.path)
        } else {
            format!("{}?{}&page={page}", self.path, self.base)
        }
    }
}

/// The page of a list without a filter form (`?page=&per_page=`, the one paging policy): a bad
/// value has no field to be shown next to, so it is the error page (422) saying what is wrong.
fn page_of(q: &PageQuery) -> PageResult<Page> {
    q.parse().map_err(|fields| {
        let message = fields.values().cloned().collect::<Vec<_>>().join(" ");
        AppError::Validation { message, fields }.into()
    })
}

/// What the page links of a list keep besides `page`: `per_page` when it is not the default.
fn per_page_pair(page: Page) -> Option<(&'static str, String)> {
    (page.per_page != DEFAULT_PER_PAGE).then(|| ("per_page", page.per_page.to_string()))
}

fn base_of(page: Page) -> String {
    serde_urlencoded::to_string(per_page_pair(page).as_slice()).unwrap_or_default()
}

/// A form of a decision: verify (the box alone), reject, suspend, reinstate (a reason).
/// `confirm` is the page's confirmation step, the "I have checked ..." box that verify, reject
/// and suspend require; the API has no such step.
#[derive(Debug, Default, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

impl ReasonForm {
    fn confirmed(&self) -> bool {
        self.confirm
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty())
    }
}

/// A verify or reject form that failed, to show again with its errors next to its fields.
#[derive(Debug, Clone, Default)]
pub struct DecideAttempt {
    pub id: i64,
    pub verify: bool,
    pub reason: String,
    pub confirmed: bool,
    /// `confirm` and `reason`.
    pub errors: FieldErrors,
}

/// The verify and reject forms of a queue page, with the attempt that failed (if any).
#[derive(Debug, Clone)]
pub struct QueueForms {
    pub attempt: Option<DecideAttempt>,
    /// "License" or "Training record".
    pub what: &'static str,
}

impl QueueForms {
    fn on(&self, id: &i64, verify: bool) -> Option<&DecideAttempt> {
        self.attempt
            .as_ref()
            .filter(|a| a.id == *id && a.verify == verify)
    }
    pub fn verify_error(&self, id: &i64) -> Option<&str> {
        self.on(id, true)
            .and_then(|a| a.errors.get("confirm"))
            .map(String::as_str)
    }
    pub fn reject_confirm_error(&self, id: &i64) -> Option<&str> {
        self.on(id, false)
            .and_then(|a| a.errors.get("confirm"))
            .map(String::as_str)
    }
    pub fn reason_error(&self, id: &i64) -> Option<&str> {
        self.on(id, false)
            .and_then(|a| a.errors.get("reason"))
            .map(String::as_str)
    }
    pub fn reason_value(&self, id: &i64) -> &str {
        self.on(id, false).map_or("", |a| a.reason.as_str())
    }
    pub fn reject_checked(&self, id: &i64) -> bool {
        self.on(id, false).is_some_and(|a| a.confirmed)
    }
    /// The failed attempt's errors as (field id, message), for the summary at the top.
    pub fn summary(&self) -> Vec<(String, String)> {
        let Some(a) = &self.attempt else {
            return Vec::new();
        };
        a.errors
            .iter()
            .map(|(field, msg)| {
                let anchor = match (field.as_str(), a.verify) {
                    ("reason", _) => format!("reason-{}", a.id),
                    (_, true) => format!("confirm-verify-{}", a.id),
                    (_, false) => format!("confirm-reject-{}", a.id),
                };
                (anchor, msg.clone())
            })
            .collect()
    }
}

/// What a missing confirmation says.
fn verify_unconfirmed(kind: Credential) -> &'static str {
    match kind {
        Credential::License => {
            "Tick the box to confirm you checked this license with the issuing body."
        }
        Credential::Training => {
            "Tick the box to confirm you checked this training record's certificate."
        }
    }
}

const REJECT_UNCONFIRMED: &str =
    "Tick the box to confirm the rejection: the therapist sees your reason.";
const SUSPEND_UNCONFIRMED: &str =
    "Tick the box to confirm the suspension: the therapist leaves search at once.";

/// The field message of a validation error, or `fallback`.
fn field_message(e: AppError, field: &str, fallback: &str) -> String {
    match e {
        AppError::Validation { fields, .. } => fields.get(field).cloned(),
        _ => None,
    }
    .unwrap_or_else(|| fallback.to_string())
}

use crate::domain::stats::{AgeGroup, WeekValue};
use crate::services::stats;
use crate::web::chart::{self, BarChart};

// ---- Dashboard -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub ctx: PageCtx,
    pub d: AdminDashboard,
    /// Bookings per week, the queue's age, licenses expiring per week.
    pub charts: Vec<BarChart>,
}

pub async fn dashboard(req: HttpRequest, user: As<access::Admin>) -> PageResult<HttpResponse> {
    let ctx = user.ctx;
    let me = user.who;
    let state = app_state(&req);
    let (d, bookings, queue, expiring) = with_conn(&state.pool, move |conn| {
        let today = chrono::Utc::now().date_naive();
        Ok::<_, AppError>((
            admin::dashboard(conn)?,
            stats::bookings_per_week(conn, &me, today)?,
            stats::queue_age(conn, &me, crate::models::now())?,
            stats::licenses_expiring_per_week(conn, &me, today)?,
        ))
    })
    .await?;
    let charts = admin_charts(&bookings, &queue, &expiring);
    render(StatusCode::OK, &DashboardPage { ctx, d, charts })
}

/// The dashboard's charts, each with a sentence that says what it shows.
fn admin_charts(
    bookings: &[WeekValue],
    queue: &[AgeGroup],
    expiring: &[WeekValue],
) -> Vec<BarChart> {
    let count = |v: i64| (v as f64, v.to_string());
    let total = |w: &[WeekValue]| w.iter().map(|w| w.value).sum::<i64>();
    let span = |w: &[WeekValue]| match (w.first(), w.last()) {
        (Some(a), Some(b)) => format!(
            "from the week of {} to the week of {}",
            chart::week_label(a.week_start),
            chart::week_label(b.week_start)
        ),
        _ => String::new(),
    };
    let most = |w: &[WeekValue]| {
        w.iter()
            .max_by_key(|w| w.value)
            .map(|w| (w.value, chart::week_label(w.week_start)))
    };
    let bookings_chart = BarChart::weekly(
        "bookings",
        "Bookings per week",
        "Bookings",
        bookings,
        count,
    )
    .described(format!(
        "Bookings by the week they take place (UTC), {}, not counting cancelled or declined ones: {} in all{}.",
        span(bookings),
        total(bookings),
        most(bookings).map(|(n, w)| format!(", at most {n} in the week of {w}")).unwrap_or_default()
    ));
    let waiting: i64 = queue.iter().map(|g| g.count).sum();
    let queue_chart = BarChart::new(
        "queue-age",
        "How long verifications have waited",
        "Waiting",
        "Licenses and training records",
        queue
            .iter()
            .map(|g| (g.label.clone(), g.count as f64, g.count.to_string()))
            .collect(),
    )
    .described(format!(
        "{waiting} licenses and training records wait for verification: {}.",
        queue
            .iter()
            .map(|g| format!("{} {}", g.count, g.label.to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let expiring_chart = BarChart::weekly(
        "expiring",
        "Licenses expiring per week",
        "Licenses expiring",
        expiring,
        count,
    )
    .described(format!(
        "Verified licenses that expire without a renewal, by week, {}: {} in all.",
        span(expiring),
        total(expiring)
    ));
    vec![bookings_chart, queue_chart, expiring_chart]
}

// ---- Licenses ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/licenses.html")]
pub struct LicensesPage {
    pub ctx: PageCtx,
    pub items: Vec<Queued<LicenseQueueItem>>,
    pub paging: Paging,
    pub expiring: Vec<ExpiringLicense>,
    pub expiring_total: i64,
    pub forms: QueueForms,
    pub today: NaiveDate,
}

impl LicensesPage {
    pub fn days_left(&self, l: &License) -> i64 {
        (l.expires_on - self.today).num_days()
    }
    /// The issuing state's public license lookup, when the curated table has one.
    pub fn lookup(&self, l: &License) -> Option<&'static LicenseLookup> {
        license_lookup::for_jurisdiction(&l.jurisdiction)
    }
}

async fn licenses_page(
    req: &HttpRequest,
    ctx: PageCtx,
    page: Page,
    attempt: Option<DecideAttempt>,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let ((total, items), (expiring_total, expiring)) = with_conn(&state.pool, move |conn| {
        Ok((
            admin::license_queue(conn, CredentialStatus::Submitted, page.page, page.per_page)?,
            admin::expiring_licenses(conn, 1, 100)?,
        ))
    })
    .await?;
    let status = if attempt.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        status,
        &LicensesPage {
            ctx,
            items,
            paging: Paging {
                total,
                page: page.page,
                per_page: page.per_page,
                base: base_of(page),
                path: "/admin/licenses",
            },
            expiring,
            expiring_total,
            forms: QueueForms {
                attempt,
                what: "License",
            },
            today: Utc::now().date_naive(),
        },
    )
}

pub async fn licenses(
    req: HttpRequest,
    user: As<access::Admin>,
    q: web::Query<PageQuery>,
) -> PageResult<HttpResponse> {
    let ctx = user.ctx;
    let page = page_of(&q)?;
    licenses_page(&req, ctx, page, None).await
}

async fn decide(
    req: &HttpRequest,
    admin: access::Admin,
    kind: Credential,
    id: i64,
    reason: Option<String>,
) -> Result<(), AppError> {
    let state = app_state(req);
    let mail = state.mail.clone();
    with_conn(&state.pool, move |conn| {
        admin::decide(
            conn,
            &mail,
            &admin,
            kind,
            id,
            reason.is_none(),
            reason.as_deref(),
        )
    })
    .await
}

/// The credential a queue's path segment names (`licenses` or `training`, as the routes allow),
/// with its queue page and what a message calls one.
fn queue(segment: &str) -> (Credential, &'static str, &'static str) {
    if segment == "licenses" {
        (Credential::License, "/admin/licenses", "License")
    } else {
        (Credential::Training, "/admin/training", "Training record")
    }
}

/// The queue page again (its first page) with the decision that failed, 422.
async fn queue_again(
    req: &HttpRequest,
    ctx: PageCtx,
    kind: Credential,
    attempt: DecideAttempt,
) -> PageResult<HttpResponse> {
    match kind {
        Credential::License => licenses_page(req, ctx, Page::default(), Some(attempt)).await,
        Credential::Training => training_page(req, ctx, Page::default(), Some(attempt)).await,
    }
}

/// `POST /admin/{licenses|training}/{id}/verify`: without the confirmation box ticked the
/// queue comes back with the message next to that box, and the credential stays submitted.
pub async fn credential_verify(
    req: HttpRequest,
    user: As<access::Admin>,
    path: web::Path<(String, i64)>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> PageResult<HttpResponse> {
    let As {
        who: admin, ctx, ..
    } = user;
    let (segment, id) = path.into_inner();
    let (kind, back, what) = queue(&segment);
    if !form.confirmed() {
        let mut errors = FieldErrors::new();
        errors.insert("confirm".into(), verify_unconfirmed(kind).into());
        let attempt = DecideAttempt {
            id,
            verify: true,
            errors,
            ..Default::default()
        };
        return queue_again(&req, ctx, kind, attempt).await;
    }
    decide(&req, admin, kind, id, None).await?;
    Ok(redirect_with_flash(back, format!("{what} #{id} verified.")))
}

/// `POST /admin/{licenses|training}/{id}/reject`: a missing reason or confirmation re-renders
/// the queue with the messages next to that credential's fields.
pub async fn credential_reject(
    req: HttpRequest,
    user: As<access::Admin>,
    path: web::Path<(String, i64)>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> PageResult<HttpResponse> {
    let As {
        who: admin, ctx, ..
    } = user;
    let (segment, id) = path.into_inner();
    let (kind, back, what) = queue(&segment);
    let mut errors = FieldErrors::new();
    if !form.confirmed() {
        errors.insert("confirm".into(), REJECT_UNCONFIRMED.into());
    }
    if let Err(e) = admin::parse_reason(Some(&form.reason), admin::REJECT_REASON_MESSAGE) {
        let msg = field_message(e, "reason", admin::REJECT_REASON_MESSAGE);
        errors.insert("reason".into(), msg);
    }
    if errors.is_empty() {
        match decide(&req, admin, kind, id, Some(form.reason.clone())).await {
            Ok(()) => {
                return Ok(redirect_with_flash(
                    back,
                    format!("{what} #{id} rejected. The therapist sees your reason."),
                ))
            }
            Err(AppError::Validation { fields, .. }) => errors = fields,
            Err(e) => return Err(e.into()),
        }
    }
    let attempt = DecideAttempt {
        id,
        verify: false,
        confirmed: form.confirmed(),
        reason: form.reason,
        errors,
    };
    queue_again(&req, ctx, kind, attempt).await
}

// ---- Training ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/training.html")]
pub struct TrainingPage {
    pub ctx: PageCtx,
    pub items: Vec<Queued<TrainingQueueItem>>,
    pub paging: Paging,
    pub forms: QueueForms,
}

async fn training_page(
    req: &HttpRequest,
    ctx: PageCtx,
    page: Page,
    attempt: Option<DecideAttempt>,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let (total, items) = with_conn(&state.pool, move |conn| {
        admin::training_queue(conn, CredentialStatus::Submitted, page.page, page.per_page)
    })
    .await?;
    let status = if attempt.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        status,
        &TrainingPage {
            ctx,
            items,
            paging: Paging {
                total,
                page: page.page,
                per_page: page.per_page,
                base: base_of(page),
                path: "/admin/training",
            },
            forms: QueueForms {
                attempt,
                what: "Training record",
            },
        },
    )
}

pub async fn training(
    req: HttpRequest,
    user: As<access::Admin>,
    q: web::Query<PageQuery>,
) -> PageResult<HttpResponse> {
    let ctx = user.ctx;
    let page = page_of(&q)?;
    training_page(&req, ctx, page, None).await
}

// ---- Therapists ----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct TherapistSearch {
    pub q: Option<String>,
    #[serde(flatten)]
    pub paging: PageQuery,
}

#[derive(Template)]
#[template(path = "admin/therapists.html")]
pub struct TherapistsPage {
    pub ctx: PageCtx,
    pub q: String,
    pub error: Option<String>,
    pub rows: Vec<TherapistRow>,
    pub paging: Paging,
    /// The day on which `license_ok` decides whether a license counts.
    pub today: NaiveDate,
}

impl TherapistsPage {
    pub fn place(&self, r: &TherapistRow) -> String {
        match (&r.city, &r.region) {
            (Some(c), Some(reg)) => format!("{c}, {reg}"),
            (Some(c), None) => c.clone(),
            _ => "No city yet".into(),
        }
    }
    pub fn license_ok(&self, r: &TherapistRow) -> bool {
        license_counts(r.license_verified_until, self.today)
    }
}

pub async fn therapists(
    req: HttpRequest,
    user: As<access::Admin>,
    q: web::Query<TherapistSearch>,
) -> PageResult<HttpResponse> {
    let ctx = user.ctx;
    let q = q.into_inner();
    let page = page_of(&q.paging)?;
    let text = q.q.unwrap_or_default();
    let state = app_state(&req);
    let t = text.clone();
    let found = with_conn(&state.pool, move |conn| {
        admin::find_therapists(conn, Some(&t), page.page, page.per_page)
    })
    .await;
    let (status, error, (total, rows)) = match found {
        Ok(r) => (StatusCode::OK, None, r),
        Err(AppError::Validation { fields, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            fields.get("q").cloned(),
            (0, Vec::new()),
        ),
        Err(e) => return Err(e.into()),
    };
    let pairs: Vec<(&str, String)> = (!text.trim().is_empty())
        .then(|| ("q", text.trim().to_string()))
        .into_iter()
        .chain(per_page_pair(page))
        .collect();
    let base = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    render(
        status,
        &TherapistsPage {
            ctx,
            q: text,
            error,
            rows,
            paging: Paging {
                total,
                page: page.page,
                per_page: page.per_page,
                base,
                path: "/admin/therapists",
            },
            today: Utc::now().date_naive(),
        },
    )
}

#[derive(Template)]
#[template(path = "admin/therapist.html")]
pub struct TherapistPage {
    pub ctx: PageCtx,
    pub d: TherapistDetail,
    pub reason: String,
    pub reason_error: Option<String>,
    /// The suspension's confirmation box was not ticked.
    pub confirm_error: Option<String>,
    pub today: NaiveDate,
    /// A cancellation of upcoming bookings that failed, shown again with its error.
    pub cancel: Option<CancelFailed>,
}

/// A cancellation form of the upcoming bookings that failed: which one (None: all), the reason
/// typed, and what was wrong.
pub struct CancelFailed {
    pub appointment: Option<i64>,
    pub reason: String,
    pub error: String,
}

impl TherapistPage {
    pub fn lookup(&self, l: &License) -> Option<&'static LicenseLookup> {
        license_lookup::for_jurisdiction(&l.jurisdiction)
    }
    pub fn has_errors(&self) -> bool {
        self.reason_error.is_some() || self.confirm_error.is_some()
    }
    pub fn license_status(&self, l: &License) -> String {
        l.license_status(self.today).to_string()
    }
    pub fn license_ok(&self) -> bool {
        license_counts(self.d.therapist.license_verified_until, self.today)
    }
    pub fn suspended(&self) -> bool {
        self.d.therapist.suspended_at.is_some()
    }
    /// The error of the cancellation form of `appointment` (None: the form for all).
    pub fn cancel_error(&self, appointment: Option<i64>) -> Option<&str> {
        self.cancel
            .as_ref()
            .filter(|c| c.appointment == appointment)
            .map(|c| c.error.as_str())
    }
    /// The reason typed in the cancellation form of `appointment`, when it failed.
    pub fn cancel_reason(&self, appointment: Option<i64>) -> &str {
        self.cancel
            .as_ref()
            .filter(|c| c.appointment == appointment)
            .map_or("", |c| c.reason.as_str())
    }
    pub fn actor(&self, e: &AuditEntry, who: &Option<Person>) -> String {
        actor_label(e, who)
    }
}

/// Who wrote an audit row, as a person reads it: "Ada Admin (admin)".
fn actor_label(e: &AuditEntry, who: &Option<Person>) -> String {
    match (who, e.actor_user_id) {
        (Some(p), _) => p.label(),
        (None, Some(id)) => format!("a removed account (#{id})"),
        (None, None) => "the system".to_string(),
    }
}

async fn therapist_page(
    req: &HttpRequest,
    ctx: PageCtx,
    id: i64,
    reason: String,
    reason_error: Option<String>,
    confirm_error: Option<String>,
) -> PageResult<HttpResponse> {
    therapist_page_with(req, ctx, id, reason, reason_error, confirm_error, None).await
}

async fn therapist_page_with(
    req: &HttpRequest,
    ctx: PageCtx,
    id: i64,
    reason: String,
    reason_error: Option<String>,
    confirm_error: Option<String>,
    cancel: Option<CancelFailed>,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let d = with_conn(&state.pool, move |conn| admin::therapist_detail(conn, id)).await?;
    let status = if reason_error.is_some() || confirm_error.is_some() || cancel.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        status,
        &TherapistPage {
            ctx,
            d,
            reason,
            reason_error,
            confirm_error,
            today: Utc::now().date_naive(),
            cancel,
        },
    )
}

/// The form that cancels a therapist's upcoming bookings: one (`appointment`) or all.
#[derive(Debug, Deserialize)]
pub struct CancelUpcomingForm {
    #[serde(default)]
    pub reason: String,
    /// An appointment id; empty: all the upcoming bookings.
    #[serde(default)]
    pub appointment: String,
}

pub async fn cancel_upcoming(
    req: HttpRequest,
    user: As<access::Admin>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<CancelUpcomingForm>,
) -> PageResult<HttpResponse> {
    let As {
        who: admin, ctx, ..
    } = user;
    let id = id.into_inner();
    let only = match form.appointment.trim() {
        "" => None,
        a => Some(a.parse::<i64>().map_err(|_| AppError::NotFound)?),
    };
    let state = app_state(&req);
    let (mail, reason) = (state.mail.clone(), form.reason.clone());
    let done = with_conn(&state.pool, move |conn| {
        admin::cancel_upcoming(conn, &mail, &admin, id, only, Some(&reason))
    })
    .await;
    match done {
        Ok(c) => {
            let mut msg = match c.cancelled {
                1 => "1 booking cancelled; its client is mailed.".to_string(),
                n => format!("{n} bookings cancelled; each client is mailed."),
            };
            if c.skipped > 0 {
                msg.push_str(&format!(
                    " {} started or changed meanwhile and were left as they are.",
                    c.skipped
                ));
            }
            Ok(redirect_with_flash(&format!("/admin/therapists/{id}"), msg))
        }
        Err(AppError::Validation { fields, .. }) => {
            let error = fields
                .get("reason")
                .cloned()
                .unwrap_or_else(|| admin::CANCEL_REASON_MESSAGE.into());
            let failed = CancelFailed {
                appointment: only,
                reason: form.reason,
                error,
            };
            therapist_page_with(&req, ctx, id, String::new(), None, None, Some(failed)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn therapist(
    req: HttpRequest,
    user: As<access::Admin>,
    id: web::Path<i64>,
) -> PageResult<HttpResponse> {
    let ctx = user.ctx;
    therapist_page(&req, ctx, id.into_inner(), String::new(), None, None).await
}

async fn change_standing(
    req: HttpRequest,
    user: As<access::Admin>,
    id: i64,
    form: ReasonForm,
    suspend: bool,
) -> PageResult<HttpResponse> {
    let As {
        who: admin, ctx, ..
    } = user;
    if suspend && !form.confirmed() {
        let reason_error = admin::parse_reason(Some(&form.reason), admin::SUSPEND_REASON_MESSAGE)
            .err()
            .map(|e| field_message(e, "reason", admin::SUSPEND_REASON_MESSAGE));
        let confirm_error = Some(SUSPEND_UNCONFIRMED.to_string());
        return therapist_page(&req, ctx, id, form.reason, reason_error, confirm_error).await;
    }
    let state = app_state(&req);
    let reason = form.reason.clone();
    let mail = state.mail.clone();
    let done = with_conn(&state.pool, move |conn| {
        if suspend {
            admin::suspend(conn, &mail, &admin, id, Some(&reason))
        } else {
            admin::reinstate(conn, &mail, &admin, id, Some(&reason))
        }
    })
    .await;
    match done {
        Ok(s) => {
            let upcoming = match s.upcoming_appointments {
                0 => "No upcoming appointments.".to_string(),
                1 => "1 upcoming appointment to handle.".to_string(),
                n => format!("{n} upcoming appointments to handle."),
            };
            let msg = if suspend {
                format!("Therapist suspended: hidden from search and their profile. {upcoming}")
            } else {
                "Therapist reinstated: back in search and their profile.".to_string()
            };
            Ok(redirect_with_flash(&format!("/admin/therapists/{id}"), msg))
        }
        Err(AppError::Validation { fields, .. }) => {
            let error = fields
                .get("reason")
                .cloned()
                .unwrap_or_else(|| "Give a reason.".into());
            therapist_page(&req, ctx, id, form.reason, Some(error), None).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn suspend(
    req: HttpRequest,
    user: As<access::Admin>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> PageResult<HttpResponse> {
    change_standing(req, user, id.into_inner(), form, true).await
}

pub async fn reinstate(
    req: HttpRequest,
    user: As<access::Admin>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> PageResult<HttpResponse> {
    change_standing(req, user, id.into_inner(), form, false).await
}

// ---- Flagged bookings ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/bookings.html")]
pub struct FlaggedPage {
    pub ctx: PageCtx,
    pub rows: Vec<FlaggedBooking>,
    pub paging: Paging,
}

impl FlaggedPage {
    pub fn outcome(&self, o: &str) -> &'static str {
        match o {
            "needs_clearance" => "needs medical clearance",
            _ => "caution",
        }
    }
}

pub async fn flagged(
    req: HttpRequest,
    user: As<access::Admin>,
    q: web::Query<PageQuery>,
) -> PageResult<HttpResponse> {
    let ctx = user.ctx;
    let page = page_of(&q)?;
    let state = app_state(&req);
    let (total, rows) = with_conn(&state.pool, move |conn| {
        admin::flagged_bookings(conn, page.page, page.per_page)
    })
    .await?;
    render(
        StatusCode::OK,
        &FlaggedPage {
            ctx,
            rows,
            paging: Paging {
                total,
                page: page.page,
                per_page: page.per_page,
                base: base_of(page),
                path: "/admin/bookings",
            },
        },
    )
}

// ---- Outbox --------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct OutboxQuery {
    pub status: Option<String>,
    #[serde(flatten)]
    pub paging: PageQuery,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
pub struct OutboxPage {
    pub ctx: PageCtx,
    pub status: OutboxStatus,
    pub rows: Vec<OutboxLine>,
    pub paging: Paging,
    pub statuses: [OutboxStatus; 6],
}

impl OutboxPage {
    pub fn kind_label<'a>(&self, kind: &'a str) -> &'a str {
        match MailKind::parse(kind) {
            Some(k) => k.label(),
            None => kind,
        }
    }
}

/// The mails of one status, newest first, never a body: what waits (also for a retry), what
/// went, what was given up (with the error) and what was withdrawn.
pub async fn outbox(
    req: HttpRequest,
    user: As<access::Admin>,
    q: web::Query<OutboxQuery>,
) -> PageResult<HttpResponse> {
    let ctx = user.ctx;
    let status = outbox::parse_status(q.status.as_deref())?;
    let page = page_of(&q.paging)?;
    let state = app_state(&req);
    let admin = user.who;
    let (total, rows) = with_conn(&state.pool, move |conn| {
        outbox::lines(conn, &admin, status, page)
    })
    .await?;
    let mut base: Vec<(&str, String)> = vec![("status", status.as_str().to_string())];
    base.extend(per_page_pair(page));
    render(
        StatusCode::OK,
        &OutboxPage {
            ctx,
            status,
            rows,
            paging: Paging {
                total,
                page: page.page,
                per_page: page.per_page,
                base: serde_urlencoded::to_string(&base).unwrap_or_default(),
                path: "/admin/outbox",
            },
            statuses: OutboxStatus::ALL,
        },
    )
}

/// Sends a failed or in-doubt mail again (`services::outbox::send_again`), back to the list
/// it was on.
pub async fn outbox_send_again(
    req: HttpRequest,
    user: As<access::Admin>,
    id: web::Path<i64>,
    _form: CsrfForm<EmptyForm>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let state = app_state(&req);
    let admin = user.who;
    let was = with_conn(&state.pool, move |conn| {
        outbox::send_again(conn, &admin, id)
    })
    .await;
    match was {
        Ok(was) => Ok(redirect_with_flash(
            &format!("/admin/outbox?status={}", was.as_str()),
            format!("Mail #{id} is queued to be sent again."),
        )),
        Err(AppError::Conflict { .. }) => Ok(redirect_with_flash(
            "/admin/outbox",
            format!("Mail #{id} is no longer failed or in doubt: nothing was changed."),
        )),
        Err(e) => Err(e.into()),
    }
}

// ---- Admins --------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Template)]
#[template(path = "admin/admins.html")]
pub struct AdminsPage {
    pub ctx: PageCtx,
    pub admins: Vec<User>,
    /// What was typed (never the password).
    pub email: String,
    pub name: String,
    pub errors: FieldErrors,
}

impl AdminsPage {
    pub fn error(&self, f: &str) -> Option<&String> {
        self.errors.get(f)
    }
}

async fn admins_page(
    req: &HttpRequest,
    ctx: PageCtx,
    email: String,
    name: String,
    errors: FieldErrors,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let admins = with_conn(&state.pool, admin::admins).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &AdminsPage {
            ctx,
            admins,
            email,
            name,
            errors,
        },
    )
}

pub async fn admins(req: HttpRequest, user: As<access::Admin>) -> PageResult<HttpResponse> {
    let ctx = user.ctx;
    admins_page(&req, ctx, String::new(), String::new(), FieldErrors::new()).await
}

pub async fn invite_admin(
    req: HttpRequest,
    user: As<access::Admin>,
    CsrfForm(form): CsrfForm<AdminForm>,
) -> PageResult<HttpResponse> {
    let As {
        who: admin, ctx, ..
    } = user;
    let state = app_state(&req);
    let (mail, email, name) = (state.mail.clone(), form.email.clone(), form.name.clone());
    match with_conn(&state.pool, move |conn| {
        admin::invite_admin(conn, &mail, &admin, &email, &name)
    })
    .await
    {
        Ok(u) => Ok(redirect_with_flash(
            "/admin/admins",
            format!(
                "Invitation sent to {}: they choose their own password from the link (it works for 7 days).",
                u.email
            ),
        )),
        Err(AppError::Validation { fields, .. }) => {
            admins_page(&req, ctx, form.email, form.name, fields).await
        }
        Err(e @ AppError::Conflict { .. }) => {
            let mut fields = FieldErrors::new();
            fields.insert("email".into(), e.public_message());
            admins_page(&req, ctx, form.email, form.name, fields).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Audit log -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub ctx: PageCtx,
    pub q: AuditQuery,
    pub errors: FieldErrors,
    pub rows: Vec<AuditRow>,
    pub paging: Paging,
    pub object_types: Vec<Choice>,
    pub actions: Vec<Choice>,
}

/// An option of a select.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The options of a filter from its table of (internal name, label), the one typed selected;
/// a value the table does not hold (an action prefix typed into the URL) is kept as an option
/// of its own.
fn choices(
    table: &[(&'static str, &'static str)],
    typed: &Option<String>,
    code_of: fn(&str) -> Option<&'static str>,
) -> Vec<Choice> {
    let typed = typed.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let current = typed.map(|t| code_of(t).map_or_else(|| t.to_ascii_lowercase(), String::from));
    let mut out = vec![Choice {
        value: String::new(),
        label: "Any".into(),
        selected: current.is_none(),
    }];
    out.extend(table.iter().map(|(code, label)| Choice {
        value: code.to_string(),
        label: label.to_string(),
        selected: current.as_deref() == Some(*code),
    }));
    if let (Some(t), Some(c)) = (typed, &current) {
        if !table.iter().any(|(code, _)| *code == c.as_str()) {
            out.push(Choice {
                value: t.to_string(),
                label: format!("Other: {t}"),
                selected: true,
            });
        }
    }
    out
}

impl AuditPage {
    pub fn actor(&self, e: &AuditEntry, who: &Option<Person>) -> String {
        actor_label(e, who)
    }
    pub fn action_label<'a>(&self, code: &'a str) -> &'a str {
        audit_words::action_label(code)
    }
    pub fn object_label<'a>(&self, code: &'a str) -> &'a str {
        audit_words::object_type_label(code)
    }
    pub fn error(&self, f: &str) -> Option<&String> {
        self.errors.get(f)
    }
    pub fn val<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
    pub fn object_link(&self, e: &AuditEntry) -> Option<String> {
        match (e.object_type.as_str(), e.object_id) {
            ("therapist", Some(id)) => Some(format!("/admin/therapists/{id}")),
            _ => None,
        }
    }
}

pub async fn audit(
    req: HttpRequest,
    user: As<access::Admin>,
    q: web::Query<AuditQuery>,
) -> PageResult<HttpResponse> {
    let ctx = user.ctx;
    let q = q.into_inner();
    let (status, errors, search) = match q.parse() {
        Ok(s) => (StatusCode::OK, FieldErrors::new(), Some(s)),
        Err(AppError::Validation { fields, .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, fields, None)
        }
        Err(e) => return Err(e.into()),
    };
    let Page { page, per_page } = search.as_ref().map_or(Page::default(), |s| Page {
        page: s.page,
        per_page: s.per_page,
    });
    let (total, rows) = match search {
        Some(s) => {
            let state = app_state(&req);
            with_conn(&state.pool, move |conn| admin::audit_log(conn, &s)).await?
        }
        None => (0, Vec::new()),
    };
    let base_pairs: Vec<(&str, &str)> = [
        ("actor", &q.actor),
        ("action", &q.action),
        ("object_type", &q.object_type),
        ("object_id", &q.object_id),
        ("from", &q.from),
        ("to", &q.to),
        ("per_page", &q.per_page),
    ]
    .into_iter()
    .filter_map(|(k, v)| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| (k, v))
    })
    .collect();
    let base = serde_urlencoded::to_string(&base_pairs).unwrap_or_default();
    let (object_types, actions) = (
        choices(
            audit_words::OBJECT_TYPES,
            &q.object_type,
            audit_words::object_type_code,
        ),
        choices(audit_words::ACTIONS, &q.action, audit_words::action_code),
    );
    render(
        status,
        &AuditPage {
            ctx,
            q,
            errors,
            rows,
            paging: Paging {
                total,
                page,
                per_page,
                base,
                path: "/admin/audit",
            },
            object_types,
            actions,
        },
    )
}
