//! Browser journey of the waitlist (fixtures in `builders::browser`): client A opens a full
//! day on the therapist's profile and asks to be told when a time comes free; client B
//! cancels; the worker mails A (read from the SMTP sink) a link that books that time; A
//! follows it and books it; A's waitlist page lists the entry and removes it.

use thirtyfour::prelude::*;

use crate::builders::browser::{answer, browser, finish, log_in_as, press};
use crate::builders::{book, one_slot_therapist, slots, some_day, spawn_mailing_app, SmtpSink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_client_waits_for_a_full_day_and_books_the_time_a_cancellation_frees() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = spawn_mailing_app(sink.url(), |_| {}).await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = one_slot_therapist(&app, admin_id).await;
    let day = some_day();
    let times = slots(&app, &m, day, day).await;
    let (_, bee) = app.api_user("b@example.com", "client").await;
    let r = book(&app, &bee, &m, &times[0], &[], false).await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let booked: serde_json::Value = r.json().await.unwrap();
    app.api_user("a@example.com", "client").await;

    let result = async {
        log_in_as(&b, &app, "a@example.com").await?;
        b.goto(app.url(&format!(
            "/therapists/{}?service={}&day={day}",
            m.therapist_id, m.service_id
        )))
        .await?;
        // The full day offers the waitlist, from that day to a week later.
        let form = b
            .query(By::Css("[data-testid=waitlist-form]"))
            .first()
            .await?;
        assert_eq!(
            b.find(By::Id("wait-from")).await?.value().await?.as_deref(),
            Some(day.to_string().as_str())
        );
        assert!(form.text().await?.contains("Tell me if a time comes free"));
        press(&b, "Tell me if a time comes free").await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.contains("waitlist"), "{flash}");
        assert_eq!(b.current_url().await?.path(), "/waitlist");
        let list = b
            .query(By::Css("[data-testid=waitlist]"))
            .first()
            .await?
            .text()
            .await?;
        assert!(list.contains("Open Therapist"), "{list}");

        // B cancels; the worker mails A the link to that time.
        let r = app
            .api_post(
                &format!("/api/v1/appointments/{}/cancel", booked["id"]),
                Some(&bee),
                serde_json::json!({"reason": ""}),
            )
            .await;
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let link = sink.link_to("a@example.com", &app.address, "/book").await;
        b.goto(app.url(&link)).await?;
        answer(&b, &[]).await?;
        press(&b, "Book this time").await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.starts_with("Booking requested:"), "{flash}");

        // The entry is removed from the waitlist page.
        b.query(By::LinkText("My waitlist"))
            .first()
            .await?
            .click()
            .await?;
        b.query(By::XPath(
            "//button[starts-with(normalize-space(), 'Remove')]",
        ))
        .first()
        .await?
        .click()
        .await?;
        b.query(By::Css("[data-testid=waitlist-empty]"))
            .first()
            .await?;
        Ok(())
    }
    .await;
    finish(b, result).await;
}
