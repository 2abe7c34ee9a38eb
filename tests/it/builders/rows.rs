//! Rows written straight to the database (no API, no argon2 for the clients): a therapist with
//! a service and some clients (`fixture`), an appointment of theirs at a fixed day's time
//! (`appointment`, `at`): what the database's own refusals and the key rotation are tested on.

use bodywork::db::DbConnection;
use bodywork::domain::appointment::AppointmentStatus;
use bodywork::models::appointment::NewAppointment;
use bodywork::models::now;
use bodywork::models::service::NewService;
use bodywork::models::therapist::Therapist;
use bodywork::models::user::NewUser;
use bodywork::services::accounts::{self, RegisterInput};
use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::app::{with_conn, TestApp, PASSWORD};

pub fn register(conn: &mut DbConnection, email: &str, role: &str) -> i64 {
    accounts::register_verified(
        conn,
        &RegisterInput {
            email: email.into(),
            password: PASSWORD.into(),
            name: "Someone".into(),
            role: role.into(),
        },
    )
    .expect("register")
    .id
}

pub struct Fixture {
    pub therapist_id: i64,
    pub service_id: i64,
    pub client_ids: Vec<i64>,
}

pub fn fixture(app: &TestApp, clients: usize) -> Fixture {
    with_conn(app, |conn| {
        let user_id = register(conn, "therapist@example.com", "therapist");
        let therapist_id = Therapist::find_by_user(conn, user_id).unwrap().unwrap().id;
        let service_id = NewService {
            therapist_id,
            technique_slug: "swedish",
            duration_min: 60,
            price_cents: 9000,
            created_at: now(),
        }
        .insert(conn)
        .unwrap();
        // Clients are inserted directly (no argon2): only their rows matter here.
        let client_ids = (0..clients)
            .map(|i| {
                NewUser {
                    email: &format!("client{i}@example.com"),
                    password_hash: "x",
                    name: "Client",
                    role: "client",
                    created_at: now(),
                    email_verified_at: Some(now()),
                }
                .insert(conn)
                .unwrap()
            })
            .collect();
        Fixture {
            therapist_id,
            service_id,
            client_ids,
        }
    })
}

pub fn at(h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2031, 3, 4)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

/// A 60-minute appointment with a 15-minute buffer.
pub fn appointment(f: &Fixture, client: usize, start: NaiveDateTime) -> NewAppointment {
    NewAppointment {
        therapist_id: f.therapist_id,
        client_id: f.client_ids[client],
        service_id: f.service_id,
        starts_at: start,
        ends_at: start + Duration::minutes(60),
        blocked_until: start + Duration::minutes(75),
        status: AppointmentStatus::Requested,
        screening_version: 1,
        screening_answers: String::new(),
        screening_outcome: "ok".into(),
        clearance_confirmed: false,
        created_at: now(),
        updated_at: now(),
        visit: bodywork::domain::appointment::Visit::Studio,
        client_address: String::new(),
        screening_pending: false,
        entered_by: None,
        entry_note: String::new(),
    }
}
