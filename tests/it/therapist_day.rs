//! The therapist's day: the dashboard leads with the requests waiting (counted, soonest first,
//! flags marked) with inline Confirm and Decline, then today's and tomorrow's sessions, on the
//! page and in `GET /api/v1/me/agenda`; the week grid opens on the week that holds today on the
//! therapist's clock, Monday first, also late on a Sunday (a fixed `now` through the service).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::Value;

use crate::builders::{
    appointment_at, book, scene, slots, some_day, therapist_proof, with_conn, Made, Scene, TestApp,
    PASSWORD,
};
use bodywork::domain::schedule::{day_begins, local_today};

const NEW_YORK: Tz = chrono_tz::America::New_York;

async fn request(
    app: &TestApp,
    token: &str,
    m: &Made,
    day: NaiveDate,
    k: usize,
    yes: &[&str],
) -> i64 {
    let start = slots(app, m, day, day).await[k].clone();
    let r = book(app, token, m, &start, yes, false).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// `hour` o'clock on `day`, New York time, as a distance from now (for `appointment_at`).
fn from_now(day: NaiveDate, hour: i64) -> Duration {
    day_begins(day, NEW_YORK) + Duration::hours(hour) - Utc::now()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_dashboard_counts_the_waiting_requests_soonest_first_and_confirms_and_declines_inline()
{
    let Scene { app, m, .. } = scene().await;
    let (client_id, client) = app.api_user("client@example.com", "client").await;
    let day = some_day();
    // Made in another order than their times.
    let third = request(&app, &client, &m, day + Duration::days(2), 0, &[]).await;
    let first = request(&app, &client, &m, day, 8, &["herniated_disc"]).await;
    let second = request(&app, &client, &m, day + Duration::days(1), 4, &[]).await;
    let confirmed = request(&app, &client, &m, day + Duration::days(3), 0, &[]).await;
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{confirmed}/confirm"),
            Some(&m.token),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let today = local_today(Utc::now(), NEW_YORK);
    let today_session = appointment_at(&app, &m, client_id, from_now(today, 12), "confirmed");
    let tomorrow = today + Duration::days(1);
    let tomorrow_session = appointment_at(&app, &m, client_id, from_now(tomorrow, 12), "requested");

    // The API: counts, order, words.
    let a: Value = app
        .api_get("/api/v1/me/agenda", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["timezone"], "America/New_York");
    assert_eq!(a["today"], today.to_string());
    assert_eq!(a["waiting_count"], 4, "three requests and tomorrow's: {a}");
    assert_eq!(a["flagged_count"], 1);
    assert_eq!(
        ids(&a["waiting"]),
        [tomorrow_session, first, second, third],
        "soonest first"
    );
    assert_eq!(a["waiting"][1]["awaiting_acknowledgement"], true);
    assert_eq!(
        a["waiting"][1]["screening_label"],
        "Caution, with notes for you"
    );
    assert_eq!(
        a["waiting"][0]["status_label"],
        "Waiting for you to confirm"
    );
    assert_eq!(ids(&a["today_sessions"]), [today_session]);
    assert_eq!(ids(&a["tomorrow_sessions"]), [tomorrow_session]);
    let only: Value = app
        .api_get("/api/v1/me/appointments?status=requested", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&only), [tomorrow_session, first, second, third]);
    let bad = app
        .api_get("/api/v1/me/appointments?status=needs_love", Some(&m.token))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The page says the same, in the same order, with the flag marked.
    app.login_page("t@example.com", PASSWORD).await;
    let html = app.get_html("/therapist").await;
    assert!(
        html.contains("4 requests wait for you to confirm"),
        "{html}"
    );
    assert!(html.contains("1 with screening flags to read"));
    let at = |id: i64| {
        html.find(&format!("id=\"request-{id}\""))
            .unwrap_or_else(|| panic!("request {id} on the dashboard"))
    };
    assert!(at(tomorrow_session) < at(first) && at(first) < at(second) && at(second) < at(third));
    assert!(!html.contains(&format!("id=\"request-{confirmed}\"")));
    assert!(
        html.contains("id=\"ack-"),
        "the flagged one asks for the acknowledgement"
    );
    assert!(
        !html.contains("herniated"),
        "no health details on the dashboard"
    );
    assert!(!html.contains("caution<") && !html.contains("needs_clearance"));
    assert!(html.contains("aria-current=\"page\">Overview</a>"));
    assert!(html.contains("href=\"/therapist/hours\""));

    // Inline actions: refused next to their field, with what was typed kept.
    let action = format!("/therapist/appointments/{first}");
    let r = app
        .post_form(
            "/therapist",
            &action,
            &[("action", "confirm"), ("from", "dashboard")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("id=\"ack-{first}-error\"")),
        "{html}"
    );
    let r = app
        .post_form(
            "/therapist",
            &format!("/therapist/appointments/{second}"),
            &[
                ("action", "decline"),
                ("from", "dashboard"),
                ("reason", "  "),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("id=\"reason-{second}-error\"")));
    assert!(html.contains("Give the client a short reason."));

    let r = app
        .post_form(
            "/therapist",
            &action,
            &[
                ("action", "confirm"),
                ("from", "dashboard"),
                ("acknowledged_flags", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/therapist");
    let r = app
        .post_form(
            "/therapist",
            &format!("/therapist/appointments/{second}"),
            &[
                ("action", "decline"),
                ("from", "dashboard"),
                ("reason", "Away at a course that day."),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get_html("/therapist").await;
    assert!(
        html.contains("2 requests wait for you to confirm"),
        "{html}"
    );
    let lines: Value = app
        .api_get("/api/v1/me/appointments", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    let label = |id: i64| {
        lines
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .map(|l| l["status_label"].clone())
            .unwrap()
    };
    assert_eq!(label(second), "Declined by you");
    assert_eq!(label(first), "Confirmed");
    let list = app.get_html("/therapist/appointments").await;
    assert!(list.contains("Declined by you") && !list.contains(">cancelled<"));
}

/// The Sunday on or after today.
fn next_sunday() -> NaiveDate {
    let today = Utc::now().date_naive();
    today + Duration::days(6 - today.weekday().num_days_from_monday() as i64)
}

#[tokio::test]
async fn late_on_a_sunday_the_week_is_the_one_that_ends_that_day() {
    let Scene { app, m, .. } = scene().await;
    let (client_id, _) = app.api_user("client@example.com", "client").await;
    let sunday = next_sunday();
    let monday = sunday - Duration::days(6);
    // 23:30 on Sunday in New York is already Monday in UTC.
    let now: DateTime<Utc> = day_begins(sunday, NEW_YORK) + Duration::minutes(23 * 60 + 30);
    assert_eq!(now.date_naive(), sunday + Duration::days(1));
    let on_sunday = appointment_at(&app, &m, client_id, from_now(sunday, 10), "requested");
    let off = serde_json::json!({
        "starts_at": (day_begins(sunday - Duration::days(1), NEW_YORK) + Duration::hours(13)).to_rfc3339(),
        "ends_at": (day_begins(sunday - Duration::days(1), NEW_YORK) + Duration::hours(15)).to_rfc3339(),
        "note": "course"
    });
    let r = app
        .api_post("/api/v1/me/time-off", Some(&m.token), off)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );

    let w = with_conn(&app, |conn| {
        let me = therapist_proof(conn, "t@example.com");
        bodywork::services::schedule::week(conn, &me, None, now).expect("the week")
    });
    assert_eq!(w.monday, monday, "Monday to Sunday, Sunday last");
    assert_eq!(w.today, sunday);
    let dates: Vec<NaiveDate> = w.days.iter().map(|d| d.date).collect();
    assert_eq!(dates.first(), Some(&monday));
    assert_eq!(dates.last(), Some(&sunday));
    assert!(w.days[6].is_today && w.days.iter().filter(|d| d.is_today).count() == 1);
    let sessions: Vec<(i64, u16, u16)> = w.days[6]
        .sessions
        .iter()
        .map(|s| (s.item.id, s.start_min, s.end_min))
        .collect();
    assert_eq!(
        sessions,
        [(on_sunday, 600, 660)],
        "10:00-11:00 New York time"
    );
    assert!(w.days[..6].iter().all(|d| d.sessions.is_empty()));
    assert_eq!(w.days[5].away.len(), 1);
    assert_eq!(
        (w.days[5].away[0].start_min, w.days[5].away[0].end_min),
        (780, 900)
    );
    assert_eq!(w.days[0].hours, [(540, 1020)], "09:00-17:00 every day");
    assert_eq!(w.axis, (540, 1020));

    // Asking for the Sunday, by page or API, gives the same week.
    let api: Value = app
        .api_get(&format!("/api/v1/me/week?week={sunday}"), Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["week_start"], monday.to_string());
    assert_eq!(api["days"][6]["date"], sunday.to_string());
    assert_eq!(ids(&api["days"][6]["appointments"]), [on_sunday]);
    assert_eq!(api["days"][5]["time_off"][0]["start"], "13:00");
    assert_eq!(api["grid_start"], "09:00");
    let bad = app
        .api_get("/api/v1/me/week?week=someday", Some(&m.token))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    app.login_page("t@example.com", PASSWORD).await;
    let html = app
        .get_html(&format!("/therapist/appointments?week={sunday}"))
        .await;
    assert!(html.contains(&format!("Week of {}", monday.format("%A %-d %B %Y"))));
    let column = &html[html
        .find(&format!("data-testid=\"day-{sunday}\""))
        .expect("Sunday's column")..];
    let column = &column[..column.find("class=\"cal-day").unwrap_or(column.len())];
    assert!(
        column.contains("class=\"cal-head c8\""),
        "Sunday is the last column"
    );
    assert!(column.contains(&format!("/therapist/appointments/{on_sunday}")));
    assert!(column.contains("Waiting for you to confirm"));
    assert!(html.contains("Time off 13:00–15:00: course"));
    assert!(html.contains("aria-current=\"page\">Week</a>"));
}
