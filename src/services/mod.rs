//! The use cases: transactions, authorization and audit. Pages and API both call these.

pub mod access;
pub mod account_data;
pub mod accounts;
pub mod admin;
pub mod booking;
pub mod calendar;
pub mod clients;
pub mod course;
pub mod crypto;
pub mod directory;
pub mod entered;
pub mod ics;
pub mod idempotency;
pub mod mail;
pub mod mail_worker;
pub mod mailer;
pub mod notes;
pub mod notify;
pub mod ops;
pub mod outbox;
pub mod password;
pub mod photos;
pub mod preferences;
pub mod profile;
pub mod rate_limit;
pub mod rekey;
pub mod reviews;
pub mod schedule;
pub mod stats;
pub mod therapists;
pub mod tokens;
pub mod totp;
pub mod waitlist;

/// The pool helpers every use case runs its database work through (they live in `db`, below
/// both the services and the search engine).
pub use crate::db::{blocking, with_conn, with_conn_quick};
