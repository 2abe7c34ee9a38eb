use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{booking_policies, therapists};
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = therapists)]
pub struct Therapist {
    pub id: i64,
    pub user_id: i64,
    pub bio: String,
    pub city: Option<String>,
    pub region: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub geo_cell: Option<i32>,
    pub timezone: String,
    pub accepting_new_clients: bool,
    pub languages: String,
    pub in_studio: bool,
    pub mobile: bool,
    pub suspended_at: Option<NaiveDateTime>,
    pub suspended_reason: Option<String>,
    pub calendar_token_hash: Option<String>,
    pub verified_hours: i32,
    pub license_verified_until: Option<chrono::NaiveDate>,
    pub price_from_cents: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The stored photo's version (`domain::photo::url`), 0 without one.
    pub photo_version: i64,
    /// The studio's street address (None: no studio, mobile visits only).
    pub address: Option<String>,
    pub phone: Option<String>,
    /// How far from their city a mobile therapist travels.
    pub mobile_radius_km: Option<i32>,
    /// Reviews shown (not hidden) and the sum of their stars (`domain::review::average`).
    pub rating_count: i32,
    pub rating_sum: i32,
}

/// A stored IANA zone name as a zone (names are validated when saved; New York otherwise).
pub fn zone(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::America::New_York)
}

impl Therapist {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Therapist> {
        therapists::table
            .find(id)
            .select(Therapist::as_select())
            .first(conn)
    }

    pub fn find_by_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<Option<Therapist>> {
        therapists::table
            .filter(therapists::user_id.eq(user_id))
            .select(Therapist::as_select())
            .first(conn)
            .optional()
    }

    /// The therapist whose calendar feed token hashes to `hash` (none once revoked or rotated).
    pub fn find_by_calendar_token_hash(
        conn: &mut DbConnection,
        hash: &str,
    ) -> QueryResult<Option<Therapist>> {
        therapists::table
            .filter(therapists::calendar_token_hash.eq(hash))
            .select(Therapist::as_select())
            .first(conn)
            .optional()
    }

    /// Stores (or, with `None`, clears) the hash of the calendar feed token.
    pub fn set_calendar_token_hash(
        conn: &mut DbConnection,
        id: i64,
        hash: Option<&str>,
    ) -> QueryResult<usize> {
        diesel::update(therapists::table.find(id))
            .set(therapists::calendar_token_hash.eq(hash))
            .execute(conn)
    }

    /// A new therapist profile with the default booking policy: the column defaults of the first
    /// migration, a minimum notice of 2 hours, bookable up to 60 days ahead, a 15-minute buffer
    /// between sessions, a 24-hour cancellation window and no auto-confirm (the therapist
    /// confirms each booking).
    pub fn create_for_user(
        conn: &mut DbConnection,
        user_id: i64,
        now: NaiveDateTime,
    ) -> QueryResult<i64> {
        let id: i64 = diesel::insert_into(therapists::table)
            .values((
                therapists::user_id.eq(user_id),
                // No address yet, so no studio (`in_studio` follows the address).
                therapists::in_studio.eq(false),
                therapists::created_at.eq(now),
                therapists::updated_at.eq(now),
            ))
            .returning(therapists::id)
            .get_result(conn)?;
        diesel::insert_into(booking_policies::table)
            .values((
                booking_policies::therapist_id.eq(id),
                booking_policies::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(id)
    }
}
