use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::appointments;
use crate::db::DbConnection;
use crate::domain::appointment::{AppointmentStatus, CancelKind, Visit};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = appointments)]
pub struct Appointment {
    pub id: i64,
    pub therapist_id: i64,
    pub client_id: i64,
    pub service_id: i64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub blocked_until: NaiveDateTime,
    #[diesel(deserialize_as = String)]
    pub status: AppointmentStatus,
    pub screening_version: i32,
    pub screening_answers: String,
    pub screening_outcome: String,
    pub clearance_confirmed: bool,
    pub flags_acknowledged_at: Option<NaiveDateTime>,
    pub cancelled_by: Option<i64>,
    pub cancel_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Stored text of [`CancelKind`]; read it with [`Appointment::cancel_kind`].
    pub cancel_kind: Option<String>,
    /// The first appointment of a chain of moves (None: this one); see [`Appointment::calendar_uid`].
    pub calendar_series: Option<i64>,
    /// The iCalendar SEQUENCE: one more at each move.
    pub calendar_sequence: i32,
    #[diesel(deserialize_as = String)]
    pub visit: Visit,
    /// A mobile visit's address, encrypted ('' for a studio visit).
    pub client_address: String,
    /// Entered by the therapist, waiting for the client's answers: `screening_outcome` holds
    /// no finding meanwhile.
    pub screening_pending: bool,
    /// The therapist's user who entered it (None: the client booked it).
    pub entered_by: Option<i64>,
    /// The therapist's note when entering it, encrypted ('' without one).
    pub entry_note: String,
}

impl Appointment {
    /// The id its calendar event is known by: the same across moves.
    pub fn calendar_id(&self) -> i64 {
        self.calendar_series.unwrap_or(self.id)
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = appointments)]
pub struct NewAppointment {
    pub therapist_id: i64,
    pub client_id: i64,
    pub service_id: i64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub blocked_until: NaiveDateTime,
    #[diesel(serialize_as = String)]
    pub status: AppointmentStatus,
    pub screening_version: i32,
    pub screening_answers: String,
    pub screening_outcome: String,
    pub clearance_confirmed: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    #[diesel(serialize_as = String)]
    pub visit: Visit,
    pub client_address: String,
    pub screening_pending: bool,
    pub entered_by: Option<i64>,
    pub entry_note: String,
}

/// The typed error for a booking the database refused because the time is taken.
pub fn slot_taken() -> AppError {
    AppError::Conflict {
        code: "slot_taken",
        message: "Someone else has just booked this time. Please choose another.".into(),
    }
}

/// True when the database refused a write because two active appointments would overlap:
/// the exclusion constraint on PostgreSQL, the `overlap` trigger on SQLite.
pub fn is_overlap(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::ExclusionViolation, _) => true,
        DieselError::DatabaseError(_, info) => info.message().contains("overlap"),
        _ => false,
    }
}

impl NewAppointment {
    /// Inserts the appointment; an overlap with another active one is `slot_taken`.
    pub fn insert(&self, conn: &mut DbConnection) -> Result<i64, AppError> {
        diesel::insert_into(appointments::table)
            .values(self.clone())
            .returning(appointments::id)
            .get_result(conn)
            .map_err(|e| {
                if is_overlap(&e) {
                    slot_taken()
                } else {
                    e.into()
                }
            })
    }
}

impl Appointment {
    /// How it ended, when cancelled (`None` for an unknown stored text).
    pub fn cancel_kind(&self) -> Option<CancelKind> {
        self.cancel_kind.as_deref().and_then(CancelKind::parse)
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Appointment> {
        appointments::table
            .find(id)
            .select(Appointment::as_select())
            .first(conn)
    }

    /// Changes the status; reactivating into an overlap is `slot_taken`.
    pub fn set_status(
        conn: &mut DbConnection,
        id: i64,
        status: AppointmentStatus,
        now: NaiveDateTime,
    ) -> Result<usize, AppError> {
        diesel::update(appointments::table.find(id))
            .set((
                appointments::status.eq(status.as_str()),
                appointments::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| {
                if is_overlap(&e) {
                    slot_taken()
                } else {
                    e.into()
                }
            })
    }
}
