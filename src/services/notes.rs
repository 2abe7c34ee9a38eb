//! Session notes (SOAP), one path for the page and the API.
//!
//! **Where they live.** `session_notes`, append-only: each save is a new row with `version` =
//! the previous one + 1 (the database refuses an `UPDATE`, and `UNIQUE(appointment_id,
//! version)` makes two saves at once safe: the loser is retried, then answered 409
//! `notes_conflict`). `sealed` is the JSON of the four parts ([`Soap`]) encrypted with the
//! answers' cipher ([`AnswerCipher`]), its associated data binding it to the appointment, its
//! therapist and its client ([`notes_aad`]); `key_id` names the key.
//!
//! **Who.** The appointment's therapist writes them, once it has started and unless it was
//! cancelled (`domain::notes::may_write`). Its therapist and its client read them; to anyone
//! else (another therapist, another client, an admin) they do not exist (404). Each read by
//! someone who did not write every version read (the client; the author's own read is not)
//! is written to the access log the client sees (`booking::log_private_read`, subject
//! `notes`). Notes never go into a mail, a log line, a URL, the audit log's summary or an admin
//! view. The client's export holds them (`account_data`), and erasing the client's account
//! deletes their rows ([`destroy_of_client`]).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::{session_notes, users};
use crate::db::{write_transaction, DbConnection};
use crate::domain::account::Role;
use crate::domain::notes::{self as rules, Soap};
use crate::error::AppError;
use crate::models::appointment::Appointment;
use crate::models::audit;
use crate::models::now;
use crate::models::therapist::Therapist;
use crate::models::user::User;
use crate::services::access::{self, Proof};
use crate::services::booking::{log_private_read, ReadSubject};
use crate::services::crypto::AnswerCipher;

/// The associated data that binds an appointment's sealed notes to it and its people.
pub fn notes_aad(appointment_id: i64, therapist_id: i64, client_id: i64) -> Vec<u8> {
    format!("bodywork-notes:{appointment_id}:{therapist_id}:{client_id}").into_bytes()
}

/// One stored version, opened.
#[derive(Debug, Clone)]
pub struct NoteVersion {
    pub version: i32,
    pub author_user_id: i64,
    pub author_name: String,
    pub created_at: NaiveDateTime,
    pub soap: Soap,
}

/// An appointment's notes as its reader sees them: the newest version first in `versions`.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    /// Every version, newest first (empty: none written).
    pub versions: Vec<NoteVersion>,
}

impl Notes {
    /// The current version.
    pub fn current(&self) -> Option<&NoteVersion> {
        self.versions.first()
    }
    /// The earlier versions, newest first.
    pub fn earlier(&self) -> &[NoteVersion] {
        self.versions.get(1..).unwrap_or(&[])
    }
}

/// The appointment `id` if `viewer` may read its notes: its client or its therapist; 404 for
/// anyone else, admins included.
fn readable(conn: &mut DbConnection, viewer: &User, id: i64) -> Result<Appointment, AppError> {
    let appt = Appointment::find(conn, id)?;
    let allowed = match viewer.role() {
        Role::Client => appt.client_id == viewer.id,
        Role::Therapist => {
            Therapist::find_by_user(conn, viewer.id)?.is_some_and(|t| t.id == appt.therapist_id)
        }
        Role::Admin => false,
    };
    if allowed {
        Ok(appt)
    } else {
        Err(AppError::NotFound)
    }
}

/// Every version of `appt`'s notes, opened, newest first (no access check, no log).
fn load(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    appt: &Appointment,
) -> Result<Notes, AppError> {
    let rows: Vec<(i32, i64, String, NaiveDateTime, String)> = session_notes::table
        .inner_join(users::table)
        .filter(session_notes::appointment_id.eq(appt.id))
        .order(session_notes::version.desc())
        .select((
            session_notes::version,
            session_notes::author_user_id,
            users::name,
            session_notes::created_at,
            session_notes::sealed,
        ))
        .load(conn)?;
    let versions = rows
        .into_iter()
        .map(
            |(version, author_user_id, author_name, created_at, sealed)| {
                let soap = open(cipher, appt, version, &sealed)?;
                Ok(NoteVersion {
                    version,
                    author_user_id,
                    author_name,
                    created_at,
                    soap,
                })
            },
        )
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Notes { versions })
}

/// Logs a read of `notes` by `reader` unless they wrote every version of it (or there is none).
fn log_read(
    conn: &mut DbConnection,
    appointment_id: i64,
    notes: &Notes,
    reader: i64,
    channel: &str,
) -> Result<(), AppError> {
    if notes.versions.iter().any(|v| v.author_user_id != reader) {
        log_private_read(conn, appointment_id, reader, channel, ReadSubject::Notes)?;
    }
    Ok(())
}

/// Reads an appointment's notes for `viewer` (its client or its therapist; 404 otherwise),
/// logging the read through `channel` (`page`, `api`) when the viewer is not the author.
pub fn read(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    viewer: &User,
    id: i64,
    channel: &str,
) -> Result<Notes, AppError> {
    let appt = readable(conn, viewer, id)?;
    let notes = load(conn, cipher, &appt)?;
    log_read(conn, appt.id, &notes, viewer.id, channel)?;
    Ok(notes)
}

/// The notes of an appointment of the client's own, for their export (channel `export`,
/// logged like any read by someone other than the author).
pub fn read_for_export(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    client: &User,
    appt: &Appointment,
) -> Result<Notes, AppError> {
    if appt.client_id != client.id {
        return Err(AppError::NotFound);
    }
    let notes = load(conn, cipher, appt)?;
    log_read(conn, appt.id, &notes, client.id, "export")?;
    Ok(notes)
}

/// The current version of the notes of each of `appts` (which the caller may read: it checked),
/// opened, by appointment id; a read by someone other than its author is logged (`channel`).
pub fn current_of(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    reader: &User,
    appts: &[&Appointment],
    channel: &str,
) -> Result<HashMap<i64, NoteVersion>, AppError> {
    let ids: Vec<i64> = appts.iter().map(|a| a.id).collect();
    let rows: Vec<(i64, i32, i64, String, NaiveDateTime, String)> = session_notes::table
        .inner_join(users::table)
        .filter(session_notes::appointment_id.eq_any(&ids))
        .order((
            session_notes::appointment_id.asc(),
            session_notes::version.desc(),
        ))
        .select((
            session_notes::appointment_id,
            session_notes::version,
            session_notes::author_user_id,
            users::name,
            session_notes::created_at,
            session_notes::sealed,
        ))
        .load(conn)?;
    let mut out = HashMap::new();
    for (appointment_id, version, author_user_id, author_name, created_at, sealed) in rows {
        if out.contains_key(&appointment_id) {
            continue; // an earlier version
        }
        let Some(appt) = appts.iter().find(|a| a.id == appointment_id) else {
            continue;
        };
        let soap = open(cipher, appt, version, &sealed)?;
        if author_user_id != reader.id {
            log_private_read(conn, appointment_id, reader.id, channel, ReadSubject::Notes)?;
        }
        out.insert(
            appointment_id,
            NoteVersion {
                version,
                author_user_id,
                author_name,
                created_at,
                soap,
            },
        );
    }
    Ok(out)
}

/// Opens one sealed version of `appt`'s notes.
fn open(
    cipher: &AnswerCipher,
    appt: &Appointment,
    version: i32,
    sealed: &str,
) -> Result<Soap, AppError> {
    let plain = cipher
        .decrypt(
            sealed,
            &notes_aad(appt.id, appt.therapist_id, appt.client_id),
        )
        .map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "notes version {version} of appointment {} cannot be decrypted: {e}",
                appt.id
            ))
        })?;
    serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.into()))
}

/// How many versions each of these appointments' notes has (no decryption, no read).
pub fn version_counts(
    conn: &mut DbConnection,
    appointment_ids: &[i64],
) -> Result<HashMap<i64, i64>, AppError> {
    let rows: Vec<(i64, Option<i32>)> = session_notes::table
        .filter(session_notes::appointment_id.eq_any(appointment_ids))
        .group_by(session_notes::appointment_id)
        .select((
            session_notes::appointment_id,
            diesel::dsl::max(session_notes::version),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, v)| (id, i64::from(v.unwrap_or(0))))
        .collect())
}

/// Saves a new version of an appointment's notes by its therapist (404 for another's), once it
/// has started and unless cancelled (422 with the refusal's code). Returns the version written.
pub fn write(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    therapist: &access::Therapist,
    id: i64,
    soap: &Soap,
    now_utc: DateTime<Utc>,
) -> Result<i32, AppError> {
    // Two saves at once: the UNIQUE (appointment_id, version) refuses the second; it reads the
    // new newest version and tries again, a few times.
    for _ in 0..3 {
        match write_once(conn, cipher, therapist, id, soap, now_utc) {
            Err(AppError::Conflict {
                code: "notes_conflict",
                ..
            }) => continue,
            other => return other,
        }
    }
    Err(conflict())
}

fn conflict() -> AppError {
    AppError::Conflict {
        code: "notes_conflict",
        message:
            "These notes were saved by someone else at the same moment. Reload and save again."
                .into(),
    }
}

fn write_once(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    therapist: &access::Therapist,
    id: i64,
    soap: &Soap,
    now_utc: DateTime<Utc>,
) -> Result<i32, AppError> {
    let me = therapist.user().clone();
    write_transaction(conn, |conn| {
        let appt = Appointment::find(conn, id)?;
        let mine = Therapist::find_by_user(conn, me.id)?.is_some_and(|t| t.id == appt.therapist_id);
        if !mine {
            return Err(AppError::NotFound);
        }
        rules::may_write(appt.status, appt.starts_at.and_utc(), now_utc).map_err(|r| {
            AppError::Rule {
                code: r.code(),
                message: r.message().into(),
            }
        })?;
        let newest: Option<i32> = session_notes::table
            .filter(session_notes::appointment_id.eq(id))
            .select(diesel::dsl::max(session_notes::version))
            .first(conn)?;
        let version = newest.unwrap_or(0) + 1;
        let plain = serde_json::to_vec(soap).map_err(|e| AppError::Internal(e.into()))?;
        let sealed = cipher.encrypt(
            &plain,
            &notes_aad(appt.id, appt.therapist_id, appt.client_id),
        );
        let inserted = diesel::insert_into(session_notes::table)
            .values((
                session_notes::appointment_id.eq(id),
                session_notes::author_user_id.eq(me.id),
                session_notes::version.eq(version),
                session_notes::sealed.eq(sealed),
                session_notes::key_id.eq(cipher.key_id()),
                session_notes::created_at.eq(now()),
            ))
            .execute(conn);
        match inserted {
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(conflict())
            }
            other => {
                other?;
            }
        }
        audit::record(
            conn,
            Some(me.id),
            "appointment.notes",
            "appointment",
            Some(id),
            &format!("session notes saved (version {version})"),
        )?;
        Ok(version)
    })
}

/// The newest stored version of any notes, sealed: (appointment id, therapist id, client id,
/// version, sealed text); what a key must open at start, as the answers.
pub type SealedNotes = (i64, i64, i64, i32, String);

/// The newest stored version of any notes, if any.
pub fn newest_sealed(conn: &mut DbConnection) -> QueryResult<Option<SealedNotes>> {
    use crate::db::schema::appointments;
    session_notes::table
        .inner_join(appointments::table)
        .order(session_notes::id.desc())
        .select((
            appointments::id,
            appointments::therapist_id,
            appointments::client_id,
            session_notes::version,
            session_notes::sealed,
        ))
        .first(conn)
        .optional()
}

/// Whether `cipher` opens stored notes (a server started with a lost or wrong key could not
/// show them).
pub fn key_opens(cipher: &AnswerCipher, sealed: &SealedNotes) -> Result<(), String> {
    let (id, therapist_id, client_id, version, text) = sealed;
    cipher
        .decrypt(text, &notes_aad(*id, *therapist_id, *client_id))
        .map(drop)
        .map_err(|e| {
            format!("the key does not open version {version} of the session notes of appointment {id}: {e}")
        })
}

/// Deletes the notes of every appointment of `client_id` (their account's erasure, inside its
/// transaction): `session_notes` refuses updates, not deletes. Returns the rows deleted.
pub fn destroy_of_client(conn: &mut DbConnection, client_id: i64) -> Result<usize, AppError> {
    use crate::db::schema::appointments;
    let theirs = appointments::table
        .filter(appointments::client_id.eq(client_id))
        .select(appointments::id);
    Ok(
        diesel::delete(session_notes::table.filter(session_notes::appointment_id.eq_any(theirs)))
            .execute(conn)?,
    )
}
