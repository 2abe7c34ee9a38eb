//! Choosing a time: the strip of the next days, slots inside the cancellation window (marked,
//! acknowledged on the page and in the API), the confirm-by, the contact, and logging in from a
//! chosen time (with its purpose, back to the booking, never to another site).

use bodywork::web::format::local_time;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    answers, book, csrf_from, new_client, page_login, scene, set_cancellation_window, some_day,
    with_service, Scene, PASSWORD,
};

/// The free slots of the next days with their `cancellable_online`.
async fn slots_with_window(s: &Scene) -> Vec<(String, bool)> {
    let today = Utc::now().date_naive();
    let r = s
        .app
        .api_get(
            &format!(
                "/api/v1/therapists/{}/availability?service_id={}&from={today}&to={}",
                s.m.therapist_id,
                s.m.service_id,
                today + Duration::days(6)
            ),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["starts_at"].as_str().unwrap().to_string(),
                x["cancellable_online"]
                    .as_bool()
                    .expect("the field is there"),
            )
        })
        .collect()
}

fn instant(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn slots_inside_the_window_say_so_and_booking_one_needs_the_acknowledgement() {
    let s = scene().await;
    set_cancellation_window(&s.app, &s.m, 48).await;
    let slots = slots_with_window(&s).await;
    let now = Utc::now();
    assert!(slots.iter().any(|(_, ok)| !ok) && slots.iter().any(|(_, ok)| *ok));
    for (start, ok) in &slots {
        let inside = instant(start) - now < Duration::hours(48);
        assert_eq!(*ok, !inside, "{start}");
    }
    let late = slots.iter().find(|(_, ok)| !ok).unwrap().0.clone();
    let (_, client) = s.app.api_user("c@example.com", "client").await;

    // Without the acknowledgement (as a client written before it existed): a clear error,
    // nothing booked.
    let old_client = |start: &str| {
        json!({"therapist_id": s.m.therapist_id, "service_id": s.m.service_id,
            "starts_at": start, "answers": answers(&[]), "clearance_confirmed": false})
    };
    let r = s
        .app
        .api_post("/api/v1/appointments", Some(&client), old_client(&late))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "cancellation_window_not_acknowledged");
    let mine: Value = s
        .app
        .api_get("/api/v1/me/bookings", Some(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 0);

    // A time that is not free says so first, acknowledged or not.
    let off_grid = (Utc::now() + Duration::hours(3))
        .format("%Y-%m-%dT%H:07:00Z")
        .to_string();
    let r = s
        .app
        .api_post("/api/v1/appointments", Some(&client), old_client(&off_grid))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "slot_unavailable");

    // With it: booked.
    let r = book(&s.app, &client, &s.m, &late, &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // A slot outside the window needs nothing new: existing clients keep working.
    let later = slots.iter().rev().find(|(_, ok)| *ok).unwrap().0.clone();
    let r = s
        .app
        .api_post("/api/v1/appointments", Some(&client), old_client(&later))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["therapist_email"], "t@example.com");
}

#[tokio::test]
async fn a_request_carries_its_confirm_by_in_the_api_and_on_both_pages() {
    let s = scene().await;
    let (_, client) = s.app.api_user("c@example.com", "client").await;
    let start = format!("{}T15:00:00Z", some_day());
    let r = book(&s.app, &client, &s.m, &start, &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["status"], "requested");
    // Eight days ahead: 24 hours after the request.
    let by = instant(v["confirm_by"].as_str().expect("a confirm-by"));
    let expected = Utc::now() + Duration::hours(24);
    assert!((by - expected).num_seconds().abs() < 120, "{by}");
    assert!(v["confirm_by"].as_str().unwrap().ends_with("-05:00"));
    let list: Value = s
        .app
        .api_get("/api/v1/me/bookings", Some(&client))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["confirm_by"], v["confirm_by"]);

    // The client's page: who, by when, how they will hear, and the contact.
    let c = page_login(&s.app, "c@example.com").await;
    let html = c
        .get(s.app.url(&format!("/bookings/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"what-next\""), "{html}");
    assert!(html.contains("Open Therapist confirms or declines your request"));
    assert!(html.contains("data-testid=\"confirm-by\""));
    assert!(html.contains("We email you their answer"));
    assert!(html.contains("href=\"mailto:t@example.com\""));

    // The therapist sees the same confirm-by.
    let t = page_login(&s.app, "t@example.com").await;
    let page = t
        .get(s.app.url(&format!("/therapist/appointments/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let words = local_time(by, chrono_tz::America::New_York, Utc::now());
    assert!(
        html.contains(&format!("{words} at the latest")),
        "{words}\n{html}"
    );
    assert!(
        page.contains(&format!("Please confirm or decline by {words}.")),
        "{page}"
    );

    // Confirmed: no confirm-by any more.
    let r = s
        .app
        .api_post(
            &format!("/api/v1/appointments/{id}/confirm"),
            Some(&s.m.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert!(v["confirm_by"].is_null());
}

#[tokio::test]
async fn the_profile_shows_a_strip_of_days_with_late_times_marked_and_a_day_in_full() {
    let s = scene().await;
    set_cancellation_window(&s.app, &s.m, 48).await;
    let html = s
        .app
        .get_html(&format!("/therapists/{}", s.m.therapist_id))
        .await;
    assert!(html.contains("data-testid=\"day-strip\""));
    // Seven days, at most four times each: no wall of buttons.
    assert_eq!(html.matches("<li class=\"day").count(), 7);
    let shown = html.matches("<a class=\"slot").count();
    assert!(shown > 0 && shown <= 28, "{shown}");
    assert!(
        html.contains("class=\"slot late\""),
        "times inside 48 hours are marked"
    );
    assert!(html.contains("Can't be cancelled online"));
    // One service is said in a line: nothing to choose.
    assert!(html.contains("data-testid=\"service-one\""));
    assert!(!html.contains("name=\"service\""), "no choice of one");
    assert!(html.contains("data-testid=\"sticky-book\""));
    // Two or more are radios to choose from.
    with_service(&s.app, &s.m, "swedish", 90, 12000).await;
    let two = s
        .app
        .get_html(&format!("/therapists/{}", s.m.therapist_id))
        .await;
    assert_eq!(
        two.matches("name=\"service\" value=\"").count(),
        2,
        "services as radios"
    );
    assert!(!two.contains("data-testid=\"service-one\""));
    // A day's "more times" opens its full list.
    let day = some_day();
    let link = format!(
        "/therapists/{}?service={}&amp;day={day}#book",
        s.m.therapist_id, s.m.service_id
    );
    let today = Utc::now().date_naive();
    if day - today < Duration::days(7) {
        assert!(html.contains(&link), "{html}");
    }
    let full = s
        .app
        .get_html(&format!(
            "/therapists/{}?service={}&day={day}",
            s.m.therapist_id, s.m.service_id
        ))
        .await;
    assert!(full.contains("All free times on"));
    // 09:00 to 16:00 every 15 minutes.
    assert_eq!(full.matches("<a class=\"slot").count(), 29, "{full}");
    // Bad dates are clamped, never a 500.
    let r = s
        .app
        .get(&format!("/therapists/{}?day=1999-01-01", s.m.therapist_id))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .app
        .get(&format!("/therapists/{}?day=nonsense", s.m.therapist_id))
        .await;
    assert!(r.status().is_client_error());
}

/// The short health form answered "none of these apply to me".
fn all_no() -> Vec<(String, String)> {
    vec![("applies".to_string(), "none".to_string())]
}

#[tokio::test]
async fn the_booking_form_asks_to_confirm_a_late_time_knowingly() {
    let s = scene().await;
    set_cancellation_window(&s.app, &s.m, 48).await;
    let late = slots_with_window(&s)
        .await
        .into_iter()
        .find(|(_, ok)| !ok)
        .unwrap()
        .0;
    let late = instant(&late).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    s.app
        .register_page("c@example.com", "Cleo Client", "client")
        .await;
    let form_page = format!(
        "/book?therapist={}&service={}&start={}",
        s.m.therapist_id,
        s.m.service_id,
        urlencoding(&late)
    );
    let html = s.app.get_html(&form_page).await;
    assert!(
        html.contains("This time can't be cancelled online"),
        "{html}"
    );
    assert!(html.contains("id=\"window_acknowledged\""));
    let post = |ack: bool| {
        let mut fields = all_no();
        fields.push(("therapist".into(), s.m.therapist_id.to_string()));
        fields.push(("service".into(), s.m.service_id.to_string()));
        fields.push(("start".into(), late.clone()));
        if ack {
            fields.push(("window_acknowledged".into(), "yes".into()));
        }
        fields
    };
    let send = |fields: Vec<(String, String)>| {
        let app = &s.app;
        let form_page = form_page.clone();
        async move {
            let csrf = csrf_from(&app.get_html(&form_page).await);
            let mut all = fields;
            all.push(("csrf_token".into(), csrf));
            app.client
                .post(app.url("/book"))
                .form(&all)
                .send()
                .await
                .unwrap()
        }
    };
    let r = send(post(false)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"window-error\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    let r = send(post(true)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

fn urlencoding(v: &str) -> String {
    v.replace(':', "%3A").replace('+', "%2B")
}

#[tokio::test]
async fn login_from_a_chosen_time_says_what_for_and_comes_back_to_it() {
    let s = scene().await;
    s.app.api_user("c@example.com", "client").await;
    let start = format!("{}T14:00:00Z", some_day());
    let booking = format!(
        "/book?therapist={}&service={}&start={}",
        s.m.therapist_id,
        s.m.service_id,
        urlencoding(&start)
    );
    let c = new_client();
    let r = c.get(s.app.url(&booking)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let login = r.headers()["location"].to_str().unwrap().to_string();
    assert!(login.starts_with("/login?next="), "{login}");
    let html = c
        .get(s.app.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let day = some_day().format("%a %-d %b").to_string();
    let purpose =
        format!("Log in to book Swedish with Open Therapist, {day}, 09:00 New York time.");
    assert!(html.contains(&purpose), "{purpose}\n{html}");
    // Registering from there says the same and keeps the way back.
    let reg = c
        .get(
            s.app
                .url(&format!("/register?next={}", urlencoding_all(&booking))),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(reg.contains("Create an account to book Swedish with Open Therapist"));
    let r = c
        .post(s.app.url("/login"))
        .form(&[
            ("email", "c@example.com"),
            ("password", PASSWORD),
            ("next", booking.as_str()),
            ("csrf_token", &csrf_from(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], booking.as_str());
    let form = c
        .get(s.app.url(&booking))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("Book Swedish with Open Therapist"));
}

fn urlencoding_all(v: &str) -> String {
    v.replace('%', "%25")
        .replace('?', "%3F")
        .replace('&', "%26")
        .replace('=', "%3D")
        .replace('/', "%2F")
}

#[tokio::test]
async fn login_never_sends_anyone_to_another_site() {
    let s = scene().await;
    s.app.api_user("c@example.com", "client").await;
    for next in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x",
        " //evil.example",
    ] {
        let c = new_client();
        let html = c
            .get(s.app.url(&format!("/login?next={}", urlencoding_all(next))))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("evil.example"), "{next}: {html}");
        let r = c
            .post(s.app.url("/login"))
            .form(&[
                ("email", "c@example.com"),
                ("password", PASSWORD),
                ("next", next),
                ("csrf_token", &csrf_from(&html)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
        let to = r.headers()["location"].to_str().unwrap();
        assert!(
            to == "/" || (to.starts_with('/') && !to.starts_with("//") && !to.contains('\\')),
            "{next} -> {to}"
        );
        assert!(
            !to.contains("evil.example") || to.starts_with("/%"),
            "{next} -> {to}"
        );
    }
}

#[tokio::test]
async fn the_search_filters_fold_behind_one_button_with_the_count() {
    let s = scene().await;
    let html = s.app.get_html("/therapists?near=Boston").await;
    assert!(
        html.contains("<summary>Filters · 1 therapist</summary>"),
        "{html}"
    );
    assert!(!html.contains("data-testid=\"filter-fold\" open"));
    // With a bad filter the fold is open, the error next to its field.
    let html = s
        .app
        .get_html("/therapists?near=Boston&max_price=abc")
        .await;
    assert!(
        html.contains("<details class=\"filter-fold\" open"),
        "{html}"
    );
}

/// Moving a booking to a time inside the cancellation window asks for the same
/// acknowledgement as booking one: the API answers 422 without it, and the page comes back
/// with the chosen time and the box to tick, then moves it.
#[tokio::test]
async fn moving_to_a_time_inside_the_window_needs_the_acknowledgement() {
    let s = scene().await;
    set_cancellation_window(&s.app, &s.m, 48).await;
    let slots = slots_with_window(&s).await;
    let lates: Vec<String> = slots
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(t, _)| t.clone())
        .collect();
    assert!(lates.len() >= 2, "two times inside the window: {slots:?}");
    let (_, client) = s.app.api_user("c@example.com", "client").await;
    let later = slots.iter().rev().find(|(_, ok)| *ok).unwrap().0.clone();
    let r = book(&s.app, &client, &s.m, &later, &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // The API: refused without the acknowledgement, nothing moved.
    let path = format!("/api/v1/appointments/{id}/reschedule");
    let r = s
        .app
        .api_post(&path, Some(&client), json!({"starts_at": lates[0]}))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "cancellation_window_not_acknowledged");
    let mine: Value = s
        .app
        .api_get("/api/v1/me/bookings", Some(&client))
        .await
        .json()
        .await
        .unwrap();
    let starts: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["status"] == "requested")
        .map(|b| b["starts_at"].as_str().unwrap())
        .collect();
    assert_eq!(starts.len(), 1);
    assert_eq!(instant(starts[0]), instant(&later), "still at its time");

    // The page: the late times are marked; choosing one asks again, with the box.
    let c = page_login(&s.app, "c@example.com").await;
    let form_page = s.app.url(&format!("/bookings/{id}/reschedule"));
    let html = c
        .get(&form_page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("class=\"slot late\""), "late times marked");
    let csrf = csrf_from(&html);
    let action = s.app.url(&format!("/bookings/{id}/reschedule"));
    let r = c
        .post(&action)
        .form(&[("csrf_token", csrf.as_str()), ("start", lates[1].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-testid=\"window-confirm\""), "{html}");
    let chosen = instant(&lates[1]).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(html.contains(&format!("name=\"start\" value=\"{chosen}\"")));
    let r = c
        .post(&action)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("start", lates[1].as_str()),
            ("window_acknowledged", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "moved");
}
