//! Therapists as the tests need them: made through the API, credentials verified through the
//! service layer.

use bodywork::db::DbConnection;
use bodywork::models::user::User;
use bodywork::services::access::{Admin, Proof};
use bodywork::services::admin::{self, Credential};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::app::{with_conn, TestApp};

/// A therapist made through the API, credentials verified through the service layer.
pub struct Made {
    pub therapist_id: i64,
    pub token: String,
    pub service_id: i64,
}

/// The studio address every made therapist has unless the spec says otherwise.
pub const STUDIO_ADDRESS: &str = "12 Test Street, Suite 1";

pub struct Spec<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub city: &'a str,
    pub techniques: &'a [&'a str],
    pub price_cents: i64,
    pub hours: i32,
    pub verify_license: bool,
    pub verify_training: bool,
    pub bio: &'a str,
    pub languages: &'a [&'a str],
    pub mobile: bool,
    pub accepting: bool,
    /// The studio's street address (None: no studio, mobile visits only).
    pub address: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// How far mobile visits go (used when `mobile`).
    pub mobile_radius_km: i32,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Spec {
            email: "t@example.com",
            name: "Therapist",
            city: "Boston, MA",
            techniques: &["swedish"],
            price_cents: 9000,
            hours: 600,
            verify_license: true,
            verify_training: true,
            bio: "",
            languages: &["en"],
            mobile: false,
            accepting: true,
            address: Some(STUDIO_ADDRESS),
            phone: None,
            mobile_radius_km: 25,
        }
    }
}

pub async fn make_therapist(app: &TestApp, admin_id: i64, s: Spec<'_>) -> Made {
    let (_, token) = app.api_user(s.email, "therapist").await;
    let r = app
        .api_put(
            "/api/v1/me/profile",
            &token,
            json!({"name": s.name, "bio": s.bio, "city": s.city, "techniques": s.techniques,
                   "languages": s.languages, "mobile": s.mobile, "accepting_new_clients": s.accepting,
                   "address": s.address, "phone": s.phone,
                   "mobile_radius_km": if s.mobile { Some(s.mobile_radius_km) } else { None }}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "profile: {}",
        r.text().await.unwrap()
    );
    let profile: Value = app
        .api_get("/api/v1/me/profile", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let therapist_id = profile["therapist_id"].as_i64().unwrap();
    let r = app
        .api_post(
            "/api/v1/me/services",
            Some(&token),
            json!({"technique": s.techniques[0], "duration_min": 60, "price_cents": s.price_cents}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let service_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let expires = (Utc::now().date_naive() + Duration::days(365)).to_string();
    let lic: Value = app
        .api_post(
            "/api/v1/me/license",
            Some(&token),
            json!({"jurisdiction": "MA", "number": "LMT-1", "issuing_body": "MA Board of Massage", "expires_on": expires}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lic["status"], "submitted");
    let tr: Value = app
        .api_post(
            "/api/v1/me/training",
            Some(&token),
            json!({"program": "Diploma", "hours": s.hours, "completed_on": "2019-05-01"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let mail = app.mail_ctx();
    with_conn(app, |conn| {
        let admin = admin_proof(conn, admin_id);
        if s.verify_license {
            admin::decide(
                conn,
                &mail,
                &admin,
                Credential::License,
                lic["id"].as_i64().unwrap(),
                true,
                None,
            )
            .unwrap();
        }
        if s.verify_training {
            admin::decide(
                conn,
                &mail,
                &admin,
                Credential::Training,
                tr["id"].as_i64().unwrap(),
                true,
                None,
            )
            .unwrap();
        }
    });
    Made {
        therapist_id,
        token,
        service_id,
    }
}

/// The proof that user `admin_id` is an admin, for calling admin services directly.
pub fn admin_proof(conn: &mut DbConnection, admin_id: i64) -> Admin {
    Admin::prove(User::find(conn, admin_id).expect("admin user")).expect("an admin")
}

/// The proof that the user with `email` is a therapist, for calling their services directly
/// (for example with a fixed `now`).
pub fn therapist_proof(
    conn: &mut DbConnection,
    email: &str,
) -> bodywork::services::access::Therapist {
    let user = User::find_by_email(conn, email)
        .expect("query")
        .expect("therapist user");
    bodywork::services::access::Therapist::prove(user).expect("a therapist")
}
