//! The short health form of the booking page and the self-check: "none apply" / "some apply"
//! and the ticked checklist read into per-question answers, errors marked on their field and
//! summarised, answers carried over from the self-check and a declined attempt (encrypted
//! cookies, never the URL), a decline's suggested service keeping the chosen time, and outcome
//! pages that speak of what was answered.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::builders::{
    csrf_from, new_client, open_therapist, spawn_app, with_service, Made, TestApp, PASSWORD,
};

/// A therapist open every day 09:00-17:00 New York time with Deep tissue 60 min (`m.service_id`),
/// Swedish 60 min and Swedish 90 min; a client logged in on the pages, and their API token.
struct Setup {
    app: TestApp,
    m: Made,
    swedish_60: i64,
    swedish_90: i64,
    page: reqwest::Client,
    token: String,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(
        &app,
        admin_id,
        "maya@example.com",
        &["deep-tissue", "swedish"],
    )
    .await;
    let swedish_60 = with_service(&app, &m, "swedish", 60, 9000).await;
    let swedish_90 = with_service(&app, &m, "swedish", 90, 13000).await;
    let (_, token) = app.api_user("dana@example.com", "client").await;
    let page = new_client();
    log_in(&app, &page, "dana@example.com").await;
    Setup {
        app,
        m,
        swedish_60,
        swedish_90,
        page,
        token,
    }
}

async fn log_in(app: &TestApp, c: &reqwest::Client, email: &str) {
    let html = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", csrf_from(&html).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login {email}");
}

/// The free starts of a service on the first day with any (RFC 3339, from the API).
async fn day_starts(app: &TestApp, therapist_id: i64, service_id: i64) -> Vec<String> {
    let from = Utc::now().date_naive() + chrono::Duration::days(3);
    let to = from + chrono::Duration::days(1);
    let v: Value = app
        .api_get(
            &format!("/api/v1/therapists/{therapist_id}/availability?service_id={service_id}&from={from}&to={to}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let all: Vec<String> = v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap().to_string())
        .collect();
    let first_day = all[0][..10].to_string();
    all.into_iter()
        .filter(|s| s.starts_with(&first_day))
        .collect()
}

/// The booking form's address as the pages write it (the start in UTC with `Z`).
fn book_url(therapist: i64, service: i64, start: &str) -> String {
    let start = start
        .parse::<DateTime<Utc>>()
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        "/book?therapist={therapist}&service={service}&start={}",
        urlencoding(&start)
    )
}

fn urlencoding(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

async fn get(s: &Setup, path: &str) -> reqwest::Response {
    s.page.get(s.app.url(path)).send().await.unwrap()
}

/// Posts the booking form of `service` at `start` with these extra fields.
async fn post_book(
    s: &Setup,
    service: i64,
    start: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = get(s, &book_url(s.m.therapist_id, service, start))
        .await
        .text()
        .await
        .unwrap();
    let therapist = s.m.therapist_id.to_string();
    let service = service.to_string();
    let csrf = csrf_from(&html);
    let mut all: Vec<(&str, &str)> = vec![
        ("csrf_token", csrf.as_str()),
        ("therapist", therapist.as_str()),
        ("service", service.as_str()),
        ("start", start),
    ];
    all.extend_from_slice(fields);
    s.page
        .post(s.app.url("/book"))
        .form(&all)
        .send()
        .await
        .unwrap()
}

/// The stored answers of the booking a redirect leads to, read through the API as its client.
async fn stored_answers(s: &Setup, r: &reqwest::Response) -> serde_json::Map<String, Value> {
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap();
    let id = to.trim_start_matches("/bookings/");
    let v: Value = s
        .app
        .api_get(&format!("/api/v1/appointments/{id}"), Some(&s.token))
        .await
        .json()
        .await
        .unwrap();
    v["answers"]
        .as_object()
        .expect("answers for the client")
        .clone()
}

fn cookie<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// Every `href` and `action` of a page.
fn addresses(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["href=\"", "action=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let end = rest.find('"').unwrap();
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

fn question_ids() -> Vec<String> {
    bodywork::domain::screening::questionnaire()
        .questions
        .iter()
        .map(|q| q.id.clone())
        .collect()
}

#[tokio::test]
async fn none_apply_books_with_every_answer_no() {
    let s = setup().await;
    let start = day_starts(&s.app, s.m.therapist_id, s.swedish_60).await[0].clone();
    let r = post_book(&s, s.swedish_60, &start, &[("applies", "none")]).await;
    let answers = stored_answers(&s, &r).await;
    assert_eq!(answers.len(), question_ids().len());
    assert!(answers.values().all(|v| v == false), "{answers:?}");
}

#[tokio::test]
async fn some_apply_makes_the_ticked_answers_yes_and_the_rest_no() {
    let s = setup().await;
    let start = day_starts(&s.app, s.m.therapist_id, s.swedish_60).await[0].clone();
    let r = post_book(
        &s,
        s.swedish_60,
        &start,
        &[
            ("applies", "some"),
            ("q_pregnant", "yes"),
            ("q_herniated_disc", "yes"),
        ],
    )
    .await;
    let answers = stored_answers(&s, &r).await;
    assert_eq!(answers.len(), question_ids().len());
    let yes: Vec<&str> = answers
        .iter()
        .filter(|(_, v)| **v == true)
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(yes, ["herniated_disc", "pregnant"]);
}

#[tokio::test]
async fn some_apply_with_nothing_ticked_is_marked_on_the_checklist_and_books_nothing() {
    let s = setup().await;
    let start = day_starts(&s.app, s.m.therapist_id, s.swedish_60).await[0].clone();
    let r = post_book(&s, s.swedish_60, &start, &[("applies", "some")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    // The summary takes focus and links to the first checkbox.
    assert!(
        html.contains(
            r#"class="error-summary" role="alert" id="book-error" tabindex="-1" autofocus"#
        ),
        "{html}"
    );
    assert!(html.contains(r##"<a href="#q-unhealed_fracture">You chose “Some apply”"##));
    // The checklist and each box are marked and described by the message.
    assert!(html.contains(r#"<p class="field-error" id="checklist-error">"#));
    assert!(html.contains(
        r#"id="q-pregnant" aria-describedby="why-pregnant checklist-error" aria-invalid="true""#
    ));
    // The first choice is kept, and is not in error.
    assert!(html.contains(r#"value="some" id="applies-some" checked"#));
    assert!(!html.contains("applies-error"));
    let list = s
        .app
        .api_get("/api/v1/me/bookings", Some(&s.token))
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains("starts_at"), "nothing booked: {list}");
}

#[tokio::test]
async fn no_choice_is_marked_on_the_first_question_and_ticks_alone_say_some_apply() {
    let s = setup().await;
    let start = day_starts(&s.app, s.m.therapist_id, s.swedish_60).await[0].clone();
    let r = post_book(&s, s.swedish_60, &start, &[]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            r##"<a href="#applies-none">Choose “None of these apply to me” or “Some apply”.</a>"##
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"id="applies-none"  aria-invalid="true" aria-describedby="applies-error""#),
        "{html}"
    );
    assert!(!html.contains("checklist-error"));

    // Ticks without the first choice are read as "some apply".
    let r = post_book(&s, s.swedish_60, &start, &[("q_herniated_disc", "yes")]).await;
    let answers = stored_answers(&s, &r).await;
    assert_eq!(answers["herniated_disc"], true);
}

#[tokio::test]
async fn none_apply_with_ticks_is_refused_rather_than_a_yes_dropped() {
    let s = setup().await;
    let start = day_starts(&s.app, s.m.therapist_id, s.swedish_60).await[0].clone();
    let r = post_book(
        &s,
        s.swedish_60,
        &start,
        &[("applies", "none"), ("q_blood_thinners", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("but ticked 1"), "{html}");
    assert!(html.contains(r##"<a href="#q-blood_thinners">"##));
    // What was ticked is kept.
    assert!(html.contains(r#"id="q-blood_thinners" aria-describedby="why-blood_thinners checklist-error" aria-invalid="true" checked"#));
}

#[tokio::test]
async fn a_decline_keeps_the_time_for_the_suggested_service_and_carries_the_answers_over() {
    let s = setup().await;
    let start = day_starts(&s.app, s.m.therapist_id, s.m.service_id).await[0].clone();
    let r = post_book(
        &s,
        s.m.service_id,
        &start,
        &[("applies", "some"), ("q_pregnant", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let kept = cookie(&r, "bw_retry")
        .expect("the answers are kept for the next try")
        .to_string();
    assert!(
        kept.contains("HttpOnly") && kept.contains("Max-Age=7200"),
        "{kept}"
    );
    assert!(
        !kept.contains("pregnant") && !kept.contains("true"),
        "encrypted: {kept}"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("Deep tissue is not right for you today"));
    // Swedish 60 keeps the time: a link straight to its form at the same start.
    let same = book_url(s.m.therapist_id, s.swedish_60, &start).replace('&', "&amp;");
    assert!(
        html.contains(&format!(r#"href="{same}""#)),
        "{same} in {html}"
    );
    // No answer travels in an address.
    for a in addresses(&html) {
        for id in question_ids() {
            assert!(!a.contains(&id), "{a} carries {id}");
        }
        assert!(!a.contains("q_") && !a.contains("applies"), "{a}");
    }

    // The suggested service's form is filled in from the declined attempt.
    let r = get(&s, &book_url(s.m.therapist_id, s.swedish_60, &start)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("We filled in the answers you gave a moment ago."));
    assert!(html.contains(r#"value="some" id="applies-some" checked"#));
    assert!(html.contains(r#"id="q-pregnant" aria-describedby="why-pregnant" checked"#));
    assert!(!html.contains(r#"aria-describedby="why-fever" checked"#));

    // Booking it forgets them.
    let r = post_book(
        &s,
        s.swedish_60,
        &start,
        &[("applies", "some"), ("q_pregnant", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let gone = cookie(&r, "bw_retry").expect("removed").to_string();
    assert!(gone.contains("Max-Age=0"), "{gone}");
}

#[tokio::test]
async fn a_decline_says_plainly_when_the_time_is_not_free_and_offers_that_days_times() {
    let s = setup().await;
    // The last 60-minute start of the day (16:00): a 90-minute session would run past 17:00.
    let starts = day_starts(&s.app, s.m.therapist_id, s.m.service_id).await;
    let last = starts.last().unwrap().clone();
    let r = post_book(
        &s,
        s.m.service_id,
        &last,
        &[("applies", "some"), ("q_pregnant", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("is not free for this service. Free times that day"),
        "{html}"
    );
    let ninety_free = day_starts(&s.app, s.m.therapist_id, s.swedish_90).await;
    let wanted: DateTime<Utc> = last.parse().unwrap();
    let nearest = ninety_free
        .iter()
        .min_by_key(|t| {
            (t.parse::<DateTime<Utc>>().unwrap() - wanted)
                .num_seconds()
                .abs()
        })
        .unwrap();
    let link = book_url(s.m.therapist_id, s.swedish_90, nearest).replace('&', "&amp;");
    assert!(html.contains(&format!(r#"href="{link}""#)), "{link}");
    let offered = html
        .matches(&format!("service={}&amp;start=", s.swedish_90))
        .count();
    assert!((1..=12).contains(&offered), "{offered}");
    // Swedish 60 still keeps the time.
    let same = book_url(s.m.therapist_id, s.swedish_60, &last).replace('&', "&amp;");
    assert!(html.contains(&same));
}

#[tokio::test]
async fn the_self_check_kept_in_the_session_fills_in_the_booking_form() {
    let s = setup().await;
    let html = get(&s, "/screening").await.text().await.unwrap();
    let r = s
        .page
        .post(s.app.url("/screening"))
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("technique", "swedish"),
            ("applies", "some"),
            ("q_varicose_veins", "yes"),
            ("remember", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(cookie(&r, "bw_answers").is_some());
    let html = r.text().await.unwrap();
    assert!(html.contains("For Swedish: You can book once your healthcare practitioner has agreed"));
    assert!(!html.contains(": needs_clearance"));

    let start = day_starts(&s.app, s.m.therapist_id, s.swedish_60).await[0].clone();
    let html = get(&s, &book_url(s.m.therapist_id, s.swedish_60, &start))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("We filled in the answers of your self-check."));
    assert!(html.contains(r#"id="q-varicose_veins" aria-describedby="why-varicose_veins" checked"#));
    for a in addresses(&html) {
        assert!(!a.contains("varicose"), "{a}");
    }
}

#[tokio::test]
async fn outcome_pages_speak_only_of_what_was_answered() {
    let s = setup().await;
    let start = day_starts(&s.app, s.m.therapist_id, s.swedish_60).await[0].clone();
    let r = post_book(
        &s,
        s.swedish_60,
        &start,
        &[("applies", "some"), ("q_fever", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("Please see a healthcare provider first"));
    assert!(html.contains("A fever, chills or sweats"));
    let main = &html[html.find("<main").unwrap()..];
    for never_said in ["back pain", "bowel", "bladder", "numbness", "wakes you"] {
        assert!(
            !main.contains(never_said),
            "the page speaks of {never_said}"
        );
    }
}

#[tokio::test]
async fn the_clearance_box_is_a_marked_field_with_no_note_that_has_no_field() {
    let s = setup().await;
    let start = day_starts(&s.app, s.m.therapist_id, s.swedish_60).await[0].clone();
    let r = post_book(
        &s,
        s.swedish_60,
        &start,
        &[("applies", "some"), ("q_blood_thinners", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(r##"<a href="#clearance_confirmed">"##));
    assert!(html.contains(r#"id="clearance_confirmed" aria-invalid="true" aria-describedby="clearance-error clearance-hint""#));
    assert!(!html.contains("read the note"));
    let r = post_book(
        &s,
        s.swedish_60,
        &start,
        &[
            ("applies", "some"),
            ("q_blood_thinners", "yes"),
            ("clearance_confirmed", "yes"),
        ],
    )
    .await;
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let detail = get(&s, &to).await.text().await.unwrap();
    assert!(detail.contains("You can book once your healthcare practitioner has agreed"));
    assert!(!detail.contains("Result:"));
}

#[tokio::test]
async fn the_questionnaire_api_gives_the_groups_and_keeps_per_question_answers() {
    let app = spawn_app().await;
    let v: Value = app
        .api_get("/api/v1/screening/questionnaire", None)
        .await
        .json()
        .await
        .unwrap();
    let groups: Vec<&str> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        [
            "Urgent signs",
            "Conditions",
            "Medicines",
            "Pregnancy and skin"
        ]
    );
    let fever = v["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == "fever")
        .unwrap();
    assert_eq!(fever["group"], "urgent");
    assert_eq!(fever["label"], "Fever, chills or sweats");
    assert_eq!(fever["text"], "Do you have a fever, chills or sweats?");
}

#[tokio::test]
async fn the_api_decline_offers_the_same_alternatives_with_the_time_checked() {
    let s = setup().await;
    let starts = day_starts(&s.app, s.m.therapist_id, s.m.service_id).await;
    let last = starts.last().unwrap().clone();
    let r = crate::builders::book(&s.app, &s.token, &s.m, &last, &["pregnant"], false).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "screening_decline");
    assert_eq!(v["error"]["screening"]["outcome"], "decline");
    let alts = v["error"]["alternatives"].as_array().expect("alternatives");
    let by_id = |id: i64| alts.iter().find(|a| a["service_id"] == id).unwrap();
    assert_eq!(by_id(s.swedish_60)["same_time_free"], true);
    assert_eq!(by_id(s.swedish_60)["day_times"], serde_json::json!([]));
    let ninety = by_id(s.swedish_90);
    assert_eq!(ninety["same_time_free"], false);
    let times = ninety["day_times"].as_array().unwrap();
    assert!((1..=12).contains(&times.len()), "{ninety}");
}
