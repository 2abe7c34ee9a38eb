//! One file per table: the row struct, `New*` for inserts, queries returning `QueryResult`.

pub mod account_token;
pub mod api_token;
pub mod appointment;
pub mod audit;
pub mod booking_policy;
pub mod course;
pub mod credential;
pub mod idempotency;
pub mod login_attempt;
pub mod outbox;
pub mod photo;
pub mod service;
pub mod session;
pub mod technique;
pub mod therapist;
pub mod totp;
pub mod user;
pub mod waitlist;

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// The current instant in UTC, to the microsecond (both backends keep that much).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}
