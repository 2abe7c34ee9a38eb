//! The charts' numbers: bookings per week, the verification queue's age and licenses expiring
//! per week (admins), a therapist's booked hours per week; the same numbers in the API, the SVG
//! and its table.

use std::collections::HashMap;

use bodywork::domain::stats::week_start;
use chrono::{Duration, NaiveDate, Utc};
use chrono_tz::America::New_York;
use reqwest::StatusCode;
use serde_json::Value;

use crate::builders::{appointment_at, page_login, scene, with_conn};

fn weeks(v: &Value, key: &str) -> HashMap<NaiveDate, i64> {
    v["weeks"]
        .as_array()
        .expect("weeks")
        .iter()
        .map(|w| {
            (
                w["week_start"].as_str().unwrap().parse().unwrap(),
                w[key].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn bookings_are_counted_per_week_and_a_therapists_hours_per_local_week() {
    let s = scene().await;
    let (client_id, _) = s.app.api_user("c@example.com", "client").await;
    // (from now, status): cancelled ones do not count; requested ones are bookings but not
    // booked hours.
    let plan = [
        (Duration::days(-50), "completed"),
        (Duration::days(-15), "completed"),
        (Duration::days(-15) + Duration::hours(2), "no_show"),
        (Duration::days(-8), "cancelled"),
        (Duration::days(-1), "completed"),
        (Duration::days(9), "requested"),
        (Duration::days(10), "confirmed"),
        (Duration::days(200), "confirmed"),
    ];
    let now = bodywork::models::now();
    for (offset, status) in plan {
        appointment_at(&s.app, &s.m, client_id, offset, status);
    }

    let r = s
        .app
        .api_get("/api/v1/admin/stats/bookings", Some(&s.admin))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let got = weeks(&r.json().await.unwrap(), "count");
    assert_eq!(got.len(), 12);
    let this_week = week_start(now.date());
    let mut expected: HashMap<NaiveDate, i64> = HashMap::new();
    for (offset, status) in plan {
        let week = week_start((now + offset).date());
        let shown =
            week >= this_week - Duration::weeks(8) && week <= this_week + Duration::weeks(3);
        if status != "cancelled" && shown {
            *expected.entry(week).or_default() += 1;
        }
    }
    for (week, n) in &got {
        assert_eq!(
            *n,
            expected.get(week).copied().unwrap_or(0),
            "week of {week}"
        );
    }
    assert_eq!(got.values().sum::<i64>(), expected.values().sum::<i64>());
    assert!(expected.values().sum::<i64>() >= 4);

    // Hours: confirmed, completed and no-show sessions of the last 12 weeks, by New York week.
    let r = s
        .app
        .api_get("/api/v1/me/stats/hours", Some(&s.m.token))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["timezone"], "America/New_York");
    let got = weeks(&v, "minutes");
    let local = |t: chrono::NaiveDateTime| t.and_utc().with_timezone(&New_York).date_naive();
    let this_week = week_start(Utc::now().with_timezone(&New_York).date_naive());
    let mut expected: HashMap<NaiveDate, i64> = HashMap::new();
    for (offset, status) in plan {
        let week = week_start(local(now + offset));
        let shown = week > this_week - Duration::weeks(12) && week <= this_week;
        if ["completed", "confirmed", "no_show"].contains(&status) && shown {
            *expected.entry(week).or_default() += 60;
        }
    }
    assert_eq!(got.len(), 12);
    assert_eq!(*got.keys().max().unwrap(), this_week);
    for (week, minutes) in &got {
        assert_eq!(
            *minutes,
            expected.get(week).copied().unwrap_or(0),
            "week of {week}"
        );
    }
    assert_eq!(got.values().sum::<i64>(), 240);

    // The page: the picture with its name and description, and the numbers as a table.
    let c = page_login(&s.app, "t@example.com").await;
    let html = c
        .get(s.app.url("/therapist/hours"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("role=\"img\""));
    assert!(html.contains("aria-labelledby=\"hours-svg-title hours-svg-desc\""));
    assert!(html.contains("<title id=\"hours-svg-title\">Booked hours per week</title>"));
    assert!(html.contains("4 hours in all"), "{html}");
    assert_eq!(html.matches("<rect class=\"bar").count(), 12);
    assert_eq!(html.matches("<tr><td>").count(), 12);
}

#[tokio::test]
async fn the_queue_is_grouped_by_age_and_expiring_licenses_by_week() {
    let s = scene().await;
    let (_, other) = s.app.api_user("t2@example.com", "therapist").await;
    let submit = serde_json::json!({"jurisdiction": "MA", "number": "LMT-1", "issuing_body": "MA Board",
        "expires_on": (Utc::now().date_naive() + Duration::days(300)).to_string()});
    let r = s
        .app
        .api_post("/api/v1/me/license", Some(&other), submit)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let r = s
        .app
        .api_post(
            "/api/v1/me/training",
            Some(&other),
            serde_json::json!({"program": "Diploma", "hours": 600, "completed_on": "2020-06-01"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The training record has waited ten days.
    with_conn(&s.app, |conn| {
        use bodywork::db::schema::training_records;
        use diesel::prelude::*;
        diesel::update(training_records::table.filter(training_records::status.eq("submitted")))
            .set(training_records::submitted_at.eq(bodywork::models::now() - Duration::days(10)))
            .execute(conn)
            .unwrap();
    });
    let r = s
        .app
        .api_get("/api/v1/admin/stats/queue-age", Some(&s.admin))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let counts: Vec<(String, i64)> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["label"].as_str().unwrap().to_string(),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts[0], ("Under 1 day".to_string(), 1));
    assert_eq!(counts[3], ("1 to 2 weeks".to_string(), 1));
    assert_eq!(counts.iter().map(|c| c.1).sum::<i64>(), 2);

    // The scene's therapist's verified license expires in 20 days, unrenewed.
    let expiry = Utc::now().date_naive() + Duration::days(20);
    with_conn(&s.app, |conn| {
        use bodywork::db::schema::licenses;
        use diesel::prelude::*;
        diesel::update(licenses::table.filter(licenses::therapist_id.eq(s.m.therapist_id)))
            .set(licenses::expires_on.eq(expiry))
            .execute(conn)
            .unwrap();
        bodywork::services::profile::refresh_summary(conn, s.m.therapist_id).unwrap();
    });
    let r = s
        .app
        .api_get("/api/v1/admin/stats/expiring", Some(&s.admin))
        .await;
    let got = weeks(&r.json().await.unwrap(), "count");
    assert_eq!(got.len(), 12);
    assert_eq!(got.get(&week_start(expiry)), Some(&1));
    assert_eq!(got.values().sum::<i64>(), 1);

    // Only admins read them.
    let r = s
        .app
        .api_get("/api/v1/admin/stats/bookings", Some(&other))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The dashboard draws the three charts.
    let c = page_login(&s.app, "admin@example.com").await;
    let html = c
        .get(s.app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for id in ["bookings", "queue-age", "expiring"] {
        assert!(
            html.contains(&format!("data-testid=\"chart-{id}\"")),
            "{id}"
        );
        assert!(html.contains(&format!("aria-labelledby=\"{id}-svg-title {id}-svg-desc\"")));
    }
    assert!(html.contains("2 licenses and training records wait for verification"));
}

#[tokio::test]
async fn the_demo_gives_every_chart_something_to_show_and_most_therapists_a_photo() {
    let app = crate::builders::spawn_app().await;
    let cipher = bodywork::services::crypto::AnswerCipher::from_settings(&app.settings).unwrap();
    let mail = app.mail_ctx();
    with_conn(&app, |conn| {
        bodywork::demo::fill(conn, &mail, &cipher).expect("demo data")
    });
    let login = |email: &'static str| crate::builders::demo_login(&app, email);
    let admin = login("admin@demo.bodywork.test").await;
    let therapist = login("therapist@demo.bodywork.test").await;
    let nonzero = |v: &Value, key: &str| weeks(v, key).values().filter(|n| **n > 0).count();
    let get = |path: &'static str, token: String| {
        let app = &app;
        async move {
            app.api_get(path, Some(&token))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let bookings = get("/api/v1/admin/stats/bookings", admin.clone()).await;
    assert!(nonzero(&bookings, "count") >= 10, "{bookings}");
    let expiring = get("/api/v1/admin/stats/expiring", admin.clone()).await;
    assert!(nonzero(&expiring, "count") >= 4, "{expiring}");
    let queue = get("/api/v1/admin/stats/queue-age", admin.clone()).await;
    let groups = queue["groups"].as_array().unwrap();
    assert!(
        groups
            .iter()
            .filter(|g| g["count"].as_i64().unwrap() > 0)
            .count()
            >= 3,
        "{queue}"
    );
    let hours = get("/api/v1/me/stats/hours", therapist).await;
    assert!(nonzero(&hours, "minutes") >= 9, "{hours}");

    let hits: Value = app
        .api_get("/api/v1/therapists?per_page=100&verified=any", None)
        .await
        .json()
        .await
        .unwrap();
    let hits = hits["results"].as_array().unwrap();
    let with_photo = hits
        .iter()
        .filter(|h| h["photo_card_url"].is_string())
        .count();
    assert!(
        with_photo * 2 > hits.len() && with_photo < hits.len(),
        "{with_photo} of {}",
        hits.len()
    );
    let url = hits
        .iter()
        .find_map(|h| h["photo_card_url"].as_str())
        .unwrap();
    let r = app.api_get(url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(image::load_from_memory(&r.bytes().await.unwrap()).is_ok());
}
