use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::booking_policies;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = booking_policies)]
pub struct BookingPolicy {
    pub therapist_id: i64,
    pub min_notice_hours: i32,
    pub max_advance_days: i32,
    pub buffer_min: i32,
    pub cancellation_window_hours: i32,
    pub auto_confirm: bool,
    pub updated_at: NaiveDateTime,
}

impl BookingPolicy {
    pub fn find(conn: &mut DbConnection, therapist_id: i64) -> QueryResult<BookingPolicy> {
        booking_policies::table
            .find(therapist_id)
            .select(BookingPolicy::as_select())
            .first(conn)
    }
}
