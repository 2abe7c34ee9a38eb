//! Reviews of completed appointments: who may write one and when, the therapist's one reply,
//! an admin hiding one (audited; its author still sees it, marked), the public list with
//! authors as first name and initial, the rating in search (`rating_avg`, `rating_count`,
//! `min_rating`, `sort=rating`), what the database refuses (one review per appointment, one
//! reply per review, even at once), and the pages.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    appointment_at, csrf_from, make_therapist, named_client, page_login, scene, with_conn, Made,
    Scene, Spec, TestApp,
};

async fn body(r: reqwest::Response) -> Value {
    r.json().await.expect("json")
}

async fn review(app: &TestApp, token: &str, appt: i64, b: Value) -> reqwest::Response {
    app.api_post(
        &format!("/api/v1/appointments/{appt}/review"),
        Some(token),
        b,
    )
    .await
}

async fn reviews_of(app: &TestApp, therapist: i64, token: Option<&str>) -> Value {
    let r = app
        .api_get(&format!("/api/v1/therapists/{therapist}/reviews"), token)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    body(r).await
}

async fn listing(app: &TestApp, query: &str) -> Value {
    let r = app
        .api_get(&format!("/api/v1/therapists?verified=any&{query}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{query}");
    body(r).await
}

fn hit(v: &Value, id: i64) -> &Value {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .unwrap_or_else(|| panic!("no hit {id} in {v}"))
}

/// The whole life of a review on the API: the client reviews their completed appointment
/// (the therapist marked it completed), the therapist replies once, it is public with the
/// author as first name and initial and counts in search, an admin hides it (audited): the
/// public and the search no longer see it, its author still does, marked hidden with why.
#[tokio::test]
async fn a_review_lives_written_replied_shown_and_hidden() {
    let Scene { app, admin, m } = scene().await;
    let (client, token) = named_client(&app, "maria@example.com", "Maria de la Garza").await;
    let appt = appointment_at(&app, &m, client, -Duration::days(2), "confirmed");
    // Before the therapist marks it completed, it takes no review.
    let r = review(&app, &token, appt, json!({"rating": 5, "text": "Lovely"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(r).await["error"]["code"], "review_not_completed");
    let r = app
        .api_post(
            &format!("/api/v1/appointments/{appt}/complete"),
            Some(&m.token),
            json!({}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    let text = "  Firm pressure, <b>calm</b> room & very attentive.  ";
    let r = review(&app, &token, appt, json!({"rating": 4, "text": text})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created = body(r).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["rating"], 4);
    assert_eq!(created["text"], text.trim(), "trimmed, kept as written");
    assert_eq!(created["author"], "Maria G.");
    assert!(created["reply"].is_null());
    assert!(created.get("screening").is_none() && created.get("outcome").is_none());

    // Once only.
    let r = review(&app, &token, appt, json!({"rating": 1})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(body(r).await["error"]["code"], "review_exists");

    // The therapist replies once; another therapist cannot.
    let reply_path = format!("/api/v1/reviews/{id}/reply");
    let r = app
        .api_post(&reply_path, Some(&m.token), json!({"text": "  "}))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await["error"]["fields"]["text"].is_string());
    let r = app
        .api_post(
            &reply_path,
            Some(&m.token),
            json!({"text": "Thank you, Maria!"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(body(r).await["reply"]["text"], "Thank you, Maria!");
    let r = app
        .api_post(&reply_path, Some(&m.token), json!({"text": "Again"}))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(body(r).await["error"]["code"], "review_already_replied");
    let (other_admin_id, _) = app.api_admin("admin2@example.com").await;
    let other = make_therapist(
        &app,
        other_admin_id,
        Spec {
            email: "other@example.com",
            name: "Other Therapist",
            ..Default::default()
        },
    )
    .await;
    let r = app
        .api_post(&reply_path, Some(&other.token), json!({"text": "Hi"}))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Public: the list, the profile and the search carry it.
    let list = reviews_of(&app, m.therapist_id, None).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["results"][0]["author"], "Maria G.");
    assert_eq!(list["results"][0]["reply"]["text"], "Thank you, Maria!");
    assert!(list["results"][0].get("hidden").is_none());
    let found = listing(&app, "").await;
    assert_eq!(hit(&found, m.therapist_id)["rating_avg"], 4.0);
    assert_eq!(hit(&found, m.therapist_id)["rating_count"], 1);
    assert!(hit(&found, other.therapist_id)["rating_avg"].is_null());
    let profile = body(
        app.api_get(&format!("/api/v1/therapists/{}", m.therapist_id), None)
            .await,
    )
    .await;
    assert_eq!(profile["rating_count"], 1);

    // An admin hides it, with a reason; not twice; the audit log says so.
    let hide_path = format!("/api/v1/admin/reviews/{id}/hide");
    let r = app
        .api_post(&hide_path, Some(&token), json!({"reason": "x"}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .api_post(&hide_path, Some(&admin), json!({"reason": ""}))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .api_post(
            &hide_path,
            Some(&admin),
            json!({"reason": "Names another client"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let hidden = body(r).await;
    assert_eq!(hidden["hidden"], true);
    assert_eq!(hidden["hidden_reason"], "Names another client");
    let r = app
        .api_post(&hide_path, Some(&admin), json!({"reason": "Again"}))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let audit = body(
        app.api_get("/api/v1/admin/audit?action=review.hide", Some(&admin))
            .await,
    )
    .await;
    let audit_text = audit.to_string();
    assert!(audit_text.contains("review.hide"), "{audit_text}");

    // The public, the therapist and the search no longer see it; its author does, marked.
    let list = reviews_of(&app, m.therapist_id, None).await;
    assert_eq!(list["total"], 0);
    let list = reviews_of(&app, m.therapist_id, Some(&m.token)).await;
    assert_eq!(list["total"], 0);
    let mine = reviews_of(&app, m.therapist_id, Some(&token)).await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["results"][0]["hidden"], true);
    assert_eq!(mine["results"][0]["hidden_reason"], "Names another client");
    let found = listing(&app, "").await;
    assert!(hit(&found, m.therapist_id)["rating_avg"].is_null());
    assert_eq!(hit(&found, m.therapist_id)["rating_count"], 0);
    // Admins see every review, hidden ones marked.
    let all = body(app.api_get("/api/v1/admin/reviews", Some(&admin)).await).await;
    assert_eq!(all["results"][0]["hidden"], true);
}

/// Only the client of a completed appointment reviews it, within 90 days of its end, with
/// 1 to 5 stars and at most 2,000 characters; the client's address must be verified.
#[tokio::test]
async fn who_may_review_what_and_the_limits() {
    let Scene { app, admin: _, m } = scene().await;
    let (ann, ann_token) = named_client(&app, "ann@example.com", "Ann Archer").await;
    let (_bob, bob_token) = named_client(&app, "bob@example.com", "Bob Baker").await;
    let done = appointment_at(&app, &m, ann, -Duration::days(10), "completed");
    let old = appointment_at(&app, &m, ann, -Duration::days(92), "completed");
    let cancelled = appointment_at(&app, &m, ann, -Duration::days(3), "cancelled");
    let no_show = appointment_at(&app, &m, ann, -Duration::days(4), "no_show");
    let ok = json!({"rating": 5, "text": "Good"});

    let r = review(&app, &bob_token, done, ok.clone()).await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "another client's appointment"
    );
    let r = review(&app, &m.token, done, ok.clone()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a therapist");
    let r = review(&app, &ann_token, old, ok.clone()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(r).await["error"]["code"], "review_too_late");
    for appt in [cancelled, no_show] {
        let r = review(&app, &ann_token, appt, ok.clone()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body(r).await["error"]["code"], "review_not_completed");
    }
    for (b, field) in [
        (json!({"rating": 0}), "rating"),
        (json!({"rating": 6}), "rating"),
        (json!({"rating": "five"}), "rating"),
        (json!({"rating": 4.5}), "rating"),
        (json!({"rating": null}), "rating"),
        (json!({"text": "no stars"}), "rating"),
        (json!({"rating": 3, "text": "é".repeat(2001)}), "text"),
    ] {
        let r = review(&app, &ann_token, done, b.clone()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(body(r).await["error"]["fields"][field].is_string(), "{b}");
    }
    let r = review(&app, &ann_token, done, json!({"rating": "x"})).await;
    assert_ne!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let r = review(
        &app,
        &ann_token,
        done,
        json!({"rating": 3, "text": "é".repeat(2000)}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "2,000 characters fit");
    let r = app
        .api_get(
            &format!("/api/v1/therapists/{}/reviews?per_page=101", m.therapist_id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.api_get("/api/v1/therapists/999999/reviews", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // An unverified client may not review.
    let unverified = app
        .api_register("carl@example.com", "Carl Cole", "client")
        .await;
    let carl = unverified["user"]["id"].as_i64().unwrap();
    let carl_token = app.api_login("carl@example.com").await;
    let carl_appt = appointment_at(&app, &m, carl, -Duration::days(1), "completed");
    let r = review(&app, &carl_token, carl_appt, ok).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(r).await["error"]["code"], "email_unverified");
}

/// Pages of reviews, newest first, `per_page` as asked.
#[tokio::test]
async fn the_public_list_is_paged_newest_first() {
    let Scene { app, admin: _, m } = scene().await;
    let (ann, token) = named_client(&app, "ann@example.com", "Ann").await;
    for (days, stars) in [(30, 1), (20, 2), (10, 3)] {
        let a = appointment_at(&app, &m, ann, -Duration::days(days), "completed");
        let r = review(&app, &token, a, json!({"rating": stars})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = app
        .api_get(
            &format!(
                "/api/v1/therapists/{}/reviews?per_page=2&page=2",
                m.therapist_id
            ),
            None,
        )
        .await;
    let v = body(r).await;
    assert_eq!(v["total"], 3);
    assert_eq!(v["page"], 2);
    let ratings: Vec<i64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rating"].as_i64().unwrap())
        .collect();
    assert_eq!(ratings, vec![1], "the oldest is last");
    assert_eq!(v["results"][0]["author"], "Ann", "one name stays as it is");
}

async fn rated(
    app: &TestApp,
    admin_id: i64,
    email: &'static str,
    name: &'static str,
    stars: &[i64],
) -> Made {
    let t = make_therapist(
        app,
        admin_id,
        Spec {
            email,
            name,
            ..Default::default()
        },
    )
    .await;
    for (i, s) in stars.iter().enumerate() {
        let client_email = format!("c{i}.{email}");
        let (c, token) = named_client(app, &client_email, "Client Person").await;
        let a = appointment_at(app, &t, c, -Duration::days(3), "completed");
        let r = review(app, &token, a, json!({"rating": s})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    t
}

fn names(v: &Value) -> Vec<&str> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

/// `min_rating` keeps therapists whose average reaches it (none without reviews), and
/// `sort=rating` puts the best average first, then more reviews, then those without; the page
/// offers both and each card says the rating.
#[tokio::test]
async fn search_filters_and_sorts_by_rating_on_the_api_and_the_page() {
    let Scene {
        app,
        admin: _,
        m: _,
    } = scene().await;
    let (admin_id, _) = app.api_admin("ratings@example.com").await;
    rated(&app, admin_id, "a@x.com", "Ann Five", &[5]).await;
    rated(&app, admin_id, "b@x.com", "Bea FiveTwice", &[5, 5]).await;
    rated(&app, admin_id, "c@x.com", "Cal Four", &[4, 5, 3]).await;
    rated(&app, admin_id, "d@x.com", "Dee Three", &[3]).await;
    for (query, expected) in [
        ("sort=rating&q=five", vec!["Bea FiveTwice", "Ann Five"]),
        (
            "sort=rating&min_rating=4",
            vec!["Bea FiveTwice", "Ann Five", "Cal Four"],
        ),
        (
            "sort=rating&min_rating=4.5&near=Boston",
            vec!["Bea FiveTwice", "Ann Five"],
        ),
        ("min_rating=5&sort=hours", vec!["Ann Five", "Bea FiveTwice"]),
    ] {
        let v = listing(&app, query).await;
        let mut got = names(&v);
        if query.contains("sort=hours") {
            got.sort();
        }
        assert_eq!(got, expected, "{query}");
    }
    // Without a filter, those without reviews come last in the rating sort.
    let v = listing(&app, "sort=rating").await;
    let got = names(&v);
    assert_eq!(
        &got[..4],
        ["Bea FiveTwice", "Ann Five", "Cal Four", "Dee Three"]
    );
    assert!(got[4..].iter().all(|n| !n.is_empty()));
    let cal = v["results"].as_array().unwrap()[2].clone();
    assert_eq!(cal["rating_avg"], 4.0);
    assert_eq!(cal["rating_count"], 3);
    for bad in ["0", "5.5", "x", "NaN"] {
        let r = app
            .api_get(&format!("/api/v1/therapists?min_rating={bad}"), None)
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(body(r).await["error"]["fields"]["min_rating"].is_string());
    }
    let r = app.api_get("/api/v1/therapists?sort=stars", None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let page = app
        .get_html("/therapists?verified=any&min_rating=4.5&sort=rating")
        .await;
    assert!(
        page.contains("Bea FiveTwice") && !page.contains("Cal Four"),
        "{page}"
    );
    assert!(page.contains(r#"<option value="4.5" selected>"#), "{page}");
    assert!(page.contains(r#"<option value="rating" selected>Best rated</option>"#));
    assert!(page.contains("5 out of 5 (2 reviews)"), "{page}");
    let r = app.get("/therapists?min_rating=9").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="min_rating-error""#));
}

/// Two reviews of one appointment at once, and two replies to one review at once: the
/// database takes one of each and the other is answered 409; raw SQL cannot add a second
/// either, nor a review of an appointment that is not completed or a sixth star.
#[tokio::test]
async fn the_database_keeps_one_review_per_appointment_and_one_reply_per_review() {
    let Scene { app, admin: _, m } = scene().await;
    let (ann, token) = named_client(&app, "ann@example.com", "Ann Archer").await;
    let appt = appointment_at(&app, &m, ann, -Duration::days(1), "completed");
    let (a, b) = tokio::join!(
        review(&app, &token, appt, json!({"rating": 5})),
        review(&app, &token, appt, json!({"rating": 4})),
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    let list = reviews_of(&app, m.therapist_id, None).await;
    assert_eq!(list["total"], 1);
    let id = list["results"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/reviews/{id}/reply");
    let (a, b) = tokio::join!(
        app.api_post(&path, Some(&m.token), json!({"text": "One"})),
        app.api_post(&path, Some(&m.token), json!({"text": "Two"})),
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);

    let confirmed = appointment_at(&app, &m, ann, -Duration::days(1), "confirmed");
    with_conn(&app, |conn| {
        use diesel::RunQueryDsl;
        let now = "CURRENT_TIMESTAMP";
        for (what, sql) in [
            ("a second review", format!("INSERT INTO reviews (appointment_id, therapist_id, client_id, rating, body, created_at) VALUES ({appt}, {}, {ann}, 3, '', {now})", m.therapist_id)),
            ("a review of an appointment not completed", format!("INSERT INTO reviews (appointment_id, therapist_id, client_id, rating, body, created_at) VALUES ({confirmed}, {}, {ann}, 3, '', {now})", m.therapist_id)),
            ("a second reply", format!("INSERT INTO review_replies (review_id, author_user_id, body, created_at) VALUES ({id}, {ann}, 'x', {now})")),
            ("six stars", format!("UPDATE reviews SET rating = 6 WHERE id = {id}")),
            ("an edited rating", format!("UPDATE reviews SET rating = 1 WHERE id = {id}")),
            ("a hiding without a reason", format!("UPDATE reviews SET hidden_at = {now} WHERE id = {id}")),
        ] {
            assert!(diesel::sql_query(sql).execute(conn).is_err(), "{what} was stored");
        }
    });
}

/// The pages: the completed booking offers a review form (stars as radio buttons), whose
/// errors stand next to their field; the profile shows the average, the count and the
/// reviews, the text escaped; the therapist's reviews page replies; the admin's hides.
#[tokio::test]
async fn the_pages_review_reply_show_and_hide() {
    let Scene { app, admin: _, m } = scene().await;
    let (ann, _) = named_client(&app, "ann@example.com", "Ann Archer").await;
    let appt = appointment_at(&app, &m, ann, -Duration::days(1), "completed");
    let client = page_login(&app, "ann@example.com").await;
    let detail = client
        .get(app.url(&format!("/bookings/{appt}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(detail.contains("Leave a review"), "{detail}");
    let form_path = format!("/bookings/{appt}/review");
    let form = client
        .get(app.url(&form_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains(r#"type="radio" id="rating-5" name="rating" value="5""#),
        "{form}"
    );
    let csrf = csrf_from(&form);
    let r = client
        .post(app.url(&form_path))
        .form(&[("csrf_token", csrf.as_str()), ("text", "No stars")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(r#"id="rating-error""#) && page.contains("No stars"),
        "{page}"
    );
    let r = client
        .post(app.url(&form_path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("rating", "5"),
            ("text", "<script>alert(1)</script> Great"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let profile = app
        .get_html(&format!("/therapists/{}", m.therapist_id))
        .await;
    assert!(profile.contains("5 out of 5 from 1 review"), "{profile}");
    assert!(profile.contains("Ann A."));
    assert!(
        profile.contains("&#60;script&#62;alert(1)&#60;/script&#62; Great"),
        "escaped as written"
    );
    assert!(!profile.contains("<script>alert(1)"));

    let therapist = page_login(&app, "t@example.com").await;
    let mine = therapist
        .get(app.url("/therapist/reviews"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        mine.contains(r#"href="/therapist/reviews" aria-current="page""#),
        "{mine}"
    );
    let id = with_conn(&app, |conn| {
        use bodywork::db::schema::reviews;
        use diesel::prelude::*;
        reviews::table
            .select(reviews::id)
            .first::<i64>(conn)
            .unwrap()
    });
    let csrf = csrf_from(&mine);
    let reply_path = format!("/therapist/reviews/{id}/reply");
    let r = therapist
        .post(app.url(&reply_path))
        .form(&[("csrf_token", csrf.as_str()), ("text", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains(&format!(r#"id="reply-{id}-error""#)));
    therapist
        .post(app.url(&reply_path))
        .form(&[("csrf_token", csrf.as_str()), ("text", "Thanks Ann")])
        .send()
        .await
        .unwrap();
    let profile = app
        .get_html(&format!("/therapists/{}", m.therapist_id))
        .await;
    assert!(profile.contains("Thanks Ann"));
    // A second reply (from a page opened before the first) is refused beside the review.
    let r = therapist
        .post(app.url(&reply_path))
        .form(&[("csrf_token", csrf.as_str()), ("text", "Thanks again")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let again = r.text().await.unwrap();
    assert!(
        again.contains(&format!(r#"role="alert" id="reply-{id}-error""#)),
        "{again}"
    );

    let admin = page_login(&app, "admin@example.com").await;
    let list = admin
        .get(app.url("/admin/reviews"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&list);
    let hide_path = format!("/admin/reviews/{id}/hide");
    let r = admin
        .post(app.url(&hide_path))
        .form(&[("csrf_token", csrf.as_str()), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains(&format!(r#"id="reason-{id}-error""#)));
    admin
        .post(app.url(&hide_path))
        .form(&[("csrf_token", csrf.as_str()), ("reason", "Off topic")])
        .send()
        .await
        .unwrap();
    let profile = app
        .get_html(&format!("/therapists/{}", m.therapist_id))
        .await;
    assert!(!profile.contains("Thanks Ann") && profile.contains("No reviews yet"));
    let r = admin
        .post(app.url(&hide_path))
        .form(&[("csrf_token", csrf.as_str()), ("reason", "Twice")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let again = r.text().await.unwrap();
    assert!(
        again.contains(&format!(r#"role="alert" id="reason-{id}-error""#)),
        "{again}"
    );
    let own = client
        .get(app.url(&format!("/therapists/{}", m.therapist_id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        own.contains("Hidden by an admin") && own.contains("Off topic"),
        "{own}"
    );
}
