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
//! ([`Mapper`]) compares every therapist's current version (from the synced directory index) with
//! its map every [`MAPPER_INTERVAL`] and brings the stale ones up to date in batches: it takes a
//! stored map when another server (or the seed) already wrote that version, else it computes the
//! map and stores it. A map is also renewed once its `base` lies a week or more behind (spread
//! over a further week by therapist id), so that the dates searched stay inside it. Until a map is
//! current its therapist goes the exact way, where the candidate cap (`MAX_CANDIDATES`) applies.
//! `bodywork seed` writes the seeded therapists' maps.

use std::collections::HashMap;
use std::sync::{RwLock, Weak};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Date, Integer};
use rustc_hash::FxHashMap;

use crate::db::schema::therapists;
use crate::db::{DbConnection, Pool};
use crate::domain::availability::{self, Interval};
use crate::error::AppError;
use crate::search::index::DirectoryIndex;
use crate::search::schedules::{self, ScheduleCache};

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
    /// The map of slots computed without the clock's rules for the dates `base ..= base +
    /// MAP_DAYS - 1` (sorted by start, as the engine gives them).
    pub fn of(
        version: i64,
        base: NaiveDate,
        tz: Tz,
        rules: (i32, i32),
        slots: &[Interval],
    ) -> DayMap {
        let mut days = [0u8; MAP_DAYS];
        for s in slots {
            let date = s.start.with_timezone(&tz).date_naive();
            let Ok(i) = usize::try_from((date - base).num_days()) else {
                continue;
            };
            let Some(byte) = days.get_mut(i) else {
                continue;
            };
            let quarter = (s.start - origin(date))
                .num_minutes()
                .div_euclid(QUARTER_MIN);
            // Sorted by start: the last slot of the date writes last.
            *byte = match u8::try_from(quarter + 1) {
                Ok(b) if b != UNKNOWN && b > 0 && *byte != UNKNOWN => b,
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
    pub fn free_in(&self, day: NaiveDate, (earliest, latest): Window) -> Option<bool> {
        let i = usize::try_from((day - self.base).num_days()).ok()?;
        let byte = *self.days.get(i)?;
        if byte == 0 {
            return Some(false);
        }
        if origin(day) > latest {
            // The whole date lies beyond the advance window.
            return Some(false);
        }
        if byte == UNKNOWN {
            return None;
        }
        // The last start lies in [lo, lo + 15 min).
        let lo = origin(day) + Duration::minutes((byte as i64 - 1) * QUARTER_MIN);
        let hi = lo + Duration::minutes(QUARTER_MIN);
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

    /// The bytes stored in `free_day_maps.days`.
    pub fn days(&self) -> &[u8] {
        &self.days
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
fn base_is_old(base: NaiveDate, id: i64, today: NaiveDate) -> bool {
    base + Duration::days(7 + id.rem_euclid(8)) < base_for(today)
}

/// Every therapist's map, in memory.
#[derive(Debug, Default)]
pub struct FreeDayMaps {
    maps: RwLock<FxHashMap<i64, DayMap>>,
}

/// What [`FreeDayMaps::decide`] found: the therapists free that day, and those the maps could
/// not decide (no current map, or one of the module's two cases), with their versions.
#[derive(Debug, Default)]
pub struct Decided {
    pub free: Vec<i64>,
    pub unsure: Vec<(i64, i64)>,
}

impl FreeDayMaps {
    /// Decides "free on `day` at `now`" for `wanted` (therapist id, current schedule version)
    /// from the maps of exactly those versions.
    pub fn decide(&self, wanted: &[(i64, i64)], day: NaiveDate, now: DateTime<Utc>) -> Decided {
        let mut out = Decided::default();
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        // The window of each set of rules, computed once (most therapists share them).
        let mut last: Option<((u16, u16), Window)> = None;
        for &(id, version) in wanted {
            let answer = maps
                .get(&id)
                .filter(|m| m.version == version)
                .and_then(|m| {
                    let rules = (m.notice_hours, m.advance_days);
                    let w = match last {
                        Some((r, w)) if r == rules => w,
                        _ => {
                            let w = m.window(now);
                            last = Some((rules, w));
                            w
                        }
                    };
                    m.free_in(day, w)
                });
            match answer {
                Some(true) => out.free.push(id),
                Some(false) => {}
                None => out.unsure.push((id, version)),
            }
        }
        out
    }

    pub fn get(&self, id: i64) -> Option<DayMap> {
        self.maps
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
    }

    pub fn len(&self) -> usize {
        self.maps.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps maps, each unless a newer version's is already kept.
    pub fn keep(&self, maps: impl IntoIterator<Item = (i64, DayMap)>) {
        let mut kept = self.maps.write().unwrap_or_else(|p| p.into_inner());
        for (id, m) in maps {
            match kept.get(&id) {
                Some(old) if (old.version, old.base) > (m.version, m.base) => {}
                _ => {
                    kept.insert(id, m);
                }
            }
        }
    }

    /// Forgets every map (a test compares the maps' answers with the slots').
    pub fn clear(&self) {
        self.maps.write().unwrap_or_else(|p| p.into_inner()).clear();
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
        Ok(n)
    }

    /// The therapists of `current` (id, current schedule version) whose map is missing, of an
    /// older version, or due for renewal on `today`.
    pub fn stale(&self, current: &[(i64, i64)], today: NaiveDate) -> Vec<(i64, i64)> {
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        current
            .iter()
            .copied()
            .filter(|&(id, version)| match maps.get(&id) {
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

/// Computes the maps of `ids` at their versions in the database, for the dates from
/// [`base_for`]`(today)`, in five queries. A therapist whose version moved while it loaded is
/// left out (the next round takes it), and so is one without a booking policy.
pub fn compute(
    conn: &mut DbConnection,
    ids: &[i64],
    today: NaiveDate,
) -> Result<Vec<(i64, DayMap)>, AppError> {
    let versions = |conn: &mut DbConnection| -> Result<HashMap<i64, i64>, AppError> {
        Ok(therapists::table
            .filter(therapists::id.eq_any(ids))
            .select((therapists::id, therapists::schedule_version))
            .load::<(i64, i64)>(conn)?
            .into_iter()
            .collect())
    };
    let base = base_for(today);
    let last = base + Duration::days(MAP_DAYS as i64 - 1);
    let before = versions(conn)?;
    let (from, to) = schedules::utc_window(base, last);
    let mut loaded = schedules::load_schedules(conn, ids, from, to, None)?;
    let shortest = schedules::shortest_services(conn, ids)?;
    let after = versions(conn)?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let (Some(v), Some(s)) = (before.get(&id), loaded.remove(&id)) else {
            continue;
        };
        if after.get(&id) != Some(v) {
            continue;
        }
        let mut slots = Vec::new();
        if let Some(&d) = shortest.get(&id) {
            // Two of the engine's queries of at most 31 days.
            let half = base + Duration::days(MAP_DAYS as i64 / 2 - 1);
            for (a, b) in [(base, half), (half + Duration::days(1), last)] {
                slots.extend(
                    availability::slots_ignoring_now(&s.query(d as i64, Utc::now(), a, b))
                        .map_err(schedules::slot_query_error)?,
                );
            }
        }
        out.push((
            id,
            DayMap::of(
                *v,
                base,
                s.tz,
                (s.min_notice_hours, s.max_advance_days),
                &slots,
            ),
        ));
    }
    Ok(out)
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
fn stored(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<(i64, DayMap)>, AppError> {
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

/// What one round of [`bring_up_to_date`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Maps found stale.
    pub stale: usize,
    /// Taken from the table (written by another server or the seed).
    pub read: usize,
    /// Computed here (and stored).
    pub computed: usize,
}

/// Brings the maps of `current` (id, current version) up to date on `today`, in batches;
/// `go_on` is asked before each batch (a server stops when it is dropped).
pub fn bring_up_to_date(
    conn: &mut DbConnection,
    maps: &FreeDayMaps,
    current: &[(i64, i64)],
    today: NaiveDate,
    mut go_on: impl FnMut() -> bool,
) -> Result<Round, AppError> {
    let stale = maps.stale(current, today);
    let mut round = Round {
        stale: stale.len(),
        ..Round::default()
    };
    for batch in stale.chunks(BATCH) {
        if !go_on() {
            break;
        }
        let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        let wanted: HashMap<i64, i64> = batch.iter().copied().collect();
        // A map stored at the current version (or a newer one) and not due for renewal is taken.
        let mut fresh = Vec::new();
        for (id, m) in stored(conn, &ids)? {
            if wanted.get(&id).is_some_and(|v| m.version >= *v) && !base_is_old(m.base, id, today) {
                fresh.push((id, m));
            }
        }
        round.read += fresh.len();
        let have: rustc_hash::FxHashSet<i64> = fresh.iter().map(|(id, _)| *id).collect();
        let need: Vec<i64> = ids.into_iter().filter(|id| !have.contains(id)).collect();
        maps.keep(fresh);
        if need.is_empty() {
            continue;
        }
        let computed = compute(conn, &need, today)?;
        store(conn, &computed)?;
        round.computed += computed.len();
        maps.keep(computed);
    }
    Ok(round)
}

/// The background thread of one server that keeps its maps current (see the module). It ends
/// when the search engine it serves is dropped.
pub struct Mapper;

impl Mapper {
    pub fn start(
        pool: Pool,
        directory: Weak<DirectoryIndex>,
        cache: Weak<ScheduleCache>,
        every: StdDuration,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("free-day-maps".into())
            .spawn(move || loop {
                let alive = || directory.strong_count() > 0 && cache.strong_count() > 0;
                if !alive() {
                    return;
                }
                if let Err(e) = Self::round(&pool, &directory, &cache) {
                    tracing::warn!(error = ?e, "free day maps: a round failed");
                }
                // Sleeps in short steps so that a dropped engine ends the thread soon.
                let mut slept = StdDuration::ZERO;
                while slept < every {
                    if !alive() {
                        return;
                    }
                    let step = StdDuration::from_millis(200).min(every - slept);
                    std::thread::sleep(step);
                    slept += step;
                }
            })
    }

    fn round(
        pool: &Pool,
        directory: &Weak<DirectoryIndex>,
        cache: &Weak<ScheduleCache>,
    ) -> Result<(), AppError> {
        let (Some(d), Some(c)) = (directory.upgrade(), cache.upgrade()) else {
            return Ok(());
        };
        let mut conn = crate::db::checked_out(pool)?;
        let current = d.sync(&mut conn)?.schedule_versions();
        drop(d);
        let today = Utc::now().date_naive();
        if c.maps.stale(&current, today).is_empty() {
            return Ok(());
        }
        let alive = || directory.strong_count() > 0 && cache.strong_count() > 0;
        let round = bring_up_to_date(&mut conn, &c.maps, &current, today, alive)?;
        if round.stale > 0 {
            tracing::info!(
                stale = round.stale,
                read = round.read,
                computed = round.computed,
                "free day maps brought up to date"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::WeeklyRange;
    use crate::search::schedules::Schedule;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    fn schedule(rng: &mut StdRng, tz: Tz, base: NaiveDate) -> Schedule {
        let mut weekly = Vec::new();
        for wd in 0..7u8 {
            if rng.gen_bool(0.7) {
                let start = rng.gen_range(0..20) * 30;
                let end = (start + rng.gen_range(2..30) * 30).min(1440);
                weekly.push(WeeklyRange {
                    weekday: wd,
                    start_min: start as u16,
                    end_min: end as u16,
                });
            }
        }
        let at = |d: i64, m: i64| {
            (base + Duration::days(d))
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                + Duration::minutes(m)
        };
        let mut busy = Vec::new();
        for _ in 0..rng.gen_range(0..40) {
            let s = at(rng.gen_range(0..MAP_DAYS as i64), rng.gen_range(0..1440));
            busy.push(Interval {
                start: s,
                end: s + Duration::minutes(rng.gen_range(15..300)),
            });
        }
        let mut time_off = Vec::new();
        if rng.gen_bool(0.3) {
            let s = at(rng.gen_range(0..MAP_DAYS as i64), 0);
            time_off.push(Interval {
                start: s,
                end: s + Duration::hours(rng.gen_range(4..100)),
            });
        }
        Schedule {
            tz,
            weekly,
            time_off,
            busy,
            min_notice_hours: rng.gen_range(0..72),
            max_advance_days: rng.gen_range(1..90),
            buffer_min: rng.gen_range(0..3) * 15,
            cancellation_window_hours: 24,
        }
    }

    /// The map's answers agree with the slots' for random schedules, zones and clocks, and it
    /// leaves few dates to the slots.
    #[test]
    fn a_map_answers_as_the_slots_do() {
        let zones = [
            chrono_tz::America::New_York,
            chrono_tz::America::Los_Angeles,
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::Etc::GMTPlus12,
            chrono_tz::Asia::Kolkata,
            chrono_tz::Europe::London,
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let today = NaiveDate::from_ymd_opt(2026, 10, 27).unwrap();
        let base = base_for(today);
        let last = base + Duration::days(MAP_DAYS as i64 - 1);
        let (mut decided, mut unsure, mut free_seen) = (0, 0, 0);
        for round in 0..60 {
            let tz = zones[round % zones.len()];
            let s = schedule(&mut rng, tz, base);
            let duration = [30i64, 60, 90][rng.gen_range(0..3)];
            let half = base + Duration::days(MAP_DAYS as i64 / 2 - 1);
            let mut slots = Vec::new();
            for (a, b) in [(base, half), (half + Duration::days(1), last)] {
                slots.extend(
                    availability::slots_ignoring_now(&s.query(duration, Utc::now(), a, b)).unwrap(),
                );
            }
            let map = DayMap::of(
                3,
                base,
                tz,
                (s.min_notice_hours, s.max_advance_days),
                &slots,
            );
            for _ in 0..40 {
                let now = today.and_hms_opt(0, 0, 0).unwrap().and_utc()
                    + Duration::minutes(rng.gen_range(0..3 * 1440));
                let day = today + Duration::days(rng.gen_range(-1..MAP_DAYS as i64 - 1));
                let exact = !availability::free_slots(&s.query(duration, now, day, day))
                    .unwrap()
                    .is_empty();
                match map.free_in(day, map.window(now)) {
                    Some(answer) => {
                        assert_eq!(answer, exact, "{tz} {day} at {now}: {s:?}");
                        decided += 1;
                        free_seen += answer as usize;
                    }
                    None => unsure += 1,
                }
            }
        }
        assert!(free_seen > 100, "the schedules hardly had a free day");
        assert!(
            unsure * 10 < decided,
            "the map left {unsure} of {} dates to the slots",
            decided + unsure
        );
    }

    #[test]
    fn a_date_outside_the_map_is_left_to_the_slots() {
        let base = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let map = DayMap::of(1, base, chrono_tz::UTC, (0, 365), &[]);
        let now = base.and_hms_opt(0, 0, 0).unwrap().and_utc();
        let w = map.window(now);
        assert_eq!(map.free_in(base, w), Some(false));
        assert_eq!(map.free_in(base - Duration::days(1), w), None);
        assert_eq!(map.free_in(base + Duration::days(MAP_DAYS as i64), w), None);
    }
}
