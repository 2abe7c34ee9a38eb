//! Free days known ahead (`search::free_days`): a search by day answers from the maps exactly
//! as from the slots, reads the maps it has, never uses a map of an older schedule, and the
//! server brings a changed therapist's map up to date by itself.

use std::time::Duration as StdDuration;

use bodywork::config::Settings;
use bodywork::startup::Application;
use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::builders::*;

/// A server of its own on the test's database, with these settings changed.
fn another_server(app: &TestApp, configure: impl FnOnce(&mut Settings)) -> String {
    let mut settings = app.settings.clone();
    settings.addr = "127.0.0.1:0".into();
    configure(&mut settings);
    let server = Application::build(settings).expect("server builds");
    let port = server.port();
    tokio::spawn(server.server());
    format!("http://127.0.0.1:{port}")
}

/// The hits of one search of the API (`query` names the page).
async fn hits(base: &str, query: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = new_client()
        .get(format!("{base}/api/v1/therapists?{query}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}: {v}"))
        .clone()
}

/// The ids a search by day finds (every page of 100).
async fn free_ids(base: &str, query: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for page in 1.. {
        let hits = hits(base, &format!("{query}&per_page=100&page={page}")).await;
        ids.extend(hits.iter().map(|h| h["id"].as_i64().unwrap()));
        if hits.len() < 100 {
            break;
        }
    }
    ids.sort_unstable();
    ids
}

/// (therapist, schedule version) pairs, by therapist.
type Versions = Vec<(i64, i64)>;

/// (therapist, version) of every stored map, and of every therapist.
fn versions(app: &TestApp) -> (Versions, Versions) {
    with_conn(app, |conn| {
        use bodywork::db::schema::{free_day_maps, therapists};
        let maps = free_day_maps::table
            .select((free_day_maps::therapist_id, free_day_maps::schedule_version))
            .order(free_day_maps::therapist_id)
            .load(conn)
            .unwrap();
        let current = therapists::table
            .select((therapists::id, therapists::schedule_version))
            .order(therapists::id)
            .load(conn)
            .unwrap();
        (maps, current)
    })
}

#[tokio::test]
async fn a_search_by_day_answers_from_the_maps_as_from_the_slots() {
    let app = spawn_app_with(|s| s.free_days_every = StdDuration::ZERO).await;
    let seeded =
        with_conn(&app, |conn| bodywork::seed::seed(conn, 300, 11, false)).expect("seeded");
    // The seed wrote every therapist's map at its current version.
    let (maps, current) = versions(&app);
    assert_eq!(maps, current);
    assert_eq!(maps.len(), seeded.therapists);

    // A server that starts now reads the maps; another one, with the table emptied before it
    // starts and no mapper, weighs every therapist's slots. Both answer alike, day by day.
    let with_maps = another_server(&app, |_| {});
    type Stored = (i64, i64, Vec<u8>, Vec<u8>, bool);
    let stored: Vec<Stored> = with_conn(&app, |conn| {
        use bodywork::db::schema::free_day_maps as f;
        let rows = f::table
            .select((
                f::therapist_id,
                f::schedule_version,
                f::last_starts,
                f::first_starts,
                f::on_quarters,
            ))
            .load(conn)
            .unwrap();
        diesel::delete(f::table).execute(conn).unwrap();
        rows
    });
    let by_slots = another_server(&app, |s| s.free_days_every = StdDuration::ZERO);
    let today = Utc::now().date_naive();
    let mut free_seen = 0;
    for d in 0..12 {
        let day = today + Duration::days(d);
        for filters in ["", "technique=swedish&"] {
            let query = format!("{filters}available_on={day}");
            let a = free_ids(&with_maps, &query).await;
            let b = free_ids(&by_slots, &query).await;
            assert_eq!(a, b, "{query}");
            free_seen += a.len();
        }
    }
    assert!(free_seen > 300, "hardly anyone was free: {free_seen}");

    // The search reads the maps: a therapist whose map says no free day is left out (a map
    // written by hand here; the server that reads it starts after).
    let day = today + Duration::days(3);
    let free = free_ids(&by_slots, &format!("available_on={day}")).await;
    let chosen = free[0];
    with_conn(&app, |conn| {
        use bodywork::db::schema::free_day_maps as f;
        let rows: Vec<_> = stored
            .iter()
            .map(|(id, v, last, first, on_quarters)| {
                let none = |days: &Vec<u8>| {
                    if *id == chosen {
                        vec![0u8; days.len()]
                    } else {
                        days.clone()
                    }
                };
                (
                    f::therapist_id.eq(*id),
                    f::schedule_version.eq(*v),
                    (
                        f::last_starts.eq(none(last)),
                        f::first_starts.eq(none(first)),
                        f::on_quarters.eq(*on_quarters),
                    ),
                )
            })
            .collect();
        for (id, v, days) in rows {
            diesel::insert_into(f::table)
                .values((
                    id,
                    v,
                    f::base.eq(today - Duration::days(1)),
                    f::notice_hours.eq(0),
                    f::advance_days.eq(365),
                    days,
                ))
                .execute(conn)
                .unwrap();
        }
    });
    let reads_maps = another_server(&app, |s| s.free_days_every = StdDuration::ZERO);
    let found = free_ids(&reads_maps, &format!("available_on={day}")).await;
    assert!(!found.contains(&chosen), "the map was not read");
    assert!(
        found.len() + 1 >= free.len() / 2,
        "{} of {}",
        found.len(),
        free.len()
    );
}

#[tokio::test]
async fn a_changed_schedule_is_weighed_by_its_slots_until_its_map_is_renewed() {
    let app = spawn_app_with(|s| s.free_days_every = StdDuration::ZERO).await;
    with_conn(&app, |conn| bodywork::seed::seed(conn, 40, 5, false)).expect("seeded");
    let today = Utc::now().date_naive();
    let day = today + Duration::days(4);
    // Started after the seed: it holds the seeded maps.
    let server = another_server(&app, |_| {});
    let before = free_ids(&server, &format!("available_on={day}")).await;
    let chosen = *before.first().expect("someone is free");
    // The chosen therapist takes the whole day off: its map (of the old version) says free,
    // the search must not believe it.
    with_conn(&app, |conn| {
        use bodywork::db::schema::time_off;
        let start = (day - Duration::days(1)).and_hms_opt(0, 0, 0).unwrap();
        diesel::insert_into(time_off::table)
            .values((
                time_off::therapist_id.eq(chosen),
                time_off::starts_at.eq(start),
                time_off::ends_at.eq(start + Duration::days(3)),
                time_off::created_at.eq(bodywork::models::now()),
            ))
            .execute(conn)
            .unwrap();
    });
    let after = free_ids(&server, &format!("available_on={day}")).await;
    assert!(!after.contains(&chosen));
    assert_eq!(after.len() + 1, before.len());
    let (maps, current) = versions(&app);
    assert_ne!(maps, current, "the map of the old schedule is still stored");

    // A server with the mapper on brings the map up to the new version by itself.
    let mapping = another_server(&app, |s| s.free_days_every = StdDuration::from_secs(1));
    let mut renewed = false;
    for _ in 0..100 {
        let (maps, current) = versions(&app);
        if maps == current {
            renewed = true;
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert!(renewed, "the map was not renewed");
    assert_eq!(
        free_ids(&mapping, &format!("available_on={day}")).await,
        after
    );
}

/// The seed writes in bulk its own way (`seed::Bulk`): on PostgreSQL the child tables' triggers
/// are caught up once per therapist; on SQLite a new file is written without a journal, but not
/// one a server holds open.
#[tokio::test]
async fn the_seed_leaves_what_the_triggers_would_and_the_triggers_on() {
    let app = spawn_app().await;
    let postgres = with_conn(&app, |conn| {
        matches!(conn, bodywork::db::DbConnection::Postgresql(_))
    });
    let seeded = with_conn(&app, |conn| bodywork::seed::seed(conn, 250, 3, false)).expect("seeded");
    let expected = if postgres {
        "triggers caught up"
    } else {
        "as usual"
    };
    assert_eq!(seeded.bulk, expected);
    with_conn(&app, |conn| {
        seeded_as_the_triggers_leave(conn, seeded.therapists)
    });

    // A database nobody else has open, as `bodywork seed` finds it before a first start.
    let (url, _db) = fresh_database();
    let pool = bodywork::db::build_pool(&url, 1).expect("pool");
    let mut conn = pool.get().expect("connection");
    bodywork::db::run_migrations(&mut conn).expect("migrated");
    bodywork::models::technique::sync_catalogue(&mut conn).expect("catalogue");
    let seeded = bodywork::seed::seed(&mut conn, 250, 4, false).expect("seeded");
    let expected = if postgres {
        "triggers caught up"
    } else {
        "no journal"
    };
    assert_eq!(seeded.bulk, expected);
    seeded_as_the_triggers_leave(&mut conn, seeded.therapists);
}

/// What the triggers leave: each therapist's technique mask from its techniques, a schedule
/// version past the first, a stamp of its own; the triggers work afterwards, and SQLite is in WAL.
fn seeded_as_the_triggers_leave(conn: &mut bodywork::db::DbConnection, n: usize) {
    use bodywork::db::schema::{techniques, therapist_techniques as tt, therapists, weekly_hours};
    use std::collections::{HashMap, HashSet};
    {
        let bits: HashMap<String, i32> = techniques::table
            .select((techniques::slug, techniques::sort_order))
            .load(conn)
            .unwrap()
            .into_iter()
            .collect();
        let mut masks: HashMap<i64, i64> = HashMap::new();
        for (id, slug) in tt::table
            .select((tt::therapist_id, tt::technique_slug))
            .load::<(i64, String)>(conn)
            .unwrap()
        {
            *masks.entry(id).or_default() |= 1i64 << bits[&slug];
        }
        let rows: Vec<(i64, i64, i64, i64)> = therapists::table
            .select((
                therapists::id,
                therapists::technique_mask,
                therapists::schedule_version,
                therapists::directory_stamp,
            ))
            .load(conn)
            .unwrap();
        assert_eq!(rows.len(), n);
        let mut stamps = HashSet::new();
        for (id, mask, version, stamp) in &rows {
            assert_eq!(*mask, masks[id], "therapist {id}'s technique mask");
            assert!(*mask != 0, "every seeded therapist has a technique");
            assert!(*version >= 1, "therapist {id}'s schedule version {version}");
            assert!(
                *stamp > 0 && stamps.insert(*stamp),
                "therapist {id}'s stamp {stamp}"
            );
        }
        // The triggers work again: new hours move the version, a new technique the mask.
        let (id, mask, version, _) = rows[0];
        let missing = bits
            .iter()
            .find(|(_, b)| mask & (1 << **b) == 0)
            .map(|(slug, _)| slug.clone())
            .expect("a technique the first therapist lacks");
        diesel::insert_into(weekly_hours::table)
            .values((
                weekly_hours::therapist_id.eq(id),
                weekly_hours::weekday.eq(7i16),
                weekly_hours::start_min.eq(20 * 60),
                weekly_hours::end_min.eq(22 * 60),
            ))
            .execute(conn)
            .unwrap();
        diesel::insert_into(tt::table)
            .values((tt::therapist_id.eq(id), tt::technique_slug.eq(&missing)))
            .execute(conn)
            .unwrap();
        let (mask_after, version_after): (i64, i64) = therapists::table
            .find(id)
            .select((therapists::technique_mask, therapists::schedule_version))
            .first(conn)
            .unwrap();
        assert_eq!(mask_after, mask | (1 << bits[&missing]));
        assert!(version_after > version);
        if let bodywork::db::DbConnection::Sqlite(_) = conn {
            #[derive(QueryableByName)]
            struct Mode {
                #[diesel(sql_type = diesel::sql_types::Text)]
                journal_mode: String,
            }
            let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
                .get_result(conn)
                .unwrap();
            assert_eq!(mode.journal_mode, "wal");
        }
    }
}

/// (id, next free time) of each hit of a search's first pages of 20, in the order given.
async fn soonest_pages(base: &str, query: &str) -> Vec<(i64, Option<String>)> {
    let mut found = Vec::new();
    for page in 1..=3 {
        let query = format!("{query}&sort=soonest&per_page=20&page={page}");
        found.extend(hits(base, &query).await.iter().map(|h| {
            (
                h["id"].as_i64().unwrap(),
                h["next_free_at"].as_str().map(str::to_string),
            )
        }));
    }
    found
}

#[tokio::test]
async fn the_soonest_sort_by_the_maps_bounds_is_the_order_of_every_slot() {
    let app = spawn_app_with(|s| s.free_days_every = StdDuration::ZERO).await;
    with_conn(&app, |conn| bodywork::seed::seed(conn, 300, 13, false)).expect("seeded");
    // One server orders by the maps' bounds and weighs the first therapists only; the other,
    // with no maps, weighs every therapist's next free time.
    let with_maps = another_server(&app, |_| {});
    with_conn(&app, |conn| {
        use bodywork::db::schema::free_day_maps as f;
        diesel::delete(f::table).execute(conn).unwrap();
    });
    let by_slots = another_server(&app, |s| s.free_days_every = StdDuration::ZERO);
    let today = Utc::now().date_naive();
    let mut queries = vec!["technique=swedish".to_string(), "q=".to_string()];
    for d in [0, 1, 5] {
        queries.push(format!("available_on={}", today + Duration::days(d)));
    }
    for query in queries {
        let a = soonest_pages(&with_maps, &query).await;
        let b = soonest_pages(&by_slots, &query).await;
        assert!(a.len() >= 20, "{query}: {} hits", a.len());
        assert!(a[0].1.is_some(), "{query}: the first is never free");
        assert_eq!(a, b, "{query}");
        // In the order of the next free time.
        let times: Vec<_> = a.iter().filter_map(|(_, t)| t.clone()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{query}: {times:?}");
    }
}
