//! Browser journeys of the short health form: a yes answer through "Some apply" (and the error
//! summary taking focus when nothing is ticked), and a decline whose suggested service keeps
//! the chosen time with the answers carried over.

use thirtyfour::prelude::*;

use crate::builders::browser::{answer, browser, finish, pick_first_slot, press, register};
use crate::builders::{open_therapist, spawn_app, with_service, Made, TestApp};

/// Maya: Deep tissue 60 min (`service_id`) and Swedish 60 min, open every day 09:00-17:00.
async fn maya(app: &TestApp) -> (Made, i64) {
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(
        app,
        admin_id,
        "maya@example.com",
        &["deep-tissue", "swedish"],
    )
    .await;
    let swedish = with_service(app, &m, "swedish", 60, 9000).await;
    (m, swedish)
}

async fn active_id(b: &WebDriver) -> WebDriverResult<String> {
    let v = b
        .execute("return document.activeElement.id;", Vec::new())
        .await?;
    Ok(v.json().as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_short_health_form_with_a_yes_answer_and_a_focused_error_summary() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (m, swedish) = maya(&app).await;
    let result = async {
        register(&b, &app, "Dana Client", "dana@example.com").await?;
        b.goto(app.url(&format!("/therapists/{}?service={swedish}", m.therapist_id)))
            .await?;
        pick_first_slot(&b).await?;
        // One choice first: the checklist waits until "Some apply" is chosen.
        let checklist = b.query(By::Id("checklist")).first().await?;
        assert!(
            !checklist.is_displayed().await?,
            "the checklist is folded away"
        );
        b.query(By::Id("applies-some"))
            .first()
            .await?
            .click()
            .await?;
        assert!(checklist.is_displayed().await?);
        assert!(
            !b.find(By::Css("[data-summary]"))
                .await?
                .is_displayed()
                .await?,
            "the short summary gives way to the checklist"
        );

        // "Some apply" with nothing ticked: the summary takes focus and links to the list.
        press(&b, "Book this time").await?;
        b.query(By::Id("book-error")).first().await?;
        assert_eq!(active_id(&b).await?, "book-error");
        let link = b
            .find(By::Css("#book-error a"))
            .await?
            .attr("href")
            .await?
            .unwrap_or_default();
        assert!(link.ends_with("#q-unhealed_fracture"), "{link}");
        let first = b.find(By::Id("q-unhealed_fracture")).await?;
        assert_eq!(first.attr("aria-invalid").await?.as_deref(), Some("true"));
        assert!(b.find(By::Id("checklist")).await?.is_displayed().await?);
        assert!(b.current_url().await?.path() == "/book");

        // A yes answer books, with the therapist's care noted.
        answer(&b, &["herniated_disc"]).await?;
        press(&b, "Book this time").await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.starts_with("Booking requested:"), "{flash}");
        let result = b
            .query(By::Css("[data-testid=screening-result]"))
            .first()
            .await?
            .text()
            .await?;
        assert!(
            result.starts_with("You can book; your therapist will take care"),
            "{result}"
        );
        Ok(())
    }
    .await;
    finish(b, result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_decline_offers_the_safer_service_at_the_same_time_with_the_answers_kept() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (m, _) = maya(&app).await;
    let result = async {
        register(&b, &app, "Priya Client", "priya@example.com").await?;
        b.goto(app.url(&format!(
            "/therapists/{}?service={}",
            m.therapist_id, m.service_id
        )))
        .await?;
        pick_first_slot(&b).await?;
        let when = b.find(By::Css("main .card strong")).await?.text().await?;
        answer(&b, &["pregnant"]).await?;
        press(&b, "Book this time").await?;
        b.query(By::XPath(
            "//h1[normalize-space()='Deep tissue is not right for you today']",
        ))
        .first()
        .await?;
        let same = b
            .query(By::Css("[data-testid=same-time]"))
            .first()
            .await?
            .text()
            .await?;
        assert!(same.contains(&when), "{same} / {when}");
        b.query(By::PartialLinkText("book it at the same time"))
            .first()
            .await?
            .click()
            .await?;

        // The same time, the answers filled in: nothing to pick or answer again.
        let h1 = b.query(By::Tag("h1")).first().await?.text().await?;
        assert!(h1.starts_with("Book Swedish with"), "{h1}");
        assert_eq!(
            b.find(By::Css("main .card strong")).await?.text().await?,
            when
        );
        b.query(By::Css("[data-testid=prefilled]")).first().await?;
        assert!(b.find(By::Id("applies-some")).await?.is_selected().await?);
        assert!(b.find(By::Id("q-pregnant")).await?.is_selected().await?);
        assert!(!b.current_url().await?.as_str().contains("pregnant"));
        press(&b, "Book this time").await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.starts_with("Booking requested:"), "{flash}");
        assert!(flash.contains(&when), "{flash} / {when}");
        Ok(())
    }
    .await;
    finish(b, result).await;
}
