//! The search engine: the directory index (every therapist's searchable listing in memory,
//! kept in step with the database by stamps: [`index`]), the schedule caches (free slots, free
//! days and next free times kept per schedule version: [`schedules`]) and the search that reads
//! both ([`engine`]). [`SearchEngine`] is its face: the application state holds one, and the
//! services ask it for searches and free slots. It imports no service.

pub mod engine;
pub mod free_days;
pub mod index;
pub mod mapper;
pub mod schedules;

use std::sync::Arc;

use chrono::NaiveDate;

use crate::db::{DbConnection, Pool};
use crate::error::AppError;
pub use engine::{SearchParams, SearchResult};
pub use index::DirectoryIndex;
pub use schedules::{RawSlots, ScheduleCache};

/// Asks the CPU to bring `items[i]` (each cache line it touches, and no other) into its cache,
/// when there is one: a hint that reads nothing. A search reads thousands of keys or maps at
/// scattered places; asked for a few ahead, their loads overlap instead of waiting in turn. A
/// line more than the item's would be memory traffic for nothing: a key is exactly one line.
pub(crate) fn prefetch<T>(items: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(item) = items.get(i) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        const LINE: usize = 64;
        let at = (item as *const T).cast::<i8>();
        let first = at.wrapping_sub(at as usize % LINE);
        let end = at.wrapping_add(std::mem::size_of::<T>().max(1));
        let mut line = first;
        while line < end {
            // SAFETY: a prefetch reads nothing and cannot fault; `line` is a line of a live item.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line) };
            line = line.wrapping_add(LINE);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (items, i);
}

/// The directory index and the schedule caches of one database, shared by every request.
#[derive(Default)]
pub struct SearchEngine {
    /// The directory's searchable columns in memory.
    pub directory: Arc<DirectoryIndex>,
    /// Free slots computed per schedule version.
    pub schedules: Arc<ScheduleCache>,
}

/// The loads read their rows into memory before they make their entries, then free the rows;
/// mimalloc kept the freed pages (the maps' loader thread had ended, leaving its pages to no one)
/// until some later allocation collected them: at a million therapists a server that had just
/// become ready held 980 to 1,030 MiB, 740 to 790 MiB half a second later when the free-day
/// mapper's first round ran, and 1,030 MiB for good with the mapper off. Collected at once it
/// holds 730 to 770 MiB when ready (BENCHMARKS.md).
fn give_back_freed_memory() {
    // SAFETY: mi_collect only returns mimalloc's free memory to the OS; it has no
    // preconditions and touches no memory in use.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}

impl SearchEngine {
    /// Readies every connection of `pool` for a first search, before the server takes requests
    /// (PostgreSQL): each syncs the index once and runs the statements of a load of schedules
    /// for a therapist who does not exist. A new connection plans its first statement on each
    /// table (and the sync's function) from catalogues it has not read yet, and the indexes'
    /// upper pages may not be in memory: without this, that was about a third of a server's
    /// first search at a million therapists (BENCHMARKS.md). Holds every connection meanwhile.
    pub fn warm_up(&self, pool: &Pool) -> Result<(), AppError> {
        let mut conns = (0..pool.max_size())
            .map(|_| pool.get())
            .collect::<Result<Vec<_>, _>>()?;
        for conn in &mut conns {
            drop(self.directory.sync(conn)?);
            schedules::warm_statements(conn)?;
        }
        Ok(())
    }

    /// An engine with the directory and the free-day maps loaded (a large directory takes
    /// seconds; done before the server takes requests, so no request waits for it). The two are
    /// independent: they are read at once, each on its own connection and thread.
    pub fn load(pool: &Pool) -> Result<SearchEngine, AppError> {
        let engine = SearchEngine::default();
        std::thread::scope(|s| {
            let maps = s.spawn(|| {
                let started = std::time::Instant::now();
                let mut conn = pool.get()?;
                let n = engine.schedules.maps.load(&mut conn)?;
                tracing::info!(
                    maps = n,
                    ms = started.elapsed().as_millis() as u64,
                    "free-day maps loaded"
                );
                Ok(n)
            });
            let started = std::time::Instant::now();
            let index = pool.get().map_err(AppError::from).and_then(|mut conn| {
                let therapists = engine.directory.sync(&mut conn)?.len();
                tracing::info!(
                    therapists,
                    ms = started.elapsed().as_millis() as u64,
                    "directory index loaded"
                );
                Ok(())
            });
            let maps = maps.join().unwrap_or_else(|_| {
                Err(AppError::Internal(anyhow::anyhow!(
                    "the free-day maps' loader panicked"
                )))
            });
            index.and(maps.map(drop))
        })?;
        give_back_freed_memory();
        Ok(engine)
    }

    /// Starts the thread that keeps the free-day maps current (`mapper::Mapper`); it ends
    /// when this engine is dropped.
    pub fn start_mapper(&self, pool: Pool, every: std::time::Duration) -> std::io::Result<()> {
        mapper::Mapper::start(
            pool,
            Arc::downgrade(&self.directory),
            Arc::downgrade(&self.schedules),
            every,
        )
        .map(drop)
    }

    /// Brings every therapist's free-day map up to date now (the seed, the demo, tests).
    pub fn bring_maps_up_to_date(
        &self,
        conn: &mut DbConnection,
    ) -> Result<mapper::Round, AppError> {
        let current = self.directory.sync(conn)?.schedule_versions();
        mapper::bring_up_to_date(
            conn,
            &self.schedules.maps,
            &current,
            chrono::Utc::now().date_naive(),
            || true,
        )
    }

    /// A directory search for a request (see [`engine::search_request`]).
    pub async fn search(
        &self,
        pool: &Pool,
        sqlite: bool,
        params: SearchParams,
        today: NaiveDate,
    ) -> Result<SearchResult, AppError> {
        engine::search_request(
            pool,
            sqlite,
            &self.directory,
            &self.schedules,
            params,
            today,
        )
        .await
    }

    /// A therapist's free slots for one service over `dates` (see [`schedules::slots_request`]),
    /// with each slot's JSON object when `json` (the API's answer) or without (a page's);
    /// `synced` is the therapist's schedule version when the caller synced the index already.
    pub async fn slots(
        &self,
        pool: &Pool,
        sqlite: bool,
        therapist_and_service: (i64, i64),
        dates: (NaiveDate, NaiveDate),
        json: bool,
        synced: Option<i64>,
    ) -> Result<Arc<RawSlots>, AppError> {
        schedules::slots_request(
            pool,
            sqlite,
            &self.directory,
            &self.schedules,
            therapist_and_service,
            dates,
            json,
            synced,
        )
        .await
    }
}
