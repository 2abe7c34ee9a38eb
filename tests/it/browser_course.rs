//! Browser journey of a course of therapy (fixtures in `builders::browser`): from the booking
//! page of a time three weeks before a daylight-saving change, the client opens "Book a
//! course from this time", asks for six weekly sessions, sees every one at 10:00 on the
//! therapist's clock, answers the health questions once and books; the course page shows the
//! six sessions at 10:00; the client cancels the course.

use thirtyfour::prelude::*;

use crate::builders::browser::{answer, browser, finish, log_in_as, press};
use crate::builders::{first_start_across_dst, open_therapist, set_course_policy, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_client_books_a_course_across_a_clock_change_and_cancels_it() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "maya@example.com", &["swedish"]).await;
    set_course_policy(&app, &m, 0, true).await;
    app.api_user("dana@example.com", "client").await;
    let first = first_start_across_dst(chrono_tz::America::New_York);
    let start = first.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    let result = async {
        log_in_as(&b, &app, "dana@example.com").await?;
        b.goto(app.url(&format!(
            "/book?therapist={}&service={}&start={}",
            m.therapist_id,
            m.service_id,
            start.replace('+', "%2B")
        )))
        .await?;
        b.query(By::LinkText("Book a course from this time"))
            .first()
            .await?
            .click()
            .await?;
        // Ten weekly sessions by default; six are asked for.
        assert_eq!(
            b.find_all(By::Css("[data-testid=series-row]")).await?.len(),
            10
        );
        let select = b.find(By::Id("sessions-choice")).await?;
        select
            .find(By::Css("option[value='6']"))
            .await?
            .click()
            .await?;
        press(&b, "Show the sessions").await?;
        // The page before the press is gone (its ten rows would otherwise still be counted).
        select.wait_until().stale().await?;
        b.query(By::Css("[data-testid=series-row]")).first().await?;
        let whens = b.find_all(By::Css("[data-testid=series-when]")).await?;
        assert_eq!(whens.len(), 6);
        for w in &whens {
            let text = w.text().await?;
            assert!(text.contains("10:00"), "{text}");
        }
        for s in b.find_all(By::Css("[data-testid=series-state]")).await? {
            assert_eq!(s.text().await?, "Free");
        }
        answer(&b, &[]).await?;
        press(&b, "Book the course").await?;
        let rows = b
            .query(By::Css("[data-testid=course-row]"))
            .wait(
                std::time::Duration::from_secs(10),
                std::time::Duration::from_millis(100),
            )
            .all_from_selector_required()
            .await?;
        assert_eq!(rows.len(), 6);
        for w in b.find_all(By::Css("[data-testid=course-when]")).await? {
            let text = w.text().await?;
            assert!(text.contains("10:00"), "{text}");
        }
        assert!(b.current_url().await?.path().starts_with("/courses/"));
        press(&b, "Cancel the course").await?;
        let done = b
            .query(By::Css("[data-testid=course-cancelled]"))
            .first()
            .await?;
        assert_eq!(done.text().await?, "This course was cancelled.");
        for s in b.find_all(By::Css("[data-testid=course-state]")).await? {
            let text = s.text().await?;
            assert!(text.contains("Cancelled"), "{text}");
        }
        Ok(())
    }
    .await;
    finish(b, result).await;
}
