//! Integration tests: the real server on port 0 with a fresh database per test.
//! SQLite by default; PostgreSQL too when `TEST_DATABASE_URL` names a server
//! (for example `postgres://postgres@127.0.0.1:5432/postgres`).

mod builders;

mod account_links;
mod accounts;
mod admin;
mod booking;
mod browser;
mod browser_account;
mod browser_axe;
mod browser_choose;
mod browser_course;
mod browser_entered;
mod browser_form;
mod browser_notes;
mod browser_photo;
mod browser_reach;
mod browser_reviews;
mod browser_suspension;
mod browser_therapist;
mod browser_totp;
mod browser_waitlist;
mod calendar;
mod charts;
mod choose;
mod client_bookings;
mod courses;
mod database;
mod directory;
mod entered;
mod free_days;
mod fuzz_regressions;
mod health_form;
mod layering;
mod listing;
mod local;
mod mail;
mod notes;
mod openapi;
mod operations;
mod photos;
mod reach;
mod rekey;
mod retries;
mod reviews;
mod routes;
mod screenshots;
mod security;
mod structure;
mod suspension;
mod therapist_day;
mod totp;
mod waitlist;
