//! Browser journey of a review's life (fixtures in `builders::browser`): the client reviews
//! their completed session from the booking page (the stars are radio buttons), the therapist
//! replies from the area's Reviews page, the review and the reply show on the public profile
//! with the average, an admin hides it with a reason, the public no longer sees it, and its
//! author sees it marked hidden with the reason.

use chrono::Duration;
use thirtyfour::prelude::*;

use crate::builders::browser::{browser, finish, log_in_as, log_out, press, type_into};
use crate::builders::{appointment_at, named_client, open_therapist, spawn_app};

const TEXT: &str = "Gentle but firm; my neck moves freely again.";
const REPLY: &str = "Thank you Dana, see you next month!";
const REASON: &str = "Mentions a health condition";

async fn text_of(b: &WebDriver, css: &str) -> WebDriverResult<String> {
    b.query(By::Css(css)).first().await?.text().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_review_is_written_replied_shown_hidden_and_still_seen_by_its_author() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "maya@example.com", &["swedish"]).await;
    let (dana, _) = named_client(&app, "dana@example.com", "Dana Client").await;
    let past = appointment_at(&app, &m, dana, -Duration::days(2), "completed");
    let profile = app.url(&format!("/therapists/{}", m.therapist_id));

    let result = async {
        // The client reviews the session from its booking page.
        log_in_as(&b, &app, "dana@example.com").await?;
        b.goto(app.url(&format!("/bookings/{past}"))).await?;
        b.query(By::LinkText("Leave a review"))
            .first()
            .await?
            .click()
            .await?;
        // Without stars, the error stands next to the stars.
        type_into(&b, "text", TEXT).await?;
        press(&b, "Publish review").await?;
        let err = text_of(&b, "#rating-error").await?;
        assert!(err.contains("1 to 5"), "{err}");
        b.query(By::Css("label[for=rating-4]"))
            .first()
            .await?
            .click()
            .await?;
        assert!(b.find(By::Id("rating-4")).await?.is_selected().await?);
        press(&b, "Publish review").await?;
        let mine = text_of(&b, "[data-testid=my-review]").await?;
        assert!(mine.contains(TEXT) && mine.contains("4 out of 5"), "{mine}");

        // The therapist replies from the area's Reviews page.
        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url("/therapist")).await?;
        b.query(By::LinkText("Reviews"))
            .first()
            .await?
            .click()
            .await?;
        let summary = text_of(&b, "[data-testid=rating-summary]").await?;
        assert!(summary.starts_with("4 out of 5 from 1 review"), "{summary}");
        let reply = b.query(By::Css("textarea[id^=reply-]")).first().await?;
        reply.send_keys(REPLY).await?;
        press(&b, "Publish reply").await?;
        let shown = text_of(&b, "[data-testid=review-reply]").await?;
        assert!(shown.contains(REPLY), "{shown}");

        // The public sees both, and the average.
        log_out(&b).await?;
        b.goto(&profile).await?;
        let rating = text_of(&b, "[data-testid=profile-rating]").await?;
        assert!(rating.contains("4 out of 5 from 1 review"), "{rating}");
        let r = text_of(&b, "[data-testid=review]").await?;
        assert!(
            r.contains(TEXT) && r.contains(REPLY) && r.contains("Dana C."),
            "{r}"
        );

        // An admin hides it with a reason.
        log_in_as(&b, &app, "admin@example.com").await?;
        b.goto(app.url("/admin")).await?;
        b.query(By::LinkText("Reviews"))
            .first()
            .await?
            .click()
            .await?;
        let reason = b.query(By::Css("input[id^=reason-]")).first().await?;
        reason.send_keys(REASON).await?;
        press(&b, "Hide review").await?;
        let hidden = text_of(&b, "[data-testid=review-hidden]").await?;
        assert!(hidden.contains(REASON), "{hidden}");

        // The public no longer sees it, nor counts it.
        log_out(&b).await?;
        b.goto(&profile).await?;
        let rating = text_of(&b, "[data-testid=profile-rating]").await?;
        assert_eq!(rating, "No reviews yet");
        assert!(b
            .find_all(By::Css("[data-testid=review]"))
            .await?
            .is_empty());

        // Its author still does, marked hidden with why.
        log_in_as(&b, &app, "dana@example.com").await?;
        b.goto(&profile).await?;
        let r = text_of(&b, "[data-testid=review]").await?;
        assert!(
            r.contains(TEXT) && r.contains("Hidden by an admin") && r.contains(REASON),
            "{r}"
        );
        Ok(())
    }
    .await;
    finish(b, result).await;
}
