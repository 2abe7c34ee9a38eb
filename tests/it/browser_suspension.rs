//! Browser journey of a suspension that takes effect: the therapist's open page session ends,
//! their login shows why and whom to write to, and the admin cancels the bookings left behind
//! from the therapist's page.

use reqwest::StatusCode;
use serde_json::{json, Value};
use thirtyfour::prelude::*;

use crate::builders::browser::{browser, finish, log_in_as, log_out, submit, type_into};
use crate::builders::{book, open_therapist, slots, some_day, spawn_app, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_suspended_therapist_is_logged_out_told_why_and_the_admin_cancels_their_bookings()
{
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, admin) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "maya@example.com", &["swedish"]).await;
    app.api_register_verified("dana@example.com", "Dana Client", "client")
        .await;
    let client = app.api_login("dana@example.com").await;
    let start = slots(&app, &m, some_day(), some_day()).await[2].clone();
    let r = book(&app, &client, &m, &start, &[], false).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let appt = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let result = async {
        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url("/therapist")).await?;
        b.query(By::Css("[data-testid=nav-user]")).first().await?;

        let r = app
            .api_post(
                &format!("/api/v1/admin/therapists/{}/suspend", m.therapist_id),
                Some(&admin),
                json!({"reason": "Complaint under review"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);

        // The open session ended: the next page asks to log in.
        b.goto(app.url("/therapist")).await?;
        b.query(By::Id("password")).first().await?;
        assert!(b.current_url().await?.path().starts_with("/login"));

        // Logging in shows why and whom to write to.
        type_into(&b, "email", "maya@example.com").await?;
        type_into(&b, "password", PASSWORD).await?;
        submit(&b).await?;
        let card = b.query(By::Css("[data-testid=suspended]")).first().await?;
        let text = card.text().await?;
        assert!(text.contains("Complaint under review"), "{text}");
        assert!(text.contains("admin@example.com"), "{text}");
        let h1 = b.find(By::Tag("h1")).await?.text().await?;
        assert_eq!(h1, "Your account is suspended");

        // The admin cancels the booking left behind, from the therapist's page.
        log_out(&b).await?;
        log_in_as(&b, &app, "admin@example.com").await?;
        b.goto(app.url(&format!("/admin/therapists/{}", m.therapist_id)))
            .await?;
        let row = b.query(By::Id(format!("upcoming-{appt}"))).first().await?;
        assert!(row.text().await?.contains("Dana Client"));
        // No reason: the error next to the field, nothing cancelled.
        let all = b.query(By::Css("[data-testid=cancel-all]")).first().await?;
        all.find(By::Css("button.danger")).await?.click().await?;
        let error = b.query(By::Id("cancel-all-reason-error")).first().await?;
        assert!(error.text().await?.contains("why"));
        type_into(&b, "cancel-all-reason", "Your therapist is unavailable.").await?;
        b.query(By::Css("[data-testid=cancel-all] button.danger"))
            .first()
            .await?
            .click()
            .await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert_eq!(flash, "1 booking cancelled; its client is mailed.");
        let html = b.source().await?;
        assert!(html.contains("No requested or confirmed appointments to come."));
        Ok(())
    }
    .await;
    finish(b, result).await;
}
