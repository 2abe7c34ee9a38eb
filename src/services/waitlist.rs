//! The waitlist: a client whose day is full asks to be told when a time of one service of one
//! therapist comes free within a range of days (`join`, `list`, `remove`; page and API).
//!
//! **How a freed time reaches the waiting clients.** Every change that may free time writes a
//! row to `waitlist_checks` (the therapist and the UTC span that came free) inside its own
//! transaction, through [`note_freed`]: a booking cancelled, declined or withdrawn
//! (`booking::set_status`, so every path through `booking::cancel` and `booking::decline`), a
//! booking moved (`booking::reschedule`), a client's erasure, time off removed, weekly hours
//! widened ([`note_hours_widened`]: only the minutes added, on the days entries wait for). The
//! mail worker (`services::mail_worker`) runs [`process_checks`] after those commits: for each
//! check it computes the free slots of each waiting entry's service in the entry's range with
//! the engine the profile and booking use (`booking::slots`), keeps those overlapping the freed
//! span, and for each one not yet announced to that entry records it in
//! `waitlist_announcements` (unique `(entry_id, slot_start)`: once per freed slot, even with
//! two workers) and writes the mail with [`outbox::enqueue`] in the same transaction. The mail's
//! link opens the booking page with that time chosen; the first to book it gets it (the normal
//! booking path refuses a taken slot with `slot_taken`).
//!
//! Limits (`domain::waitlist`): a range is at most 31 days, from the therapist's today on; a
//! client holds at most 10 active entries; one check mails one entry at most 5 slots. An entry
//! ends after its last day: it is no longer listed or checked, and housekeeping purges it
//! ([`purge_ended`]).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::users;
use crate::db::{write_transaction, DbConnection};
use crate::domain::availability::{self, WeeklyRange};
use crate::domain::mail::{mail_time, MailKind};
use crate::domain::waitlist::{self as rules, WaitRange, MAX_ACTIVE_ENTRIES};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::models::audit;
use crate::models::now;
use crate::models::service::Service;
use crate::models::therapist::{zone, Therapist};
use crate::models::waitlist::{
    self as model, EntryLine, NewWaitlistEntry, WaitlistCheck, WaitlistEntry,
};
use crate::search::schedules::{load_schedules, local_rfc3339, slot_query_error, utc_window};
use crate::services::access::{self, Proof};
use crate::services::mail::{render_waitlist, MailCtx, WaitlistMail};
use crate::services::outbox::{self, Outgoing};

/// What a client asks for.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub therapist_id: i64,
    pub service_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn field_rule(code: &'static str, field: &str, message: String) -> AppError {
    let mut fields = FieldErrors::new();
    fields.insert(field.to_string(), message.clone());
    AppError::FieldRule {
        code,
        message,
        fields,
    }
}

/// The oldest day any zone may still call today: entries ending before it have ended
/// everywhere (purged); entries ending on or after it count toward the client's limit.
fn earliest_today(now_utc: DateTime<Utc>) -> NaiveDate {
    now_utc.date_naive() - Duration::days(1)
}

/// Joins the waitlist of a service. 422 `therapist_not_bookable` (unknown or suspended
/// therapist), `unknown_service` (not this therapist's, or retired), `date_in_past`,
/// `range_reversed`, `range_too_long`, `too_many_waitlist_entries`; 409 `already_waiting`
/// for the same service and days. Only a verified client joins (`access::VerifiedClient`).
pub fn join(
    conn: &mut DbConnection,
    client: &access::VerifiedClient,
    req: &JoinRequest,
    now_utc: DateTime<Utc>,
) -> Result<i64, AppError> {
    let client = client.user();
    let therapist = match Therapist::find(conn, req.therapist_id).optional()? {
        Some(t) if t.suspended_at.is_none() => t,
        _ => {
            return Err(field_rule(
                "therapist_not_bookable",
                "therapist_id",
                "This therapist cannot be booked at the moment.".into(),
            ))
        }
    };
    match Service::find(conn, req.service_id).optional()? {
        Some(s) if s.therapist_id == therapist.id && s.retired_at.is_none() => {}
        _ => {
            return Err(field_rule(
                "unknown_service",
                "service_id",
                "Choose one of this therapist's services.".into(),
            ))
        }
    }
    let today = now_utc
        .with_timezone(&zone(&therapist.timezone))
        .date_naive();
    let range = WaitRange::parse(req.from, req.to, today)
        .map_err(|r| field_rule(r.code(), r.field(), r.message()))?;
    write_transaction(conn, |conn| {
        let held = WaitlistEntry::count_of_client(conn, client.id, earliest_today(now_utc))?;
        if held >= MAX_ACTIVE_ENTRIES {
            return Err(AppError::Rule {
                code: "too_many_waitlist_entries",
                message: format!(
                    "You are already waiting for {held} times, the most one person may (at once {MAX_ACTIVE_ENTRIES}). Remove an entry you no longer need first."
                ),
            });
        }
        let inserted = NewWaitlistEntry {
            client_id: client.id,
            therapist_id: therapist.id,
            service_id: req.service_id,
            from_date: range.from(),
            to_date: range.to(),
            created_at: now(),
        }
        .insert(conn);
        let id = match inserted {
            Ok(id) => id,
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(AppError::Conflict {
                    code: "already_waiting",
                    message: "You are already on this waitlist for these days.".into(),
                })
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            conn,
            Some(client.id),
            "waitlist.join",
            "waitlist_entry",
            Some(id),
            &format!(
                "waiting for service {} from {} to {}",
                req.service_id,
                range.from(),
                range.to()
            ),
        )?;
        Ok(id)
    })
}

/// One entry as the client's page and the API show it.
#[derive(Debug, Clone)]
pub struct EntryView {
    pub line: EntryLine,
    pub tz: Tz,
}

impl EntryView {
    /// "Swedish, 60 minutes".
    pub fn service(&self) -> String {
        service_words(&self.line.technique_slug, self.line.duration_min)
    }

    /// The therapist's profile at this service, on the first day waited for.
    pub fn profile_link(&self) -> String {
        format!(
            "/therapists/{}?service={}&from={}#book",
            self.line.therapist_id, self.line.service_id, self.line.from_date
        )
    }
}

fn service_words(technique: &str, duration_min: i32) -> String {
    let name = crate::domain::technique::find(technique)
        .map(|t| t.name)
        .unwrap_or(technique);
    format!("{name}, {duration_min} minutes")
}

/// The client's active entries (whose last day has not passed on the therapist's calendar).
pub fn list(
    conn: &mut DbConnection,
    client: &access::Client,
    now_utc: DateTime<Utc>,
) -> Result<Vec<EntryView>, AppError> {
    let lines = WaitlistEntry::lines_of_client(conn, client.id(), earliest_today(now_utc))?;
    Ok(lines
        .into_iter()
        .map(|line| EntryView {
            tz: zone(&line.timezone),
            line,
        })
        .filter(|v| rules::is_active(v.line.to_date, now_utc.with_timezone(&v.tz).date_naive()))
        .collect())
}

/// Removes one of the client's entries; 404 for anyone else's.
pub fn remove(conn: &mut DbConnection, client: &access::Client, id: i64) -> Result<(), AppError> {
    let client_id = client.id();
    write_transaction(conn, |conn| {
        if WaitlistEntry::delete_of_client(conn, client_id, id)? == 0 {
            return Err(AppError::NotFound);
        }
        audit::record(
            conn,
            Some(client_id),
            "waitlist.remove",
            "waitlist_entry",
            Some(id),
            "left the waitlist",
        )?;
        Ok(())
    })
}

/// Erasure: the client's entries go with their account.
pub fn remove_all_of_client(conn: &mut DbConnection, client_id: i64) -> Result<usize, AppError> {
    Ok(WaitlistEntry::delete_all_of_client(conn, client_id)?)
}

/// Notes, inside the transaction of the change, that `[from, until)` (UTC) of a therapist may
/// have come free; the mail worker checks it after the commit. Nothing is written when nobody
/// waits for this therapist.
pub fn note_freed(
    conn: &mut DbConnection,
    therapist_id: i64,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<(), AppError> {
    if until <= from {
        return Ok(());
    }
    let since = earliest_today(Utc::now());
    if until.date() < since || !WaitlistEntry::any_of_therapist(conn, therapist_id, since)? {
        return Ok(());
    }
    WaitlistCheck::insert(conn, therapist_id, from, until, now())?;
    Ok(())
}

/// Minutes of each weekday (1 = Monday .. 7) that `new` opens and `old` did not.
fn added_minutes(old: &[WeeklyRange], new: &[WeeklyRange]) -> Vec<(u8, u16, u16)> {
    let mut out = Vec::new();
    for weekday in 1..=7u8 {
        let mut open = [false; 1440];
        for r in new.iter().filter(|r| r.weekday == weekday) {
            for m in r.start_min..r.end_min.min(1440) {
                open[m as usize] = true;
            }
        }
        for r in old.iter().filter(|r| r.weekday == weekday) {
            for m in r.start_min..r.end_min.min(1440) {
                open[m as usize] = false;
            }
        }
        let mut m = 0usize;
        while m < 1440 {
            if open[m] {
                let start = m;
                while m < 1440 && open[m] {
                    m += 1;
                }
                out.push((weekday, start as u16, m as u16));
            } else {
                m += 1;
            }
        }
    }
    out
}

/// Weekly hours changed from `old` to `new`: on each day that an entry of this therapist waits
/// for, the minutes added are noted as freed (inside the change's transaction).
pub fn note_hours_widened(
    conn: &mut DbConnection,
    therapist: &Therapist,
    old: &[WeeklyRange],
    new: &[WeeklyRange],
) -> Result<(), AppError> {
    let added = added_minutes(old, new);
    if added.is_empty() {
        return Ok(());
    }
    let tz = zone(&therapist.timezone);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let entries = WaitlistEntry::of_therapist_meeting(
        conn,
        therapist.id,
        today,
        today + Duration::days(800),
    )?;
    let mut days: Vec<NaiveDate> = entries
        .iter()
        .flat_map(|e| {
            e.from_date
                .max(today)
                .iter_days()
                .take_while(move |d| *d <= e.to_date)
        })
        .collect();
    days.sort();
    days.dedup();
    let local = |d: NaiveDate, min: u16| {
        let t = d.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::minutes(min as i64);
        tz.from_local_datetime(&t)
            .earliest()
            .or_else(|| tz.from_local_datetime(&(t + Duration::hours(1))).earliest())
            .map(|t| t.naive_utc())
    };
    for day in days {
        let weekday = chrono::Datelike::weekday(&day).number_from_monday() as u8;
        for &(_, start, end) in added.iter().filter(|a| a.0 == weekday) {
            if let (Some(from), Some(until)) = (local(day, start), local(day, end)) {
                note_freed(conn, therapist.id, from, until)?;
            }
        }
    }
    Ok(())
}

/// How many checks one round of the worker takes.
const CHECKS_PER_ROUND: i64 = 20;

/// The worker's part: takes the pending checks (each by one worker), announces each freed
/// slot to each waiting client once (whichever of their entries holds it), with its mail, and deletes the checks; all in one write
/// transaction, after the changes that wrote them have committed. Returns the mails written.
pub fn process_checks(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    now_utc: DateTime<Utc>,
) -> Result<usize, AppError> {
    // Most rounds have nothing to check: no write lock for them.
    if !WaitlistCheck::any(conn)? {
        return Ok(0);
    }
    write_transaction(conn, |conn| {
        let checks = WaitlistCheck::take(conn, CHECKS_PER_ROUND)?;
        let mut mails = 0;
        for check in checks {
            mails += process_one(conn, ctx, &check, now_utc)?;
            WaitlistCheck::delete(conn, check.id)?;
        }
        Ok(mails)
    })
}

fn process_one(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    check: &WaitlistCheck,
    now_utc: DateTime<Utc>,
) -> Result<usize, AppError> {
    let Some(therapist) = Therapist::find(conn, check.therapist_id).optional()? else {
        return Ok(0);
    };
    if therapist.suspended_at.is_some() {
        return Ok(0);
    }
    let tz = zone(&therapist.timezone);
    let today = now_utc.with_timezone(&tz).date_naive();
    let (freed_from, freed_until) = (check.freed_from.and_utc(), check.freed_until.and_utc());
    let first_day = freed_from.with_timezone(&tz).date_naive().max(today);
    let last_day = freed_until.with_timezone(&tz).date_naive();
    if last_day < today {
        return Ok(0);
    }
    let therapist_name: String = users::table
        .find(therapist.user_id)
        .select(users::name)
        .first(conn)?;
    let entries: Vec<WaitlistEntry> =
        WaitlistEntry::of_therapist_meeting(conn, therapist.id, first_day, last_day)?
            .into_iter()
            .filter(|e| rules::is_active(e.to_date, today))
            .collect();
    if entries.is_empty() {
        return Ok(0);
    }
    // One read each of the services, the clients and the schedule for every entry of the check.
    let services: HashMap<i64, Service> = {
        use crate::db::schema::services;
        let ids: Vec<i64> = entries.iter().map(|e| e.service_id).collect();
        services::table
            .filter(services::id.eq_any(ids))
            .select(Service::as_select())
            .load(conn)?
            .into_iter()
            .map(|s| (s.id, s))
            .collect()
    };
    let clients: HashMap<i64, (String, String)> = {
        let ids: Vec<i64> = entries.iter().map(|e| e.client_id).collect();
        users::table
            .filter(users::id.eq_any(ids))
            .filter(users::erased_at.is_null())
            .select((users::id, users::email, users::name))
            .load::<(i64, String, String)>(conn)?
            .into_iter()
            .map(|(id, email, name)| (id, (email, name)))
            .collect()
    };
    let (wf, wt) = utc_window(first_day, last_day);
    let Some(schedule) = load_schedules(conn, &[therapist.id], wf, wt, None)?.remove(&therapist.id)
    else {
        return Ok(0);
    };
    let mut mails = 0;
    for entry in entries {
        let from = entry.from_date.max(first_day).max(today);
        let to = entry.to_date.min(last_day);
        if to < from {
            continue;
        }
        let Some(service) = services.get(&entry.service_id) else {
            continue;
        };
        if service.retired_at.is_some() || service.therapist_id != therapist.id {
            continue;
        }
        let Some((email, name)) = clients.get(&entry.client_id) else {
            continue;
        };
        let slots = availability::free_slots(&schedule.query(
            service.duration_min as i64,
            now_utc,
            from,
            to,
        ))
        .map_err(slot_query_error)?;
        let mut sent = 0;
        for slot in slots
            .iter()
            .filter(|s| rules::is_freed(s.start, s.end, freed_from, freed_until))
        {
            if sent >= rules::MAX_MAILS_PER_ENTRY_PER_CHECK {
                break;
            }
            // Once per client: another of their entries (overlapping days) may have had it.
            let at = slot.start.naive_utc();
            if model::announced_to_client(conn, entry.client_id, service.id, at)?
                || !model::announce(conn, entry.id, at, now())?
            {
                continue;
            }
            let start = local_rfc3339(slot.start, tz);
            let m = WaitlistMail {
                to_name: name.clone(),
                therapist_name: therapist_name.clone(),
                service: service_words(&service.technique_slug, service.duration_min),
                when: mail_time(slot.start, tz),
                link: ctx.link(&book_path(therapist.id, service.id, &start)),
                list_link: ctx.link("/waitlist"),
                range: range_words(entry.from_date, entry.to_date),
            };
            outbox::enqueue(
                conn,
                Outgoing {
                    kind: MailKind::WaitlistSlotFree,
                    to_email: email.clone(),
                    user_id: Some(entry.client_id),
                    appointment_id: None,
                    send_after: None,
                    rendered: render_waitlist(ctx, &m)?,
                },
            )?;
            sent += 1;
        }
        mails += sent;
    }
    Ok(mails)
}

/// The booking page with a time chosen (what the profile's time buttons link to).
pub fn book_path(therapist_id: i64, service_id: i64, start: &str) -> String {
    let start = serde_urlencoded::to_string([("start", start)]).unwrap_or_default();
    format!("/book?therapist={therapist_id}&service={service_id}&{start}")
}

/// "Tuesday 1 December to Tuesday 8 December 2026".
pub fn range_words(from: NaiveDate, to: NaiveDate) -> String {
    format!(
        "{} to {}",
        from.format("%A %-d %B"),
        to.format("%A %-d %B %Y")
    )
}

/// Housekeeping: deletes the entries that ended (their last day has passed everywhere) and
/// their announcements.
pub fn purge_ended(conn: &mut DbConnection, now_utc: DateTime<Utc>) -> Result<usize, AppError> {
    Ok(WaitlistEntry::delete_ended(conn, earliest_today(now_utc))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_added_minutes_count() {
        let r = |weekday, start_min, end_min| WeeklyRange {
            weekday,
            start_min,
            end_min,
        };
        let old = [r(1, 540, 720), r(2, 540, 1020)];
        let new = [r(1, 540, 780), r(2, 600, 1020), r(3, 540, 600)];
        assert_eq!(
            added_minutes(&old, &new),
            vec![(1, 720, 780), (3, 540, 600)]
        );
        assert!(added_minutes(&new, &new).is_empty());
    }

    #[test]
    fn the_booking_link_encodes_the_time() {
        assert_eq!(
            book_path(3, 4, "2026-12-01T09:00:00-05:00"),
            "/book?therapist=3&service=4&start=2026-12-01T09%3A00%3A00-05%3A00"
        );
    }
}
