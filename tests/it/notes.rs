//! The therapist's clients and session notes (SOAP): the list with its visits, last and next
//! visit and search, a client's file, notes written once the appointment started and kept as
//! versions, who may read them (and the access log of each read), what admins and the raw
//! database never hold, the client's export and the erasure of their account.

use bodywork::models::appointment::Appointment;
use chrono::{Duration, SecondsFormat};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::builders::{
    appointment_at, csrf_from, database_text, named_client, new_client, open_therapist, page_login,
    scene, with_conn, write_notes, Scene, PASSWORD,
};

async fn body(r: reqwest::Response) -> Value {
    r.json().await.expect("json")
}

async fn code(r: reqwest::Response) -> String {
    let v = body(r).await;
    v["error"]["code"].as_str().unwrap_or_default().to_string()
}

fn starts(app: &crate::builders::TestApp, id: i64) -> String {
    let a = with_conn(app, |conn| {
        Appointment::find(conn, id).expect("appointment")
    });
    a.starts_at
        .and_utc()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn erase(app: &crate::builders::TestApp, token: &str) {
    let r = new_client()
        .delete(app.url("/api/v1/me"))
        .bearer_auth(token)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn clients_list_counts_visits_last_and_next_searches_and_pages() {
    let Scene { app, admin, m } = scene().await;
    let (ann, ann_token) = named_client(&app, "ann.archer@example.com", "Ann Archer").await;
    let (bob, _) = named_client(&app, "bob@example.org", "Bob Baker").await;
    let (carl, _) = named_client(&app, "carl@example.com", "Carl Cole").await;
    let d = Duration::days;
    // Ann: two visits (one completed, one confirmed and not marked), a no-show, a cancelled
    // one, and two to come: the requested one is the next.
    appointment_at(&app, &m, ann, -d(20), "completed");
    let last = appointment_at(&app, &m, ann, -d(3), "confirmed");
    appointment_at(&app, &m, ann, -d(5), "no_show");
    appointment_at(&app, &m, ann, -d(2), "cancelled");
    let next = appointment_at(&app, &m, ann, d(2), "requested");
    appointment_at(&app, &m, ann, d(9), "confirmed");
    appointment_at(&app, &m, ann, d(1), "cancelled");
    // Bob: a request nobody answered, now past: no visit, nothing next.
    appointment_at(&app, &m, bob, -d(1) - Duration::hours(3), "requested");
    // Carl booked another therapist only.
    let admin_id = with_conn(&app, |conn| {
        bodywork::models::user::User::find_by_email(conn, "admin@example.com")
            .expect("query")
            .expect("admin")
            .id
    });
    let other = open_therapist(&app, admin_id, "other@example.com", &["swedish"]).await;
    let carls = appointment_at(&app, &other, carl, -d(4), "completed");

    let r = app.api_get("/api/v1/me/clients", Some(&m.token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let list = body(r).await;
    assert_eq!(list["total"], 2, "{list}");
    let rows = list["results"].as_array().unwrap();
    assert_eq!(rows[0]["name"], "Ann Archer", "by name");
    assert_eq!(rows[0]["client_id"], ann);
    assert_eq!(rows[0]["email"], "ann.archer@example.com");
    assert_eq!(rows[0]["visits"], 2, "completed and confirmed-and-started");
    assert_eq!(rows[0]["last_visit"], starts(&app, last));
    assert_eq!(rows[0]["next_visit"], starts(&app, next));
    assert_eq!(rows[1]["name"], "Bob Baker");
    assert_eq!(rows[1]["visits"], 0);
    assert!(rows[1]["last_visit"].is_null() && rows[1]["next_visit"].is_null());

    // Search: part of the name in any letter case, or part of the email.
    for (q, want) in [
        ("ARCH", vec!["Ann Archer"]),
        ("example.org", vec!["Bob Baker"]),
        ("A", vec!["Ann Archer", "Bob Baker"]),
        ("carl", vec![]),
        ("%", vec![]),
    ] {
        let v = body(
            app.api_get(
                &format!("/api/v1/me/clients?q={}", urlencode(q)),
                Some(&m.token),
            )
            .await,
        )
        .await;
        let names: Vec<&str> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want, "q={q}");
        assert_eq!(v["total"], want.len(), "q={q}");
    }
    // Paging, the one policy.
    let v = body(
        app.api_get("/api/v1/me/clients?per_page=1&page=2", Some(&m.token))
            .await,
    )
    .await;
    assert_eq!(
        (v["total"].as_i64(), v["page"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(v["results"][0]["name"], "Bob Baker");
    for bad in ["page=0", "per_page=101", &format!("q={}", "x".repeat(201))] {
        let r = app
            .api_get(&format!("/api/v1/me/clients?{bad}"), Some(&m.token))
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // A client's file: their appointments with this therapist, newest first.
    let f = body(
        app.api_get(&format!("/api/v1/me/clients/{ann}"), Some(&m.token))
            .await,
    )
    .await;
    assert_eq!(f["name"], "Ann Archer");
    assert_eq!(f["visits"], 2);
    let appts = f["appointments"].as_array().unwrap();
    assert_eq!(appts.len(), 7);
    assert_eq!(appts[0]["status"], "confirmed", "the one in 9 days first");
    assert!(appts.iter().all(|a| a["has_notes"] == false));

    // A therapist sees only their own clients.
    for (token, id) in [(&m.token, carl), (&other.token, ann), (&m.token, 999_999)] {
        let r = app
            .api_get(&format!("/api/v1/me/clients/{id}"), Some(token))
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "client {id}");
    }
    let theirs = body(app.api_get("/api/v1/me/clients", Some(&other.token)).await).await;
    assert_eq!(theirs["total"], 1);
    assert_eq!(theirs["results"][0]["client_id"], carl);
    assert_eq!(theirs["results"][0]["last_visit"], starts(&app, carls));
    // Not for clients or admins.
    assert_eq!(
        app.api_get("/api/v1/me/clients", Some(&ann_token))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.api_get("/api/v1/me/clients", Some(&admin))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // Erased: the anonymised name, the upcoming bookings cancelled (nothing next).
    erase(&app, &ann_token).await;
    let v = body(app.api_get("/api/v1/me/clients", Some(&m.token)).await).await;
    let erased = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["client_id"] == ann)
        .expect("still a client")
        .clone();
    assert_eq!(erased["name"], "Deleted client");
    assert_eq!(erased["visits"], 2, "past sessions are kept");
    assert!(erased["next_visit"].is_null(), "{erased}");
    let v = body(
        app.api_get("/api/v1/me/clients?q=archer", Some(&m.token))
            .await,
    )
    .await;
    assert_eq!(v["total"], 0);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const S1: &str = "Client reports tightness in the left trapezius since Tuesday";
const P1: &str = "Return in two weeks; gentle stretches daily";
const S2: &str = "Left trapezius better; new stiffness in the lower back";
const A2: &str = "Lumbar paraspinals hypertonic after long drives";

#[tokio::test]
async fn notes_are_written_after_the_start_kept_as_versions_and_read_only_by_the_two_people() {
    let Scene { app, admin, m } = scene().await;
    let (client_id, client) = named_client(&app, "nora@example.com", "Nora Client").await;
    let (_, stranger) = named_client(&app, "sam@example.com", "Sam Stranger").await;
    let admin_id = with_conn(&app, |conn| {
        bodywork::models::user::User::find_by_email(conn, "admin@example.com")
            .expect("query")
            .expect("admin")
            .id
    });
    let other = open_therapist(&app, admin_id, "other@example.com", &["swedish"]).await;
    let past = appointment_at(&app, &m, client_id, -Duration::hours(2), "confirmed");
    let future = appointment_at(&app, &m, client_id, Duration::days(2), "confirmed");
    let cancelled = appointment_at(&app, &m, client_id, -Duration::days(2), "cancelled");
    let unanswered = appointment_at(&app, &m, client_id, -Duration::days(3), "requested");
    let put = |id: i64, token: &str, b: Value| {
        let (app, token) = (&app, token.to_string());
        async move {
            app.api_put(&format!("/api/v1/appointments/{id}/notes"), &token, b)
                .await
        }
    };
    let soap = json!({"subjective": S1, "plan": P1});

    // Only once it has started, never a cancelled one or an unanswered request.
    for (id, want) in [
        (future, "notes_before_start"),
        (cancelled, "notes_cancelled"),
        (unanswered, "notes_not_confirmed"),
    ] {
        let r = put(id, &m.token, soap.clone()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(code(r).await, want);
    }
    // Limits: at least one part, each at most 5,000 characters.
    let r = put(past, &m.token, json!({"subjective": " ", "plan": ""})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await["error"]["fields"]["subjective"].is_string());
    let r = put(
        past,
        &m.token,
        json!({"subjective": "ok", "objective": "x".repeat(5001)}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await["error"]["fields"]["objective"].is_string());
    let r = put(past, &m.token, json!({"subjective": "é".repeat(5000)})).await;
    assert_eq!(r.status(), StatusCode::OK, "5,000 characters fit");
    // Bad JSON is a 400, not a 500.
    let r = put(past, &m.token, json!({"subjective": 5})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Another therapist, another client, an admin: the notes do not exist.
    for token in [&other.token, &stranger, &admin, &client] {
        let r = put(past, token, soap.clone()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    // Two more versions: each appends.
    let v2 = write_notes(&app, &m.token, past, [S1, "", "", P1]).await;
    assert_eq!(v2["current"]["version"], 2);
    let v3 = write_notes(&app, &m.token, past, [S2, "", A2, ""]).await;
    assert_eq!(v3["current"]["version"], 3);
    assert_eq!(v3["current"]["subjective"], S2);
    assert_eq!(v3["current"]["plan"], "");
    let h = v3["history"].as_array().unwrap();
    assert_eq!(
        h.iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert_eq!(h[1]["subjective"], S1, "the earlier version is kept");
    assert_eq!(h[1]["plan"], P1);
    assert_eq!(h[1]["author"], "Open Therapist");
    assert!(h[1]["created_at"].as_str().unwrap().ends_with('Z'));

    // Two saves at once both land, one version after the other (or one is told to retry).
    let (a, b) = tokio::join!(
        put(past, &m.token, json!({"subjective": "race A"})),
        put(past, &m.token, json!({"subjective": "race B"}))
    );
    let ok = [a.status(), b.status()]
        .iter()
        .filter(|s| **s == StatusCode::OK)
        .count();
    assert!(
        [a.status(), b.status()]
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{} {}",
        a.status(),
        b.status()
    );
    assert!(ok >= 1);
    let now: Value = body(
        app.api_get(
            &format!("/api/v1/appointments/{past}/notes"),
            Some(&m.token),
        )
        .await,
    )
    .await;
    let versions: Vec<i64> = now["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, ((1..=3 + ok as i64).rev()).collect::<Vec<_>>());

    // The author's reads are not logged; the client's are, and the client sees them.
    let log = |app: &crate::builders::TestApp, client: String| {
        let app = app.url(&format!("/api/v1/appointments/{past}/access-log"));
        async move {
            let v: Value = new_client()
                .get(app)
                .bearer_auth(client)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v.as_array().unwrap().clone()
        }
    };
    assert!(
        log(&app, client.clone()).await.is_empty(),
        "author only so far"
    );
    let r = app
        .api_get(&format!("/api/v1/appointments/{past}/notes"), Some(&client))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let theirs = body(r).await;
    assert_eq!(theirs["current"]["assessment"], "");
    assert!(theirs["history"].as_array().unwrap().len() >= 4);
    let lines = log(&app, client.clone()).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["subject"], "notes");
    assert_eq!(lines[0]["reader"], "Nora Client");
    assert_eq!(lines[0]["channel"], "api");
    // Others: 404 for the notes.
    for token in [&other.token, &stranger, &admin] {
        let r = app
            .api_get(&format!("/api/v1/appointments/{past}/notes"), Some(token))
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(log(&app, client.clone()).await.len(), 1);
    // The client's file shows that notes exist.
    let f = body(
        app.api_get(&format!("/api/v1/me/clients/{client_id}"), Some(&m.token))
            .await,
    )
    .await;
    let line = f["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == past)
        .unwrap()
        .clone();
    assert_eq!(line["has_notes"], true);
    assert_eq!(line["note_versions"], 3 + ok as i64);

    // Admins: the API and the pages of an admin hold no note's text, nor does the audit log.
    let audit = app
        .api_get("/api/v1/admin/audit?per_page=100", Some(&admin))
        .await;
    assert_eq!(audit.status(), StatusCode::OK);
    let audit = audit.text().await.unwrap();
    assert!(audit.contains("appointment.notes"), "saving is audited");
    let therapist_id = m.therapist_id;
    let admin_page = page_login(&app, "admin@example.com").await;
    let mut seen = audit;
    for path in [
        "/admin".to_string(),
        "/admin/audit?per_page=100".to_string(),
        "/admin/bookings".to_string(),
        format!("/admin/therapists/{therapist_id}"),
        "/admin/outbox".to_string(),
    ] {
        let r = admin_page.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        seen.push_str(&r.text().await.unwrap());
    }
    for path in [
        format!("/api/v1/appointments/{past}"),
        format!("/api/v1/admin/therapists/{therapist_id}"),
        "/api/v1/admin/outbox".to_string(),
    ] {
        let r = app.api_get(&path, Some(&admin)).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        seen.push_str(&r.text().await.unwrap());
    }
    for text in [S1, P1, S2, A2, "race A"] {
        assert!(!seen.contains(text), "an admin saw {text:?}");
    }

    // The raw database holds no note in clear: only sealed text, with its key id.
    let raw = database_text(&app);
    assert!(raw.contains("[session_notes]"), "the dump covers the notes");
    for text in [S1, P1, S2, A2, "race A", "race B", "trapezius"] {
        assert!(!raw.contains(text), "{text:?} is stored in clear");
    }
    let key_ids: Vec<String> = with_conn(&app, |conn| {
        use bodywork::db::schema::session_notes;
        use diesel::prelude::*;
        session_notes::table
            .filter(session_notes::appointment_id.eq(past))
            .select(session_notes::key_id)
            .load(conn)
            .unwrap()
    });
    assert!(key_ids.len() >= 4 && key_ids.iter().all(|k| !k.is_empty()));
    // The rows are append-only: the database refuses an update of a version (only a key
    // rotation, which changes the key id with the sealed text, may seal it again).
    for sql in [
        "UPDATE session_notes SET sealed = 'x'",
        "UPDATE session_notes SET version = version + 100",
        "UPDATE session_notes SET key_id = 'x', created_at = created_at + INTERVAL '1 day'",
    ] {
        let sql = if app.db_url.backend_name() == "sqlite" {
            sql.replace("created_at + INTERVAL '1 day'", "'2001-01-01 00:00:00'")
        } else {
            sql.to_string()
        };
        let refused = with_conn(&app, |conn| {
            use diesel::prelude::*;
            diesel::sql_query(&sql).execute(conn)
        });
        assert!(refused.is_err(), "{sql}");
    }
}

#[tokio::test]
async fn the_clients_export_holds_the_notes_and_erasure_destroys_them() {
    let Scene { app, m, .. } = scene().await;
    let (client_id, client) = named_client(&app, "erin@example.com", "Erin Client").await;
    let past = appointment_at(&app, &m, client_id, -Duration::days(1), "completed");
    write_notes(&app, &m.token, past, [S1, "", "", P1]).await;
    write_notes(&app, &m.token, past, [S2, "", A2, ""]).await;

    let r = app.api_get("/api/v1/me/export", Some(&client)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let export = body(r).await;
    let appt = export["appointments_as_client"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == past)
        .expect("the appointment")
        .clone();
    let notes = appt["session_notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["version"], 2);
    assert_eq!(notes[0]["subjective"], S2);
    assert_eq!(notes[0]["assessment"], A2);
    assert_eq!(notes[1]["plan"], P1);
    assert_eq!(notes[1]["author"], "Open Therapist");
    let reads = appt["answers_read_by"].as_array().unwrap();
    assert!(
        reads
            .iter()
            .any(|r| r["subject"] == "notes" && r["channel"] == "export"),
        "the export's read is logged: {reads:?}"
    );

    erase(&app, &client).await;
    let left: i64 = with_conn(&app, |conn| {
        use bodywork::db::schema::session_notes;
        use diesel::prelude::*;
        session_notes::table
            .filter(session_notes::appointment_id.eq(past))
            .count()
            .get_result(conn)
            .unwrap()
    });
    assert_eq!(left, 0, "the notes are destroyed");
    let v = body(
        app.api_get(
            &format!("/api/v1/appointments/{past}/notes"),
            Some(&m.token),
        )
        .await,
    )
    .await;
    assert!(v["current"].is_null() && v["history"].as_array().unwrap().is_empty());
    let raw = database_text(&app);
    for text in [S1, S2, A2, P1] {
        assert!(!raw.contains(text));
    }
    // The therapist's record of the session stays, under the anonymised name.
    let f = body(
        app.api_get(&format!("/api/v1/me/clients/{client_id}"), Some(&m.token))
            .await,
    )
    .await;
    assert_eq!(f["name"], "Deleted client");
    assert_eq!(f["appointments"][0]["has_notes"], false);
}

#[tokio::test]
async fn the_pages_show_clients_and_notes_to_the_two_people_only() {
    let Scene { app, m, .. } = scene().await;
    let (client_id, _) = named_client(&app, "pia@example.com", "Pia Client").await;
    let (other_client, _) = named_client(&app, "quinn@example.com", "Quinn Other").await;
    let past = appointment_at(&app, &m, client_id, -Duration::hours(3), "confirmed");
    let future = appointment_at(&app, &m, client_id, Duration::days(3), "confirmed");
    appointment_at(&app, &m, other_client, -Duration::days(6), "completed");
    let therapist = page_login(&app, "t@example.com").await;

    // Before the start: no form, the reason instead.
    let html = therapist
        .get(app.url(&format!("/therapist/appointments/{future}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("once the appointment has started"));
    assert!(!html.contains("name=\"subjective\""));
    assert!(html.contains(&format!("href=\"/therapist/clients/{client_id}\"")));

    // After: the four labelled parts.
    let page = format!("/therapist/appointments/{past}");
    let r = therapist.get(app.url(&page)).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    for f in ["subjective", "objective", "assessment", "plan"] {
        assert!(
            html.contains(&format!("<label for=\"notes-{f}\">"))
                && html.contains(&format!("id=\"notes-{f}\" name=\"{f}\"")),
            "{f}"
        );
    }
    let csrf = csrf_from(&html);
    let post = |fields: Vec<(&'static str, String)>| {
        let (c, url, csrf) = (
            therapist.clone(),
            app.url(&format!("{page}/notes")),
            csrf.clone(),
        );
        async move {
            let mut all = fields;
            all.push(("csrf_token", csrf));
            c.post(url).form(&all).send().await.unwrap()
        }
    };
    // Blank: the page again, the message tied to the field.
    let r = post(vec![("subjective", " ".into())]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("aria-describedby=\"notes-subjective-error\""));
    assert!(html.contains("Write at least one of the four parts."));
    // Too long: what was typed comes back.
    let r = post(vec![
        ("subjective", "kept <b>as typed</b>".into()),
        ("plan", "p".repeat(5001)),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("kept &#60;b&#62;as typed&#60;/b&#62;")
            || html.contains("kept &lt;b&gt;as typed&lt;/b&gt;")
    );
    assert!(html.contains("notes-plan-error"));
    // Saved twice: the current one in the form, the earlier one in the history.
    let r = post(vec![("subjective", S1.into()), ("plan", P1.into())]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post(vec![("subjective", S2.into()), ("assessment", A2.into())]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = therapist
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!(">{S2}</textarea>")), "prefilled");
    assert!(html.contains("Earlier versions"));
    assert!(html.contains("Version 1,"));
    assert!(html.contains(P1), "the earlier version is readable");

    // The clients pages.
    let r = therapist
        .get(app.url("/therapist/clients?q=PIA"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("Pia Client") && !html.contains("Quinn Other"));
    assert!(html.contains("1 client matching"));
    let r = therapist
        .get(app.url(&format!("/therapist/clients?q={}", "x".repeat(201))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("aria-describedby=\"q-error\""));
    let html = therapist
        .get(app.url(&format!("/therapist/clients/{client_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(A2), "the notes written");
    assert!(html.contains(&format!("href=\"/therapist/appointments/{past}\"")));

    // Another therapist: 404 for the client and the appointment.
    let admin_id = with_conn(&app, |conn| {
        bodywork::models::user::User::find_by_email(conn, "admin@example.com")
            .expect("query")
            .expect("admin")
            .id
    });
    open_therapist(&app, admin_id, "other@example.com", &["swedish"]).await;
    let other = page_login(&app, "other@example.com").await;
    for path in [
        format!("/therapist/clients/{client_id}"),
        format!("/therapist/appointments/{past}"),
    ] {
        let r = other.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!r.text().await.unwrap().contains(S2));
    }
    let html = other
        .get(app.url(&format!("/therapist/appointments/{past}")))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), StatusCode::NOT_FOUND);
    let other_html = other
        .get(app.url("/therapist/appointments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&other_html);
    let r = other
        .post(app.url(&format!("{page}/notes")))
        .form(&[("subjective", "not mine"), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The client reads them on their booking page; the read is in their access log.
    let client = page_login(&app, "pia@example.com").await;
    let r = client
        .get(app.url(&format!("/bookings/{past}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains(S2) && html.contains(A2));
    assert!(html.contains("Pia Client read the session notes"), "{html}");
}

/// A server does not start with a key that cannot open the stored notes, nor make itself a new
/// key when the key file is gone (the notes would be lost for good), even without any answers.
#[tokio::test]
async fn a_server_refuses_a_key_that_cannot_open_the_stored_notes() {
    use bodywork::services::crypto::AnswerCipher;
    use bodywork::startup::Application;
    let Scene { app, m, .. } = scene().await;
    let (client_id, _) = named_client(&app, "kim@example.com", "Kim Client").await;
    let past = appointment_at(&app, &m, client_id, -Duration::days(1), "completed");
    write_notes(&app, &m.token, past, [S1, "", "", ""]).await;

    app.second_server();
    let mut wrong = app.settings.clone();
    wrong.addr = "127.0.0.1:0".into();
    wrong.answers_key = Some(bodywork::config::Secret::new(
        AnswerCipher::generate_key_base64(),
    ));
    let e = Application::build(wrong)
        .err()
        .expect("a wrong key is refused");
    assert!(
        e.to_string().contains(&format!(
            "version 1 of the session notes of appointment {past}"
        )),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("bodywork-answers.key");
    let mut lost = app.settings.clone();
    lost.addr = "127.0.0.1:0".into();
    lost.answers_key = None;
    lost.answers_key_file = gone.clone();
    let e = Application::build(lost)
        .err()
        .expect("a lost key is refused");
    assert!(
        e.to_string().contains("session notes but there is no key"),
        "{e}"
    );
    assert!(!gone.exists(), "no new key was made");
}
