//! A person's own data: everything stored about them, as one JSON document ([`export`]), and
//! erasing a client's account ([`erase`]).
//!
//! **Export.** The account, the therapist's practice (profile, services, credentials, hours,
//! time off, policy), appointments on either side, sessions and API tokens (when, never the
//! tokens), the mails sent to them (never the bodies: they hold links), the audit rows they
//! caused or that are about their account, and who read their screening answers, session notes
//! or address (`answers_read_by`, each with its `subject`). Their own answers and the session
//! notes of their appointments (every version, `session_notes`) are decrypted; each decryption
//! of answers and of notes (which their therapist wrote) is written to the access log (channel
//! `export`).
//!
//! **Erasure.** A client's upcoming bookings are cancelled (each therapist is mailed through the
//! outbox, in the same transaction), the answers of every booking destroyed and the session
//! notes of every booking deleted (`services::notes::destroy_of_client`), the name and email
//! replaced by a placeholder that cannot log in, sessions, API tokens, mailed links and idempotency keys
//! deleted, queued mails to them withdrawn. The therapists keep the record of past sessions, which now
//! names "Deleted client".

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::db::schema::{
    appointments, audit_log, booking_policies, outbox as mails, screening_access_log, services,
    therapist_techniques, time_off, users, weekly_hours,
};
use crate::db::{write_transaction, DbConnection};
use crate::domain::appointment::{AppointmentStatus, CancelKind};
use crate::domain::mail::mail_time;
use crate::error::AppError;
use crate::models::account_token::AccountToken;
use crate::models::appointment::Appointment;
use crate::models::audit;
use crate::models::credential;
use crate::models::login_attempt::LoginAttempt;
use crate::models::now;
use crate::models::service::Service;
use crate::models::session::Session;
use crate::models::therapist::{zone, Therapist};
use crate::models::user::User;
use crate::models::{api_token, outbox as outbox_rows};
use crate::services::access::{Client, Proof};
use crate::services::booking;
use crate::services::crypto::AnswerCipher;
use crate::services::mail::{render_booking, BookingEvent, BookingMail, MailCtx};
use crate::services::notes;
use crate::services::outbox::{self, Outgoing};

/// The name an erased client's past sessions show.
pub const ERASED_NAME: &str = "Deleted client";

/// The reason an erased client's cancelled bookings carry.
pub const ERASED_REASON: &str = "The client deleted their account.";

/// The placeholder address of an erased account: unique, and in a domain that never receives
/// mail (`.invalid`, RFC 2606).
pub fn erased_email(user_id: i64) -> String {
    format!("deleted-{user_id}@deleted.invalid")
}

fn t(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn opt_t(at: Option<NaiveDateTime>) -> Option<String> {
    at.map(t)
}

/// Everything stored about `user`, as JSON (see the module doc). Writes one access-log row per
/// appointment whose answers it decrypts.
pub fn export(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    user: &User,
) -> Result<Value, AppError> {
    let user = User::find(conn, user.id)?;
    let reminders = User::wants_reminders(conn, user.id)?;
    let account = json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "created_at": t(user.created_at),
        "email_verified_at": opt_t(user.email_verified_at),
        "reminders": reminders,
    });

    // Appointments as the client, with the answers decrypted (each read logged).
    let mine: Vec<Appointment> = appointments::table
        .filter(appointments::client_id.eq(user.id))
        .order(appointments::starts_at.asc())
        .select(Appointment::as_select())
        .load(conn)?;
    let mut as_client = Vec::with_capacity(mine.len());
    for a in &mine {
        let therapist = Therapist::find(conn, a.therapist_id)?;
        let therapist_name: String = users::table
            .find(therapist.user_id)
            .select(users::name)
            .first(conn)?;
        let service = Service::find(conn, a.service_id)?;
        let answers = booking::open_answers(cipher, a)?;
        if answers.is_some() {
            booking::log_answers_read(conn, a.id, user.id, "export")?;
        }
        let session_notes = notes::read_for_export(conn, cipher, &user, a)?;
        let reads: Vec<(String, String, NaiveDateTime, String)> = screening_access_log::table
            .inner_join(users::table)
            .filter(screening_access_log::appointment_id.eq(a.id))
            .order((
                screening_access_log::read_at.asc(),
                screening_access_log::id.asc(),
            ))
            .select((
                users::name,
                screening_access_log::channel,
                screening_access_log::read_at,
                screening_access_log::subject,
            ))
            .load(conn)?;
        as_client.push(json!({
            "id": a.id,
            "therapist_id": a.therapist_id,
            "therapist_name": therapist_name,
            "technique": service.technique_slug,
            "duration_min": service.duration_min,
            "price_cents": service.price_cents,
            "starts_at": t(a.starts_at),
            "ends_at": t(a.ends_at),
            "status": a.status.as_str(),
            "cancel_kind": a.cancel_kind,
            "cancel_reason": a.cancel_reason,
            "screening_version": a.screening_version,
            "screening_outcome": crate::domain::screening::shown_outcome(&a.screening_outcome, a.screening_pending),
            "screening_answers": answers,
            "visit": a.visit.as_str(),
            "client_address": booking::open_address(cipher, a)?.map(|ad| ad.line()),
            "clearance_confirmed": a.clearance_confirmed,
            "created_at": t(a.created_at),
            "answers_read_by": reads.into_iter().map(|(name, channel, at, subject)| json!({
                "name": name, "channel": channel, "read_at": t(at), "subject": subject,
            })).collect::<Vec<_>>(),
            "session_notes": session_notes.versions.iter().map(|v| json!({
                "version": v.version,
                "written_at": t(v.created_at),
                "author": v.author_name,
                "subjective": v.soap.subjective,
                "objective": v.soap.objective,
                "assessment": v.soap.assessment,
                "plan": v.soap.plan,
            })).collect::<Vec<_>>(),
        }));
    }

    let practice = match Therapist::find_by_user(conn, user.id)? {
        None => Value::Null,
        Some(th) => practice(conn, &th)?,
    };

    let sessions: Vec<Value> = Session::of_user(conn, user.id)?
        .into_iter()
        .map(|s| {
            json!({
                "created_at": t(s.created_at),
                "last_seen_at": t(s.last_seen_at),
                "expires_at": t(s.expires_at),
            })
        })
        .collect();
    let api_tokens: Vec<Value> = api_token::of_user(conn, user.id)?
        .into_iter()
        .map(|l| {
            json!({
                "created_at": t(l.created_at),
                "expires_at": t(l.expires_at),
                "revoked_at": opt_t(l.revoked_at),
            })
        })
        .collect();
    let mails: Vec<(
        String,
        String,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
    )> = mails::table
        .filter(mails::user_id.eq(user.id))
        .order(mails::id.asc())
        .select((
            mails::kind,
            mails::to_email,
            mails::subject,
            mails::status,
            mails::created_at,
            mails::sent_at,
        ))
        .load(conn)?;
    let audit_rows: Vec<(String, String, NaiveDateTime)> = audit_log::table
        .filter(
            audit_log::actor_user_id
                .eq(user.id)
                .or(audit_log::object_type
                    .eq("user")
                    .and(audit_log::object_id.eq(user.id))),
        )
        .order(audit_log::id.asc())
        .select((audit_log::action, audit_log::summary, audit_log::created_at))
        .load(conn)?;

    Ok(json!({
        "exported_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "account": account,
        "appointments_as_client": as_client,
        "practice": practice,
        "sessions": sessions,
        "api_tokens": api_tokens,
        "mails": mails.into_iter().map(|(kind, to, subject, status, created, sent)| json!({
            "kind": kind, "to": to, "subject": subject, "status": status,
            "created_at": t(created), "sent_at": opt_t(sent),
        })).collect::<Vec<_>>(),
        "audit": audit_rows.into_iter().map(|(action, summary, at)| json!({
            "action": action, "summary": summary, "at": t(at),
        })).collect::<Vec<_>>(),
    }))
}

/// A therapist's practice as the export gives it (their clients' answers are not theirs: not
/// included).
fn practice(conn: &mut DbConnection, th: &Therapist) -> Result<Value, AppError> {
    let techniques: Vec<String> = therapist_techniques::table
        .filter(therapist_techniques::therapist_id.eq(th.id))
        .select(therapist_techniques::technique_slug)
        .load(conn)?;
    let service_rows: Vec<Service> = services::table
        .filter(services::therapist_id.eq(th.id))
        .order(services::id.asc())
        .select(Service::as_select())
        .load(conn)?;
    let licenses = credential::licenses_of(conn, th.id)?;
    let training = credential::training_of(conn, th.id)?;
    let hours: Vec<(i16, i32, i32)> = weekly_hours::table
        .filter(weekly_hours::therapist_id.eq(th.id))
        .order((weekly_hours::weekday.asc(), weekly_hours::start_min.asc()))
        .select((
            weekly_hours::weekday,
            weekly_hours::start_min,
            weekly_hours::end_min,
        ))
        .load(conn)?;
    let off: Vec<(NaiveDateTime, NaiveDateTime, String)> = time_off::table
        .filter(time_off::therapist_id.eq(th.id))
        .order(time_off::starts_at.asc())
        .select((time_off::starts_at, time_off::ends_at, time_off::note))
        .load(conn)?;
    let policy: Option<(i32, i32, i32, i32, bool)> = booking_policies::table
        .find(th.id)
        .select((
            booking_policies::min_notice_hours,
            booking_policies::max_advance_days,
            booking_policies::buffer_min,
            booking_policies::cancellation_window_hours,
            booking_policies::auto_confirm,
        ))
        .first(conn)
        .optional()?;
    let sessions: Vec<(i64, String, NaiveDateTime, NaiveDateTime, String)> = appointments::table
        .inner_join(users::table.on(users::id.eq(appointments::client_id)))
        .filter(appointments::therapist_id.eq(th.id))
        .order(appointments::starts_at.asc())
        .select((
            appointments::id,
            users::name,
            appointments::starts_at,
            appointments::ends_at,
            appointments::status,
        ))
        .load(conn)?;
    Ok(json!({
        "therapist_id": th.id,
        "bio": th.bio,
        "city": th.city,
        "region": th.region,
        "timezone": th.timezone,
        "languages": th.languages.trim_matches(',').split(',').filter(|l| !l.is_empty()).collect::<Vec<_>>(),
        "accepting_new_clients": th.accepting_new_clients,
        "in_studio": th.in_studio,
        "mobile": th.mobile,
        "address": th.address,
        "phone": th.phone,
        "mobile_radius_km": th.mobile_radius_km,
        "suspended_at": opt_t(th.suspended_at),
        "suspended_reason": th.suspended_reason,
        "calendar_feed_on": th.calendar_token_hash.is_some(),
        "has_photo": th.photo_version > 0,
        "created_at": t(th.created_at),
        "techniques": techniques,
        "services": service_rows.iter().map(|s| json!({
            "id": s.id, "technique": s.technique_slug, "duration_min": s.duration_min,
            "price_cents": s.price_cents, "retired_at": opt_t(s.retired_at),
        })).collect::<Vec<_>>(),
        "licenses": licenses.iter().map(|l| json!({
            "id": l.id, "jurisdiction": l.jurisdiction, "number": l.number,
            "issuing_body": l.issuing_body, "expires_on": l.expires_on.to_string(),
            "status": l.status, "submitted_at": t(l.submitted_at),
            "decided_at": opt_t(l.decided_at), "rejection_reason": l.rejection_reason,
        })).collect::<Vec<_>>(),
        "training": training.iter().map(|r| json!({
            "id": r.id, "program": r.program, "hours": r.hours,
            "completed_on": r.completed_on.to_string(), "status": r.status,
            "submitted_at": t(r.submitted_at), "decided_at": opt_t(r.decided_at),
            "rejection_reason": r.rejection_reason,
        })).collect::<Vec<_>>(),
        "weekly_hours": hours.iter().map(|(d, s, e)| json!({
            "weekday": d, "start_min": s, "end_min": e,
        })).collect::<Vec<_>>(),
        "time_off": off.iter().map(|(s, e, note)| json!({
            "starts_at": t(*s), "ends_at": t(*e), "note": note,
        })).collect::<Vec<_>>(),
        "booking_policy": policy.map(|(n, a, b, c, auto)| json!({
            "min_notice_hours": n, "max_advance_days": a, "buffer_min": b,
            "cancellation_window_hours": c, "auto_confirm": auto,
        })),
        "appointments": sessions.iter().map(|(id, client, s, e, status)| json!({
            "id": id, "client_name": client, "starts_at": t(*s), "ends_at": t(*e),
            "status": status,
        })).collect::<Vec<_>>(),
    }))
}

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    /// Upcoming bookings cancelled (their therapists mailed).
    pub cancelled: usize,
}

/// Erases a client's account (the current password checked beforehand:
/// `accounts::check_current_password`); see the module doc. One transaction.
pub fn erase(
    conn: &mut DbConnection,
    mail: &MailCtx,
    client: &Client,
    now_utc: DateTime<Utc>,
) -> Result<Erased, AppError> {
    let user = client.user().clone();
    write_transaction(conn, |conn| {
        let at = now();
        let upcoming: Vec<Appointment> = appointments::table
            .filter(appointments::client_id.eq(user.id))
            .filter(appointments::status.eq_any([
                AppointmentStatus::Requested.as_str(),
                AppointmentStatus::Confirmed.as_str(),
            ]))
            .filter(appointments::starts_at.gt(now_utc.naive_utc()))
            .select(Appointment::as_select())
            .load(conn)?;
        for a in &upcoming {
            cancel_for_erasure(conn, mail, &user, a, at)?;
        }
        // The answers, mobile visits' addresses and the notes a therapist wrote about the
        // person when entering a booking for them, of every booking, past or not, are
        // destroyed.
        diesel::update(appointments::table.filter(appointments::client_id.eq(user.id)))
            .set((
                appointments::screening_answers.eq(""),
                appointments::client_address.eq(""),
                appointments::entry_note.eq(""),
            ))
            .execute(conn)?;
        // So are the session notes of every booking (their rows deleted: the table refuses
        // updates, not deletes).
        let notes_destroyed = notes::destroy_of_client(conn, user.id)?;
        // Their waitlist entries go too.
        crate::services::waitlist::remove_all_of_client(conn, user.id)?;
        // Their reviews are their own words: deleted, and the ratings they counted in follow.
        crate::services::reviews::destroy_of_client(conn, user.id)?;
        // Their retried bookings' stored answers (which hold their answers) go with the rest.
        crate::services::idempotency::delete_of_user(conn, user.id)?;
        outbox::withdraw_reminders_of_user(conn, user.id)?;
        outbox_rows::forget_recipient(conn, user.id, &erased_email(user.id))?;
        Session::delete_of_user(conn, user.id, None)?;
        api_token::delete_of_user(conn, user.id)?;
        AccountToken::delete_of_user(conn, user.id)?;
        // Their two-factor key and recovery codes.
        crate::models::totp::TotpSecret::remove(conn, user.id)?;
        LoginAttempt::clear(conn, &user.email)?;
        User::erase(
            conn,
            user.id,
            ERASED_NAME,
            &erased_email(user.id),
            crate::services::password::NO_PASSWORD,
            at,
        )?;
        audit::record(
            conn,
            Some(user.id),
            "account.erase",
            "user",
            Some(user.id),
            &format!(
                "client account erased: name and email removed, answers destroyed, {} session note version(s) destroyed, {} upcoming booking(s) cancelled",
                notes_destroyed,
                upcoming.len()
            ),
        )?;
        Ok(Erased {
            cancelled: upcoming.len(),
        })
    })
}

/// Cancels one upcoming booking of a client who erases their account (a request is withdrawn),
/// and mails its therapist, in the erasure's transaction.
fn cancel_for_erasure(
    conn: &mut DbConnection,
    mail: &MailCtx,
    client: &User,
    a: &Appointment,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let withdrawn = a.status == AppointmentStatus::Requested;
    let kind = if withdrawn {
        CancelKind::Withdrawn
    } else {
        CancelKind::Cancelled
    };
    diesel::update(appointments::table.find(a.id))
        .set((
            appointments::status.eq(AppointmentStatus::Cancelled.as_str()),
            appointments::cancel_kind.eq(kind.as_str()),
            appointments::cancelled_by.eq(client.id),
            appointments::cancel_reason.eq(ERASED_REASON),
            appointments::updated_at.eq(at),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        Some(client.id),
        "appointment.cancelled",
        "appointment",
        Some(a.id),
        "cancelled by the client (account erased)",
    )?;
    outbox::withdraw_reminders(conn, a.id)?;
    crate::services::waitlist::note_freed(conn, a.therapist_id, a.starts_at, a.blocked_until)?;
    let therapist = Therapist::find(conn, a.therapist_id)?;
    let (therapist_name, therapist_email): (String, String) = users::table
        .find(therapist.user_id)
        .select((users::name, users::email))
        .first(conn)?;
    let service = Service::find(conn, a.service_id)?;
    let technique = crate::domain::technique::find(&service.technique_slug)
        .map(|t| t.name.to_string())
        .unwrap_or(service.technique_slug.clone());
    let m = BookingMail {
        event: BookingEvent::CancelledByClient,
        to_name: therapist_name.clone(),
        for_therapist: true,
        therapist_name,
        // The mail is written as the name is erased: it does not name the client.
        client_name: "A client who deleted their account".into(),
        service: format!("{technique}, {} minutes", service.duration_min),
        when: mail_time(a.starts_at.and_utc(), zone(&therapist.timezone)),
        old_when: None,
        confirm_by: None,
        reason: None,
        flagged: false,
        confirmed: a.status == AppointmentStatus::Confirmed,
        withdrawn,
        by_admin: false,
        location: crate::services::ics::location(a.visit, therapist.address.as_deref()),
        link: mail.link(&format!("/therapist/appointments/{}", a.id)),
        settings_link: mail.link("/account"),
        sessions: Vec::new(),
    };
    outbox::enqueue(
        conn,
        Outgoing {
            kind: m.event.kind(),
            to_email: therapist_email,
            user_id: Some(therapist.user_id),
            appointment_id: Some(a.id),
            send_after: None,
            rendered: render_booking(mail, &m, None)?,
        },
    )?;
    Ok(())
}
