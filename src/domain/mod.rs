//! Pure rules and parsed types. No I/O: this module imports neither diesel nor actix.

pub mod account;
pub mod appointment;
pub mod audit;
pub mod availability;
pub mod client_address;
pub mod course;
pub mod credential;
pub mod gazetteer;
pub mod idempotency;
pub mod license_lookup;
pub mod mail;
pub mod notes;
pub mod paging;
pub mod photo;
pub mod practice;
pub mod profile;
pub mod review;
pub mod schedule;
pub mod screening;
pub mod stats;
pub mod technique;
pub mod totp;
pub mod waitlist;

/// Field name → what is wrong with it (forms show it next to the field, the API in `fields`).
pub type FieldErrors = std::collections::BTreeMap<String, String>;
