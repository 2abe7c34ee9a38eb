//! The audit log: append-only (triggers refuse updates and deletes), never health answers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_log;
use crate::db::{Backend, DbConnection};
use crate::models::user::{people, Person};

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

/// What the audit page and API filter by; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_user_id: Option<i64>,
    /// Actions starting with this text (for example `license.`).
    pub action_prefix: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<i64>,
    /// From this instant (inclusive).
    pub from: Option<NaiveDateTime>,
    /// Up to this instant (exclusive).
    pub until: Option<NaiveDateTime>,
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn filtered(f: &AuditFilter) -> audit_log::BoxedQuery<'static, Backend> {
    let mut q = audit_log::table.into_boxed::<Backend>();
    if let Some(id) = f.actor_user_id {
        q = q.filter(audit_log::actor_user_id.eq(id));
    }
    if let Some(prefix) = &f.action_prefix {
        q = q.filter(
            audit_log::action
                .like(format!("{}%", escape_like(prefix)))
                .escape('\\'),
        );
    }
    if let Some(t) = &f.object_type {
        q = q.filter(audit_log::object_type.eq(t.clone()));
    }
    if let Some(id) = f.object_id {
        q = q.filter(audit_log::object_id.eq(id));
    }
    if let Some(from) = f.from {
        q = q.filter(audit_log::created_at.ge(from));
    }
    if let Some(until) = f.until {
        q = q.filter(audit_log::created_at.lt(until));
    }
    q
}

/// An audit row with its actor (if the actor is a user still on file).
pub type AuditRow = (AuditEntry, Option<Person>);

/// The rows with their actors.
pub fn with_actors(conn: &mut DbConnection, rows: Vec<AuditEntry>) -> QueryResult<Vec<AuditRow>> {
    let actor_ids: Vec<i64> = rows.iter().filter_map(|r| r.actor_user_id).collect();
    let people = people(conn, &actor_ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let actor = r.actor_user_id.and_then(|id| people.get(&id).cloned());
            (r, actor)
        })
        .collect())
}

/// A page of matching rows, newest first, each with its actor (if any).
pub fn search(
    conn: &mut DbConnection,
    f: &AuditFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<AuditRow>)> {
    let total: i64 = filtered(f).count().get_result(conn)?;
    let rows: Vec<AuditEntry> = filtered(f)
        .order((audit_log::created_at.desc(), audit_log::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?;
    Ok((total, with_actors(conn, rows)?))
}
