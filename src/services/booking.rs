//! Booking writes. The database has the last word on overlaps: a refused insert is the typed
//! `slot_taken` error, never a 500.

use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::models::appointment::NewAppointment;
use crate::models::audit;

/// Inserts an appointment inside a write transaction (BEGIN IMMEDIATE on SQLite) and audits it.
pub fn insert_appointment(conn: &mut DbConnection, new: &NewAppointment) -> Result<i64, AppError> {
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

/// An appointment as its viewer may see it: its client, its therapist or an admin.
/// Anyone else gets 404, as if it did not exist.
pub fn find_visible(
    conn: &mut DbConnection,
    viewer: &crate::models::user::User,
    id: i64,
) -> Result<crate::models::appointment::Appointment, AppError> {
    use crate::domain::account::Role;
    let appt = crate::models::appointment::Appointment::find(conn, id)?;
    let allowed = match viewer.role() {
        Role::Admin => true,
        Role::Client => appt.client_id == viewer.id,
        Role::Therapist => crate::models::therapist::Therapist::find_by_user(conn, viewer.id)?
            .is_some_and(|t| t.id == appt.therapist_id),
    };
    if allowed {
        Ok(appt)
    } else {
        Err(AppError::NotFound)
    }
}
