//! What a person reads on the pages: times on the therapist's clock with the zone named, the
//! price of the searched technique on a result card, distances in the deployment's unit.

use bodywork::domain::gazetteer::DistanceUnit;
use bodywork::web::format::local_time;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    book, make_therapist, open_therapist, scene, slots, some_day, spawn_app, spawn_app_with, Spec,
    TestApp, PASSWORD,
};

const NEW_YORK: chrono_tz::Tz = chrono_tz::America::New_York;

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

async fn add_service(app: &TestApp, token: &str, technique: &str, minutes: i32, cents: i64) -> i64 {
    let r = app
        .api_post(
            "/api/v1/me/services",
            Some(token),
            json!({"technique": technique, "duration_min": minutes, "price_cents": cents}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// The `data-testid` element of each result card, in order (its text, tags left in).
fn card_parts(html: &str, testid: &str) -> Vec<String> {
    html.split("data-testid=\"hit\"")
        .skip(1)
        .map(|card| {
            card.split(&format!("data-testid=\"{testid}\">"))
                .nth(1)
                .and_then(|rest| rest.split('<').next())
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn instant(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_card_shows_the_searched_technique_s_price_and_the_next_free_time_on_the_therapist_s_clock(
) {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    // Swedish $90 (the cheapest service), deep tissue 60 min $110 and 90 min $150.
    let both = open_therapist(&app, admin_id, "both@x.com", &["swedish", "deep-tissue"]).await;
    let deep = add_service(&app, &both.token, "deep-tissue", 60, 11_000).await;
    add_service(&app, &both.token, "deep-tissue", 90, 15_000).await;
    // Trained in deep tissue, but only a Swedish service listed: the card falls back.
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "swedish@x.com",
            name: "Swedish Only",
            city: "Cambridge, MA",
            techniques: &["swedish", "deep-tissue"],
            price_cents: 8_000,
            ..Default::default()
        },
    )
    .await;

    let v = search(&app, "near=Boston&technique=deep-tissue").await;
    assert_eq!(v["total"], 2);
    let hit = &v["results"][0];
    assert_eq!(hit["id"], both.therapist_id);
    assert_eq!(
        hit["price_from_cents"], 9_000,
        "unchanged: the cheapest of any technique"
    );
    assert_eq!(hit["service_id"], deep);
    assert_eq!(hit["service_technique"], "deep-tissue");
    assert_eq!(hit["service_duration_min"], 60);
    assert_eq!(hit["service_price_cents"], 11_000);
    assert_eq!(hit["timezone"], "America/New_York");
    let at = instant(hit["next_free_at"].as_str().unwrap());
    let local = DateTime::parse_from_rfc3339(hit["next_free_local"].as_str().unwrap()).unwrap();
    assert_eq!(local.with_timezone(&Utc), at, "the same instant");
    assert_eq!(
        local.offset().local_minus_utc(),
        at.with_timezone(&NEW_YORK)
            .fixed_offset()
            .offset()
            .local_minus_utc(),
        "on the therapist's clock"
    );
    let other = &v["results"][1];
    assert!(other["service_id"].is_null() && other["service_price_cents"].is_null());
    assert_eq!(other["price_from_cents"], 8_000);
    let plain = search(&app, "near=Boston").await;
    assert!(
        plain["results"][0]["service_id"].is_null(),
        "no technique searched, no service line"
    );

    let html = app
        .get_html("/therapists?near=Boston&technique=deep-tissue")
        .await;
    assert_eq!(
        card_parts(&html, "price"),
        ["Deep tissue, 60 min, $110", "from $80"]
    );
    let next = card_parts(&html, "next-free");
    assert_eq!(
        next[0],
        format!("Next free: {}", local_time(at, NEW_YORK, Utc::now()))
    );
    assert!(next[0].ends_with(" New York time"), "{}", next[0]);
    assert!(!html.contains("UTC"), "no UTC on the page");
    assert!(html.contains(&format!(
        "href=\"/therapists/{}?service={deep}#book\"",
        both.therapist_id
    )));
    let html = app.get_html("/therapists?near=Boston").await;
    assert_eq!(card_parts(&html, "price"), ["from $90", "from $80"]);

    // The profile the card leads to shows that service's free times, by local day.
    let profile = app
        .get_html(&format!("/therapists/{}?service={deep}", both.therapist_id))
        .await;
    assert!(profile.contains(&format!("name=\"service\" value=\"{deep}\" checked")));
    assert!(profile.contains("Times are in New York time."));
    assert!(profile.contains("Today, ") || profile.contains("Tomorrow, "));
}

#[tokio::test]
async fn a_retired_or_repriced_service_shows_at_once() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "t@x.com", &["swedish", "deep-tissue"]).await;
    let deep = add_service(&app, &m.token, "deep-tissue", 60, 11_000).await;
    let query = "near=Boston&technique=deep-tissue";
    assert_eq!(
        search(&app, query).await["results"][0]["service_price_cents"],
        11_000
    );
    let r = app
        .api_put(
            &format!("/api/v1/me/services/{deep}"),
            &m.token,
            json!({"technique": "deep-tissue", "duration_min": 75, "price_cents": 12_500}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let hit = &search(&app, query).await["results"][0];
    assert_eq!(hit["service_price_cents"], 12_500);
    assert_eq!(hit["service_duration_min"], 75);
    let html = app.get_html(&format!("/therapists?{query}")).await;
    assert_eq!(card_parts(&html, "price"), ["Deep tissue, 75 min, $125"]);
    let r = app
        .api_delete(&format!("/api/v1/me/services/{deep}"), &m.token)
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let hit = &search(&app, query).await["results"][0];
    assert!(hit["service_id"].is_null(), "{hit}");
    let html = app.get_html(&format!("/therapists?{query}")).await;
    assert_eq!(card_parts(&html, "price"), ["from $90"]);
}

#[tokio::test]
async fn distances_are_in_miles_by_default_and_the_radius_is_read_in_miles() {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "c@x.com",
            name: "Cambridge Person",
            city: "Cambridge, MA",
            ..Default::default()
        },
    )
    .await;
    let v = search(&app, "near=Boston").await;
    let km = v["results"][0]["distance_km"].as_f64().unwrap();
    let mi = v["results"][0]["distance_mi"].as_f64().unwrap();
    assert!(
        (2.0..4.0).contains(&mi),
        "Cambridge is under 3 miles away: {mi}"
    );
    assert!((mi - km / 1.609344).abs() < 0.11, "{km} km is {mi} mi");

    let html = app.get_html("/therapists?near=Boston").await;
    assert_eq!(card_parts(&html, "distance"), [format!("{mi:.1} mi away")]);
    assert!(html.contains("<label for=\"radius_mi\">Within (miles)</label>"));
    assert!(html.contains("name=\"radius_mi\""));
    assert!(!html.contains("name=\"radius_km\""));
    // The radius typed in miles means miles, on the page and in the API.
    let under = (mi - 0.5).floor().max(1.0);
    let count = |html: &str| html.contains("1 therapist<");
    assert!(!count(
        &app.get_html(&format!("/therapists?near=Boston&radius_mi={under}"))
            .await
    ));
    assert!(count(
        &app.get_html(&format!("/therapists?near=Boston&radius_mi={}", mi.ceil()))
            .await
    ));
    assert_eq!(
        search(&app, &format!("near=Boston&radius_mi={under}")).await["total"],
        0
    );
    assert_eq!(
        search(&app, &format!("near=Boston&radius_mi={}", mi.ceil())).await["total"],
        1
    );
    // An older link in km still works, and the field shows it in miles.
    let html = app.get_html("/therapists?near=Boston&radius_km=10").await;
    assert!(html.contains(
        "name=\"radius_mi\" type=\"number\" min=\"1\" max=\"310\" step=\"any\" value=\"6.2\""
    ));
    // Bad radii are explained, never a 500.
    for (query, field) in [
        ("near=Boston&radius_mi=9999", "radius_mi"),
        ("near=Boston&radius_mi=lots", "radius_mi"),
        ("near=Boston&radius_mi=0", "radius_mi"),
        ("near=Boston&radius_mi=5&radius_km=5", "radius_mi"),
        ("radius_mi=5", "near"),
    ] {
        let r = app
            .api_get(&format!("/api/v1/therapists?{query}"), None)
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let err: Value = r.json().await.unwrap();
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
    let html = app
        .get_html("/therapists?near=Boston&radius_mi=%3Cb%3E")
        .await;
    assert!(html.contains("The radius is 1 to 310 miles."));
    assert!(html.contains("value=\"&#60;b&#62;\"") || html.contains("value=\"&lt;b&gt;\""));
    assert!(!html.contains("<b>"), "escaped");
}

#[tokio::test]
async fn a_deployment_may_choose_kilometres() {
    let app = spawn_app_with(|s| s.distance_unit = DistanceUnit::Km).await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "c@x.com",
            name: "Cambridge Person",
            city: "Cambridge, MA",
            ..Default::default()
        },
    )
    .await;
    let km = search(&app, "near=Boston").await["results"][0]["distance_km"]
        .as_f64()
        .unwrap();
    let html = app.get_html("/therapists?near=Boston&radius_km=10").await;
    assert_eq!(card_parts(&html, "distance"), [format!("{km:.1} km away")]);
    assert!(html.contains("<label for=\"radius_km\">Within (km)</label>"));
    assert!(html.contains(
        "name=\"radius_km\" type=\"number\" min=\"1\" max=\"500\" step=\"any\" value=\"10\""
    ));
    assert!(!html.contains(" mi away"));
}

#[tokio::test]
async fn client_and_therapist_pages_say_times_on_the_therapist_s_clock() {
    let s = scene().await;
    let app = &s.app;
    let (_, client) = app.api_user("client@example.com", "client").await;
    let day = some_day();
    let start = slots(app, &s.m, day, day).await[0].clone();
    let r = book(app, &client, &s.m, &start, &[], false).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let when = local_time(instant(&start), NEW_YORK, Utc::now());
    assert!(when.contains(", 09:00 New York time"), "{when}");

    app.login_page("client@example.com", PASSWORD).await;
    for page in ["/bookings".to_string(), format!("/bookings/{id}")] {
        let html = app.get_html(&page).await;
        assert!(html.contains(&when), "{page} says {when}");
        assert!(!html.contains("UTC"), "{page}");
    }

    let off_day = day + chrono::Duration::days(1);
    let r = app
        .api_post(
            "/api/v1/me/time-off",
            Some(&s.m.token),
            json!({"starts_at": format!("{off_day}T09:00:00-05:00"),
                   "ends_at": format!("{off_day}T12:00:00-05:00"), "note": "course"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    app.login_page("t@example.com", PASSWORD).await;
    let html = app.get_html("/therapist/appointments").await;
    assert!(html.contains(&when), "the therapist's list says {when}");
    assert!(html.contains("Times are New York time."));
    assert!(!html.contains("UTC"));
    let html = app.get_html(&format!("/therapist/appointments/{id}")).await;
    assert!(html.contains(&when));
    let html = app.get_html("/therapist/schedule").await;
    let start_off = instant(&format!("{off_day}T09:00:00-05:00"));
    let expected = bodywork::web::format::local_span(
        start_off,
        start_off + chrono::Duration::hours(3),
        NEW_YORK,
        Utc::now(),
    );
    assert!(
        expected.contains(" to ") && expected.ends_with(" New York time"),
        "{expected}"
    );
    assert!(html.contains(&expected), "the schedule says {expected}");
}
