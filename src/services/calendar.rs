//! Calendars: an iCalendar (.ics) file for one appointment, and a private feed per therapist
//! that calendar apps subscribe to. The feed URL carries a random secret; the database keeps
//! only its SHA-256 (`therapists.calendar_token_hash`), so creating a new one rotates it and
//! revoking clears it.
//!
//! **Nothing health-related goes into a calendar**: no screening outcome, answers, flags or
//! notes. Calendars end up synced to phones, shared with assistants and on lock screens.

use chrono::{DateTime, Duration, Utc};
use icalendar::{Calendar, Class, Component, Event, EventLike, EventStatus};

use crate::db::{write_transaction, DbConnection};
use crate::domain::account::Role;
use crate::domain::appointment::AppointmentStatus;
use crate::error::AppError;
use crate::models::audit;
use crate::models::service::Service;
use crate::models::therapist::Therapist;
use crate::models::user::User;
use crate::services::access::{self, Proof};
use crate::services::booking::{self, ListItem};
use crate::services::tokens::{hash_token, random_token};

/// How far back and ahead the feed reaches.
pub const FEED_DAYS_BACK: i64 = 30;
pub const FEED_DAYS_AHEAD: i64 = 180;

/// Whose calendar an event is written for: the summary names the other party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// "Swedish massage with Maya Okafor"
    Client,
    /// "Swedish 60 min: Dana Client"
    Therapist,
}

/// What a calendar may know about an appointment: when, what, with whom, and its status.
#[derive(Debug, Clone)]
pub struct CalendarEntry {
    pub id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    /// The technique's slug.
    pub technique: String,
    pub duration_min: i32,
    pub therapist_name: String,
    pub client_name: String,
}

impl CalendarEntry {
    fn from_list_item(item: &ListItem, client_name: &str) -> CalendarEntry {
        CalendarEntry {
            id: item.id,
            starts_at: item.starts_at.and_utc(),
            ends_at: item.ends_at.and_utc(),
            status: item.status,
            technique: item.technique.clone(),
            duration_min: item.duration_min,
            therapist_name: item.therapist_name.clone(),
            client_name: client_name.to_string(),
        }
    }

    fn summary(&self, audience: Audience) -> String {
        let name = crate::domain::technique::find(&self.technique)
            .map(|t| t.name)
            .unwrap_or(&self.technique);
        match audience {
            Audience::Client => {
                let lower = name.to_lowercase();
                if lower.contains("massage") || lower.contains("therapy") {
                    format!("{name} with {}", self.therapist_name)
                } else {
                    format!("{name} massage with {}", self.therapist_name)
                }
            }
            Audience::Therapist => {
                format!("{name} {} min: {}", self.duration_min, self.client_name)
            }
        }
    }

    fn event_status(&self) -> EventStatus {
        match self.status {
            AppointmentStatus::Requested => EventStatus::Tentative,
            AppointmentStatus::Cancelled => EventStatus::Cancelled,
            // The time was held.
            AppointmentStatus::Confirmed
            | AppointmentStatus::Completed
            | AppointmentStatus::NoShow => EventStatus::Confirmed,
        }
    }

    fn event(&self, audience: Audience, stamp: DateTime<Utc>) -> Event {
        Event::new()
            .uid(&format!("appointment-{}@bodywork", self.id))
            .timestamp(stamp)
            .starts(self.starts_at)
            .ends(self.ends_at)
            .summary(&self.summary(audience))
            .description(&format!("Booked through Bodywork (booking {}).", self.id))
            .status(self.event_status())
            .class(Class::Private)
            .done()
    }
}

fn new_calendar() -> Calendar {
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"))
        .append_property(("PRODID", "-//Bodywork//Bodywork//EN"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", "PUBLISH"));
    cal
}

/// A calendar file with one appointment, written for `audience`. Times are in UTC.
pub fn appointment_ics(entry: &CalendarEntry, audience: Audience) -> String {
    let mut cal = new_calendar();
    cal.push(entry.event(audience, Utc::now()));
    cal.to_string()
}

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
        starts_at: appt.starts_at.and_utc(),
        ends_at: appt.ends_at.and_utc(),
        status: appt.status,
        technique: service.technique_slug,
        duration_min: service.duration_min,
        therapist_name: User::find(conn, therapist.user_id)?.name,
        client_name: User::find(conn, appt.client_id)?.name,
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
    let mut cal = new_calendar();
    cal.name(&format!("Bodywork: {name}"))
        .ttl(&Duration::hours(1));
    for (item, client_name) in items.iter().filter(|(i, _)| i.status.is_active()) {
        cal.push(CalendarEntry::from_list_item(item, client_name).event(Audience::Therapist, now));
    }
    Ok(cal.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(status: &str) -> CalendarEntry {
        CalendarEntry {
            id: 42,
            starts_at: Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap(),
            status: AppointmentStatus::parse(status).unwrap(),
            technique: "swedish".into(),
            duration_min: 60,
            therapist_name: "Maya Okafor".into(),
            client_name: "Dana Client".into(),
        }
    }

    #[test]
    fn one_appointment_in_utc_with_a_summary_per_audience() {
        let ics = appointment_ics(&entry("confirmed"), Audience::Client);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
        assert!(ics.contains("UID:appointment-42@bodywork\r\n"), "{ics}");
        assert!(ics.contains("DTSTART:20261201T150000Z\r\n"), "{ics}");
        assert!(ics.contains("DTEND:20261201T160000Z\r\n"), "{ics}");
        assert!(
            ics.contains("SUMMARY:Swedish massage with Maya Okafor\r\n"),
            "{ics}"
        );
        assert!(ics.contains("STATUS:CONFIRMED\r\n"), "{ics}");
        let ics = appointment_ics(&entry("requested"), Audience::Therapist);
        assert!(
            ics.contains("SUMMARY:Swedish 60 min: Dana Client\r\n"),
            "{ics}"
        );
        assert!(ics.contains("STATUS:TENTATIVE\r\n"), "{ics}");
        let ics = appointment_ics(&entry("cancelled"), Audience::Client);
        assert!(ics.contains("STATUS:CANCELLED\r\n"), "{ics}");
    }

    #[test]
    fn technique_names_that_already_say_what_they_are_are_not_doubled() {
        let mut e = entry("confirmed");
        e.technique = "trigger-point".into();
        assert_eq!(
            e.summary(Audience::Client),
            "Trigger point therapy with Maya Okafor"
        );
    }
}
