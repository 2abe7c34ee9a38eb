//! The directory in memory: what a search filters on for every therapist, kept in step with the
//! database by stamps, so that a place's candidates are found without reading thousands of rows.
//!
//! Every insert or change of a searchable column of `therapists` (and of a therapist's user name)
//! takes the next stamp into `therapists.directory_stamp`, and a deleted therapist leaves a row in
//! `directory_removed` (database triggers: no code path can forget). Stamps commit in the order
//! they are taken (SQLite writes one transaction at a time; on PostgreSQL a stamp is taken under
//! the lock of the one `directory_state` row). Before each search, [`DirectoryIndex::sync`] asks
//! for the last stamp taken (SQLite: `directory_state.version`; PostgreSQL: the stamp sequence)
//! and, when it is past the highest one read, reads the rows and deletions stamped after that in
//! one statement, so a search never sees the directory older than the database it asked. (On
//! PostgreSQL a stamp taken by a transaction that rolled back keeps the sequence ahead: the
//! changes are then read, and found empty, at every sync until a later stamp commits.)
//!
//! Each entry also holds the therapist's `schedule_version`, what free-time answers are cached by
//! (`search::schedules::ScheduleCache`). On SQLite a version change stamps the row like any
//! other column. On PostgreSQL that would queue every booking behind the one stamp lock, so a
//! version change records the writing transaction's id instead (`schedule_xid`), and a sync also
//! reads the versions written by every transaction its previous snapshot could not see
//! (`schedule_xid >=` that snapshot's xmin). Versions only grow, so the larger one read wins.
//!
//! On PostgreSQL syncs run one at a time: a caller waits for a sync that started after it arrived
//! (it runs one itself when none is running), so under load one round trip serves every request
//! that arrived while the previous one ran, and each still sees the database as of a moment after
//! it arrived. On SQLite a sync is a read inside this process and each caller runs its own.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard};

use crate::db::DbConnection;
use crate::error::AppError;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Double, Integer, Nullable, Text, Timestamp};
use rustc_hash::FxHashMap;

/// What a search needs of one therapist.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub name: Box<str>,
    /// Shared by every entry of the same city (the index keeps each text once).
    pub city: Option<Arc<str>>,
    pub region: Option<Arc<str>>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub geo_cell: Option<i32>,
    /// The name and the bio, lower-cased, one line each: what `q` words are looked for in.
    pub text: Arc<str>,
    pub accepting_new_clients: bool,
    /// ISO 639-1 codes between commas (",en,es,"), shared like the city.
    pub languages: Arc<str>,
    pub mobile: bool,
    pub suspended: bool,
    pub verified_hours: i32,
    pub license_verified_until: Option<NaiveDate>,
    pub price_from_cents: Option<i64>,
    pub technique_mask: i64,
    /// The stored photo's version (`domain::photo::url`), 0 without one: result lines carry the
    /// photo's URL without a query.
    pub photo_version: i64,
    /// Reviews shown (not hidden) and the sum of their stars: the rating filter and sort read
    /// them through `domain::review`.
    pub rating_count: i32,
    pub rating_sum: i32,
    /// What the free-time answers of this therapist are cached by.
    pub schedule_version: i64,
    stamp: i64,
    /// Where its key is in its cell.
    pos: usize,
}

impl Entry {
    /// The directory stamp of the row this entry was read from: it moves with every change of
    /// what the therapist's public profile shows (`services::directory::ProfileCache`).
    pub fn stamp(&self) -> i64 {
        self.stamp
    }

    /// Whether two versions of an entry list the same (all but the stamp and the schedule
    /// version are equal).
    pub fn same_listing(&self, o: &Entry) -> bool {
        // Every field named: a field added to `Entry` does not compile until it is compared.
        let Entry {
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
            suspended,
            verified_hours,
            license_verified_until,
            price_from_cents,
            technique_mask,
            photo_version,
            rating_count,
            rating_sum,
            schedule_version: _,
            stamp: _,
            pos: _,
        } = self;
        *id == o.id
            && *name == o.name
            && *city == o.city
            && *region == o.region
            && *latitude == o.latitude
            && *longitude == o.longitude
            && *geo_cell == o.geo_cell
            && *text == o.text
            && *accepting_new_clients == o.accepting_new_clients
            && *languages == o.languages
            && *mobile == o.mobile
            && *suspended == o.suspended
            && *verified_hours == o.verified_hours
            && *license_verified_until == o.license_verified_until
            && *price_from_cents == o.price_from_cents
            && *technique_mask == o.technique_mask
            && *photo_version == o.photo_version
            && *rating_count == o.rating_count
            && *rating_sum == o.rating_sum
    }
}

/// What most filters and the sort read, packed together by grid cell so that a place's
/// candidates are a scan of contiguous memory. One key is one cache line (64 bytes, aligned), as
/// the scan of a large city waits on memory, not on its tests: the entry's text is kept beside
/// the keys ([`Cell::texts`]), read only when a word memo is built; the price, the techniques and
/// the flags are stored narrow and read through their methods.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub struct Key {
    pub id: i64,
    /// The place on the unit sphere (`gazetteer::unit_vector`), for distances without trigonometry.
    pub xyz: [f64; 3],
    /// The entry's `schedule_version`.
    pub schedule_version: i64,
    /// The entry's `rating_count` and `rating_sum`.
    pub rating_count: i32,
    pub rating_sum: i32,
    pub license_verified_until: Option<NaiveDate>,
    pub verified_hours: i32,
    /// The lowest price in cents, [`NO_PRICE`] without one (see [`Key::price_from_cents`]).
    price: u32,
    /// The techniques offered, one bit per technique of the catalogue.
    techniques: u16,
    /// [`SUSPENDED`], [`ACCEPTING`] and [`MOBILE`].
    flags: u8,
}

const _: () = assert!(std::mem::size_of::<Key>() == 64);
const _: () = assert!(TECHNIQUES <= 16, "a key keeps the techniques in 16 bits");
const _: () = assert!(crate::domain::profile::PRICE_MAX_CENTS < NO_PRICE as i64);

/// A key's price when the therapist lists none.
const NO_PRICE: u32 = u32::MAX;
const SUSPENDED: u8 = 1;
const ACCEPTING: u8 = 2;
const MOBILE: u8 = 4;

impl Key {
    /// The key of an entry (latitude and longitude 0 when it has no place; such keys are kept
    /// apart, in [`NO_CELL`], and never measured).
    fn of(e: &Entry) -> Key {
        let flag = |on: bool, f: u8| if on { f } else { 0 };
        Key {
            id: e.id,
            xyz: crate::domain::gazetteer::unit_vector(crate::domain::gazetteer::GeoPoint {
                lat: e.latitude.unwrap_or(0.0),
                lon: e.longitude.unwrap_or(0.0),
            }),
            schedule_version: e.schedule_version,
            rating_count: e.rating_count,
            rating_sum: e.rating_sum,
            license_verified_until: e.license_verified_until,
            verified_hours: e.verified_hours,
            // Prices are at most `PRICE_MAX_CENTS` (`domain::profile`); one past the narrow
            // range would only be stored by hand, and is kept as the highest price there is.
            price: e.price_from_cents.map_or(NO_PRICE, |c| {
                u32::try_from(c.max(0))
                    .unwrap_or(NO_PRICE - 1)
                    .min(NO_PRICE - 1)
            }),
            // Only the catalogue's techniques have bits (`domain::technique`).
            techniques: (e.technique_mask & ((1 << TECHNIQUES) - 1)) as u16,
            flags: flag(e.suspended, SUSPENDED)
                | flag(e.accepting_new_clients, ACCEPTING)
                | flag(e.mobile, MOBILE),
        }
    }

    /// The entry's `price_from_cents`.
    pub fn price_from_cents(&self) -> Option<i64> {
        (self.price != NO_PRICE).then_some(i64::from(self.price))
    }

    /// The entry's `technique_mask`.
    pub fn technique_mask(&self) -> i64 {
        i64::from(self.techniques)
    }

    pub fn suspended(&self) -> bool {
        self.flags & SUSPENDED != 0
    }

    pub fn accepting_new_clients(&self) -> bool {
        self.flags & ACCEPTING != 0
    }

    pub fn mobile(&self) -> bool {
        self.flags & MOBILE != 0
    }
}

/// A grid cell: its keys, and for each technique of the catalogue which of them offer it (a bit
/// per position). A search with a technique reads only the keys whose bit is set (a quarter of a
/// large city's, with the seeded spread), instead of every key of the cell: the scan of a place's
/// keys is bound by memory, so the keys not read are the time saved. The bits only choose which
/// keys are read; the filters themselves are decided on each key read (`search::engine`).
#[derive(Debug, Default)]
pub struct Cell {
    keys: Vec<Key>,
    /// The text of the key at the same position (the entry's, shared): what word memos are
    /// built from, kept out of the keys the scan reads.
    texts: Vec<Arc<str>>,
    /// `by_technique[t]`, bit `pos`: the key at `pos` offers the catalogue's technique `t`.
    by_technique: Vec<Vec<u64>>,
}

impl Cell {
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The texts of the keys, position for position.
    pub fn texts(&self) -> &[Arc<str>] {
        &self.texts
    }

    /// Writes the bits of position `pos` from a technique mask (set or cleared).
    fn write_bits(&mut self, pos: usize, mask: i64) {
        let (word, bit) = (pos / 64, 1u64 << (pos % 64));
        if self.by_technique.len() < TECHNIQUES {
            self.by_technique.resize_with(TECHNIQUES, Vec::new);
        }
        for (t, bits) in self.by_technique.iter_mut().enumerate() {
            if bits.len() <= word {
                bits.resize(word + 1, 0);
            }
            if mask & (1 << t) != 0 {
                bits[word] |= bit;
            } else {
                bits[word] &= !bit;
            }
        }
    }

    fn push(&mut self, key: Key, text: Arc<str>) {
        self.write_bits(self.keys.len(), key.technique_mask());
        self.keys.push(key);
        self.texts.push(text);
    }

    /// Takes the key at `pos` out; the last key takes its place (and its bits).
    fn swap_remove(&mut self, pos: usize) {
        let last = self.keys.len() - 1;
        self.write_bits(pos, self.keys[last].technique_mask());
        self.write_bits(last, 0);
        self.keys.swap_remove(pos);
        self.texts.swap_remove(pos);
    }

    fn shrink_to_fit(&mut self) {
        self.keys.shrink_to_fit();
        self.texts.shrink_to_fit();
        for bits in &mut self.by_technique {
            bits.shrink_to_fit();
        }
    }

    /// The positions a search may keep, in order: those offering a technique of each nonzero
    /// mask of `technique_masks` and holding every word of `words`; every position when there is
    /// neither. A superset of what the search keeps (each key read is still tested whole).
    pub fn positions(&self, technique_masks: &[i64], words: &[Arc<WordBits>]) -> Positions {
        let len = self.keys.len();
        let masks: Vec<i64> = technique_masks
            .iter()
            .copied()
            .filter(|m| *m != 0)
            .collect();
        if masks.is_empty() && words.is_empty() {
            return Positions::All(len as u32);
        }
        let mut out = Vec::new();
        for w in 0..len.div_ceil(64) {
            let mut block = if (w + 1) * 64 > len {
                (1u64 << (len % 64)) - 1
            } else {
                u64::MAX
            };
            for &mask in &masks {
                let mut any = 0u64;
                for (t, bits) in self.by_technique.iter().enumerate() {
                    if mask & (1 << t) != 0 {
                        any |= bits.get(w).copied().unwrap_or(0);
                    }
                }
                block &= any;
            }
            for b in words {
                block &= b.bits.get(w).copied().unwrap_or(0);
            }
            while block != 0 {
                out.push((w * 64) as u32 + block.trailing_zeros());
                block &= block - 1;
            }
        }
        Positions::Listed(out)
    }
}

/// The positions of a cell a search reads ([`Cell::positions`]), in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Positions {
    /// Every position below this one (no list is built for a search that filters no bit).
    All(u32),
    Listed(Vec<u32>),
}

impl Positions {
    pub fn len(&self) -> usize {
        match self {
            Positions::All(n) => *n as usize,
            Positions::Listed(l) => l.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `n`th position read.
    pub fn get(&self, n: usize) -> Option<u32> {
        match self {
            Positions::All(len) => u32::try_from(n).ok().filter(|n| n < len),
            Positions::Listed(l) => l.get(n).copied(),
        }
    }

    /// The positions, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len()).filter_map(|n| self.get(n))
    }
}

/// How many techniques the catalogue has (each a bit of `technique_mask`).
const TECHNIQUES: usize = crate::domain::technique::CATALOGUE.len();

/// The bucket of the keys of therapists without a place: no grid cell is negative.
const NO_CELL: i32 = i32::MIN;

/// The entries, by id, and their keys by grid cell.
#[derive(Debug, Default)]
pub struct Index {
    loaded: bool,
    /// The highest stamp read (of a row or a deletion): every change stamped up to it is in.
    cursor: i64,
    /// Boxed: the map's table has about twice as many slots as entries, and a slot of a box is
    /// 16 bytes where an entry is over 200.
    entries: FxHashMap<i64, Box<Entry>>,
    cells: FxHashMap<i32, Cell>,
    /// Per cell, a number that changes whenever its keys are added, removed or moved (what the
    /// word memo of [`DirectoryIndex::words_in`] is kept by).
    generations: FxHashMap<i32, u64>,
    next_generation: u64,
    /// Therapists deleted, with the stamp of their removal (an older row never brings one back).
    removed: HashMap<i64, i64>,
    /// PostgreSQL: the xmin of the snapshot the schedule versions were last read in.
    schedule_horizon: Option<u64>,
    /// The texts many entries share.
    shared: Shared,
}

/// Texts many entries share (a city, a region, a list of languages), each kept once: at a
/// million therapists, a copy per entry would cost tens of megabytes each.
#[derive(Debug, Default)]
struct Shared(rustc_hash::FxHashSet<Arc<str>>);

impl Shared {
    fn get(&mut self, s: String) -> Arc<str> {
        if let Some(kept) = self.0.get(s.as_str()) {
            return kept.clone();
        }
        let kept: Arc<str> = s.into();
        self.0.insert(kept.clone());
        kept
    }
}

impl Index {
    /// How many therapists the index holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: i64) -> Option<&Entry> {
        self.entries.get(&id).map(|e| &**e)
    }

    /// The key of a therapist in the index, where its entry says it is.
    pub fn key(&self, id: i64) -> Option<&Key> {
        let e = self.entries.get(&id)?;
        self.cells
            .get(&e.geo_cell.unwrap_or(NO_CELL))
            .and_then(|cell| cell.keys.get(e.pos))
    }

    /// The schedule version of a therapist in the directory and not suspended: what a bookable
    /// therapist's free time is cached by.
    pub fn bookable_version(&self, id: i64) -> Option<i64> {
        self.entries
            .get(&id)
            .filter(|e| !e.suspended)
            .map(|e| e.schedule_version)
    }

    /// Every therapist's (id, schedule version), suspended ones too (what the free-day maps are
    /// kept current by).
    pub fn schedule_versions(&self) -> Vec<(i64, i64)> {
        self.entries
            .values()
            .map(|e| (e.id, e.schedule_version))
            .collect()
    }

    /// These grid cells (every cell when None), one by one, each with its number and its
    /// generation.
    pub fn cell_keys<'a>(
        &'a self,
        cells: Option<&'a [i32]>,
    ) -> Box<dyn Iterator<Item = (i32, u64, &'a Cell)> + 'a> {
        let generation = |c: &i32| self.generations.get(c).copied().unwrap_or(0);
        match cells {
            Some(cells) => Box::new(
                cells
                    .iter()
                    .filter_map(move |c| self.cells.get(c).map(|k| (*c, generation(c), k))),
            ),
            None => Box::new(self.cells.iter().map(move |(c, k)| (*c, generation(c), k))),
        }
    }

    fn touch(&mut self, cell: i32) {
        self.next_generation += 1;
        self.generations.insert(cell, self.next_generation);
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
                .and_then(|cell| cell.keys.get_mut(e.pos))
            {
                k.schedule_version = version;
            }
        }
    }

    /// Takes an entry and its key out (the last key of its cell takes the key's place).
    fn unlink(&mut self, id: i64) -> Option<Entry> {
        let e = *self.entries.remove(&id)?;
        let c = e.geo_cell.unwrap_or(NO_CELL);
        self.touch(c);
        if let Some(cell) = self.cells.get_mut(&c) {
            cell.swap_remove(e.pos);
            if let Some(moved) = cell.keys.get(e.pos) {
                if let Some(m) = self.entries.get_mut(&moved.id) {
                    m.pos = e.pos;
                }
            }
            if cell.keys.is_empty() {
                self.cells.remove(&c);
            }
        }
        Some(e)
    }

    fn link(&mut self, mut e: Entry) {
        self.touch(e.geo_cell.unwrap_or(NO_CELL));
        let cell = self.cells.entry(e.geo_cell.unwrap_or(NO_CELL)).or_default();
        e.pos = cell.keys.len();
        cell.push(Key::of(&e), e.text.clone());
        self.entries.insert(e.id, Box::new(e));
    }

    /// Applies the changes read in one statement; every stamp up to the highest one read is
    /// then in.
    fn apply(&mut self, changes: Vec<Row>) {
        let first = !self.loaded;
        if first {
            self.entries.reserve(changes.len());
        }
        for row in changes {
            self.cursor = self.cursor.max(row.stamp);
            if row.removed != 0 {
                let (id, stamp) = (row.id, row.stamp);
                let known = self.removed.entry(id).or_insert(stamp);
                *known = (*known).max(stamp);
                if self.entries.get(&id).is_some_and(|e| e.stamp < stamp) {
                    self.unlink(id);
                }
                continue;
            }
            let mut e = row.into_entry(&mut self.shared);
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
            // Only the stamp and the schedule version moved (a booking, on SQLite): the key
            // stays where it is.
            if let Some(old) = self.entries.get_mut(&e.id) {
                if old.same_listing(&e) {
                    old.stamp = e.stamp;
                    self.raise_version(e.id, e.schedule_version);
                    continue;
                }
            }
            if let Some(old) = self.unlink(e.id) {
                e.schedule_version = e.schedule_version.max(old.schedule_version);
            }
            self.link(e);
        }
        if first {
            // The first load filled each cell's list by pushing: give back the room it grew.
            for cell in self.cells.values_mut() {
                cell.shrink_to_fit();
            }
        }
        self.loaded = true;
    }
}

/// A column of the searchable listing: the field a sync reads it into, and the table column whose
/// change must stamp the therapist (what the stamp triggers watch; `tests/it` reads the triggers
/// back from the database and fails when one is not watched).
#[derive(Debug, Clone, Copy)]
pub struct ListingColumn {
    pub field: &'static str,
    pub table: &'static str,
    pub column: &'static str,
}

/// The searchable listing, declared once: each column's field, Rust type, SQL type and source
/// column. From this come the row a sync reads ([`Row`]), the statement that reads it
/// ([`changes_sql`]) and [`LISTING`], the list the stamp triggers must watch. A column added here
/// must be taken by [`Row::into_entry`] and compared by [`Entry::same_listing`], which destructure
/// every field, so the compiler points at both.
macro_rules! listing {
    ($($field:ident: $rust:ty = $sql:ty, $table:ident.$column:ident;)*) => {
        /// One change read by a sync: a therapist's row as it is now, or (`removed`) its deletion
        /// (every listing column NULL).
        #[derive(Debug, Clone, QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            id: i64,
            $(
                #[diesel(sql_type = Nullable<$sql>)]
                $field: Option<$rust>,
            )*
            #[diesel(sql_type = BigInt)]
            stamp: i64,
            #[diesel(sql_type = Nullable<BigInt>)]
            schedule_version: Option<i64>,
            #[diesel(sql_type = Integer)]
            removed: i32,
        }

        /// Every column of the listing, in the order of [`Row`].
        pub const LISTING: &[ListingColumn] = &[$(ListingColumn {
            field: stringify!($field),
            table: stringify!($table),
            column: stringify!($column),
        }),*];
    };
}

listing! {
    name: String = Text, users.name;
    city: String = Text, therapists.city;
    region: String = Text, therapists.region;
    latitude: f64 = Double, therapists.latitude;
    longitude: f64 = Double, therapists.longitude;
    geo_cell: i32 = Integer, therapists.geo_cell;
    bio: String = Text, therapists.bio;
    accepting_new_clients: bool = Bool, therapists.accepting_new_clients;
    languages: String = Text, therapists.languages;
    mobile: bool = Bool, therapists.mobile;
    suspended_at: chrono::NaiveDateTime = Timestamp, therapists.suspended_at;
    verified_hours: i32 = Integer, therapists.verified_hours;
    license_verified_until: NaiveDate = Date, therapists.license_verified_until;
    price_from_cents: i64 = BigInt, therapists.price_from_cents;
    technique_mask: i64 = BigInt, therapists.technique_mask;
    photo_version: i64 = BigInt, therapists.photo_version;
    rating_count: i32 = Integer, therapists.rating_count;
    rating_sum: i32 = Integer, therapists.rating_sum;
}

/// The rows stamped after `$1` and the deletions stamped after it, in one statement (so in one
/// snapshot: every stamp up to the highest one read is in it). `$1` is one parameter on both
/// backends. Built from [`LISTING`] once.
fn changes_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let alias = |table: &str| if table == "users" { "u" } else { "t" };
        let columns: Vec<String> = LISTING
            .iter()
            .map(|c| format!("{}.{} AS {}", alias(c.table), c.column, c.field))
            .collect();
        let nulls = vec!["NULL"; LISTING.len()].join(", ");
        format!(
            "SELECT t.id, {}, t.directory_stamp AS stamp, t.schedule_version, 0 AS removed \
             FROM therapists t JOIN users u ON u.id = t.user_id WHERE t.directory_stamp > $1 \
             UNION ALL \
             SELECT therapist_id, {nulls}, stamp, NULL, 1 FROM directory_removed WHERE stamp > $1",
            columns.join(", ")
        )
    })
}

impl Row {
    fn into_entry(self, shared: &mut Shared) -> Entry {
        // Every field named: a listing column added to `listing!` does not compile until it is
        // taken here.
        let Row {
            id,
            name,
            city,
            region,
            latitude,
            longitude,
            geo_cell,
            bio,
            accepting_new_clients,
            languages,
            mobile,
            suspended_at,
            verified_hours,
            license_verified_until,
            price_from_cents,
            technique_mask,
            photo_version,
            rating_count,
            rating_sum,
            stamp,
            schedule_version,
            removed: _,
        } = self;
        let name = name.unwrap_or_default();
        let text = format!(
            "{}\n{}",
            name.to_lowercase(),
            bio.unwrap_or_default().to_lowercase()
        )
        .into();
        Entry {
            id,
            name: name.into(),
            city: city.map(|c| shared.get(c)),
            region: region.map(|r| shared.get(r)),
            latitude,
            longitude,
            geo_cell,
            text,
            accepting_new_clients: accepting_new_clients.unwrap_or(false),
            languages: shared.get(languages.unwrap_or_default()),
            mobile: mobile.unwrap_or(false),
            suspended: suspended_at.is_some(),
            verified_hours: verified_hours.unwrap_or(0),
            license_verified_until,
            price_from_cents,
            technique_mask: technique_mask.unwrap_or(0),
            photo_version: photo_version.unwrap_or(0),
            rating_count: rating_count.unwrap_or(0),
            rating_sum: rating_sum.unwrap_or(0),
            schedule_version: schedule_version.unwrap_or(0),
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
    /// Wakes the threads waiting in [`DirectoryIndex::sync`] when a sync ends.
    landed: Condvar,
    /// Wakes the tasks waiting in [`DirectoryIndex::synced`] when a sync ends.
    landed_async: tokio::sync::Notify,
    words: WordMemo,
    pages: PageMemo,
    /// When a sync last succeeded (Unix milliseconds, 0: never): the metrics' sync lag.
    last_synced_ms: std::sync::atomic::AtomicI64,
}

/// Which keys of a cell hold a word, one bit per position, as of the cell's generation.
#[derive(Debug)]
pub struct WordBits {
    generation: u64,
    bits: Vec<u64>,
}

impl WordBits {
    pub fn has(&self, pos: usize) -> bool {
        self.bits
            .get(pos / 64)
            .is_some_and(|b| b & (1 << (pos % 64)) != 0)
    }
}

#[derive(Clone)]
struct BitsWeight;

impl quick_cache::Weighter<(Box<str>, i32), Arc<WordBits>> for BitsWeight {
    fn weight(&self, k: &(Box<str>, i32), v: &Arc<WordBits>) -> u64 {
        (48 + k.0.len() + v.bits.len() * 8) as u64
    }
}

/// How many bytes the word memo keeps at most (a word in a cell of 10,000 therapists weighs
/// about 1.3 KB).
pub const WORD_MEMO_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug)]
struct WordMemo(quick_cache::sync::Cache<(Box<str>, i32), Arc<WordBits>, BitsWeight>);

impl Default for WordMemo {
    fn default() -> Self {
        WordMemo(quick_cache::sync::Cache::with_weighter(
            16_384,
            WORD_MEMO_BYTES,
            BitsWeight,
        ))
    }
}

/// A place's page of results as a search left it (`search::engine`): how many therapists
/// matched and the page's rows in the search's order (id, squared chord from the place), as of
/// the generations of the cells it read. A generation changes whenever a key of the cell is
/// added, removed or moved, and every change of a listing moves its key (only a schedule version
/// is raised in place, and the page's versions are read again from the entries), so the page
/// holds while the cells' generations do.
#[derive(Debug)]
pub struct RememberedPage {
    pub cells: Vec<(i32, u64)>,
    pub total: usize,
    pub rows: Vec<(i64, Option<f64>)>,
}

#[derive(Clone)]
struct PageWeight;

impl quick_cache::Weighter<Box<str>, Arc<RememberedPage>> for PageWeight {
    fn weight(&self, k: &Box<str>, v: &Arc<RememberedPage>) -> u64 {
        (96 + k.len() + v.cells.len() * 16 + v.rows.len() * 24) as u64
    }
}

/// How many bytes the page memo keeps at most (a page of 20 over 40 cells weighs about 1.5 KB,
/// so a few thousand of the most asked searches).
pub const PAGE_MEMO_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug)]
struct PageMemo(quick_cache::sync::Cache<Box<str>, Arc<RememberedPage>, PageWeight>);

impl Default for PageMemo {
    fn default() -> Self {
        PageMemo(quick_cache::sync::Cache::with_weighter(
            8_192,
            PAGE_MEMO_BYTES,
            PageWeight,
        ))
    }
}

/// The syncs started and finished, and whether one is running.
#[derive(Debug, Default)]
struct Flight {
    started: u64,
    done: u64,
    running: bool,
}

/// Ends a sync run even when it fails, panics or never runs (its task dropped), and wakes
/// those waiting for it.
struct Landing<I: std::ops::Deref<Target = DirectoryIndex>> {
    index: I,
    run: u64,
    ok: bool,
}

impl<I: std::ops::Deref<Target = DirectoryIndex>> Landing<I> {
    /// The run brought the index up to the database: those waiting for it may go on.
    fn succeeded(&mut self) {
        self.ok = true;
    }
}

impl<I: std::ops::Deref<Target = DirectoryIndex>> Drop for Landing<I> {
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
        self.index.landed_async.notify_waiters();
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
        // SQLite: a sync is one indexed read in this process when nothing changed; concurrent
        // ones are safe (each change is applied only over an older stamp).
        if matches!(conn, DbConnection::Sqlite(_)) {
            self.sync_now(conn)?;
            return Ok(self.read());
        }
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
            landing.succeeded();
            drop(landing);
            f = lock();
        }
    }

    /// [`sync`](Self::sync) for a request's task: on PostgreSQL a task that finds a sync running
    /// waits for the next one without holding a thread or a connection, and only the task that
    /// runs a sync takes them (on the blocking pool). Then read the index with
    /// [`read`](Self::read).
    pub async fn synced(self: &Arc<Self>, pool: &crate::db::Pool) -> Result<(), AppError> {
        let mut needed = None;
        loop {
            let notified = self.landed_async.notified();
            tokio::pin!(notified);
            // Registered before the state is looked at: a sync ending in between still wakes it.
            notified.as_mut().enable();
            let run = {
                let mut f = self
                    .flight
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let needed = *needed.get_or_insert(f.started + 1);
                if f.done >= needed {
                    return Ok(());
                }
                if f.running {
                    None
                } else {
                    f.running = true;
                    f.started += 1;
                    Some(f.started)
                }
            };
            match run {
                None => notified.await,
                Some(run) => {
                    // Made before the task: dropped with it even if it never runs.
                    let mut landing = Landing {
                        index: self.clone(),
                        run,
                        ok: false,
                    };
                    let pool = pool.clone();
                    actix_web::web::block(move || {
                        let mut conn = pool.get()?;
                        landing.index.sync_now(&mut conn)?;
                        landing.succeeded();
                        Ok::<_, AppError>(())
                    })
                    .await
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("sync task: {e}")))??;
                }
            }
        }
    }

    /// One sync. It first asks what changed, in one statement: on SQLite the stamp counter; on
    /// PostgreSQL the stamp sequence, the snapshot's xmin and the schedule versions written since
    /// the last horizon. Only when a stamp was taken since the cursor are the changes read.
    fn sync_now(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        let started = std::time::Instant::now();
        self.sync_once(conn)?;
        metrics::histogram!("directory_sync_seconds").record(started.elapsed().as_secs_f64());
        self.last_synced_ms.store(
            chrono::Utc::now().timestamp_millis(),
            std::sync::atomic::Ordering::Release,
        );
        Ok(())
    }

    /// When a sync last succeeded (None before the first): how far behind the database the
    /// index may be, at most, is the time since then.
    pub fn last_synced(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self
            .last_synced_ms
            .load(std::sync::atomic::Ordering::Acquire)
        {
            0 => None,
            ms => chrono::DateTime::from_timestamp_millis(ms),
        }
    }

    fn sync_once(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        let (cursor, horizon) = {
            let g = self.read();
            (if g.loaded { g.cursor } else { -1 }, g.schedule_horizon)
        };
        let (latest, versions) = match conn {
            DbConnection::Sqlite(c) => {
                use crate::db::schema::directory_state;
                // A cached prepared statement (a `sql_query` is prepared on every call), found
                // by its type on SQLite's own connection (`db::on_backend`).
                let v: Option<i64> = directory_state::table
                    .find(1)
                    .select(directory_state::version)
                    .first(c)
                    .optional()?;
                (v.unwrap_or(i64::MAX), None)
            }
            DbConnection::Postgresql(_) => {
                let p = postgres_probe(conn, horizon)?;
                (p.latest, Some((p.xmin, p.versions)))
            }
        };
        let changes: Vec<Row> = if cursor < 0 || latest > cursor {
            diesel::sql_query(changes_sql())
                .bind::<BigInt, _>(cursor)
                .load(conn)?
        } else {
            Vec::new()
        };
        let moved = versions.as_ref().is_some_and(|(h, vs)| {
            let g = self.read();
            Some(*h) != g.schedule_horizon
                || vs
                    .iter()
                    .any(|(id, v)| g.entries.get(id).is_some_and(|e| e.schedule_version < *v))
        });
        if !changes.is_empty() || moved || cursor < 0 {
            let mut g = self
                .inner
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            g.apply(changes);
            if let Some((h, vs)) = versions {
                for (id, v) in vs {
                    g.raise_version(id, v);
                }
                // Syncs run one at a time on PostgreSQL: the horizon only moves forward.
                g.schedule_horizon = Some(g.schedule_horizon.map_or(h, |old| old.max(h)));
            }
        }
        Ok(())
    }

    /// Which of a cell's keys hold `word` in their text (`finder` searches for it), remembered per
    /// cell generation: a repeated word search reads one bit per therapist instead of its text.
    pub fn words_in(
        &self,
        word: &str,
        finder: &memchr::memmem::Finder<'_>,
        cell: i32,
        generation: u64,
        texts: &[Arc<str>],
    ) -> Arc<WordBits> {
        let key = (Box::<str>::from(word), cell);
        if let Some(b) = self.words.0.get(&key) {
            if b.generation == generation && b.bits.len() * 64 >= texts.len() {
                return b;
            }
        }
        let mut bits = vec![0u64; texts.len().div_ceil(64)];
        for (pos, text) in texts.iter().enumerate() {
            if finder.find(text.as_bytes()).is_some() {
                bits[pos / 64] |= 1 << (pos % 64);
            }
        }
        let b = Arc::new(WordBits { generation, bits });
        self.words.0.insert(key, b.clone());
        b
    }

    /// The page remembered for `query` (every parameter of a search, and its date) when the
    /// cells it read are still at the generations it read them at (`cells`: each cell a search of
    /// it reads now, with its generation, as [`Index::cell_keys`] gives them).
    pub fn page_in(&self, query: &str, cells: &[(i32, u64)]) -> Option<Arc<RememberedPage>> {
        self.pages.0.get(query).filter(|p| p.cells == cells)
    }

    /// Remembers a page for [`page_in`](Self::page_in).
    pub fn remember_page(&self, query: Box<str>, page: RememberedPage) {
        self.pages.0.insert(query, Arc::new(page));
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
struct Probe {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    version: i64,
}

/// PostgreSQL, in one statement (one snapshot): the last stamp taken (0 when none), the xmin of
/// the snapshot (no transaction below it is still running), and, when there is a horizon, the
/// schedule versions written by transactions at or above it. The first time (no horizon) no
/// versions are read: the rows read next carry them, and whatever commits later is at or above
/// this xmin.
fn postgres_probe(
    conn: &mut DbConnection,
    horizon: Option<u64>,
) -> Result<PostgresProbe, AppError> {
    // A PL/pgSQL function (migration 000006) keeps its plans for the session; STABLE, it reads
    // the calling statement's snapshot throughout, as one statement would.
    let rows: Vec<Probe> =
        diesel::sql_query("SELECT id, version FROM directory_probe($1::text::xid8, $2)")
            .bind::<Text, _>(horizon.unwrap_or(0).to_string())
            .bind::<Bool, _>(horizon.is_some())
            .load(conn)?;
    let (mut latest, mut xmin) = (i64::MAX, horizon.unwrap_or(0));
    let mut versions = Vec::new();
    for r in rows {
        match r.id {
            -2 => latest = r.version,
            -1 => xmin = r.version as u64,
            _ => versions.push((r.id, r.version)),
        }
    }
    Ok(PostgresProbe {
        latest,
        xmin,
        versions,
    })
}

/// What [`postgres_probe`] read.
struct PostgresProbe {
    /// The last stamp taken.
    latest: i64,
    /// The new schedule horizon.
    xmin: u64,
    /// (therapist, schedule version) written at or above the old horizon.
    versions: Vec<(i64, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, cell: Option<i32>, stamp: i64, version: i64) -> Row {
        Row {
            id,
            city: None,
            region: None,
            latitude: cell.map(|c| c as f64),
            longitude: Some(0.0),
            geo_cell: cell,
            bio: Some("bio".into()),
            accepting_new_clients: Some(true),
            languages: Some(",en,".into()),
            mobile: Some(false),
            suspended_at: None,
            verified_hours: Some(0),
            license_verified_until: None,
            price_from_cents: None,
            technique_mask: Some(0),
            photo_version: Some(0),
            rating_count: Some(0),
            rating_sum: Some(0),
            stamp,
            name: Some(format!("T{id}")),
            schedule_version: Some(version),
            removed: 0,
        }
    }

    fn removal(id: i64, stamp: i64) -> Row {
        Row {
            removed: 1,
            name: None,
            bio: None,
            schedule_version: None,
            ..row(id, None, stamp, 0)
        }
    }

    /// Every entry's key sits where the entry says, with the same version, and nothing else
    /// is in the cells.
    fn consistent(idx: &Index) -> Result<(), String> {
        for e in idx.entries.values() {
            let k = idx
                .cells
                .get(&e.geo_cell.unwrap_or(NO_CELL))
                .and_then(|cell| cell.keys.get(e.pos))
                .ok_or(format!("no key for {}", e.id))?;
            if k.id != e.id || k.schedule_version != e.schedule_version {
                return Err(format!("key {k:?} for entry {}", e.id));
            }
            let text = idx
                .cells
                .get(&e.geo_cell.unwrap_or(NO_CELL))
                .and_then(|cell| cell.texts.get(e.pos));
            if text != Some(&e.text) {
                return Err(format!("text {text:?} for entry {}", e.id));
            }
        }
        if idx.cells.values().any(|c| c.texts.len() != c.keys.len()) {
            return Err("a cell's texts are not its keys'".into());
        }
        let keys: usize = idx.cells.values().map(|c| c.keys.len()).sum();
        if keys != idx.entries.len() || idx.cells.values().any(|c| c.keys.is_empty()) {
            return Err(format!("{keys} keys for {} entries", idx.entries.len()));
        }
        // Each technique's bits are those of the keys' masks, and no bit is set past the keys.
        for (c, cell) in &idx.cells {
            for (t, bits) in cell.by_technique.iter().enumerate() {
                for (w, word) in bits.iter().enumerate() {
                    for b in 0..64 {
                        let pos = w * 64 + b;
                        let want = cell
                            .keys
                            .get(pos)
                            .is_some_and(|k| k.technique_mask() & (1 << t) != 0);
                        if (word & (1 << b) != 0) != want {
                            return Err(format!(
                                "cell {c}: technique {t} bit {pos} is not its key's"
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    proptest::proptest! {
        /// A key gives back what its entry holds, through its narrow fields.
        #[test]
        fn a_key_reads_as_its_entry(
            price in proptest::option::of(0i64..=crate::domain::profile::PRICE_MAX_CENTS),
            mask in 0i64..(1 << TECHNIQUES),
            flags in (proptest::bool::ANY, proptest::bool::ANY, proptest::bool::ANY),
            hours in 0i32..100_000,
            version in 0i64..i64::MAX,
            rating in (0i32..1_000_000, 0i32..5_000_000),
        ) {
            let mut shared = Shared::default();
            let mut e = Row {
                price_from_cents: price,
                technique_mask: Some(mask),
                verified_hours: Some(hours),
                rating_count: Some(rating.0),
                rating_sum: Some(rating.1),
                accepting_new_clients: Some(flags.1),
                mobile: Some(flags.2),
                ..row(7, Some(1), 1, version)
            }
            .into_entry(&mut shared);
            e.suspended = flags.0;
            let k = Key::of(&e);
            proptest::prop_assert_eq!(k.price_from_cents(), e.price_from_cents);
            proptest::prop_assert_eq!(k.technique_mask(), e.technique_mask);
            proptest::prop_assert_eq!(
                (k.suspended(), k.accepting_new_clients(), k.mobile()),
                (e.suspended, e.accepting_new_clients, e.mobile)
            );
            proptest::prop_assert_eq!(
                (k.id, k.verified_hours, k.schedule_version, k.rating_count, k.rating_sum),
                (e.id, e.verified_hours, e.schedule_version, e.rating_count, e.rating_sum)
            );
        }

        /// The word memo of a cell answers as the texts do after any sequence of changes,
        /// moves, version bumps and removals (all asked about after each step, so that stale
        /// memos would be found).
        #[test]
        fn remembered_words_follow_the_texts(
            ops in proptest::collection::vec((0i64..10, proptest::option::of(0i32..2), 0u8..4, 0usize..3, 0i64..8), 1..60)
        ) {
            let bios = ["a quokka here", "back pain", "nothing"];
            let index = DirectoryIndex::new();
            let finder = memchr::memmem::Finder::new(b"quokka");
            let mut stamp = 0;
            for (id, cell, op, bio, mask) in ops {
                stamp += 1;
                {
                    let mut g = index.inner.write().unwrap();
                    match op {
                        0 => g.apply(vec![removal(id, stamp)]),
                        1 => g.raise_version(id, stamp),
                        _ => g.apply(vec![Row {
                            bio: Some(bios[bio].into()),
                            technique_mask: Some(mask),
                            ..row(id, cell, stamp, 0)
                        }]),
                    }
                }
                let g = index.read();
                for (c, generation, cell) in g.cell_keys(None) {
                    let keys = cell.keys();
                    let bits = index.words_in("quokka", &finder, c, generation, cell.texts());
                    proptest::prop_assert_eq!(cell.texts().len(), keys.len());
                    for (pos, k) in keys.iter().enumerate() {
                        let text = &g.get(k.id).expect("an entry per key").text;
                        proptest::prop_assert_eq!(&cell.texts()[pos], text);
                        proptest::prop_assert_eq!(bits.has(pos), text.contains("quokka"));
                    }
                    // The positions a search reads: those of a technique of each mask and
                    // holding the words, in order.
                    for masks in [&[][..], &[1], &[6], &[1, 6], &[0, 2]] {
                        for words in [&[][..], std::slice::from_ref(&bits)] {
                            let want: Vec<usize> = keys
                                .iter()
                                .enumerate()
                                .filter(|(pos, k)| {
                                    masks.iter().all(|m| *m == 0 || k.technique_mask() & m != 0)
                                        && words.iter().all(|b| b.has(*pos))
                                })
                                .map(|(pos, _)| pos)
                                .collect();
                            let got: Vec<usize> =
                                cell.positions(masks, words).iter().map(|p| p as usize).collect();
                            proptest::prop_assert_eq!(got, want);
                        }
                    }
                }
            }
        }

        /// Changes, moves between cells, version bumps and removals in any order keep the keys
        /// and the entries in step, and the highest version read wins.
        #[test]
        fn keys_follow_their_entries(
            ops in proptest::collection::vec((0i64..12, proptest::option::of(0i32..3), 0u8..3, 0i64..5, 0i64..1024), 1..80)
        ) {
            let mut idx = Index::default();
            let mut stamp = 0;
            let mut highest: HashMap<i64, i64> = HashMap::new();
            for (id, cell, op, version, mask) in ops {
                stamp += 1;
                match op {
                    0 => idx.apply(vec![removal(id, stamp)]),
                    1 => idx.raise_version(id, version),
                    _ => idx.apply(vec![Row {
                        technique_mask: Some(mask),
                        ..row(id, cell, stamp, version)
                    }]),
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
