//! The mails of booking events, written to the outbox inside the transaction of the change:
//! `services::booking` calls these after its update and before it commits. Each loads what the
//! mails say (names, addresses, the service, the time on the therapist's clock), picks who is
//! told ([`booked`], [`confirmed`], [`declined`], [`cancelled`], [`moved`]), attaches the
//! client's calendar update (`domain::mail::calendar_update`), and plans or withdraws the
//! reminders.
//!
//! **Never health data.** The mails get the screening outcome only as "there is something to
//! read" for the therapist ([`BookingMail::flagged`]); never answers, outcomes, reasons or notes,
//! and never the client's own cancel reason (it may speak of their health).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::DbConnection;
use crate::domain::appointment::{self as rules, AppointmentStatus};
use crate::domain::mail::{self as mail_rules, CalendarChange};
use crate::domain::screening::Outcome;
use crate::error::AppError;
use crate::models::appointment::Appointment;
use crate::models::service::Service;
use crate::models::therapist::{zone, Therapist};
use crate::services::ics::{self, CalendarEntry};
use crate::services::mail::{
    render_booking, render_entered, BookingEvent, BookingMail, EnteredEvent, EnteredMail, MailCtx,
};
use crate::services::outbox::{self, Outgoing};

/// A person a booking mail goes to.
#[derive(Debug, Clone, Queryable)]
struct Person {
    user_id: i64,
    name: String,
    email: String,
    reminders: bool,
}

fn person(conn: &mut DbConnection, user_id: i64) -> Result<Person, AppError> {
    Ok(users::table
        .find(user_id)
        .select((users::id, users::name, users::email, users::reminders))
        .first(conn)?)
}

/// What booking mails say about an appointment.
struct Facts {
    appt: Appointment,
    /// The studio's address (public; a mobile visit's address is never in a mail).
    studio_address: Option<String>,
    tz: Tz,
    technique: String,
    duration_min: i32,
    therapist: Person,
    client: Person,
}

fn facts(conn: &mut DbConnection, appointment_id: i64) -> Result<Facts, AppError> {
    let appt = Appointment::find(conn, appointment_id)?;
    let therapist = Therapist::find(conn, appt.therapist_id)?;
    let service = Service::find(conn, appt.service_id)?;
    Ok(Facts {
        studio_address: therapist.address.clone(),
        tz: zone(&therapist.timezone),
        technique: service.technique_slug,
        duration_min: service.duration_min,
        therapist: person(conn, therapist.user_id)?,
        client: person(conn, appt.client_id)?,
        appt,
    })
}

impl Facts {
    /// Where, as every booking mail and calendar says it: the studio's address, or that it is
    /// a mobile visit (never its address).
    fn place(&self) -> String {
        ics::location(self.appt.visit, self.studio_address.as_deref())
    }

    fn starts(&self) -> DateTime<Utc> {
        self.appt.starts_at.and_utc()
    }

    fn when(&self) -> String {
        mail_rules::mail_time(self.starts(), self.tz)
    }

    fn service(&self) -> String {
        let name = crate::domain::technique::find(&self.technique)
            .map(|t| t.name)
            .unwrap_or(&self.technique);
        format!("{name}, {} minutes", self.duration_min)
    }

    /// A mail of `event` to the therapist or the client, with the facts filled in.
    fn mail(&self, ctx: &MailCtx, event: BookingEvent, for_therapist: bool) -> BookingMail {
        let id = self.appt.id;
        BookingMail {
            event,
            to_name: if for_therapist {
                self.therapist.name.clone()
            } else {
                self.client.name.clone()
            },
            for_therapist,
            therapist_name: self.therapist.name.clone(),
            client_name: self.client.name.clone(),
            service: self.service(),
            when: self.when(),
            old_when: None,
            confirm_by: rules::confirm_by(
                self.appt.status,
                self.appt.created_at.and_utc(),
                self.starts(),
            )
            .map(|t| mail_rules::mail_time(t, self.tz)),
            reason: None,
            flagged: false,
            confirmed: self.appt.status == AppointmentStatus::Confirmed,
            withdrawn: false,
            by_admin: false,
            location: self.place(),
            link: if for_therapist {
                ctx.link(&format!("/therapist/appointments/{id}"))
            } else {
                ctx.link(&format!("/bookings/{id}"))
            },
            settings_link: ctx.link("/account"),
            sessions: Vec::new(),
        }
    }

    /// The client's calendar update for `change` (see `domain::mail::calendar_update`).
    /// The calendar event of this booking.
    fn entry(&self) -> CalendarEntry {
        CalendarEntry {
            id: self.appt.id,
            uid_id: self.appt.calendar_id(),
            sequence: self.appt.calendar_sequence,
            starts_at: self.starts(),
            ends_at: self.appt.ends_at.and_utc(),
            status: self.appt.status,
            technique: self.technique.clone(),
            duration_min: self.duration_min,
            therapist_name: self.therapist.name.clone(),
            client_name: self.client.name.clone(),
            location: self.place(),
        }
    }

    fn client_ics(&self, ctx: &MailCtx, change: CalendarChange, confirmed: bool) -> Option<String> {
        let (method, sequence) =
            mail_rules::calendar_update(change, confirmed, self.appt.calendar_sequence)?;
        let entry = CalendarEntry {
            id: self.appt.id,
            uid_id: self.appt.calendar_id(),
            sequence: self.appt.calendar_sequence,
            starts_at: self.starts(),
            ends_at: self.appt.ends_at.and_utc(),
            status: self.appt.status,
            technique: self.technique.clone(),
            duration_min: self.duration_min,
            therapist_name: self.therapist.name.clone(),
            client_name: self.client.name.clone(),
            location: self.place(),
        };
        Some(ics::invitation(
            &entry,
            method,
            sequence,
            &ctx.organizer,
            &self.client.email,
        ))
    }

    fn send(
        &self,
        conn: &mut DbConnection,
        ctx: &MailCtx,
        m: &BookingMail,
        ics: Option<String>,
        send_after: Option<DateTime<Utc>>,
    ) -> Result<i64, AppError> {
        let to = if m.for_therapist {
            &self.therapist
        } else {
            &self.client
        };
        outbox::enqueue(
            conn,
            Outgoing {
                kind: m.event.kind(),
                to_email: to.email.clone(),
                user_id: Some(to.user_id),
                appointment_id: Some(self.appt.id),
                send_after,
                rendered: render_booking(ctx, m, ics)?,
            },
        )
    }

    /// Plans the reminders of a confirmed booking, `reminder_hours` before its start, for each
    /// of its people who wants them; none when that moment has passed.
    fn plan_reminders(&self, conn: &mut DbConnection, ctx: &MailCtx) -> Result<(), AppError> {
        let Some(at) = mail_rules::reminder_at(self.starts(), Utc::now(), ctx.reminder_hours)
        else {
            return Ok(());
        };
        for for_therapist in [false, true] {
            let who = if for_therapist {
                &self.therapist
            } else {
                &self.client
            };
            if who.reminders {
                let m = self.mail(ctx, BookingEvent::Reminder, for_therapist);
                self.send(conn, ctx, &m, None, Some(at))?;
            }
        }
        Ok(())
    }
}

/// A new booking: the therapist is told of the request (or of the booking, with auto-confirm;
/// "something to read" when screening flagged it), the client that it was received (or that
/// they are booked, with the calendar file and the reminders planned).
pub fn booked(conn: &mut DbConnection, ctx: &MailCtx, appointment_id: i64) -> Result<(), AppError> {
    let f = facts(conn, appointment_id)?;
    let mut to_therapist = f.mail(ctx, BookingEvent::Requested, true);
    to_therapist.flagged = Outcome::is_flagged_str(crate::domain::screening::shown_outcome(
        &f.appt.screening_outcome,
        f.appt.screening_pending,
    ));
    f.send(conn, ctx, &to_therapist, None, None)?;
    if f.appt.status == AppointmentStatus::Confirmed {
        let m = f.mail(ctx, BookingEvent::Confirmed, false);
        let ics = f.client_ics(ctx, CalendarChange::Confirmed, true);
        f.send(conn, ctx, &m, ics, None)?;
        f.plan_reminders(conn, ctx)?;
    } else {
        let m = f.mail(ctx, BookingEvent::Received, false);
        f.send(conn, ctx, &m, None, None)?;
    }
    Ok(())
}

/// A course was booked: one mail to the therapist (every session listed) and one to the client
/// (received, or booked with one calendar file holding every session), whatever the number of
/// sessions; reminders are planned per confirmed session. `appointment_ids` are the course's
/// booked sessions in order.
pub fn course_booked(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    course_id: i64,
    appointment_ids: &[i64],
) -> Result<(), AppError> {
    let all = appointment_ids
        .iter()
        .map(|id| facts(conn, *id))
        .collect::<Result<Vec<Facts>, AppError>>()?;
    let Some(first) = all.first() else {
        return Ok(());
    };
    let sessions: Vec<String> = all.iter().map(|f| f.when()).collect();
    let mut to_therapist = first.mail(ctx, BookingEvent::Requested, true);
    to_therapist.sessions = sessions.clone();
    to_therapist.flagged = Outcome::is_flagged_str(crate::domain::screening::shown_outcome(
        &first.appt.screening_outcome,
        first.appt.screening_pending,
    ));
    first.send(conn, ctx, &to_therapist, None, None)?;
    let confirmed = first.appt.status == AppointmentStatus::Confirmed;
    let event = if confirmed {
        BookingEvent::Confirmed
    } else {
        BookingEvent::Received
    };
    let mut m = first.mail(ctx, event, false);
    m.sessions = sessions;
    m.link = ctx.link(&format!("/courses/{course_id}"));
    let ics = confirmed.then(|| {
        let entries: Vec<CalendarEntry> = all.iter().map(|f| f.entry()).collect();
        ics::course_invitation(&entries, &ctx.organizer, &first.client.email)
    });
    first.send(conn, ctx, &m, ics, None)?;
    if confirmed {
        for f in &all {
            f.plan_reminders(conn, ctx)?;
        }
    }
    Ok(())
}

/// The therapist confirmed: the client is booked (calendar file), reminders are planned.
pub fn confirmed(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    appointment_id: i64,
) -> Result<(), AppError> {
    let f = facts(conn, appointment_id)?;
    let m = f.mail(ctx, BookingEvent::Confirmed, false);
    let ics = f.client_ics(ctx, CalendarChange::Confirmed, true);
    f.send(conn, ctx, &m, ics, None)?;
    f.plan_reminders(conn, ctx)
}

/// The therapist declined a request: the client is told, with the therapist's reason.
pub fn declined(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    appointment_id: i64,
) -> Result<(), AppError> {
    let f = facts(conn, appointment_id)?;
    outbox::withdraw_reminders(conn, appointment_id)?;
    let mut m = f.mail(ctx, BookingEvent::Declined, false);
    m.reason = f.appt.cancel_reason.clone().filter(|r| !r.is_empty());
    f.send(conn, ctx, &m, None, None)?;
    Ok(())
}

/// Who cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canceller {
    /// The client cancelled, or withdrew a request (`withdrawn`).
    Client {
        withdrawn: bool,
    },
    Therapist,
    Admin,
}

/// A cancel: the reminders are withdrawn; a client's cancel is told to the therapist (without
/// the client's reason), a therapist's or an admin's to the client (with the reason they gave,
/// and `METHOD:CANCEL` when the booking was confirmed, so in the client's calendar).
pub fn cancelled(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    appointment_id: i64,
    by: Canceller,
    was_confirmed: bool,
) -> Result<(), AppError> {
    let f = facts(conn, appointment_id)?;
    outbox::withdraw_reminders(conn, appointment_id)?;
    match by {
        Canceller::Client { withdrawn } => {
            let mut m = f.mail(ctx, BookingEvent::CancelledByClient, true);
            m.withdrawn = withdrawn;
            f.send(conn, ctx, &m, None, None)?;
        }
        Canceller::Therapist | Canceller::Admin => {
            let mut m = f.mail(ctx, BookingEvent::CancelledByTherapist, false);
            m.by_admin = by == Canceller::Admin;
            m.reason = f.appt.cancel_reason.clone().filter(|r| !r.is_empty());
            m.link = ctx.link("/bookings");
            let ics = f.client_ics(ctx, CalendarChange::Cancelled, was_confirmed);
            f.send(conn, ctx, &m, ics, None)?;
        }
    }
    Ok(())
}

/// A course was cancelled: the other party gets one mail listing the sessions cancelled
/// (`cancelled`: each session with whether it was confirmed), and a therapist's cancel gives
/// the client one calendar file that removes every confirmed one. Reminders were withdrawn per
/// session by the caller.
pub fn course_cancelled(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    course_id: i64,
    cancelled: &[(i64, bool)],
    by: Canceller,
) -> Result<(), AppError> {
    let all = cancelled
        .iter()
        .map(|(id, _)| facts(conn, *id))
        .collect::<Result<Vec<Facts>, AppError>>()?;
    let Some(first) = all.first() else {
        return Ok(());
    };
    let sessions: Vec<String> = all.iter().map(|f| f.when()).collect();
    match by {
        Canceller::Client { withdrawn } => {
            let mut m = first.mail(ctx, BookingEvent::CancelledByClient, true);
            m.withdrawn = withdrawn;
            m.sessions = sessions;
            m.link = ctx.link(&format!("/courses/{course_id}"));
            first.send(conn, ctx, &m, None, None)?;
        }
        Canceller::Therapist | Canceller::Admin => {
            let mut m = first.mail(ctx, BookingEvent::CancelledByTherapist, false);
            m.by_admin = by == Canceller::Admin;
            m.reason = first.appt.cancel_reason.clone().filter(|r| !r.is_empty());
            m.sessions = sessions;
            m.link = ctx.link(&format!("/courses/{course_id}"));
            let in_calendar: Vec<CalendarEntry> = all
                .iter()
                .zip(cancelled)
                .filter(|(_, (_, was_confirmed))| *was_confirmed)
                .map(|(f, _)| f.entry())
                .collect();
            let ics = (!in_calendar.is_empty()).then(|| {
                ics::course_cancellation(&in_calendar, &ctx.organizer, &first.client.email)
            });
            first.send(conn, ctx, &m, ics, None)?;
        }
    }
    Ok(())
}

/// The client moved a booking (`old`) to a new appointment: both are told (the client's
/// calendar gets the event again at a higher sequence when it is confirmed), the old reminders
/// are withdrawn and the new ones planned.
pub fn moved(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    old: &Appointment,
    new_id: i64,
) -> Result<(), AppError> {
    outbox::withdraw_reminders(conn, old.id)?;
    let f = facts(conn, new_id)?;
    let old_tz_time = mail_rules::mail_time(old.starts_at.and_utc(), f.tz);
    let confirmed = f.appt.status == AppointmentStatus::Confirmed;
    // Confirmed before, a request now: the event leaves the client's calendar until the
    // therapist confirms the new time.
    let change = if !confirmed && old.status == AppointmentStatus::Confirmed {
        CalendarChange::MovedToRequest
    } else {
        CalendarChange::Moved
    };
    let in_calendar = confirmed || change == CalendarChange::MovedToRequest;
    for for_therapist in [true, false] {
        let mut m = f.mail(ctx, BookingEvent::Moved, for_therapist);
        m.old_when = Some(old_tz_time.clone());
        let ics = if for_therapist {
            None
        } else {
            f.client_ics(ctx, change, in_calendar)
        };
        f.send(conn, ctx, &m, ics, None)?;
    }
    if confirmed {
        f.plan_reminders(conn, ctx)?;
    }
    Ok(())
}

/// A booking the therapist entered: the client is told who booked them, when and where, with
/// the calendar file and the link that answers the screening questions (`screening_link`, a
/// single-use token's), and for a new person the link that claims the account made for them;
/// the reminders are planned. The therapist, who entered it, gets no mail.
pub fn entered(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    appointment_id: i64,
    screening_link: String,
    claim: Option<(String, String)>,
) -> Result<(), AppError> {
    let f = facts(conn, appointment_id)?;
    let (claim_link, claim_valid_for) = match claim {
        Some((link, valid)) => (Some(link), Some(valid)),
        None => (None, None),
    };
    let m = EnteredMail {
        event: EnteredEvent::ScreeningRequest,
        to_name: f.client.name.clone(),
        therapist_name: f.therapist.name.clone(),
        client_name: f.client.name.clone(),
        service: f.service(),
        when: f.when(),
        place: Some(f.place()),
        link: screening_link,
        claim_link,
        claim_valid_for,
    };
    let ics = f.client_ics(ctx, CalendarChange::Confirmed, true);
    outbox::enqueue(
        conn,
        Outgoing {
            kind: m.event.kind(),
            to_email: f.client.email.clone(),
            user_id: Some(f.client.user_id),
            appointment_id: Some(f.appt.id),
            send_after: None,
            rendered: render_entered(ctx, &m, ics)?,
        },
    )?;
    f.plan_reminders(conn, ctx)
}

/// The answers of a booking the therapist entered need their decision: the therapist is told
/// only that, with the link to the appointment.
pub fn needs_decision(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    appointment_id: i64,
) -> Result<(), AppError> {
    let f = facts(conn, appointment_id)?;
    let m = EnteredMail {
        event: EnteredEvent::NeedsDecision,
        to_name: f.therapist.name.clone(),
        therapist_name: f.therapist.name.clone(),
        client_name: f.client.name.clone(),
        service: f.service(),
        when: f.when(),
        place: None,
        link: ctx.link(&format!("/therapist/appointments/{appointment_id}")),
        claim_link: None,
        claim_valid_for: None,
    };
    outbox::enqueue(
        conn,
        Outgoing {
            kind: m.event.kind(),
            to_email: f.therapist.email.clone(),
            user_id: Some(f.therapist.user_id),
            appointment_id: Some(f.appt.id),
            send_after: None,
            rendered: render_entered(ctx, &m, None)?,
        },
    )?;
    Ok(())
}

/// The therapist kept a booking they entered with another service: the client is told the new
/// service and time (never why: the reason is in their answers), with the link to the booking.
pub fn service_changed(
    conn: &mut DbConnection,
    ctx: &MailCtx,
    appointment_id: i64,
) -> Result<(), AppError> {
    let f = facts(conn, appointment_id)?;
    // The client's calendar event takes the new service and end (REQUEST, the next sequence).
    let ics = f.client_ics(
        ctx,
        CalendarChange::ServiceChanged,
        f.appt.status == AppointmentStatus::Confirmed,
    );
    let m = EnteredMail {
        event: EnteredEvent::ServiceChanged,
        to_name: f.client.name.clone(),
        therapist_name: f.therapist.name.clone(),
        client_name: f.client.name.clone(),
        service: f.service(),
        when: f.when(),
        place: Some(f.place()),
        link: ctx.link(&format!("/bookings/{appointment_id}")),
        claim_link: None,
        claim_valid_for: None,
    };
    outbox::enqueue(
        conn,
        Outgoing {
            kind: m.event.kind(),
            to_email: f.client.email.clone(),
            user_id: Some(f.client.user_id),
            appointment_id: Some(f.appt.id),
            send_after: None,
            rendered: render_entered(ctx, &m, ics)?,
        },
    )?;
    Ok(())
}
