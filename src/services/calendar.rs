//! Calendars: an iCalendar (.ics) file for one appointment, and a private feed per therapist
//! that calendar apps subscribe to. The feed URL carries a random secret; the database keeps
//! only its SHA-256 (`therapists.calendar_token_hash`), so creating a new one rotates it and
//! revoking clears it.
//!
//! **Nothing health-related goes into a calendar**: no screening outcome, answers, flags or
//! notes. Calendars end up synced to phones, shared with assistants and on lock screens.

use chrono::{Duration, Utc};

use crate::db::{write_transaction, DbConnection};
use crate::domain::account::Role;
use crate::error::AppError;
use crate::models::audit;
use crate::models::service::Service;
use crate::models::therapist::Therapist;
use crate::models::user::User;
use crate::services::access::{self, Proof};
use crate::services::booking::{self, ListItem};
pub use crate::services::ics::{appointment_ics, Audience, CalendarEntry};
use crate::services::ics::{location, new_calendar, CalendarMethod};
use crate::services::tokens::{hash_token, random_token};

/// How far back and ahead the feed reaches.
pub const FEED_DAYS_BACK: i64 = 30;
pub const FEED_DAYS_AHEAD: i64 = 180;

/// The .ics of an appointment for its client or its therapist; anyone else (admins too: a
/// calendar is for the people who attend) gets 404.
pub fn appointment_ics_for(
    conn: &mut DbConnection,
    viewer: &User,
    id: i64,
) -> Result<String, AppError> {
    let appt = booking::find_visible(conn, viewer, id)?;
    let audience = match viewer.role() {
        Role::Client => Audience::Client,
        Role::Therapist => Audience::Therapist,
        Role::Admin => return Err(AppError::NotFound),
    };
    let therapist = Therapist::find(conn, appt.therapist_id)?;
    let service = Service::find(conn, appt.service_id)?;
    let entry = CalendarEntry {
        id: appt.id,
        uid_id: appt.calendar_id(),
        sequence: appt.calendar_sequence,
        starts_at: appt.starts_at.and_utc(),
        ends_at: appt.ends_at.and_utc(),
        status: appt.status,
        technique: service.technique_slug,
        duration_min: service.duration_min,
        therapist_name: User::find(conn, therapist.user_id)?.name,
        client_name: User::find(conn, appt.client_id)?.name,
        location: location(appt.visit, therapist.address.as_deref()),
    };
    Ok(appointment_ics(&entry, audience))
}

/// A therapist's feed: their requested and confirmed appointments from 30 days ago to 180 days
/// ahead, soonest first.
pub fn feed_ics(conn: &mut DbConnection, therapist_id: i64) -> Result<String, AppError> {
    let therapist = Therapist::find(conn, therapist_id)?;
    let name = User::find(conn, therapist.user_id)?.name;
    let now = Utc::now();
    let from = (now - Duration::days(FEED_DAYS_BACK)).naive_utc();
    let to = (now + Duration::days(FEED_DAYS_AHEAD)).naive_utc();
    let items = booking::therapist_list(conn, therapist_id, from, to)?;
    let mut cal = new_calendar(CalendarMethod::Publish);
    cal.name(&format!("Bodywork: {name}"))
        .ttl(&Duration::hours(1));
    for (item, client_name) in items.iter().filter(|(i, _)| i.status.is_active()) {
        cal.push(entry_of(item, client_name).event(Audience::Therapist, now));
    }
    Ok(cal.to_string())
}

/// What a calendar may know of a line of the therapist's list.
fn entry_of(item: &ListItem, client_name: &str) -> CalendarEntry {
    CalendarEntry {
        id: item.id,
        uid_id: item.calendar_series.unwrap_or(item.id),
        sequence: item.calendar_sequence,
        starts_at: item.starts_at.and_utc(),
        ends_at: item.ends_at.and_utc(),
        status: item.status,
        technique: item.technique.clone(),
        duration_min: item.duration_min,
        therapist_name: item.therapist_name.clone(),
        client_name: client_name.to_string(),
        location: location(item.visit, item.studio_address.as_deref()),
    }
}

fn therapist_of(conn: &mut DbConnection, user_id: i64) -> Result<Therapist, AppError> {
    Therapist::find_by_user(conn, user_id)?.ok_or(AppError::Forbidden)
}

/// Whether the therapist (by user id) has a live feed.
pub fn has_feed(conn: &mut DbConnection, therapist: &access::Therapist) -> Result<bool, AppError> {
    let user_id = therapist.id();
    Ok(therapist_of(conn, user_id)?.calendar_token_hash.is_some())
}

/// Creates the therapist's feed token and returns it (the only time it is seen: only its hash
/// is stored). An existing token is replaced, so its URL stops working (rotation).
/// 403 for anyone who is not a therapist.
pub fn create_feed_token(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
) -> Result<String, AppError> {
    let user_id = therapist.id();
    let token = random_token();
    let hash = hash_token(&token);
    write_transaction(conn, |conn| {
        let therapist = therapist_of(conn, user_id)?;
        Therapist::set_calendar_token_hash(conn, therapist.id, Some(&hash))?;
        let summary = if therapist.calendar_token_hash.is_some() {
            "calendar feed rotated: the previous URL no longer works"
        } else {
            "calendar feed created"
        };
        audit::record(
            conn,
            Some(user_id),
            "calendar.feed_create",
            "therapist",
            Some(therapist.id),
            summary,
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(token)
}

/// Turns the therapist's feed off: its URL answers 404 from now on. Revoking when there is no
/// feed changes nothing.
pub fn revoke_feed_token(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
) -> Result<(), AppError> {
    let user_id = therapist.id();
    write_transaction(conn, |conn| {
        let therapist = therapist_of(conn, user_id)?;
        if therapist.calendar_token_hash.is_some() {
            Therapist::set_calendar_token_hash(conn, therapist.id, None)?;
            audit::record(
                conn,
                Some(user_id),
                "calendar.feed_revoke",
                "therapist",
                Some(therapist.id),
                "calendar feed revoked",
            )?;
        }
        Ok(())
    })
}

/// The feed behind a token; 404 for a malformed, unknown, rotated or revoked one.
pub fn feed_for_token(conn: &mut DbConnection, token: &str) -> Result<String, AppError> {
    let well_formed = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(AppError::NotFound);
    }
    let therapist = Therapist::find_by_calendar_token_hash(conn, &hash_token(token))?
        .ok_or(AppError::NotFound)?;
    feed_ics(conn, therapist.id)
}
