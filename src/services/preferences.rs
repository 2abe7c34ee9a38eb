//! What a person chooses about the mails they get: for now whether reminders come before their
//! sessions (`users.reminders`, on by default). Turning them off withdraws the reminders already
//! planned; the worker checks the choice again before sending one.

use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::models::audit;
use crate::services::outbox;

/// A person's mail choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notifications {
    /// Reminder mails before their sessions.
    pub reminders: bool,
}

/// The choices of the person with this user id.
pub fn notifications(conn: &mut DbConnection, user_id: i64) -> Result<Notifications, AppError> {
    let reminders = users::table
        .find(user_id)
        .select(users::reminders)
        .first(conn)?;
    Ok(Notifications { reminders })
}

/// Stores the choices; turning reminders off withdraws the reminders still queued for them.
pub fn set_notifications(
    conn: &mut DbConnection,
    user_id: i64,
    choice: Notifications,
) -> Result<Notifications, AppError> {
    write_transaction(conn, |conn| {
        let before = notifications(conn, user_id)?;
        if before == choice {
            return Ok(choice);
        }
        diesel::update(users::table.find(user_id))
            .set(users::reminders.eq(choice.reminders))
            .execute(conn)?;
        if !choice.reminders {
            outbox::withdraw_reminders_of_user(conn, user_id)?;
        }
        audit::record(
            conn,
            Some(user_id),
            "account.notifications",
            "user",
            Some(user_id),
            if choice.reminders {
                "reminders turned on"
            } else {
                "reminders turned off"
            },
        )?;
        Ok(choice)
    })
}
