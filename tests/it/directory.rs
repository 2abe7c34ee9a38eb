//! The directory: profiles, credentials, search filters, sorts, badges, and their errors.

use bodywork::services::admin::{self, Credential};
use chrono::{Datelike, Duration, Utc};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{admin_proof, make_therapist, spawn_app, with_conn, Spec, TestApp};

async fn search(app: &TestApp, query: &str) -> Value {
    let r = app
        .api_get(&format!("/api/v1/therapists?{query}"), None)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{query}: {}",
        r.text().await.unwrap()
    );
    r.json().await.unwrap()
}

fn names(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_technique_catalogue_is_served() {
    let app = spawn_app().await;
    let list: Value = app
        .api_get("/api/v1/techniques", None)
        .await
        .json()
        .await
        .unwrap();
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        slugs,
        [
            "swedish",
            "deep-tissue",
            "shiatsu",
            "hot-stone",
            "trigger-point",
            "prenatal",
            "ayurvedic",
            "gluteal"
        ]
    );
    assert!(list[3]["not_for"].as_str().unwrap().contains("heat"));
    let page = app.get_html("/techniques").await;
    assert!(page.contains("Hot stone") && page.contains("Not for:"));
}

#[tokio::test]
async fn only_currently_verified_unsuspended_therapists_appear_by_default() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "a@x.com",
            name: "Verified Vera",
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "b@x.com",
            name: "Pending Pat",
            verify_license: false,
            ..Default::default()
        },
    )
    .await;
    let expired = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "c@x.com",
            name: "Expired Ed",
            ..Default::default()
        },
    )
    .await;
    let suspended = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "d@x.com",
            name: "Suspended Sue",
            ..Default::default()
        },
    )
    .await;
    with_conn(&app, |conn| {
        use bodywork::db::schema::{licenses, therapists};
        let yesterday = Utc::now().date_naive() - Duration::days(1);
        // The license expired yesterday: no job runs, the badge must drop today.
        diesel::update(licenses::table.filter(licenses::therapist_id.eq(expired.therapist_id)))
            .set(licenses::expires_on.eq(yesterday))
            .execute(conn)
            .unwrap();
        bodywork::services::profile::refresh_summary(conn, expired.therapist_id).unwrap();
        diesel::update(therapists::table.find(suspended.therapist_id))
            .set(therapists::suspended_at.eq(Some(bodywork::models::now())))
            .execute(conn)
            .unwrap();
    });
    let v = search(&app, "").await;
    assert_eq!(names(&v), ["Verified Vera"]);
    assert_eq!(v["total"], 1);
    assert_eq!(v["results"][0]["license_verified"], true);
    let mut any = names(&search(&app, "verified=any").await);
    any.sort();
    assert_eq!(any, ["Expired Ed", "Pending Pat", "Verified Vera"]);
    let r = app
        .api_get(
            &format!("/api/v1/therapists/{}", suspended.therapist_id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let ed: Value = app
        .api_get(
            &format!("/api/v1/therapists/{}", expired.therapist_id),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ed["license_verified"], false);
    assert_eq!(ed["license"]["status"], "expired");
}

#[tokio::test]
async fn technique_place_radius_and_distance_sort() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "a@x.com",
            name: "Boston Deep",
            city: "Boston, MA",
            techniques: &["deep-tissue", "swedish"],
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "b@x.com",
            name: "Cambridge Swede",
            city: "Cambridge, MA",
            techniques: &["swedish"],
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "c@x.com",
            name: "Chicago Deep",
            city: "Chicago",
            techniques: &["deep-tissue"],
            ..Default::default()
        },
    )
    .await;

    assert_eq!(
        names(&search(&app, "technique=deep-tissue&sort=hours").await).len(),
        2
    );
    let near = search(&app, "near=Boston&radius_km=10").await;
    assert_eq!(
        names(&near),
        ["Boston Deep", "Cambridge Swede"],
        "sorted by distance"
    );
    assert_eq!(near["results"][0]["distance_km"], 0.0);
    let d = near["results"][1]["distance_km"].as_f64().unwrap();
    assert!(
        d > 2.0 && d < 6.0,
        "Cambridge is about 4 km from Boston: {d}"
    );
    assert_eq!(
        names(&search(&app, "near=boston,%20ma&technique=deep-tissue").await),
        ["Boston Deep"]
    );
    assert_eq!(
        names(&search(&app, "near=41.85,-87.65&radius_km=5").await),
        ["Chicago Deep"]
    );
    let wide = search(&app, "near=Boston&radius_km=500").await;
    assert_eq!(wide["total"], 2, "Chicago is 1,400 km away");
}

#[tokio::test]
async fn min_hours_counts_verified_training_only_and_sets_the_badge() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "a@x.com",
            name: "Many Hours",
            hours: 520,
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "b@x.com",
            name: "Few Hours",
            hours: 480,
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "c@x.com",
            name: "Unchecked Hours",
            hours: 900,
            verify_training: false,
            ..Default::default()
        },
    )
    .await;
    let v = search(&app, "min_hours=500").await;
    assert_eq!(names(&v), ["Many Hours"]);
    assert_eq!(v["results"][0]["training_hours"], 520);
    assert_eq!(v["results"][0]["hours_verified"], true);
    let all = search(&app, "sort=hours").await;
    assert_eq!(names(&all), ["Many Hours", "Few Hours", "Unchecked Hours"]);
    assert_eq!(all["results"][1]["hours_verified"], false);
    assert_eq!(all["results"][2]["training_hours"], 0);
}

#[tokio::test]
async fn words_accepting_language_mobile_price_sort_and_pages() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "a@x.com",
            name: "Ana Lopez",
            bio: "Sports recovery for runners",
            languages: &["en", "es"],
            price_cents: 12000,
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "b@x.com",
            name: "Ben Ode",
            bio: "Calm 100% relaxation",
            mobile: true,
            price_cents: 7000,
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "c@x.com",
            name: "Cy Full",
            accepting: false,
            price_cents: 9500,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(&search(&app, "q=RUNNERS").await), ["Ana Lopez"]);
    assert_eq!(names(&search(&app, "q=ode").await), ["Ben Ode"]);
    assert_eq!(
        names(&search(&app, "q=100%25").await),
        ["Ben Ode"],
        "% is matched literally"
    );
    assert_eq!(names(&search(&app, "language=es").await), ["Ana Lopez"]);
    assert_eq!(names(&search(&app, "mobile=true").await), ["Ben Ode"]);
    assert_eq!(search(&app, "accepting=true").await["total"], 2);
    let by_price = search(&app, "sort=price").await;
    assert_eq!(names(&by_price), ["Ben Ode", "Cy Full", "Ana Lopez"]);
    assert_eq!(by_price["results"][0]["price_from_cents"], 7000);
    let p2 = search(&app, "sort=price&per_page=2&page=2").await;
    assert_eq!(p2["total"], 3);
    assert_eq!(p2["page"], 2);
    assert_eq!(names(&p2), ["Ana Lopez"]);
}

#[tokio::test]
async fn available_on_uses_weekly_hours_and_time_off() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let works = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "a@x.com",
            name: "Works Then",
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "b@x.com",
            name: "No Hours",
            ..Default::default()
        },
    )
    .await;
    let away = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "c@x.com",
            name: "Away Then",
            ..Default::default()
        },
    )
    .await;
    let day = Utc::now().date_naive() + Duration::days(10);
    let weekday = day.weekday().number_from_monday() as i16;
    with_conn(&app, |conn| {
        use bodywork::db::schema::{time_off, weekly_hours};
        for t in [works.therapist_id, away.therapist_id] {
            diesel::insert_into(weekly_hours::table)
                .values((
                    weekly_hours::therapist_id.eq(t),
                    weekly_hours::weekday.eq(weekday),
                    weekly_hours::start_min.eq(9 * 60),
                    weekly_hours::end_min.eq(17 * 60),
                ))
                .execute(conn)
                .unwrap();
        }
        let start = (day - Duration::days(1)).and_hms_opt(0, 0, 0).unwrap();
        diesel::insert_into(time_off::table)
            .values((
                time_off::therapist_id.eq(away.therapist_id),
                time_off::starts_at.eq(start),
                time_off::ends_at.eq(start + Duration::days(3)),
                time_off::created_at.eq(bodywork::models::now()),
            ))
            .execute(conn)
            .unwrap();
    });
    let v = search(&app, &format!("available_on={day}")).await;
    assert_eq!(names(&v), ["Works Then"]);
    assert!(
        v["results"][0]["next_free_at"].is_string() || v["results"][0]["next_free_at"].is_null()
    );
    // The free days are kept per schedule version: a change straight in the database (the
    // time off moves from one to the other) shows on the very next search.
    with_conn(&app, |conn| {
        use bodywork::db::schema::time_off;
        diesel::update(time_off::table.filter(time_off::therapist_id.eq(away.therapist_id)))
            .set(time_off::therapist_id.eq(works.therapist_id))
            .execute(conn)
            .unwrap();
    });
    let v = search(&app, &format!("available_on={day}")).await;
    assert_eq!(names(&v), ["Away Then"]);
}

#[tokio::test]
async fn bad_filters_are_explained_never_a_500() {
    let app = spawn_app().await;
    for (query, field) in [
        ("page=-1", "page"),
        ("per_page=5000", "per_page"),
        ("near=123,45", "near"),
        ("near=Atlantis", "near"),
        ("technique=reiki", "technique"),
        ("radius_km=10", "near"),
        ("near=Boston&radius_km=9999", "radius_km"),
        ("min_hours=lots", "min_hours"),
        ("available_on=2020-01-01", "available_on"),
        ("available_on=tomorrow", "available_on"),
        ("sort=random", "sort"),
        ("sort=distance", "sort"),
        ("language=klingon", "language"),
        ("mobile=perhaps", "mobile"),
    ] {
        let r = app
            .api_get(&format!("/api/v1/therapists?{query}"), None)
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], "validation_failed", "{query}");
        assert!(err["error"]["fields"][field].is_string(), "{query}: {err}");
        let page = app.get(&format!("/therapists?{query}")).await;
        assert_eq!(
            page.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "page {query}"
        );
        let html = page.text().await.unwrap();
        assert!(html.contains("error-summary"), "page {query}");
    }
    let page = app
        .get_html("/therapists?near=Atlantis&technique=swedish")
        .await;
    assert!(
        page.contains("value=\"Atlantis\""),
        "the filter stays filled in"
    );
    assert!(page.contains("We do not know the place"));
}

#[tokio::test]
async fn the_search_page_lists_results_with_badges_and_keeps_the_filters() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "a@x.com",
            name: "Page Person",
            techniques: &["shiatsu", "swedish"],
            hours: 650,
            ..Default::default()
        },
    )
    .await;
    let html = app
        .get_html("/therapists?technique=shiatsu&near=Boston%2C+MA&min_hours=500")
        .await;
    assert!(html.contains("1 therapist<"), "count announced");
    assert!(html.contains("role=\"status\""));
    assert!(html.contains("Page Person"));
    assert!(html.contains("License verified"));
    assert!(html.contains("650 training hours"));
    assert!(
        html.contains("Shiatsu, 60 min, $90"),
        "the searched technique's service"
    );
    assert!(html.contains("value=\"shiatsu\" selected"));
    assert!(html.contains("value=\"Boston, MA\""));
    assert!(html.contains("name=\"min_hours\" value=\"500\" checked"));
    let empty = app.get_html("/therapists?technique=gluteal").await;
    assert!(empty.contains("0 therapists") && empty.contains("Widen the distance"));

    let profile = app
        .get_html(&format!("/therapists/{}", m.therapist_id))
        .await;
    assert!(profile.contains("License verified · MA · until"));
    assert!(profile.contains("MA Board of Massage"));
    assert!(profile.contains("650 verified hours"));
    assert!(profile.contains("Shiatsu"));
    assert!(profile.contains("$90"));
    assert_eq!(
        app.get("/therapists/999999").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn therapist_pages_edit_profile_services_and_credentials() {
    let app = spawn_app().await;
    app.register_page("maya@example.com", "Maya", "therapist")
        .await;
    let bad = app
        .post_form(
            "/therapist/profile",
            "/therapist/profile",
            &[
                ("name", "Maya O"),
                ("city", "Atlantis"),
                ("techniques", "swedish"),
                ("address", "9 Larimer Street"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("We do not know") && html.contains("value=\"Atlantis\""));
    let ok = app
        .post_form(
            "/therapist/profile",
            "/therapist/profile",
            &[
                ("name", "Maya O"),
                ("city", "Denver"),
                ("bio", "Hello"),
                ("techniques", "swedish"),
                ("techniques", "prenatal"),
                ("languages", "en"),
                ("languages", "es"),
                ("address", "9 Larimer Street"),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let form = app.get_html("/therapist/profile").await;
    assert!(form.contains("value=\"Denver, CO\""));
    assert!(form.contains("value=\"prenatal\" checked"));
    assert!(form.contains("value=\"es\" checked"));

    let bad = app
        .post_form(
            "/therapist/services",
            "/therapist/services",
            &[
                ("technique", "swedish"),
                ("duration_min", "60"),
                ("price", "ninety"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("Enter a price"));
    let ok = app
        .post_form(
            "/therapist/services",
            "/therapist/services",
            &[
                ("technique", "swedish"),
                ("duration_min", "60"),
                ("price", "92.50"),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let list = app.get_html("/therapist/services").await;
    assert!(list.contains("Swedish, 60 min, $92.50"));

    let bad = app
        .post_form(
            "/therapist/credentials",
            "/therapist/license",
            &[
                ("jurisdiction", "CO"),
                ("number", "X1"),
                ("issuing_body", "CO DORA"),
                ("expires_on", "2001-01-01"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app
        .post_form(
            "/therapist/credentials",
            "/therapist/license",
            &[
                ("jurisdiction", "CO"),
                ("number", "MT.0001"),
                ("issuing_body", "CO DORA"),
                ("expires_on", "2031-01-01"),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let creds = app.get_html("/therapist/credentials").await;
    assert!(creds.contains("MT.0001") && creds.contains("Waiting for an admin to check it"));
}

#[tokio::test]
async fn a_rejection_reason_reaches_the_therapist_and_resubmission_works() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "a@x.com",
            verify_license: false,
            ..Default::default()
        },
    )
    .await;
    let creds: Value = app
        .api_get("/api/v1/me/credentials", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    let id = creds["licenses"][0]["id"].as_i64().unwrap();
    let mail = &app.mail_ctx();
    with_conn(&app, |conn| {
        let admin_id = &admin_proof(conn, admin_id);
        let no_reason = admin::decide(
            conn,
            mail,
            admin_id,
            Credential::License,
            id,
            false,
            Some(" "),
        );
        assert!(no_reason.is_err());
        admin::decide(
            conn,
            mail,
            admin_id,
            Credential::License,
            id,
            false,
            Some("The number does not match the board's register."),
        )
        .unwrap();
        assert!(
            admin::decide(conn, mail, admin_id, Credential::License, id, true, None).is_err(),
            "decided once"
        );
    });
    let creds: Value = app
        .api_get("/api/v1/me/credentials", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(creds["licenses"][0]["status"], "rejected");
    assert_eq!(
        creds["licenses"][0]["rejection_reason"],
        "The number does not match the board's register."
    );
    let r = app
        .api_post("/api/v1/me/license", Some(&m.token), json!({"jurisdiction": "MA", "number": "LMT-2", "issuing_body": "MA Board", "expires_on": "2030-01-01"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let creds: Value = app
        .api_get("/api/v1/me/credentials", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(creds["licenses"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn services_are_validated_edited_and_retired() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "a@x.com",
            ..Default::default()
        },
    )
    .await;
    let bad = app
        .api_post(
            "/api/v1/me/services",
            Some(&m.token),
            json!({"technique": "swedish", "duration_min": 300, "price_cents": -5}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = bad.json().await.unwrap();
    assert!(
        err["error"]["fields"]["duration_min"].is_string()
            && err["error"]["fields"]["price_cents"].is_string()
    );
    let r = app
        .api_put(
            &format!("/api/v1/me/services/{}", m.service_id),
            &m.token,
            json!({"technique": "swedish", "duration_min": 90, "price_cents": 5000}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        search(&app, "").await["results"][0]["price_from_cents"],
        5000
    );
    let other = app.api_user("other@example.com", "therapist").await.1;
    let r = app
        .api_delete(&format!("/api/v1/me/services/{}", m.service_id), &other)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "not their service");
    let r = app
        .api_delete(&format!("/api/v1/me/services/{}", m.service_id), &m.token)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let list: Value = app
        .api_get("/api/v1/me/services", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0);
    assert!(search(&app, "").await["results"][0]["price_from_cents"].is_null());
}

#[tokio::test]
async fn soonest_sorts_by_the_next_free_time() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let later = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "later@x.com",
            name: "Free Later",
            ..Default::default()
        },
    )
    .await;
    let sooner = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "sooner@x.com",
            name: "Free Sooner",
            ..Default::default()
        },
    )
    .await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "never@x.com",
            name: "No Hours",
            ..Default::default()
        },
    )
    .await;
    let today = Utc::now().date_naive();
    // Sooner works every day; Later only on the weekday five days from now.
    let every: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "start": "09:00", "end": "17:00"}))
        .collect();
    assert_eq!(
        app.api_put("/api/v1/me/weekly-hours", &sooner.token, json!(every))
            .await
            .status(),
        StatusCode::OK
    );
    let wd = (today + Duration::days(5)).weekday().number_from_monday();
    let one = json!([{"weekday": wd, "start": "09:00", "end": "17:00"}]);
    assert_eq!(
        app.api_put("/api/v1/me/weekly-hours", &later.token, one)
            .await
            .status(),
        StatusCode::OK
    );
    let v = search(&app, "sort=soonest").await;
    assert_eq!(names(&v), ["Free Sooner", "Free Later", "No Hours"]);
    let a = v["results"][0]["next_free_at"].as_str().unwrap();
    let b = v["results"][1]["next_free_at"].as_str().unwrap();
    assert!(a < b, "{a} < {b}");
    assert!(v["results"][2]["next_free_at"].is_null());
}

/// Searches with a place read the directory index in memory; every change, whoever makes it
/// (another server, plain SQL), is in the very next search: bio, name, suspension, technique,
/// place, deletion.
#[tokio::test]
async fn the_directory_index_follows_every_change_made_anywhere() {
    use bodywork::db::schema::{therapist_techniques, therapists, users};
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = make_therapist(
        &app,
        admin_id,
        Spec {
            email: "a@x.com",
            name: "Ada Stone",
            city: "Boston",
            techniques: &["swedish"],
            ..Default::default()
        },
    )
    .await;
    let near = "near=Boston&radius_km=25";
    assert_eq!(names(&search(&app, near).await), ["Ada Stone"]);
    assert_eq!(search(&app, &format!("{near}&q=quokka")).await["total"], 0);

    // The bio, straight in the database.
    with_conn(&app, |conn| {
        diesel::update(therapists::table.find(m.therapist_id))
            .set(therapists::bio.eq("I trained with a quokka."))
            .execute(conn)
            .unwrap();
    });
    assert_eq!(
        names(&search(&app, &format!("{near}&q=Quokka")).await),
        ["Ada Stone"]
    );

    // The user's name.
    with_conn(&app, |conn| {
        let user_id: i64 = therapists::table
            .find(m.therapist_id)
            .select(therapists::user_id)
            .first(conn)
            .unwrap();
        diesel::update(users::table.find(user_id))
            .set(users::name.eq("Ada Wombat"))
            .execute(conn)
            .unwrap();
    });
    let v = search(&app, &format!("{near}&q=wombat")).await;
    assert_eq!(names(&v), ["Ada Wombat"]);

    // A technique added (the mask is kept by a trigger, and the index follows it).
    assert_eq!(
        search(&app, &format!("{near}&technique=shiatsu")).await["total"],
        0
    );
    with_conn(&app, |conn| {
        diesel::insert_into(therapist_techniques::table)
            .values((
                therapist_techniques::therapist_id.eq(m.therapist_id),
                therapist_techniques::technique_slug.eq("shiatsu"),
            ))
            .execute(conn)
            .unwrap();
    });
    let v = search(&app, &format!("{near}&technique=shiatsu")).await;
    assert_eq!(names(&v), ["Ada Wombat"]);
    assert_eq!(v["results"][0]["techniques"], json!(["swedish", "shiatsu"]));

    // Moved to Seattle through a second server process.
    let other = app.second_server();
    let r = crate::builders::new_client()
        .put(format!("{other}/api/v1/me/profile"))
        .bearer_auth(&m.token)
        .json(&json!({"name": "Ada Wombat", "bio": "I trained with a quokka.", "city": "Seattle, WA", "timezone": "America/Los_Angeles", "techniques": ["swedish", "shiatsu"]}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    assert_eq!(search(&app, near).await["total"], 0);
    assert_eq!(
        names(&search(&app, "near=Seattle&radius_km=25").await),
        ["Ada Wombat"]
    );

    // Suspended, then deleted, straight in the database.
    with_conn(&app, |conn| {
        diesel::update(therapists::table.find(m.therapist_id))
            .set(therapists::suspended_at.eq(Some(Utc::now().naive_utc())))
            .execute(conn)
            .unwrap();
    });
    assert_eq!(search(&app, "near=Seattle&radius_km=25").await["total"], 0);
    with_conn(&app, |conn| {
        diesel::update(therapists::table.find(m.therapist_id))
            .set(therapists::suspended_at.eq(None::<chrono::NaiveDateTime>))
            .execute(conn)
            .unwrap();
    });
    assert_eq!(search(&app, "near=Seattle&radius_km=25").await["total"], 1);
    with_conn(&app, |conn| {
        diesel::delete(therapists::table.find(m.therapist_id))
            .execute(conn)
            .unwrap();
    });
    assert_eq!(search(&app, "near=Seattle&radius_km=25").await["total"], 0);
}

/// Stamps commit in the order they are taken, so a sync that runs while other transactions
/// write misses nothing: six writers rewrite their bios twenty times each, on their own
/// connections, while searches keep syncing the index; afterwards every last word is found and
/// every earlier one is gone.
#[tokio::test]
async fn concurrent_writers_never_leave_the_directory_index_behind() {
    use bodywork::db::schema::therapists;
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let m = make_therapist(
            &app,
            admin_id,
            Spec {
                email: &format!("t{i}@x.com"),
                name: &format!("Writer {i}"),
                ..Default::default()
            },
        )
        .await;
        ids.push(m.therapist_id);
    }
    let word = |t: usize, round: usize| format!("zq{t}x{round:02}y");
    let writers: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(t, id)| {
            let (pool, id) = (app.pool.clone(), *id);
            std::thread::spawn(move || {
                let mut conn = pool.get().expect("connection");
                for round in 0..20 {
                    bodywork::db::write_transaction(&mut conn, |c| {
                        diesel::update(therapists::table.find(id))
                            .set(therapists::bio.eq(format!("Bio {}", word(t, round))))
                            .execute(c)
                    })
                    .expect("update");
                }
            })
        })
        .collect();
    // Searches sync the index all the while.
    while !writers.iter().all(|w| w.is_finished()) {
        search(&app, "near=Boston&radius_km=25").await;
    }
    for w in writers {
        w.join().unwrap();
    }
    for t in 0..6 {
        let v = search(&app, &format!("near=Boston&radius_km=25&q={}", word(t, 19))).await;
        assert_eq!(names(&v), [format!("Writer {t}")]);
        let v = search(&app, &format!("near=Boston&radius_km=25&q={}", word(t, 18))).await;
        assert_eq!(v["total"], 0, "an old bio is still indexed: {v}");
    }
}

/// Words are matched with Unicode case folding on both backends, with or without a place.
#[tokio::test]
async fn words_fold_unicode_case_the_same_everywhere() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "e@x.com",
            name: "ÉLODIE Ÿork",
            bio: "Trained in MÜNCHEN.",
            ..Default::default()
        },
    )
    .await;
    for q in [
        "q=élodie",
        "q=münchen",
        "q=élodie&near=Boston",
        "q=MÜNCHEN&near=Boston",
    ] {
        assert_eq!(names(&search(&app, q).await), ["ÉLODIE Ÿork"], "{q}");
    }
    assert_eq!(search(&app, "q=zürich").await["total"], 0);
}

#[tokio::test]
async fn the_profile_json_body_and_form_read_flags_each_their_way() {
    let app = spawn_app().await;
    let (_, token) = app.api_user("ada@example.com", "therapist").await;
    // Missing text fields are field errors like empty ones.
    let r = app.api_put("/api/v1/me/profile", &token, json!({})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = r.json().await.unwrap();
    for f in ["name", "city", "techniques"] {
        assert!(err["error"]["fields"][f].is_string(), "{f}: {err}");
    }
    let r = app
        .api_put(
            "/api/v1/me/profile",
            &token,
            json!({"name": "Ada", "city": "Boston", "techniques": ["swedish"], "mobile": "maybe"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Without an address nor mobile visits a profile takes no bookings: the address is asked.
    let r = app
        .api_put(
            "/api/v1/me/profile",
            &token,
            json!({"name": "Ada", "city": "Boston", "techniques": ["swedish"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = r.json().await.unwrap();
    assert!(err["error"]["fields"]["address"].is_string(), "{err}");
    // Omitted flags take their defaults in JSON; in_studio follows the address.
    let r = app
        .api_put(
            "/api/v1/me/profile",
            &token,
            json!({"name": "Ada", "city": "Boston", "techniques": ["swedish"], "address": "1 Main Street"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        (&p["accepting_new_clients"], &p["in_studio"], &p["mobile"]),
        (&json!(true), &json!(true), &json!(false))
    );

    // On the page an unchecked box is absent and means no.
    app.register_page("maya@example.com", "Maya", "therapist")
        .await;
    let ok = app
        .post_form(
            "/therapist/profile",
            "/therapist/profile",
            &[
                ("name", "Maya O"),
                ("city", "Denver"),
                ("techniques", "swedish"),
                ("mobile", "on"),
                ("mobile_radius_km", "20"),
                ("address", ""),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let form = app.get_html("/therapist/profile").await;
    assert!(form.contains("name=\"mobile\" checked"), "{form}");
    assert!(
        form.contains("name=\"address\" type=\"text\" value=\"\""),
        "{form}"
    );
    assert!(
        form.contains("name=\"mobile_radius_km\" type=\"text\" inputmode=\"numeric\" value=\"20\""),
        "{form}"
    );
    assert!(!form.contains("name=\"accepting_new_clients\" checked"));
}
