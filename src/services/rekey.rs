//! Key rotation (`bodywork rekey`): every sealed value is opened with whichever configured key
//! sealed it and sealed again under the current key, in batches, each batch one transaction.
//! What is already under the current key is left alone, so a run that stops (or is stopped)
//! resumes where it was by running again, and a server may keep serving meanwhile: a value is
//! written back only if it did not change since it was read.
//!
//! Sealed values: an appointment's screening answers, a mobile client's address and the
//! therapist's entry note (each names its key in its `v2:` prefix, `services::crypto`), and the
//! session notes (their `key_id` column; the table lets an update change only `sealed` and
//! `key_id` together, so notes stay append-only), and the accounts' TOTP secrets
//! (`services::totp`, `v2:` like the appointments' fields).

use diesel::prelude::*;

use crate::db::schema::{appointments, session_notes, totp_secrets};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::services::booking::{address_aad, answers_aad, note_aad};
use crate::services::crypto::AnswerCipher;
use crate::services::notes::notes_aad;
use crate::services::totp::totp_aad;

/// How many rows still hold a value sealed by another key than the current one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    /// Appointments with answers, an address or an entry note under another key.
    pub appointments: i64,
    /// Session note versions under another key.
    pub notes: i64,
    /// TOTP secrets under another key.
    pub totp_secrets: i64,
}

impl Pending {
    pub fn total(&self) -> i64 {
        self.appointments + self.notes + self.totp_secrets
    }
}

/// One field of an appointment that is sealed: (its value, the associated data that binds it).
type Sealed = (String, Vec<u8>);

fn stale(prefix: &str) -> impl Fn(&str) -> bool + '_ {
    move |v: &str| !v.is_empty() && !v.starts_with(prefix)
}

/// What is left to rekey.
pub fn pending(conn: &mut DbConnection, cipher: &AnswerCipher) -> Result<Pending, AppError> {
    let like = format!("{}%", cipher.current_prefix());
    let appointments: i64 = appointments::table
        .filter(
            (appointments::screening_answers
                .ne("")
                .and(appointments::screening_answers.not_like(&like)))
            .or(appointments::client_address
                .ne("")
                .and(appointments::client_address.not_like(&like)))
            .or(appointments::entry_note
                .ne("")
                .and(appointments::entry_note.not_like(&like))),
        )
        .count()
        .get_result(conn)?;
    let notes: i64 = session_notes::table
        .filter(session_notes::key_id.ne(cipher.key_id()))
        .count()
        .get_result(conn)?;
    let totp_secrets: i64 = totp_secrets::table
        .filter(totp_secrets::sealed.not_like(&like))
        .count()
        .get_result(conn)?;
    Ok(Pending {
        appointments,
        notes,
        totp_secrets,
    })
}

fn reseal(
    cipher: &AnswerCipher,
    what: &str,
    id: i64,
    (value, aad): &Sealed,
) -> Result<String, AppError> {
    let plain = cipher.decrypt(value, aad).map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "{what} of appointment {id} cannot be opened with the configured keys: {e}"
        ))
    })?;
    Ok(cipher.encrypt(&plain, aad))
}

/// Rekeys up to `batch` appointments, then up to `batch` note versions, in one transaction.
/// Returns how many rows it sealed again (0: nothing is left).
pub fn rekey_batch(
    conn: &mut DbConnection,
    cipher: &AnswerCipher,
    batch: i64,
) -> Result<usize, AppError> {
    let prefix = cipher.current_prefix();
    let like = format!("{prefix}%");
    let is_stale = stale(&prefix);
    write_transaction(conn, |conn| {
        let rows: Vec<(i64, i64, i64, String, String, String)> = appointments::table
            .filter(
                (appointments::screening_answers
                    .ne("")
                    .and(appointments::screening_answers.not_like(&like)))
                .or(appointments::client_address
                    .ne("")
                    .and(appointments::client_address.not_like(&like)))
                .or(appointments::entry_note
                    .ne("")
                    .and(appointments::entry_note.not_like(&like))),
            )
            .order(appointments::id)
            .limit(batch)
            .select((
                appointments::id,
                appointments::therapist_id,
                appointments::client_id,
                appointments::screening_answers,
                appointments::client_address,
                appointments::entry_note,
            ))
            .load(conn)?;
        let mut done = 0;
        for (id, therapist, client, answers, address, note) in rows {
            let answers_new = if is_stale(&answers) {
                reseal(
                    cipher,
                    "the screening answers",
                    id,
                    &(answers.clone(), answers_aad(therapist, client)),
                )?
            } else {
                answers.clone()
            };
            let address_new = if is_stale(&address) {
                reseal(
                    cipher,
                    "the client's address",
                    id,
                    &(address.clone(), address_aad(therapist, client)),
                )?
            } else {
                address.clone()
            };
            let note_new = if is_stale(&note) {
                reseal(
                    cipher,
                    "the entry note",
                    id,
                    &(note.clone(), note_aad(therapist, client)),
                )?
            } else {
                note.clone()
            };
            // Only if nothing changed since the read (a server may be running).
            done += diesel::update(
                appointments::table
                    .find(id)
                    .filter(appointments::screening_answers.eq(&answers))
                    .filter(appointments::client_address.eq(&address))
                    .filter(appointments::entry_note.eq(&note)),
            )
            .set((
                appointments::screening_answers.eq(answers_new),
                appointments::client_address.eq(address_new),
                appointments::entry_note.eq(note_new),
            ))
            .execute(conn)?;
        }
        let notes: Vec<(i64, i64, String, i64, i64)> = session_notes::table
            .inner_join(appointments::table)
            .filter(session_notes::key_id.ne(cipher.key_id()))
            .order(session_notes::id)
            .limit(batch)
            .select((
                session_notes::id,
                session_notes::appointment_id,
                session_notes::sealed,
                appointments::therapist_id,
                appointments::client_id,
            ))
            .load(conn)?;
        for (id, appointment_id, sealed, therapist, client) in notes {
            let aad = notes_aad(appointment_id, therapist, client);
            let resealed = reseal(
                cipher,
                "a session note",
                appointment_id,
                &(sealed.clone(), aad),
            )?;
            done += diesel::update(
                session_notes::table
                    .find(id)
                    .filter(session_notes::sealed.eq(&sealed)),
            )
            .set((
                session_notes::sealed.eq(resealed),
                session_notes::key_id.eq(cipher.key_id()),
            ))
            .execute(conn)?;
        }
        let secrets: Vec<(i64, String)> = totp_secrets::table
            .filter(totp_secrets::sealed.not_like(&like))
            .order(totp_secrets::user_id)
            .limit(batch)
            .select((totp_secrets::user_id, totp_secrets::sealed))
            .load(conn)?;
        for (user_id, sealed) in secrets {
            let plain = cipher.decrypt(&sealed, &totp_aad(user_id)).map_err(|e| {
                AppError::Internal(anyhow::anyhow!(
                    "the TOTP secret of user {user_id} cannot be opened with the configured keys: {e}"
                ))
            })?;
            done += diesel::update(
                totp_secrets::table
                    .find(user_id)
                    .filter(totp_secrets::sealed.eq(&sealed)),
            )
            .set(totp_secrets::sealed.eq(cipher.encrypt(&plain, &totp_aad(user_id))))
            .execute(conn)?;
        }
        Ok(done)
    })
}
