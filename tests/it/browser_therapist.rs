//! Browser journeys of the therapist's day (fixtures in `builders::browser`): confirming and
//! declining requests from the dashboard, and the week grid placing a booking in its day's
//! column, at desktop and phone width.

use reqwest::StatusCode;
use serde_json::Value;
use thirtyfour::prelude::*;

use crate::builders::browser::{browser, finish, log_in_as};
use crate::builders::{book, open_therapist, slots, some_day, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_therapist_confirms_and_declines_from_the_dashboard_and_sees_the_week() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "maya@example.com", &["swedish"]).await;
    app.api_register_verified("dana@example.com", "Dana Client", "client")
        .await;
    let client = app.api_login("dana@example.com").await;
    let day = some_day();
    let mut ids = Vec::new();
    for (d, k) in [(day, 4), (day + chrono::Duration::days(1), 8)] {
        let start = slots(&app, &m, d, d).await[k].clone();
        let r = book(&app, &client, &m, &start, &[], false).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let (confirmed, declined) = (ids[0], ids[1]);

    let result = async {
        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url("/therapist")).await?;
        let count = |b: &WebDriver| {
            let b = b.clone();
            async move {
                b.query(By::Css("[data-testid=waiting-count]"))
                    .first()
                    .await?
                    .text()
                    .await
            }
        };
        assert_eq!(count(&b).await?, "2 requests wait for you to confirm");

        // Confirm the first from its card.
        let card = b
            .query(By::Id(format!("request-{confirmed}")))
            .first()
            .await?;
        assert!(card.text().await?.contains("Dana Client"));
        card.find(By::Css("button.primary")).await?.click().await?;
        // The dashboard comes back as a new page: wait for the old card to go.
        card.wait_until().stale().await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert_eq!(flash, "Confirmed.");
        assert_eq!(count(&b).await?, "1 request waits for you to confirm");

        // Decline the other with a reason: the form opens from its card.
        let card = b
            .query(By::Id(format!("request-{declined}")))
            .first()
            .await?;
        card.find(By::Css("details.decline summary"))
            .await?
            .click()
            .await?;
        card.find(By::Id(format!("reason-{declined}")))
            .await?
            .send_keys("Away at a course that day.")
            .await?;
        card.find(By::Css("button.danger")).await?.click().await?;
        card.wait_until().stale().await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert_eq!(flash, "Declined. The client sees your reason.");
        assert_eq!(count(&b).await?, "No requests wait for you");

        // The week grid: the confirmed booking in its day's column, the declined one gone.
        b.goto(app.url(&format!("/therapist/appointments?week={day}")))
            .await?;
        let column = b
            .query(By::Css(format!("[data-testid='day-{day}']")))
            .first()
            .await?;
        let block = column
            .find(By::Css(format!(
                "a[href='/therapist/appointments/{confirmed}']"
            )))
            .await?;
        assert!(block.text().await?.contains("Confirmed"));
        let head = column.find(By::Css(".cal-head")).await?.rect().await?;
        let rect = block.rect().await?;
        assert!(
            rect.x >= head.x - 3.0 && rect.x + rect.width <= head.x + head.width + 3.0,
            "the block {rect:?} sits under its day's heading {head:?}"
        );
        assert!(rect.y > head.y + head.height, "below the heading");
        assert!(
            b.find_all(By::Css(format!(
                ".cal a[href='/therapist/appointments/{declined}']"
            )))
            .await?
            .is_empty(),
            "a declined request is not on the grid"
        );
        let sunday = b
            .query(By::Css(".cal-day:last-of-type .cal-head"))
            .first()
            .await?
            .rect()
            .await?;
        let width: f64 = b
            .execute("return document.documentElement.clientWidth", vec![])
            .await?
            .convert()?;
        assert!(
            sunday.x + sunday.width <= width,
            "Sunday is not clipped: {sunday:?} in {width}"
        );
        let declined_line = b
            .query(By::XPath(
                "//section[@aria-labelledby='past-title']//li[contains(., 'Declined by you')]",
            ))
            .first()
            .await?
            .text()
            .await?;
        assert!(declined_line.contains("Away at a course that day."));

        // At phone width the days stack and nothing overflows sideways.
        b.set_window_rect(0, 0, 390, 844).await?;
        b.refresh().await?;
        let (scroll, client): (f64, f64) = (
            b.execute("return document.documentElement.scrollWidth", vec![])
                .await?
                .convert()?,
            b.execute("return document.documentElement.clientWidth", vec![])
                .await?
                .convert()?,
        );
        assert!(
            scroll <= client,
            "no sideways overflow: {scroll} > {client}"
        );
        let block = b
            .query(By::Css(format!(
                "[data-testid='day-{day}'] a[href='/therapist/appointments/{confirmed}']"
            )))
            .first()
            .await?;
        assert!(block.is_displayed().await?);
        Ok(())
    }
    .await;
    finish(b, result).await;
}
