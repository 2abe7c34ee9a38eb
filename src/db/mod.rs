//! The database: one connection type over SQLite and PostgreSQL, one pool, embedded migrations.
//!
//! [`DbConnection`] is `#[derive(diesel::MultiConnection)]` over `PgConnection` and
//! `SqliteConnection`, and `schema.rs` is the one schema of both: queries are written once.
//! [`ConnectionManager`] picks the backend by the URL's scheme ([`DatabaseUrl`]) and keeps the
//! real connection error. [`build_pool`] opens every connection at start (under a burst, requests
//! would otherwise wait while the pool opens new ones) and does not ping one before each use (a
//! broken connection is noticed and replaced). [`write_transaction`] begins with
//! `BEGIN IMMEDIATE` on SQLite, so a read-then-write never fails with `SQLITE_BUSY` halfway.
//!
//! **SQLite pragmas.** WAL is set once, before the pool is built (per connection it races on a new
//! file). Each connection then sets `busy_timeout` (10 s), `synchronous = NORMAL`,
//! `foreign_keys = ON`, `mmap_size` (reads go through a memory map of up to 1 GiB of the file
//! per connection, all of the same OS page cache pages: no read call per page) and `cache_size`
//! (16 MiB of pages of its own). PostgreSQL sessions use the time zone UTC. At start a SQLite
//! file that fits in half the memory available is read once into the OS page cache on a thread
//! of its own ([`DatabaseUrl::read_ahead`]), while the directory index loads: after a reboot the
//! first searches then find their schedules in memory instead of waiting on the disk.
//!
//! **The QPSG flag.** `.cargo/config.toml` builds the bundled SQLite with `SQLITE_ENABLE_QPSG`
//! (`LIBSQLITE3_FLAGS`), the query planner stability guarantee. Without it SQLite marks a cached
//! prepared statement as expired whenever a bound value its plan looked at changes (a bound
//! `LIMIT`, as diesel's `.first()` writes, or, after `ANALYZE`, a value compared with an analysed
//! index) and prepares it again at every execution, which undoes the statement cache. The test in
//! this module fails when the flag is missing.
//!
//! **Migrations.** One folder per backend (`migrations/sqlite`, `migrations/postgres`), embedded in
//! the binary and run at start; on PostgreSQL under an advisory lock, so that two processes
//! starting at once do not migrate together. The folders share their first five change names;
//! PostgreSQL has one more, `000006_directory_probe`: the directory sync's first statement as the
//! PL/pgSQL function `directory_probe`, whose plans the session keeps (planned anew at every call,
//! the statement cost several times its execution). It is `STABLE`, so all it reads is in the
//! calling statement's snapshot. Both have `000007_cancel_kind` (how a cancelled appointment
//! ended, filled from the audit log for earlier rows).
//!
//! **What the directory's triggers cost on PostgreSQL** (the sync itself is described in the
//! directory index's module). Every directory write (profile, services, credentials, name) takes
//! the `directory_state` row lock until it commits, so those writes queue behind each other
//! (bookings do not take it). A transaction left open anywhere on the server holds the xmin back,
//! so syncs re-read the schedule versions written since it began. Each booking's version bump
//! changes an indexed column (`schedule_xid`), so it is not a heap-only update.

pub mod schema;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection type over both backends; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs a typed query on the backend's own connection instead of through [`DbConnection`]: the
/// multi-backend connection turns each query into SQL text before it finds its prepared
/// statement, where a backend's own connection finds it by the query's type, without building
/// the text. For the few queries every request runs (the session, the directory's version).
///
/// `on_backend!(conn, c => query.first(c))`
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgresql($c) => $body,
        }
    };
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// Which backend a `DATABASE_URL` names, parsed once. `Debug` hides a PostgreSQL password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file path (created on first use) or `:memory:`.
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(rest) = url.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err(
                    "DATABASE_URL sqlite:// needs a file path, e.g. sqlite://bodywork.db".into(),
                );
            }
            Ok(DatabaseUrl::Sqlite(rest.to_string()))
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            Ok(DatabaseUrl::Sqlite(rest.to_string()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else {
            Err(format!(
                "DATABASE_URL must start with sqlite:// or postgres:// (got {:?})",
                url.split(':').next().unwrap_or("")
            ))
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }

    /// The URL as it may be printed: a PostgreSQL password becomes `***`.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{p}"),
            DatabaseUrl::Postgres(u) => redact_password(u),
        }
    }
}

/// A SQLite file is read ahead at start only when it takes at most this share of the memory
/// the machine has available (one half): a larger one is read as requests ask for it.
pub const READ_AHEAD_OF_AVAILABLE: (u64, u64) = (1, 2);

impl DatabaseUrl {
    /// Reads a SQLite file once from start to end on a thread of its own, so that its pages are
    /// in the OS page cache when the first requests come: after a reboot, a place's first search
    /// otherwise waits on the disk for each schedule it reads (tens of milliseconds at a million
    /// therapists), where a sequential read of the whole file takes seconds and overlaps the
    /// load of the directory index. Only when the file fits in [`READ_AHEAD_OF_AVAILABLE`] of
    /// the memory available (Linux's `MemAvailable`); never for PostgreSQL, whose server keeps
    /// its own cache. Answers the thread (its bytes read), or None when nothing is read.
    pub fn read_ahead(&self) -> Option<std::thread::JoinHandle<u64>> {
        let DatabaseUrl::Sqlite(path) = self else {
            return None;
        };
        let len = std::fs::metadata(path).ok()?.len();
        let available = std::fs::read_to_string("/proc/meminfo")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())?
            .saturating_mul(1024);
        let (num, den) = READ_AHEAD_OF_AVAILABLE;
        if len.saturating_mul(den) > available.saturating_mul(num) {
            return None;
        }
        let path = path.clone();
        std::thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || {
                use std::io::Read;
                let started = std::time::Instant::now();
                let mut read = 0u64;
                if let Ok(mut f) = std::fs::File::open(&path) {
                    let mut buf = vec![0u8; 1 << 20];
                    while let Ok(n) = f.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        read += n as u64;
                    }
                }
                tracing::info!(
                    bytes = read,
                    ms = started.elapsed().as_millis() as u64,
                    "database file read ahead"
                );
                read
            })
            .ok()
    }
}

/// `scheme://user:password@host/...` with the password replaced by `***`.
fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            DatabaseUrl::Postgres(_) => f.debug_tuple("Postgres").field(&self.redacted()).finish(),
        }
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn debug_hides_a_postgres_password_and_keeps_the_rest() {
        let u =
            DatabaseUrl::parse("postgres://app:s3cr%40t@db.internal:5432/bodywork?sslmode=require")
                .unwrap();
        let shown = format!("{u:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db.internal:5432/bodywork?sslmode=require"),
            "{shown}"
        );
        let plain = DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432/postgres").unwrap();
        assert!(format!("{plain:?}").contains("postgres://postgres@127.0.0.1:5432/postgres"));
        let lite = DatabaseUrl::parse("sqlite://bodywork.db").unwrap();
        assert_eq!(format!("{lite:?}"), "Sqlite(\"bodywork.db\")");
    }
}

/// An r2d2 manager that picks the backend by URL scheme and keeps the real connection error
/// (the derived `MultiConnection::establish` tries each backend and drops the errors).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        ConnectionManager { url }
    }

    fn establish(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // WAL is set once before the pool is built (setting it here races on a new file).
                // Reads go through a memory map of up to the first 1 GiB of the file, one per
                // connection, of the same OS page cache pages (no read call per page; counted in
                // each map's resident size, not the process's own memory), and each connection
                // keeps up to 16 MiB of pages of its own.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute("SET TIME ZONE 'UTC'")
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Postgresql(conn))
            }
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// Builds the pool: sets WAL once on SQLite, then runs the pending migrations; every
/// connection is opened at once (what a server wants).
pub fn build_pool(url: &DatabaseUrl, max_size: u32) -> anyhow::Result<Pool> {
    build_pool_with(url, max_size, max_size)
}

/// The same pool opening its connections only when asked for them (a command, a test's side
/// door into the database), so that it holds none of the server's connections idle.
pub fn build_lazy_pool(url: &DatabaseUrl, max_size: u32) -> anyhow::Result<Pool> {
    build_pool_with(url, max_size, 0)
}

fn build_pool_with(url: &DatabaseUrl, max_size: u32, min_idle: u32) -> anyhow::Result<Pool> {
    let manager = ConnectionManager::new(url.clone());
    // Fail with the real reason (wrong password, unreadable file) before building the pool.
    let mut first = manager.establish().map_err(|e| {
        anyhow::anyhow!("cannot connect to the {} database: {e}", url.backend_name())
    })?;
    if let DbConnection::Sqlite(c) = &mut first {
        c.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    run_migrations(&mut first)?;
    drop(first);
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        // Every connection is opened at start: under a burst, requests would otherwise wait
        // while the pool opens new ones (a TLS handshake each on PostgreSQL).
        .min_idle(Some(min_idle))
        // No ping before each use: a connection that broke is noticed by `has_broken` and
        // replaced; the ping cost a round trip per request.
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)?;
    Ok(pool)
}

/// Runs the embedded migrations of the connection's backend. On PostgreSQL an advisory lock
/// keeps two server processes that start at once from migrating together.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            c.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        }
        DbConnection::Postgresql(c) => {
            // Up to date: nothing to write. A server that runs as a role which does not own the
            // tables (README, "Security") then starts without the right to create any.
            if postgres_up_to_date(c) {
                return Ok(());
            }
            c.batch_execute("SELECT pg_advisory_lock(727274)")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
            c.batch_execute("SELECT pg_advisory_unlock(727274)")?;
            result?;
        }
    }
    Ok(())
}

/// Whether every embedded migration of the connection's backend is recorded as applied, read
/// without writing anything (what `/readyz` asks).
pub fn migrations_up_to_date(conn: &mut DbConnection) -> bool {
    match conn {
        DbConnection::Sqlite(c) => sqlite_up_to_date(c),
        DbConnection::Postgresql(c) => postgres_up_to_date(c),
    }
}

fn sqlite_up_to_date(c: &mut diesel::SqliteConnection) -> bool {
    use diesel::migration::MigrationSource;
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let Ok(applied) =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load::<Applied>(c)
    else {
        return false;
    };
    let applied: std::collections::HashSet<String> =
        applied.into_iter().map(|a| a.version).collect();
    let Ok(embedded) = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
    else {
        return false;
    };
    embedded
        .iter()
        .all(|m| applied.contains(&m.name().version().to_string()))
}

/// Whether every embedded migration is recorded as applied, read without writing anything
/// (diesel's own check first creates its table, which needs the right to create tables).
fn postgres_up_to_date(c: &mut PgConnection) -> bool {
    use diesel::migration::MigrationSource;
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let Ok(applied) =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load::<Applied>(c)
    else {
        return false;
    };
    let applied: std::collections::HashSet<String> =
        applied.into_iter().map(|a| a.version).collect();
    let Ok(embedded) = MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS) else {
        return false;
    };
    embedded
        .iter()
        .all(|m| applied.contains(&m.name().version().to_string()))
}

/// A transaction that will write. On SQLite it starts with `BEGIN IMMEDIATE`, so that a
/// read-then-write never fails with SQLITE_BUSY halfway; on PostgreSQL it is a plain transaction
/// (the constraints decide races). Inside another transaction it is a savepoint on both (a
/// course books and cancels its sessions through the single bookings' paths in one transaction).
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if let DbConnection::Sqlite(c) = conn {
        let nested = AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()?
            .is_some();
        if nested {
            return conn.transaction(f);
        }
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
        match f(conn) {
            Ok(value) => {
                if let Err(e) = DbConnection::commit_transaction(conn) {
                    let _ = DbConnection::rollback_transaction(conn);
                    return Err(e.into());
                }
                Ok(value)
            }
            Err(e) => {
                DbConnection::rollback_transaction(conn)?;
                Err(e)
            }
        }
    } else {
        conn.transaction(f)
    }
}

/// The backend type of [`DbConnection`] (for boxed queries).
pub type Backend = <DbConnection as Connection>::Backend;

diesel::define_sql_function! {
    /// SQL `lower(text)`, the same on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

use crate::error::AppError;

/// Runs blocking database work (and anything else blocking, such as argon2) on the
/// blocking thread pool, with a pooled connection.
pub async fn with_conn<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = checked_out(&pool)?;
        f(&mut conn)
    })
    .await?
}

/// A connection from the pool, the wait measured (`db_pool_wait_seconds`, and
/// `db_pool_timeouts_total` when none came in time: see `http::metrics`).
pub fn checked_out(pool: &Pool) -> Result<PooledConn, r2d2::PoolError> {
    let started = std::time::Instant::now();
    let conn = pool.get();
    metrics::histogram!("db_pool_wait_seconds").record(started.elapsed().as_secs_f64());
    if conn.is_err() {
        metrics::counter!("db_pool_timeouts_total").increment(1);
    }
    conn
}

/// One piece of work on a connection (see [`spread`]).
pub type Job<'a> = Box<dyn FnOnce(&mut DbConnection) -> Result<(), AppError> + Send + 'a>;

/// Runs `jobs` as many at once as there are connections: one on each of `helpers`, each on a
/// thread of its own, and the rest one after another on `conn`, on this thread (those after one
/// that failed there are not begun). Returns once every job begun has ended, with the first error
/// of those that failed. Reads meant to wait on the disk
/// together (each statement waits for its own pages): see `ScheduleCache::spread_loads_over`.
pub fn spread(
    conn: &mut DbConnection,
    helpers: &mut [PooledConn],
    jobs: Vec<Job<'_>>,
) -> Result<(), AppError> {
    let mut jobs = jobs.into_iter();
    std::thread::scope(|s| {
        let running: Vec<_> = helpers
            .iter_mut()
            .zip(jobs.by_ref())
            .map(|(helper, job)| s.spawn(move || job(helper)))
            .collect();
        let mut outcome = Ok(());
        for job in jobs {
            outcome = outcome.and_then(|()| job(conn));
        }
        for thread in running {
            let ended = thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            outcome = outcome.and(ended);
        }
        outcome
    })
}

/// Blocking work that needs no database (argon2: checking and hashing passwords), on the
/// blocking pool, so a flow hashes before it takes a connection.
pub async fn blocking<T, F>(f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
{
    actix_web::web::block(f).await?
}

/// Like [`with_conn`], for work that is short by construction (indexed reads and answers kept in
/// memory, such as a cached availability answer, or a search with no free time to decide, whose
/// page's next free times are at worst loaded for 20 therapists; never a 31-day computation or
/// free time for thousands of candidates): on SQLite, whose
/// queries are function calls taking microseconds, it runs right on the request's thread when a
/// connection is idle, which saves the two thread switches of the blocking pool (most of such a
/// request's cost). On PostgreSQL (`sqlite` false), or when every connection is busy, it is
/// [`with_conn`].
pub async fn with_conn_quick<T, F>(pool: &Pool, sqlite: bool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    if sqlite {
        if let Some(mut conn) = pool.try_get() {
            return f(&mut conn);
        }
    }
    with_conn(pool, f).await
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Bool;

    /// `spread` runs one job on each helper, at once (the first two jobs below each wait until
    /// the other has begun), and the rest on the caller's connection; a job failing on a helper
    /// stops no other, and the failure is the answer.
    #[test]
    fn spread_runs_a_job_on_each_helper_at_once_and_the_rest_on_the_callers_connection() {
        use std::sync::mpsc::channel;
        use std::sync::Mutex;
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let url =
            super::DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("s.db").display()))
                .unwrap();
        let pool = super::build_lazy_pool(&url, 3).unwrap();
        let mut conn = pool.get().unwrap();
        let mut helpers = vec![pool.get().unwrap(), pool.get().unwrap()];
        let ran: Ran = Mutex::new(Vec::new());
        let (to_second, second_hears) = channel();
        let (to_first, first_hears) = channel();
        let meet = |send: std::sync::mpsc::Sender<()>, hear: std::sync::mpsc::Receiver<()>| {
            move || {
                send.send(()).unwrap();
                hear.recv_timeout(Duration::from_secs(20))
                    .map_err(|_| crate::error::AppError::Internal(anyhow::anyhow!("ran alone")))
            }
        };
        let (first, second) = (meet(to_second, first_hears), meet(to_first, second_hears));
        type Ran = Mutex<Vec<(usize, bool, std::thread::ThreadId)>>;
        type Then<'a> = Box<dyn FnOnce() -> Result<(), crate::error::AppError> + Send + 'a>;
        fn job<'a>(n: usize, then: Then<'a>, ran: &'a Ran) -> super::Job<'a> {
            Box::new(move |c: &mut super::DbConnection| {
                then()?;
                let one: bool = diesel::select(diesel::dsl::sql::<Bool>("1 = 1")).get_result(c)?;
                ran.lock()
                    .unwrap()
                    .push((n, one, std::thread::current().id()));
                Ok(())
            })
        }
        let caller = std::thread::current().id();
        let jobs = vec![
            job(0, Box::new(first), &ran),
            job(1, Box::new(second), &ran),
            job(2, Box::new(|| Ok(())), &ran),
            job(3, Box::new(|| Ok(())), &ran),
        ];
        super::spread(&mut conn, &mut helpers, jobs).expect("the first two met");
        let mut ran = std::mem::take(&mut *ran.lock().unwrap());
        ran.sort_by_key(|r| r.0);
        assert_eq!(
            ran.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
            [(0, true), (1, true), (2, true), (3, true)]
        );
        assert!(ran[0].2 != caller && ran[1].2 != caller && ran[0].2 != ran[1].2);
        assert!(ran[2].2 == caller && ran[3].2 == caller);

        // A job failing on a helper: the others still run.
        let ran = Mutex::new(Vec::new());
        let jobs: Vec<super::Job<'_>> = (0..4)
            .map(|n| -> super::Job<'_> {
                let ran = &ran;
                Box::new(move |c: &mut super::DbConnection| {
                    ran.lock().unwrap().push(n);
                    if n == 1 {
                        diesel::sql_query("SELECT nothing FROM nowhere").execute(c)?;
                    }
                    Ok(())
                })
            })
            .collect();
        assert!(super::spread(&mut conn, &mut helpers, jobs).is_err());
        assert_eq!(ran.lock().unwrap().len(), 4);
    }

    /// A SQLite file is read ahead whole on its own thread; an in-memory database and
    /// PostgreSQL are not.
    #[test]
    fn a_sqlite_file_is_read_ahead_whole_and_nothing_else_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        std::fs::write(&path, vec![7u8; 3 * (1 << 20) + 5]).unwrap();
        let url = super::DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
        let read = url.read_ahead().expect("a small file is read ahead");
        assert_eq!(read.join().unwrap(), 3 * (1 << 20) + 5);
        for other in ["sqlite://:memory:", "postgres://u@127.0.0.1:1/x"] {
            let url = super::DatabaseUrl::parse(other).unwrap();
            assert!(url.read_ahead().is_none(), "{other}");
        }
    }

    /// The bundled SQLite keeps one plan per prepared statement (`.cargo/config.toml`), so the
    /// statement cache is not undone by re-preparing on every execution.
    #[test]
    fn sqlite_is_built_with_the_query_planner_stability_guarantee() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let qpsg: bool = diesel::select(diesel::dsl::sql::<Bool>(
            "EXISTS (SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_QPSG')",
        ))
        .get_result(&mut conn)
        .unwrap();
        assert!(
            qpsg,
            "build the bundled SQLite with LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_QPSG"
        );
    }
}
