//! `therapist_photos`: a therapist's profile photo at each fixed size, and
//! `therapists.photo_version`, which names it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{therapist_photos, therapists};
use crate::db::DbConnection;
use crate::domain::photo::{PhotoSize, ProcessedPhoto};

/// Stores the photo of a therapist in place of any earlier one and names it on the therapist.
pub fn replace(
    conn: &mut DbConnection,
    therapist_id: i64,
    photo: &ProcessedPhoto,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(therapist_photos::table.find(therapist_id)).execute(conn)?;
    diesel::insert_into(therapist_photos::table)
        .values((
            therapist_photos::therapist_id.eq(therapist_id),
            therapist_photos::version.eq(photo.version),
            therapist_photos::card_jpeg.eq(&photo.card_jpeg),
            therapist_photos::profile_jpeg.eq(&photo.profile_jpeg),
            therapist_photos::created_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(therapists::table.find(therapist_id))
        .set(therapists::photo_version.eq(photo.version))
        .execute(conn)?;
    Ok(())
}

/// Removes the photo of a therapist; whether there was one.
pub fn remove(conn: &mut DbConnection, therapist_id: i64) -> QueryResult<bool> {
    let n = diesel::delete(therapist_photos::table.find(therapist_id)).execute(conn)?;
    diesel::update(therapists::table.find(therapist_id))
        .filter(therapists::photo_version.ne(0))
        .set(therapists::photo_version.eq(0))
        .execute(conn)?;
    Ok(n > 0)
}

/// The bytes of one size of the photo of this version (None when it is not the stored one).
pub fn bytes(
    conn: &mut DbConnection,
    therapist_id: i64,
    version: i64,
    size: PhotoSize,
) -> QueryResult<Option<Vec<u8>>> {
    let q = therapist_photos::table
        .filter(therapist_photos::therapist_id.eq(therapist_id))
        .filter(therapist_photos::version.eq(version));
    match size {
        PhotoSize::Card => q.select(therapist_photos::card_jpeg).first(conn),
        PhotoSize::Profile => q.select(therapist_photos::profile_jpeg).first(conn),
    }
    .optional()
}
