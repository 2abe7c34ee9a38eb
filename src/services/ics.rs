//! iCalendar text for one appointment: the `.ics` download and feed events
//! (`services::calendar`) and the scheduling messages mails carry (`METHOD:REQUEST`,
//! `METHOD:CANCEL`, see `domain::mail::calendar_update`). An event's UID names the first
//! appointment of its chain of moves, so a calendar that holds it updates it in place.
//!
//! **Nothing health-related goes into a calendar**: no screening outcome, answers, flags or
//! notes. Calendars end up synced to phones, shared with assistants and on lock screens.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Class, Component, Event, EventLike, EventStatus};

use crate::domain::appointment::{AppointmentStatus, Visit};
pub use crate::domain::mail::CalendarMethod as MailMethod;

/// The `METHOD` of a calendar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarMethod {
    /// A file to import or subscribe to (downloads, feeds).
    Publish,
    /// A scheduling message in a mail.
    Mail(MailMethod),
}

impl CalendarMethod {
    fn as_str(self) -> &'static str {
        match self {
            CalendarMethod::Publish => "PUBLISH",
            CalendarMethod::Mail(m) => m.as_str(),
        }
    }
}

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
    /// The id in the event's UID: the first appointment of its chain of moves.
    pub uid_id: i64,
    /// The iCalendar SEQUENCE: one more at each move.
    pub sequence: i32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    /// The technique's slug.
    pub technique: String,
    pub duration_min: i32,
    pub therapist_name: String,
    pub client_name: String,
    /// The LOCATION: the studio's address, or for a mobile visit words that send the reader
    /// to the booking page ([`location`]): a client's address never goes into a calendar.
    pub location: String,
}

/// What a calendar says of where a visit is: the studio's public address; for a mobile visit
/// only that it is one (calendars are synced, shared and shown on lock screens, so the
/// client's address stays on the booking's page).
pub fn location(visit: Visit, studio_address: Option<&str>) -> String {
    match (visit, studio_address) {
        (Visit::Mobile, _) => "Mobile visit: the address is on the booking's page".into(),
        (Visit::Studio, Some(a)) => a.to_string(),
        (Visit::Studio, None) => "The therapist's studio".into(),
    }
}

impl CalendarEntry {
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

    /// The UID calendars know the event by.
    pub fn uid(&self) -> String {
        format!("appointment-{}@bodywork", self.uid_id)
    }

    /// The event as `audience` sees it.
    pub fn event(&self, audience: Audience, stamp: DateTime<Utc>) -> Event {
        Event::new()
            .uid(&self.uid())
            .sequence(self.sequence.max(0) as u32)
            .timestamp(stamp)
            .starts(self.starts_at)
            .ends(self.ends_at)
            .summary(&self.summary(audience))
            .location(&self.location)
            .description(&format!("Booked through Bodywork (booking {}).", self.id))
            .status(self.event_status())
            .class(Class::Private)
            .done()
    }
}

/// An empty calendar with `method`.
pub fn new_calendar(method: CalendarMethod) -> Calendar {
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"))
        .append_property(("PRODID", "-//Bodywork//Bodywork//EN"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", method.as_str()));
    cal
}

/// A calendar file with one appointment, written for `audience`. Times are in UTC.
pub fn appointment_ics(entry: &CalendarEntry, audience: Audience) -> String {
    let mut cal = new_calendar(CalendarMethod::Publish);
    cal.push(entry.event(audience, Utc::now()));
    cal.to_string()
}

/// The scheduling message a client's booking mail carries: `REQUEST` adds or updates the
/// event (at `sequence`), `CANCEL` removes it. `organizer` is the mails' sender address,
/// `attendee` the client's.
pub fn invitation(
    entry: &CalendarEntry,
    method: MailMethod,
    sequence: i32,
    organizer: &str,
    attendee: &str,
) -> String {
    let mut entry = entry.clone();
    entry.sequence = sequence;
    if method == MailMethod::Cancel {
        entry.status = AppointmentStatus::Cancelled;
    }
    let mut event = entry.event(Audience::Client, Utc::now());
    event
        .add_property("ORGANIZER", format!("mailto:{organizer}"))
        .add_property("ATTENDEE", format!("mailto:{attendee}"));
    let mut cal = new_calendar(CalendarMethod::Mail(method));
    cal.push(event.done());
    cal.to_string()
}

/// A course's one scheduling message: every session as its own event (each keeps its own UID,
/// so a later cancel of one session removes only that one), `REQUEST` at each one's sequence.
pub fn course_invitation(entries: &[CalendarEntry], organizer: &str, attendee: &str) -> String {
    course_message(entries, MailMethod::Request, organizer, attendee)
}

/// A course's one cancellation message: every session that was in the client's calendar as
/// its own event, `CANCEL` one above its sequence (as a single cancel, `calendar_update`).
pub fn course_cancellation(entries: &[CalendarEntry], organizer: &str, attendee: &str) -> String {
    course_message(entries, MailMethod::Cancel, organizer, attendee)
}

fn course_message(
    entries: &[CalendarEntry],
    method: MailMethod,
    organizer: &str,
    attendee: &str,
) -> String {
    let mut cal = new_calendar(CalendarMethod::Mail(method));
    for entry in entries {
        let mut entry = entry.clone();
        if method == MailMethod::Cancel {
            entry.sequence += 1;
            entry.status = AppointmentStatus::Cancelled;
        }
        let mut event = entry.event(Audience::Client, Utc::now());
        event
            .add_property("ORGANIZER", format!("mailto:{organizer}"))
            .add_property("ATTENDEE", format!("mailto:{attendee}"));
        cal.push(event.done());
    }
    cal.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(status: &str) -> CalendarEntry {
        CalendarEntry {
            id: 42,
            uid_id: 42,
            sequence: 0,
            starts_at: Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap(),
            status: AppointmentStatus::parse(status).unwrap(),
            technique: "swedish".into(),
            duration_min: 60,
            therapist_name: "Maya Okafor".into(),
            client_name: "Dana Client".into(),
            location: location(Visit::Studio, Some("12 Elm Street, Suite 3")),
        }
    }

    #[test]
    fn the_location_is_the_studio_or_says_mobile_without_an_address() {
        let ics = appointment_ics(&entry("confirmed"), Audience::Client);
        assert!(
            ics.contains("LOCATION:12 Elm Street\\, Suite 3\r\n"),
            "{ics}"
        );
        let mut mobile = entry("confirmed");
        mobile.location = location(Visit::Mobile, Some("12 Elm Street, Suite 3"));
        let ics = appointment_ics(&mobile, Audience::Therapist);
        assert!(ics.contains("LOCATION:Mobile visit"), "{ics}");
        assert!(!ics.contains("Elm"), "{ics}");
    }

    #[test]
    fn one_appointment_in_utc_with_a_summary_per_audience() {
        let ics = appointment_ics(&entry("confirmed"), Audience::Client);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
        assert!(ics.contains("METHOD:PUBLISH\r\n"), "{ics}");
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

    #[test]
    fn a_moved_booking_keeps_its_uid_with_a_higher_sequence_and_a_cancel_cancels() {
        let mut moved = entry("confirmed");
        moved.id = 43;
        let ics = invitation(
            &moved,
            MailMethod::Request,
            1,
            "no-reply@localhost",
            "dana@example.com",
        );
        assert!(ics.contains("METHOD:REQUEST\r\n"), "{ics}");
        assert!(ics.contains("UID:appointment-42@bodywork\r\n"), "{ics}");
        assert!(ics.contains("SEQUENCE:1\r\n"), "{ics}");
        assert!(
            ics.contains("ORGANIZER:mailto:no-reply@localhost\r\n"),
            "{ics}"
        );
        assert!(
            ics.contains("ATTENDEE:mailto:dana@example.com\r\n"),
            "{ics}"
        );
        let ics = invitation(
            &moved,
            MailMethod::Cancel,
            2,
            "no-reply@localhost",
            "dana@example.com",
        );
        assert!(ics.contains("METHOD:CANCEL\r\n"), "{ics}");
        assert!(ics.contains("SEQUENCE:2\r\n"), "{ics}");
        assert!(ics.contains("STATUS:CANCELLED\r\n"), "{ics}");
    }
}
