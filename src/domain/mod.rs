//! Pure rules and parsed types. No I/O: this module imports neither diesel nor actix.

pub mod account;
pub mod availability;
pub mod technique;
