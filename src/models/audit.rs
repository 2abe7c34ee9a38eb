use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_log;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<i64>,
    pub summary: String,
    pub created_at: NaiveDateTime,
}

/// Appends one row to the audit log. Never pass health answers or passwords in `summary`.
pub fn record(
    conn: &mut DbConnection,
    actor_user_id: Option<i64>,
    action: &str,
    object_type: &str,
    object_id: Option<i64>,
    summary: &str,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_user_id.eq(actor_user_id),
            audit_log::action.eq(action),
            audit_log::object_type.eq(object_type),
            audit_log::object_id.eq(object_id),
            audit_log::summary.eq(summary),
            audit_log::created_at.eq(super::now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn for_object(
    conn: &mut DbConnection,
    object_type: &str,
    object_id: i64,
) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .filter(audit_log::object_type.eq(object_type))
        .filter(audit_log::object_id.eq(object_id))
        .order(audit_log::id)
        .select(AuditEntry::as_select())
        .load(conn)
}
