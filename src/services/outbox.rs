//! The outbox: a mail is never lost. A use case that causes a mail calls [`enqueue`] inside
//! the same transaction as its change, so the mail exists exactly when the change does; the
//! mail worker (`services::mail_worker`) sends it later, with retries, and two servers on one
//! database never both send one row under normal operation (each claim is a lease taken under
//! a row lock: [`claim`]).
//!
//! What happens to a row: `queued` (its `send_after` says when it is due; a failed send sets
//! it later by `domain::mail::retry_after`) → `sending` (committed just before the transfer:
//! [`begin`]) → `sent`, or back to `queued` for a retry, or `failed` after
//! `domain::mail::MAX_ATTEMPTS` (or at once for a permanent refusal); or `withdrawn` when it is
//! no longer wanted (a reminder of a cancelled or moved booking, or of someone who turned
//! reminders off). A row still `sending` when its lease ran out lost its worker mid-transfer
//! (a crash): the SMTP server may or may not have taken it, so [`claim`] puts it `in_doubt`
//! and it is never sent again by itself: a mail is sent at most once, and the admin's outbox
//! shows the few in doubt, which an admin may send again ([`send_again`], as a failed one).
//! Final rows are deleted after the keep period ([`purge`]).

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{appointments, users};
use crate::db::{write_transaction, DbConnection};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::mail::{self as rules, MailKind, OutboxStatus};
use crate::domain::paging::Page;
use crate::error::AppError;
use crate::models::now;
use crate::models::outbox::{self, NewOutbox, OutboxLine, OutboxRow};
use crate::services::access::Proof;
use crate::services::mail::Rendered;
use crate::services::tokens::random_token;

/// A mail to put in the outbox.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub kind: MailKind,
    pub to_email: String,
    /// The account it goes to, when it goes to one.
    pub user_id: Option<i64>,
    /// The appointment it is about, if any (reminders are withdrawn by it).
    pub appointment_id: Option<i64>,
    /// Not before this instant (a reminder); None: at once.
    pub send_after: Option<DateTime<Utc>>,
    pub rendered: Rendered,
}

/// The right side of every Message-ID.
pub const MESSAGE_ID_DOMAIN: &str = "bodywork.mail";

/// Writes a mail to the outbox; returns its id. Call it inside the transaction of the change
/// that causes the mail: it commits or rolls back with it.
pub fn enqueue(conn: &mut DbConnection, mail: Outgoing) -> Result<i64, AppError> {
    let created = now();
    let send_after = mail
        .send_after
        .map(|t| t.naive_utc())
        .filter(|t| *t > created)
        .unwrap_or(created);
    let message_id = format!("<{}@{MESSAGE_ID_DOMAIN}>", random_token());
    let r = &mail.rendered;
    Ok(NewOutbox {
        kind: mail.kind.as_str(),
        to_email: &mail.to_email,
        user_id: mail.user_id,
        appointment_id: mail.appointment_id,
        subject: &r.subject,
        body_text: &r.text,
        body_html: &r.html,
        ics: r.ics.as_deref(),
        message_id: &message_id,
        status: OutboxStatus::Queued.as_str(),
        attempts: 0,
        send_after,
        created_at: created,
    }
    .insert(conn)?)
}

/// Withdraws the reminders of an appointment that are still queued (it was cancelled, declined
/// or moved: a move plans new ones for the new appointment). Inside the change's transaction.
pub fn withdraw_reminders(conn: &mut DbConnection, appointment_id: i64) -> Result<usize, AppError> {
    let ids = outbox::queued_for_appointment(conn, appointment_id, MailKind::Reminder.as_str())?;
    Ok(outbox::withdraw(
        conn,
        &ids,
        "withdrawn: the booking was cancelled or moved",
    )?)
}

/// Withdraws the queued reminders to a person who turned reminders off.
pub fn withdraw_reminders_of_user(
    conn: &mut DbConnection,
    user_id: i64,
) -> Result<usize, AppError> {
    let ids = outbox::queued_for_user(conn, user_id, MailKind::Reminder.as_str())?;
    Ok(outbox::withdraw(
        conn,
        &ids,
        "withdrawn: reminders were turned off",
    )?)
}

/// Claims up to `limit` due rows for `worker` until `now + lease`: on PostgreSQL the due rows
/// are picked `FOR UPDATE SKIP LOCKED`, on SQLite inside `BEGIN IMMEDIATE`; either way two
/// workers never lease one row at once. First, rows left `sending` by a worker whose lease
/// ran out are put in doubt (never claimed again).
pub fn claim(
    conn: &mut DbConnection,
    worker: &str,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<OutboxRow>, AppError> {
    write_transaction(conn, |conn| {
        let at = now();
        let interrupted = outbox::settle_interrupted(conn, at)?;
        if !interrupted.is_empty() {
            metrics::counter!("outbox_in_doubt_total").increment(interrupted.len() as u64);
            tracing::warn!(
                outbox_ids = ?interrupted,
                "mails interrupted mid-send by a stopped worker: in doubt, not sent again"
            );
        }
        let ids = outbox::due_ids(conn, at, limit)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let until = at + Duration::from_std(lease).unwrap_or(Duration::minutes(2));
        Ok(outbox::lease(conn, &ids, worker, until)?)
    })
}

/// Why a claimed row is no longer wanted, if it is not: a reminder whose appointment is no
/// longer active or already began, or whose person turned reminders off since it was planned.
pub fn unwanted(
    conn: &mut DbConnection,
    row: &OutboxRow,
) -> Result<Option<&'static str>, AppError> {
    let Some(kind) = MailKind::parse(&row.kind) else {
        return Ok(None);
    };
    if !kind.is_reminder() {
        return Ok(None);
    }
    if let Some(user_id) = row.user_id {
        let wants: Option<bool> = users::table
            .find(user_id)
            .select(users::reminders)
            .first(conn)
            .optional()?;
        if wants != Some(true) {
            return Ok(Some("withdrawn: reminders were turned off"));
        }
    }
    if let Some(id) = row.appointment_id {
        let appt: Option<(String, NaiveDateTime)> = appointments::table
            .find(id)
            .select((appointments::status, appointments::starts_at))
            .first(conn)
            .optional()?;
        let active = appt.as_ref().is_some_and(|(status, starts)| {
            AppointmentStatus::parse(status).is_some_and(AppointmentStatus::is_active)
                && *starts > now()
        });
        if !active {
            return Ok(Some("withdrawn: the booking is no longer upcoming"));
        }
    }
    Ok(None)
}

/// What to do with a claimed row, just before its transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begun {
    /// Marked `sending` (committed): transfer it, then [`mark_sent`] or [`mark_failed`].
    Send,
    /// No longer wanted (see [`unwanted`]): withdrawn, not sent.
    Withdrawn,
    /// The worker's lease ran out meanwhile (another worker may hold the row): leave it.
    LeaseLost,
}

/// Checks a claimed row once more and marks it `sending` before its transfer, in one
/// transaction: a reminder no longer wanted is withdrawn instead. Only while `worker` holds
/// its lease.
pub fn begin(conn: &mut DbConnection, row: &OutboxRow, worker: &str) -> Result<Begun, AppError> {
    write_transaction(conn, |conn| {
        if let Some(why) = unwanted(conn, row)? {
            outbox::withdraw(conn, &[row.id], why)?;
            return Ok(Begun::Withdrawn);
        }
        Ok(if outbox::begin_send(conn, row.id, worker, now())? {
            Begun::Send
        } else {
            Begun::LeaseLost
        })
    })
}

/// Sent: the row is final.
pub fn mark_sent(conn: &mut DbConnection, id: i64, worker: &str) -> Result<(), AppError> {
    outbox::mark_sent(conn, id, worker, now())?;
    Ok(())
}

/// An admin sends a failed or in-doubt mail again: it is queued, due now, with its tries
/// counted afresh (an in-doubt one may then arrive twice: the admin's page says so). Recorded
/// in the audit log. Returns the status it had.
pub fn send_again(
    conn: &mut DbConnection,
    admin: &crate::services::access::Admin,
    id: i64,
) -> Result<OutboxStatus, AppError> {
    write_transaction(conn, |conn| {
        let row = OutboxRow::find(conn, id)
            .optional()?
            .ok_or(AppError::NotFound)?;
        let was = OutboxStatus::parse(&row.status).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("outbox row {id} has an unknown status"))
        })?;
        if !outbox::send_again(conn, id, now())? {
            return Err(AppError::Conflict {
                code: "not_failed_or_in_doubt",
                message: "Only a failed mail or one in doubt can be sent again.".into(),
            });
        }
        crate::models::audit::record(
            conn,
            Some(admin.id()),
            "outbox.send_again",
            "outbox",
            Some(id),
            &format!(
                "mail #{id} ({}, {}) queued to be sent again",
                row.kind,
                was.as_str()
            ),
        )?;
        Ok(was)
    })
}

/// A failed send of a row that had `attempts` before it. A permanent refusal (an address the
/// server will never take), or the last allowed attempt, gives it up (`failed`); otherwise it
/// waits for `domain::mail::retry_after`, stretched by `jitter` (0 to 1). Returns whether it
/// was given up.
pub fn mark_failed(
    conn: &mut DbConnection,
    row: &OutboxRow,
    worker: &str,
    error: &str,
    permanent: bool,
    jitter: f64,
) -> Result<bool, AppError> {
    let attempts = row.attempts + 1;
    let give_up = permanent || rules::gives_up(attempts);
    let retry_at = (!give_up).then(|| {
        now() + Duration::from_std(rules::retry_after(attempts, jitter)).unwrap_or(Duration::zero())
    });
    // Errors can be long (a server's whole answer): the admin page shows a line.
    let error: String = error.chars().take(500).collect();
    outbox::mark_failed(conn, row.id, worker, &error, retry_at)?;
    Ok(give_up)
}

/// Gives back the lease of rows a stopping worker claimed but did not send.
pub fn release(conn: &mut DbConnection, ids: &[i64], worker: &str) -> Result<(), AppError> {
    if !ids.is_empty() {
        outbox::release(conn, ids, worker)?;
    }
    Ok(())
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Final mails (sent, failed, withdrawn, in doubt) older than the keep period.
    pub mails: usize,
}

/// The housekeeping of stored data that only grows: deletes final outbox rows (sent, failed,
/// withdrawn, in doubt) created more than `keep` before `now`. The mail worker runs it periodically;
/// other short-lived tables (single-use tokens, say) add their deletes here, with a field in
/// [`Purged`] each.
pub fn purge(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    keep: std::time::Duration,
) -> Result<Purged, AppError> {
    let before = now - Duration::from_std(keep).unwrap_or(Duration::days(30));
    let mails = write_transaction(conn, |conn| outbox::purge(conn, before.naive_utc()))?;
    Ok(Purged { mails })
}

/// The admin's outbox filter: `queued` (also those waiting for a retry), `sending`, `sent`,
/// `failed`, `withdrawn` or `in_doubt`; default `queued`.
pub fn parse_status(s: Option<&str>) -> Result<OutboxStatus, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(OutboxStatus::Queued),
        Some(s) => OutboxStatus::parse(s).ok_or_else(|| {
            AppError::field(
                "status",
                "Use queued, sending, sent, failed, withdrawn or in_doubt.",
            )
        }),
    }
}

/// A page of the outbox for an admin, newest first: never a body.
pub fn lines(
    conn: &mut DbConnection,
    _admin: &crate::services::access::Admin,
    status: OutboxStatus,
    page: Page,
) -> Result<(i64, Vec<OutboxLine>), AppError> {
    let offset = (page.page.max(1) - 1).saturating_mul(page.per_page);
    Ok(outbox::lines(conn, status, offset, page.per_page)?)
}
