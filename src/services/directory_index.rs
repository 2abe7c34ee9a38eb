//! The directory in memory: what a search filters on for every therapist, kept in step with the
//! database by stamps, so that a place's candidates are found without reading thousands of rows.
//!
//! Every insert or change of a searchable column of `therapists` (and of a therapist's user name)
//! takes the next stamp into `therapists.directory_stamp`, and a deleted therapist leaves a row in
//! `directory_removed` (database triggers: no code path can forget). Stamps commit in the order
//! they are taken (SQLite writes one transaction at a time; on PostgreSQL a stamp is taken under
//! the lock of the one `directory_state` row). Before each search, [`DirectoryIndex::sync`] reads
//! the rows stamped after the last stamp it has seen (an index probe that finds nothing when
//! nothing changed), so a search never sees the directory older than the database it asked.
//!
//! Each entry also holds the therapist's `schedule_version`, what free-time answers are cached by
//! (`services::availability::ScheduleCache`). On SQLite a version change stamps the row like any
//! other column. On PostgreSQL that would queue every booking behind the one stamp lock, so a
//! version change records the writing transaction's id instead (`schedule_xid`), and a sync also
//! reads the versions written by every transaction its previous snapshot could not see
//! (`schedule_xid >=` that snapshot's xmin). Versions only grow, so the larger one read wins.
//!
//! Syncs run one at a time: a caller waits for a sync that started after it arrived (it runs one
//! itself when none is running), so under load one round trip serves every request that arrived
//! while the previous one ran, and each still sees the database as of a moment after it arrived.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard};

use chrono::NaiveDate;
use diesel::prelude::*;
use rustc_hash::FxHashMap;

use crate::db::schema::{directory_removed, therapists, users};
use crate::db::DbConnection;
use crate::error::AppError;

/// What a search needs of one therapist.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub name: String,
    pub city: Option<String>,
    pub region: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub geo_cell: Option<i32>,
    /// The name and the bio, lower-cased, one line each: what `q` words are looked for in.
    pub text: Arc<str>,
    pub accepting_new_clients: bool,
    /// ISO 639-1 codes between commas (",en,es,").
    pub languages: String,
    pub mobile: bool,
    pub suspended: bool,
    pub verified_hours: i32,
    pub license_verified_until: Option<NaiveDate>,
    pub price_from_cents: Option<i64>,
    pub technique_mask: i64,
    /// What the free-time answers of this therapist are cached by.
    pub schedule_version: i64,
    stamp: i64,
    /// Where its key is in its cell.
    pos: usize,
}

/// What most filters and the sort read, packed together by grid cell so that a place's
/// candidates are a scan of contiguous memory.
#[derive(Debug, Clone)]
pub struct Key {
    pub id: i64,
    /// The entry's `text`, shared.
    pub text: Arc<str>,
    /// The place on the unit sphere (`gazetteer::unit_vector`), for distances without trigonometry.
    pub xyz: [f64; 3],
    pub technique_mask: i64,
    pub price_from_cents: Option<i64>,
    pub license_verified_until: Option<NaiveDate>,
    pub verified_hours: i32,
    /// The entry's `schedule_version`.
    pub schedule_version: i64,
    pub suspended: bool,
    pub accepting_new_clients: bool,
    pub mobile: bool,
}

impl Key {
    /// The key of an entry (latitude and longitude 0 when it has no place; such keys are kept
    /// apart, in [`NO_CELL`], and never measured).
    fn of(e: &Entry) -> Key {
        Key {
            id: e.id,
            text: e.text.clone(),
            xyz: crate::domain::gazetteer::unit_vector(crate::domain::gazetteer::GeoPoint {
                lat: e.latitude.unwrap_or(0.0),
                lon: e.longitude.unwrap_or(0.0),
            }),
            technique_mask: e.technique_mask,
            price_from_cents: e.price_from_cents,
            license_verified_until: e.license_verified_until,
            verified_hours: e.verified_hours,
            schedule_version: e.schedule_version,
            suspended: e.suspended,
            accepting_new_clients: e.accepting_new_clients,
            mobile: e.mobile,
        }
    }
}

/// The bucket of the keys of therapists without a place: no grid cell is negative.
const NO_CELL: i32 = i32::MIN;

/// The entries, by id, and their keys by grid cell.
#[derive(Debug, Default)]
pub struct Index {
    loaded: bool,
    /// The highest therapist-row stamp applied: every change stamped up to it is in.
    last: i64,
    entries: FxHashMap<i64, Entry>,
    cells: FxHashMap<i32, Vec<Key>>,
    /// Therapists deleted, with the stamp of their removal (an older row never brings one back).
    removed: HashMap<i64, i64>,
    /// PostgreSQL: the xmin of the snapshot the schedule versions were last read in.
    schedule_horizon: Option<u64>,
}

impl Index {
    pub fn get(&self, id: i64) -> Option<&Entry> {
        self.entries.get(&id)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The schedule version of a therapist in the directory and not suspended: what a bookable
    /// therapist's free time is cached by.
    pub fn bookable_version(&self, id: i64) -> Option<i64> {
        self.entries
            .get(&id)
            .filter(|e| !e.suspended)
            .map(|e| e.schedule_version)
    }

    /// Every key (with a place or not).
    pub fn all_keys(&self) -> impl Iterator<Item = &Key> {
        self.cells.values().flatten()
    }

    /// The keys of these grid cells.
    pub fn in_cells<'a>(&'a self, cells: &'a [i32]) -> impl Iterator<Item = &'a Key> + 'a {
        cells.iter().filter_map(|c| self.cells.get(c)).flatten()
    }

    /// Versions only grow: the larger one read is the current one (in the entry and its key).
    fn raise_version(&mut self, id: i64, version: i64) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        if version > e.schedule_version {
            e.schedule_version = version;
            if let Some(k) = self
                .cells
                .get_mut(&e.geo_cell.unwrap_or(NO_CELL))
                .and_then(|keys| keys.get_mut(e.pos))
            {
                k.schedule_version = version;
            }
        }
    }

    /// Takes an entry and its key out (the last key of its cell takes the key's place).
    fn unlink(&mut self, id: i64) -> Option<Entry> {
        let e = self.entries.remove(&id)?;
        let c = e.geo_cell.unwrap_or(NO_CELL);
        if let Some(keys) = self.cells.get_mut(&c) {
            keys.swap_remove(e.pos);
            if let Some(moved) = keys.get(e.pos) {
                if let Some(m) = self.entries.get_mut(&moved.id) {
                    m.pos = e.pos;
                }
            }
            if keys.is_empty() {
                self.cells.remove(&c);
            }
        }
        Some(e)
    }

    fn link(&mut self, mut e: Entry) {
        let keys = self.cells.entry(e.geo_cell.unwrap_or(NO_CELL)).or_default();
        e.pos = keys.len();
        keys.push(Key::of(&e));
        self.entries.insert(e.id, e);
    }

    fn apply(&mut self, rows: Vec<Row>, removed: Vec<(i64, i64)>) {
        for (id, stamp) in removed {
            let known = self.removed.entry(id).or_insert(stamp);
            *known = (*known).max(stamp);
            if self.entries.get(&id).is_some_and(|e| e.stamp < stamp) {
                self.unlink(id);
            }
        }
        for row in rows {
            let mut e = row.into_entry();
            self.last = self.last.max(e.stamp);
            if self.removed.get(&e.id).is_some_and(|s| *s > e.stamp) {
                continue;
            }
            if self
                .entries
                .get(&e.id)
                .is_some_and(|old| old.stamp >= e.stamp)
            {
                self.raise_version(e.id, e.schedule_version);
                continue;
            }
            if let Some(old) = self.unlink(e.id) {
                e.schedule_version = e.schedule_version.max(old.schedule_version);
            }
            self.link(e);
        }
        self.loaded = true;
    }
}

type Row = (
    (
        i64,
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<f64>,
    ),
    (Option<i32>, String, bool, String, bool),
    (
        Option<chrono::NaiveDateTime>,
        i32,
        Option<NaiveDate>,
        Option<i64>,
        i64,
    ),
    (i64, String, i64),
);

trait IntoEntry {
    fn into_entry(self) -> Entry;
}

impl IntoEntry for Row {
    fn into_entry(self) -> Entry {
        let (
            (id, city, region, latitude, longitude),
            (geo_cell, bio, accepting_new_clients, languages, mobile),
            (
                suspended_at,
                verified_hours,
                license_verified_until,
                price_from_cents,
                technique_mask,
            ),
            (stamp, name, schedule_version),
        ) = self;
        let text = format!("{}\n{}", name.to_lowercase(), bio.to_lowercase()).into();
        Entry {
            id,
            name,
            city,
            region,
            latitude,
            longitude,
            geo_cell,
            text,
            accepting_new_clients,
            languages,
            mobile,
            suspended: suspended_at.is_some(),
            verified_hours,
            license_verified_until,
            price_from_cents,
            technique_mask,
            schedule_version,
            stamp,
            pos: 0,
        }
    }
}

/// The directory index of one database (it lives in the application state).
#[derive(Debug, Default)]
pub struct DirectoryIndex {
    inner: RwLock<Index>,
    flight: Mutex<Flight>,
    landed: Condvar,
}

/// The syncs started and finished, and whether one is running.
#[derive(Debug, Default)]
struct Flight {
    started: u64,
    done: u64,
    running: bool,
}

/// Ends a sync run even when it fails or panics, and wakes those waiting for it.
struct Landing<'a> {
    index: &'a DirectoryIndex,
    run: u64,
    ok: bool,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut f = self
            .index
            .flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f.running = false;
        if self.ok {
            f.done = f.done.max(self.run);
        }
        self.index.landed.notify_all();
    }
}

impl DirectoryIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Brings the index up to the database as of a moment after this call began (everything on
    /// first use, then the changes since), and returns it for reading. When another caller's
    /// sync began after this one arrived, its result serves both.
    pub fn sync(&self, conn: &mut DbConnection) -> Result<RwLockReadGuard<'_, Index>, AppError> {
        let lock = || {
            self.flight
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        };
        let mut f = lock();
        // A sync running now may have read the database before this call: the next one counts.
        let needed = f.started + 1;
        loop {
            if f.done >= needed {
                drop(f);
                return Ok(self.read());
            }
            if f.running {
                f = self
                    .landed
                    .wait(f)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            f.running = true;
            f.started += 1;
            let mut landing = Landing {
                index: self,
                run: f.started,
                ok: false,
            };
            drop(f);
            self.sync_now(conn)?;
            landing.ok = true;
            drop(landing);
            f = lock();
        }
    }

    /// One sync (never two at once: see [`sync`](Self::sync)).
    fn sync_now(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        let (since, horizon) = {
            let g = self.read();
            (if g.loaded { g.last } else { -1 }, g.schedule_horizon)
        };
        let postgres = matches!(conn, DbConnection::Postgresql(_));
        // PostgreSQL, first load: the horizon is taken before the rows are read, so whatever
        // commits after the load is at or above it.
        let first_horizon = match (postgres, horizon) {
            (true, None) => Some(snapshot_xmin(conn)?),
            _ => None,
        };
        let rows: Vec<Row> = therapists::table
            .inner_join(users::table)
            .filter(therapists::directory_stamp.gt(since))
            .select((
                (
                    therapists::id,
                    therapists::city,
                    therapists::region,
                    therapists::latitude,
                    therapists::longitude,
                ),
                (
                    therapists::geo_cell,
                    therapists::bio,
                    therapists::accepting_new_clients,
                    therapists::languages,
                    therapists::mobile,
                ),
                (
                    therapists::suspended_at,
                    therapists::verified_hours,
                    therapists::license_verified_until,
                    therapists::price_from_cents,
                    therapists::technique_mask,
                ),
                (
                    therapists::directory_stamp,
                    users::name,
                    therapists::schedule_version,
                ),
            ))
            .load(conn)?;
        // Removals are read after the rows: every removal stamped below the highest row stamp
        // read committed before that read, so it is seen here; `last` moves with the rows only
        // (a removal stamped later is simply read again next time).
        let removed: Vec<(i64, i64)> = directory_removed::table
            .filter(directory_removed::stamp.gt(since))
            .select((directory_removed::therapist_id, directory_removed::stamp))
            .load(conn)?;
        let versions = match horizon {
            Some(h) if postgres => Some(schedule_changes(conn, h)?),
            _ => None,
        };
        // A removal stamped after the last row stamp is read again until a row moves `last`
        // past it: apply it (under the write lock) only the first time.
        let changed = {
            let g = self.read();
            removed
                .iter()
                .any(|(id, stamp)| g.removed.get(id).is_none_or(|s| s < stamp))
                || versions.as_ref().is_some_and(|(h, vs)| {
                    Some(*h) != g.schedule_horizon
                        || vs.iter().any(|(id, v)| {
                            g.entries.get(id).is_some_and(|e| e.schedule_version < *v)
                        })
                })
        };
        if !rows.is_empty() || changed || since < 0 || first_horizon.is_some() {
            let mut g = self
                .inner
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            g.apply(rows, removed);
            if let Some(h) = first_horizon {
                g.schedule_horizon = Some(h);
            }
            if let Some((h, vs)) = versions {
                for (id, v) in vs {
                    g.raise_version(id, v);
                }
                g.schedule_horizon = Some(h);
            }
        }
        Ok(())
    }

    /// The index as last synced (never older than the last [`sync`](Self::sync) of this caller).
    pub fn read(&self) -> RwLockReadGuard<'_, Index> {
        // A panic while applying leaves entries that are each whole; the next sync goes on.
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    version: i64,
}

/// PostgreSQL: the xmin of the current snapshot (no transaction below it is still running).
fn snapshot_xmin(conn: &mut DbConnection) -> Result<u64, AppError> {
    let rows: Vec<VersionRow> = diesel::sql_query(
        "SELECT 0::bigint AS id, pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS version",
    )
    .load(conn)?;
    Ok(rows.first().map(|r| r.version as u64).unwrap_or(0))
}

/// PostgreSQL: the schedule versions written by transactions at or above `horizon`, and the
/// xmin of the snapshot they were read in (one statement: one snapshot).
fn schedule_changes(
    conn: &mut DbConnection,
    horizon: u64,
) -> Result<(u64, Vec<(i64, i64)>), AppError> {
    let rows: Vec<VersionRow> = diesel::sql_query(
        "SELECT -1::bigint AS id, pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS version \
         UNION ALL \
         SELECT id, schedule_version FROM therapists WHERE schedule_xid >= $1::text::xid8",
    )
    .bind::<diesel::sql_types::Text, _>(horizon.to_string())
    .load(conn)?;
    let mut next = horizon;
    let mut versions = Vec::with_capacity(rows.len());
    for r in rows {
        if r.id == -1 {
            next = r.version as u64;
        } else {
            versions.push((r.id, r.version));
        }
    }
    Ok((next, versions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, cell: Option<i32>, stamp: i64, version: i64) -> Row {
        (
            (id, None, None, cell.map(|c| c as f64), Some(0.0)),
            (cell, "bio".into(), true, ",en,".into(), false),
            (None, 0, None, None, 0),
            (stamp, format!("T{id}"), version),
        )
    }

    /// Every entry's key sits where the entry says, with the same version, and nothing else
    /// is in the cells.
    fn consistent(idx: &Index) -> Result<(), String> {
        for e in idx.entries.values() {
            let k = idx
                .cells
                .get(&e.geo_cell.unwrap_or(NO_CELL))
                .and_then(|keys| keys.get(e.pos))
                .ok_or(format!("no key for {}", e.id))?;
            if k.id != e.id || k.schedule_version != e.schedule_version {
                return Err(format!("key {k:?} for entry {}", e.id));
            }
        }
        let keys: usize = idx.cells.values().map(Vec::len).sum();
        if keys != idx.entries.len() || idx.cells.values().any(Vec::is_empty) {
            return Err(format!("{keys} keys for {} entries", idx.entries.len()));
        }
        Ok(())
    }

    proptest::proptest! {
        /// Changes, moves between cells, version bumps and removals in any order keep the keys
        /// and the entries in step, and the highest version read wins.
        #[test]
        fn keys_follow_their_entries(
            ops in proptest::collection::vec((0i64..12, proptest::option::of(0i32..3), 0u8..3, 0i64..5), 1..80)
        ) {
            let mut idx = Index::default();
            let mut stamp = 0;
            let mut highest: HashMap<i64, i64> = HashMap::new();
            for (id, cell, op, version) in ops {
                stamp += 1;
                match op {
                    0 => idx.apply(vec![], vec![(id, stamp)]),
                    1 => idx.raise_version(id, version),
                    _ => idx.apply(vec![row(id, cell, stamp, version)], vec![]),
                }
                if op == 0 {
                    highest.remove(&id);
                } else if op == 2 || idx.entries.contains_key(&id) {
                    let h = highest.entry(id).or_insert(version);
                    *h = (*h).max(version);
                }
                proptest::prop_assert_eq!(consistent(&idx), Ok(()));
                for (id, e) in &idx.entries {
                    proptest::prop_assert_eq!(Some(&e.schedule_version), highest.get(id));
                }
            }
        }
    }
}
