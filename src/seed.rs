//! `bodywork seed --therapists N [--rng-seed S]`: synthetic directory data for load tests.
//! Realistic verified therapists spread over the gazetteer, weighted by population, with
//! techniques, services, weekly hours, credentials and some bookings. Bulk inserts in large
//! batches inside one transaction per chunk; ids are assigned here (and PostgreSQL's identity
//! sequences moved past them at the end).

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::schema::{
    appointments, booking_policies, licenses, services, therapist_techniques, therapists,
    training_records, users, weekly_hours,
};
use crate::db::{write_transaction, DbConnection};
use crate::domain::account::NewPassword;
use crate::domain::appointment::AppointmentStatus;
use crate::domain::credential::CredentialStatus;
use crate::domain::gazetteer::PLACES;
use crate::domain::technique::CATALOGUE;
use crate::error::AppError;
use crate::models::now;

/// The password of every seeded account.
pub const SEED_PASSWORD: &str = "bodywork-seed";
/// Therapists per transaction. Each commit writes the pages it changed to the WAL, and the
/// indexes on scattered keys (email, place cell, techniques) change pages all over their trees:
/// 2,000 a commit wrote 14 times the database's size at 100,000 therapists (and more as the
/// trees grow), 20,000 a commit 3.5 times.
const CHUNK: usize = 20_000;

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Wei",
    "Ashley",
    "Steven",
    "Kimberly",
    "Andrew",
    "Emily",
    "Kenji",
    "Donna",
    "Joshua",
    "Michelle",
    "Priya",
    "Carol",
    "Luis",
    "Amanda",
    "Omar",
    "Melissa",
    "Ahmed",
    "Deborah",
    "Juan",
    "Stephanie",
    "Ravi",
    "Aisha",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Patel",
];
const BIO_OPENINGS: &[&str] = &[
    "I work with chronic back and neck pain",
    "My sessions focus on recovery for runners and lifters",
    "Gentle, unhurried massage for stress and sleep",
    "Clinical massage for desk workers with sore shoulders",
    "Pregnancy and postnatal massage is at the heart of my practice",
    "Deep work on knots and trigger points, explained as I go",
];
/// Street names of the seeded studios' addresses.
const SEED_STREETS: &[&str] = &[
    "Main",
    "Oak",
    "Maple",
    "Cedar",
    "Elm",
    "Park",
    "Pine",
    "Washington",
    "Lake",
    "Hill",
];

const BIO_ENDINGS: &[&str] = &[
    "I check in about pressure throughout.",
    "Every session starts with a short conversation about what you need.",
    "I keep notes so each visit builds on the last.",
    "Quiet room, warm table, no upselling.",
];

#[derive(Insertable)]
#[diesel(table_name = users)]
struct UserRow {
    id: i64,
    email: String,
    password_hash: String,
    name: String,
    role: &'static str,
    created_at: NaiveDateTime,
    /// Seeded accounts are verified (they book and are booked like real ones).
    email_verified_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = therapists)]
struct TherapistRow {
    id: i64,
    user_id: i64,
    bio: String,
    city: Option<String>,
    region: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    geo_cell: Option<i32>,
    timezone: String,
    accepting_new_clients: bool,
    languages: String,
    in_studio: bool,
    mobile: bool,
    /// Every seeded therapist has a studio (the booking benchmark books studio visits).
    address: Option<String>,
    phone: Option<String>,
    mobile_radius_km: Option<i32>,
    verified_hours: i32,
    license_verified_until: Option<NaiveDate>,
    price_from_cents: Option<i64>,
    /// A synthetic rating for the search benchmark's rating queries (the seed writes no
    /// reviews: the first real review or hiding recomputes it from the reviews).
    rating_count: i32,
    rating_sum: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = therapist_techniques)]
struct TechniqueRow {
    therapist_id: i64,
    technique_slug: &'static str,
}

#[derive(Insertable)]
#[diesel(table_name = services)]
struct ServiceRow {
    id: i64,
    therapist_id: i64,
    technique_slug: &'static str,
    duration_min: i32,
    price_cents: i64,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = weekly_hours)]
struct HoursRow {
    therapist_id: i64,
    weekday: i16,
    start_min: i32,
    end_min: i32,
}

#[derive(Insertable)]
#[diesel(table_name = booking_policies)]
struct PolicyRow {
    therapist_id: i64,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = licenses)]
struct LicenseRow {
    therapist_id: i64,
    jurisdiction: String,
    number: String,
    issuing_body: String,
    expires_on: NaiveDate,
    status: &'static str,
    submitted_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = training_records)]
struct TrainingRow {
    therapist_id: i64,
    program: &'static str,
    hours: i32,
    completed_on: NaiveDate,
    status: &'static str,
    submitted_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = appointments)]
struct AppointmentRow {
    therapist_id: i64,
    client_id: i64,
    service_id: i64,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    blocked_until: NaiveDateTime,
    status: &'static str,
    screening_version: i32,
    screening_answers: String,
    screening_outcome: &'static str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Default)]
struct Batch {
    users: Vec<UserRow>,
    therapists: Vec<TherapistRow>,
    techniques: Vec<TechniqueRow>,
    services: Vec<ServiceRow>,
    hours: Vec<HoursRow>,
    policies: Vec<PolicyRow>,
    licenses: Vec<LicenseRow>,
    training: Vec<TrainingRow>,
    appointments: Vec<AppointmentRow>,
}

/// Inserts in slices small enough for SQLite's bound-parameter limit.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr, $per:expr) => {
        for part in $rows.chunks($per) {
            // Multi-row inserts exist per backend, not over the multi-connection.
            match &mut *$conn {
                DbConnection::Sqlite(c) => diesel::insert_into($table).values(part).execute(c)?,
                DbConnection::Postgresql(c) => {
                    diesel::insert_into($table).values(part).execute(c)?
                }
            };
        }
    };
}

fn next_id(conn: &mut DbConnection, table: &str) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Max {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        m: i64,
    }
    let row: Max = diesel::sql_query(format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}"))
        .get_result(conn)?;
    Ok(row.m + 1)
}

pub struct SeedReport {
    /// How it wrote: "no journal", "triggers caught up" or "as usual" (`Bulk`).
    pub bulk: &'static str,
    pub first_therapist_id: i64,
    pub therapists: usize,
    pub clients: usize,
    pub appointments: usize,
}

/// How the seed writes in bulk, faster than the way the application writes (measured at 100,000
/// therapists: SQLite 43 s in all, of which 39 s writing the rows, PostgreSQL 60 s, of which 40 s
/// in the child tables' triggers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bulk {
    /// As the application writes.
    AsUsual,
    /// SQLite, a database with no account yet: no journal while seeding, so each changed page is
    /// written once, to the database file, instead of to the WAL and again at its checkpoint
    /// (17.5 s instead of 43 s at 100,000). There is then no rollback: a seed that fails or is
    /// killed leaves the file unusable, and says so; it held nothing else. The journal goes back
    /// to WAL at the end. Another process with the file open keeps the WAL (SQLite refuses the
    /// switch), and the seed writes as usual.
    NoJournal,
    /// PostgreSQL, when the seeding role owns the tables: each chunk's transaction turns the user
    /// triggers of the child tables (services, hours, techniques, credentials, bookings) off,
    /// inserts, does at once what they would have done row by row (one update of each
    /// therapist: technique mask, schedule version, directory stamp; [`catch_up_child_triggers`])
    /// and turns them on again before it commits. `ALTER TABLE` is transactional, so no other
    /// session ever sees them off (it waits on the tables' locks until the chunk commits).
    TriggersAfter,
}

/// The tables whose rows the seed adds under a therapist and whose triggers update that
/// therapist's row.
const CHILD_TABLES: &[&str] = &[
    "therapist_techniques",
    "services",
    "weekly_hours",
    "booking_policies",
    "licenses",
    "training_records",
    "appointments",
];

impl Bulk {
    fn choose(conn: &mut DbConnection) -> Result<Bulk, AppError> {
        #[derive(QueryableByName)]
        struct Answer {
            #[diesel(sql_type = diesel::sql_types::Text)]
            answer: String,
        }
        match conn {
            DbConnection::Sqlite(_) => {
                let accounts: i64 = users::table.count().get_result(conn)?;
                if accounts > 0 {
                    return Ok(Bulk::AsUsual);
                }
                #[derive(QueryableByName)]
                struct Mode {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    journal_mode: String,
                }
                // Refused ("database is locked") while another connection holds the file.
                let mode = diesel::sql_query("PRAGMA journal_mode = OFF").get_result::<Mode>(conn);
                Ok(match mode {
                    Ok(m) if m.journal_mode.eq_ignore_ascii_case("off") => Bulk::NoJournal,
                    Ok(_) | Err(diesel::result::Error::DatabaseError(..)) => Bulk::AsUsual,
                    Err(e) => return Err(e.into()),
                })
            }
            DbConnection::Postgresql(_) => {
                let list = CHILD_TABLES
                    .iter()
                    .map(|t| format!("to_regclass('{t}')"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let owns: Answer = diesel::sql_query(format!(
                    "SELECT CASE WHEN bool_and(pg_has_role(current_user, relowner, 'USAGE')) \
                     THEN 'yes' ELSE 'no' END AS answer FROM pg_class WHERE oid IN ({list})"
                ))
                .get_result(conn)?;
                Ok(if owns.answer == "yes" {
                    Bulk::TriggersAfter
                } else {
                    Bulk::AsUsual
                })
            }
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Bulk::AsUsual => "as usual",
            Bulk::NoJournal => "no journal",
            Bulk::TriggersAfter => "triggers caught up",
        }
    }

    /// A chunk's outcome; without a journal a failed chunk cannot be rolled back, so the error
    /// says what is left.
    fn check<T>(self, result: Result<T, AppError>) -> Result<T, AppError> {
        match (self, result) {
            (Bulk::NoJournal, Err(e)) => Err(AppError::Internal(anyhow::anyhow!(
                "{e}; the seed wrote this new database without a journal, so it is left \
                 half-written: delete it and seed again"
            ))),
            (_, result) => result,
        }
    }
}

/// Turns the user triggers of [`CHILD_TABLES`] off or on (PostgreSQL, inside a transaction).
fn set_child_triggers(conn: &mut DbConnection, on: bool) -> Result<(), AppError> {
    let verb = if on { "ENABLE" } else { "DISABLE" };
    let sql: String = CHILD_TABLES
        .iter()
        .map(|t| format!("ALTER TABLE {t} {verb} TRIGGER USER;"))
        .collect();
    conn.batch_execute(&sql)?;
    Ok(())
}

/// What the child tables' triggers do to the therapists `first..=last`, once per therapist:
/// the technique mask from their techniques (`refresh_technique_mask`), a new schedule version
/// (`bump_schedule_version`, which also records the writing transaction), and a new directory
/// stamp (`stamp_licensed_therapist` sets it to 0, and the therapists' own stamp trigger, still
/// on, takes the next one). `tests/it/free_days.rs` checks the result against the triggers'.
fn catch_up_child_triggers(conn: &mut DbConnection, first: i64, last: i64) -> Result<(), AppError> {
    use diesel::sql_types::BigInt;
    diesel::sql_query(
        "UPDATE therapists th SET technique_mask = COALESCE((\
             SELECT bit_or(CAST(1 AS BIGINT) << t.sort_order) FROM therapist_techniques tt \
             JOIN techniques t ON t.slug = tt.technique_slug WHERE tt.therapist_id = th.id), 0), \
         schedule_version = schedule_version + 1, directory_stamp = 0 \
         WHERE th.id BETWEEN $1 AND $2",
    )
    .bind::<BigInt, _>(first)
    .bind::<BigInt, _>(last)
    .execute(conn)?;
    Ok(())
}

/// Seeds `n` therapists (and a client per 100 therapists, who hold the bookings).
pub fn seed(
    conn: &mut DbConnection,
    n: usize,
    rng_seed: u64,
    progress: bool,
) -> Result<SeedReport, AppError> {
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let started = std::time::Instant::now();
    if matches!(conn, DbConnection::Sqlite(_)) {
        // A GB of page cache: a chunk's changed pages (and the index pages it changes again)
        // stay in memory until its commit instead of spilling to the WAL and back.
        conn.batch_execute("PRAGMA cache_size = -1048576")?;
    }
    let bulk = Bulk::choose(conn)?;
    let hash = crate::services::password::hash(&NewPassword::parse(SEED_PASSWORD).expect("valid"))?;
    let now = now();
    let today = Utc::now().date_naive();
    let total_pop: u64 = PLACES.iter().map(|p| p.population).sum();
    let cumulative: Vec<u64> = PLACES
        .iter()
        .scan(0u64, |acc, p| {
            *acc += p.population;
            Some(*acc)
        })
        .collect();
    let mut user_id = next_id(conn, "users")?;
    let mut therapist_id = next_id(conn, "therapists")?;
    let first_therapist_id = therapist_id;
    let mut service_id = next_id(conn, "services")?;
    let run = user_id; // makes emails unique across runs

    // Clients who hold the seeded bookings.
    let n_clients = (n / 100).max(1);
    let mut client_ids = Vec::with_capacity(n_clients);
    let mut batch = Batch::default();
    for i in 0..n_clients {
        batch.users.push(UserRow {
            id: user_id,
            email: format!("client{i:05}.{run}@seed.bodywork.test"),
            password_hash: hash.clone(),
            name: format!(
                "{} {}",
                FIRST[rng.gen_range(0..FIRST.len())],
                LAST[rng.gen_range(0..LAST.len())]
            ),
            role: "client",
            created_at: now,
            email_verified_at: Some(now),
        });
        client_ids.push(user_id);
        user_id += 1;
    }
    bulk.check(write_transaction(conn, |conn| {
        insert_all!(conn, users::table, batch.users, 1000);
        Ok::<_, AppError>(())
    }))?;

    let bar = if progress {
        ProgressBar::new(n as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} therapists  {per_sec}  eta {eta}")
            .expect("valid template"),
    );
    let mut appointments = 0;
    let mut done = 0;
    // Where the time goes, for the progress lines: making the rows, writing them, computing the
    // free-day maps, writing the maps.
    let mut spent = [std::time::Duration::ZERO; 4];
    while done < n {
        let size = CHUNK.min(n - done);
        let mut lap = std::time::Instant::now();
        let mut clock = |k: usize| {
            spent[k] += lap.elapsed();
            lap = std::time::Instant::now();
        };
        let mut b = Batch::default();
        for _ in 0..size {
            let pick = rng.gen_range(0..total_pop);
            let place = &PLACES[cumulative.partition_point(|c| *c <= pick)];
            let name = format!(
                "{} {}",
                FIRST[rng.gen_range(0..FIRST.len())],
                LAST[rng.gen_range(0..LAST.len())]
            );
            b.users.push(UserRow {
                id: user_id,
                // Zero-padded: the emails sort in the order they are inserted, so the unique
                // index on them grows at its end instead of changing pages all over its tree.
                email: format!(
                    "therapist{:07}.{run}@seed.bodywork.test",
                    done + b.therapists.len()
                ),
                password_hash: hash.clone(),
                name,
                role: "therapist",
                created_at: now,
                email_verified_at: Some(now),
            });
            // Up to about 8 km from the centre.
            let lat = place.lat + rng.gen_range(-0.07..0.07);
            let lon = place.lon + rng.gen_range(-0.09..0.09);
            let n_tech = rng.gen_range(1..=4);
            let mut techs: Vec<&'static str> = Vec::new();
            while techs.len() < n_tech {
                let t = CATALOGUE[rng.gen_range(0..CATALOGUE.len())].slug;
                if !techs.contains(&t) {
                    techs.push(t);
                }
            }
            let mut min_price = i64::MAX;
            for (k, t) in techs.iter().enumerate() {
                b.techniques.push(TechniqueRow {
                    therapist_id,
                    technique_slug: t,
                });
                if k < 3 {
                    let duration = [30, 60, 60, 90][rng.gen_range(0..4)];
                    let price = (duration as i64 * rng.gen_range(120..220) / 60) * 100 / 100 * 100;
                    min_price = min_price.min(price);
                    b.services.push(ServiceRow {
                        id: service_id,
                        therapist_id,
                        technique_slug: t,
                        duration_min: duration,
                        price_cents: price,
                        created_at: now,
                    });
                    // Some bookings in the coming two weeks.
                    if rng.gen_bool(0.2) {
                        // One booking a day at most: the k-th service books within its own days.
                        let day = today + Duration::days(1 + 5 * k as i64 + rng.gen_range(0..4));
                        let start = day
                            .and_hms_opt(rng.gen_range(14..20), 0, 0)
                            .expect("valid")
                            .with_second(0)
                            .expect("valid");
                        let end = start + Duration::minutes(duration as i64);
                        b.appointments.push(AppointmentRow {
                            therapist_id,
                            client_id: client_ids[rng.gen_range(0..client_ids.len())],
                            service_id,
                            starts_at: start,
                            ends_at: end,
                            blocked_until: end + Duration::minutes(15),
                            status: AppointmentStatus::Confirmed.as_str(),
                            screening_version: 1,
                            screening_answers: String::new(),
                            screening_outcome: "ok",
                            created_at: now,
                            updated_at: now,
                        });
                    }
                    service_id += 1;
                }
            }
            // Weekly hours: five or six days, most with a lunch break.
            let days = if rng.gen_bool(0.3) { 6 } else { 5 };
            let first_day = rng.gen_range(1..=2);
            let start = [8 * 60, 9 * 60, 10 * 60][rng.gen_range(0..3)];
            for d in first_day..first_day + days {
                if rng.gen_bool(0.7) {
                    b.hours.push(HoursRow {
                        therapist_id,
                        weekday: d as i16,
                        start_min: start,
                        end_min: 12 * 60,
                    });
                    b.hours.push(HoursRow {
                        therapist_id,
                        weekday: d as i16,
                        start_min: 13 * 60,
                        end_min: start + 9 * 60,
                    });
                } else {
                    b.hours.push(HoursRow {
                        therapist_id,
                        weekday: d as i16,
                        start_min: start,
                        end_min: start + 8 * 60,
                    });
                }
            }
            b.policies.push(PolicyRow {
                therapist_id,
                updated_at: now,
            });
            let license_ok = rng.gen_bool(0.9);
            let expires = today + Duration::days(rng.gen_range(20..900));
            b.licenses.push(LicenseRow {
                therapist_id,
                jurisdiction: place.state.clone(),
                number: format!("LMT-{:06}", rng.gen_range(0..1_000_000)),
                issuing_body: format!("{} Board of Massage Therapy", place.state),
                expires_on: expires,
                status: if license_ok {
                    CredentialStatus::Verified
                } else {
                    CredentialStatus::Submitted
                }
                .as_str(),
                submitted_at: now - Duration::days(rng.gen_range(1..400)),
                decided_at: license_ok.then_some(now),
            });
            let hours = rng.gen_range(300..1200);
            let training_ok = rng.gen_bool(0.85);
            b.training.push(TrainingRow {
                therapist_id,
                program: "Massage Therapy Diploma",
                hours,
                completed_on: today - Duration::days(rng.gen_range(400..6000)),
                status: if training_ok {
                    CredentialStatus::Verified
                } else {
                    CredentialStatus::Submitted
                }
                .as_str(),
                submitted_at: now - Duration::days(rng.gen_range(1..400)),
                decided_at: training_ok.then_some(now),
            });
            let bio = format!(
                "{} in {}. {}",
                BIO_OPENINGS[rng.gen_range(0..BIO_OPENINGS.len())],
                place.name,
                BIO_ENDINGS[rng.gen_range(0..BIO_ENDINGS.len())]
            );
            let mobile_radius = rng.gen_bool(0.2).then(|| rng.gen_range(5..=60));
            // Seven in ten have reviews: 1 to 60, averaging 3 to 5 stars.
            let (rating_count, rating_sum) = if rng.gen_bool(0.7) {
                let n: i32 = rng.gen_range(1..=60);
                let sum = (f64::from(n) * rng.gen_range(3.0..=5.0)).round() as i32;
                (n, sum.clamp(n, 5 * n))
            } else {
                (0, 0)
            };
            b.therapists.push(TherapistRow {
                id: therapist_id,
                user_id,
                bio,
                city: Some(place.name.clone()),
                region: Some(place.state.clone()),
                latitude: Some(lat),
                longitude: Some(lon),
                geo_cell: Some(crate::domain::gazetteer::geo_cell(
                    crate::domain::gazetteer::GeoPoint { lat, lon },
                )),
                timezone: place.tz.name().to_string(),
                accepting_new_clients: rng.gen_bool(0.85),
                languages: if rng.gen_bool(0.2) {
                    ",en,es,".into()
                } else {
                    ",en,".into()
                },
                in_studio: true,
                address: Some(format!(
                    "{} {} Street, {}",
                    rng.gen_range(1..2000),
                    SEED_STREETS[rng.gen_range(0..SEED_STREETS.len())],
                    place.name
                )),
                phone: Some(format!(
                    "+1 555 {:03} {:04}",
                    therapist_id % 1000,
                    user_id % 10_000
                )),
                mobile_radius_km: mobile_radius,
                mobile: mobile_radius.is_some(),
                verified_hours: if training_ok { hours } else { 0 },
                license_verified_until: license_ok.then_some(expires),
                price_from_cents: Some(min_price),
                rating_count,
                rating_sum,
                created_at: now,
                updated_at: now,
            });
            user_id += 1;
            therapist_id += 1;
        }
        appointments += b.appointments.len();
        clock(0);
        let result = write_transaction(conn, |conn| {
            if bulk == Bulk::TriggersAfter {
                set_child_triggers(conn, false)?;
            }
            insert_all!(conn, users::table, b.users, 1000);
            insert_all!(conn, therapists::table, b.therapists, 1000);
            insert_all!(conn, therapist_techniques::table, b.techniques, 5000);
            insert_all!(conn, services::table, b.services, 2000);
            insert_all!(conn, weekly_hours::table, b.hours, 3000);
            insert_all!(conn, booking_policies::table, b.policies, 5000);
            insert_all!(conn, licenses::table, b.licenses, 1000);
            insert_all!(conn, training_records::table, b.training, 1000);
            insert_all!(conn, appointments::table, b.appointments, 500);
            if bulk == Bulk::TriggersAfter {
                let (first, last) = (b.therapists[0].id, therapist_id - 1);
                catch_up_child_triggers(conn, first, last)?;
                set_child_triggers(conn, true)?;
            }
            Ok::<_, AppError>(())
        });
        bulk.check(result)?;
        clock(1);
        // The chunk's free-day maps, as a server would compute them (`search::free_days`).
        let ids: Vec<i64> = b.therapists.iter().map(|t| t.id).collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let maps = crate::search::mapper::compute(conn, &ids, today, threads)?;
        clock(2);
        bulk.check(write_transaction(conn, |conn| {
            crate::search::free_days::store(conn, &maps)
        }))?;
        clock(3);
        done += size;
        bar.set_position(done as u64);
        if progress && !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            // No terminal for the bar (a script, a log): a line a chunk.
            let [make, rows, maps, store] = spent.map(|d| d.as_secs_f64());
            eprintln!(
                "seeded {done} of {n} therapists ({:.0} s: rows made {make:.0} s, \
                 written {rows:.0} s, maps computed {maps:.0} s, written {store:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    bar.finish_and_clear();
    if let DbConnection::Postgresql(_) = conn {
        for t in ["users", "therapists", "services"] {
            conn.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"
            ))?;
        }
        conn.batch_execute("ANALYZE")?;
    } else {
        conn.batch_execute("ANALYZE")?;
        if bulk == Bulk::NoJournal {
            conn.batch_execute("PRAGMA journal_mode = WAL")?;
        }
    }
    Ok(SeedReport {
        bulk: bulk.describe(),
        first_therapist_id,
        therapists: n,
        clients: n_clients,
        appointments,
    })
}

/// Gives one therapist `n` appointments (half past, half future, 75 minutes apart within
/// 09:00-17:00 UTC, on all days) for the availability benchmark. Returns (therapist id, service id).
pub fn busy_therapist(
    conn: &mut DbConnection,
    therapist_id: i64,
    n: usize,
) -> Result<(i64, i64), AppError> {
    let service_id: i64 = services::table
        .filter(services::therapist_id.eq(therapist_id))
        .filter(services::retired_at.is_null())
        .select(services::id)
        .order(services::id)
        .first(conn)?;
    let client_id: i64 = users::table
        .filter(users::role.eq("client"))
        .select(users::id)
        .order(users::id)
        .first(conn)?;
    let today = Utc::now().date_naive();
    let mut rows = Vec::with_capacity(n);
    let per_day = 6;
    let days = (n / per_day) as i64 + 1;
    let now = now();
    'outer: for d in -(days / 2)..=(days - days / 2) {
        let day = today + Duration::days(d);
        for k in 0..per_day {
            if rows.len() >= n {
                break 'outer;
            }
            let start = day.and_hms_opt(9, 0, 0).expect("valid") + Duration::minutes(75 * k as i64);
            let end = start + Duration::minutes(60);
            rows.push(AppointmentRow {
                therapist_id,
                client_id,
                service_id,
                starts_at: start,
                ends_at: end,
                blocked_until: end + Duration::minutes(15),
                status: if d < 0 {
                    AppointmentStatus::Completed
                } else {
                    AppointmentStatus::Confirmed
                }
                .as_str(),
                screening_version: 1,
                screening_answers: String::new(),
                screening_outcome: "ok",
                created_at: now,
                updated_at: now,
            });
        }
    }
    write_transaction(conn, |conn| {
        diesel::delete(appointments::table.filter(appointments::therapist_id.eq(therapist_id)))
            .execute(conn)?;
        insert_all!(conn, appointments::table, rows, 500);
        // Every day of the week, 08:00-18:00 in the therapist's zone.
        diesel::delete(weekly_hours::table.filter(weekly_hours::therapist_id.eq(therapist_id)))
            .execute(conn)?;
        let hours: Vec<HoursRow> = (1..=7)
            .map(|d| HoursRow {
                therapist_id,
                weekday: d,
                start_min: 8 * 60,
                end_min: 18 * 60,
            })
            .collect();
        insert_all!(conn, weekly_hours::table, hours, 100);
        Ok::<_, AppError>(())
    })?;
    Ok((therapist_id, service_id))
}
