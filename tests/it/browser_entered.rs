//! Browser journey of a booking the therapist enters (fixtures in `builders::browser`): the
//! therapist enters one for a new person from the dashboard's link, the appointment says
//! "Screening pending"; the person answers through the mail's link without logging in; the
//! declined technique makes the booking wait for the therapist, who keeps it with another
//! service.

use thirtyfour::prelude::*;

use crate::builders::browser::{answer, browser, finish, log_in_as, log_out, press, type_into};
use crate::builders::{open_therapist, some_day, spawn_app, with_service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_therapist_enters_a_booking_the_client_answers_and_the_therapist_keeps_it() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    // Deep tissue first (the service the booking is entered with), Swedish to keep it with.
    let m = open_therapist(
        &app,
        admin_id,
        "maya@example.com",
        &["deep-tissue", "swedish"],
    )
    .await;
    let swedish = with_service(&app, &m, "swedish", 60, 9000).await;
    let day = some_day();

    let result = async {
        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url("/therapist")).await?;
        b.query(By::LinkText("Enter a booking"))
            .first()
            .await?
            .click()
            .await?;
        b.query(By::Id("step1-title")).first().await?;
        // The day's free times (the form's GET, as "Show the free times" sends it).
        b.goto(app.url(&format!(
            "/therapist/appointments/new?service={}&day={day}",
            m.service_id
        )))
        .await?;
        b.query(By::Css("input[name=starts_at]"))
            .first()
            .await?
            .click()
            .await?;
        type_into(&b, "client_email", "nora@example.com").await?;
        type_into(&b, "client_name", "Nora New").await?;
        type_into(&b, "note", "Phoned, asked for deep tissue.").await?;
        press(&b, "Book and mail the client").await?;
        // The appointment page: pending, and the note for the therapist.
        let pending = b
            .query(By::Css("[data-testid=screening-pending]"))
            .first()
            .await?;
        assert!(pending.text().await?.contains("Screening pending"));
        let page = b.source().await?;
        assert!(page.contains("Phoned, asked for deep tissue."));
        let id: i64 = b
            .current_url()
            .await?
            .path()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        log_out(&b).await?;

        // The person follows the mail's link without an account's login and answers.
        let link = app
            .mail_link(
                "nora@example.com",
                "screening_request",
                &format!("/bookings/{id}/screening"),
            )
            .await;
        b.goto(app.url(&link)).await?;
        b.query(By::Css("[data-testid=screening-what]"))
            .first()
            .await?;
        answer(&b, &["pregnant"]).await?;
        press(&b, "Send my answers").await?;
        let done = b
            .query(By::Css("[data-testid=screening-done]"))
            .first()
            .await?;
        assert!(done.text().await?.contains("your answers are recorded"));

        // The therapist decides: keep it with Swedish.
        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url(&format!("/therapist/appointments/{id}")))
            .await?;
        let decide = b
            .query(By::Css("[data-testid=needs-decision]"))
            .first()
            .await?;
        let choice = decide.find(By::Id("keep-service")).await?;
        assert_eq!(
            choice.value().await?.as_deref(),
            Some(swedish.to_string().as_str())
        );
        decide.find(By::Css("button")).await?.click().await?;
        decide.wait_until().stale().await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.starts_with("Kept with the new service"), "{flash}");
        assert!(b
            .find_all(By::Css("[data-testid=needs-decision]"))
            .await?
            .is_empty());
        let h1 = b.query(By::Css("h1")).first().await?.text().await?;
        assert!(h1.starts_with("Swedish"), "{h1}");
        Ok(())
    }
    .await;
    finish(b, result).await;
}
