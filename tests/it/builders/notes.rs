//! Fixtures of the clients and session notes tests: a client with a name of one's choice, the
//! notes of an appointment written through the API, and every text value of the raw database
//! (to search for what must only be stored encrypted).

use bodywork::db::DbConnection;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::app::{with_conn, TestApp};

/// A verified client called `name`, logged in through the API: (user id, token).
pub async fn named_client(app: &TestApp, email: &str, name: &str) -> (i64, String) {
    let body = app.api_register_verified(email, name, "client").await;
    let id = body["user"]["id"].as_i64().expect("id");
    (id, app.api_login(email).await)
}

/// Writes a version of appointment `id`'s notes through the API and returns the answer's body
/// (200 expected).
pub async fn write_notes(app: &TestApp, token: &str, id: i64, parts: [&str; 4]) -> Value {
    let r = app
        .api_put(
            &format!("/api/v1/appointments/{id}/notes"),
            token,
            json!({"subjective": parts[0], "objective": parts[1], "assessment": parts[2], "plan": parts[3]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "notes of {id}");
    r.json().await.expect("json")
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Dump {
    #[diesel(sql_type = Nullable<Text>)]
    dump: Option<String>,
}

/// Every value of every table of the test database as text, one table after another: what a
/// person holding the raw database reads (PostgreSQL: each row as text; SQLite: each column
/// cast to text).
pub fn database_text(app: &TestApp) -> String {
    with_conn(app, |conn| {
        let mut out = String::new();
        match conn {
            DbConnection::Postgresql(pg) => {
                let tables: Vec<Name> = diesel::sql_query(
                    "SELECT table_name::text AS name FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                )
                .load(pg)
                .expect("tables");
                assert!(tables.len() > 5, "tables found: {}", tables.len());
                for t in tables {
                    let d: Dump = diesel::sql_query(format!(
                        "SELECT string_agg(x::text, ' ') AS dump FROM \"{}\" x",
                        t.name
                    ))
                    .get_result(pg)
                    .expect("dump");
                    out.push_str(&format!("[{}] {}\n", t.name, d.dump.unwrap_or_default()));
                }
            }
            DbConnection::Sqlite(lite) => {
                let tables: Vec<Name> = diesel::sql_query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )
                .load(lite)
                .expect("tables");
                assert!(tables.len() > 5, "tables found: {}", tables.len());
                for t in tables {
                    let cols: Vec<Name> = diesel::sql_query(format!(
                        "SELECT name FROM pragma_table_info('{}')",
                        t.name
                    ))
                    .load(lite)
                    .expect("columns");
                    let row = cols
                        .iter()
                        .map(|c| format!("COALESCE(CAST(\"{}\" AS TEXT), '')", c.name))
                        .collect::<Vec<_>>()
                        .join(" || ' ' || ");
                    let d: Dump = diesel::sql_query(format!(
                        "SELECT group_concat({row}, ' ') AS dump FROM \"{}\"",
                        t.name
                    ))
                    .get_result(lite)
                    .expect("dump");
                    out.push_str(&format!("[{}] {}\n", t.name, d.dump.unwrap_or_default()));
                }
            }
        }
        out
    })
}
