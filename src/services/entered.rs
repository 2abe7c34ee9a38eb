//! Bookings the therapist enters (a phone call, a walk-in) for an existing client or a new
//! person by email ([`enter_for_client`]): the same free-time check and database refusal as a
//! client's booking (`booking::insert_in_free_slot`), confirmed at once with the screening
//! pending; the client is mailed a single-use link to answer the questions
//! ([`answer_screening`], logged in or through the link's token). A `refer` or `decline`
//! (or a clearance the client could not confirm) flags the booking and mails the therapist, who
//! decides: cancel with a reason (`booking::cancel`), or keep it with another service whose
//! technique the answers allow ([`keep_with_service`]). Nothing is cancelled by itself.
//!
//! The therapist's note is encrypted like the answers, with its own associated data; the
//! audit log says what happened, never the answers, the outcome or the note.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::appointments;
use crate::db::{write_transaction, DbConnection};
use crate::domain::account::{Email, PersonName, Role, TokenPurpose};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::practice::VisitRequest;
use crate::domain::screening::{self, Evaluation, Outcome};
use crate::error::{AppError, FieldErrors};
use crate::models::account_token::AccountToken;
use crate::models::appointment::{is_overlap, slot_taken, Appointment, NewAppointment};
use crate::models::audit;
use crate::models::now;
use crate::models::service::Service;
use crate::models::therapist::Therapist;
use crate::models::user::{NewUser, User};
use crate::services::access::{self, Proof};
use crate::services::booking::{self, bookable, insert_in_free_slot};
use crate::services::crypto::AnswerCipher;
use crate::services::mail::MailCtx;
use crate::services::{notify, password, tokens};

/// The longest note a therapist writes when entering a booking.
pub const NOTE_MAX_CHARS: usize = 1000;

/// What the therapist enters.
#[derive(Debug, Clone)]
pub struct EnteredRequest {
    pub client_email: String,
    /// The name of a new person (an existing client keeps theirs).
    pub client_name: String,
    pub service_id: i64,
    pub starts_at: DateTime<Utc>,
    /// The therapist's note (how the client reached them, what they asked for): encrypted.
    pub note: String,
    /// Where: the same visit rule as any booking (`booking::resolve_visit`); a mobile visit's
    /// address is sealed like a client's own.
    pub visit: VisitRequest,
}

/// The parsed input, or every field's message.
struct Parsed {
    email: Email,
    name: Option<PersonName>,
    note: String,
}

fn parse(req: &EnteredRequest) -> Result<Parsed, AppError> {
    let mut fields = FieldErrors::new();
    let email = Email::parse(&req.client_email)
        .map_err(|m| {
            fields.insert(
                "client_email".into(),
                m.replace("your email address", "the client's email address"),
            )
        })
        .ok();
    // The name is needed only for a new person: checked when given, required then.
    let name = if req.client_name.trim().is_empty() {
        None
    } else {
        PersonName::parse(&req.client_name)
            .map_err(|m| fields.insert("client_name".into(), m))
            .ok()
    };
    let note = req.note.trim().to_string();
    if note.chars().count() > NOTE_MAX_CHARS {
        fields.insert(
            "note".into(),
            format!("A note has at most {NOTE_MAX_CHARS} characters."),
        );
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        fields.insert(
            "note".into(),
            "A note cannot contain control characters.".into(),
        );
    }
    match email {
        Some(email) if fields.is_empty() => Ok(Parsed { email, name, note }),
        _ => Err(AppError::validation(fields)),
    }
}

/// Who the booking is for: an existing client, or a new account made now (to claim by mail).
enum ClientFor {
    Existing(User),
    New(i64),
}

/// Finds the client by email, or makes a client account for a new person (name given,
/// unverified, no usable password). A therapist's or an admin's address is refused.
fn client_for(
    conn: &mut DbConnection,
    email: &Email,
    name: Option<&PersonName>,
) -> Result<ClientFor, AppError> {
    if let Some(u) = User::find_by_email(conn, email.as_str())? {
        if u.role() != Role::Client {
            return Err(AppError::field(
                "client_email",
                "This address belongs to a therapist's or an administrator's account: only clients can be booked. Ask for the client's own address.",
            ));
        }
        if u.erased_at.is_some() {
            return Err(AppError::field(
                "client_email",
                "This account was closed. Ask the client for an address to book them with.",
            ));
        }
        return Ok(ClientFor::Existing(u));
    }
    let Some(name) = name else {
        return Err(AppError::field(
            "client_name",
            "No client has this address yet: enter their name, and an account is made for them to claim.",
        ));
    };
    let id = NewUser {
        email: email.as_str(),
        password_hash: password::NO_PASSWORD,
        name: name.as_str(),
        role: Role::Client.as_str(),
        created_at: now(),
        email_verified_at: None,
    }
    .insert(conn)
    .map_err(|e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            crate::services::accounts::email_taken()
        }
        other => other.into(),
    })?;
    Ok(ClientFor::New(id))
}

/// The therapist enters a booking for a client (see the module doc): 201 with the appointment,
/// `confirmed`, screening pending. `slot_taken` and `slot_unavailable` as for any booking; 404
/// for a service that is not theirs, or when they are suspended.
pub fn enter_for_client(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &AnswerCipher,
    therapist: &access::Therapist,
    req: &EnteredRequest,
) -> Result<Appointment, AppError> {
    let parsed = parse(req)?;
    let me = therapist.user();
    let t = Therapist::find_by_user(conn, me.id)?.ok_or(AppError::NotFound)?;
    let (t, service) = bookable(conn, t.id, req.service_id)?;
    let plan = booking::resolve_visit(&t, &req.visit)?;
    let start = req.starts_at;
    let end = start + Duration::minutes(service.duration_min as i64);
    let now_utc = Utc::now();
    let id = write_transaction(conn, |conn| {
        let client = client_for(conn, &parsed.email, parsed.name.as_ref())?;
        let (client_id, new_person) = match &client {
            ClientFor::Existing(u) => (u.id, false),
            ClientFor::New(id) => (*id, true),
        };
        let entry_note = if parsed.note.is_empty() {
            String::new()
        } else {
            booking::seal_note(cipher, &parsed.note, t.id, client_id)
        };
        let client_address = booking::seal_address(cipher, t.id, client_id, &plan)?;
        let (id, new) = insert_in_free_slot(conn, &service, start, now_utc, |policy| {
            Ok(NewAppointment {
                therapist_id: t.id,
                client_id,
                service_id: service.id,
                starts_at: start.naive_utc(),
                ends_at: end.naive_utc(),
                blocked_until: (end + Duration::minutes(policy.buffer_min as i64)).naive_utc(),
                status: AppointmentStatus::Confirmed,
                screening_version: screening::questionnaire().version,
                screening_answers: String::new(),
                // No finding while pending (the column allows only outcomes): every output
                // reads it through `screening::shown_outcome`, which says `pending`.
                screening_outcome: Outcome::Ok.as_str().into(),
                clearance_confirmed: false,
                created_at: now(),
                updated_at: now(),
                visit: plan.visit(),
                client_address: client_address.clone(),
                screening_pending: true,
                entered_by: Some(me.id),
                entry_note,
            })
        })?;
        audit::record(
            conn,
            Some(me.id),
            "appointment.enter",
            "appointment",
            Some(id),
            &format!(
                "entered by the therapist for {} client {client_id}: {} {} min at {} UTC, confirmed, screening pending",
                if new_person { "new" } else { "existing" },
                service.technique_slug,
                service.duration_min,
                new.starts_at,
            ),
        )?;
        let at = now();
        let raw = tokens::issue_until(
            conn,
            client_id,
            TokenPurpose::Screening,
            id,
            new.starts_at,
            at,
        )?;
        let screening_link = mail.link(&format!("/bookings/{id}/screening?token={raw}"));
        let claim = if new_person {
            let purpose = TokenPurpose::AdminInvite;
            let raw = tokens::issue(conn, client_id, purpose, None, at)?;
            Some((
                mail.link(&format!("{}?token={raw}", purpose.page())),
                purpose.lifetime_words(),
            ))
        } else {
            None
        };
        notify::entered(conn, mail, id, screening_link, claim)?;
        Ok::<_, AppError>(id)
    })?;
    Ok(Appointment::find(conn, id)?)
}

/// Who answers a booking's screening questions: its client logged in, or anyone holding the
/// mail's single-use token.
#[derive(Debug, Clone)]
pub enum Answerer<'a> {
    Client(&'a User),
    Token(&'a str),
}

/// Why the screening page cannot take answers (said on the page, 409 in the API).
fn not_pending() -> AppError {
    AppError::Conflict {
        code: "screening_answered",
        message: "The health questions of this booking are already answered. Thank you.".into(),
    }
}

/// The appointment whose questions are to be answered, if `who` may answer them now (the
/// token checked, not used): 404 for someone else's booking or a token of another booking;
/// `token_invalid`, `token_used`, `token_expired` for a token that does not work;
/// `screening_answered` once answered; `already_started`, `invalid_transition` when too late.
pub fn screening_target(
    conn: &mut DbConnection,
    who: &Answerer<'_>,
    id: i64,
) -> Result<Appointment, AppError> {
    let appt = match Appointment::find(conn, id) {
        Ok(a) => a,
        Err(diesel::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    match who {
        Answerer::Client(u) => {
            if u.role() != Role::Client || appt.client_id != u.id {
                return Err(AppError::NotFound);
            }
        }
        Answerer::Token(raw) => {
            let t = tokens::check(conn, raw, TokenPurpose::Screening, now())?;
            token_matches(&t, &appt)?;
        }
    }
    answerable(&appt)?;
    Ok(appt)
}

fn token_matches(t: &AccountToken, appt: &Appointment) -> Result<(), AppError> {
    if t.appointment_id != Some(appt.id) || t.user_id != appt.client_id {
        return Err(AppError::Rule {
            code: "token_invalid",
            message: "This link is not for this booking. Open the link from your mail as it is."
                .into(),
        });
    }
    Ok(())
}

fn answerable(appt: &Appointment) -> Result<(), AppError> {
    if crate::domain::appointment::awaits_answers(
        appt.status,
        appt.screening_pending,
        appt.starts_at.and_utc(),
        Utc::now(),
    ) {
        return Ok(());
    }
    // Why not, in words.
    if !appt.screening_pending {
        return Err(not_pending());
    }
    if !appt.status.is_active() {
        return Err(AppError::Rule {
            code: "invalid_transition",
            message: format!(
                "This booking is {}: there is nothing to answer.",
                appt.status.label()
            ),
        });
    }
    if appt.starts_at.and_utc() <= Utc::now() {
        return Err(AppError::Rule {
            code: "already_started",
            message: "This appointment has already started.".into(),
        });
    }
    Ok(())
}

/// What answering gives back: the appointment, its client (the viewer of the answer), and the
/// evaluation.
pub struct Answered {
    pub appointment: Appointment,
    pub client: User,
    pub evaluation: Evaluation,
}

/// Records the answers of a booking the therapist entered (see [`screening_target`] for who
/// may): encrypted like a client's own booking, the outcome stored, the screening no longer
/// pending, the token (if any) used in the same transaction. It never refuses or cancels: an
/// outcome that needs the therapist's decision flags the booking and mails the therapist.
pub fn answer_screening(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &AnswerCipher,
    who: &Answerer<'_>,
    id: i64,
    answers: &BTreeMap<String, bool>,
    clearance_confirmed: bool,
) -> Result<Answered, AppError> {
    let appt = screening_target(conn, who, id)?;
    let service = Service::find(conn, appt.service_id)?;
    let eval = booking::evaluate_answers(&service.technique_slug, answers)?;
    let clearance = clearance_confirmed && eval.outcome == Outcome::NeedsClearance;
    let sealed = booking::seal_answers(cipher, answers, appt.therapist_id, appt.client_id)?;
    let decide = screening::entered_needs_decision(eval.outcome, clearance);
    write_transaction(conn, |conn| {
        if let Answerer::Token(raw) = who {
            let t = tokens::redeem(conn, raw, TokenPurpose::Screening, now())?;
            token_matches(&t, &appt)?;
        }
        let changed = diesel::update(
            appointments::table
                .find(appt.id)
                .filter(appointments::screening_pending.eq(true)),
        )
        .set((
            appointments::screening_answers.eq(&sealed),
            appointments::screening_outcome.eq(eval.outcome.as_str()),
            appointments::screening_version.eq(screening::questionnaire().version),
            appointments::clearance_confirmed.eq(clearance),
            appointments::screening_pending.eq(false),
            appointments::flags_acknowledged_at.eq(None::<chrono::NaiveDateTime>),
            appointments::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(not_pending());
        }
        audit::record(
            conn,
            Some(appt.client_id),
            "appointment.screening_answered",
            "appointment",
            Some(appt.id),
            "screening questions answered by the client",
        )?;
        if decide {
            notify::needs_decision(conn, mail, appt.id)?;
        }
        Ok::<_, AppError>(())
    })?;
    Ok(Answered {
        appointment: Appointment::find(conn, appt.id)?,
        client: User::find(conn, appt.client_id)?,
        evaluation: eval,
    })
}

/// The therapist keeps a booking whose answers needed their decision, with another of their
/// services: its technique must be one the stored answers allow (re-evaluated: not `refer` or
/// `decline`, and a clearance only when the client confirmed one), its length must still fit
/// (the engine's check, then the database's refusal, `slot_taken`); the flags are acknowledged
/// and the client is mailed the new service (`notify::service_changed`).
pub fn keep_with_service(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &AnswerCipher,
    therapist: &access::Therapist,
    id: i64,
    service_id: i64,
) -> Result<Appointment, AppError> {
    let me = therapist.user();
    let appt = booking::find_visible(conn, me, id)?;
    if me.role() != Role::Therapist {
        return Err(AppError::NotFound);
    }
    if !crate::domain::appointment::needs_decision(
        appt.status,
        appt.entered_by.is_some(),
        appt.screening_pending,
        &appt.screening_outcome,
        appt.clearance_confirmed,
        appt.flags_acknowledged_at.is_some(),
    ) {
        return Err(AppError::Rule {
            code: "no_decision_needed",
            message: "This booking does not wait for your decision.".into(),
        });
    }
    let now_utc = Utc::now();
    let start = appt.starts_at.and_utc();
    if start <= now_utc {
        return Err(AppError::Rule {
            code: "already_started",
            message: "This appointment has already started.".into(),
        });
    }
    let service = match bookable(conn, appt.therapist_id, service_id) {
        Ok((_, s)) => s,
        Err(AppError::NotFound) => {
            return Err(AppError::field(
                "service_id",
                "Choose one of your current services.",
            ))
        }
        Err(e) => return Err(e),
    };
    let answers = booking::open_answers(cipher, &appt)?.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "appointment {} answered without stored answers",
            appt.id
        ))
    })?;
    let eval = booking::evaluate_answers(&service.technique_slug, &answers)?;
    if screening::entered_needs_decision(eval.outcome, appt.clearance_confirmed) {
        return Err(AppError::field(
            "service_id",
            "The client's answers do not allow this technique either. Choose a technique they allow, or cancel the booking with a reason.",
        ));
    }
    let end = start + Duration::minutes(service.duration_min as i64);
    write_transaction(conn, |conn| {
        let policy = crate::models::booking_policy::BookingPolicy::find(conn, appt.therapist_id)?;
        booking::check_slot(
            conn,
            appt.therapist_id,
            service.duration_min as i64,
            start,
            now_utc,
            Some(appt.id),
        )
        .or_else(|e| match e {
            // The session keeps its start, which may now be inside the notice period: only
            // another booking or the hours refuse a longer one.
            AppError::Conflict {
                code: "slot_unavailable",
                ..
            } if service.duration_min as i64 <= (appt.ends_at - appt.starts_at).num_minutes() => {
                Ok(())
            }
            other => Err(other),
        })?;
        let changed = diesel::update(
            appointments::table
                .find(appt.id)
                .filter(appointments::status.eq(appt.status.as_str()))
                .filter(appointments::flags_acknowledged_at.is_null()),
        )
        .set((
            appointments::service_id.eq(service.id),
            appointments::ends_at.eq(end.naive_utc()),
            appointments::blocked_until
                .eq((end + Duration::minutes(policy.buffer_min as i64)).naive_utc()),
            appointments::screening_outcome.eq(eval.outcome.as_str()),
            appointments::flags_acknowledged_at.eq(Some(now())),
            // The calendar event changes with it (`notify::service_changed` sends it).
            appointments::calendar_sequence.eq(appt.calendar_sequence + 1),
            appointments::updated_at.eq(now()),
        ))
        .execute(conn)
        .map_err(|e| {
            if is_overlap(&e) {
                slot_taken()
            } else {
                e.into()
            }
        })?;
        if changed == 0 {
            return Err(AppError::Conflict {
                code: "changed_meanwhile",
                message: "This appointment changed meanwhile. Reload and try again.".into(),
            });
        }
        audit::record(
            conn,
            Some(me.id),
            "appointment.keep",
            "appointment",
            Some(appt.id),
            &format!(
                "kept by the therapist with another service ({} {} min); flags acknowledged",
                service.technique_slug, service.duration_min
            ),
        )?;
        // A shorter service (or buffer) gives back the end of the old block to the waitlist.
        let new_blocked = (end + Duration::minutes(policy.buffer_min as i64)).naive_utc();
        crate::services::waitlist::note_freed(
            conn,
            appt.therapist_id,
            new_blocked,
            appt.blocked_until,
        )?;
        notify::service_changed(conn, mail, appt.id)?;
        Ok::<_, AppError>(())
    })?;
    Ok(Appointment::find(conn, appt.id)?)
}

/// The therapist's current services (not retired), as the entry form and the keep form offer
/// them, by technique then length.
pub fn own_services(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
) -> Result<(Therapist, Vec<Service>), AppError> {
    use crate::db::schema::services;
    let t = Therapist::find_by_user(conn, therapist.id())?.ok_or(AppError::NotFound)?;
    let list = services::table
        .filter(services::therapist_id.eq(t.id))
        .filter(services::retired_at.is_null())
        .order((services::technique_slug.asc(), services::duration_min.asc()))
        .select(Service::as_select())
        .load(conn)?;
    Ok((t, list))
}

/// The services a booking that needs the therapist's decision can be kept with: the
/// therapist's other current services whose technique the client's answers allow (the same
/// rule as [`keep_with_service`]).
pub fn keep_choices(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    appt: &Appointment,
    answers: &BTreeMap<String, bool>,
) -> Result<Vec<Service>, AppError> {
    let (_, list) = own_services(conn, therapist)?;
    Ok(list
        .into_iter()
        .filter(|s| s.id != appt.service_id)
        .filter(|s| {
            booking::evaluate_answers(&s.technique_slug, answers).is_ok_and(|e| {
                !screening::entered_needs_decision(e.outcome, appt.clearance_confirmed)
            })
        })
        .collect())
}

/// What the screening page says about the booking: the therapist's name, their zone, the
/// technique and length.
pub struct ScreeningSummary {
    pub therapist_name: String,
    pub timezone: String,
    pub technique: String,
    pub duration_min: i32,
}

pub fn screening_summary(
    conn: &mut DbConnection,
    appt: &Appointment,
) -> Result<ScreeningSummary, AppError> {
    use crate::db::schema::users;
    let t = Therapist::find(conn, appt.therapist_id)?;
    let s = Service::find(conn, appt.service_id)?;
    let therapist_name = users::table
        .find(t.user_id)
        .select(users::name)
        .first(conn)?;
    Ok(ScreeningSummary {
        therapist_name,
        timezone: t.timezone,
        technique: s.technique_slug,
        duration_min: s.duration_min,
    })
}
