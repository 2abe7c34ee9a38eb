//! Therapists' profile photos: an upload checked and re-encoded (`domain::photo`), stored in
//! the database in place of the earlier one with its audit row, removed, and read back by
//! version for serving.

use crate::db::{write_transaction, DbConnection};
use crate::domain::photo::{self, PhotoError, PhotoSize, ProcessedPhoto};
use crate::error::AppError;
use crate::models::{audit, now, photo as photo_rows};
use crate::services::access::{self, Proof};
use crate::services::therapists::own_profile;

/// The form field (and API error field) of an upload.
pub const FIELD: &str = "photo";

/// The URLs of a stored photo at each size.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PhotoUrls {
    /// The photo's version (it changes with every new photo).
    pub version: i64,
    /// 320 by 320 pixels, for a profile.
    pub photo_url: String,
    /// 192 by 192 pixels, for a result card.
    pub photo_card_url: String,
}

impl PhotoUrls {
    pub fn of(therapist_id: i64, version: i64) -> Option<PhotoUrls> {
        Some(PhotoUrls {
            version,
            photo_url: photo::url(therapist_id, version, PhotoSize::Profile)?,
            photo_card_url: photo::url(therapist_id, version, PhotoSize::Card)?,
        })
    }
}

/// Decodes and re-encodes an upload (CPU work: run it off the async threads, and before taking a
/// connection). A refused file is a validation error on [`FIELD`].
pub fn process(upload: &[u8]) -> Result<ProcessedPhoto, AppError> {
    photo::process(upload).map_err(refused)
}

pub fn refused(e: PhotoError) -> AppError {
    AppError::field(FIELD, e.to_string())
}

/// Stores the photo as the therapist's own, in place of any earlier one.
pub fn store(
    conn: &mut DbConnection,
    who: &access::Therapist,
    photo: &ProcessedPhoto,
) -> Result<PhotoUrls, AppError> {
    let therapist = own_profile(conn, who)?;
    write_transaction(conn, |conn| {
        photo_rows::replace(conn, therapist.id, photo, now())?;
        audit::record(
            conn,
            Some(who.id()),
            "profile.photo",
            "therapist",
            Some(therapist.id),
            "profile photo changed",
        )?;
        Ok::<_, AppError>(())
    })?;
    PhotoUrls::of(therapist.id, photo.version)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a stored photo has version 0")))
}

/// Removes the therapist's photo; whether there was one.
pub fn remove(conn: &mut DbConnection, who: &access::Therapist) -> Result<bool, AppError> {
    let therapist = own_profile(conn, who)?;
    write_transaction(conn, |conn| {
        let removed = photo_rows::remove(conn, therapist.id)?;
        if removed {
            audit::record(
                conn,
                Some(who.id()),
                "profile.photo",
                "therapist",
                Some(therapist.id),
                "profile photo removed",
            )?;
        }
        Ok::<_, AppError>(removed)
    })
}

/// The bytes of a photo at one size, when `version` is the therapist's stored photo.
pub fn bytes(
    conn: &mut DbConnection,
    therapist_id: i64,
    version: i64,
    size: PhotoSize,
) -> Result<Vec<u8>, AppError> {
    photo_rows::bytes(conn, therapist_id, version, size)?.ok_or(AppError::NotFound)
}
