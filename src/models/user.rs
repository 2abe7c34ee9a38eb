use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub name: String,
    pub role: String,
    pub created_at: NaiveDateTime,
    /// When the email address was verified (None: not yet).
    pub email_verified_at: Option<NaiveDateTime>,
    /// When the person erased their account.
    pub erased_at: Option<NaiveDateTime>,
    /// When the account's two-factor sign-in (TOTP) was confirmed (None: it has none).
    pub totp_enabled_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub created_at: NaiveDateTime,
    pub email_verified_at: Option<NaiveDateTime>,
}

impl NewUser<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::insert_into(users::table)
            .values(self)
            .returning(users::id)
            .get_result(conn)
    }
}

impl User {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<User> {
        users::table.find(id).select(User::as_select()).first(conn)
    }

    /// By email in any letter case (emails are stored lower-cased).
    pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(email.to_lowercase()))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// The address of the oldest admin account still in use, if any.
    pub fn first_admin_email(conn: &mut DbConnection) -> QueryResult<Option<String>> {
        users::table
            .filter(users::role.eq("admin"))
            .filter(users::erased_at.is_null())
            .order(users::id.asc())
            .select(users::email)
            .first(conn)
            .optional()
    }

    /// Whether logging in takes a TOTP code after the password.
    pub fn totp_enabled(&self) -> bool {
        self.totp_enabled_at.is_some()
    }

    /// Whether this account must enrol a second factor before it may do anything else (an
    /// admin without one: `services::access::Admin`).
    pub fn must_enrol_totp(&self) -> bool {
        self.role() == crate::domain::account::Role::Admin && !self.totp_enabled()
    }

    /// Whether the account's email address is verified.
    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// Marks the address verified (a no-op when it is already).
    pub fn mark_verified(
        conn: &mut DbConnection,
        id: i64,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            users::table
                .find(id)
                .filter(users::email_verified_at.is_null()),
        )
        .set(users::email_verified_at.eq(Some(at)))
        .execute(conn)
    }

    /// Replaces the address with a verified new one (an email change taking effect).
    pub fn set_email(
        conn: &mut DbConnection,
        id: i64,
        email: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::email.eq(email),
                users::email_verified_at.eq(Some(at)),
            ))
            .execute(conn)
    }

    pub fn set_password_hash(conn: &mut DbConnection, id: i64, hash: &str) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set(users::password_hash.eq(hash))
            .execute(conn)
    }

    /// Erases what identifies the person: name and email become `name` and `email` (a
    /// placeholder), the password `password_hash` (one nothing verifies), no reminders.
    pub fn erase(
        conn: &mut DbConnection,
        id: i64,
        name: &str,
        email: &str,
        password_hash: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::name.eq(name),
                users::email.eq(email),
                users::password_hash.eq(password_hash),
                users::email_verified_at.eq(None::<NaiveDateTime>),
                users::erased_at.eq(Some(at)),
                users::reminders.eq(false),
            ))
            .execute(conn)
    }

    /// Whether the person wants reminder mails.
    pub fn wants_reminders(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
        users::table.find(id).select(users::reminders).first(conn)
    }

    pub fn role(&self) -> crate::domain::account::Role {
        crate::domain::account::Role::parse(&self.role)
            .unwrap_or(crate::domain::account::Role::Client)
    }
}

/// Who did something, as lists and logs name them: name, email and role.
#[derive(Debug, Clone, Queryable)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
}

impl Person {
    /// "Ada Admin (admin)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.role)
    }
}

/// The people with these ids (those still on file), by id.
pub fn people(
    conn: &mut DbConnection,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, Person>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::name, users::email, users::role))
        .load::<Person>(conn)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}
