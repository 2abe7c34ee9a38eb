//! Browser journey of a mobile visit: the public profile says where and how far; the booking
//! form offers studio or mobile, refuses an address outside the radius next to the city
//! field, then books; the client's booking and the therapist's appointment show the address.

use serde_json::json;
use thirtyfour::prelude::*;

use crate::builders::browser::{
    answer, browser, finish, log_in_as, pick_first_slot, press, register,
};
use crate::builders::{open_therapist, spawn_app, STUDIO_ADDRESS};

const STREET: &str = "221 Hampshire Street, Apt 3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_reach_a_client_books_a_mobile_visit_and_the_therapist_sees_the_address() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "maya@example.com", &["swedish"]).await;
    let r = app
        .api_put(
            "/api/v1/me/profile",
            &m.token,
            json!({"name": "Maya Okafor", "city": "Boston, MA", "techniques": ["swedish"],
                   "phone": "+1 (617) 555-0142", "mobile": true, "mobile_radius_km": 20}),
        )
        .await;
    assert!(r.status().is_success());
    let result = async {
        register(&b, &app, "Dana Client", "dana@example.com").await?;
        b.goto(app.url(&format!(
            "/therapists/{}?service={}",
            m.therapist_id, m.service_id
        )))
        .await?;
        let reach = b
            .query(By::Css("[data-testid=reach]"))
            .first()
            .await?
            .text()
            .await?;
        assert!(reach.contains(STUDIO_ADDRESS), "{reach}");
        assert!(reach.contains("Mobile visits within 20 km of Boston, MA"));
        assert_eq!(
            b.find(By::LinkText("+1 (617) 555-0142"))
                .await?
                .attr("href")
                .await?
                .as_deref(),
            Some("tel:+16175550142")
        );
        pick_first_slot(&b).await?;
        // Both are offered: the studio (with its address) is chosen until the client says.
        let studio = b.find(By::Id("visit-choice")).await?;
        assert!(studio.is_selected().await?);
        b.find(By::Id("visit-mobile")).await?.click().await?;
        b.find(By::Id("client_address"))
            .await?
            .send_keys(STREET)
            .await?;
        b.find(By::Id("client_city"))
            .await?
            .send_keys("Worcester, MA")
            .await?;
        answer(&b, &[]).await?;
        press(&b, "Book this time").await?;
        // Too far: the error sits next to the city, the typed address is kept.
        let error = b
            .query(By::Id("client_city-error"))
            .first()
            .await?
            .text()
            .await?;
        assert!(error.contains("20 km"), "{error}");
        let city = b.find(By::Id("client_city")).await?;
        assert_eq!(city.attr("aria-invalid").await?.as_deref(), Some("true"));
        assert!(city
            .attr("aria-describedby")
            .await?
            .unwrap_or_default()
            .contains("client_city-error"));
        assert_eq!(
            b.find(By::Id("client_address"))
                .await?
                .prop("value")
                .await?
                .as_deref(),
            Some(STREET)
        );
        assert!(b.find(By::Id("visit-mobile")).await?.is_selected().await?);
        city.clear().await?;
        city.send_keys("Cambridge, MA").await?;
        answer(&b, &[]).await?;
        press(&b, "Book this time").await?;
        let shown = b
            .query(By::Css("[data-testid=client-address]"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(shown, format!("{STREET}, Cambridge, MA"));
        let booking = b.current_url().await?.path().to_string();
        let id = booking.trim_start_matches("/bookings/").to_string();

        // The therapist sees where to go.
        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url(&format!("/therapist/appointments/{id}")))
            .await?;
        let at = b
            .query(By::Css("[data-testid=client-address]"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(at, format!("{STREET}, Cambridge, MA"));
        Ok(())
    }
    .await;
    finish(b, result).await;
}
