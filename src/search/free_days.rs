//! Free days known ahead: for every therapist, which of the next [`MAP_DAYS`] local dates hold a
//! slot of the shortest active service, so that "free on this day" is answered for tens of
//! thousands of candidates without computing anyone's slots while the request waits.
//!
//! **What a map holds.** A [`DayMap`] is computed from a schedule at one schedule version
//! (`therapists.schedule_version`, which database triggers move with every change the slots
//! depend on) for the dates `base ..= base + MAP_DAYS - 1`. For each date it keeps one byte: 0
//! when the date has no slot, else the quarter hour in which the date's last slot starts. The
//! clock's rules (the minimum notice and the advance window, [`availability::start_window`]) are
//! applied per request: the date is free at `now` when a slot starts inside the window, which the
//! last start decides (a last start at or after the window's opening and no later than its end)
//! except in two cases, where [`DayMap::free_in`] says `None` and the slots themselves decide
//! (`ScheduleCache::free_on`): the window opens within the quarter hour of the last start, or it
//! closes before the last start (the far end of the advance window: the first start would be
//! needed). A map of another version than the directory index's current one is never used.
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
    /// Per date from `base`: 0 without a slot, else 1 + the quarter hour of the last start,
    /// counted from [`ORIGIN_HOURS`] before the date's UTC midnight.
    days: [u8; MAP_DAYS],
}

/// Where a date's quarter hours are counted from.
fn origin(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - Duration::hours(ORIGIN_HOURS)
}

impl DayMap {
    /// The map of the last slot start of each date (computed without the clock's rules,
    /// `availability::last_starts_ignoring_now`) for the dates `base ..= base + MAP_DAYS - 1`.
    pub fn of(
        version: i64,
        base: NaiveDate,
        rules: (i32, i32),
        last_starts: &[(NaiveDate, DateTime<Utc>)],
    ) -> DayMap {
        let mut days = [0u8; MAP_DAYS];
        for &(date, start) in last_starts {
            let Ok(i) = usize::try_from((date - base).num_days()) else {
                continue;
            };
            let Some(byte) = days.get_mut(i) else {
                continue;
            };
            let quarter = (start - origin(date)).num_minutes().div_euclid(QUARTER_MIN);
            *byte = match u8::try_from(quarter + 1) {
                Ok(b) if b != UNKNOWN && b > 0 => b,
                _ => UNKNOWN,
            };
        }
        DayMap {
            version,
            base,
            notice_hours: rules.0.clamp(0, u16::MAX as i32) as u16,
            advance_days: rules.1.clamp(0, u16::MAX as i32) as u16,
            days,
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
        let byte = *self.days.get(i)?;
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
            None
        }
    }

    fn from_stored(row: StoredMap) -> Option<DayMap> {
        Some(DayMap {
            version: row.schedule_version,
            base: row.base,
            notice_hours: u16::try_from(row.notice_hours).ok()?,
            advance_days: u16::try_from(row.advance_days).ok()?,
            days: row.days.try_into().ok()?,
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
                "SELECT therapist_id, schedule_version, base, notice_hours, advance_days, days \
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
    days: Vec<u8>,
}

/// Writes maps to `free_day_maps`, each unless a newer version's (or a newer base's) is
/// stored. The values are numbers, a date and hexadecimal bytes, written into the statement.
pub fn store(conn: &mut DbConnection, maps: &[(i64, DayMap)]) -> Result<(), AppError> {
    let pg = matches!(conn, DbConnection::Postgresql(_));
    for chunk in maps.chunks(BATCH) {
        if chunk.is_empty() {
            continue;
        }
        let mut sql = String::with_capacity(chunk.len() * 180 + 400);
        sql.push_str(
            "INSERT INTO free_day_maps \
             (therapist_id, schedule_version, base, notice_hours, advance_days, days) VALUES ",
        );
        for (k, (id, m)) in chunk.iter().enumerate() {
            if k > 0 {
                sql.push(',');
            }
            let hex: String = m.days.iter().map(|b| format!("{b:02x}")).collect();
            let blob = if pg {
                format!("'\\x{hex}'::bytea")
            } else {
                format!("X'{hex}'")
            };
            let date = if pg {
                format!("DATE '{}'", m.base)
            } else {
                format!("'{}'", m.base)
            };
            sql.push_str(&format!(
                "({id}, {}, {date}, {}, {}, {blob})",
                m.version, m.notice_hours, m.advance_days
            ));
        }
        sql.push_str(
            " ON CONFLICT (therapist_id) DO UPDATE SET \
             schedule_version = excluded.schedule_version, base = excluded.base, \
             notice_hours = excluded.notice_hours, advance_days = excluded.advance_days, \
             days = excluded.days \
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
        "SELECT therapist_id, schedule_version, base, notice_hours, advance_days, days \
         FROM free_day_maps WHERE therapist_id IN ({list})"
    ))
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.therapist_id, DayMap::from_stored(r)?)))
        .collect())
}
