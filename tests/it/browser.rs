//! Browser journeys in real Chromium (fixtures in `builders::browser`): registering and logging
//! in, booking end to end, screening outcomes, and an admin's verification.

use thirtyfour::prelude::*;

use serde_json::json;

use crate::builders::browser::{
    answer, browser, finish, log_in_as, pick_first_slot, press, register, submit, type_into, Driver,
};
use crate::builders::{make_therapist, open_therapist, spawn_app, Spec, TestApp, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_register_logout_login_shows_the_name_in_the_navigation() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "shiatsu@example.com",
            name: "Browser Shiatsu",
            techniques: &["shiatsu"],
            hours: 700,
            ..Default::default()
        },
    )
    .await;
    let profile = tempfile::tempdir().unwrap();
    let b = driver.browser(profile.path()).await;
    let result = async {
        b.goto(app.url("/register")).await?;
        type_into(&b, "name", "Rosa Parks-Lee").await?;
        type_into(&b, "email", "rosa@example.com").await?;
        type_into(&b, "password", PASSWORD).await?;
        submit(&b).await?;
        let nav = b.query(By::Css("[data-testid=nav-user]")).first().await?;
        assert_eq!(nav.text().await?, "Rosa Parks-Lee");

        press(&b, "Log out").await?;
        b.query(By::LinkText("Log in"))
            .first()
            .await?
            .click()
            .await?;
        type_into(&b, "email", "rosa@example.com").await?;
        type_into(&b, "password", PASSWORD).await?;
        submit(&b).await?;
        let nav = b.query(By::Css("[data-testid=nav-user]")).first().await?;
        assert_eq!(nav.text().await?, "Rosa Parks-Lee");
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.contains("Welcome back"), "{flash}");

        // Search from the home page and open a profile.
        b.goto(app.url("/")).await?;
        b.query(By::Id("technique"))
            .first()
            .await?
            .send_keys("Shiatsu")
            .await?;
        b.query(By::Id("near"))
            .first()
            .await?
            .send_keys("Boston, MA")
            .await?;
        b.query(By::Css("form.search button[type=submit]"))
            .first()
            .await?
            .click()
            .await?;
        let count = b
            .query(By::Css("[data-testid=result-count]"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(count, "1 therapist");
        b.query(By::PartialLinkText("View and book"))
            .first()
            .await?
            .click()
            .await?;
        b.query(By::XPath("//h1[normalize-space()='Browser Shiatsu']"))
            .first()
            .await?;
        let badges = b.query(By::Css(".badges")).first().await?.text().await?;
        assert!(
            badges.contains("License verified") && badges.contains("700 training hours"),
            "{badges}"
        );
        Ok::<_, WebDriverError>(())
    }
    .await;
    if result.is_err() {
        let shot = std::env::temp_dir().join("bodywork-browser-failure.png");
        if b.screenshot(&shot).await.is_ok() {
            eprintln!("screenshot of the failure: {}", shot.display());
        }
        if let Ok(src) = b.source().await {
            eprintln!("page at failure:\n{src}");
        }
    }
    b.quit().await.ok();
    result.expect("browser journey");
}

async fn therapist_with_services(app: &TestApp) -> crate::builders::Made {
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(
        app,
        admin_id,
        "maya@example.com",
        &["deep-tissue", "swedish", "prenatal"],
    )
    .await;
    for t in ["swedish", "prenatal"] {
        let r = app
            .api_post(
                "/api/v1/me/services",
                Some(&m.token),
                json!({"technique": t, "duration_min": 60, "price_cents": 9000}),
            )
            .await;
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_books_a_slot_end_to_end_and_the_therapist_confirms() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    therapist_with_services(&app).await;
    let result = async {
        register(&b, &app, "Dana Client", "dana@example.com").await?;
        b.goto(app.url("/")).await?;
        b.query(By::Id("technique"))
            .first()
            .await?
            .send_keys("Swedish")
            .await?;
        b.query(By::Id("near"))
            .first()
            .await?
            .send_keys("Boston")
            .await?;
        b.query(By::Css("form.search button[type=submit]"))
            .first()
            .await?
            .click()
            .await?;
        b.query(By::PartialLinkText("View and book"))
            .first()
            .await?
            .click()
            .await?;
        // The card of a Swedish search opens the Swedish service's free times: take the first.
        let chosen = b
            .query(By::XPath(
                "//label[contains(@class, 'service-card')][input[@checked]]",
            ))
            .first()
            .await?
            .text()
            .await?;
        assert!(chosen.starts_with("Swedish"), "{chosen}");
        pick_first_slot(&b).await?;
        answer(&b, &[]).await?;
        press(&b, "Book this time").await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.starts_with("Booking requested:"), "{flash}");
        assert_eq!(
            b.query(By::Css("[data-testid=status]"))
                .first()
                .await?
                .text()
                .await?,
            "Waiting for Open Therapist to confirm"
        );
        b.query(By::LinkText("My bookings"))
            .first()
            .await?
            .click()
            .await?;
        let line = b
            .query(By::Css("[data-testid=booking]"))
            .first()
            .await?
            .text()
            .await?;
        assert!(line.contains("Swedish with Open Therapist"), "{line}");
        assert!(
            line.contains("Waiting for Open Therapist to confirm"),
            "{line}"
        );

        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url("/therapist/appointments")).await?;
        let item = b
            .query(By::Css("[data-testid=appointment]"))
            .first()
            .await?;
        assert!(item.text().await?.contains("Dana Client"));
        item.find(By::Tag("a")).await?.click().await?;
        press(&b, "Confirm").await?;
        b.query(By::XPath(
            "//*[@data-testid='status' and normalize-space()='Confirmed']",
        ))
        .first()
        .await?;
        Ok(())
    }
    .await;
    finish(b, result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_pregnant_client_is_offered_safer_techniques_and_books_swedish() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let m = therapist_with_services(&app).await;
    let result = async {
        register(&b, &app, "Priya Client", "priya@example.com").await?;
        b.goto(app.url(&format!(
            "/therapists/{}?service={}",
            m.therapist_id, m.service_id
        )))
        .await?;
        pick_first_slot(&b).await?;
        answer(&b, &["pregnant"]).await?;
        press(&b, "Book this time").await?;
        b.query(By::XPath(
            "//h1[normalize-space()='Deep tissue is not right for you today']",
        ))
        .first()
        .await?;
        let offered: Vec<String> = {
            let mut v = Vec::new();
            for a in b.find_all(By::Css("[data-testid=alternative]")).await? {
                v.push(a.text().await?);
            }
            v
        };
        assert!(
            offered.iter().any(|t| t.starts_with("Swedish"))
                && offered.iter().any(|t| t.starts_with("Prenatal")),
            "{offered:?}"
        );
        // The chosen time is still free for Swedish: the link leads straight to its form.
        b.query(By::PartialLinkText("Swedish, 60 min"))
            .first()
            .await?
            .click()
            .await?;
        answer(&b, &["pregnant"]).await?;
        press(&b, "Book this time").await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.starts_with("Booking requested:"), "{flash}");
        let h1 = b.query(By::Tag("h1")).first().await?.text().await?;
        assert!(h1.starts_with("Swedish with"), "{h1}");
        Ok(())
    }
    .await;
    finish(b, result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_clearance_booking_is_acknowledged_and_confirmed_by_the_therapist() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let m = therapist_with_services(&app).await;
    let result = async {
        register(&b, &app, "Ben Client", "ben@example.com").await?;
        b.goto(app.url(&format!(
            "/therapists/{}?service={}",
            m.therapist_id, m.service_id
        )))
        .await?;
        pick_first_slot(&b).await?;
        answer(&b, &["blood_thinners"]).await?;
        press(&b, "Book this time").await?;
        // Asked for the practitioner's clearance; the answers are kept.
        b.query(By::Id("clearance_confirmed"))
            .first()
            .await?
            .click()
            .await?;
        assert!(
            b.query(By::Css("input[name=q_blood_thinners][value=yes]"))
                .first()
                .await?
                .is_selected()
                .await?
        );
        press(&b, "Book this time").await?;
        b.query(By::Css(".flash")).first().await?;

        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url("/therapist/appointments")).await?;
        let item = b
            .query(By::Css("[data-testid=appointment]"))
            .first()
            .await?;
        assert!(item.text().await?.contains("read the flags"));
        item.find(By::Tag("a")).await?.click().await?;
        let notes = b
            .query(By::Css("#screen-title"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(
            notes,
            "Screening: Needs a healthcare practitioner's clearance"
        );
        press(&b, "Confirm").await?;
        let err = b
            .query(By::Id("action-error"))
            .first()
            .await?
            .text()
            .await?;
        assert!(err.contains("acknowledged"), "{err}");
        b.query(By::Id("acknowledged_flags"))
            .first()
            .await?
            .click()
            .await?;
        press(&b, "Confirm").await?;
        b.query(By::XPath(
            "//*[@data-testid='status' and normalize-space()='Confirmed']",
        ))
        .first()
        .await?;
        Ok(())
    }
    .await;
    finish(b, result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_admin_verifies_credentials_and_the_therapist_appears_with_both_badges() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "new@example.com",
            name: "Newly Checked",
            techniques: &["shiatsu"],
            hours: 600,
            verify_license: false,
            verify_training: false,
            ..Default::default()
        },
    )
    .await;
    let result = async {
        b.goto(app.url("/therapists?technique=shiatsu&near=Boston"))
            .await?;
        let count = b
            .query(By::Css("[data-testid=result-count]"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(count, "0 therapists", "not verified yet");

        log_in_as(&b, &app, "admin@example.com").await?;
        for area in ["licenses", "training"] {
            b.goto(app.url(&format!("/admin/{area}"))).await?;
            // The confirmation step: the "I have checked ..." box of the first card.
            b.query(By::Css("input[id^=confirm-verify-]"))
                .first()
                .await?
                .click()
                .await?;
            b.query(By::XPath(
                "//button[starts-with(normalize-space(), 'Verify #')]",
            ))
            .first()
            .await?
            .click()
            .await?;
            b.query(By::Css(".flash")).first().await?;
        }
        b.goto(app.url("/therapists?technique=shiatsu&near=Boston"))
            .await?;
        let count = b
            .query(By::Css("[data-testid=result-count]"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(count, "1 therapist");
        let hit = b
            .query(By::Css("[data-testid=hit]"))
            .first()
            .await?
            .text()
            .await?;
        assert!(
            hit.contains("Newly Checked")
                && hit.contains("License verified")
                && hit.contains("600 training hours"),
            "{hit}"
        );
        Ok(())
    }
    .await;
    finish(b, result).await;
}
