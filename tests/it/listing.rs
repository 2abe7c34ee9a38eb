//! The searchable listing is declared once (`search::index::LISTING`): these tests
//! hold the parts that cannot be derived from it (the stamp triggers, written in SQL) against it,
//! on the backend under test, and prove a filter built on it (`max_price`) on the API and the page.

use bodywork::search::index::{DirectoryIndex, LISTING};
use diesel::prelude::*;
use diesel::sql_types::Text;
use reqwest::StatusCode;
use serde_json::Value;

use crate::builders::{make_therapist, spawn_app, with_conn, Spec, TestApp};

#[derive(QueryableByName)]
struct TriggerDef {
    #[diesel(sql_type = Text)]
    tbl: String,
    #[diesel(sql_type = Text)]
    def: String,
}

/// Every trigger of the database with the table it is on, read from the catalogue.
fn triggers(app: &TestApp) -> Vec<TriggerDef> {
    with_conn(app, |conn| {
        let sql = match conn {
            bodywork::db::DbConnection::Sqlite(_) => {
                "SELECT tbl_name AS tbl, sql AS def FROM sqlite_master WHERE type = 'trigger'"
            }
            bodywork::db::DbConnection::Postgresql(_) => {
                "SELECT c.relname::text AS tbl, pg_get_triggerdef(t.oid) AS def \
                 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
            }
        };
        diesel::sql_query(sql).load(conn).expect("triggers")
    })
}

/// The columns a stamp trigger on `table` watches for updates (`UPDATE OF a, b ON table`).
fn watched(triggers: &[TriggerDef], table: &str) -> Vec<String> {
    triggers
        .iter()
        .filter(|t| t.tbl == table)
        .filter_map(|t| {
            let def = t.def.to_lowercase();
            let name = def.split_whitespace().nth(2)?.to_string();
            if !name.contains("stamp") {
                return None;
            }
            let after = def.split("update of ").nth(1)?;
            let list = after.split(" on ").next()?;
            Some(
                list.split(',')
                    .map(|c| c.trim().trim_matches('"').to_string())
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect()
}

#[tokio::test]
async fn every_listing_column_is_watched_by_a_stamp_trigger() {
    let app = spawn_app().await;
    let all = triggers(&app);
    // The reading itself can tell watched from not watched.
    assert!(watched(&all, "therapists").contains(&"bio".to_string()));
    assert!(!watched(&all, "users").contains(&"password_hash".to_string()));
    let missing: Vec<String> = LISTING
        .iter()
        .filter(|c| !watched(&all, c.table).iter().any(|w| w == c.column))
        .map(|c| format!("{}.{}", c.table, c.column))
        .collect();
    assert!(
        missing.is_empty(),
        "listing columns no stamp trigger watches (add them to the trigger's UPDATE OF list in a migration for each backend): {missing:?}"
    );
}

/// The SQL that changes one listing column of therapist `id` to a value it does not have.
fn change_of(table: &str, column: &str, id: i64) -> String {
    let set = match (table, column) {
        ("users", "name") => {
            return format!(
                "UPDATE users SET name = name || ' Changed' WHERE id = (SELECT user_id FROM therapists WHERE id = {id})"
            )
        }
        ("therapists", "city") => "city = 'Elsewhere'".to_string(),
        ("therapists", "region") => "region = 'ZZ'".to_string(),
        ("therapists", "latitude") => "latitude = latitude + 0.5".to_string(),
        ("therapists", "longitude") => "longitude = longitude + 0.5".to_string(),
        ("therapists", "geo_cell") => "geo_cell = geo_cell + 1".to_string(),
        ("therapists", "bio") => "bio = 'A changed bio'".to_string(),
        ("therapists", "accepting_new_clients") => {
            "accepting_new_clients = NOT accepting_new_clients".to_string()
        }
        ("therapists", "languages") => "languages = ',fr,'".to_string(),
        ("therapists", "mobile") => "mobile = NOT mobile".to_string(),
        ("therapists", "suspended_at") => "suspended_at = CURRENT_TIMESTAMP".to_string(),
        ("therapists", "verified_hours") => "verified_hours = verified_hours + 1".to_string(),
        ("therapists", "license_verified_until") => {
            "license_verified_until = '2099-12-31'".to_string()
        }
        ("therapists", "price_from_cents") => "price_from_cents = 12345".to_string(),
        ("therapists", "technique_mask") => "technique_mask = technique_mask + 1024".to_string(),
        ("therapists", "photo_version") => "photo_version = photo_version + 1".to_string(),
        // The CHECK keeps the sum within 1 to 5 stars a review: the count moves with it.
        ("therapists", "rating_count") => {
            "rating_count = rating_count + 1, rating_sum = rating_sum + 5".to_string()
        }
        ("therapists", "rating_sum") => {
            "rating_count = rating_count + 2, rating_sum = rating_sum + 7".to_string()
        }
        _ => panic!("add a change of the listing column {table}.{column} to this test"),
    };
    format!("UPDATE {table} SET {set} WHERE id = {id}")
}

/// A change of any listing column, made in plain SQL (as another server or a script would), is
/// in the index at its next sync.
#[tokio::test]
async fn the_index_follows_a_change_of_every_listing_column() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = make_therapist(&app, admin_id, Spec::default()).await;
    let index = DirectoryIndex::new();
    for c in LISTING {
        let (before, after) = with_conn(&app, |conn| {
            let before = index.sync(conn).unwrap().get(m.therapist_id).cloned();
            diesel::sql_query(change_of(c.table, c.column, m.therapist_id))
                .execute(conn)
                .unwrap();
            let after = index.sync(conn).unwrap().get(m.therapist_id).cloned();
            (before.unwrap(), after.unwrap())
        });
        assert!(
            !before.same_listing(&after),
            "the index did not follow a change of {}.{}: {after:?}",
            c.table,
            c.column
        );
    }
}

/// A place's search is remembered by the generations of the cells it read
/// (`DirectoryIndex::page_in`): after a change of any listing column, made in plain SQL, the same
/// search answers as one asked for the first time (another page size is another memo entry).
#[tokio::test]
async fn a_remembered_search_follows_a_change_of_every_listing_column() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let mut ids = Vec::new();
    for (email, name) in [("a@x.com", "Ann First"), ("b@x.com", "Bea Second")] {
        let spec = Spec {
            email,
            name,
            ..Default::default()
        };
        ids.push(make_therapist(&app, admin_id, spec).await.therapist_id);
    }
    let query = "near=Boston&radius_km=25";
    let answer = |v: &Value| {
        let rows: Vec<(i64, f64)> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_i64().unwrap(),
                    r["distance_km"].as_f64().unwrap(),
                )
            })
            .collect();
        (v["total"].as_i64().unwrap(), rows)
    };
    let first: Value = search(&app, query).await.json().await.unwrap();
    assert_eq!(answer(&first).0, 2, "{first}");
    let mut changed = Vec::new();
    for (i, c) in LISTING.iter().enumerate() {
        let before: Value = search(&app, query).await.json().await.unwrap();
        with_conn(&app, |conn| {
            diesel::sql_query(change_of(c.table, c.column, ids[0]))
                .execute(conn)
                .unwrap();
        });
        let again: Value = search(&app, query).await.json().await.unwrap();
        let fresh: Value = search(&app, &format!("{query}&per_page={}", 21 + i))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            answer(&again),
            answer(&fresh),
            "after a change of {}.{}",
            c.table,
            c.column
        );
        if answer(&before) != answer(&again) {
            changed.push(c.column);
        }
    }
    // Moving the therapist 0.5 degrees north takes her out of the radius: the memo was asked
    // when the answer did change.
    assert!(changed.contains(&"latitude"), "{changed:?}");
}

async fn search(app: &TestApp, query: &str) -> reqwest::Response {
    app.api_get(&format!("/api/v1/therapists?{query}"), None)
        .await
}

fn names(v: &Value) -> Vec<&str> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

/// `max_price` keeps therapists whose cheapest service costs at most that many cents, on the
/// API and the page; a bad amount is a message on the field.
#[tokio::test]
async fn max_price_keeps_therapists_whose_cheapest_service_fits() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    for (email, name, price_cents) in [
        ("a@x.com", "Ann Cheap", 6_000),
        ("b@x.com", "Bea Middle", 10_000),
        ("c@x.com", "Cal Dear", 14_000),
    ] {
        make_therapist(
            &app,
            admin_id,
            Spec {
                email,
                name,
                price_cents,
                ..Default::default()
            },
        )
        .await;
    }
    for (query, expected) in [
        (
            "max_price=10000&sort=price",
            vec!["Ann Cheap", "Bea Middle"],
        ),
        ("max_price=9999&near=Boston", vec!["Ann Cheap"]),
        ("max_price=5999", vec![]),
        ("sort=price", vec!["Ann Cheap", "Bea Middle", "Cal Dear"]),
    ] {
        let r = search(&app, query).await;
        assert_eq!(r.status(), StatusCode::OK, "{query}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(names(&v), expected, "{query}");
    }
    for bad in ["abc", "0", "-5", "10000001", "12.50"] {
        let r = search(&app, &format!("max_price={bad}")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["fields"]["max_price"].is_string(), "{bad}: {v}");
    }

    let page = app.get_html("/therapists?max_price=10000").await;
    assert!(page.contains("Ann Cheap") && page.contains("Bea Middle"));
    assert!(!page.contains("Cal Dear"));
    assert!(page.contains(r#"<option value="10000" selected>$100</option>"#));
    let r = app.get("/therapists?max_price=abc").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="max_price-error""#), "{page}");
    // The pagination links keep the filter.
    let r = app
        .get("/therapists?max_price=15000&per_page=1&sort=price")
        .await;
    let page = r.text().await.unwrap();
    assert!(page.contains("max_price=15000"), "{page}");
}

/// The public profile is kept in memory by the therapist's directory stamp and schedule version
/// (`services::directory::ProfileCache`): a change of anything the profile page, the booking
/// form and the API's profile show, made in plain SQL (as another server or a script would), is
/// on the next page and answer.
#[tokio::test]
async fn a_kept_profile_follows_a_change_of_everything_it_shows() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = make_therapist(
        &app,
        admin_id,
        Spec {
            phone: Some("+1 617 555 0100"),
            ..Default::default()
        },
    )
    .await;
    let id = m.therapist_id;
    let page = format!("/therapists/{id}");
    let api = format!("/api/v1/therapists/{id}");
    let changes = [
        (
            format!("UPDATE therapists SET address = '99 Changed Avenue' WHERE id = {id}"),
            "99 Changed Avenue",
        ),
        (
            format!("UPDATE therapists SET phone = '+1 617 555 0199' WHERE id = {id}"),
            "+1 617 555 0199",
        ),
        (
            format!("UPDATE therapists SET timezone = 'America/Denver' WHERE id = {id}"),
            "Denver",
        ),
        (
            format!("UPDATE therapists SET bio = 'A changed bio' WHERE id = {id}"),
            "A changed bio",
        ),
        (
            format!("UPDATE licenses SET number = 'LMT-CHANGED-7' WHERE therapist_id = {id}"),
            "LMT-CHANGED-7",
        ),
        (
            format!("UPDATE services SET price_cents = 12345 WHERE id = {}", m.service_id),
            "$123.45",
        ),
        (
            format!(
                "UPDATE users SET name = 'Renamed Therapist' WHERE id = (SELECT user_id FROM therapists WHERE id = {id})"
            ),
            "Renamed Therapist",
        ),
    ];
    for (sql, shown) in changes {
        // Read (and kept) before the change.
        let before = app.get_html(&page).await;
        assert!(!before.contains(shown), "{shown} shown before: {sql}");
        assert_eq!(app.api_get(&api, None).await.status(), StatusCode::OK);
        with_conn(&app, |conn| diesel::sql_query(&sql).execute(conn).unwrap());
        let after = app.get_html(&page).await;
        assert!(after.contains(shown), "the page missed: {sql}");
        if shown != "$123.45" && shown != "Denver" {
            let json = app.api_get(&api, None).await.text().await.unwrap();
            assert!(json.contains(shown), "the API missed: {sql}: {json}");
        }
    }
    // A license removed, and one added, and a suspension also reach the profile.
    let run = |sql: String| with_conn(&app, |conn| diesel::sql_query(sql).execute(conn).unwrap());
    assert!(app.get_html(&page).await.contains("LMT-CHANGED-7"));
    run(format!("DELETE FROM licenses WHERE therapist_id = {id}"));
    assert!(!app.get_html(&page).await.contains("LMT-CHANGED-7"));
    run(format!(
        "INSERT INTO licenses (therapist_id, jurisdiction, number, issuing_body, expires_on, status, submitted_at) \
         VALUES ({id}, 'MA', 'LMT-ADDED-8', 'Board', '2099-01-01', 'verified', CURRENT_TIMESTAMP)"
    ));
    assert!(app.get_html(&page).await.contains("LMT-ADDED-8"));
    with_conn(&app, |conn| {
        diesel::sql_query(format!(
            "UPDATE therapists SET suspended_at = CURRENT_TIMESTAMP WHERE id = {id}"
        ))
        .execute(conn)
        .unwrap()
    });
    assert_eq!(app.get(&page).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.api_get(&api, None).await.status(),
        StatusCode::NOT_FOUND
    );
}
