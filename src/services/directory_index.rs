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
//! Free time is not here: it changes with every booking (stamping those would queue every
//! booking behind one lock on PostgreSQL); the schedule cache answers it by `schedule_version`
//! (`services::availability::ScheduleCache`), read for the candidates that need it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use chrono::NaiveDate;
use diesel::prelude::*;

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
    stamp: i64,
}

/// What most filters and the sort read, packed together by grid cell so that a place's
/// candidates are a scan of contiguous memory.
#[derive(Debug, Clone)]
pub struct Key {
    pub id: i64,
    /// The entry's `text`, shared.
    pub text: Arc<str>,
    pub latitude: f64,
    pub longitude: f64,
    pub technique_mask: i64,
    pub price_from_cents: Option<i64>,
    pub license_verified_until: Option<NaiveDate>,
    pub verified_hours: i32,
    pub suspended: bool,
    pub accepting_new_clients: bool,
    pub mobile: bool,
}

impl Key {
    /// The key of an entry (latitude and longitude 0 when it has no place; such keys are kept
    /// apart, in [`NO_CELL`]).
    fn of(e: &Entry) -> Key {
        Key {
            id: e.id,
            text: e.text.clone(),
            latitude: e.latitude.unwrap_or(0.0),
            longitude: e.longitude.unwrap_or(0.0),
            technique_mask: e.technique_mask,
            price_from_cents: e.price_from_cents,
            license_verified_until: e.license_verified_until,
            verified_hours: e.verified_hours,
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
    entries: HashMap<i64, Entry>,
    cells: HashMap<i32, Vec<Key>>,
    /// Therapists deleted, with the stamp of their removal (an older row never brings one back).
    removed: HashMap<i64, i64>,
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

    /// Every key (with a place or not).
    pub fn all_keys(&self) -> impl Iterator<Item = &Key> {
        self.cells.values().flatten()
    }

    /// The keys of these grid cells.
    pub fn in_cells<'a>(&'a self, cells: &'a [i32]) -> impl Iterator<Item = &'a Key> + 'a {
        cells.iter().filter_map(|c| self.cells.get(c)).flatten()
    }

    fn unlink_cell(&mut self, id: i64, cell: Option<i32>) {
        let c = cell.unwrap_or(NO_CELL);
        if let Some(keys) = self.cells.get_mut(&c) {
            keys.retain(|k| k.id != id);
            if keys.is_empty() {
                self.cells.remove(&c);
            }
        }
    }

    fn apply(&mut self, rows: Vec<Row>, removed: Vec<(i64, i64)>) {
        for (id, stamp) in removed {
            let known = self.removed.entry(id).or_insert(stamp);
            *known = (*known).max(stamp);
            if self.entries.get(&id).is_some_and(|e| e.stamp < stamp) {
                let cell = self.entries.remove(&id).and_then(|e| e.geo_cell);
                self.unlink_cell(id, cell);
            }
        }
        for row in rows {
            let e = row.into_entry();
            self.last = self.last.max(e.stamp);
            if self.removed.get(&e.id).is_some_and(|s| *s > e.stamp)
                || self
                    .entries
                    .get(&e.id)
                    .is_some_and(|old| old.stamp >= e.stamp)
            {
                continue;
            }
            if let Some(old) = self.entries.get(&e.id).map(|o| o.geo_cell) {
                self.unlink_cell(e.id, old);
            }
            self.cells
                .entry(e.geo_cell.unwrap_or(NO_CELL))
                .or_default()
                .push(Key::of(&e));
            self.entries.insert(e.id, e);
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
    (i64, String),
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
            (stamp, name),
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
            stamp,
        }
    }
}

/// The directory index of one database (it lives in the application state).
#[derive(Debug, Default)]
pub struct DirectoryIndex {
    inner: RwLock<Index>,
}

impl DirectoryIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Brings the index up to the database (everything on first use, then the rows stamped
    /// since), and returns it for reading.
    pub fn sync(&self, conn: &mut DbConnection) -> Result<RwLockReadGuard<'_, Index>, AppError> {
        let since = {
            let g = self.read();
            if g.loaded {
                g.last
            } else {
                -1
            }
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
                (therapists::directory_stamp, users::name),
            ))
            .load(conn)?;
        // Removals are read after the rows: every removal stamped below the highest row stamp
        // read committed before that read, so it is seen here; `last` moves with the rows only
        // (a removal stamped later is simply read again next time).
        let removed: Vec<(i64, i64)> = directory_removed::table
            .filter(directory_removed::stamp.gt(since))
            .select((directory_removed::therapist_id, directory_removed::stamp))
            .load(conn)?;
        // A removal stamped after the last row stamp is read again until a row moves `last`
        // past it: apply it (under the write lock) only the first time.
        let new_removals = {
            let g = self.read();
            removed
                .iter()
                .any(|(id, stamp)| g.removed.get(id).is_none_or(|s| s < stamp))
        };
        if !rows.is_empty() || new_removals || since < 0 {
            let mut g = self
                .inner
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            g.apply(rows, removed);
        }
        Ok(self.read())
    }

    /// The index as last synced (never older than the last [`sync`](Self::sync) of this caller).
    pub fn read(&self) -> RwLockReadGuard<'_, Index> {
        // A panic while applying leaves entries that are each whole; the next sync goes on.
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The schedule versions of these therapists (what the free-time answers are cached by).
pub fn schedule_versions(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<HashMap<i64, i64>, AppError> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        schedule_version: i64,
    }
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(2000) {
        match conn {
            // SQLite would read each version from the wide table row; the narrow
            // (id, schedule_version) index holds them all in a few pages. The ids are numbers
            // of ours, written into the SQL.
            DbConnection::Sqlite(c) => {
                let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
                out.extend(
                    diesel::sql_query(format!(
                        "SELECT id, schedule_version FROM therapists \
                         INDEXED BY therapists_schedule_version_idx WHERE id IN ({})",
                        list.join(",")
                    ))
                    .load::<Version>(c)?
                    .into_iter()
                    .map(|v| (v.id, v.schedule_version)),
                );
            }
            // PostgreSQL: no index on the version, so that a booking's bump stays heap-only.
            DbConnection::Postgresql(_) => out.extend(
                therapists::table
                    .filter(therapists::id.eq_any(chunk))
                    .select((therapists::id, therapists::schedule_version))
                    .load::<(i64, i64)>(conn)?,
            ),
        }
    }
    Ok(out)
}
