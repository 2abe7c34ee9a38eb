use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::services;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = services)]
pub struct Service {
    pub id: i64,
    pub therapist_id: i64,
    pub technique_slug: String,
    pub duration_min: i32,
    pub price_cents: i64,
    pub retired_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = services)]
pub struct NewService<'a> {
    pub therapist_id: i64,
    pub technique_slug: &'a str,
    pub duration_min: i32,
    pub price_cents: i64,
    pub created_at: NaiveDateTime,
}

impl NewService<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::insert_into(services::table)
            .values(self)
            .returning(services::id)
            .get_result(conn)
    }
}

impl Service {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Service> {
        services::table
            .find(id)
            .select(Service::as_select())
            .first(conn)
    }
}
