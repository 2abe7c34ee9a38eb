//! A therapist's clients: the people who booked them, with their visits (`domain::notes`:
//! a visit is an appointment that has started and was confirmed or completed), last visit (the
//! latest) and next visit (the earliest requested or confirmed appointment to come); and one
//! client's file: their appointments with this therapist and the notes written.
//!
//! The list is one grouped query over `appointments` joined to `users` (plus a count), the same
//! SQL on both backends; a search is a case-insensitive `LIKE` on the name or the email. A
//! therapist reaches only people who booked them: any other id is 404. An erased client shows
//! under the name the erasure left (`account_data::ERASED_NAME`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::schema::{appointments, services};
use crate::db::DbConnection;
use crate::domain::appointment::AppointmentStatus;
use crate::domain::notes::{UPCOMING_STATUSES, VISIT_STATUSES};
use crate::domain::paging::Page;
use crate::error::AppError;
use crate::models::appointment::Appointment;
use crate::services::access::{self, Proof};
use crate::services::crypto::AnswerCipher;
use crate::services::notes::{self, NoteVersion};
use crate::services::therapists::own_profile;

/// One client of the therapist, as the list shows them.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClientLine {
    #[diesel(sql_type = BigInt)]
    pub client_id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    /// Appointments that took place (see the module doc).
    #[diesel(sql_type = BigInt)]
    pub visits: i64,
    /// The start of the latest visit.
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_visit: Option<NaiveDateTime>,
    /// The start of the earliest requested or confirmed appointment to come.
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub next_visit: Option<NaiveDateTime>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The `LIKE` pattern of a search (lower case, `%` `_` `\` escaped), `%` for none.
fn pattern(q: Option<&str>) -> String {
    match q {
        None => "%".into(),
        Some(q) => format!(
            "%{}%",
            q.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        ),
    }
}

// Parameters are numbered in the order they first appear: SQLite names `$N` and numbers the
// names by first appearance, PostgreSQL by N, so both bind the same way.
const LINES_SQL: &str = "SELECT u.id AS client_id, u.name AS name, u.email AS email, \
       SUM(CASE WHEN a.status IN ($1, $2) AND a.starts_at <= $3 THEN 1 ELSE 0 END) AS visits, \
       MAX(CASE WHEN a.status IN ($1, $2) AND a.starts_at <= $3 THEN a.starts_at END) AS last_visit, \
       MIN(CASE WHEN a.status IN ($4, $5) AND a.starts_at > $3 THEN a.starts_at END) AS next_visit \
     FROM appointments a JOIN users u ON u.id = a.client_id \
     WHERE a.therapist_id = $6 \
       AND (lower(u.name) LIKE $7 ESCAPE '\\' OR lower(u.email) LIKE $7 ESCAPE '\\') \
       AND ($8 = 0 OR u.id = $8) \
     GROUP BY u.id, u.name, u.email \
     ORDER BY lower(u.name) ASC, u.id ASC \
     LIMIT $9 OFFSET $10";

const COUNT_SQL: &str = "SELECT COUNT(DISTINCT a.client_id) AS n \
     FROM appointments a JOIN users u ON u.id = a.client_id \
     WHERE a.therapist_id = $1 \
       AND (lower(u.name) LIKE $2 ESCAPE '\\' OR lower(u.email) LIKE $2 ESCAPE '\\')";

fn lines(
    conn: &mut DbConnection,
    therapist_id: i64,
    q: Option<&str>,
    only_client: Option<i64>,
    page: Page,
    now: DateTime<Utc>,
) -> Result<Vec<ClientLine>, AppError> {
    let [v1, v2] = VISIT_STATUSES.map(AppointmentStatus::as_str);
    let [a1, a2] = UPCOMING_STATUSES.map(AppointmentStatus::as_str);
    Ok(diesel::sql_query(LINES_SQL)
        .bind::<Text, _>(v1)
        .bind::<Text, _>(v2)
        .bind::<Timestamp, _>(now.naive_utc())
        .bind::<Text, _>(a1)
        .bind::<Text, _>(a2)
        .bind::<BigInt, _>(therapist_id)
        .bind::<Text, _>(pattern(q))
        .bind::<BigInt, _>(only_client.unwrap_or(0))
        .bind::<BigInt, _>(page.per_page)
        .bind::<BigInt, _>(page.offset())
        .load(conn)?)
}

/// The therapist's clients matching `q` (name or email, any letter case; `domain::notes::
/// parse_search` made it), by name: (total, this page).
pub fn list(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    q: Option<&str>,
    page: Page,
    now: DateTime<Utc>,
) -> Result<(i64, Vec<ClientLine>), AppError> {
    let th = own_profile(conn, therapist)?;
    let total = diesel::sql_query(COUNT_SQL)
        .bind::<BigInt, _>(th.id)
        .bind::<Text, _>(pattern(q))
        .get_result::<Count>(conn)?
        .n;
    let rows = lines(conn, th.id, q, None, page, now)?;
    Ok((total, rows))
}

/// One appointment of a client's file.
#[derive(Debug, Clone)]
pub struct FileAppointment {
    pub appt: Appointment,
    pub technique: String,
    pub duration_min: i32,
    /// How many versions its notes have (0: none).
    pub note_versions: i64,
    /// The current version of its notes, opened.
    pub notes: Option<NoteVersion>,
}

impl FileAppointment {
    /// Where it stands in the therapist's words (see `AppointmentStatus::therapist_words`).
    pub fn therapist_words(&self, now: DateTime<Utc>) -> &'static str {
        self.appt.status.therapist_words(
            self.appt.cancel_kind(),
            self.appt.cancelled_by.map(|by| by == self.appt.client_id),
            self.appt.ends_at.and_utc() <= now,
        )
    }
}

/// A client's file as their therapist sees it.
#[derive(Debug, Clone)]
pub struct ClientFile {
    pub line: ClientLine,
    /// The therapist's IANA zone (the pages' clock).
    pub timezone: String,
    /// Every appointment with this therapist, newest first.
    pub appointments: Vec<FileAppointment>,
}

/// The file of `client_id` for `therapist`: 404 unless they booked this therapist. With
/// `open` (the cipher and the channel of the read), the current notes of each appointment are
/// opened for the therapist (a read by anyone but their author is logged); without, only how
/// many versions each has.
pub fn file(
    conn: &mut DbConnection,
    open: Option<(&AnswerCipher, &str)>,
    therapist: &access::Therapist,
    client_id: i64,
    now: DateTime<Utc>,
) -> Result<ClientFile, AppError> {
    let th = own_profile(conn, therapist)?;
    let line = lines(
        conn,
        th.id,
        None,
        Some(client_id),
        Page {
            page: 1,
            per_page: 1,
        },
        now,
    )?
    .into_iter()
    .next()
    .ok_or(AppError::NotFound)?;
    let rows: Vec<(Appointment, (String, i32))> = appointments::table
        .inner_join(services::table)
        .filter(appointments::therapist_id.eq(th.id))
        .filter(appointments::client_id.eq(client_id))
        .order((appointments::starts_at.desc(), appointments::id.desc()))
        .select((
            Appointment::as_select(),
            (services::technique_slug, services::duration_min),
        ))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|(a, _)| a.id).collect();
    let counts = notes::version_counts(conn, &ids)?;
    let appts: Vec<&Appointment> = rows.iter().map(|(a, _)| a).collect();
    let mut current: HashMap<i64, NoteVersion> = match open {
        Some((cipher, channel)) => {
            notes::current_of(conn, cipher, therapist.user(), &appts, channel)?
        }
        None => HashMap::new(),
    };
    let appointments = rows
        .into_iter()
        .map(|(appt, (technique, duration_min))| FileAppointment {
            note_versions: counts.get(&appt.id).copied().unwrap_or(0),
            notes: current.remove(&appt.id),
            technique,
            duration_min,
            appt,
        })
        .collect();
    Ok(ClientFile {
        line,
        timezone: th.timezone,
        appointments,
    })
}
