//! Free times: loads a therapist's schedule, asks the pure engine (`domain::availability`), and
//! keeps what it computed in [`ScheduleCache`]. Booking and the directory import this module (the
//! bookable-version reads, [`FreeTimeOracle`]), never the reverse.
//!
//! **Kept per schedule version.** `therapists.schedule_version` moves in the same transaction as
//! every change to what the engine reads about a therapist (appointments, time off, weekly hours,
//! booking policy, services, time zone): database triggers bump it, so no write path can forget.
//! [`ScheduleCache`] keeps schedules, computed slot lists (with each slot's JSON object for the
//! API), services, menus, free days and next free times (with the schedule's time zone) under
//! that version only, and every request learns the current version from the synced directory
//! index (`DirectoryIndex`) before it reuses anything: the cache can miss, never answer stale.
//! What is computed from a schedule that changed while it loaded is not kept: it serves its one
//! request.
//!
//! **The clock's rules are applied afresh.** The minimum notice and the advance window depend on
//! `now`, so what is kept is computed without them ([`RawSlots`]) and each request cuts it to its
//! own start window (`domain::availability::start_window`). A remembered free day keeps the first
//! and the last slot start of its date, which decide "free at `now`" except when the window both
//! opens and closes between them (then the slots decide). A remembered next free time keeps the
//! instant until which it stays the answer: until `now + notice` passes it or, when there is
//! none, until `now + advance` reaches the next slot.
//!
//! **Where a request runs** ([`slots_request`], `GET /api/v1/therapists/{id}/availability`). It
//! takes the therapist's version from the synced index, the service from the cache when it was
//! read at that version (else one query), and, when that version's slots are kept, cuts the kept
//! JSON objects to the start window. On SQLite all of this runs on the request's thread
//! (`services::with_conn_quick`: an indexed SQLite read takes microseconds, the blocking pool's
//! two thread switches cost more). On PostgreSQL the request first awaits a directory sync begun
//! after it arrived (holding no thread or connection); a kept answer is then served from memory on
//! the request's thread, and a miss reads the service (at the version already read) and loads and
//! computes on the blocking pool without syncing again.
//!
//! **A load reads its five tables at once on PostgreSQL.** A schedule not kept is read from five
//! tables (policy, weekly hours, time off, appointments, services); on PostgreSQL each read of a
//! page's schedules that are not in memory waits on the disk for its own pages, so a load takes
//! up to [`SPREAD_HELPERS`] idle connections of the pool besides its own and reads the tables
//! each on one, at once ([`ScheduleCache::spread_loads_over`], `db::spread`). It leaves
//! [`SPREAD_LEAVES_IDLE`] connections idle for other requests, and spreads only when no other
//! load runs: under load, loads at once would only share the cores, so each reads on its own
//! connection. The versions are read again once all five are read.
//!
//! **Bounds.** Schedules, next free times and menus (a therapist's active services, what a result
//! line shows): 100,000 therapists each ([`CACHED_SCHEDULES`]); slot lists: about 32 MB
//! ([`CACHED_SLOT_WEIGHT`]); services: 200,000 ([`CACHED_SERVICES`]); free days: 31 dates
//! ([`CACHED_FREE_DAYS`]), each at most one small entry per therapist asked about.
//!
//! **Known limit.** The cache keys by therapist id and version, so a deleted therapist whose id
//! SQLite gave to a new one could match an old version; the application never deletes a therapist.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::{
    appointments, booking_policies, services, therapists, time_off, weekly_hours,
};
use crate::db::DbConnection;
use crate::domain::appointment::AppointmentStatus;
use crate::domain::availability::{self, Interval, SlotQuery, WeeklyRange};
use crate::error::AppError;
use crate::search::index::DirectoryIndex;

/// The grid free slots start on, in minutes from each range's start.
pub const STEP_MIN: i64 = 15;
/// How far ahead "next free time" looks, in days.
pub const NEXT_FREE_DAYS: i64 = 14;

/// Everything the engine needs about one therapist.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub tz: Tz,
    pub weekly: Vec<WeeklyRange>,
    pub time_off: Vec<Interval>,
    pub busy: Vec<Interval>,
    pub min_notice_hours: i32,
    pub max_advance_days: i32,
    pub buffer_min: i32,
    /// A slot starting sooner than this can't be cancelled online once confirmed.
    pub cancellation_window_hours: i32,
}

impl Schedule {
    pub fn query(
        &self,
        duration_min: i64,
        now: DateTime<Utc>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> SlotQuery<'_> {
        SlotQuery {
            tz: self.tz,
            weekly: &self.weekly,
            time_off: &self.time_off,
            busy: &self.busy,
            duration_min,
            buffer_min: self.buffer_min as i64,
            min_notice: Duration::hours(self.min_notice_hours as i64),
            max_advance: Duration::days(self.max_advance_days as i64),
            now,
            from,
            to,
            step_min: STEP_MIN,
        }
    }
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A therapist's id, time zone, minimum notice, advance window, buffer and cancellation window.
type PolicyRow = (i64, String, i32, i32, i32, i32);

/// The rows schedules are made of, one table each (see [`load_schedules`]).
#[derive(Debug, Default)]
struct ScheduleRows {
    policies: Vec<PolicyRow>,
    /// id, weekday, start and end minute.
    weekly: Vec<(i64, i16, i32, i32)>,
    time_off: Vec<(i64, NaiveDateTime, NaiveDateTime)>,
    /// Active appointments: id, start, end of the blocked time.
    busy: Vec<(i64, NaiveDateTime, NaiveDateTime)>,
}

fn read_policies(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<PolicyRow>> {
    therapists::table
        .inner_join(booking_policies::table)
        .filter(therapists::id.eq_any(ids))
        .select((
            therapists::id,
            therapists::timezone,
            booking_policies::min_notice_hours,
            booking_policies::max_advance_days,
            booking_policies::buffer_min,
            booking_policies::cancellation_window_hours,
        ))
        .load(conn)
}

fn read_weekly(
    conn: &mut DbConnection,
    ids: &[i64],
    weekdays: Option<&[i16]>,
) -> QueryResult<Vec<(i64, i16, i32, i32)>> {
    let mut hours = weekly_hours::table
        .filter(weekly_hours::therapist_id.eq_any(ids))
        .into_boxed();
    if let Some(days) = weekdays {
        hours = hours.filter(weekly_hours::weekday.eq_any(days.to_vec()));
    }
    hours
        .select((
            weekly_hours::therapist_id,
            weekly_hours::weekday,
            weekly_hours::start_min,
            weekly_hours::end_min,
        ))
        .load(conn)
}

fn read_time_off(
    conn: &mut DbConnection,
    ids: &[i64],
    (from, to): (NaiveDateTime, NaiveDateTime),
) -> QueryResult<Vec<(i64, NaiveDateTime, NaiveDateTime)>> {
    time_off::table
        .filter(time_off::therapist_id.eq_any(ids))
        .filter(time_off::starts_at.lt(to))
        .filter(time_off::ends_at.gt(from))
        .select((
            time_off::therapist_id,
            time_off::starts_at,
            time_off::ends_at,
        ))
        .load(conn)
}

fn read_busy(
    conn: &mut DbConnection,
    ids: &[i64],
    (from, to): (NaiveDateTime, NaiveDateTime),
) -> QueryResult<Vec<(i64, NaiveDateTime, NaiveDateTime)>> {
    appointments::table
        .filter(appointments::therapist_id.eq_any(ids))
        .filter(appointments::status.eq_any(AppointmentStatus::active_strs()))
        .filter(appointments::starts_at.lt(to))
        .filter(appointments::blocked_until.gt(from))
        .select((
            appointments::therapist_id,
            appointments::starts_at,
            appointments::blocked_until,
        ))
        .load(conn)
}

impl ScheduleRows {
    /// Each therapist's schedule (those without a booking policy row are left out).
    fn assemble(self) -> HashMap<i64, Schedule> {
        let mut out: HashMap<i64, Schedule> = HashMap::with_capacity(self.policies.len());
        for (id, tz, notice, advance, buffer, window) in self.policies {
            out.insert(
                id,
                Schedule {
                    tz: crate::models::therapist::zone(&tz),
                    weekly: Vec::new(),
                    time_off: Vec::new(),
                    busy: Vec::new(),
                    min_notice_hours: notice,
                    max_advance_days: advance,
                    buffer_min: buffer,
                    cancellation_window_hours: window,
                },
            );
        }
        for (id, weekday, start, end) in self.weekly {
            if let Some(s) = out.get_mut(&id) {
                s.weekly.push(WeeklyRange {
                    weekday: weekday as u8,
                    start_min: start as u16,
                    end_min: end as u16,
                });
            }
        }
        for (id, s, e) in self.time_off {
            if let Some(sch) = out.get_mut(&id) {
                sch.time_off.push(Interval {
                    start: utc(s),
                    end: utc(e),
                });
            }
        }
        for (id, s, e) in self.busy {
            if let Some(sch) = out.get_mut(&id) {
                sch.busy.push(Interval {
                    start: utc(s),
                    end: utc(e),
                });
            }
        }
        out
    }
}

/// Loads the schedules of `ids` with the time off and active appointments that touch
/// [`from`, `to`) (UTC), in four queries whatever the number of therapists.
/// `weekdays` limits the weekly ranges loaded (exact when only those local days are asked about).
pub fn load_schedules(
    conn: &mut DbConnection,
    ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    weekdays: Option<&[i16]>,
) -> Result<HashMap<i64, Schedule>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let window = (from.naive_utc(), to.naive_utc());
    let rows = ScheduleRows {
        policies: read_policies(conn, ids)?,
        weekly: read_weekly(conn, ids, weekdays)?,
        time_off: read_time_off(conn, ids, window)?,
        busy: read_busy(conn, ids, window)?,
    };
    Ok(rows.assemble())
}

/// Runs the statements of a load of schedules ([`ScheduleCache::schedules`]) once on `conn`, for
/// a therapist who does not exist (see `SearchEngine::warm_up`).
pub fn warm_statements(conn: &mut DbConnection) -> Result<(), AppError> {
    let nobody = [0_i64];
    let window = (Utc::now().naive_utc(), far_future().naive_utc());
    read_policies(conn, &nobody)?;
    read_weekly(conn, &nobody, None)?;
    read_time_off(conn, &nobody, window)?;
    read_busy(conn, &nobody, window)?;
    active_services(conn, &nobody)?;
    read_versions(conn, &nobody)?;
    Ok(())
}

/// Each therapist's schedule version, as of this statement.
fn read_versions(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
    therapists::table
        .filter(therapists::id.eq_any(ids))
        .select((therapists::id, therapists::schedule_version))
        .load(conn)
}

/// A UTC window that surely covers the local dates [from, to] in any zone.
pub fn utc_window(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = (from - Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let end = (to + Duration::days(2))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    (start, end)
}

/// Each therapist's active services.
type Menus = HashMap<i64, Vec<MenuItem>>;

/// The active services of each therapist, in one query (what a result line shows, and the
/// shortest one: the least it takes to be "free").
fn active_services(conn: &mut DbConnection, ids: &[i64]) -> Result<Menus, AppError> {
    let mut out: HashMap<i64, Vec<MenuItem>> = HashMap::new();
    for (id, service_id, slug, duration_min, price_cents) in services::table
        .filter(services::therapist_id.eq_any(ids))
        .filter(services::retired_at.is_null())
        .select((
            services::therapist_id,
            services::id,
            services::technique_slug,
            services::duration_min,
            services::price_cents,
        ))
        .load::<(i64, i64, String, i32, i64)>(conn)?
    {
        let items = out.entry(id).or_default();
        if let Some(item) = MenuItem::of(service_id, &slug, duration_min, price_cents) {
            items.push(item);
        }
    }
    Ok(out)
}

/// The shortest of some services, in minutes: what it takes to be "free".
fn shortest_of(items: &[MenuItem]) -> Option<i32> {
    items.iter().map(|i| i.duration_min).min()
}

/// The shortest active service of each therapist, in minutes (those without one are left out).
pub fn shortest_services(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<HashMap<i64, i32>, AppError> {
    Ok(active_services(conn, ids)?
        .into_iter()
        .filter_map(|(id, items)| Some((id, shortest_of(&items)?)))
        .collect())
}

/// A therapist (id, schedule version) and one of its active services (id, technique slug,
/// minutes, cents), NULL when it has none.
type MenuRow = (
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<i32>,
    Option<i64>,
);

/// One active service of a therapist, as a result line shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MenuItem {
    pub service_id: i64,
    /// The catalogue's slug (a service of a technique no longer listed is left out).
    pub technique: &'static str,
    pub duration_min: i32,
    pub price_cents: i64,
}

impl MenuItem {
    fn of(service_id: i64, slug: &str, duration_min: i32, price_cents: i64) -> Option<MenuItem> {
        crate::domain::technique::find(slug).map(|t| MenuItem {
            service_id,
            technique: t.slug,
            duration_min,
            price_cents,
        })
    }
}

/// A therapist's active services as of a schedule version (adding, editing or retiring a
/// service bumps it, so the menu stays exact while that version is current).
#[derive(Debug)]
pub struct Menu {
    pub version: i64,
    pub items: Vec<MenuItem>,
}

impl Menu {
    /// The service a search for `technique` shows: the cheapest active one of that technique
    /// (then the shortest, then the first made).
    pub fn for_technique(&self, technique: &str) -> Option<MenuItem> {
        self.items
            .iter()
            .filter(|i| i.technique == technique)
            .min_by_key(|i| (i.price_cents, i.duration_min, i.service_id))
            .copied()
    }

    /// The shortest active service, in minutes.
    fn shortest_min(&self) -> Option<i32> {
        shortest_of(&self.items)
    }
}

/// Answers the directory's questions about free time with the engine, through the cache of
/// slots computed per schedule version.
pub struct Oracle<'a> {
    now: DateTime<Utc>,
    cache: &'a ScheduleCache,
}

impl<'a> Oracle<'a> {
    /// The oracle for a request at `now`.
    pub fn at(cache: &'a ScheduleCache, now: DateTime<Utc>) -> Oracle<'a> {
        Oracle { now, cache }
    }
}

impl FreeTimeOracle for Oracle<'_> {
    fn free_by_map(&self, therapists: &[(i64, i64)], day: NaiveDate) -> Vec<Option<bool>> {
        self.cache.maps.decide(therapists, day, self.now)
    }

    fn next_free_bounds(&self, therapists: &[(i64, i64)]) -> Vec<DateTime<Utc>> {
        self.cache.maps.bounds(therapists, self.now)
    }

    fn free_on(
        &self,
        conn: Option<&mut DbConnection>,
        therapists: &[(i64, i64)],
        day: NaiveDate,
    ) -> Result<Option<Vec<i64>>, AppError> {
        // Free on `day`: a slot of the shortest active service that day.
        self.cache.free_on(conn, therapists, day, self.now)
    }

    fn next_free(
        &self,
        conn: Option<&mut DbConnection>,
        therapists: &[(i64, i64)],
    ) -> Result<Option<HashMap<i64, NextFreeAt>>, AppError> {
        self.cache.next_free(conn, therapists, self.now)
    }

    fn menus(
        &self,
        conn: Option<&mut DbConnection>,
        therapists: &[(i64, i64)],
    ) -> Result<Option<Vec<Option<Arc<Menu>>>>, AppError> {
        self.cache.menus(conn, therapists)
    }
}

/// The free slots of a therapist's service between two local dates, for a request (with their
/// JSON objects when `json`: the API's; a page formats them itself): `ids` is (therapist,
/// service), `dates` is (from, to). The therapist's schedule
/// version decides what may be reused. On PostgreSQL the request first waits for a directory sync
/// begun after it arrived (holding no thread or connection unless it runs it), and slots kept
/// for the current version are answered from memory on the request's thread. On SQLite the sync
/// and a kept answer run on the request's thread (`with_conn_quick`). Anything else (the service
/// not kept at that version, the slots not kept) goes to the blocking pool, without syncing again.
/// A caller that has the therapist's schedule version from an index synced after the request
/// arrived already (the profile page, which synced to find its profile) passes it as `synced`,
/// and no second sync is made.
#[allow(clippy::too_many_arguments)]
pub async fn slots_request(
    pool: &crate::db::Pool,
    sqlite: bool,
    directory: &Arc<DirectoryIndex>,
    cache: &Arc<ScheduleCache>,
    (therapist_id, service_id): (i64, i64),
    (from, to): (NaiveDate, NaiveDate),
    json: bool,
    synced: Option<i64>,
) -> Result<Arc<RawSlots>, AppError> {
    let key_of = move |(version, duration_min): (i64, i32)| SlotKey {
        therapist_id,
        version,
        duration_min,
        from,
        to,
        json,
    };
    let synced_version = match synced {
        Some(version) => Some(version),
        None if sqlite => None,
        None => {
            directory.synced(pool).await?;
            let version = directory
                .read()
                .bookable_version(therapist_id)
                .ok_or(AppError::NotFound)?;
            Some(version)
        }
    };
    if let Some(version) = synced_version {
        if let Some(kept) = bookable_kept(cache, version, therapist_id, service_id) {
            if let Some(raw) = cache.cached_raw_slots(&key_of(kept?)) {
                return Ok(raw);
            }
        }
    }
    let (directory, c) = (directory.clone(), cache.clone());
    let kept = crate::db::with_conn_quick(pool, sqlite, move |conn| {
        let key = key_of(match synced_version {
            Some(v) => bookable_version_at(conn, &c, v, therapist_id, service_id)?,
            None => bookable_version(conn, &directory, &c, therapist_id, service_id)?,
        });
        Ok(c.cached_raw_slots(&key).ok_or(key))
    })
    .await?;
    match kept {
        Ok(raw) => Ok(raw),
        // Not kept: load and compute on the blocking pool.
        Err(key) => {
            let cache = cache.clone();
            crate::db::with_conn(pool, move |conn| cache.raw_slots(conn, key)).await
        }
    }
}

/// The schedule version of a bookable therapist and the duration of its active service: what
/// the availability cache is keyed by. The version comes from the directory index, synced first
/// (so as of a moment after this call began); the service from memory when it was read at that
/// very version, else in one query with the version. Not found when the therapist is suspended
/// or unknown, or the service is retired or someone else's.
pub fn bookable_version(
    conn: &mut DbConnection,
    directory: &DirectoryIndex,
    cache: &ScheduleCache,
    therapist_id: i64,
    service_id: i64,
) -> Result<(i64, i32), AppError> {
    let version = directory
        .sync(conn)?
        .bookable_version(therapist_id)
        .ok_or(AppError::NotFound)?;
    bookable_version_at(conn, cache, version, therapist_id, service_id)
}

/// [`bookable_version`] given the therapist's current schedule version (read from a directory
/// index synced after the request arrived).
pub fn bookable_version_at(
    conn: &mut DbConnection,
    cache: &ScheduleCache,
    version: i64,
    therapist_id: i64,
    service_id: i64,
) -> Result<(i64, i32), AppError> {
    if let Some(kept) = bookable_kept(cache, version, therapist_id, service_id) {
        return kept;
    }
    let row: Option<(i64, i32, bool, i64)> = services::table
        .inner_join(therapists::table)
        .filter(services::id.eq(service_id))
        .select((
            services::therapist_id,
            services::duration_min,
            services::retired_at.is_null(),
            therapists::schedule_version,
        ))
        .first(conn)
        .optional()?;
    let (owner, duration_min, active, version) = row.ok_or(AppError::NotFound)?;
    let s = ServiceAt {
        therapist_id: owner,
        duration_min,
        active,
        version,
    };
    cache.keep_service(service_id, s);
    bookable_service(s, therapist_id)
}

/// [`bookable_version`] from memory alone, given the therapist's current schedule version (a
/// synced directory index's): None when the service was not read at that version.
pub fn bookable_kept(
    cache: &ScheduleCache,
    version: i64,
    therapist_id: i64,
    service_id: i64,
) -> Option<Result<(i64, i32), AppError>> {
    cache
        .service_at(service_id, version)
        .map(|s| bookable_service(s, therapist_id))
}

fn bookable_service(s: ServiceAt, therapist_id: i64) -> Result<(i64, i32), AppError> {
    if s.therapist_id == therapist_id && s.active {
        Ok((s.version, s.duration_min))
    } else {
        Err(AppError::NotFound)
    }
}

/// Decides whether a therapist has a free slot on a day, and when each is next free; the
/// booking engine answers both (see `search::schedules`). It also knows each therapist's active
/// services (a result line's price), kept by the same version. Therapists come as
/// (id, schedule_version). Without a connection only remembered answers are given: `None` means
/// that some answer needs the database.
pub trait FreeTimeOracle {
    /// Decides "free on `day`" from what is known ahead of time (`search::free_days`), with no
    /// database work: for each therapist in the order given, free or not, or None when it cannot
    /// tell (for [`free_on`](Self::free_on)).
    fn free_by_map(&self, therapists: &[(i64, i64)], day: NaiveDate) -> Vec<Option<bool>>;
    /// For each therapist in the order given, an instant before which they cannot be booked
    /// (from the free-day maps, with no database work: `DayMap::next_free_bound`): the soonest
    /// sort weighs them in this order.
    fn next_free_bounds(&self, therapists: &[(i64, i64)]) -> Vec<DateTime<Utc>>;
    fn free_on(
        &self,
        conn: Option<&mut DbConnection>,
        therapists: &[(i64, i64)],
        day: NaiveDate,
    ) -> Result<Option<Vec<i64>>, AppError>;
    fn next_free(
        &self,
        conn: Option<&mut DbConnection>,
        therapists: &[(i64, i64)],
    ) -> Result<Option<HashMap<i64, NextFreeAt>>, AppError>;
    /// The active services of each therapist, in the order asked (a therapist with none has an
    /// empty menu; one that no longer exists, none).
    fn menus(
        &self,
        conn: Option<&mut DbConnection>,
        therapists: &[(i64, i64)],
    ) -> Result<Option<Vec<Option<Arc<Menu>>>>, AppError>;
}

/// When a therapist is next free, and the time zone they work in (their schedule's, kept by the
/// same version), so that a page can say the time as the therapist's clock does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextFreeAt {
    pub at: DateTime<Utc>,
    pub tz: Tz,
    /// `at` in RFC 3339, UTC ("2026-11-30T14:00:00Z"), written once when it was computed.
    pub utc: Stamp,
    /// `at` in RFC 3339 on the therapist's clock ("2026-11-30T09:00:00-05:00"), written once.
    pub local: Stamp,
}

impl NextFreeAt {
    pub(crate) fn of(at: DateTime<Utc>, tz: Tz) -> NextFreeAt {
        NextFreeAt {
            at,
            tz,
            utc: Stamp::of(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            local: Stamp::of(&local_rfc3339(at, tz)),
        }
    }
}

/// A time written out (RFC 3339 to the second: at most 25 bytes for years 0 to 9999), kept
/// inline so that a remembered answer stays `Copy` and a result line copies it without
/// formatting again.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    len: u8,
    buf: [u8; Stamp::CAPACITY],
}

impl Stamp {
    const CAPACITY: usize = 32;

    /// `s` kept whole (an RFC 3339 time fits; anything longer is cut at a character boundary,
    /// which no time of years 0 to 9999 is).
    fn of(s: &str) -> Stamp {
        let mut end = s.len().min(Self::CAPACITY);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut buf = [0u8; Self::CAPACITY];
        buf[..end].copy_from_slice(&s.as_bytes()[..end]);
        Stamp {
            len: end as u8,
            buf,
        }
    }

    pub fn as_str(&self) -> &str {
        // Only whole characters of a `&str` are ever copied in (see `of`).
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// How many therapists' schedules [`ScheduleCache`] keeps (each a few hundred bytes).
pub const CACHED_SCHEDULES: usize = 100_000;
/// How many slots (in units of one slot; a slot kept with its JSON weighs 6) the computed slot
/// lists of [`ScheduleCache`] hold in all: about 32 MB.
pub const CACHED_SLOT_WEIGHT: u64 = 2_000_000;
/// How far back a cached schedule keeps time off and appointments: slots before `now` are never
/// offered, so what ended two days before the load can never matter to it.
const CACHED_PAST_DAYS: i64 = 2;

/// One therapist's schedule as of `schedules.schedule_version` = `version`.
#[derive(Debug)]
pub struct CachedSchedule {
    pub version: i64,
    pub schedule: Schedule,
    /// The shortest active service, in minutes (what it takes to be "free").
    pub shortest_min: Option<i32>,
}

/// A list of slots computed without the rules that depend on `now`
/// (`domain::availability::slots_ignoring_now`); the slots a request sees are those in its
/// `domain::availability::start_window`.
#[derive(Debug)]
pub struct RawSlots {
    pub tz: Tz,
    pub min_notice_hours: i32,
    pub max_advance_days: i32,
    /// The therapist's cancellation window (a policy change bumps the schedule version, so
    /// it is as fresh as the slots).
    pub cancellation_window_hours: i32,
    pub slots: Vec<Interval>,
    /// Each slot as its JSON object, when asked for by the API (`{"starts_at":..,"ends_at":..}`).
    pub json: Option<Vec<Box<str>>>,
}

impl RawSlots {
    /// The minimum notice and the advance window, the rules that depend on the clock.
    fn rules(&self) -> (Duration, Duration) {
        (
            Duration::hours(self.min_notice_hours as i64),
            Duration::days(self.max_advance_days as i64),
        )
    }

    /// The slots a request at `now` may book (the notice and advance rules applied).
    pub fn bookable(&self, now: DateTime<Utc>) -> impl Iterator<Item = (usize, &Interval)> {
        let (notice, advance) = self.rules();
        let (earliest, latest) = availability::start_window(now, notice, advance);
        // The slots are sorted by start: the first in the window is found by bisection.
        let first = self.slots.partition_point(|s| s.start < earliest);
        self.slots[first..]
            .iter()
            .enumerate()
            .map(move |(i, s)| (first + i, s))
            .take_while(move |(_, s)| s.start <= latest)
    }
}

/// Which slots: a therapist at a schedule version, a service duration, local dates
/// [`from`, `to`], and whether to keep each slot's JSON object for the API.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SlotKey {
    pub therapist_id: i64,
    pub version: i64,
    pub duration_min: i32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub json: bool,
}

#[derive(Clone)]
struct SlotWeight;

impl quick_cache::Weighter<SlotKey, Arc<RawSlots>> for SlotWeight {
    fn weight(&self, _: &SlotKey, v: &Arc<RawSlots>) -> u64 {
        1 + v.slots.len() as u64 * if v.json.is_some() { 6 } else { 1 }
    }
}

/// What the availability engine computed from a therapist's schedule, kept under the
/// schedule's version (`therapists.schedule_version`, bumped by database triggers in the same
/// transaction as any change to appointments, time off, weekly hours, policy, services or time
/// zone). Every request reads the current version from the database first and only reuses what
/// was computed from that very version, so nothing stale is ever served; the minimum notice and
/// advance window, which depend on the clock, are applied to each request afresh.
pub struct ScheduleCache {
    schedules: quick_cache::sync::Cache<i64, Arc<CachedSchedule>>,
    slots: quick_cache::sync::Cache<SlotKey, Arc<RawSlots>, SlotWeight>,
    services: quick_cache::sync::Cache<i64, ServiceAt>,
    days: quick_cache::sync::Cache<NaiveDate, Arc<DayMemo>>,
    /// Every therapist's free days ahead, by version (`search::free_days`).
    pub maps: crate::search::free_days::FreeDayMaps,
    next: quick_cache::sync::Cache<i64, NextFree>,
    menus: quick_cache::sync::Cache<i64, Arc<Menu>>,
    /// The pool whose idle connections a load of schedules may take besides its own
    /// ([`ScheduleCache::spread_loads_over`]; PostgreSQL only).
    spread: std::sync::OnceLock<crate::db::Pool>,
    /// How many loads of schedules run now ([`ScheduleCache::begin_load`]).
    loading: std::sync::atomic::AtomicUsize,
}

/// A load of schedules running, counted in [`ScheduleCache`] until it is dropped.
struct Loading<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// How many connections besides its own a load of schedules takes, at most: one per table
/// read ([`ScheduleCache::schedules`] reads five).
pub const SPREAD_HELPERS: usize = 4;
/// How many of the pool's connections a load leaves idle for other requests, at least, when it
/// takes helpers: under load the pool has fewer idle, and loads run on their own connection.
pub const SPREAD_LEAVES_IDLE: u32 = 4;

/// A therapist's next free time as computed at some `now`, and until when it stays the answer:
/// the slot stays bookable (and the first) until `now + notice` passes its start; with no slot in
/// the window, the answer stays none until `now + advance` reaches the next slot after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NextFree {
    version: i64,
    /// The first date of the slots it was computed from (the day before that `now`'s date).
    from: NaiveDate,
    /// The next free time with the schedule's time zone, written out once.
    at: Option<NextFreeAt>,
    valid_until: DateTime<Utc>,
}

impl NextFree {
    fn of(version: i64, from: NaiveDate, raw: &RawSlots, now: DateTime<Utc>) -> NextFree {
        let (notice, advance) = raw.rules();
        let (earliest, latest) = availability::start_window(now, notice, advance);
        let first = raw.slots.partition_point(|s| s.start < earliest);
        let (at, valid_until) = match raw.slots.get(first) {
            Some(s) if s.start <= latest => (Some(s.start), s.start - notice),
            Some(s) => (None, s.start - advance - Duration::nanoseconds(1)),
            None => (None, far_future()),
        };
        NextFree {
            version,
            from,
            at: at.map(|at| NextFreeAt::of(at, raw.tz)),
            valid_until,
        }
    }

    /// The answer at `now`, if this one still is it.
    fn at(&self, version: i64, from: NaiveDate, now: DateTime<Utc>) -> Option<Option<NextFreeAt>> {
        (self.version == version && self.from == from && now <= self.valid_until).then_some(self.at)
    }
}

/// The free days of one local date, by therapist (see [`FreeDay`]).
type DayMemo = std::sync::RwLock<rustc_hash::FxHashMap<i64, FreeDay>>;

/// How many dates [`ScheduleCache`] remembers free days for (each at most 40 bytes a
/// therapist asked about: about 4 MB a date for 100,000 therapists).
pub const CACHED_FREE_DAYS: usize = 31;

/// Whether a therapist is free on a date, as of a schedule version: the first and the last start
/// of the shortest service's slots that date before the clock's rules, which decide "free at
/// `now`" in all but one case (see [`FreeDay::free`]).
#[derive(Debug, Clone, Copy)]
struct FreeDay {
    version: i64,
    first_last: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The minimum notice and the advance window ([`RawSlots::rules`]).
    rules: (Duration, Duration),
}

/// The earliest and the latest start a request may book (`availability::start_window`).
type StartWindow = (DateTime<Utc>, DateTime<Utc>);

impl FreeDay {
    fn of(version: i64, raw: &RawSlots) -> FreeDay {
        FreeDay {
            version,
            first_last: raw
                .slots
                .first()
                .zip(raw.slots.last())
                .map(|(a, b)| (a.start, b.start)),
            rules: raw.rules(),
        }
    }

    /// Whether a slot starts inside the window a request at `now` may book: the slots of the date
    /// lie between `first` and `last`, so only when the window both begins after `first` and
    /// ends before `last` do the slots themselves have to tell (None).
    #[cfg(test)]
    fn free(&self, now: DateTime<Utc>) -> Option<bool> {
        self.free_in(availability::start_window(now, self.rules.0, self.rules.1))
    }

    /// [`free`](Self::free) given the start window of a request for this day's rules.
    fn free_in(&self, (earliest, latest): StartWindow) -> Option<bool> {
        let Some((first, last)) = self.first_last else {
            return Some(false);
        };
        if earliest <= first {
            Some(first <= latest)
        } else if earliest > last {
            Some(false)
        } else if last <= latest {
            Some(true)
        } else {
            None
        }
    }
}

/// A service as read together with its therapist's schedule version: still exact while that
/// version is current (adding, editing or retiring a service bumps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceAt {
    pub therapist_id: i64,
    pub duration_min: i32,
    /// Not retired.
    pub active: bool,
    /// The therapist's schedule version when this was read.
    pub version: i64,
}

/// How many services [`ScheduleCache`] remembers (a few dozen bytes each).
pub const CACHED_SERVICES: usize = 200_000;

impl Default for ScheduleCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ScheduleCache {
    pub fn new() -> Self {
        ScheduleCache {
            schedules: quick_cache::sync::Cache::new(CACHED_SCHEDULES),
            slots: quick_cache::sync::Cache::with_weighter(100_000, CACHED_SLOT_WEIGHT, SlotWeight),
            services: quick_cache::sync::Cache::new(CACHED_SERVICES),
            days: quick_cache::sync::Cache::new(CACHED_FREE_DAYS),
            maps: Default::default(),
            next: quick_cache::sync::Cache::new(CACHED_SCHEDULES),
            menus: quick_cache::sync::Cache::new(CACHED_SCHEDULES),
            spread: std::sync::OnceLock::new(),
            loading: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Lets a load of schedules that runs alone read its tables at once, each on a connection of
    /// `pool` that is idle (up to [`SPREAD_HELPERS`], leaving [`SPREAD_LEAVES_IDLE`]). For
    /// PostgreSQL, where each read of a page's schedules from disk waits on its own: a server's
    /// first searches read them so (BENCHMARKS.md). On SQLite a read is a function call and this
    /// is not used.
    pub fn spread_loads_over(&self, pool: crate::db::Pool) {
        // Set once, at start; a second call changes nothing.
        let _ = self.spread.set(pool);
    }

    /// Counts a load of schedules begun, with the idle connections it may take besides its own:
    /// none without a pool to spread over, and none while another load runs (loads at once would
    /// only share the cores: spreading is for a quiet server's first searches).
    fn begin_load(&self) -> (Loading<'_>, Vec<crate::db::PooledConn>) {
        let others = self
            .loading
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let loading = Loading(&self.loading);
        let Some(pool) = self.spread.get().filter(|_| others == 0) else {
            return (loading, Vec::new());
        };
        let mut helpers = Vec::with_capacity(SPREAD_HELPERS);
        while helpers.len() < SPREAD_HELPERS && pool.state().idle_connections > SPREAD_LEAVES_IDLE {
            match pool.try_get() {
                Some(conn) => helpers.push(conn),
                None => break,
            }
        }
        (loading, helpers)
    }

    /// How many connections besides its own a load of schedules begun now would take.
    pub fn spread_width(&self) -> usize {
        self.begin_load().1.len()
    }

    /// The schedules and the active services of `ids`: the five tables read one after another
    /// on `conn`, or at once on `conn` and the helpers [`Self::begin_load`] finds idle.
    fn load_with_services(
        &self,
        conn: &mut DbConnection,
        ids: &[i64],
        (from, to): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<(HashMap<i64, Schedule>, Menus), AppError> {
        let window = (from.naive_utc(), to.naive_utc());
        let mut rows = ScheduleRows::default();
        let mut services = HashMap::new();
        {
            let ScheduleRows {
                policies,
                weekly,
                time_off,
                busy,
            } = &mut rows;
            let jobs: Vec<crate::db::Job<'_>> = vec![
                Box::new(|c| {
                    *policies = read_policies(c, ids)?;
                    Ok(())
                }),
                Box::new(|c| {
                    *weekly = read_weekly(c, ids, None)?;
                    Ok(())
                }),
                Box::new(|c| {
                    *time_off = read_time_off(c, ids, window)?;
                    Ok(())
                }),
                Box::new(|c| {
                    *busy = read_busy(c, ids, window)?;
                    Ok(())
                }),
                Box::new(|c| {
                    services = active_services(c, ids)?;
                    Ok(())
                }),
            ];
            let (_loading, mut helpers) = self.begin_load();
            crate::db::spread(conn, &mut helpers, jobs)?;
        }
        Ok((rows.assemble(), services))
    }

    /// Whether `raw` is what the slot cache keeps under `key` (so computed from exactly that
    /// version: a schedule that changed while it loaded is not kept).
    fn kept_exactly(&self, key: &SlotKey, raw: &Arc<RawSlots>) -> bool {
        self.slots
            .get(key)
            .is_some_and(|kept| Arc::ptr_eq(&kept, raw))
    }

    /// When each of `wanted` (therapist id, current version) is next free, within
    /// [`NEXT_FREE_DAYS`], for a request at `now`. Each answer is remembered with the instant
    /// until which it stays the answer, so a repeated page reads one small entry per therapist.
    /// `None` when some answer is not remembered and there is no connection to load it with.
    pub fn next_free(
        &self,
        conn: Option<&mut DbConnection>,
        wanted: &[(i64, i64)],
        now: DateTime<Utc>,
    ) -> Result<Option<HashMap<i64, NextFreeAt>>, AppError> {
        let from = now.date_naive() - Duration::days(1);
        let to = now.date_naive() + Duration::days(NEXT_FREE_DAYS);
        let mut out = HashMap::with_capacity(wanted.len());
        let mut need = Vec::new();
        for &(id, version) in wanted {
            match self.next.get(&id).and_then(|n| n.at(version, from, now)) {
                Some(at) => {
                    if let Some(at) = at {
                        out.insert(id, at);
                    }
                }
                None => need.push((id, version)),
            }
        }
        if !need.is_empty() {
            let Some(conn) = conn else {
                return Ok(None);
            };
            let raw = self.raw_slots_many(conn, &need, from, to)?;
            for (id, version) in need {
                let Some(r) = raw.get(&id) else {
                    continue;
                };
                let n = NextFree::of(version, from, r, now);
                let key = SlotKey {
                    therapist_id: id,
                    version,
                    duration_min: 0,
                    from,
                    to,
                    json: false,
                };
                if self.kept_exactly(&key, r) {
                    self.next.insert(id, n);
                }
                if let Some(at) = n.at {
                    out.insert(id, at);
                }
            }
        }
        Ok(Some(out))
    }

    /// Which of `wanted` (therapist id, current version) have a slot of their shortest service
    /// on local date `day` that a request at `now` may book. A therapist's answer is remembered
    /// per date and version, so a repeated search reads one map under one lock. `None` when
    /// some answer is not remembered and there is no connection to load it with.
    pub fn free_on(
        &self,
        conn: Option<&mut DbConnection>,
        wanted: &[(i64, i64)],
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<i64>>, AppError> {
        let memo = self
            .days
            .get_or_insert_with(&day, || {
                Ok::<_, std::convert::Infallible>(Arc::new(DayMemo::default()))
            })
            .unwrap_or_else(|never| match never {});
        let mut free = Vec::new();
        let mut unsure = Vec::new();
        // The start window of each set of rules, computed once (most therapists share them).
        let mut last: Option<((Duration, Duration), StartWindow)> = None;
        let mut window = |rules: (Duration, Duration)| match last {
            Some((r, w)) if r == rules => w,
            _ => {
                let w = availability::start_window(now, rules.0, rules.1);
                last = Some((rules, w));
                w
            }
        };
        {
            let m = memo.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            for &(id, version) in wanted {
                match m
                    .get(&id)
                    .filter(|f| f.version == version)
                    .map(|f| f.free_in(window(f.rules)))
                {
                    Some(Some(true)) => free.push(id),
                    Some(Some(false)) => {}
                    _ => unsure.push((id, version)),
                }
            }
        }
        if !unsure.is_empty() {
            let Some(conn) = conn else {
                return Ok(None);
            };
            let raw = self.raw_slots_many(conn, &unsure, day, day)?;
            let mut m = memo
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for (id, version) in unsure {
                let Some(r) = raw.get(&id) else {
                    continue;
                };
                if r.bookable(now).next().is_some() {
                    free.push(id);
                }
                // Remembered only when the slots are that version's exactly (kept by
                // `raw_slots_many`; a schedule that changed while it loaded is not).
                let key = SlotKey {
                    therapist_id: id,
                    version,
                    duration_min: 0,
                    from: day,
                    to: day,
                    json: false,
                };
                if self.kept_exactly(&key, r) {
                    m.insert(id, FreeDay::of(version, r));
                }
            }
        }
        Ok(Some(free))
    }

    /// The active services of `wanted` (therapist id, current version): kept per version, so a
    /// repeated page reads one small entry per therapist; those not kept are read in one query
    /// (each row with its therapist's version, in the same statement: a menu read at the version
    /// asked for is kept, a newer one serves this request only). `None` when some menu is not
    /// kept and there is no connection to read it with.
    pub fn menus(
        &self,
        conn: Option<&mut DbConnection>,
        wanted: &[(i64, i64)],
    ) -> Result<Option<Vec<Option<Arc<Menu>>>>, AppError> {
        // The result lines of a repeated page: one lookup each, no map.
        let mut out: Vec<Option<Arc<Menu>>> = Vec::with_capacity(wanted.len());
        let mut need = Vec::new();
        for (i, &(id, version)) in wanted.iter().enumerate() {
            match self.menus.get(&id) {
                Some(m) if m.version == version => out.push(Some(m)),
                _ => {
                    out.push(None);
                    need.push((i, id, version));
                }
            }
        }
        if need.is_empty() {
            return Ok(Some(out));
        }
        let Some(conn) = conn else {
            return Ok(None);
        };
        let ids: Vec<i64> = need.iter().map(|&(_, id, _)| id).collect();
        // Every therapist asked about yields a row (NULL service columns when it has none), with
        // its version as of this very statement.
        let rows: Vec<MenuRow> = therapists::table
            .left_join(
                services::table.on(services::therapist_id
                    .eq(therapists::id)
                    .and(services::retired_at.is_null())),
            )
            .filter(therapists::id.eq_any(&ids))
            .select((
                therapists::id,
                therapists::schedule_version,
                services::id.nullable(),
                services::technique_slug.nullable(),
                services::duration_min.nullable(),
                services::price_cents.nullable(),
            ))
            .load(conn)?;
        let mut read: HashMap<i64, Menu> = HashMap::with_capacity(need.len());
        for (id, version, service_id, slug, duration_min, price_cents) in rows {
            let menu = read.entry(id).or_insert_with(|| Menu {
                version,
                items: Vec::new(),
            });
            if let (Some(sid), Some(slug), Some(d), Some(p)) =
                (service_id, slug, duration_min, price_cents)
            {
                menu.items.extend(MenuItem::of(sid, &slug, d, p));
            }
        }
        for (i, id, version) in need {
            let Some(menu) = read.remove(&id) else {
                continue;
            };
            let menu = Arc::new(menu);
            if menu.version == version {
                self.menus.insert(id, menu.clone());
            }
            out[i] = Some(menu);
        }
        Ok(Some(out))
    }

    /// The service as last read, if it was read at schedule version `version` of its therapist.
    pub fn service_at(&self, service_id: i64, version: i64) -> Option<ServiceAt> {
        self.services
            .get(&service_id)
            .filter(|s| s.version == version)
    }

    pub fn keep_service(&self, service_id: i64, service: ServiceAt) {
        self.services.insert(service_id, service);
    }

    /// The schedules of `wanted` (therapist id, current version), loaded in six queries for
    /// those not cached at that version (the five tables, at once when connections are idle to
    /// spread over, then the versions again). A schedule that changed again while it loaded is used
    /// for this request only.
    pub fn schedules(
        &self,
        conn: &mut DbConnection,
        wanted: &[(i64, i64)],
    ) -> Result<HashMap<i64, Arc<CachedSchedule>>, AppError> {
        let mut out = HashMap::with_capacity(wanted.len());
        let mut missing = Vec::new();
        for &(id, version) in wanted {
            match self.schedules.get(&id) {
                Some(c) if c.version == version => {
                    out.insert(id, c);
                }
                _ => missing.push((id, version)),
            }
        }
        for chunk in missing.chunks(2000) {
            let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
            let now = Utc::now();
            let (mut loaded, mut services) = self.load_with_services(
                conn,
                &ids,
                (now - Duration::days(CACHED_PAST_DAYS), far_future()),
            )?;
            // Read the versions again: a schedule whose version did not move while it loaded
            // is exactly that version's.
            let after: HashMap<i64, i64> = read_versions(conn, &ids)?.into_iter().collect();
            for &(id, version) in chunk {
                let menu = Arc::new(Menu {
                    version,
                    items: services.remove(&id).unwrap_or_default(),
                });
                let exact = after.get(&id) == Some(&version);
                if exact {
                    // Read between the version asked for and the same version read again: that
                    // version's menu, kept for the result lines too.
                    self.menus.insert(id, menu.clone());
                }
                let Some(schedule) = loaded.remove(&id) else {
                    continue;
                };
                let entry = Arc::new(CachedSchedule {
                    version,
                    schedule,
                    shortest_min: menu.shortest_min(),
                });
                if exact {
                    self.schedules.insert(id, entry.clone());
                }
                out.insert(id, entry);
            }
        }
        Ok(out)
    }

    /// Whether `entry` is the cached schedule of `id` (so that it is that version's exactly).
    fn is_cached(&self, id: i64, entry: &Arc<CachedSchedule>) -> bool {
        self.schedules
            .get(&id)
            .is_some_and(|c| Arc::ptr_eq(&c, entry))
    }

    /// The slots of `key` if they are kept (no database work at all).
    pub fn cached_raw_slots(&self, key: &SlotKey) -> Option<Arc<RawSlots>> {
        self.slots.get(key)
    }

    /// The slots of `key`, before the clock's rules ([`RawSlots::bookable`] applies them).
    pub fn raw_slots(
        &self,
        conn: &mut DbConnection,
        key: SlotKey,
    ) -> Result<Arc<RawSlots>, AppError> {
        if let Some(hit) = self.slots.get(&key) {
            return Ok(hit);
        }
        let id = key.therapist_id;
        let mut s = self.schedules(conn, &[(id, key.version)])?;
        let cached = s.remove(&id).ok_or(AppError::NotFound)?;
        let raw = Arc::new(compute_raw(
            &cached,
            key.duration_min,
            key.from,
            key.to,
            key.json,
        )?);
        if self.is_cached(id, &cached) {
            self.slots.insert(key, raw.clone());
        }
        Ok(raw)
    }

    /// Like [`raw_slots`](Self::raw_slots) for many therapists at once (the directory), each
    /// with its shortest service; therapists without an active service or hours are left out.
    pub fn raw_slots_many(
        &self,
        conn: &mut DbConnection,
        wanted: &[(i64, i64)],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<HashMap<i64, Arc<RawSlots>>, AppError> {
        // Kept under duration 0, which no service has: "the shortest active service".
        let key = |therapist_id, version| SlotKey {
            therapist_id,
            version,
            duration_min: 0,
            from,
            to,
            json: false,
        };
        let mut out = HashMap::with_capacity(wanted.len());
        let mut need = Vec::new();
        for &(id, version) in wanted {
            match self.slots.get(&key(id, version)) {
                Some(hit) => {
                    out.insert(id, hit);
                }
                None => need.push((id, version)),
            }
        }
        if !need.is_empty() {
            for (id, c) in self.schedules(conn, &need)? {
                let raw = Arc::new(match c.shortest_min {
                    Some(d) => compute_raw(&c, d, from, to, false)?,
                    None => RawSlots {
                        tz: c.schedule.tz,
                        min_notice_hours: c.schedule.min_notice_hours,
                        max_advance_days: c.schedule.max_advance_days,
                        cancellation_window_hours: c.schedule.cancellation_window_hours,
                        slots: Vec::new(),
                        json: None,
                    },
                });
                if self.is_cached(id, &c) {
                    self.slots.insert(key(id, c.version), raw.clone());
                }
                out.insert(id, raw);
            }
        }
        Ok(out)
    }
}

/// Later than any instant a request may ask about.
fn far_future() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .expect("a date")
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

fn compute_raw(
    c: &CachedSchedule,
    duration_min: i32,
    from: NaiveDate,
    to: NaiveDate,
    json: bool,
) -> Result<RawSlots, AppError> {
    let s = &c.schedule;
    let slots =
        availability::slots_ignoring_now(&s.query(duration_min as i64, Utc::now(), from, to))
            .map_err(slot_query_error)?;
    let json = json.then(|| {
        slots
            .iter()
            .map(|i| {
                format!(
                    r#"{{"starts_at":"{}","ends_at":"{}"}}"#,
                    local_rfc3339(i.start, s.tz),
                    local_rfc3339(i.end, s.tz)
                )
                .into_boxed_str()
            })
            .collect()
    });
    Ok(RawSlots {
        tz: s.tz,
        min_notice_hours: s.min_notice_hours,
        max_advance_days: s.max_advance_days,
        cancellation_window_hours: s.cancellation_window_hours,
        slots,
        json,
    })
}

/// The engine's refusal of a date range, as the error the caller sees.
pub fn slot_query_error(e: availability::SlotQueryError) -> AppError {
    match e {
        availability::SlotQueryError::RangeTooLong => {
            AppError::field("to", "Ask for at most 31 days at a time.")
        }
        availability::SlotQueryError::ToBeforeFrom => {
            AppError::field("to", "`to` must not be before `from`.")
        }
        other => AppError::BadRequest(other.to_string()),
    }
}

/// An instant as RFC 3339 in a zone, to the second ("2026-03-09T09:00:00-04:00").
pub fn local_rfc3339(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::Interval;
    use chrono::TimeZone;

    /// A load takes up to four idle connections, leaving four, and none while another runs.
    #[test]
    fn a_load_spreads_over_idle_connections_only_when_it_runs_alone() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::DatabaseUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("s.db").display()
        ))
        .unwrap();
        let idle = |n: u32| {
            let pool = crate::db::build_lazy_pool(&url, n).unwrap();
            drop((0..n).map(|_| pool.get().unwrap()).collect::<Vec<_>>());
            assert_eq!(pool.state().idle_connections, n);
            pool
        };
        let cache = ScheduleCache::new();
        assert_eq!(cache.begin_load().1.len(), 0, "no pool to spread over");
        cache.spread_loads_over(idle(10));
        let (first, helpers) = cache.begin_load();
        assert_eq!(helpers.len(), SPREAD_HELPERS);
        assert_eq!(cache.begin_load().1.len(), 0, "another load runs");
        drop((first, helpers));
        assert_eq!(cache.spread_width(), SPREAD_HELPERS);
        let small = ScheduleCache::new();
        small.spread_loads_over(idle(6));
        assert_eq!(small.spread_width(), 6 - SPREAD_LEAVES_IDLE as usize);
    }

    /// Hour-long slots starting at these quarter hours after `base` (sorted, once each).
    fn raw_at(
        base: DateTime<Utc>,
        mut starts: Vec<i64>,
        notice_h: i32,
        advance_d: i32,
    ) -> RawSlots {
        starts.sort();
        starts.dedup();
        RawSlots {
            tz: chrono_tz::America::New_York,
            min_notice_hours: notice_h,
            max_advance_days: advance_d,
            cancellation_window_hours: 24,
            slots: starts
                .iter()
                .map(|q| Interval {
                    start: base + Duration::minutes(15 * q),
                    end: base + Duration::minutes(15 * q + 60),
                })
                .collect(),
            json: None,
        }
    }

    proptest::proptest! {
        /// A remembered next free time is the answer a fresh look at the slots gives at every
        /// instant up to its `valid_until`.
        #[test]
        fn a_remembered_next_free_time_holds_until_it_says(
            starts in proptest::collection::vec(0i64..400, 0..20),
            now_q in -100i64..300,
            later_q in 0i64..400,
            notice_h in 0i32..30,
            advance_d in 0i32..4,
        ) {
            let base = Utc.with_ymd_and_hms(2026, 3, 7, 0, 0, 0).unwrap();
            let raw = raw_at(base, starts, notice_h, advance_d);
            let day = base.date_naive();
            let now = base + Duration::minutes(15 * now_q);
            let n = NextFree::of(1, day, &raw, now);
            let fresh = |at: DateTime<Utc>| raw.bookable(at).next().map(|(_, s)| s.start);
            let at = |version, now| n.at(version, day, now).map(|a| a.map(|a| a.at));
            proptest::prop_assert_eq!(at(1, now), Some(fresh(now)));
            let later = now + Duration::minutes(7 * later_q);
            if let Some(answer) = at(1, later) {
                proptest::prop_assert_eq!(answer, fresh(later));
            }
            proptest::prop_assert_eq!(at(2, now), None, "another version");
            if let Some(Some(a)) = n.at(1, day, now) {
                // What is written out once is what formatting the time afresh writes.
                proptest::prop_assert_eq!(a.utc.as_str(), a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                proptest::prop_assert_eq!(a.local.as_str(), local_rfc3339(a.at, a.tz));
            }
            let answer = at(1, n.valid_until);
            proptest::prop_assert_eq!(answer, Some(fresh(n.valid_until.min(far_future()))));
        }

        /// What a remembered free day answers is what the slots themselves answer, whenever it
        /// answers at all; and it declines only when the window both opens and closes inside
        /// the day's slots.
        #[test]
        fn a_free_day_answers_as_its_slots_do(
            starts in proptest::collection::vec(0i64..96, 0..12),
            now_q in -200i64..300,
            notice_h in 0i32..48,
            advance_d in 0i32..3,
        ) {
            let base = Utc.with_ymd_and_hms(2026, 3, 8, 0, 0, 0).unwrap();
            let raw = raw_at(base, starts, notice_h, advance_d);
            let now = base + Duration::minutes(15 * now_q);
            // Bisection finds what a scan of every slot finds.
            let (earliest, latest) = availability::start_window(
                now,
                Duration::hours(notice_h as i64),
                Duration::days(advance_d as i64),
            );
            let scanned: Vec<usize> = (0..raw.slots.len())
                .filter(|i| raw.slots[*i].start >= earliest && raw.slots[*i].start <= latest)
                .collect();
            let bisected: Vec<usize> = raw.bookable(now).map(|(i, _)| i).collect();
            proptest::prop_assert_eq!(bisected, scanned);
            let exact = raw.bookable(now).next().is_some();
            match FreeDay::of(7, &raw).free(now) {
                Some(answer) => proptest::prop_assert_eq!(answer, exact),
                None => {
                    let (earliest, latest) = availability::start_window(
                        now,
                        Duration::hours(notice_h as i64),
                        Duration::days(advance_d as i64),
                    );
                    proptest::prop_assert!(raw.slots[0].start < earliest);
                    proptest::prop_assert!(raw.slots.last().unwrap().start > latest);
                }
            }
        }
    }
}
