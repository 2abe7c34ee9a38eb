//! Browser journey of the photo (fixtures in `builders::browser`): a therapist uploads a photo
//! on their profile page, a wrong file is refused next to the field, and the photo shows on
//! their search result card, loaded (not a broken image).

use thirtyfour::prelude::*;

use crate::builders::browser::{browser, finish, log_in_as, press};
use crate::builders::photo::png;
use crate::builders::{make_therapist, spawn_app, Spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_therapist_uploads_a_photo_and_sees_it_on_their_search_card() {
    let Some((_driver, b, profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec {
            email: "maya@example.com",
            name: "Maya Okafor",
            ..Default::default()
        },
    )
    .await;
    let files = tempfile::tempdir().unwrap();
    let good = files.path().join("maya.png");
    std::fs::write(&good, png(600, 400)).unwrap();
    let bad = files.path().join("notes.png");
    std::fs::write(&bad, b"not a picture at all").unwrap();

    let result = async {
        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url("/therapist/profile")).await?;
        b.query(By::Css("[data-testid=own-photo-none]")).first().await?;

        // A file that is not an image: the reason next to the field.
        b.find(By::Id("photo"))
            .await?
            .send_keys(bad.to_str().unwrap())
            .await?;
        press(&b, "Upload photo").await?;
        let error = b.query(By::Id("photo-error")).first().await?;
        assert!(error.text().await?.contains("not a JPEG or PNG"));

        b.find(By::Id("photo"))
            .await?
            .send_keys(good.to_str().unwrap())
            .await?;
        press(&b, "Upload photo").await?;
        let flash = b.query(By::Css(".flash")).first().await?;
        assert!(flash.text().await?.contains("Your photo is saved"));
        b.query(By::Css("[data-testid=own-photo]")).first().await?;

        b.goto(app.url("/therapists?near=Boston")).await?;
        let img = b.query(By::Css("[data-testid=hit-photo]")).first().await?;
        // The element is there before its image has loaded (a busy machine takes a moment).
        let mut loaded = serde_json::json!(false);
        for _ in 0..50 {
            loaded = b
                .execute(
                    "const i = arguments[0]; return i.complete && i.naturalWidth === 192 && i.naturalHeight === 192;",
                    vec![img.to_json()?],
                )
                .await?
                .json()
                .clone();
            if loaded == serde_json::json!(true) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(loaded, serde_json::json!(true), "the card's photo loaded");
        assert_eq!(img.attr("alt").await?.as_deref(), Some(""));
        Ok(())
    }
    .await;
    finish(b, result).await;
    drop(profile);
}
