//! Keeps the free-day maps (`search::free_days`) current: computes a therapist's map from its
//! schedule (`search::schedules`), and each server's background [`Mapper`] brings the stale ones
//! up to date against the directory index's versions. See `search::free_days` for what a map is.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::schema::therapists;
use crate::db::{DbConnection, Pool};
use crate::domain::availability;
use crate::error::AppError;
use crate::search::free_days::{
    base_for, base_is_old, store, stored, DayMap, FreeDayMaps, BATCH, MAP_DAYS,
};
use crate::search::index::DirectoryIndex;
use crate::search::schedules::{self, Schedule, ScheduleCache};

/// Computes the maps of `ids` at their versions in the database, for the dates from
/// [`base_for`]`(today)`, in five queries, on `threads` threads (the seed uses every core; a
/// server's mapper one, beside the requests). A therapist whose version moved while it loaded
/// is left out (the next round takes it), and so is one without a booking policy.
pub fn compute(
    conn: &mut DbConnection,
    ids: &[i64],
    today: NaiveDate,
    threads: usize,
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
    let before = versions(conn)?;
    let (from, to) = schedules::utc_window(base, base + Duration::days(MAP_DAYS as i64 - 1));
    let mut loaded = schedules::load_schedules(conn, ids, from, to, None)?;
    let shortest = schedules::shortest_services(conn, ids)?;
    let after = versions(conn)?;
    let exact: Vec<(i64, i64, Schedule, Option<i32>)> = ids
        .iter()
        .filter_map(|id| {
            let v = *before.get(id)?;
            let s = loaded.remove(id)?;
            (after.get(id) == Some(&v)).then(|| (*id, v, s, shortest.get(id).copied()))
        })
        .collect();
    let per = exact.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = exact
            .chunks(per)
            .map(|part| scope.spawn(move || map_all(part, base)))
            .collect();
        let mut out = Vec::with_capacity(exact.len());
        for part in parts {
            out.extend(part.join().map_err(|_| {
                AppError::Internal(anyhow::anyhow!("a free-day map computation panicked"))
            })??);
        }
        Ok(out)
    })
}

/// The maps of loaded schedules (therapist, version, schedule, shortest service in minutes).
fn map_all(
    part: &[(i64, i64, Schedule, Option<i32>)],
    base: NaiveDate,
) -> Result<Vec<(i64, DayMap)>, AppError> {
    let last_date = base + Duration::days(MAP_DAYS as i64 - 1);
    // Two of the engine's queries of at most 31 days.
    let half = base + Duration::days(MAP_DAYS as i64 / 2 - 1);
    let mut out = Vec::with_capacity(part.len());
    let mut starts = Vec::new();
    for (id, version, s, shortest) in part {
        starts.clear();
        let mut on_quarters = true;
        if let Some(d) = shortest {
            for (a, b) in [(base, half), (half + Duration::days(1), last_date)] {
                let q = s.query(*d as i64, Utc::now(), a, b);
                on_quarters &= availability::starts_on_quarter_hours(&q);
                starts.extend(
                    availability::day_starts_ignoring_now(&q)
                        .map_err(schedules::slot_query_error)?,
                );
            }
        }
        out.push((
            *id,
            DayMap::of(
                *version,
                base,
                (s.min_notice_hours, s.max_advance_days),
                &starts,
                on_quarters,
            ),
        ));
    }
    Ok(out)
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
        let computed = compute(conn, &need, today, 1)?;
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
    use crate::domain::availability::{Interval, WeeklyRange};
    use crate::search::free_days::MAP_DAYS;
    use crate::search::schedules::Schedule;
    use chrono_tz::Tz;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    fn schedule(rng: &mut StdRng, tz: Tz, base: NaiveDate) -> Schedule {
        let mut weekly = Vec::new();
        for wd in 0..7u8 {
            if rng.gen_bool(0.7) {
                // Now and then off the quarter hours, as the grid allows.
                let start = rng.gen_range(0..20) * 30
                    + if rng.gen_bool(0.1) {
                        rng.gen_range(1..15)
                    } else {
                        0
                    };
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
        let (mut decided, mut unsure, mut free_seen) = (0, 0, 0);
        for round in 0..60 {
            let tz = zones[round % zones.len()];
            let s = schedule(&mut rng, tz, base);
            let duration = [30i64, 60, 90][rng.gen_range(0..3)];
            let map = map_of(&s, duration, base);
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

    /// The map of a schedule, as `map_all` computes it.
    fn map_of(s: &Schedule, duration: i64, base: NaiveDate) -> DayMap {
        let last = base + Duration::days(MAP_DAYS as i64 - 1);
        let half = base + Duration::days(MAP_DAYS as i64 / 2 - 1);
        let mut starts = Vec::new();
        let mut on_quarters = true;
        for (a, b) in [(base, half), (half + Duration::days(1), last)] {
            let q = s.query(duration, Utc::now(), a, b);
            on_quarters &= availability::starts_on_quarter_hours(&q);
            starts.extend(availability::day_starts_ignoring_now(&q).unwrap());
        }
        DayMap::of(
            3,
            base,
            (s.min_notice_hours, s.max_advance_days),
            &starts,
            on_quarters,
        )
    }

    /// No slot a request may book starts before the map's bound, for random schedules, zones
    /// and clocks; and on quarter hours the bound is most often the next free start itself
    /// (what lets the soonest sort compute few therapists' slots).
    #[test]
    fn the_next_free_bound_is_never_after_the_next_free_start() {
        let zones = [
            chrono_tz::America::New_York,
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::Etc::GMTPlus12,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::Europe::London,
        ];
        let mut rng = StdRng::seed_from_u64(11);
        let today = NaiveDate::from_ymd_opt(2026, 10, 27).unwrap();
        let base = base_for(today);
        let last = base + Duration::days(MAP_DAYS as i64 - 1);
        let (mut on_quarters, mut exact_bounds, mut off_quarters) = (0, 0, 0);
        for round in 0..80 {
            let tz = zones[round % zones.len()];
            let mut s = schedule(&mut rng, tz, base);
            // Most therapists book within weeks: the next free start then lies in the map.
            s.max_advance_days = rng.gen_range(1..40);
            let duration = [30i64, 60, 90][rng.gen_range(0..3)];
            let map = map_of(&s, duration, base);
            for _ in 0..30 {
                let now = today.and_hms_opt(0, 0, 0).unwrap().and_utc()
                    + Duration::seconds(rng.gen_range(0..3 * 86_400));
                let half = base + Duration::days(MAP_DAYS as i64 / 2 - 1);
                let next = [(base, half), (half + Duration::days(1), last)]
                    .into_iter()
                    .find_map(|(a, b)| {
                        let slots = availability::free_slots(&s.query(duration, now, a, b));
                        slots.unwrap().first().map(|slot| slot.start)
                    });
                let bound = map.next_free_bound(now);
                if let Some(next) = next {
                    assert!(
                        bound <= next,
                        "{tz} at {now}: bound {bound} after {next}: {s:?}"
                    );
                    if map.on_quarters {
                        on_quarters += 1;
                        exact_bounds += (bound == next) as usize;
                    } else {
                        off_quarters += 1;
                    }
                }
            }
        }
        assert!(
            off_quarters > 0,
            "no schedule off the quarter hours was tried"
        );
        assert!(
            exact_bounds * 2 > on_quarters,
            "the bound was the next free start in {exact_bounds} of {on_quarters} cases"
        );
    }

    #[test]
    fn a_date_outside_the_map_is_left_to_the_slots() {
        let base = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let map = DayMap::of(1, base, (0, 365), &[], true);
        let now = base.and_hms_opt(0, 0, 0).unwrap().and_utc();
        let w = map.window(now);
        assert_eq!(map.free_in(base, w), Some(false));
        assert_eq!(map.free_in(base - Duration::days(1), w), None);
        assert_eq!(map.free_in(base + Duration::days(MAP_DAYS as i64), w), None);
    }
}
