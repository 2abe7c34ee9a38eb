//! The admin area: dashboard counts, the verification queues and their decisions, expiring
//! licenses, therapists' standing (suspend, reinstate), flagged bookings, admins, the audit log.
//! Every change writes an audit row in the same transaction.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::schema::{appointments, licenses, services, therapists, training_records, users};
use crate::db::{lower, write_transaction, Backend, DbConnection};
use crate::domain::account::{Email, Role};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::audit as audit_words;
use crate::domain::credential::CredentialStatus;
use crate::domain::paging::Page;
use crate::domain::screening::Outcome;
use crate::error::{AppError, FieldErrors};
use crate::models::audit::{self, AuditEntry, AuditFilter, AuditRow};
use crate::models::credential::{
    self, ExpiringLicense, License, LicenseQueueItem, TrainingQueueItem, TrainingRecord,
};
use crate::models::now;
use crate::models::therapist::Therapist;
use crate::models::user::{people, Person, User};
use crate::services::access::{Admin, Proof};
use crate::services::mail::{
    render_credential, render_standing, CredentialEvent, CredentialMail, MailCtx, StandingEvent,
    StandingMail,
};
use crate::services::outbox::{self, Outgoing};
use crate::services::profile::refresh_summary;
use crate::services::{accounts, booking};

pub use crate::domain::credential::EXPIRY_WARNING_DAYS;

/// The longest reason an admin can give.
pub const REASON_MAX_CHARS: usize = 500;

fn offset(page: i64, per_page: i64) -> i64 {
    (page.max(1) - 1).saturating_mul(per_page)
}

/// What a missing or too long reason says, per decision.
pub const REJECT_REASON_MESSAGE: &str = "Give the therapist a reason (up to 500 characters).";
pub const SUSPEND_REASON_MESSAGE: &str =
    "Say why the therapist is suspended (up to 500 characters).";
pub const REINSTATE_REASON_MESSAGE: &str =
    "Say why the therapist is reinstated (up to 500 characters).";

/// A reason (1 to 500 characters once trimmed), or the field error `message` on `reason`.
pub fn parse_reason(reason: Option<&str>, message: &str) -> Result<String, AppError> {
    match reason.map(str::trim) {
        Some(r) if !r.is_empty() && r.chars().count() <= REASON_MAX_CHARS => Ok(r.to_string()),
        _ => Err(AppError::field("reason", message)),
    }
}

// ---- Dashboard -----------------------------------------------------------------------------

pub struct AdminDashboard {
    pub pending_licenses: i64,
    pub pending_training: i64,
    pub expiring_licenses: i64,
    pub flagged_bookings: i64,
    pub new_therapists_this_week: i64,
}

pub fn dashboard(conn: &mut DbConnection) -> Result<AdminDashboard, AppError> {
    let (pending_licenses, pending_training) = credential::count_pending(conn)?;
    let today = Utc::now().date_naive();
    let expiring_licenses =
        credential::count_expiring(conn, today, today + Duration::days(EXPIRY_WARNING_DAYS))?;
    let flagged_bookings = flagged_query().count().get_result(conn)?;
    let new_therapists_this_week = therapists::table
        .filter(therapists::created_at.gt(now() - Duration::days(7)))
        .count()
        .get_result(conn)?;
    Ok(AdminDashboard {
        pending_licenses,
        pending_training,
        expiring_licenses,
        flagged_bookings,
        new_therapists_this_week,
    })
}

// ---- Queues --------------------------------------------------------------------------------

/// Statuses a queue can be filtered by.
pub fn parse_status(s: Option<&str>) -> Result<CredentialStatus, AppError> {
    match s {
        None => Ok(CredentialStatus::Submitted),
        Some(s) => CredentialStatus::parse(s)
            .ok_or_else(|| AppError::field("status", "Use submitted, verified or rejected.")),
    }
}

/// An earlier decision on one of the therapist's credentials.
#[derive(Debug, Clone)]
pub struct Decision {
    /// `license` or `training`.
    pub kind: &'static str,
    pub id: i64,
    /// What was decided on, in a few words.
    pub what: String,
    pub status: String,
    pub decided_at: Option<NaiveDateTime>,
    /// The admin who decided (user id), and their name and role ("Ada Admin (admin)") while
    /// they are on file.
    pub decided_by: Option<i64>,
    pub decided_by_name: Option<String>,
    pub rejection_reason: Option<String>,
}

/// A queue entry with the therapist's earlier decisions (newest first).
#[derive(Debug, Clone)]
pub struct Queued<T> {
    pub item: T,
    pub history: Vec<Decision>,
}

/// The decided credentials of these therapists, by therapist, newest decision first.
fn histories(
    conn: &mut DbConnection,
    therapist_ids: &[i64],
) -> Result<HashMap<i64, Vec<Decision>>, AppError> {
    let mut out: HashMap<i64, Vec<Decision>> = HashMap::new();
    let licenses = credential::decided_licenses_of(conn, therapist_ids)?;
    let training = credential::decided_training_of(conn, therapist_ids)?;
    let deciders: Vec<i64> = licenses
        .iter()
        .filter_map(|l| l.decided_by)
        .chain(training.iter().filter_map(|t| t.decided_by))
        .collect();
    let people = people(conn, &deciders)?;
    let name_of = |id: Option<i64>| id.and_then(|id| people.get(&id)).map(Person::label);
    for l in licenses {
        out.entry(l.therapist_id).or_default().push(Decision {
            kind: "license",
            id: l.id,
            what: format!(
                "License {} ({}, {}), expires {}",
                l.number, l.jurisdiction, l.issuing_body, l.expires_on
            ),
            status: l.status,
            decided_at: l.decided_at,
            decided_by: l.decided_by,
            decided_by_name: name_of(l.decided_by),
            rejection_reason: l.rejection_reason,
        });
    }
    for t in training {
        out.entry(t.therapist_id).or_default().push(Decision {
            kind: "training",
            id: t.id,
            what: format!("Training: {}, {} hours", t.program, t.hours),
            status: t.status,
            decided_at: t.decided_at,
            decided_by: t.decided_by,
            decided_by_name: name_of(t.decided_by),
            rejection_reason: t.rejection_reason,
        });
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| b.decided_at.cmp(&a.decided_at).then(b.id.cmp(&a.id)));
    }
    Ok(out)
}

fn with_history<T>(
    conn: &mut DbConnection,
    items: Vec<T>,
    therapist_of: impl Fn(&T) -> i64,
) -> Result<Vec<Queued<T>>, AppError> {
    let mut ids: Vec<i64> = items.iter().map(&therapist_of).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut h = histories(conn, &ids)?;
    Ok(items
        .into_iter()
        .map(|item| {
            let history = h.get_mut(&therapist_of(&item)).map(std::mem::take);
            Queued {
                item,
                history: history.unwrap_or_default(),
            }
        })
        .collect::<Vec<_>>())
}

/// Licenses with `status`, oldest submission first, each with the therapist's history.
pub fn license_queue(
    conn: &mut DbConnection,
    status: CredentialStatus,
    page: i64,
    per_page: i64,
) -> Result<(i64, Vec<Queued<LicenseQueueItem>>), AppError> {
    let (total, items) = credential::license_queue(conn, status, offset(page, per_page), per_page)?;
    let mut queued = with_history(conn, items, |i| i.license.therapist_id)?;
    // A therapist with two items in the queue: each shows the decisions, none twice empty.
    fill_shared_history(&mut queued, |i| i.license.therapist_id);
    Ok((total, queued))
}

/// Training records with `status`, oldest submission first, each with the therapist's history.
pub fn training_queue(
    conn: &mut DbConnection,
    status: CredentialStatus,
    page: i64,
    per_page: i64,
) -> Result<(i64, Vec<Queued<TrainingQueueItem>>), AppError> {
    let (total, items) =
        credential::training_queue(conn, status, offset(page, per_page), per_page)?;
    let mut queued = with_history(conn, items, |i| i.record.therapist_id)?;
    fill_shared_history(&mut queued, |i| i.record.therapist_id);
    Ok((total, queued))
}

/// `with_history` hands each therapist's history to their first item; later items of the
/// same therapist get a copy.
fn fill_shared_history<T>(queued: &mut [Queued<T>], therapist_of: impl Fn(&T) -> i64) {
    let mut seen: HashMap<i64, Vec<Decision>> = HashMap::new();
    for q in queued.iter_mut() {
        let t = therapist_of(&q.item);
        match seen.get(&t) {
            Some(h) if q.history.is_empty() => q.history = h.clone(),
            Some(_) => {}
            None => {
                seen.insert(t, q.history.clone());
            }
        }
    }
}

/// Verified licenses expiring within [`EXPIRY_WARNING_DAYS`] whose therapist has not had a
/// later one verified, soonest first.
pub fn expiring_licenses(
    conn: &mut DbConnection,
    page: i64,
    per_page: i64,
) -> Result<(i64, Vec<ExpiringLicense>), AppError> {
    let today = Utc::now().date_naive();
    Ok(credential::expiring(
        conn,
        today,
        today + Duration::days(EXPIRY_WARNING_DAYS),
        offset(page, per_page),
        per_page,
    )?)
}

// ---- Therapists' standing ------------------------------------------------------------------

/// A therapist as the admin list shows them.
#[derive(Debug, Clone, Queryable)]
pub struct TherapistRow {
    pub therapist_id: i64,
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub city: Option<String>,
    pub region: Option<String>,
    pub suspended_at: Option<NaiveDateTime>,
    pub license_verified_until: Option<NaiveDate>,
    pub verified_hours: i32,
    pub created_at: NaiveDateTime,
}

type TherapistsWithUsers = diesel::dsl::InnerJoin<therapists::table, users::table>;

fn therapists_matching(
    q: Option<&str>,
) -> diesel::dsl::IntoBoxed<'static, TherapistsWithUsers, Backend> {
    let mut query = therapists::table.inner_join(users::table).into_boxed();
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        query = query.filter(
            lower(users::name)
                .like(pattern.clone())
                .escape('\\')
                .or(users::email.like(pattern).escape('\\')),
        );
    }
    query
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Therapists whose name or email contains `q` (any letter case), newest first.
pub fn find_therapists(
    conn: &mut DbConnection,
    q: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<(i64, Vec<TherapistRow>), AppError> {
    if q.is_some_and(|q| q.chars().count() > 200) {
        return Err(AppError::field("q", "Search with at most 200 characters."));
    }
    let total = therapists_matching(q).count().get_result(conn)?;
    let rows = therapists_matching(q)
        .order((therapists::created_at.desc(), therapists::id.desc()))
        .offset(offset(page, per_page))
        .limit(per_page)
        .select((
            therapists::id,
            users::id,
            users::name,
            users::email,
            therapists::city,
            therapists::region,
            therapists::suspended_at,
            therapists::license_verified_until,
            therapists::verified_hours,
            therapists::created_at,
        ))
        .load::<TherapistRow>(conn)?;
    Ok((total, rows))
}

/// An active (requested or confirmed) appointment still to come.
#[derive(Debug, Clone, Queryable)]
pub struct UpcomingAppointment {
    pub id: i64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    #[diesel(deserialize_as = String)]
    pub status: AppointmentStatus,
    pub technique_slug: String,
    pub client_name: String,
    pub client_email: String,
}

fn upcoming_of(
    conn: &mut DbConnection,
    therapist_id: i64,
) -> Result<Vec<UpcomingAppointment>, AppError> {
    Ok(appointments::table
        .inner_join(services::table)
        .inner_join(users::table.on(users::id.eq(appointments::client_id)))
        .filter(appointments::therapist_id.eq(therapist_id))
        .filter(appointments::status.eq_any(AppointmentStatus::active_strs()))
        .filter(appointments::starts_at.gt(now()))
        .order((appointments::starts_at.asc(), appointments::id.asc()))
        .select((
            appointments::id,
            appointments::starts_at,
            appointments::ends_at,
            appointments::status,
            services::technique_slug,
            users::name,
            users::email,
        ))
        .load(conn)?)
}

/// Everything the admin needs to judge a therapist's standing.
pub struct TherapistDetail {
    pub therapist: Therapist,
    pub name: String,
    pub email: String,
    pub licenses: Vec<License>,
    pub training: Vec<TrainingRecord>,
    /// Active appointments still to come: the admin handles them after a suspension.
    pub upcoming: Vec<UpcomingAppointment>,
    /// Suspensions and reinstatements, oldest first, each with the admin who made it.
    pub standing_history: Vec<AuditRow>,
}

pub fn therapist_detail(
    conn: &mut DbConnection,
    therapist_id: i64,
) -> Result<TherapistDetail, AppError> {
    let therapist = Therapist::find(conn, therapist_id)?;
    let user = User::find(conn, therapist.user_id)?;
    let licenses = credential::licenses_of(conn, therapist_id)?;
    let training = credential::training_of(conn, therapist_id)?;
    let upcoming = upcoming_of(conn, therapist_id)?;
    let standing: Vec<AuditEntry> = audit::for_object(conn, "therapist", therapist_id)?
        .into_iter()
        .filter(|e| e.action.starts_with("therapist."))
        .collect();
    let standing_history = audit::with_actors(conn, standing)?;
    Ok(TherapistDetail {
        therapist,
        name: user.name,
        email: user.email,
        licenses,
        training,
        upcoming,
        standing_history,
    })
}

/// A therapist's standing after a suspension or reinstatement.
#[derive(Debug, Clone)]
pub struct Standing {
    pub therapist_id: i64,
    pub suspended_at: Option<NaiveDateTime>,
    pub suspended_reason: Option<String>,
    /// Requested or confirmed appointments still to come (for the admin to handle).
    pub upcoming_appointments: usize,
}

/// The therapist's mail about their standing, in the change's transaction.
fn tell_standing(
    conn: &mut DbConnection,
    mail: &MailCtx,
    t: &Therapist,
    event: StandingEvent,
    reason: &str,
) -> Result<(), AppError> {
    let user = User::find(conn, t.user_id)?;
    let m = StandingMail {
        event,
        to_name: user.name.clone(),
        reason: reason.to_string(),
        link: match event {
            StandingEvent::Suspended => mail.link("/"),
            StandingEvent::Reinstated => mail.link("/therapist"),
        },
    };
    outbox::enqueue(
        conn,
        Outgoing {
            kind: event.kind(),
            to_email: user.email,
            user_id: Some(user.id),
            appointment_id: None,
            send_after: None,
            rendered: render_standing(mail, &m)?,
        },
    )?;
    Ok(())
}

/// Suspends a therapist: they leave search and their public profile at once, their page
/// sessions, API tokens and calendar feed end, they cannot log in until reinstated
/// (`account_suspended`), and they are mailed. Their upcoming appointments stay as they are; the
/// answer counts them for the admin to handle ([`cancel_upcoming`] mails each client).
pub fn suspend(
    conn: &mut DbConnection,
    mail: &MailCtx,
    admin: &Admin,
    therapist_id: i64,
    reason: Option<&str>,
) -> Result<Standing, AppError> {
    let admin_id = admin.id();
    let reason = parse_reason(reason, SUSPEND_REASON_MESSAGE)?;
    let now = now();
    write_transaction(conn, |conn| {
        let t = Therapist::find(conn, therapist_id)?;
        if t.suspended_at.is_some() {
            return Err(AppError::Conflict {
                code: "already_suspended",
                message: "This therapist is already suspended.".into(),
            });
        }
        diesel::update(therapists::table.find(therapist_id))
            .set((
                therapists::suspended_at.eq(Some(now)),
                therapists::suspended_reason.eq(Some(&reason)),
                therapists::updated_at.eq(now),
            ))
            .execute(conn)?;
        accounts::end_access_of_suspended(conn, &t, now)?;
        audit::record(
            conn,
            Some(admin_id),
            "therapist.suspend",
            "therapist",
            Some(therapist_id),
            &format!("therapist suspended: {reason}"),
        )?;
        tell_standing(conn, mail, &t, StandingEvent::Suspended, &reason)?;
        Ok(Standing {
            therapist_id,
            suspended_at: Some(now),
            suspended_reason: Some(reason),
            upcoming_appointments: upcoming_of(conn, therapist_id)?.len(),
        })
    })
}

/// Lifts a suspension; the reason goes to the audit log. It gives back only the right to log
/// in: the ended sessions, tokens and feed stay ended, cancelled bookings stay cancelled.
pub fn reinstate(
    conn: &mut DbConnection,
    mail: &MailCtx,
    admin: &Admin,
    therapist_id: i64,
    reason: Option<&str>,
) -> Result<Standing, AppError> {
    let admin_id = admin.id();
    let reason = parse_reason(reason, REINSTATE_REASON_MESSAGE)?;
    let now = now();
    write_transaction(conn, |conn| {
        let t = Therapist::find(conn, therapist_id)?;
        if t.suspended_at.is_none() {
            return Err(AppError::Conflict {
                code: "not_suspended",
                message: "This therapist is not suspended.".into(),
            });
        }
        diesel::update(therapists::table.find(therapist_id))
            .set((
                therapists::suspended_at.eq(None::<NaiveDateTime>),
                therapists::suspended_reason.eq(None::<String>),
                therapists::updated_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            Some(admin_id),
            "therapist.reinstate",
            "therapist",
            Some(therapist_id),
            &format!("therapist reinstated: {reason}"),
        )?;
        tell_standing(conn, mail, &t, StandingEvent::Reinstated, &reason)?;
        Ok(Standing {
            therapist_id,
            suspended_at: None,
            suspended_reason: None,
            upcoming_appointments: upcoming_of(conn, therapist_id)?.len(),
        })
    })
}

pub const CANCEL_REASON_MESSAGE: &str =
    "Tell the clients why their booking is cancelled (up to 500 characters).";

/// What an admin's cancellation of a therapist's upcoming bookings did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelledUpcoming {
    pub cancelled: usize,
    /// Bookings that started or changed meanwhile, left as they are.
    pub skipped: usize,
}

/// Cancels a therapist's upcoming bookings (the one `only` names, or all), typically a suspended
/// therapist's, with the admin's reason, which each client reads. Each goes through
/// `booking::cancel` (its own transaction: the status, the audit row and the client's
/// cancellation mail), so one that started or changed meanwhile is skipped, not half done.
pub fn cancel_upcoming(
    conn: &mut DbConnection,
    mail: &MailCtx,
    admin: &Admin,
    therapist_id: i64,
    only: Option<i64>,
    reason: Option<&str>,
) -> Result<CancelledUpcoming, AppError> {
    let reason = parse_reason(reason, CANCEL_REASON_MESSAGE)?;
    Therapist::find(conn, therapist_id)?;
    let mut ids: Vec<i64> = upcoming_of(conn, therapist_id)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    if let Some(id) = only {
        if !ids.contains(&id) {
            return Err(AppError::NotFound);
        }
        ids = vec![id];
    }
    let mut done = CancelledUpcoming {
        cancelled: 0,
        skipped: 0,
    };
    for id in ids {
        match booking::cancel(conn, mail, admin.user(), id, &reason) {
            Ok(_) => done.cancelled += 1,
            Err(AppError::Rule { .. } | AppError::Conflict { .. }) => done.skipped += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

// ---- Flagged bookings ----------------------------------------------------------------------

type FlaggedQuery = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<
            appointments::table,
            diesel::dsl::Eq<appointments::status, &'static str>,
        >,
        diesel::dsl::EqAny<appointments::screening_outcome, Vec<&'static str>>,
    >,
    diesel::dsl::IsNull<appointments::flags_acknowledged_at>,
>;

/// Requested bookings whose screening flagged something the therapist has not acknowledged:
/// `domain::appointment::awaiting_acknowledgement` in SQL.
fn flagged_query() -> FlaggedQuery {
    appointments::table
        .filter(appointments::status.eq(AppointmentStatus::Requested.as_str()))
        .filter(appointments::screening_outcome.eq_any(Outcome::flagged_strs()))
        .filter(appointments::flags_acknowledged_at.is_null())
}

/// A flagged booking as the admin sees it: that it was flagged, never why.
#[derive(Debug, Clone, Queryable)]
pub struct FlaggedBooking {
    pub id: i64,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub timezone: String,
    pub starts_at: NaiveDateTime,
    pub screening_outcome: String,
    pub created_at: NaiveDateTime,
}

/// Flagged bookings awaiting the therapist's acknowledgement, oldest request first.
pub fn flagged_bookings(
    conn: &mut DbConnection,
    page: i64,
    per_page: i64,
) -> Result<(i64, Vec<FlaggedBooking>), AppError> {
    let total = flagged_query().count().get_result(conn)?;
    let rows = flagged_query()
        .inner_join(therapists::table.inner_join(users::table))
        .order((appointments::created_at.asc(), appointments::id.asc()))
        .offset(offset(page, per_page))
        .limit(per_page)
        .select((
            appointments::id,
            appointments::therapist_id,
            users::name,
            therapists::timezone,
            appointments::starts_at,
            appointments::screening_outcome,
            appointments::created_at,
        ))
        .load(conn)?;
    Ok((total, rows))
}

// ---- Admins --------------------------------------------------------------------------------

/// An admin invites another admin by mail (admins never register themselves, and no admin
/// types another's password): see `accounts::invite_admin`. Audited as `account.invite`.
pub fn invite_admin(
    conn: &mut DbConnection,
    mail: &MailCtx,
    admin: &Admin,
    email: &str,
    name: &str,
) -> Result<User, AppError> {
    accounts::invite_admin(conn, mail, admin, email, name)
}

/// All admins, oldest first.
pub fn admins(conn: &mut DbConnection) -> Result<Vec<User>, AppError> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .order(users::id.asc())
        .select(User::as_select())
        .load(conn)?)
}

// ---- Audit log -----------------------------------------------------------------------------

/// The audit filters as typed (query string of the page or the API), unparsed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    /// A user id or an email.
    pub actor: Option<String>,
    /// An action prefix, for example `license.`, or an action's label (`License verified`,
    /// see `domain::audit::ACTIONS`).
    pub action: Option<String>,
    /// An object type (`training_record`) or its label (`Training record`).
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// `YYYY-MM-DD`, inclusive, UTC.
    pub from: Option<String>,
    /// `YYYY-MM-DD`, inclusive, UTC.
    pub to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

#[derive(Debug, Clone)]
enum Actor {
    Id(i64),
    Email(String),
}

/// Parsed audit filters with the page.
#[derive(Debug, Clone)]
pub struct AuditSearch {
    actor: Option<Actor>,
    filter: AuditFilter,
    pub page: i64,
    pub per_page: i64,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn is_code(s: &str) -> bool {
    s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

impl AuditQuery {
    /// Checks every filter; all problems at once, per field.
    pub fn parse(&self) -> Result<AuditSearch, AppError> {
        let mut errors = FieldErrors::new();
        let mut err = |f: &str, m: &str| {
            errors.insert(f.to_string(), m.to_string());
        };
        let actor = match blank(&self.actor) {
            None => None,
            Some(a) if a.chars().all(|c| c.is_ascii_digit()) => match a.parse::<i64>() {
                Ok(id) => Some(Actor::Id(id)),
                Err(_) => {
                    err("actor", "Give a user id or an email.");
                    None
                }
            },
            Some(a) if a.contains('@') => match Email::parse(a) {
                Ok(e) => Some(Actor::Email(e.as_str().to_string())),
                Err(m) => {
                    err("actor", &m);
                    None
                }
            },
            Some(_) => {
                err("actor", "Give a user id or an email.");
                None
            }
        };
        let action = blank(&self.action).map(|a| {
            audit_words::action_code(a).map_or_else(|| a.to_ascii_lowercase(), str::to_string)
        });
        if action.as_deref().is_some_and(|a| !is_code(a)) {
            err(
                "action",
                "Choose an action from the list (or give the start of one, such as license.).",
            );
        }
        let object_type = blank(&self.object_type).map(|t| {
            audit_words::object_type_code(t).map_or_else(|| t.to_ascii_lowercase(), str::to_string)
        });
        if object_type.as_deref().is_some_and(|a| !is_code(a)) {
            err(
                "object_type",
                "Choose a kind of record from the list, such as License or Training record.",
            );
        }
        let object_id = match blank(&self.object_id) {
            None => None,
            Some(s) => match s.parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    err("object_id", "Give a whole number.");
                    None
                }
            },
        };
        let mut date = |field: &str, v: &Option<String>| match blank(v) {
            None => None,
            Some(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    err(field, "Give a date as YYYY-MM-DD.");
                    None
                }
            },
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                err("to", "The end date is before the start date.");
            }
        }
        let Page { page, per_page } =
            Page::parse_into(self.page.as_deref(), self.per_page.as_deref(), &mut errors);
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        Ok(AuditSearch {
            actor,
            filter: AuditFilter {
                actor_user_id: None,
                action_prefix: action,
                object_type,
                object_id,
                from: from.and_then(|d| d.and_hms_opt(0, 0, 0)),
                until: to
                    .and_then(|d| d.succ_opt())
                    .and_then(|d| d.and_hms_opt(0, 0, 0)),
            },
            page,
            per_page,
        })
    }
}

/// A page of the audit log, newest first, each row with its actor's email.
pub fn audit_log(
    conn: &mut DbConnection,
    search: &AuditSearch,
) -> Result<(i64, Vec<AuditRow>), AppError> {
    let mut filter = search.filter.clone();
    match &search.actor {
        None => {}
        Some(Actor::Id(id)) => filter.actor_user_id = Some(*id),
        Some(Actor::Email(e)) => match User::find_by_email(conn, e)? {
            Some(u) => filter.actor_user_id = Some(u.id),
            None => return Ok((0, Vec::new())),
        },
    }
    Ok(audit::search(
        conn,
        &filter,
        offset(search.page, search.per_page),
        search.per_page,
    )?)
}

/// Records that `user`, logged in but not an admin, was refused an admin route (`method path`,
/// never a query string or a body). The refusal stands whether or not the record is written.
pub fn record_refusal(
    conn: &mut DbConnection,
    user: &User,
    method: &str,
    path: &str,
) -> Result<(), AppError> {
    let path: String = path.chars().take(200).collect();
    audit::record(
        conn,
        Some(user.id),
        "access.refused",
        "user",
        Some(user.id),
        &format!("A {} was refused {method} {path} (admins only)", user.role),
    )?;
    Ok(())
}

// ---- Decisions on credentials --------------------------------------------------------------

/// Which credential table a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    License,
    Training,
}

impl Credential {
    fn object(self) -> &'static str {
        match self {
            Credential::License => "license",
            Credential::Training => "training_record",
        }
    }
}

/// The therapist's mail about a decision on their credential (`reason`: a rejection's).
fn tell_decision(
    conn: &mut DbConnection,
    mail: &MailCtx,
    kind: Credential,
    id: i64,
    therapist_id: i64,
    reason: Option<&str>,
) -> Result<(), AppError> {
    let what = match kind {
        Credential::License => {
            let l: License = licenses::table
                .find(id)
                .select(License::as_select())
                .first(conn)?;
            format!("license {}", license_words(&l))
        }
        Credential::Training => {
            let t: TrainingRecord = training_records::table
                .find(id)
                .select(TrainingRecord::as_select())
                .first(conn)?;
            format!("training \"{}\", {} hours", t.program, t.hours)
        }
    };
    let t = Therapist::find(conn, therapist_id)?;
    let user = User::find(conn, t.user_id)?;
    let m = CredentialMail {
        event: if reason.is_some() {
            CredentialEvent::Rejected
        } else {
            CredentialEvent::Verified
        },
        to_name: user.name.clone(),
        what,
        reason: reason.map(str::to_string),
        expires_on: None,
        link: mail.link("/therapist/credentials"),
    };
    outbox::enqueue(
        conn,
        Outgoing {
            kind: m.event.kind(),
            to_email: user.email,
            user_id: Some(user.id),
            appointment_id: None,
            send_after: None,
            rendered: render_credential(mail, &m)?,
        },
    )?;
    Ok(())
}

/// Verifies, or rejects with a reason the therapist sees, a submitted credential. Records who
/// and when, refreshes the therapist's badges, mails the therapist, and writes the audit row.
pub fn decide(
    conn: &mut DbConnection,
    mail: &MailCtx,
    admin: &Admin,
    kind: Credential,
    id: i64,
    verify: bool,
    reason: Option<&str>,
) -> Result<(), AppError> {
    let admin_id = admin.id();
    let reason = if verify {
        None
    } else {
        Some(parse_reason(reason, REJECT_REASON_MESSAGE)?)
    };
    let status = if verify {
        CredentialStatus::Verified
    } else {
        CredentialStatus::Rejected
    };
    let now = now();
    write_transaction(conn, |conn| {
        let (therapist_id, current): (i64, String) = match kind {
            Credential::License => licenses::table
                .find(id)
                .select((licenses::therapist_id, licenses::status))
                .first(conn)?,
            Credential::Training => training_records::table
                .find(id)
                .select((training_records::therapist_id, training_records::status))
                .first(conn)?,
        };
        if CredentialStatus::parse(&current) != Some(CredentialStatus::Submitted) {
            return Err(AppError::Conflict {
                code: "already_decided",
                message: format!(
                    "This {} was already {current}.",
                    kind.object().replace('_', " ")
                ),
            });
        }
        match kind {
            Credential::License => diesel::update(licenses::table.find(id))
                .set((
                    licenses::status.eq(status.as_str()),
                    licenses::decided_by.eq(admin_id),
                    licenses::decided_at.eq(now),
                    licenses::rejection_reason.eq(&reason),
                ))
                .execute(conn)?,
            Credential::Training => diesel::update(training_records::table.find(id))
                .set((
                    training_records::status.eq(status.as_str()),
                    training_records::decided_by.eq(admin_id),
                    training_records::decided_at.eq(now),
                    training_records::rejection_reason.eq(&reason),
                ))
                .execute(conn)?,
        };
        refresh_summary(conn, therapist_id)?;
        tell_decision(conn, mail, kind, id, therapist_id, reason.as_deref())?;
        let summary = match &reason {
            None => format!("{} {status}", kind.object()),
            Some(r) => format!("{} {status}: {r}", kind.object()),
        };
        audit::record(
            conn,
            Some(admin_id),
            &format!(
                "{}.{}",
                kind.object(),
                if verify { "verify" } else { "reject" }
            ),
            kind.object(),
            Some(id),
            &summary,
        )?;
        Ok(())
    })
}

// ---- Mails about credentials -----------------------------------------------------------------

/// "License 12345 (MA, Board of Massage Therapy)".
fn license_words(l: &License) -> String {
    format!("{} ({}, {})", l.number, l.jurisdiction, l.issuing_body)
}

/// Tells each therapist whose verified license expires within [`EXPIRY_WARNING_DAYS`] (and who
/// has no later one verified), once per license: the mail and the license's `expiry_warned_at`
/// in one transaction. The mail worker runs it at its housekeeping. Returns how many were told.
pub fn warn_expiring_licenses(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    now_utc: chrono::DateTime<Utc>,
) -> Result<usize, AppError> {
    let today = now_utc.date_naive();
    let until = today + Duration::days(EXPIRY_WARNING_DAYS);
    write_transaction(conn, |conn| {
        let due = credential::expiring_unwarned(conn, today, until)?;
        let mut told = 0;
        for (license, user_id, name, email) in due {
            if !credential::mark_expiry_warned(conn, license.id, now())? {
                continue;
            }
            let m = CredentialMail {
                event: CredentialEvent::LicenseExpiring,
                to_name: name,
                what: license_words(&license),
                reason: None,
                expires_on: Some(license.expires_on.format("%A %-d %B %Y").to_string()),
                link: ctx.link("/therapist/credentials"),
            };
            outbox::enqueue(
                conn,
                Outgoing {
                    kind: m.event.kind(),
                    to_email: email,
                    user_id: Some(user_id),
                    appointment_id: None,
                    send_after: None,
                    rendered: render_credential(ctx, &m)?,
                },
            )?;
            told += 1;
        }
        Ok(told)
    })
}
