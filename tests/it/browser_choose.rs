//! Browser journeys of choosing a time (fixtures in `builders::browser`): a time inside the
//! cancellation window is marked and booked only knowingly, a request is withdrawn, logging in
//! from a chosen time comes back to it, and at phone width the first free time and the first
//! search result are on the first screen; a viewer on another clock sees theirs beside the
//! therapist's.

use thirtyfour::prelude::*;

use crate::builders::browser::{
    answer, browser, browser_in_zone, finish, log_in_as, pick_first_slot, press, register,
};
use crate::builders::{book, scene, set_cancellation_window, some_day, Scene, PASSWORD};

/// The first element matching `css`: its bottom edge, the viewport's height, and the page's
/// width as laid out (for horizontal overflow).
async fn rect_of(b: &WebDriver, css: &str) -> WebDriverResult<(f64, f64, f64)> {
    let ret = b
        .execute(
            "const el = document.querySelector(arguments[0]);
             const r = el.getBoundingClientRect();
             return [r.bottom, window.innerHeight, document.documentElement.scrollWidth, window.innerWidth];",
            vec![serde_json::json!(css)],
        )
        .await?;
    let v = ret.json().as_array().cloned().unwrap_or_default();
    let n = |i: usize| v.get(i).and_then(|x| x.as_f64()).unwrap_or(f64::MAX);
    assert!(n(2) <= n(3), "no horizontal overflow: {v:?}");
    Ok((n(0), n(1), n(2)))
}

/// Time off from now to the end of the therapist's day (New York), unless the day's hours
/// (09:00-17:00) are over already.
async fn rest_of_today_off(s: &Scene) {
    use chrono::{Duration, TimeZone, Utc};
    let tz = chrono_tz::America::New_York;
    let now = Utc::now();
    let local = now.with_timezone(&tz);
    let end = tz
        .from_local_datetime(&local.date_naive().and_hms_opt(17, 0, 0).unwrap())
        .earliest()
        .unwrap();
    if end <= now + Duration::minutes(5) {
        return;
    }
    let r = s
        .app
        .api_post(
            "/api/v1/me/time-off",
            Some(&s.m.token),
            serde_json::json!({"starts_at": (now + Duration::minutes(1)).to_rfc3339(),
                               "ends_at": end.to_rfc3339(), "note": "rest of the day"}),
        )
        .await;
    assert_eq!(
        r.status(),
        reqwest::StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
}

async fn window_scene(hours: i32) -> Scene {
    let s = scene().await;
    set_cancellation_window(&s.app, &s.m, hours).await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_booking_inside_the_window_warns_and_needs_the_confirmation() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let s = window_scene(48).await;
    let result = async {
        register(&b, &s.app, "Dana Client", "dana@example.com").await?;
        b.goto(s.app.url(&format!("/therapists/{}", s.m.therapist_id)))
            .await?;
        let note = b.query(By::Id("late-note")).first().await?.text().await?;
        assert!(note.contains("48-hour cancellation window"), "{note}");
        b.query(By::Css("a.slot.late"))
            .first()
            .await?
            .click()
            .await?;
        let warning = b
            .query(By::Css("[data-testid=window-warning]"))
            .first()
            .await?
            .text()
            .await?;
        assert!(warning.contains("can't be cancelled online"), "{warning}");
        answer(&b, &[]).await?;
        press(&b, "Book this time").await?;
        // Not ticked: the form comes back with the message next to the box.
        let error = b
            .query(By::Id("window-error"))
            .first()
            .await?
            .text()
            .await?;
        assert!(error.contains("cancellation window"), "{error}");
        assert!(b.find_all(By::Css(".flash")).await?.is_empty());
        b.query(By::Id("window_acknowledged"))
            .first()
            .await?
            .click()
            .await?;
        answer(&b, &[]).await?;
        press(&b, "Book this time").await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.starts_with("Booking requested:"), "{flash}");
        let next = b
            .query(By::Css("[data-testid=what-next]"))
            .first()
            .await?
            .text()
            .await?;
        assert!(next.contains("at the latest"), "{next}");
        Ok(())
    }
    .await;
    finish(b, result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_client_withdraws_a_request() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let s = scene().await;
    let (_, client) = s.app.api_user("cleo@example.com", "client").await;
    let start = format!("{}T15:00:00Z", some_day());
    let r = book(&s.app, &client, &s.m, &start, &[], false).await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let result = async {
        log_in_as(&b, &s.app, "cleo@example.com").await?;
        b.goto(s.app.url(&format!("/bookings/{id}"))).await?;
        let contact = b
            .query(By::Css("[data-testid=what-next] a[href^='mailto:']"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(contact, "t@example.com");
        press(&b, "Withdraw request").await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert_eq!(flash, "Your request is withdrawn.");
        b.goto(s.app.url(&format!("/bookings/{id}"))).await?;
        let status = b
            .query(By::Css("[data-testid=status]"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(status, "Request withdrawn by you");
        Ok(())
    }
    .await;
    finish(b, result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_login_from_a_slot_says_what_for_and_comes_back_to_the_booking() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let s = scene().await;
    s.app.api_user("lee@example.com", "client").await;
    let result = async {
        b.goto(s.app.url(&format!("/therapists/{}", s.m.therapist_id)))
            .await?;
        b.query(By::Css("a.slot:not(.late)"))
            .first()
            .await?
            .click()
            .await?;
        let purpose = b
            .query(By::Css("[data-testid=purpose]"))
            .first()
            .await?
            .text()
            .await?;
        assert!(
            purpose.starts_with("Log in to book Swedish with Open Therapist, ")
                && purpose.contains(" New York time"),
            "{purpose}"
        );
        b.query(By::Id("email"))
            .first()
            .await?
            .send_keys("lee@example.com")
            .await?;
        b.query(By::Id("password"))
            .first()
            .await?
            .send_keys(PASSWORD)
            .await?;
        b.query(By::Css("main button[type=submit]"))
            .first()
            .await?
            .click()
            .await?;
        // Waits for the booking page itself: the login page's own heading may still be there
        // (and go stale) while the login is checked.
        b.query(By::XPath(
            "//h1[normalize-space()='Book Swedish with Open Therapist']",
        ))
        .first()
        .await?;
        assert!(b.current_url().await?.path().starts_with("/book"));
        Ok(())
    }
    .await;
    finish(b, result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_on_a_phone_the_first_free_time_and_the_first_result_are_on_the_first_screen() {
    // A viewer on the therapist's clock (New York): one on another clock reads one more line,
    // the difference between the two.
    let Some((_driver, b, _profile)) = browser_in_zone("America/New_York").await else {
        return;
    };
    let s = window_scene(24).await;
    // The longest first screen, at any hour the test runs: today has no free time left (a line
    // of its own above tomorrow's), and tomorrow's first times may be inside the window.
    rest_of_today_off(&s).await;
    let result = async {
        b.set_window_rect(0, 0, 390, 844).await?;
        b.goto(s.app.url(&format!("/therapists/{}", s.m.therapist_id)))
            .await?;
        let (bottom, screen, _) = rect_of(&b, "a.slot").await?;
        assert!(
            bottom <= screen,
            "first free time ends at {bottom}, screen {screen}"
        );
        // The sticky Book action is on screen too.
        let (bottom, screen, _) = rect_of(&b, "[data-testid=sticky-book] a").await?;
        assert!(bottom <= screen, "Book at {bottom}, screen {screen}");

        b.goto(s.app.url("/therapists?near=Boston")).await?;
        let (bottom, screen, _) = rect_of(&b, "[data-testid=hit] h3").await?;
        assert!(
            bottom <= screen,
            "first result ends at {bottom}, screen {screen}"
        );
        // The filters wait behind one button that says how many results there are.
        let summary = b
            .query(By::Css("[data-testid=filter-fold] summary"))
            .first()
            .await?;
        assert_eq!(summary.text().await?, "Filters · 1 therapist");
        assert!(
            !b.query(By::Id("near"))
                .first()
                .await?
                .is_displayed()
                .await?
        );
        summary.click().await?;
        assert!(
            b.query(By::Id("near"))
                .first()
                .await?
                .is_displayed()
                .await?
        );
        Ok(())
    }
    .await;
    finish(b, result).await;
}

/// The viewer's clock, by script, beside the therapist's: on the profile and on the booking,
/// only when the browser's zone differs (Asia/Kolkata: no daylight saving, a half-hour offset).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_viewer_on_another_clock_sees_their_time_beside_the_therapists() {
    let Some((_driver, b, _profile)) = browser_in_zone("Asia/Kolkata").await else {
        return;
    };
    let s = scene().await;
    let profile = s.app.url(&format!("/therapists/{}", s.m.therapist_id));
    let mut therapist_zone = String::new();
    let result = async {
        register(&b, &s.app, "Dana Client", "dana@example.com").await?;
        b.goto(&profile).await?;
        let note = b.query(By::Css(".viewer-zone")).first().await?;
        therapist_zone = note.attr("data-zone").await?.unwrap_or_default();
        assert_ne!(therapist_zone, "Asia/Kolkata");
        assert!(note.is_displayed().await?, "shown on another clock");
        let text = note.text().await?;
        assert!(
            // Chromium names the zone by its older name, Asia/Calcutta.
            text.contains("(Asia/") && text.ends_with("30 minutes ahead."),
            "{text} (therapist in {therapist_zone})"
        );
        pick_first_slot(&b).await?;
        answer(&b, &[]).await?;
        press(&b, "Book this time").await?;
        let mine = b.query(By::Css(".card .viewer-time")).first().await?;
        assert!(mine.is_displayed().await?);
        let text = mine.text().await?;
        assert!(text.ends_with("your time)"), "{text}");
        Ok(())
    }
    .await;
    finish(b, result).await;

    // On the therapist's own clock nothing is added.
    let Some((_driver, b, _profile)) = browser_in_zone(&therapist_zone).await else {
        return;
    };
    let result = async {
        b.goto(&profile).await?;
        let note = b.query(By::Css(".viewer-zone")).first().await?;
        assert!(!note.is_displayed().await?, "hidden on the same clock");
        Ok(())
    }
    .await;
    finish(b, result).await;
}
