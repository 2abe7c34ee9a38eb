//! Profile photos: the upload on the profile page (multipart, CSRF) and through the API, every
//! refused file with its reason next to the field, metadata gone from what is served, cache
//! headers of the versioned URL, and the photo on result cards and profiles.

use reqwest::header;
use reqwest::StatusCode;
use serde_json::Value;

use crate::builders::photo::{
    contains, jpeg, jpeg_claiming, jpeg_with_exif, multipart, png, EXIF_MARKER,
};
use crate::builders::{csrf_from, make_therapist, page_login, spawn_app, Made, Spec, TestApp};

async fn therapist(app: &TestApp) -> Made {
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        app,
        admin_id,
        Spec {
            email: "t@example.com",
            name: "Maya Okafor",
            ..Default::default()
        },
    )
    .await
}

/// Posts `file` from the profile page's photo form as the logged-in therapist `c`.
async fn upload_page(
    app: &TestApp,
    c: &reqwest::Client,
    name: &str,
    file: &[u8],
) -> reqwest::Response {
    let html = c
        .get(app.url("/therapist/profile"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&html);
    let (content_type, body) = multipart(&[("csrf_token", &csrf)], name, file);
    c.post(app.url("/therapist/photo"))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn upload_api(app: &TestApp, token: &str, file: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .put(app.url("/api/v1/me/photo"))
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, "image/jpeg")
        .body(file)
        .send()
        .await
        .unwrap()
}

async fn bytes_of(app: &TestApp, url: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(app.url(url))
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_png_uploaded_on_the_profile_page_is_served_square_on_the_profile_and_cards() {
    let app = spawn_app().await;
    let m = therapist(&app).await;
    let c = page_login(&app, "t@example.com").await;
    let r = upload_page(&app, &c, "me.png", &png(640, 480)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/therapist/profile");

    let profile: Value = app
        .api_get(&format!("/api/v1/therapists/{}", m.therapist_id), None)
        .await
        .json()
        .await
        .unwrap();
    let large = profile["photo_url"]
        .as_str()
        .expect("a photo URL")
        .to_string();
    let card = profile["photo_card_url"]
        .as_str()
        .expect("a card URL")
        .to_string();
    for (url, side) in [(&large, 320), (&card, 192)] {
        let (status, headers, body) = bytes_of(&app, url).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
        let img = image::load_from_memory(&body).unwrap();
        assert_eq!((img.width(), img.height()), (side, side));
    }

    // The card in search results and the profile page show it, with their alt texts.
    let hits: Value = app
        .api_get("/api/v1/therapists?near=Boston&radius_km=50", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hits["results"][0]["photo_card_url"], card.as_str());
    assert_eq!(hits["results"][0]["photo_url"], large.as_str());
    let page = app.get_html("/therapists?near=Boston").await;
    assert!(page.contains(&format!("src=\"{card}\" alt=\"\"")), "{page}");
    let page = app
        .get_html(&format!("/therapists/{}", m.therapist_id))
        .await;
    assert!(page.contains(&format!("src=\"{large}\" alt=\"Photo of Maya Okafor\"")));
    let own = c
        .get(app.url("/therapist/profile"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(own.contains(&large) && own.contains("Remove photo"));
}

#[tokio::test]
async fn without_a_photo_cards_and_profiles_show_a_placeholder_not_a_broken_image() {
    let app = spawn_app().await;
    let m = therapist(&app).await;
    let hits: Value = app
        .api_get("/api/v1/therapists?near=Boston", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(hits["results"][0]["photo_card_url"].is_null());
    let page = app.get_html("/therapists?near=Boston").await;
    assert!(page.contains("avatar-none") && !page.contains("/photos/"));
    let page = app
        .get_html(&format!("/therapists/{}", m.therapist_id))
        .await;
    assert!(page.contains("avatar-none") && !page.contains("<img"));
}

#[tokio::test]
async fn bad_files_come_back_with_the_reason_next_to_the_field() {
    let app = spawn_app().await;
    let m = therapist(&app).await;
    let c = page_login(&app, "t@example.com").await;
    let good = png(300, 300);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "notes.jpg",
            b"these are not the pixels you are looking for".to_vec(),
            "not a JPEG or PNG",
        ),
        (
            "cut.png",
            good[..good.len() / 2].to_vec(),
            "damaged or cut short",
        ),
        ("bomb.jpg", jpeg_claiming(60_000), "60000 by 60000 pixels"),
        ("tiny.png", png(20, 20), "at least 64 pixels"),
        (
            "big.png",
            {
                let mut v = png(100, 100);
                v.resize(5 * 1024 * 1024 + 1, 0);
                v
            },
            "larger than 5 MB",
        ),
        ("", Vec::new(), "Choose a photo"),
    ];
    for (name, file, why) in cases {
        let r = upload_page(&app, &c, name, &file).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let html = r.text().await.unwrap();
        let error = html
            .split("id=\"photo-error\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{name}: no error next to the field: {html}"));
        assert!(
            error[..400.min(error.len())].contains(why),
            "{name}: {error}"
        );
        assert!(html.contains("aria-invalid=\"true\""));
    }
    // Nothing was stored.
    let profile: Value = app
        .api_get(&format!("/api/v1/therapists/{}", m.therapist_id), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(profile["photo_url"].is_null());

    // The API answers the same refusals as JSON errors on the field.
    for (file, why) in [
        (b"GIF89a....".to_vec(), "not a JPEG or PNG"),
        (jpeg_claiming(60_000), "8000 pixels"),
    ] {
        let r = upload_api(&app, &m.token, file).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "validation_failed");
        assert!(
            v["error"]["fields"]["photo"]
                .as_str()
                .unwrap()
                .contains(why),
            "{v}"
        );
    }
    let mut big = jpeg(100, 100);
    big.resize(6 * 1024 * 1024, 0);
    let r = upload_api(&app, &m.token, big).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mut huge = jpeg(100, 100);
    huge.resize(21 * 1024 * 1024, 0);
    let r = upload_api(&app, &m.token, huge).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn an_upload_without_the_form_token_is_refused() {
    let app = spawn_app().await;
    therapist(&app).await;
    let c = page_login(&app, "t@example.com").await;
    let (content_type, body) = multipart(&[("csrf_token", "forged")], "me.png", &png(100, 100));
    let r = c
        .post(app.url("/therapist/photo"))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn what_is_served_keeps_no_exif_and_is_cached_for_good_by_version() {
    let app = spawn_app().await;
    let m = therapist(&app).await;
    let upload = jpeg_with_exif(400, 400);
    assert!(contains(&upload, EXIF_MARKER) && contains(&upload, b"Exif\0\0"));
    let r = upload_api(&app, &m.token, upload).await;
    assert_eq!(r.status(), StatusCode::OK);
    let urls: Value = r.json().await.unwrap();
    for key in ["photo_url", "photo_card_url"] {
        let url = urls[key].as_str().unwrap();
        let (status, headers, body) = bytes_of(&app, url).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!contains(&body, EXIF_MARKER), "{key} keeps the EXIF data");
        assert!(!contains(&body, b"Exif\0\0"), "{key} has an EXIF segment");
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(
            headers.get(header::SET_COOKIE).is_none(),
            "a cached photo sets no cookie"
        );
        let etag = headers[header::ETAG].to_str().unwrap().to_string();
        let again = reqwest::Client::new()
            .get(app.url(url))
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }

    // A new photo gets a new URL; the old one is gone (its bytes never change under it).
    let old = urls["photo_url"].as_str().unwrap().to_string();
    let r = upload_api(&app, &m.token, png(500, 300)).await;
    let new: Value = r.json().await.unwrap();
    assert_ne!(new["photo_url"].as_str().unwrap(), old);
    assert_eq!(bytes_of(&app, &old).await.0, StatusCode::NOT_FOUND);
    let mine: Value = app
        .api_get("/api/v1/me/profile", Some(&m.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["photo_url"], new["photo_url"]);

    // Removed: no URL anywhere, and the photo is not served.
    let r = app.api_delete("/api/v1/me/photo", &m.token).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        bytes_of(&app, new["photo_url"].as_str().unwrap()).await.0,
        StatusCode::NOT_FOUND
    );
    let hits: Value = app
        .api_get("/api/v1/therapists?near=Boston", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(hits["results"][0]["photo_url"].is_null());
}

#[tokio::test]
async fn the_remove_button_removes_the_photo_once_confirmed() {
    let app = spawn_app().await;
    let m = therapist(&app).await;
    assert_eq!(
        upload_api(&app, &m.token, jpeg(200, 200)).await.status(),
        StatusCode::OK
    );
    let c = page_login(&app, "t@example.com").await;
    let html = c
        .get(app.url("/therapist/profile"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&html);
    // Without the confirmation: the page again, the error at the box, the photo kept.
    let r = c
        .post(app.url("/therapist/photo/remove"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("id=\"remove-confirm-error\""));
    let profile: Value = app
        .api_get(&format!("/api/v1/therapists/{}", m.therapist_id), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(profile["photo_url"].is_string(), "kept");
    let r = c
        .post(app.url("/therapist/photo/remove"))
        .form(&[("csrf_token", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let profile: Value = app
        .api_get(&format!("/api/v1/therapists/{}", m.therapist_id), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(profile["photo_url"].is_null());
}
