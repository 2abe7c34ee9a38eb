//! The README's screenshots, taken from the demo data in real Chromium: the search, a profile,
//! the booking form and the therapist's week, at desktop width, and the search and a profile at
//! phone width. Not part of the suite (`#[ignore]`): `bash scripts/screenshots.sh` runs it and
//! writes the PNG files to `docs/screenshots` (or to `BODYWORK_SCREENSHOTS`).

use std::path::PathBuf;

use thirtyfour::prelude::*;

use bodywork::demo::{fill, DEMO_PASSWORD};
use bodywork::services::crypto::AnswerCipher;

use crate::builders::browser::{log_in_with, Driver};
use crate::builders::{spawn_app, with_conn};

/// The page of the therapist's week.
const WEEK: &str = "/therapist/appointments";

async fn shot(
    b: &WebDriver,
    dir: &std::path::Path,
    name: &str,
    w: u32,
    h: u32,
) -> WebDriverResult<()> {
    b.set_window_rect(0, 0, w, h).await?;
    let png = b.screenshot_as_png().await?;
    std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    eprintln!("wrote {name}.png");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the README's screenshots: bash scripts/screenshots.sh"]
async fn readme_screenshots() {
    let dir: PathBuf = std::env::var("BODYWORK_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let driver = Driver::start().await.expect("chromedriver");
    let app = spawn_app().await;
    let cipher = AnswerCipher::from_settings(&app.settings).unwrap();
    let mail = app.mail_ctx();
    with_conn(&app, |conn| fill(conn, &mail, &cipher)).expect("demo data");
    let profile = tempfile::tempdir().unwrap();
    let b = driver.browser(profile.path()).await;
    let result = async {
        let search = "/therapists?technique=deep-tissue&near=Boston%2C%20MA&radius_km=40";
        b.goto(app.url(search)).await?;
        shot(&b, &dir, "search", 1200, 1000).await?;
        shot(&b, &dir, "search-phone", 390, 844).await?;
        b.set_window_rect(0, 0, 1200, 1000).await?;
        b.query(By::PartialLinkText("View and book"))
            .first()
            .await?
            .click()
            .await?;
        let profile_url = b.current_url().await?;
        // The link lands on the times; the picture starts at the top of the profile.
        b.execute("window.scrollTo(0, 0);", Vec::new()).await?;
        shot(&b, &dir, "profile", 1200, 1100).await?;
        shot(&b, &dir, "profile-phone", 390, 844).await?;
        b.set_window_rect(0, 0, 1200, 1000).await?;
        log_in_with(&b, &app, "client@demo.bodywork.test", DEMO_PASSWORD).await?;
        b.goto(profile_url.as_str()).await?;
        b.query(By::Css("a.slot")).first().await?.click().await?;
        shot(&b, &dir, "booking-form", 1200, 1300).await?;
        log_in_with(&b, &app, "therapist@demo.bodywork.test", DEMO_PASSWORD).await?;
        b.goto(app.url(WEEK)).await?;
        shot(&b, &dir, "therapist-week", 1200, 1000).await?;
        Ok::<_, WebDriverError>(())
    }
    .await;
    b.quit().await.ok();
    result.expect("screenshots");
}
