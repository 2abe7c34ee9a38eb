//! What the database itself refuses, on both backends, even when the code forgets.

use std::sync::{Arc, Barrier};

use bodywork::domain::appointment::AppointmentStatus;
use bodywork::error::AppError;
use bodywork::models::appointment::Appointment;
use bodywork::models::now;
use bodywork::models::user::NewUser;
use bodywork::services::booking;
use chrono::NaiveDateTime;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::builders::{
    appointment_row as appointment, at, fixture, register, spawn_app, with_conn, Fixture, TestApp,
};

fn is_slot_taken(r: &Result<i64, AppError>) -> bool {
    matches!(
        r,
        Err(AppError::Conflict {
            code: "slot_taken",
            ..
        })
    )
}

#[tokio::test]
async fn the_database_refuses_a_second_user_with_the_same_email_in_another_case() {
    let app = spawn_app().await;
    with_conn(&app, |conn| {
        let row = |email: &'static str| NewUser {
            email,
            password_hash: "x",
            name: "A",
            role: "client",
            created_at: now(),
            email_verified_at: None,
        };
        row("ana@example.com").insert(conn).expect("first insert");
        // Straight to the table, past the service's own check.
        let err = row("ANA@Example.com")
            .insert(conn)
            .expect_err("duplicate refused");
        assert!(
            matches!(
                err,
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
            ),
            "{err:?}"
        );
    });
}

#[tokio::test]
async fn the_database_refuses_overlapping_active_appointments_including_the_buffer() {
    let app = spawn_app().await;
    let f = fixture(&app, 3);
    with_conn(&app, |conn| {
        let first = appointment(&f, 0, at(10, 0));
        first.insert(conn).expect("first booking");

        // Same start, a start inside, and a start inside the 15-minute buffer: all refused.
        for start in [at(10, 0), at(10, 30), at(11, 5), at(9, 30)] {
            let r = appointment(&f, 1, start).insert(conn);
            assert!(is_slot_taken(&r), "start {start} must be refused: {r:?}");
        }
        // Right after the buffer, and a booking that ends (with its buffer) as the first starts.
        appointment(&f, 1, at(11, 15))
            .insert(conn)
            .expect("after the buffer");
        appointment(&f, 2, at(8, 45))
            .insert(conn)
            .expect("before, buffer ends at 10:00");
    });
}

#[tokio::test]
async fn cancelled_appointments_free_their_time_and_cannot_be_revived_into_an_overlap() {
    let app = spawn_app().await;
    let f = fixture(&app, 2);
    with_conn(&app, |conn| {
        let first = appointment(&f, 0, at(14, 0)).insert(conn).unwrap();
        Appointment::set_status(conn, first, AppointmentStatus::Cancelled, now()).unwrap();
        appointment(&f, 1, at(14, 0))
            .insert(conn)
            .expect("the cancelled time is free again");
        let revived = Appointment::set_status(conn, first, AppointmentStatus::Requested, now());
        assert!(
            matches!(
                revived,
                Err(AppError::Conflict {
                    code: "slot_taken",
                    ..
                })
            ),
            "{revived:?}"
        );
    });
}

/// Runs `n` bookings at once from `n` threads, each on its own pooled connection.
fn race(app: &TestApp, f: &Fixture, starts: Vec<NaiveDateTime>) -> Vec<Result<i64, AppError>> {
    let barrier = Arc::new(Barrier::new(starts.len()));
    let handles: Vec<_> = starts
        .into_iter()
        .enumerate()
        .map(|(i, start)| {
            let pool = app.pool.clone();
            let barrier = barrier.clone();
            let new = appointment(f, i, start);
            std::thread::spawn(move || {
                let mut conn = pool.get().expect("connection");
                barrier.wait();
                booking::insert_appointment(&mut conn, &new)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect()
}

#[tokio::test]
async fn sixteen_clients_booking_one_slot_at_once_make_exactly_one_booking() {
    let app = spawn_app().await;
    let f = fixture(&app, 16);
    let results = race(&app, &f, vec![at(10, 0); 16]);
    let won = results.iter().filter(|r| r.is_ok()).count();
    let taken = results.iter().filter(|r| is_slot_taken(r)).count();
    assert_eq!(won, 1, "{results:?}");
    assert_eq!(
        taken, 15,
        "every loser gets slot_taken, never another error: {results:?}"
    );
}

#[tokio::test]
async fn sixteen_clients_booking_overlapping_starts_at_once_make_exactly_one_booking() {
    let app = spawn_app().await;
    let f = fixture(&app, 16);
    // 10:00, 10:03, ... 10:45: every pair overlaps.
    let starts = (0..16).map(|i| at(10, 3 * i)).collect();
    let results = race(&app, &f, starts);
    let won = results.iter().filter(|r| r.is_ok()).count();
    let taken = results.iter().filter(|r| is_slot_taken(r)).count();
    assert_eq!(won, 1, "{results:?}");
    assert_eq!(taken, 15, "{results:?}");
}

#[tokio::test]
async fn the_audit_log_and_the_access_log_are_append_only() {
    let app = spawn_app().await;
    let f = fixture(&app, 1);
    let postgres = app.db_url.backend_name() == "postgres";
    with_conn(&app, |conn| {
        use diesel::connection::SimpleConnection;
        register(conn, "someone@example.com", "client");
        let id = appointment(&f, 0, at(10, 0)).insert(conn).unwrap();
        booking::log_private_read(
            conn,
            id,
            f.client_ids[0],
            "api",
            booking::ReadSubject::Answers,
        )
        .unwrap();
        for (table, column) in [
            ("audit_log", "summary"),
            ("screening_access_log", "channel"),
        ] {
            let update = conn.batch_execute(&format!("UPDATE {table} SET {column} = 'rewritten'"));
            assert!(update.is_err(), "update of {table} must be refused");
            let delete = conn.batch_execute(&format!("DELETE FROM {table}"));
            assert!(delete.is_err(), "delete of {table} must be refused");
            if postgres {
                let truncate = conn.batch_execute(&format!("TRUNCATE {table} CASCADE"));
                assert!(truncate.is_err(), "truncate of {table} must be refused");
            }
        }
        // Deleting the appointment would cascade into its reads: refused as well.
        let cascade = conn.batch_execute(&format!("DELETE FROM appointments WHERE id = {id}"));
        assert!(cascade.is_err(), "a cascade must not remove logged reads");
    });
}
