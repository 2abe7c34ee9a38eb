//! Free days known ahead: for every therapist, which of the next [`MAP_DAYS`] local dates hold a
//! slot of the shortest active service, so that "free on this day" is answered for tens of
//! thousands of candidates without computing anyone's slots while the request waits.
//!
//! **What a map holds.** A [`DayMap`] is computed from a schedule at one schedule version
//! (`therapists.schedule_version`, which database triggers move with every change the slots
//! depend on) for the dates `base ..= base + MAP_DAYS - 1`. For each date it keeps two bytes: 0
//! when the date has no slot, else the quarter hours in which the date's first and last slots
//! start, and for the whole map whether every start lies on a quarter hour (the app's own
//! schedules: working hours on quarter hours, a 15-minute grid), when those quarter hours are the
//! starts themselves. The clock's rules (the minimum notice and the advance window,
//! [`availability::start_window`]) are applied per request: the date is free at `now` when a
//! slot starts inside the window, which the last start decides (a last start at or after the
//! window's opening and no later than its end), or the first start when the window closes before
//! the last one; where neither can tell (the window opens within the quarter hour of the last
//! start, or closes within that of the first), [`DayMap::free_in`] says `None` and the slots
//! themselves decide (`ScheduleCache::free_on`). A map of another version than the directory
//! index's current one is never used.
//!
//! **The soonest sort's bounds.** [`DayMap::next_free_bound`] gives an instant before which a
//! request at `now` cannot book the therapist: the first start of the first date whose last start
//! is not before the window opens, or the opening itself when later. The search weighs
//! candidates in the order of these bounds and computes the exact next free time of the first
//! ones only, until no bound left can beat the page (`search::engine`): a big city's soonest sort
//! needs a page's worth of slots, not tens of thousands.
//!
//! **Kept current.** Maps live in memory ([`FreeDayMaps`], in the schedule cache) and in the
//! `free_day_maps` table, so a server starts with them. A background thread of each server
//! (`search::mapper::Mapper`) compares every therapist's current version (from the synced directory index) with
//! its map every [`MAPPER_INTERVAL`] and brings the stale ones up to date in batches: it takes a
//! stored map when another server (or the seed) already wrote that version, else it computes the
//! map and stores it. A map is also renewed once its `base` lies a week or more behind (spread
//! over a further week by therapist id), so that the dates searched stay inside it. Until a map is
//! current its therapist goes the exact way, where the candidate cap (`MAX_CANDIDATES`) applies.
//! `bodywork seed` writes the seeded therapists' maps.

use std::sync::RwLock;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Date, Integer};
use rustc_hash::FxHashMap;

use crate::db::DbConnection;
use crate::domain::availability;
use crate::error::AppError;

/// How many local dates a map covers (two of the engine's 31-day queries).
pub const MAP_DAYS: usize = 62;
/// How often each server looks for maps to bring up to date.
pub const MAPPER_INTERVAL: StdDuration = StdDuration::from_secs(5);
/// How many therapists' maps are read or computed together (five queries each batch).
pub const BATCH: usize = 1000;
/// A date's byte when its last start could not be written (never expected: see [`ORIGIN_HOURS`]).
const UNKNOWN: u8 = u8::MAX;
/// A local date's slots start no earlier than 14 hours before its UTC midnight (UTC+14) and no
/// later than 36 hours after it (UTC-12): quarter hours are counted from the former, and the
/// 200 of them fit a byte.
const ORIGIN_HOURS: i64 = 14;
const QUARTER_MIN: i64 = 15;

/// The earliest and the latest start a request may book (`availability::start_window`).
pub type Window = (DateTime<Utc>, DateTime<Utc>);

/// A therapist's free days at one schedule version (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayMap {
    pub version: i64,
    /// The first date covered.
    pub base: NaiveDate,
    /// The minimum notice, in hours, and the advance window, in days, of that version.
    pub notice_hours: u16,
    pub advance_days: u16,
    /// Every slot start of the schedule lies on a quarter hour of UTC (see
    /// [`availability::starts_on_quarter_hours`]): the quarter hours kept are then the starts
    /// themselves, not only the quarter they fall in.
    pub on_quarters: bool,
    /// Per date from `base`: 0 without a slot, else 1 + the quarter hour of the last start,
    /// counted from [`ORIGIN_HOURS`] before the date's UTC midnight.
    last_starts: [u8; MAP_DAYS],
    /// The same for each date's first start.
    first_starts: [u8; MAP_DAYS],
}

/// Where a date's quarter hours are counted from.
fn origin(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - Duration::hours(ORIGIN_HOURS)
}

/// A date's byte for a start: 1 + its quarter hour from the date's origin.
fn quarter_byte(date: NaiveDate, start: DateTime<Utc>) -> u8 {
    let quarter = (start - origin(date)).num_minutes().div_euclid(QUARTER_MIN);
    match u8::try_from(quarter + 1) {
        Ok(b) if b != UNKNOWN && b > 0 => b,
        _ => UNKNOWN,
    }
}

/// `t` rounded up to a quarter hour of UTC.
fn quarter_ceil(t: DateTime<Utc>) -> DateTime<Utc> {
    let over = t.timestamp().rem_euclid(QUARTER_MIN * 60);
    let exact = over == 0 && t.timestamp_subsec_nanos() == 0;
    if exact {
        return t;
    }
    let floor =
        t - Duration::seconds(over) - Duration::nanoseconds(t.timestamp_subsec_nanos() as i64);
    floor
        .checked_add_signed(Duration::minutes(QUARTER_MIN))
        .unwrap_or(t)
}

impl DayMap {
    /// The map of the first and the last slot start of each date (computed without the clock's
    /// rules, `availability::day_starts_ignoring_now`) for the dates `base ..= base + MAP_DAYS -
    /// 1`. `on_quarters` says the schedule's starts are on its clock's quarter hours
    /// (`availability::starts_on_quarter_hours`); the map holds it only when the starts kept are
    /// on UTC's quarter hours too.
    pub fn of(
        version: i64,
        base: NaiveDate,
        rules: (i32, i32),
        starts: &[availability::DayStarts],
        on_quarters: bool,
    ) -> DayMap {
        let mut last_starts = [0u8; MAP_DAYS];
        let mut first_starts = [0u8; MAP_DAYS];
        let on_utc_quarter = |t: DateTime<Utc>| {
            t.timestamp().rem_euclid(QUARTER_MIN * 60) == 0 && t.timestamp_subsec_nanos() == 0
        };
        let mut on_quarters = on_quarters;
        for d in starts {
            let Ok(i) = usize::try_from((d.date - base).num_days()) else {
                continue;
            };
            if i >= MAP_DAYS {
                continue;
            }
            last_starts[i] = quarter_byte(d.date, d.last);
            first_starts[i] = quarter_byte(d.date, d.first);
            on_quarters &= on_utc_quarter(d.first) && on_utc_quarter(d.last);
        }
        DayMap {
            version,
            base,
            notice_hours: rules.0.clamp(0, u16::MAX as i32) as u16,
            advance_days: rules.1.clamp(0, u16::MAX as i32) as u16,
            on_quarters,
            last_starts,
            first_starts,
        }
    }

    /// The start window of a request at `now` under this map's rules.
    pub fn window(&self, now: DateTime<Utc>) -> Window {
        availability::start_window(
            now,
            Duration::hours(self.notice_hours as i64),
            Duration::days(self.advance_days as i64),
        )
    }

    /// Whether a slot on local date `day` starts inside the start window `(earliest, latest)`;
    /// None when the map cannot tell (a date outside it, or one of the two cases of the module).
    pub fn free_in(&self, day: NaiveDate, window: Window) -> Option<bool> {
        let i = usize::try_from((day - self.base).num_days()).ok()?;
        self.free_at(i, origin(day), window)
    }

    /// [`free_in`](Self::free_in) of the date at index `i`, whose quarter hours count from
    /// `origin`.
    fn free_at(&self, i: usize, origin: DateTime<Utc>, (earliest, latest): Window) -> Option<bool> {
        self.free_within(i, (earliest - origin, latest - origin))
    }

    /// [`free_at`](Self::free_at) with the window given as offsets from the date's origin (what a
    /// search computes once for all candidates of the same rules: no date arithmetic per map).
    fn free_within(&self, i: usize, (earliest, latest): (Duration, Duration)) -> Option<bool> {
        let byte = *self.last_starts.get(i)?;
        if byte == 0 {
            return Some(false);
        }
        if latest < Duration::zero() {
            // The whole date lies beyond the advance window.
            return Some(false);
        }
        if byte == UNKNOWN {
            return None;
        }
        // The last start lies in [lo, lo + 15 min).
        let lo = Duration::seconds((byte as i64 - 1) * QUARTER_MIN * 60);
        let hi = lo + Duration::seconds(QUARTER_MIN * 60);
        if hi <= earliest {
            // Every slot of the date starts before the window opens.
            Some(false)
        } else if lo < earliest {
            None
        } else if hi <= latest {
            // The last start itself is inside the window.
            Some(true)
        } else {
            // The last start may lie beyond the window's far end: the first start decides when
            // it lies wholly inside the window or wholly beyond it.
            match self.first_starts.get(i).copied() {
                Some(first) if first != 0 && first != UNKNOWN => {
                    let lo = Duration::seconds((first as i64 - 1) * QUARTER_MIN * 60);
                    let hi = lo + Duration::seconds(QUARTER_MIN * 60);
                    if lo > latest {
                        Some(false)
                    } else if lo >= earliest && hi <= latest {
                        Some(true)
                    } else {
                        None
                    }
                }
                _ => None,
            }
        }
    }

    /// A lower bound of the next start of a slot a request at `now` may book: no such slot
    /// starts before it (the soonest sort weighs the therapists in this order and computes the
    /// exact next free time of the first ones only, `search::engine`). The first date whose last
    /// start is not before the window opens holds the first such start, at its first start or
    /// at the window's opening (rounded up to a quarter hour when the starts are on quarter
    /// hours), whichever is later. Without such a date in the map, the map's end.
    pub fn next_free_bound(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let (earliest, _) = self.window(now);
        // A date before the map may hold starts up to 50 hours after its origin.
        if earliest < origin(self.base) + Duration::hours(26) {
            return earliest;
        }
        let opens = if self.on_quarters {
            quarter_ceil(earliest)
        } else {
            earliest
        };
        let quarter = Duration::minutes(QUARTER_MIN);
        for i in 0..MAP_DAYS {
            let last = self.last_starts[i];
            if last == 0 {
                continue;
            }
            let day = self.base + Duration::days(i as i64);
            let at = |byte: u8| origin(day) + quarter * (byte as i32 - 1);
            if last != UNKNOWN {
                // The last start is the quarter's first instant on quarters, else within it.
                let latest_last = if self.on_quarters {
                    at(last)
                } else {
                    at(last) + quarter - Duration::nanoseconds(1)
                };
                if latest_last < earliest {
                    continue;
                }
            }
            let first = match self.first_starts[i] {
                0 | UNKNOWN => origin(day),
                b => at(b),
            };
            return first.max(opens);
        }
        origin(self.base + Duration::days(MAP_DAYS as i64))
    }

    fn from_stored(row: StoredMap) -> Option<DayMap> {
        Some(DayMap {
            version: row.schedule_version,
            base: row.base,
            notice_hours: u16::try_from(row.notice_hours).ok()?,
            advance_days: u16::try_from(row.advance_days).ok()?,
            on_quarters: row.on_quarters,
            last_starts: row.last_starts.try_into().ok()?,
            first_starts: row.first_starts.try_into().ok()?,
        })
    }
}

/// The first date a map computed on `today` (UTC) covers: the day before, where the local date
/// of a zone behind UTC may still be.
pub fn base_for(today: NaiveDate) -> NaiveDate {
    today - Duration::days(1)
}

/// Whether a map of `base` is due for renewal on `today`: a week behind, plus up to a week more
/// by therapist id, so that the maps written together (by the seed) are not all renewed on one
/// day.
pub fn base_is_old(base: NaiveDate, id: i64, today: NaiveDate) -> bool {
    base + Duration::days(7 + id.rem_euclid(8)) < base_for(today)
}

/// Every therapist's map, in memory.
#[derive(Debug, Default)]
pub struct FreeDayMaps {
    maps: RwLock<Kept>,
}

/// Ids below this are kept in a list by id (therapist ids are dense: a search looks up tens of
/// thousands of them, one memory read each), the rest in a hash table.
const DENSE_IDS: i64 = 1 << 24;

/// The maps by therapist id.
#[derive(Debug, Default)]
struct Kept {
    dense: Vec<Option<DayMap>>,
    sparse: FxHashMap<i64, DayMap>,
}

impl Kept {
    fn get(&self, id: i64) -> Option<&DayMap> {
        if (0..DENSE_IDS).contains(&id) {
            self.dense.get(id as usize)?.as_ref()
        } else {
            self.sparse.get(&id)
        }
    }

    /// Asks the CPU for the map of `id` ahead of its lookup (`search::prefetch`).
    fn prefetch(&self, id: i64) {
        if (0..DENSE_IDS).contains(&id) {
            crate::search::prefetch(&self.dense, id as usize);
        }
    }

    fn insert(&mut self, id: i64, m: DayMap) {
        if (0..DENSE_IDS).contains(&id) {
            let i = id as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, None);
            }
            self.dense[i] = Some(m);
        } else {
            self.sparse.insert(id, m);
        }
    }
}

/// How many lookups ahead [`FreeDayMaps::decide`] asks for a map.
const PREFETCH_AHEAD: usize = 8;

impl FreeDayMaps {
    /// Decides "free on `day` at `now`" for `wanted` (therapist id, current schedule version)
    /// from the maps of exactly those versions: for each, in the order asked, free that day or
    /// not, or None when the maps cannot tell (no current map, or one of the module's two cases).
    pub fn decide(
        &self,
        wanted: &[(i64, i64)],
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Vec<Option<bool>> {
        let mut out = Vec::with_capacity(wanted.len());
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        // The window of each set of rules, as offsets from the date's origin, computed once
        // (most therapists share them).
        let mut last: Option<((u16, u16), (Duration, Duration))> = None;
        // The date's index in maps of one base, and where its quarter hours count from.
        let mut index: Option<(NaiveDate, Option<usize>)> = None;
        let start = origin(day);
        for (n, &(id, version)) in wanted.iter().enumerate() {
            if let Some(&(ahead, _)) = wanted.get(n + PREFETCH_AHEAD) {
                maps.prefetch(ahead);
            }
            let answer = maps.get(id).filter(|m| m.version == version).and_then(|m| {
                let rules = (m.notice_hours, m.advance_days);
                let w = match last {
                    Some((r, w)) if r == rules => w,
                    _ => {
                        let (earliest, latest) = m.window(now);
                        let w = (earliest - start, latest - start);
                        last = Some((rules, w));
                        w
                    }
                };
                let i = match index {
                    Some((base, i)) if base == m.base => i,
                    _ => {
                        let i = usize::try_from((day - m.base).num_days()).ok();
                        index = Some((m.base, i));
                        i
                    }
                };
                m.free_within(i?, w)
            });
            out.push(answer);
        }
        out
    }

    /// For each of `wanted` (therapist id, current schedule version), in the order asked, an
    /// instant before which a request at `now` cannot book them ([`DayMap::next_free_bound`]),
    /// from the map of exactly that version; `now` itself without one.
    pub fn bounds(&self, wanted: &[(i64, i64)], now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        wanted
            .iter()
            .enumerate()
            .map(|(n, &(id, version))| {
                if let Some(&(ahead, _)) = wanted.get(n + PREFETCH_AHEAD) {
                    maps.prefetch(ahead);
                }
                maps.get(id)
                    .filter(|m| m.version == version)
                    .map_or(now, |m| m.next_free_bound(now))
            })
            .collect()
    }

    /// Keeps maps, each unless a newer version's is already kept.
    pub fn keep(&self, maps: impl IntoIterator<Item = (i64, DayMap)>) {
        let mut kept = self.maps.write().unwrap_or_else(|p| p.into_inner());
        for (id, m) in maps {
            match kept.get(id) {
                Some(old) if (old.version, old.base) > (m.version, m.base) => {}
                _ => kept.insert(id, m),
            }
        }
    }

    /// Reads every stored map (at start, before the first request).
    pub fn load(&self, conn: &mut DbConnection) -> Result<usize, AppError> {
        let mut after = 0i64;
        let mut n = 0;
        loop {
            let rows: Vec<StoredMap> = diesel::sql_query(
                "SELECT therapist_id, schedule_version, base, notice_hours, advance_days, \
                 last_starts, first_starts, on_quarters \
                 FROM free_day_maps WHERE therapist_id > $1 ORDER BY therapist_id LIMIT 100000",
            )
            .bind::<BigInt, _>(after)
            .load(conn)?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.therapist_id;
            n += rows.len();
            self.keep(
                rows.into_iter()
                    .filter_map(|r| Some((r.therapist_id, DayMap::from_stored(r)?))),
            );
        }
        self.maps
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .dense
            .shrink_to_fit();
        Ok(n)
    }

    /// The therapists of `current` (id, current schedule version) whose map is missing, of an
    /// older version, or due for renewal on `today`.
    pub fn stale(&self, current: &[(i64, i64)], today: NaiveDate) -> Vec<(i64, i64)> {
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        current
            .iter()
            .copied()
            .filter(|&(id, version)| match maps.get(id) {
                Some(m) => m.version < version || base_is_old(m.base, id, today),
                None => true,
            })
            .collect()
    }
}

#[derive(Debug, QueryableByName)]
struct StoredMap {
    #[diesel(sql_type = BigInt)]
    therapist_id: i64,
    #[diesel(sql_type = BigInt)]
    schedule_version: i64,
    #[diesel(sql_type = Date)]
    base: NaiveDate,
    #[diesel(sql_type = Integer)]
    notice_hours: i32,
    #[diesel(sql_type = Integer)]
    advance_days: i32,
    #[diesel(sql_type = Binary)]
    last_starts: Vec<u8>,
    #[diesel(sql_type = Binary)]
    first_starts: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    on_quarters: bool,
}

/// Writes maps to `free_day_maps`, each unless a newer version's (or a newer base's) is
/// stored. The values are numbers, a date and hexadecimal bytes, written into the statement.
pub fn store(conn: &mut DbConnection, maps: &[(i64, DayMap)]) -> Result<(), AppError> {
    let pg = matches!(conn, DbConnection::Postgresql(_));
    for chunk in maps.chunks(BATCH) {
        if chunk.is_empty() {
            continue;
        }
        let mut sql = String::with_capacity(chunk.len() * 320 + 400);
        sql.push_str(
            "INSERT INTO free_day_maps (therapist_id, schedule_version, base, notice_hours, \
             advance_days, last_starts, first_starts, on_quarters) VALUES ",
        );
        let blob = |bytes: &[u8]| {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            if pg {
                format!("'\\x{hex}'::bytea")
            } else {
                format!("X'{hex}'")
            }
        };
        for (k, (id, m)) in chunk.iter().enumerate() {
            if k > 0 {
                sql.push(',');
            }
            let date = if pg {
                format!("DATE '{}'", m.base)
            } else {
                format!("'{}'", m.base)
            };
            let on_quarters = match (pg, m.on_quarters) {
                (true, q) => q.to_string(),
                (false, q) => (q as u8).to_string(),
            };
            sql.push_str(&format!(
                "({id}, {}, {date}, {}, {}, {}, {}, {on_quarters})",
                m.version,
                m.notice_hours,
                m.advance_days,
                blob(&m.last_starts),
                blob(&m.first_starts),
            ));
        }
        sql.push_str(
            " ON CONFLICT (therapist_id) DO UPDATE SET \
             schedule_version = excluded.schedule_version, base = excluded.base, \
             notice_hours = excluded.notice_hours, advance_days = excluded.advance_days, \
             last_starts = excluded.last_starts, first_starts = excluded.first_starts, \
             on_quarters = excluded.on_quarters \
             WHERE free_day_maps.schedule_version < excluded.schedule_version \
             OR (free_day_maps.schedule_version = excluded.schedule_version \
                 AND free_day_maps.base < excluded.base)",
        );
        diesel::sql_query(sql).execute(conn)?;
    }
    Ok(())
}

/// The stored maps of `ids` (those another server or the seed wrote).
pub fn stored(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<(i64, DayMap)>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows: Vec<StoredMap> = diesel::sql_query(format!(
        "SELECT therapist_id, schedule_version, base, notice_hours, advance_days, \
                 last_starts, first_starts, on_quarters \
         FROM free_day_maps WHERE therapist_id IN ({list})"
    ))
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.therapist_id, DayMap::from_stored(r)?)))
        .collect())
}
