//! The search: candidates from the directory index, weighed by free time from the schedule
//! caches, sorted and paged. The client's question is the article's: is this therapist licensed,
//! trained 500 hours or more, offering my technique, near me, free when I am?
//!
//! **How a search is answered.** From the directory index in memory (the searchable columns of
//! every therapist, kept in step with the database by stamps: see the index's module), never from
//! the `therapists` table. A place's candidates are one pass over the keys of the grid cells its
//! bounding box touches, reading only the keys of the asked technique and words (each cell's
//! technique bits and word memo), each asked for a few keys ahead (`search::prefetch`); distance
//! is decided by the chord between unit vectors (it orders and
//! bounds exactly as the great-circle distance does, with no trigonometry per candidate), and the
//! page's distances are computed from the same chords. A technique is a bit of `technique_mask`;
//! words are matched lower-cased in Rust, the same on both backends, and which keys of a cell hold
//! a word is remembered per cell generation. When free time must be decided (`available_on`, the
//! soonest sort), free days come first from the free-day maps (`search::free_days`: known ahead
//! for every therapist at its `schedule_version`, no slots computed), and only the candidates they
//! cannot decide are weighed one by one by `ScheduleCache::free_on`, at most [`MAX_CANDIDATES`]
//! (else `search_too_broad`), through [`FreeTimeOracle`](super::schedules::FreeTimeOracle): one
//! helper, `free_on_day`, hands the candidates to the maps a batch at a time as the scan offers
//! them. The soonest sort orders the candidates (those free on the day, when a day is asked) by a
//! bound of their next free time from the same maps, keeping only the first ones as the scan
//! offers them, and weighs the exact next free time of the first of those only, until no bound
//! left can beat the page (`soonest_first`): a big city's tens of thousands cost a page's worth
//! of slots. Unless free
//! time orders the results (the soonest sort), only the page's rows are kept as the scan offers
//! them and the rest are counted (`Streamed`). Such a page of a place (no free time weighed) is remembered
//! with the generations of the cells it read (`DirectoryIndex::page_in`) and answered again,
//! without a scan, while none of those cells changed: every change of a listing moves its key and
//! so its cell's generation. Next free times are computed for the shown page only (for the first
//! candidates by their bounds when sorting by soonest).
//! So is the rest of a result line: distances (km and miles) from the chords already measured,
//! the next free time in the therapist's zone (kept with it), and, with a technique, the price
//! and length of that technique's service from the page's menus (`ScheduleCache::menus`: kept
//! per schedule version, those not kept read in one query for the page).
//!
//! **Request thread or blocking pool** ([`search_request`], the page's and the API's search). The
//! index is synced first: on PostgreSQL by awaiting a sync that began after the request arrived
//! (the waiting task holds no thread and no connection), on SQLite with one indexed read. A search
//! over a place then runs on the request's thread with no connection: the oracle of free time
//! answers from what `ScheduleCache` keeps and says `None` when an answer must be loaded. When
//! the page could be chosen (the usual miss: the free-day maps decided the day, but the page's
//! next free times or services are not kept), the chosen page goes to the blocking pool, where
//! only its rows are loaded ([`finish`]; the index is not scanned again); when free time must be
//! loaded to choose it, the search runs again there with a connection. There, PostgreSQL does
//! not sync again (the index only moves forward, so it is still as of a moment after the request
//! arrived); SQLite goes through [`search`], which syncs again with one indexed read. Both
//! attempts decide free time at the same instant. On SQLite a search with
//! no free time to decide is given the request thread's connection at once (the page's next free
//! times, at most `per_page` therapists; `db::with_conn_quick`). A search over the whole
//! directory may read every therapist and runs on the blocking pool.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::db::DbConnection;
use crate::domain::credential::license_counts;
use crate::domain::gazetteer::{
    bounding_box, cells_of, chord2, chord2_of_km, km_of_chord2, unit_vector, DistanceUnit, Near,
};
use crate::domain::photo::{self, PhotoSize};
use crate::domain::{review, technique};
use crate::error::AppError;
use crate::search::index as directory_index;
use crate::search::schedules::{FreeTimeOracle, NextFreeAt};

/// The most candidates one search checks for free time (`available_on`, the soonest sort); a
/// broader search is asked to add a place or a technique.
pub const MAX_CANDIDATES: usize = 20_000;
/// How many candidates beyond the page the soonest sort keeps by their bounds as the scan offers
/// them (`soonest_first`; more when those run out before the page is decided).
const SOONEST_KEEP: usize = 1024;
/// How many candidates the soonest sort weighs at least at once.
const SOONEST_BATCH: usize = 64;
/// How many candidates a search by day hands the free-day maps at once.
const DECIDE_BATCH: usize = 512;
/// How many keys ahead of the one read a search asks for (`search::prefetch`).
const PREFETCH_AHEAD: usize = 16;
/// Training hours that earn the badge (the article's threshold).
pub const HOURS_BADGE: i32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Distance,
    Soonest,
    Hours,
    Price,
    /// Best rated first (`domain::review::best_first_key`).
    Rating,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Distance => "distance",
            Sort::Soonest => "soonest",
            Sort::Hours => "hours",
            Sort::Price => "price",
            Sort::Rating => "rating",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SearchParams {
    pub technique: Option<&'static str>,
    pub near: Option<Near>,
    pub radius_km: f64,
    pub verified_only: bool,
    pub min_hours: Option<i32>,
    pub available_on: Option<NaiveDate>,
    pub words: Vec<String>,
    pub accepting_only: bool,
    pub language: Option<&'static str>,
    pub mobile_only: bool,
    /// The cheapest service costs at most this many cents.
    pub max_price_cents: Option<i64>,
    /// The average rating is at least this (1 to 5; a therapist without reviews has none).
    pub min_rating: Option<f64>,
    pub sort: Sort,
    pub page: i64,
    pub per_page: i64,
    /// Only therapists offering one of these techniques (the self-check's suitable ones).
    pub techniques_any: Option<Vec<String>>,
}

impl SearchParams {
    /// Whether free time decides which candidates stay or their order (`available_on`, the
    /// soonest sort). A search without it is short by construction: only the page's next free
    /// times, kept per schedule version.
    pub fn decides_free_time(&self) -> bool {
        self.available_on.is_some() || self.sort == Sort::Soonest
    }
}

/// One therapist in the results. The fields added with local times, the searched service and
/// photos are left out when they have no value (a result line's JSON stays small).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub id: i64,
    pub name: String,
    /// "Boston, MA".
    pub city: Option<String>,
    /// Technique slugs, in the catalogue's order.
    pub techniques: Vec<&'static str>,
    /// The sum of verified training records.
    pub training_hours: i32,
    /// True when `training_hours` is at least 500.
    pub hours_verified: bool,
    /// True while a verified license has not expired.
    pub license_verified: bool,
    /// Great-circle km from `near`, when given.
    pub distance_km: Option<f64>,
    pub price_from_cents: Option<i64>,
    /// The average of the shown reviews, to one decimal; null without reviews.
    pub rating_avg: Option<f64>,
    /// How many reviews are shown (hidden ones do not count).
    pub rating_count: i32,
    /// The next free time (RFC 3339), when known.
    pub next_free_at: Option<String>,
    /// The next free time in the therapist's time zone (RFC 3339 with its offset,
    /// "2026-11-30T09:00:00-05:00"), with `next_free_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_free_local: Option<String>,
    /// The therapist's IANA time zone ("America/New_York"), with `next_free_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<&'static str>,
    /// Great-circle miles from `near`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_mi: Option<f64>,
    /// With `technique`: the service of that technique this line shows (the therapist's
    /// cheapest active one; `price_from_cents` stays the cheapest service of any technique).
    /// None without `technique` or when the therapist lists no service of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<i64>,
    /// The technique slug of `service_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_technique: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_duration_min: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_price_cents: Option<i64>,
    /// The therapist's photo, 320 by 320 pixels (a versioned URL, cached for good); None
    /// without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    /// The same photo at 192 by 192 pixels, for a result card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_card_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SearchResult {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub hits: Vec<SearchHit>,
}

/// A search's page chosen from the index, before its rows' next free times and services are
/// read ([`finish`]).
pub struct PageChosen {
    total: i64,
    rows: Vec<Candidate>,
    /// Each row's distance in km, when the search has a place.
    distances: HashMap<i64, f64>,
    labels: Vec<Label>,
}

/// How far a search got (a search given a connection always answers).
pub enum Attempt {
    Answered(SearchResult),
    /// The page is chosen; its rows' next free times or services must be loaded ([`finish`]).
    PageChosen(PageChosen),
    /// Free time must be loaded to choose the page.
    FreeTimeNeeded,
}

impl Attempt {
    /// The answer of a search that was given a connection.
    fn answered(self) -> Result<SearchResult, AppError> {
        match self {
            Attempt::Answered(found) => Ok(found),
            Attempt::PageChosen(_) | Attempt::FreeTimeNeeded => Err(connection_unused()),
        }
    }
}

/// The columns a candidate needs for distance, sorting and the result line.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    id: i64,
    verified_hours: i32,
    price_from_cents: Option<i64>,
    schedule_version: i64,
    rating_count: i32,
    rating_sum: i32,
}

impl Candidate {
    fn of_key(k: &directory_index::Key) -> Candidate {
        Candidate {
            id: k.id,
            verified_hours: k.verified_hours,
            price_from_cents: k.price_from_cents(),
            schedule_version: k.schedule_version,
            rating_count: k.rating_count,
            rating_sum: k.rating_sum,
        }
    }
}

/// What a result line shows beyond what sorting needs.
#[derive(Debug, Default)]
struct Label {
    name: String,
    city: Option<String>,
    region: Option<String>,
    license_verified_until: Option<NaiveDate>,
    techniques: Vec<&'static str>,
    photo_version: i64,
}

/// Whether an entry of the directory index passes every filter but the place and the words
/// (suspension, a license verified today, techniques, hours, accepting, mobile, price, rating,
/// language): the one definition of the filters. `key` holds the hot columns; the entry
/// (languages) is looked up only when that filter is asked for. Every field of
/// [`SearchParams`] is named here: a filter added to it does not compile until it is decided
/// here (or said to be decided elsewhere).
fn matches<'e>(
    key: &directory_index::Key,
    entry: impl FnOnce() -> Option<&'e directory_index::Entry>,
    p: &SearchParams,
    today: NaiveDate,
    masks: (i64, i64),
) -> bool {
    let SearchParams {
        technique,
        near: _,      // the cells and the chord, before this test
        radius_km: _, // with `near`
        verified_only,
        min_hours,
        available_on: _, // free time, after the candidates (the oracle)
        words: _,        // the word memo of each cell, before this test
        accepting_only,
        language,
        mobile_only,
        max_price_cents,
        min_rating,
        sort: _,
        page: _,
        per_page: _,
        techniques_any,
    } = p;
    let (technique_mask, any_mask) = masks;
    let hot = !key.suspended()
        && (!verified_only || license_counts(key.license_verified_until, today))
        && (technique.is_none() || key.technique_mask() & technique_mask != 0)
        && (techniques_any.is_none() || key.technique_mask() & any_mask != 0)
        && min_hours.is_none_or(|h| key.verified_hours >= h)
        && (!accepting_only || key.accepting_new_clients())
        && (!mobile_only || key.mobile())
        && max_price_cents.is_none_or(|max| key.price_from_cents().is_some_and(|c| c <= max))
        && min_rating.is_none_or(|min| review::meets(key.rating_sum, key.rating_count, min));
    hot && language
        .is_none_or(|code| entry().is_some_and(|e| e.languages.contains(&format!(",{code},"))))
}

/// Runs a search for a request. The directory is synced first: on PostgreSQL by awaiting
/// `DirectoryIndex::synced` (no thread or connection held while waiting), on SQLite with one
/// indexed read. A search over a place then runs on the request's thread from memory (the index
/// and the free-time answers kept per schedule version), and goes on on the blocking pool, with
/// a connection to load them, only when some answer is not kept (the chosen page's rows, or the
/// search again when choosing it needs free time loaded); a search with no free time
/// to decide may load the page's next free times (at most `per_page` therapists) right away on
/// SQLite, where a query is a function call. A search over the whole directory, which may read
/// every therapist, runs on the blocking pool.
pub async fn search_request(
    pool: &crate::db::Pool,
    sqlite: bool,
    index: &std::sync::Arc<directory_index::DirectoryIndex>,
    cache: &std::sync::Arc<crate::search::schedules::ScheduleCache>,
    p: SearchParams,
    today: NaiveDate,
) -> Result<SearchResult, AppError> {
    let p = std::sync::Arc::new(p);
    // One instant decides free time, in both attempts.
    let now = chrono::Utc::now();
    let attempt = if p.near.is_none() {
        // Over the whole directory every therapist may be read: the blocking pool's work.
        if !sqlite {
            index.synced(pool).await?;
        }
        Attempt::FreeTimeNeeded
    } else if sqlite {
        let (index, cache, p) = (index.clone(), cache.clone(), p.clone());
        crate::db::with_conn_quick(pool, true, move |conn| {
            drop(index.sync(conn)?);
            let oracle = crate::search::schedules::Oracle::at(&cache, now);
            let conn = (!p.decides_free_time()).then_some(conn);
            search_synced(conn, &p, today, &oracle, &index)
        })
        .await?
    } else {
        index.synced(pool).await?;
        let oracle = crate::search::schedules::Oracle::at(cache, now);
        search_synced(None, &p, today, &oracle, index)?
    };
    let chosen = match attempt {
        Attempt::Answered(found) => return Ok(found),
        Attempt::PageChosen(chosen) => Some(chosen),
        Attempt::FreeTimeNeeded => None,
    };
    // On the blocking pool with a connection: a chosen page's rows are loaded (the index is not
    // read again); else the search runs again. PostgreSQL was synced above, after the request
    // arrived; on SQLite a search that runs again syncs again (one indexed read).
    let (index, cache) = (index.clone(), cache.clone());
    crate::db::with_conn(pool, move |conn| {
        let oracle = crate::search::schedules::Oracle::at(&cache, now);
        match chosen {
            Some(chosen) => finish(Some(conn), &p, today, &oracle, chosen)?.answered(),
            None if sqlite => search(conn, &p, today, &oracle, &index),
            None => search_synced(Some(conn), &p, today, &oracle, &index)?.answered(),
        }
    })
    .await
}

/// Searches the directory index, synced first (so as of a moment after this call began).
pub fn search(
    conn: &mut DbConnection,
    p: &SearchParams,
    today: NaiveDate,
    oracle: &dyn FreeTimeOracle,
    index: &directory_index::DirectoryIndex,
) -> Result<SearchResult, AppError> {
    drop(index.sync(conn)?);
    search_synced(Some(conn), p, today, oracle, index)?.answered()
}

/// A search given a connection answers (the oracle loads what it does not keep).
fn connection_unused() -> AppError {
    AppError::Internal(anyhow::anyhow!("a search given a connection asked for one"))
}

/// [`search`] over an index the caller synced after its request arrived. Without a connection
/// it answers from what is kept in memory, or says what it must load ([`Attempt`]).
pub fn search_synced(
    mut conn: Option<&mut DbConnection>,
    p: &SearchParams,
    today: NaiveDate,
    oracle: &dyn FreeTimeOracle,
    index: &directory_index::DirectoryIndex,
) -> Result<Attempt, AppError> {
    let offset = (p.page - 1) * p.per_page;
    let (total, page_rows, distances, labels): (
        i64,
        Vec<Candidate>,
        HashMap<i64, f64>,
        Vec<Label>,
    ) = {
        // The candidates come from the directory index (synced by the caller).
        let masks = (
            technique::mask_of(p.technique),
            p.techniques_any
                .as_ref()
                .map(|l| technique::mask_of(l.iter().map(String::as_str)))
                .unwrap_or(0),
        );
        // Each word's searcher is built once for all the candidates.
        let words: Vec<memchr::memmem::Finder> = p
            .words
            .iter()
            .map(|w| memchr::memmem::Finder::new(w.as_bytes()))
            .collect();
        let idx = index.read();
        // Each candidate with its squared chord from `near` (it orders and bounds exactly as
        // the distance does; the page's distances are computed at the end): one pass over the
        // cells, no trigonometry per candidate, and the words read from the memo of each cell.
        let cells = p
            .near
            .as_ref()
            .map(|near| cells_of(&bounding_box(near.point, p.radius_km)));
        let geo = p
            .near
            .as_ref()
            .map(|near| (unit_vector(near.point), chord2_of_km(p.radius_km)));
        // Only the keys of the asked techniques holding the words are read (each cell's bits):
        // the rest could not pass `matches`.
        let technique_masks = [masks.0, masks.1];
        // Every candidate, offered to `sink`. Without a place, every cell, and therapists without
        // a place count too.
        let scan = |idx: &directory_index::Index, sink: &mut dyn FnMut(Row)| {
            for (c, generation, cell) in idx.cell_keys(cells.as_deref()) {
                let keys = cell.keys();
                let holding: Vec<_> = p
                    .words
                    .iter()
                    .zip(&words)
                    .map(|(w, f)| index.words_in(w, f, c, generation, cell.texts()))
                    .collect();
                let positions = cell.positions(&technique_masks, &holding);
                for (n, pos) in positions.iter().enumerate() {
                    if let Some(ahead) = positions.get(n + PREFETCH_AHEAD) {
                        crate::search::prefetch(keys, ahead as usize);
                    }
                    let k = &keys[pos as usize];
                    let d = match geo {
                        Some((center, within)) => {
                            let d = chord2(center, k.xyz);
                            if d > within {
                                continue;
                            }
                            Some(d)
                        }
                        None => None,
                    };
                    if matches(k, || idx.get(k.id), p, today, masks) {
                        sink((Candidate::of_key(k), d));
                    }
                }
            }
        };
        let end = (offset + p.per_page) as usize;
        // A place's search with no free time to weigh is remembered with the generations of the
        // cells it read, and answered again from the memo while they hold (the page's rows read
        // again from their keys, so their schedule versions are current).
        let memo = match (&cells, p.decides_free_time()) {
            (Some(cells), false) => {
                let read: Vec<(i32, u64)> = idx
                    .cell_keys(Some(cells))
                    .map(|(c, generation, _)| (c, generation))
                    .collect();
                Some((format!("{p:?} on {today}"), read))
            }
            _ => None,
        };
        let remembered = memo
            .as_ref()
            .and_then(|(query, read)| index.page_in(query, read))
            .and_then(|page| {
                let rows = page
                    .rows
                    .iter()
                    .map(|&(id, d)| idx.key(id).map(|k| (Candidate::of_key(k), d)))
                    .collect::<Option<Vec<Row>>>()?;
                Some((page.total, rows))
            });
        // The index is read until the scan ends, not while free time is weighed.
        let scan_then_release = |sink: &mut dyn FnMut(Row)| {
            scan(&idx, sink);
            drop(idx);
        };
        let (total, rows) = match (remembered, p.available_on, p.sort) {
            (Some(page), _, _) => {
                drop(scan_then_release);
                page
            }
            (None, _, Sort::Soonest) => {
                // Ordered by the next free time: the candidates (those free on the day, when one
                // is asked) with the first bounds are kept as the scan offers them, and the first
                // of those weighed one by one (`soonest_first`). A pass that kept too few scans
                // again, on the index as it is then.
                let mut first_pass = Some(scan_then_release);
                let mut pass = |conn: Option<&mut DbConnection>,
                                sink: &mut dyn FnMut(Row)|
                 -> Result<bool, AppError> {
                    let mut run = |sink: &mut dyn FnMut(Row)| match first_pass.take() {
                        Some(scan_then_release) => scan_then_release(sink),
                        None => scan(&index.read(), sink),
                    };
                    match p.available_on {
                        Some(day) => free_on_day(run, oracle, conn, day, sink),
                        None => {
                            run(sink);
                            Ok(true)
                        }
                    }
                };
                let weighed = soonest_first(
                    &mut pass,
                    end,
                    end + SOONEST_KEEP,
                    oracle,
                    conn.as_deref_mut(),
                )?;
                match weighed {
                    Some(picked) => picked,
                    None => return Ok(Attempt::FreeTimeNeeded),
                }
            }
            (None, Some(day), _) => {
                // Free on a day, in an order free time does not decide: only the page's rows of
                // those free are kept as they come.
                let mut outcome: Result<bool, AppError> = Ok(true);
                let picked = by_sort(
                    Streamed(|sink: &mut dyn FnMut(Row)| {
                        outcome =
                            free_on_day(scan_then_release, oracle, conn.as_deref_mut(), day, sink);
                    }),
                    p.sort,
                    end,
                    &HashMap::new(),
                );
                if !outcome? {
                    return Ok(Attempt::FreeTimeNeeded);
                }
                picked
            }
            // Nothing to weigh: only the page's rows are kept as they come, and the rest counted.
            (None, None, _) => {
                let picked = by_sort(Streamed(scan_then_release), p.sort, end, &HashMap::new());
                if let Some((query, cells)) = memo {
                    let rows = picked.1.iter().map(|(c, d)| (c.id, *d)).collect();
                    let page = directory_index::RememberedPage {
                        cells,
                        total: picked.0,
                        rows,
                    };
                    index.remember_page(query.into(), page);
                }
                picked
            }
        };
        let total = total as i64;
        // The page's distances from the chords of the same read.
        let mut distances = HashMap::new();
        let page_rows: Vec<Candidate> = rows
            .into_iter()
            .skip(offset as usize)
            .take(p.per_page as usize)
            .map(|(c, d)| {
                if let Some(d) = d {
                    distances.insert(c.id, km_of_chord2(d));
                }
                c
            })
            .collect();
        // The result lines from the index (as synced above, or newer), in the page's order.
        let idx = index.read();
        let labels: Vec<Label> = page_rows
            .iter()
            .map(|c| {
                idx.get(c.id)
                    .map(|e| Label {
                        name: e.name.to_string(),
                        city: e.city.as_deref().map(str::to_string),
                        region: e.region.as_deref().map(str::to_string),
                        license_verified_until: e.license_verified_until,
                        photo_version: e.photo_version,
                        techniques: technique::CATALOGUE
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| e.technique_mask & (1i64 << i) != 0)
                            .map(|(_, t)| t.slug)
                            .collect(),
                    })
                    .unwrap_or_default()
            })
            .collect();
        (total, page_rows, distances, labels)
    };
    let chosen = PageChosen {
        total,
        rows: page_rows,
        distances,
        labels,
    };
    finish(conn, p, today, oracle, chosen)
}

/// The result lines of a chosen page: each row's next free time and, with a technique, that
/// technique's service (the page's menus, kept per version). Without a connection it answers from
/// what is kept in memory, or gives the page back when something must be loaded.
pub fn finish(
    mut conn: Option<&mut DbConnection>,
    p: &SearchParams,
    today: NaiveDate,
    oracle: &dyn FreeTimeOracle,
    chosen: PageChosen,
) -> Result<Attempt, AppError> {
    let versions: Vec<(i64, i64)> = chosen
        .rows
        .iter()
        .map(|c| (c.id, c.schedule_version))
        .collect();
    let Some(next_free) = oracle.next_free(conn.as_deref_mut(), &versions)? else {
        return Ok(Attempt::PageChosen(chosen));
    };
    let menus = match p.technique {
        Some(_) => match oracle.menus(conn, &versions)? {
            Some(m) => m,
            None => return Ok(Attempt::PageChosen(chosen)),
        },
        None => Vec::new(),
    };
    let PageChosen {
        total,
        rows: page_rows,
        distances,
        labels,
    } = chosen;
    let hits = page_rows
        .into_iter()
        .zip(labels)
        .enumerate()
        .map(|(i, (c, l))| {
            let next = next_free.get(&c.id);
            let service = p
                .technique
                .zip(menus.get(i).and_then(Option::as_ref))
                .and_then(|(t, m)| m.for_technique(t));
            let km = distances.get(&c.id).copied();
            SearchHit {
                id: c.id,
                name: l.name,
                city: l.city.map(|city| match l.region {
                    Some(r) => format!("{city}, {r}"),
                    None => city,
                }),
                techniques: l.techniques,
                training_hours: c.verified_hours,
                hours_verified: c.verified_hours >= HOURS_BADGE,
                license_verified: license_counts(l.license_verified_until, today),
                distance_km: km.map(tenths),
                price_from_cents: c.price_from_cents,
                rating_avg: review::shown_average(c.rating_sum, c.rating_count),
                rating_count: c.rating_count,
                next_free_at: next.map(|n| n.utc.as_str().to_owned()),
                next_free_local: next.map(|n| n.local.as_str().to_owned()),
                timezone: next.map(|n| n.tz.name()),
                distance_mi: km.map(|d| tenths(DistanceUnit::Mi.of_km(d))),
                service_id: service.map(|s| s.service_id),
                service_technique: service.map(|s| s.technique),
                service_duration_min: service.map(|s| s.duration_min),
                service_price_cents: service.map(|s| s.price_cents),
                photo_url: photo::url(c.id, l.photo_version, PhotoSize::Profile),
                photo_card_url: photo::url(c.id, l.photo_version, PhotoSize::Card),
            }
        })
        .collect();
    Ok(Attempt::Answered(SearchResult {
        total,
        page: p.page,
        per_page: p.per_page,
        hits,
    }))
}

/// Offers `sink` the rows `scan` offers that are free on `day`, and answers false when free time
/// must be loaded and there is no connection (`conn` None). The free-day maps decide the rows a
/// batch at a time as the scan offers them; only those the maps cannot tell are kept, and weighed
/// one by one once the scan is done (up to the bound of one by one: more is `search_too_broad`).
/// Rows free by the maps come first, in the scan's order, then those weighed.
fn free_on_day(
    scan: impl FnOnce(&mut dyn FnMut(Row)),
    oracle: &dyn FreeTimeOracle,
    conn: Option<&mut DbConnection>,
    day: NaiveDate,
    sink: &mut dyn FnMut(Row),
) -> Result<bool, AppError> {
    let mut unsure: Vec<Row> = Vec::new();
    let mut batch: Vec<Row> = Vec::with_capacity(DECIDE_BATCH);
    let mut decide = |batch: &mut Vec<Row>, sink: &mut dyn FnMut(Row)| {
        let answers = oracle.free_by_map(&versions(batch), day);
        for (r, answer) in batch.drain(..).zip(answers) {
            match answer {
                Some(true) => sink(r),
                Some(false) => {}
                None => unsure.push(r),
            }
        }
    };
    scan(&mut |r| {
        batch.push(r);
        if batch.len() == DECIDE_BATCH {
            decide(&mut batch, sink);
        }
    });
    decide(&mut batch, sink);
    if unsure.len() > MAX_CANDIDATES {
        return Err(too_broad());
    }
    let Some(free) = oracle.free_on(conn, &versions(&unsure), day)? else {
        return Ok(false);
    };
    let free: rustc_hash::FxHashSet<i64> = free.into_iter().collect();
    unsure
        .into_iter()
        .filter(|(c, _)| free.contains(&c.id))
        .for_each(sink);
    Ok(true)
}

/// A pass of the scan for the soonest sort: offers the candidates to the sink, or answers false
/// when free time must be loaded first (with the connection, when there is one).
type Pass<'a> =
    dyn FnMut(Option<&mut DbConnection>, &mut dyn FnMut(Row)) -> Result<bool, AppError> + 'a;

/// A candidate's bound key: its bound (no slot starts before it) and its id. A row's key in the
/// soonest sort is never before its bound's key.
type BoundKey = (chrono::DateTime<chrono::Utc>, i64);

/// The rows a pass of the scan offers with the first `keep` bound keys, each with its bound,
/// how many rows were offered, and the first key of those not kept (None when all were).
/// Bounds are asked of the maps a batch at a time; a heap whose top is the last key kept holds
/// them, so a big city's tens of thousands are counted, not stored.
struct FirstBounds<'o> {
    oracle: &'o dyn FreeTimeOracle,
    keep: usize,
    heap: std::collections::BinaryHeap<Ranked<BoundKey>>,
    batch: Vec<Row>,
    offered: usize,
    beyond: Option<BoundKey>,
}

impl<'o> FirstBounds<'o> {
    fn new(oracle: &'o dyn FreeTimeOracle, keep: usize) -> Self {
        FirstBounds {
            oracle,
            keep,
            heap: std::collections::BinaryHeap::with_capacity(keep + 1),
            batch: Vec::with_capacity(DECIDE_BATCH),
            offered: 0,
            beyond: None,
        }
    }

    fn offer(&mut self, r: Row) {
        self.batch.push(r);
        if self.batch.len() == DECIDE_BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let bounds = self.oracle.next_free_bounds(&versions(&self.batch));
        for (r, b) in self.batch.drain(..).zip(bounds) {
            self.offered += 1;
            self.heap.push(Ranked((b, r.0.id), r));
            if self.heap.len() > self.keep {
                if let Some(Ranked(k, _)) = self.heap.pop() {
                    self.beyond = Some(self.beyond.map_or(k, |b| b.min(k)));
                }
            }
        }
    }

    fn finish(mut self) -> (usize, Vec<(Row, BoundKey)>, Option<BoundKey>) {
        self.flush();
        let kept = self.heap.into_iter().map(|Ranked(k, r)| (r, k)).collect();
        (self.offered, kept, self.beyond)
    }
}

/// The soonest sort's page: the first `end` rows in the order of the next free time (those with
/// none last, then the id), and how many rows there were; None when free time must be loaded and
/// there is no connection. `pass` offers the candidates (false: free time must be loaded first);
/// a pass keeps those with the first `keep` bound keys (`FirstBounds`). The rows kept are weighed
/// exactly a batch at a time in the order of their bounds, until the page's last key among those
/// weighed comes before every bound left (of those kept and those not), when none of the rest
/// can enter the page. When the rows kept run out first, a pass keeps eight times as many. More
/// than [`MAX_CANDIDATES`] weighed is `search_too_broad`.
fn soonest_first(
    pass: &mut Pass,
    end: usize,
    mut keep: usize,
    oracle: &dyn FreeTimeOracle,
    mut conn: Option<&mut DbConnection>,
) -> Result<Option<(usize, Vec<Row>)>, AppError> {
    let key = |next: &HashMap<i64, NextFreeAt>, id: i64| {
        let at = next.get(&id).map(|n| n.at);
        (at.is_none(), at, id)
    };
    loop {
        let mut first = FirstBounds::new(oracle, keep.max(end));
        if !pass(conn.as_deref_mut(), &mut |r| first.offer(r))? {
            return Ok(None);
        }
        let (total, kept, beyond) = first.finish();
        // (bound key, the row's place in `kept`), not weighed yet.
        let mut waiting: Vec<(BoundKey, u32)> = kept
            .iter()
            .enumerate()
            .map(|(i, (_, k))| (*k, i as u32))
            .collect();
        let mut weighed: Vec<Row> = Vec::new();
        let mut next: HashMap<i64, NextFreeAt> = HashMap::new();
        let complete = loop {
            // The first bound key of the rows not weighed, kept or not.
            let left = waiting
                .iter()
                .map(|w| w.0)
                .min()
                .into_iter()
                .chain(beyond)
                .min();
            let Some((bound, id)) = left else {
                break true;
            };
            if end == 0 {
                break true;
            }
            if weighed.len() >= end {
                let mut keys: Vec<_> = weighed.iter().map(|(c, _)| key(&next, c.id)).collect();
                let (_, page_last, _) = keys.select_nth_unstable(end - 1);
                if *page_last < (false, Some(bound), id) {
                    break true;
                }
            }
            if waiting.is_empty() {
                break false;
            }
            let batch = end.saturating_sub(weighed.len()).max(SOONEST_BATCH);
            if batch < waiting.len() {
                waiting.select_nth_unstable(batch);
            }
            let taken: Vec<Row> = waiting
                .drain(..batch.min(waiting.len()))
                .map(|(_, i)| kept[i as usize].0)
                .collect();
            if weighed.len() + taken.len() > MAX_CANDIDATES {
                return Err(too_broad());
            }
            let Some(found) = oracle.next_free(conn.as_deref_mut(), &versions(&taken))? else {
                return Ok(None);
            };
            next.extend(found);
            weighed.extend(taken);
        };
        if complete {
            let (_, page) = by_sort(Collected(weighed), Sort::Soonest, end, &next);
            return Ok(Some((total, page)));
        }
        keep = keep.saturating_mul(8);
    }
}

/// Each row's (therapist id, schedule version): what free-time answers are asked and kept by.
fn versions(rows: &[Row]) -> Vec<(i64, i64)> {
    rows.iter()
        .map(|(c, _)| (c.id, c.schedule_version))
        .collect()
}

/// A search whose candidates are too many to weigh one by one.
fn too_broad() -> AppError {
    AppError::Rule {
        code: "search_too_broad",
        message: "This search matches too many therapists to check one by one. Add a place, a technique or a smaller radius.".into(),
    }
}

/// A distance to one decimal.
fn tenths(d: f64) -> f64 {
    (d * 10.0).round() / 10.0
}

/// The first `end` of `rows` in the order of `key` (total: every key ends with an id), each key
/// computed once: a partial selection of the keys, then a sort of those kept. A squared chord
/// orders by its bits, as chords are never negative.
fn first_in_order<R: Copy, K: Ord>(rows: &[R], end: usize, key: impl Fn(&R) -> K) -> Vec<R> {
    let mut keyed: Vec<(K, u32)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (key(r), i as u32))
        .collect();
    if keyed.len() > end {
        keyed.select_nth_unstable(end);
        keyed.truncate(end);
    }
    keyed.sort_unstable();
    keyed.iter().map(|&(_, i)| rows[i as usize]).collect()
}

/// A candidate and its squared chord from the place searched (None without a place).
type Row = (Candidate, Option<f64>);

/// The first `end` rows in the order of the search's sort (every key ends with the id: the order
/// is total, so an unstable selection is exact), and how many rows there were. `next` holds the
/// next free times the soonest sort orders by.
fn by_sort(
    rows: impl Pick,
    sort: Sort,
    end: usize,
    next: &HashMap<i64, crate::search::schedules::NextFreeAt>,
) -> (usize, Vec<Row>) {
    match sort {
        Sort::Distance => rows.pick(end, |(c, d)| (d.map(f64::to_bits), c.id)),
        Sort::Soonest => rows.pick(end, |(c, _)| {
            let n = next.get(&c.id).map(|n| n.at);
            (n.is_none(), n, c.id)
        }),
        Sort::Hours => rows.pick(end, |(c, _)| (std::cmp::Reverse(c.verified_hours), c.id)),
        Sort::Price => rows.pick(end, |(c, _)| {
            (c.price_from_cents.is_none(), c.price_from_cents, c.id)
        }),
        Sort::Rating => rows.pick(end, |(c, _)| {
            (review::best_first_key(c.rating_sum, c.rating_count), c.id)
        }),
    }
}

/// Rows the first of which in some order can be picked.
trait Pick {
    fn pick<K: Ord>(self, end: usize, key: impl Fn(&Row) -> K) -> (usize, Vec<Row>);
}

/// Rows all in a list (those weighed for free time).
struct Collected(Vec<Row>);

impl Pick for Collected {
    fn pick<K: Ord>(self, end: usize, key: impl Fn(&Row) -> K) -> (usize, Vec<Row>) {
        (self.0.len(), first_in_order(&self.0, end, key))
    }
}

/// Rows offered one by one by a scan: only the first `end` so far are kept (a heap whose top is
/// the last of them), so a large city's tens of thousands of matches are counted, not stored.
struct Streamed<S: FnOnce(&mut dyn FnMut(Row))>(S);

impl<S: FnOnce(&mut dyn FnMut(Row))> Pick for Streamed<S> {
    fn pick<K: Ord>(self, end: usize, key: impl Fn(&Row) -> K) -> (usize, Vec<Row>) {
        let mut heap: std::collections::BinaryHeap<Ranked<K>> =
            std::collections::BinaryHeap::with_capacity(end.min(MAX_CANDIDATES));
        let mut offered = 0usize;
        (self.0)(&mut |r: Row| {
            offered += 1;
            if end == 0 {
                return;
            }
            let k = key(&r);
            if heap.len() < end {
                heap.push(Ranked(k, r));
            } else if let Some(mut last) = heap.peek_mut() {
                if k < last.0 {
                    *last = Ranked(k, r);
                }
            }
        });
        let rows = heap
            .into_sorted_vec()
            .into_iter()
            .map(|Ranked(_, r)| r)
            .collect();
        (offered, rows)
    }
}

/// A row with its sort key, ordered by the key alone.
struct Ranked<K>(K, Row);

impl<K: Ord> PartialEq for Ranked<K> {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl<K: Ord> Eq for Ranked<K> {}
impl<K: Ord> PartialOrd for Ranked<K> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<K: Ord> Ord for Ranked<K> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use proptest::prelude::*;

    proptest! {
        /// Rows kept as a scan offers them (only the first `end` so far) are those a full list
        /// gives, for every sort, with the same count.
        #[test]
        fn the_streamed_pick_is_the_collected_one(
            rows in proptest::collection::vec(
                (proptest::option::weighted(0.9, 0.0f64..10.0), 0i32..1000, proptest::option::of(0i64..50), 0i32..5, 0i32..25),
                0..200,
            ),
            end in 0usize..250,
        ) {
            use super::{by_sort, Candidate, Collected, Row, Sort, Streamed};
            let rows: Vec<Row> = rows
                .iter()
                .enumerate()
                .map(|(i, &(d, hours, price, count, sum))| {
                    (
                        Candidate {
                            id: i as i64,
                            verified_hours: hours,
                            price_from_cents: price,
                            schedule_version: 1,
                            rating_count: count,
                            rating_sum: sum.min(count * 5),
                        },
                        d,
                    )
                })
                .collect();
            let ids = |r: &[Row]| r.iter().map(|(c, d)| (c.id, d.map(f64::to_bits))).collect::<Vec<_>>();
            let next = std::collections::HashMap::new();
            for sort in [Sort::Distance, Sort::Soonest, Sort::Hours, Sort::Price, Sort::Rating] {
                let (n, all) = by_sort(Collected(rows.clone()), sort, end, &next);
                let streamed = Streamed(|sink: &mut dyn FnMut(Row)| rows.iter().for_each(|r| sink(*r)));
                let (m, kept) = by_sort(streamed, sort, end, &next);
                prop_assert_eq!(n, m);
                prop_assert_eq!(ids(&all), ids(&kept));
            }
        }

        /// The first rows in key order are those of a full sort by the comparison the distance
        /// order means (no distance first, then the nearest, then the id), whatever the page's end.
        #[test]
        fn first_in_order_is_the_start_of_the_sorted_rows(
            rows in proptest::collection::vec(proptest::option::weighted(0.9, 0.0f64..10.0), 0..200),
            end in 0usize..250,
        ) {
            // Distinct ids, as in a search.
            let rows: Vec<(Option<f64>, i64)> =
                rows.iter().enumerate().map(|(i, &d)| (d, i as i64)).collect();
            let mut sorted = rows.clone();
            sorted.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
            sorted.truncate(end);
            let first = first_in_order(&rows, end, |&(d, id)| (d.map(f64::to_bits), id));
            prop_assert_eq!(first, sorted);
        }
    }

    /// Free time as given: each therapist's next free time and bound, counting the therapists
    /// weighed one by one.
    struct Given {
        next: std::collections::HashMap<i64, Option<DateTime<Utc>>>,
        bound: std::collections::HashMap<i64, DateTime<Utc>>,
        weighed: std::cell::Cell<usize>,
    }

    impl FreeTimeOracle for Given {
        fn free_by_map(&self, t: &[(i64, i64)], _: NaiveDate) -> Vec<Option<bool>> {
            vec![None; t.len()]
        }
        fn next_free_bounds(&self, t: &[(i64, i64)]) -> Vec<DateTime<Utc>> {
            t.iter().map(|(id, _)| self.bound[id]).collect()
        }
        fn free_on(
            &self,
            _: Option<&mut DbConnection>,
            _: &[(i64, i64)],
            _: NaiveDate,
        ) -> Result<Option<Vec<i64>>, AppError> {
            Ok(None)
        }
        fn next_free(
            &self,
            _: Option<&mut DbConnection>,
            t: &[(i64, i64)],
        ) -> Result<Option<HashMap<i64, NextFreeAt>>, AppError> {
            self.weighed.set(self.weighed.get() + t.len());
            Ok(Some(self.answers(t)))
        }
        fn menus(
            &self,
            _: Option<&mut DbConnection>,
            _: &[(i64, i64)],
        ) -> Result<Option<Vec<Option<std::sync::Arc<crate::search::schedules::Menu>>>>, AppError>
        {
            Ok(None)
        }
    }

    impl Given {
        fn answers(&self, t: &[(i64, i64)]) -> HashMap<i64, NextFreeAt> {
            t.iter()
                .filter_map(|(id, _)| Some((*id, NextFreeAt::of(self.next[id]?, chrono_tz::UTC))))
                .collect()
        }
    }

    /// `n` candidates with next free times on quarter hours over five days from `t0`, when the
    /// window opens (some never free), each bound exact with chance `exact`, else up to a day
    /// early but not before `t0`; ids shuffled.
    fn given(n: usize, exact: f64, seed: u64) -> (Vec<Row>, Given) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000 / 900 * 900, 0).unwrap();
        let (mut rows, mut next, mut bound) = (Vec::new(), HashMap::new(), HashMap::new());
        for i in 0..n {
            let id = (i as i64 * 7919) % 1_000_003;
            let at = rng
                .gen_bool(0.9)
                .then(|| t0 + Duration::minutes(15 * rng.gen_range(0..480)));
            let b = match at {
                Some(at) if rng.gen_bool(exact) => at,
                // Never before the window opens (`t0`), as the maps' bounds.
                Some(at) => (at - Duration::minutes(rng.gen_range(1..1440))).max(t0),
                None => t0 + Duration::minutes(rng.gen_range(0..10_000)),
            };
            next.insert(id, at);
            bound.insert(id, b);
            let c = Candidate {
                id,
                verified_hours: 0,
                price_from_cents: None,
                schedule_version: 1,
                rating_count: 0,
                rating_sum: 0,
            };
            rows.push((c, None));
        }
        let oracle = Given {
            next,
            bound,
            weighed: std::cell::Cell::new(0),
        };
        (rows, oracle)
    }

    /// A scan offering `rows`, as often as asked.
    fn offer(
        rows: &[Row],
    ) -> impl FnMut(Option<&mut DbConnection>, &mut dyn FnMut(Row)) -> Result<bool, AppError> + '_
    {
        move |_, sink| {
            rows.iter().for_each(|r| sink(*r));
            Ok(true)
        }
    }

    proptest! {
        /// The soonest sort weighing the first candidates by their bounds gives the page that
        /// weighing every candidate gives, and the same count, however few a pass keeps.
        #[test]
        fn the_soonest_page_by_bounds_is_the_page_of_every_next_free_time(
            n in 0usize..1500,
            end in 1usize..300,
            keep in 1usize..2000,
            exact in 0.0f64..1.0,
            seed in any::<u64>(),
        ) {
            let (rows, oracle) = given(n, exact, seed);
            let all = oracle.answers(&versions(&rows));
            let (total, expected) = by_sort(Collected(rows.clone()), Sort::Soonest, end, &all);
            let (count, page) = soonest_first(&mut offer(&rows), end, keep, &oracle, None)
                .unwrap()
                .unwrap();
            prop_assert_eq!(count, total);
            let ids = |r: &[Row]| r.iter().map(|(c, _)| c.id).collect::<Vec<_>>();
            prop_assert_eq!(ids(&page), ids(&expected));
        }
    }

    /// With bounds mostly exact (the maps on quarter hours), a page of 20 from 30,000 candidates
    /// weighs under 2% of them, not everyone; a page past the bound of one by one is too broad.
    #[test]
    fn the_soonest_sort_weighs_few_of_many_candidates() {
        let (rows, oracle) = given(30_000, 0.8, 5);
        let (total, page) = soonest_first(&mut offer(&rows), 20, 20 + SOONEST_KEEP, &oracle, None)
            .unwrap()
            .unwrap();
        assert_eq!((total, page.len()), (30_000, 20));
        let weighed = oracle.weighed.get();
        assert!(weighed < 600, "weighed {weighed}");
        let deep = soonest_first(&mut offer(&rows), MAX_CANDIDATES + 1, 1, &oracle, None);
        assert!(matches!(
            deep,
            Err(AppError::Rule {
                code: "search_too_broad",
                ..
            })
        ));
    }
}
