//! `/api/v1/admin/...` (admins only): queues and decisions, expiring licenses, therapists'
//! standing, flagged bookings, admins, the audit log.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiAs, ListOut, UserOut};
use crate::domain::audit as audit_words;
use crate::domain::credential::CredentialStatus;
use crate::domain::license_lookup;
use crate::domain::paging::{Page, PageQuery};
use crate::error::{ApiResult, AppError};
use crate::http::app_state;
use crate::services::access;
use crate::services::admin::{self, AuditQuery, Credential, Decision, Standing};
use crate::services::{outbox, stats, with_conn};

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `?page=&per_page=` by the one paging policy: a bad value is a 422 naming its field.
fn paging(q: &PageQuery) -> Result<Page, AppError> {
    q.parse().map_err(AppError::validation)
}

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    pub status: Option<String>,
    #[serde(flatten)]
    pub paging: PageQuery,
}

/// An earlier decision on one of the therapist's credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOut {
    /// `license` or `training`.
    pub kind: String,
    pub id: i64,
    pub what: String,
    pub status: String,
    /// RFC 3339, UTC.
    pub decided_at: Option<String>,
    /// The admin who decided (user id).
    pub decided_by: Option<i64>,
    /// Their name and role, "Ada Admin (admin)", while they are on file.
    pub decided_by_name: Option<String>,
    pub rejection_reason: Option<String>,
}

fn history(h: Vec<Decision>) -> Vec<DecisionOut> {
    h.into_iter()
        .map(|d| DecisionOut {
            kind: d.kind.to_string(),
            id: d.id,
            what: d.what,
            status: d.status,
            decided_at: d.decided_at.map(rfc3339),
            decided_by: d.decided_by,
            decided_by_name: d.decided_by_name,
            rejection_reason: d.rejection_reason,
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseQueueOut {
    pub id: i64,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub jurisdiction: String,
    pub number: String,
    pub issuing_body: String,
    pub expires_on: NaiveDate,
    pub status: String,
    /// RFC 3339, UTC.
    pub submitted_at: String,
    pub rejection_reason: Option<String>,
    /// Earlier decisions on this therapist's credentials, newest first.
    pub history: Vec<DecisionOut>,
    /// The board whose public license lookup covers the jurisdiction, when the curated table
    /// (`data/license_lookup.tsv`) has one.
    pub lookup_board: Option<String>,
    /// That board's public license lookup page.
    pub lookup_url: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/licenses", tag = "admin",
    params(("status" = Option<String>, Query, description = "submitted (default), verified or rejected"),
           ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, description = "{total, page, per_page, results: [LicenseQueueOut]}, oldest first"),
              (status = 401), (status = 403), (status = 422)))]
pub async fn licenses(
    req: HttpRequest,
    _admin: ApiAs<access::Admin>,
    q: web::Query<QueueQuery>,
) -> ApiResult<web::Json<ListOut<LicenseQueueOut>>> {
    queue_page(&req, &q, admin::license_queue, |q| {
        let l = q.item.license;
        let lookup = license_lookup::for_jurisdiction(&l.jurisdiction);
        LicenseQueueOut {
            lookup_board: lookup.map(|b| b.board.clone()),
            lookup_url: lookup.map(|b| b.url.clone()),
            id: l.id,
            therapist_id: l.therapist_id,
            therapist_name: q.item.therapist_name,
            jurisdiction: l.jurisdiction,
            number: l.number,
            issuing_body: l.issuing_body,
            expires_on: l.expires_on,
            status: l.status,
            submitted_at: rfc3339(l.submitted_at),
            rejection_reason: l.rejection_reason,
            history: history(q.history),
        }
    })
    .await
}

/// A credential queue's reader (`admin::license_queue`, `admin::training_queue`): a status, a
/// page and its size give the total and the page's items.
type QueueReader<T> = fn(
    &mut crate::db::DbConnection,
    CredentialStatus,
    i64,
    i64,
) -> Result<(i64, Vec<admin::Queued<T>>), AppError>;

/// A page of a credential queue (`?status=&page=&per_page=`), read by `load` and each item
/// answered as `out` makes it.
async fn queue_page<T: Send + 'static, O>(
    req: &HttpRequest,
    q: &QueueQuery,
    load: QueueReader<T>,
    out: impl Fn(admin::Queued<T>) -> O,
) -> ApiResult<web::Json<ListOut<O>>> {
    let status = admin::parse_status(q.status.as_deref())?;
    let Page { page, per_page } = paging(&q.paging)?;
    let state = app_state(req);
    let (total, items) =
        with_conn(&state.pool, move |conn| load(conn, status, page, per_page)).await?;
    Ok(web::Json(ListOut {
        total,
        page,
        per_page,
        results: items.into_iter().map(out).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingQueueOut {
    pub id: i64,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub program: String,
    pub hours: i32,
    pub completed_on: NaiveDate,
    pub status: String,
    /// RFC 3339, UTC.
    pub submitted_at: String,
    pub rejection_reason: Option<String>,
    /// Earlier decisions on this therapist's credentials, newest first.
    pub history: Vec<DecisionOut>,
}

#[utoipa::path(get, path = "/api/v1/admin/training", tag = "admin",
    params(("status" = Option<String>, Query, description = "submitted (default), verified or rejected"),
           ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, description = "{total, page, per_page, results: [TrainingQueueOut]}, oldest first"),
              (status = 401), (status = 403), (status = 422)))]
pub async fn training(
    req: HttpRequest,
    _admin: ApiAs<access::Admin>,
    q: web::Query<QueueQuery>,
) -> ApiResult<web::Json<ListOut<TrainingQueueOut>>> {
    queue_page(&req, &q, admin::training_queue, |q| {
        let t = q.item.record;
        TrainingQueueOut {
            id: t.id,
            therapist_id: t.therapist_id,
            therapist_name: q.item.therapist_name,
            program: t.program,
            hours: t.hours,
            completed_on: t.completed_on,
            status: t.status,
            submitted_at: rfc3339(t.submitted_at),
            rejection_reason: t.rejection_reason,
            history: history(q.history),
        }
    })
    .await
}

/// `{reason}` for a rejection, a suspension or a reinstatement.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: Option<String>,
}

/// The outcome of a decision on a credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecidedOut {
    pub id: i64,
    /// `verified` or `rejected`.
    pub status: String,
    pub rejection_reason: Option<String>,
}

async fn decide(
    req: &HttpRequest,
    caller: ApiAs<access::Admin>,
    kind: Credential,
    id: i64,
    verify: bool,
    reason: Option<String>,
) -> ApiResult<web::Json<DecidedOut>> {
    let admin = caller.who;
    let state = app_state(req);
    let r = reason.clone();
    let mail = state.mail.clone();
    with_conn(&state.pool, move |conn| {
        admin::decide(conn, &mail, &admin, kind, id, verify, r.as_deref())
    })
    .await?;
    Ok(web::Json(DecidedOut {
        id,
        status: if verify {
            CredentialStatus::Verified
        } else {
            CredentialStatus::Rejected
        }
        .as_str()
        .into(),
        rejection_reason: if verify {
            None
        } else {
            reason.map(|r| r.trim().to_string())
        },
    }))
}

/// A verification queue: `licenses` or `training` (the routes accept no other segment).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Queue {
    Licenses,
    Training,
}

impl From<Queue> for Credential {
    fn from(q: Queue) -> Self {
        match q {
            Queue::Licenses => Credential::License,
            Queue::Training => Credential::Training,
        }
    }
}

/// `POST /api/v1/admin/{licenses|training}/{id}/verify`.
#[utoipa::path(post, path = "/api/v1/admin/{queue}/{id}/verify", tag = "admin",
    params(("queue" = inline(Queue), Path, description = "`licenses` or `training`: the queue the credential is in"),
           ("id" = i64, Path, description = "The license's or training record's id")),
    responses((status = 200, body = DecidedOut), (status = 401), (status = 403), (status = 404),
              (status = 409, description = "already_decided")))]
pub async fn credential_verify(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
    path: web::Path<(Queue, i64)>,
) -> ApiResult<web::Json<DecidedOut>> {
    let (queue, id) = path.into_inner();
    decide(&req, caller, queue.into(), id, true, None).await
}

/// `POST /api/v1/admin/{licenses|training}/{id}/reject`.
#[utoipa::path(post, path = "/api/v1/admin/{queue}/{id}/reject", tag = "admin", request_body = ReasonBody,
    params(("queue" = inline(Queue), Path, description = "`licenses` or `training`: the queue the credential is in"),
           ("id" = i64, Path, description = "The license's or training record's id")),
    responses((status = 200, body = DecidedOut), (status = 401), (status = 403), (status = 404),
              (status = 409, description = "already_decided"), (status = 422, description = "reason missing")))]
pub async fn credential_reject(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
    path: web::Path<(Queue, i64)>,
    body: web::Json<ReasonBody>,
) -> ApiResult<web::Json<DecidedOut>> {
    let (queue, id) = path.into_inner();
    let reason = Some(body.into_inner().reason.unwrap_or_default());
    decide(&req, caller, queue.into(), id, false, reason).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringLicenseOut {
    pub id: i64,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub therapist_email: String,
    pub jurisdiction: String,
    pub number: String,
    pub issuing_body: String,
    pub expires_on: NaiveDate,
    /// Days from today (0 = expires today, still valid today).
    pub days_left: i64,
}

#[utoipa::path(get, path = "/api/v1/admin/licenses/expiring", tag = "admin",
    params(("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, description = "{total, page, per_page, results: [ExpiringLicenseOut]}: verified licenses expiring in the next 30 days, not yet renewed, soonest first"),
              (status = 401), (status = 403)))]
pub async fn expiring(
    req: HttpRequest,
    _admin: ApiAs<access::Admin>,
    q: web::Query<PageQuery>,
) -> ApiResult<web::Json<ListOut<ExpiringLicenseOut>>> {
    let Page { page, per_page } = paging(&q)?;
    let state = app_state(&req);
    let (total, items) = with_conn(&state.pool, move |conn| {
        admin::expiring_licenses(conn, page, per_page)
    })
    .await?;
    let today = chrono::Utc::now().date_naive();
    let results = items
        .into_iter()
        .map(|e| ExpiringLicenseOut {
            id: e.license.id,
            therapist_id: e.license.therapist_id,
            therapist_name: e.therapist_name,
            therapist_email: e.therapist_email,
            jurisdiction: e.license.jurisdiction,
            number: e.license.number,
            issuing_body: e.license.issuing_body,
            days_left: (e.license.expires_on - today).num_days(),
            expires_on: e.license.expires_on,
        })
        .collect();
    Ok(web::Json(ListOut {
        total,
        page,
        per_page,
        results,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardOut {
    pub pending_licenses: i64,
    pub pending_training: i64,
    pub expiring_licenses: i64,
    /// Requested bookings flagged by screening, not yet acknowledged by the therapist.
    pub flagged_bookings: i64,
    pub new_therapists_this_week: i64,
}

#[utoipa::path(get, path = "/api/v1/admin/dashboard", tag = "admin",
    responses((status = 200, body = DashboardOut), (status = 401), (status = 403)))]
pub async fn dashboard(
    req: HttpRequest,
    _admin: ApiAs<access::Admin>,
) -> ApiResult<web::Json<DashboardOut>> {
    let state = app_state(&req);
    let d = with_conn(&state.pool, admin::dashboard).await?;
    Ok(web::Json(DashboardOut {
        pending_licenses: d.pending_licenses,
        pending_training: d.pending_training,
        expiring_licenses: d.expiring_licenses,
        flagged_bookings: d.flagged_bookings,
        new_therapists_this_week: d.new_therapists_this_week,
    }))
}

// ---- Charts --------------------------------------------------------------------------------

/// A weekly series of counts (weeks run Monday to Sunday, UTC).
#[derive(Debug, Serialize, ToSchema)]
pub struct WeeklyCountsOut {
    pub weeks: Vec<WeekCountOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WeekCountOut {
    /// The Monday the week starts on.
    pub week_start: NaiveDate,
    pub count: i64,
}

fn weekly_counts(weeks: Vec<crate::domain::stats::WeekValue>) -> WeeklyCountsOut {
    WeeklyCountsOut {
        weeks: weeks
            .into_iter()
            .map(|w| WeekCountOut {
                week_start: w.week_start,
                count: w.value,
            })
            .collect(),
    }
}

/// Bookings per week by the day they take place: the 8 weeks before the current one, the current
/// one and the 3 after it; cancelled and declined ones are not counted.
#[utoipa::path(get, path = "/api/v1/admin/stats/bookings", tag = "admin",
    responses((status = 200, body = WeeklyCountsOut), (status = 401), (status = 403)))]
pub async fn stats_bookings(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
) -> ApiResult<web::Json<WeeklyCountsOut>> {
    let me = caller.who;
    let state = app_state(&req);
    let today = chrono::Utc::now().date_naive();
    let weeks = with_conn(&state.pool, move |conn| {
        stats::bookings_per_week(conn, &me, today)
    })
    .await?;
    Ok(web::Json(weekly_counts(weeks)))
}

/// Verified licenses expiring per week without a renewal, from today for 12 weeks.
#[utoipa::path(get, path = "/api/v1/admin/stats/expiring", tag = "admin",
    responses((status = 200, body = WeeklyCountsOut), (status = 401), (status = 403)))]
pub async fn stats_expiring(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
) -> ApiResult<web::Json<WeeklyCountsOut>> {
    let me = caller.who;
    let state = app_state(&req);
    let today = chrono::Utc::now().date_naive();
    let weeks = with_conn(&state.pool, move |conn| {
        stats::licenses_expiring_per_week(conn, &me, today)
    })
    .await?;
    Ok(web::Json(weekly_counts(weeks)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueAgeOut {
    /// Licenses and training records waiting for verification, by how long they have waited.
    pub groups: Vec<crate::domain::stats::AgeGroup>,
}

#[utoipa::path(get, path = "/api/v1/admin/stats/queue-age", tag = "admin",
    responses((status = 200, body = QueueAgeOut), (status = 401), (status = 403)))]
pub async fn stats_queue_age(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
) -> ApiResult<web::Json<QueueAgeOut>> {
    let me = caller.who;
    let state = app_state(&req);
    let groups = with_conn(&state.pool, move |conn| {
        stats::queue_age(conn, &me, crate::models::now())
    })
    .await?;
    Ok(web::Json(QueueAgeOut { groups }))
}

// ---- Therapists ----------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct TherapistsQuery {
    pub q: Option<String>,
    #[serde(flatten)]
    pub paging: PageQuery,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTherapistOut {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub city: Option<String>,
    pub suspended: bool,
    pub license_verified_until: Option<NaiveDate>,
    pub verified_hours: i32,
    /// RFC 3339, UTC.
    pub created_at: String,
}

#[utoipa::path(get, path = "/api/v1/admin/therapists", tag = "admin",
    params(("q" = Option<String>, Query, description = "part of the name or email"),
           ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, description = "{total, page, per_page, results: [AdminTherapistOut]}, newest first"),
              (status = 401), (status = 403)))]
pub async fn therapists(
    req: HttpRequest,
    _admin: ApiAs<access::Admin>,
    q: web::Query<TherapistsQuery>,
) -> ApiResult<web::Json<ListOut<AdminTherapistOut>>> {
    let Page { page, per_page } = paging(&q.paging)?;
    let text = q.into_inner().q;
    let state = app_state(&req);
    let (total, rows) = with_conn(&state.pool, move |conn| {
        admin::find_therapists(conn, text.as_deref(), page, per_page)
    })
    .await?;
    let results = rows
        .into_iter()
        .map(|r| AdminTherapistOut {
            id: r.therapist_id,
            user_id: r.user_id,
            name: r.name,
            email: r.email,
            city: match (r.city, r.region) {
                (Some(c), Some(reg)) => Some(format!("{c}, {reg}")),
                (c, _) => c,
            },
            suspended: r.suspended_at.is_some(),
            license_verified_until: r.license_verified_until,
            verified_hours: r.verified_hours,
            created_at: rfc3339(r.created_at),
        })
        .collect();
    Ok(web::Json(ListOut {
        total,
        page,
        per_page,
        results,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpcomingOut {
    pub id: i64,
    /// RFC 3339, UTC.
    pub starts_at: String,
    pub ends_at: String,
    pub status: String,
    pub technique: String,
    pub client_name: String,
    pub client_email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTherapistDetailOut {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub suspended: bool,
    pub suspended_at: Option<String>,
    pub suspended_reason: Option<String>,
    pub license_verified_until: Option<NaiveDate>,
    pub verified_hours: i32,
    pub licenses: Vec<crate::api::me::LicenseRecordOut>,
    pub training: Vec<crate::api::me::TrainingRecordOut>,
    /// Requested or confirmed appointments still to come.
    pub upcoming_appointments: Vec<UpcomingOut>,
}

#[utoipa::path(get, path = "/api/v1/admin/therapists/{id}", tag = "admin",
    responses((status = 200, body = AdminTherapistDetailOut), (status = 401), (status = 403), (status = 404)))]
pub async fn therapist(
    req: HttpRequest,
    _admin: ApiAs<access::Admin>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<AdminTherapistDetailOut>> {
    let id = id.into_inner();
    let state = app_state(&req);
    let d = with_conn(&state.pool, move |conn| admin::therapist_detail(conn, id)).await?;
    let today = chrono::Utc::now().date_naive();
    let t = d.therapist;
    Ok(web::Json(AdminTherapistDetailOut {
        id: t.id,
        user_id: t.user_id,
        name: d.name,
        email: d.email,
        suspended: t.suspended_at.is_some(),
        suspended_at: t.suspended_at.map(rfc3339),
        suspended_reason: t.suspended_reason,
        license_verified_until: t.license_verified_until,
        verified_hours: t.verified_hours,
        licenses: d
            .licenses
            .into_iter()
            .map(|l| crate::api::me::LicenseRecordOut {
                status: l.license_status(today).as_str().to_string(),
                id: l.id,
                jurisdiction: l.jurisdiction,
                number: l.number,
                issuing_body: l.issuing_body,
                expires_on: l.expires_on,
                rejection_reason: l.rejection_reason,
            })
            .collect(),
        training: d
            .training
            .into_iter()
            .map(|t| crate::api::me::TrainingRecordOut {
                id: t.id,
                program: t.program,
                hours: t.hours,
                completed_on: t.completed_on,
                status: t.status,
                rejection_reason: t.rejection_reason,
            })
            .collect(),
        upcoming_appointments: d
            .upcoming
            .into_iter()
            .map(|a| UpcomingOut {
                id: a.id,
                starts_at: rfc3339(a.starts_at),
                ends_at: rfc3339(a.ends_at),
                status: a.status.as_str().into(),
                technique: a.technique_slug,
                client_name: a.client_name,
                client_email: a.client_email,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StandingOut {
    pub therapist_id: i64,
    pub suspended: bool,
    /// RFC 3339, UTC.
    pub suspended_at: Option<String>,
    pub suspended_reason: Option<String>,
    /// Requested or confirmed appointments still to come, for the admin to handle.
    pub upcoming_appointments: usize,
}

impl From<Standing> for StandingOut {
    fn from(s: Standing) -> Self {
        StandingOut {
            therapist_id: s.therapist_id,
            suspended: s.suspended_at.is_some(),
            suspended_at: s.suspended_at.map(rfc3339),
            suspended_reason: s.suspended_reason,
            upcoming_appointments: s.upcoming_appointments,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/admin/therapists/{id}/suspend", tag = "admin", request_body = ReasonBody,
    responses((status = 200, body = StandingOut), (status = 401), (status = 403), (status = 404),
              (status = 409, description = "already_suspended"), (status = 422, description = "reason missing")))]
pub async fn suspend(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
    id: web::Path<i64>,
    body: web::Json<ReasonBody>,
) -> ApiResult<web::Json<StandingOut>> {
    let admin = caller.who;
    let (id, reason) = (id.into_inner(), body.into_inner().reason);
    let state = app_state(&req);
    let mail = state.mail.clone();
    let s = with_conn(&state.pool, move |conn| {
        admin::suspend(conn, &mail, &admin, id, reason.as_deref())
    })
    .await?;
    Ok(web::Json(s.into()))
}

#[utoipa::path(post, path = "/api/v1/admin/therapists/{id}/reinstate", tag = "admin", request_body = ReasonBody,
    responses((status = 200, body = StandingOut), (status = 401), (status = 403), (status = 404),
              (status = 409, description = "not_suspended"), (status = 422, description = "reason missing")))]
pub async fn reinstate(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
    id: web::Path<i64>,
    body: web::Json<ReasonBody>,
) -> ApiResult<web::Json<StandingOut>> {
    let admin = caller.who;
    let (id, reason) = (id.into_inner(), body.into_inner().reason);
    let state = app_state(&req);
    let mail = state.mail.clone();
    let s = with_conn(&state.pool, move |conn| {
        admin::reinstate(conn, &mail, &admin, id, reason.as_deref())
    })
    .await?;
    Ok(web::Json(s.into()))
}

/// What cancelling a therapist's upcoming bookings did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelledUpcomingOut {
    pub cancelled: usize,
    /// Bookings that started or changed meanwhile, left as they are.
    pub skipped: usize,
}

#[utoipa::path(post, path = "/api/v1/admin/therapists/{id}/cancel-upcoming", tag = "admin", request_body = ReasonBody,
    responses((status = 200, body = CancelledUpcomingOut, description = "every upcoming booking of the therapist cancelled with the reason, each client mailed"),
              (status = 401), (status = 403), (status = 404), (status = 422, description = "reason missing")))]
pub async fn cancel_upcoming(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
    id: web::Path<i64>,
    body: web::Json<ReasonBody>,
) -> ApiResult<web::Json<CancelledUpcomingOut>> {
    let admin = caller.who;
    let (id, reason) = (id.into_inner(), body.into_inner().reason);
    let state = app_state(&req);
    let mail = state.mail.clone();
    let c = with_conn(&state.pool, move |conn| {
        admin::cancel_upcoming(conn, &mail, &admin, id, None, reason.as_deref())
    })
    .await?;
    Ok(web::Json(CancelledUpcomingOut {
        cancelled: c.cancelled,
        skipped: c.skipped,
    }))
}

// ---- Flagged bookings ----------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct FlaggedBookingOut {
    pub id: i64,
    pub therapist_id: i64,
    pub therapist_name: String,
    /// RFC 3339, UTC.
    pub starts_at: String,
    /// `caution` or `needs_clearance` (the outcome alone, never the answers).
    pub screening_outcome: String,
    pub requested_at: String,
}

#[utoipa::path(get, path = "/api/v1/admin/bookings/flagged", tag = "admin",
    params(("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, description = "{total, page, per_page, results: [FlaggedBookingOut]}: requested bookings flagged by screening that the therapist has not acknowledged, oldest first"),
              (status = 401), (status = 403)))]
pub async fn flagged(
    req: HttpRequest,
    _admin: ApiAs<access::Admin>,
    q: web::Query<PageQuery>,
) -> ApiResult<web::Json<ListOut<FlaggedBookingOut>>> {
    let Page { page, per_page } = paging(&q)?;
    let state = app_state(&req);
    let (total, rows) = with_conn(&state.pool, move |conn| {
        admin::flagged_bookings(conn, page, per_page)
    })
    .await?;
    let results = rows
        .into_iter()
        .map(|b| FlaggedBookingOut {
            id: b.id,
            therapist_id: b.therapist_id,
            therapist_name: b.therapist_name,
            starts_at: rfc3339(b.starts_at),
            screening_outcome: b.screening_outcome,
            requested_at: rfc3339(b.created_at),
        })
        .collect();
    Ok(web::Json(ListOut {
        total,
        page,
        per_page,
        results,
    }))
}

// ---- Outbox --------------------------------------------------------------------------------

/// A mail in the outbox, never its body.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxOut {
    pub id: i64,
    /// The recipient's address.
    pub to: String,
    /// What it is about (`booking_confirmed`, `reminder`, ...).
    pub kind: String,
    /// `queued`, `sending`, `sent`, `failed`, `withdrawn` or `in_doubt` (its sending server
    /// stopped mid-transfer: it may have arrived; not sent again unless an admin asks).
    pub status: String,
    /// Sends tried so far.
    pub attempts: i32,
    /// The last failed send's error (or why it was withdrawn).
    pub last_error: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC: when a queued mail is next tried.
    pub send_after: String,
    pub sent_at: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "admin",
    params(("status" = Option<String>, Query, description = "queued (default: also those waiting for a retry), sending, sent, failed (given up), withdrawn or in_doubt (interrupted mid-send: may have arrived)"),
           ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, description = "{total, page, per_page, results: [OutboxOut]}, newest first; never a mail's body"),
              (status = 401), (status = 403), (status = 422)))]
pub async fn outbox(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
    q: web::Query<QueueQuery>,
) -> ApiResult<web::Json<ListOut<OutboxOut>>> {
    let status = outbox::parse_status(q.status.as_deref())?;
    let page = paging(&q.paging)?;
    let state = app_state(&req);
    let admin = caller.who;
    let (total, rows) = with_conn(&state.pool, move |conn| {
        outbox::lines(conn, &admin, status, page)
    })
    .await?;
    let results = rows
        .into_iter()
        .map(|r| OutboxOut {
            id: r.id,
            to: r.to_email,
            kind: r.kind,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: rfc3339(r.created_at),
            send_after: rfc3339(r.send_after),
            sent_at: r.sent_at.map(rfc3339),
        })
        .collect();
    Ok(web::Json(ListOut {
        total,
        page: page.page,
        per_page: page.per_page,
        results,
    }))
}

/// What sending a mail again did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentAgainOut {
    pub id: i64,
    /// The status it had: `failed` or `in_doubt`. It is `queued` now, due at once.
    pub was: String,
}

#[utoipa::path(post, path = "/api/v1/admin/outbox/{id}/send-again", tag = "admin",
    params(("id" = i64, Path, description = "the outbox row")),
    responses((status = 200, body = SentAgainOut, description = "queued again, due now, its tries counted afresh; an in-doubt mail may then arrive twice"),
              (status = 401), (status = 403), (status = 404),
              (status = 409, description = "not_failed_or_in_doubt: only a failed or in-doubt mail can be sent again")))]
pub async fn outbox_send_again(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<SentAgainOut>> {
    let admin = caller.who;
    let id = id.into_inner();
    let state = app_state(&req);
    let was = with_conn(&state.pool, move |conn| {
        outbox::send_again(conn, &admin, id)
    })
    .await?;
    Ok(web::Json(SentAgainOut {
        id,
        was: was.as_str().to_string(),
    }))
}

// ---- Admins --------------------------------------------------------------------------------

/// An invitation: the invitee sets their own password from the mailed link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminBody {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
}

#[utoipa::path(get, path = "/api/v1/admin/admins", tag = "admin",
    responses((status = 200, body = [UserOut], description = "every admin, oldest first; `email_verified` false: invited, not accepted yet"), (status = 401), (status = 403)))]
pub async fn admins(
    req: HttpRequest,
    _admin: ApiAs<access::Admin>,
) -> ApiResult<web::Json<Vec<UserOut>>> {
    let state = app_state(&req);
    let list = with_conn(&state.pool, admin::admins).await?;
    Ok(web::Json(list.iter().map(UserOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/admin/admins", tag = "admin", request_body = AdminBody,
    responses((status = 201, body = UserOut, description = "invited: the account exists without a password (`email_verified` false) and the invitee is mailed a link (`/accept-invite?token=...`, 7 days, once) to set theirs; audited as account.invite"),
              (status = 400, description = "bad_request: an unknown field (there is no password: the invitee chooses it)"),
              (status = 401), (status = 403),
              (status = 409, description = "email_taken"), (status = 422, description = "validation_failed")))]
pub async fn invite_admin(
    req: HttpRequest,
    caller: ApiAs<access::Admin>,
    body: web::Json<AdminBody>,
) -> ApiResult<HttpResponse> {
    let admin = caller.who;
    let b = body.into_inner();
    let state = app_state(&req);
    let mail = state.mail.clone();
    let user = with_conn(&state.pool, move |conn| {
        admin::invite_admin(conn, &mail, &admin, &b.email, &b.name)
    })
    .await?;
    Ok(HttpResponse::Created().json(UserOut::from(&user)))
}

// ---- Audit log -----------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    pub actor_user_id: Option<i64>,
    pub actor_email: Option<String>,
    /// The actor's name and role, while they are on file.
    pub actor_name: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    /// What a person reads for the action ("License verified").
    pub action_label: String,
    pub object_type: String,
    /// What a person reads for the object type ("Training record").
    pub object_type_label: String,
    pub object_id: Option<i64>,
    pub summary: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin",
    params(("actor" = Option<String>, Query, description = "user id or email"),
           ("action" = Option<String>, Query, description = "action prefix, e.g. license., or an action's label, e.g. License verified"),
           ("object_type" = Option<String>, Query, description = "e.g. training_record, or its label, Training record"), ("object_id" = Option<i64>, Query),
           ("from" = Option<String>, Query, description = "YYYY-MM-DD, inclusive (UTC)"),
           ("to" = Option<String>, Query, description = "YYYY-MM-DD, inclusive (UTC)"),
           ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "at most 100")),
    responses((status = 200, description = "{total, page, per_page, results: [AuditOut]}, newest first"),
              (status = 401), (status = 403), (status = 422, description = "bad filters, with fields")))]
pub async fn audit(
    req: HttpRequest,
    _admin: ApiAs<access::Admin>,
    q: web::Query<AuditQuery>,
) -> ApiResult<web::Json<ListOut<AuditOut>>> {
    let search = q.parse()?;
    let (page, per_page) = (search.page, search.per_page);
    let state = app_state(&req);
    let (total, rows) = with_conn(&state.pool, move |conn| admin::audit_log(conn, &search)).await?;
    let results = rows
        .into_iter()
        .map(|(e, actor)| AuditOut {
            id: e.id,
            actor_user_id: e.actor_user_id,
            actor_email: actor.as_ref().map(|p| p.email.clone()),
            actor_name: actor.as_ref().map(|p| p.name.clone()),
            actor_role: actor.map(|p| p.role),
            action_label: audit_words::action_label(&e.action).to_string(),
            object_type_label: audit_words::object_type_label(&e.object_type).to_string(),
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            summary: e.summary,
            created_at: rfc3339(e.created_at),
        })
        .collect();
    Ok(web::Json(ListOut {
        total,
        page,
        per_page,
        results,
    }))
}
