use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::login_attempts;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = login_attempts)]
#[diesel(treat_none_as_null = true)]
pub struct LoginAttempt {
    pub account_key: String,
    pub failures: i32,
    pub window_started_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

impl LoginAttempt {
    pub fn find(conn: &mut DbConnection, key: &str) -> QueryResult<Option<LoginAttempt>> {
        login_attempts::table
            .find(key)
            .select(LoginAttempt::as_select())
            .first(conn)
            .optional()
    }

    pub fn save(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        let updated = diesel::update(login_attempts::table.find(&self.account_key))
            .set(self)
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(login_attempts::table)
                .values(self)
                .execute(conn)
        } else {
            Ok(updated)
        }
    }

    pub fn clear(conn: &mut DbConnection, key: &str) -> QueryResult<usize> {
        diesel::delete(login_attempts::table.find(key)).execute(conn)
    }
}
