//! The fixtures of the test binary, in one place: every test file imports what it needs from
//! here (`use crate::builders::...`) and never from another test file (`structure.rs` checks).
//!
//! - `app`: a server on port 0 with a fresh database (`spawn_app`), clients, logins, forms and
//!   direct data-layer access.
//! - `therapist`: a therapist made through the API with verified credentials (`make_therapist`).
//! - `browser`: Chromium through WebDriver and the steps journeys share (log in, answer, press).
//! - `photo`: files to upload as photos (real, with EXIF, a bomb's header) and the multipart
//!   body a browser sends.
//! - `booking`: an open therapist with weekly hours, the usual booking scene, free slots, a
//!   booking through the API, an appointment at any time written directly, the cancellation
//!   window, another service for a therapist (`with_service`).
//! - `mail`: an SMTP sink in the test binary (`SmtpSink`), a server whose mail worker sends to
//!   it (`spawn_mailing_app`), and the screening words no mail may hold.
//! - `course`: a policy for long courses, a zone's next daylight-saving change, a first start
//!   across it, a course booked through the API.
//! - `notes`: a client with a chosen name, session notes written through the API, and every
//!   text value of the raw database (`database_text`).
//! - `rows`: rows written straight to the database: a therapist with a service and clients
//!   (`fixture`), an appointment of theirs at a fixed day's time (`appointment_row`, `at`).
//! - `waitlist`: a therapist whose days hold one slot, a server whose worker checks the
//!   waitlist often, joining through the API.
//! - `totp`: the code an account's authenticator app shows now (from the sealed secret), for
//!   the logins of accounts with two-factor sign-in (admins are enrolled by `api_admin`).

mod app;
mod booking;
pub mod browser;
mod course;
mod mail;
mod notes;
pub mod photo;
mod rows;
mod therapist;
mod totp;
mod waitlist;

pub use app::{
    csrf_from, form_key_from, fresh_database, new_client, page_login, spawn_app,
    spawn_app_keeping_worker, spawn_app_with, spawn_binary, with_conn, TestApp, PASSWORD,
};
pub use booking::{
    answers, appointment_at, book, open_therapist, scene, set_cancellation_window, slots, some_day,
    with_service, Scene,
};
pub use course::{book_course, course_starts, first_start_across_dst, set_course_policy};
pub use mail::{assert_no_health_data, free_port, health_words, spawn_mailing_app, Mail, SmtpSink};
pub use notes::{database_text, named_client, write_notes};
pub use rows::{appointment as appointment_row, at, fixture, register, Fixture};
pub use therapist::{admin_proof, make_therapist, therapist_proof, Made, Spec, STUDIO_ADDRESS};
pub use totp::{cipher_of, code_for_step, demo_login, fresh_totp_code, step_now, totp_secret};
pub use waitlist::{join_waitlist, one_slot_therapist, set_hours, spawn_waitlist_app};
