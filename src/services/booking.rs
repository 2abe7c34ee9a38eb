//! Booking writes. The database has the last word on overlaps: a refused insert is the typed
//! `slot_taken` error, never a 500.

use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::models::appointment::NewAppointment;
use crate::models::audit;

/// Inserts an appointment inside a write transaction (BEGIN IMMEDIATE on SQLite) and audits it.
pub fn insert_appointment(
    conn: &mut DbConnection,
    new: &NewAppointment,
) -> Result<i64, AppError> {
    write_transaction(conn, |conn| {
        let id = new.insert(conn)?;
        audit::record(
            conn,
            Some(new.client_id),
            "appointment.create",
            "appointment",
            Some(id),
            &format!("booked {} to {} UTC", new.starts_at, new.ends_at),
        )?;
        Ok(id)
    })
}
