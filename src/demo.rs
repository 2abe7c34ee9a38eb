//! `serve --demo`: fills an empty database with demo people and therapists, and prints the
//! logins. Each feature extends this data so the demo shows everything that exists.

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::schema::{
    booking_policies, licenses, therapist_techniques, therapists, training_records, users,
    weekly_hours,
};
use crate::db::{write_transaction, DbConnection};
use crate::domain::appointment::Visit;
use crate::domain::credential::CredentialStatus;
use crate::error::AppError;
use crate::models::now;
use crate::models::service::NewService;
use crate::models::user::User;
use crate::services::access::{self, Proof};
use crate::services::accounts::{self, RegisterInput};
use crate::services::mail::MailCtx;

pub const DEMO_PASSWORD: &str = "demo-massage-table";
/// The demo admin's TOTP key (base32), published like the password: admins sign in with a
/// second factor, so the demo admin has one. A code: any TOTP app, or
/// `oathtool --totp -b BODYWORKDEMOADMINSECRET234567ABC`.
pub const DEMO_TOTP_SECRET: &str = "BODYWORKDEMOADMINSECRET234567ABC";

pub struct DemoLogin {
    pub role: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

struct DemoTherapist {
    email: &'static str,
    name: &'static str,
    bio: &'static str,
    city: &'static str,
    region: &'static str,
    lat: f64,
    lon: f64,
    tz: &'static str,
    techniques: &'static [&'static str],
    /// (technique, minutes, dollars)
    services: &'static [(&'static str, i32, i64)],
    license_verified: bool,
    training_hours: i32,
    training_verified: bool,
}

const THERAPISTS: &[DemoTherapist] = &[
    DemoTherapist {
        email: "therapist@demo.bodywork.test",
        name: "Maya Okafor",
        bio: "Licensed massage therapist in Boston for nine years. I work mostly with chronic low back pain and desk-bound shoulders, and I explain what I do as I go.",
        city: "Boston", region: "MA", lat: 42.3584, lon: -71.0598, tz: "America/New_York",
        techniques: &["swedish", "deep-tissue", "trigger-point", "prenatal"],
        services: &[("swedish", 60, 90), ("deep-tissue", 60, 110), ("deep-tissue", 90, 150), ("prenatal", 60, 100)],
        license_verified: true, training_hours: 750, training_verified: true,
    },
    DemoTherapist {
        email: "kenji@demo.bodywork.test",
        name: "Kenji Watanabe",
        bio: "Shiatsu practitioner trained in Tokyo and Boston. Gentle, pressure-point work for back pain and stress.",
        city: "Cambridge", region: "MA", lat: 42.3751, lon: -71.1056, tz: "America/New_York",
        techniques: &["shiatsu", "swedish"],
        services: &[("shiatsu", 60, 95), ("shiatsu", 90, 135), ("swedish", 30, 55)],
        license_verified: true, training_hours: 620, training_verified: true,
    },
    DemoTherapist {
        email: "priya@demo.bodywork.test",
        name: "Priya Raman",
        bio: "Ayurvedic and hot stone massage with warm oils. Certified in prenatal massage.",
        city: "New York", region: "NY", lat: 40.7143, lon: -74.006, tz: "America/New_York",
        techniques: &["ayurvedic", "hot-stone", "prenatal", "swedish"],
        services: &[("ayurvedic", 90, 160), ("hot-stone", 60, 130), ("prenatal", 60, 120)],
        license_verified: true, training_hours: 540, training_verified: true,
    },
    DemoTherapist {
        email: "luis@demo.bodywork.test",
        name: "Luis Ortega",
        bio: "Sports and deep tissue work for runners and climbers. Gluteal work for sciatica.",
        city: "Chicago", region: "IL", lat: 41.85, lon: -87.65, tz: "America/Chicago",
        techniques: &["deep-tissue", "trigger-point", "gluteal"],
        services: &[("deep-tissue", 60, 100), ("gluteal", 30, 60), ("trigger-point", 60, 95)],
        license_verified: true, training_hours: 480, training_verified: true,
    },
    DemoTherapist {
        email: "hannah@demo.bodywork.test",
        name: "Hannah Becker",
        bio: "New to Bodywork: Swedish and hot stone in Denver. License under review.",
        city: "Denver", region: "CO", lat: 39.7392, lon: -104.9847, tz: "America/Denver",
        techniques: &["swedish", "hot-stone"],
        services: &[("swedish", 60, 85), ("hot-stone", 90, 140)],
        license_verified: false, training_hours: 600, training_verified: false,
    },
    DemoTherapist {
        email: "sam@demo.bodywork.test",
        name: "Sam Lee",
        bio: "Mobile massage in Seattle: I bring the table to you. Swedish and deep tissue.",
        city: "Seattle", region: "WA", lat: 47.6062, lon: -122.3321, tz: "America/Los_Angeles",
        techniques: &["swedish", "deep-tissue"],
        services: &[("swedish", 60, 95), ("deep-tissue", 90, 145)],
        license_verified: false, training_hours: 510, training_verified: false,
    },
];

/// Mails the demo's admin outbox page has to show beside the real ones the demo's own actions
/// wrote (those go out through the worker, to the mail folder without `SMTP_URL`): two sent
/// some days ago, one given up and one interrupted mid-send (in doubt), each of the last two
/// with its "Send again" button.
fn add_outbox_examples(conn: &mut DbConnection, mail: &MailCtx) -> Result<(), AppError> {
    use crate::db::schema::outbox as o;
    use crate::domain::mail::{OutboxStatus, MAX_ATTEMPTS};
    use crate::services::mail::{render_account, AccountEvent, AccountMail};
    use crate::services::outbox::{enqueue, Outgoing};
    let examples = [
        (
            "client@demo.bodywork.test",
            "Dana Client",
            3,
            OutboxStatus::Sent,
            None,
        ),
        (
            "admin@demo.bodywork.test",
            "Ada Admin",
            2,
            OutboxStatus::Sent,
            None,
        ),
        (
            "old-address@demo.bodywork.test",
            "Former Client",
            1,
            OutboxStatus::Failed,
            Some("550 5.1.1 <old-address@demo.bodywork.test>: mailbox unavailable"),
        ),
        (
            "therapist@demo.bodywork.test",
            "Maya Okafor",
            1,
            OutboxStatus::InDoubt,
            Some("interrupted: the sending server stopped during the transfer, so it may have arrived"),
        ),
    ];
    for (to, name, days_ago, status, error) in examples {
        let m = AccountMail {
            event: AccountEvent::PasswordChanged,
            to_name: name.into(),
            link: mail.link("/login"),
            valid_for: None,
            new_email: None,
            invited_by: None,
        };
        let id = enqueue(
            conn,
            Outgoing {
                kind: m.event.kind(),
                to_email: to.into(),
                user_id: None,
                appointment_id: None,
                send_after: None,
                rendered: render_account(mail, &m)?,
            },
        )?;
        let at = crate::models::now() - Duration::days(days_ago);
        let sent = status == OutboxStatus::Sent;
        let attempts = match status {
            OutboxStatus::Failed => MAX_ATTEMPTS,
            _ => 1,
        };
        diesel::update(o::table.find(id))
            .set((
                o::status.eq(status.as_str()),
                o::attempts.eq(attempts),
                o::last_error.eq(error),
                o::created_at.eq(at),
                o::send_after.eq(at),
                o::sent_at.eq(sent.then_some(at + Duration::seconds(2))),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Fills an empty database with the demo data; returns the logins to print. A database that
/// has any account is refused (`database_not_empty`): the demo admin's password is published.
pub fn fill(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &crate::services::crypto::AnswerCipher,
) -> Result<Vec<DemoLogin>, AppError> {
    let logins = vec![
        DemoLogin {
            role: "admin",
            email: "admin@demo.bodywork.test",
            password: DEMO_PASSWORD,
        },
        DemoLogin {
            role: "client",
            email: "client@demo.bodywork.test",
            password: DEMO_PASSWORD,
        },
        DemoLogin {
            role: "therapist",
            email: THERAPISTS[0].email,
            password: DEMO_PASSWORD,
        },
    ];
    // The demo admin's password is published: never add it beside real accounts.
    let accounts_there: i64 = users::table.count().get_result(conn)?;
    if accounts_there > 0 {
        return Err(AppError::Conflict {
            code: "database_not_empty",
            message: format!(
                "serve --demo fills an empty database only, and this one already has {accounts_there} account(s): the demo adds an admin whose password is published. Start the demo on a new database (for example DATABASE_URL=sqlite://demo.db), or serve without --demo."
            ),
        });
    }
    let admin = accounts::create_admin(
        conn,
        &input("admin@demo.bodywork.test", "Ada Admin", "admin"),
        None,
    )?;
    let secret = crate::domain::totp::secret_from_base32(DEMO_TOTP_SECRET)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the demo TOTP key is not base32")))?;
    crate::services::totp::enrol_with_secret(conn, cipher, &admin, &secret)?;
    let admin = crate::models::user::User::find(conn, admin.id)?;
    // Demo people are verified (they book at once), as if each had followed their link.
    let client = accounts::register_verified(
        conn,
        &input("client@demo.bodywork.test", "Dana Client", "client"),
    )?;
    for t in THERAPISTS {
        add_therapist(conn, t, admin.id)?;
    }
    for (i, t) in generated_therapists().iter().enumerate() {
        add_therapist(conn, t, admin.id)?;
        if i % 10 == 9 {
            tracing::debug!(count = i + 1, "demo therapists added");
        }
    }
    add_reach(conn, mail, cipher, &client)?;
    add_bookings(conn, mail, cipher, &client)?;
    add_course(conn, mail, cipher, &client)?;
    add_entered_bookings(conn, mail, cipher)?;
    add_admin_cases(conn, mail, &access::Admin::prove(admin.clone())?)?;
    add_outbox_examples(conn, mail)?;
    add_photos(conn)?;
    add_chart_history(conn)?;
    add_client_history(conn, cipher)?;
    add_reviews(conn, &access::Admin::prove(admin.clone())?)?;
    add_pending_invitation(conn, mail, &access::Admin::prove(admin.clone())?)?;
    add_waitlist(conn, &client)?;
    Ok(logins)
}

/// The waitlist: the demo client waits for a time of the first service of each of the first
/// two therapists (a week from the day after tomorrow, and three days a fortnight ahead), as
/// `/waitlist` and `GET /api/v1/me/waitlist` show.
fn add_waitlist(conn: &mut DbConnection, client: &User) -> Result<(), AppError> {
    use crate::services::waitlist::{join, JoinRequest};
    let client = access::VerifiedClient::prove(client.clone())?;
    let today = Utc::now().date_naive();
    for (t, from, days) in [(&THERAPISTS[0], 2, 7), (&THERAPISTS[1], 14, 3)] {
        let user = User::find_by_email(conn, t.email)?.ok_or(AppError::NotFound)?;
        let therapist = crate::models::therapist::Therapist::find_by_user(conn, user.id)?
            .ok_or(AppError::NotFound)?;
        let services = crate::services::profile::services_of(conn, therapist.id, false)?;
        let Some(service) = services.first() else {
            continue;
        };
        let from = today + Duration::days(from);
        let req = JoinRequest {
            therapist_id: therapist.id,
            service_id: service.id,
            from,
            to: from + Duration::days(days),
        };
        join(conn, &client, &req, Utc::now())?;
    }
    Ok(())
}

/// The clients pages and session notes: the demo client has a history with Maya (three more
/// past sessions, five, seven and nine weeks ago, besides the one three weeks ago), the latest
/// has session notes in two versions and the one before it notes in one.
fn add_client_history(
    conn: &mut DbConnection,
    cipher: &crate::services::crypto::AnswerCipher,
) -> Result<(), AppError> {
    use crate::db::schema::appointments;
    use crate::domain::appointment::AppointmentStatus;
    use crate::domain::notes::Soap;
    use crate::services::notes;
    let client =
        User::find_by_email(conn, "client@demo.bodywork.test")?.ok_or(AppError::NotFound)?;
    let therapist_user =
        User::find_by_email(conn, THERAPISTS[0].email)?.ok_or(AppError::NotFound)?;
    let therapist = crate::models::therapist::Therapist::find_by_user(conn, therapist_user.id)?
        .ok_or(AppError::NotFound)?;
    let proof = access::Therapist::prove(therapist_user)?;
    let services = crate::services::profile::services_of(conn, therapist.id, false)?;
    let Some(swedish) = services.iter().find(|s| s.technique_slug == "swedish") else {
        return Ok(());
    };
    // Clear of the charts' 19:00 sessions, as the session three weeks ago.
    for weeks in [5, 7, 9] {
        add_past_booking(conn, client.id, therapist.id, swedish, weeks * 7)?;
    }
    let past: Vec<i64> = appointments::table
        .filter(appointments::client_id.eq(client.id))
        .filter(appointments::therapist_id.eq(therapist.id))
        .filter(appointments::status.eq(AppointmentStatus::Completed.as_str()))
        .order(appointments::starts_at.desc())
        .select(appointments::id)
        .load(conn)?;
    let soap =
        |s: &str, o: &str, a: &str, p: &str| Soap::parse(s, o, a, p).map_err(AppError::validation);
    let now_utc = Utc::now();
    if let [latest, before, ..] = past[..] {
        notes::write(
            conn,
            cipher,
            &proof,
            before,
            &soap(
                "Stiff neck and shoulders after a week of desk work.",
                "Upper trapezius tight on both sides, more on the right.",
                "Muscle tension from posture; no warning signs.",
                "Swedish massage every two weeks; stretch at the desk hourly.",
            )?,
            now_utc,
        )?;
        notes::write(
            conn,
            cipher,
            &proof,
            latest,
            &soap(
                "Neck better. Lower back aches after gardening.",
                "Lumbar muscles tight; full range of movement.",
                "",
                "Focus on the lower back next time.",
            )?,
            now_utc,
        )?;
        notes::write(
            conn,
            cipher,
            &proof,
            latest,
            &soap(
                "Neck better. Lower back aches after gardening at the weekend.",
                "Lumbar muscles tight; full range of movement; no pain on bending.",
                "Overuse after unusual effort; improving.",
                "Focus on the lower back next time; gentle walks meanwhile.",
            )?,
            now_utc,
        )?;
    }
    Ok(())
}

/// Reviews: each client's latest completed session (within the 90 days) with a demo therapist
/// is reviewed, except the demo client's latest with Maya, which the demo client can still
/// review ("Leave a review" on that booking); the therapists reply to some, and an admin hid
/// one (its author sees it marked hidden).
fn add_reviews(conn: &mut DbConnection, admin: &access::Admin) -> Result<(), AppError> {
    use crate::db::schema::appointments;
    use crate::domain::appointment::AppointmentStatus;
    use crate::domain::review::ReviewInput;
    use crate::services::reviews;
    const WORDS: [(i32, &str); 6] = [
        (5, "Listened carefully and adjusted the pressure as we went. My shoulders feel free again."),
        (4, "Calm room, on time, good work on my lower back. A little rushed at the end."),
        (5, ""),
        (3, "Good technique, but the studio was hard to find."),
        (5, "Best massage I have had in years."),
        (4, "Very professional; explained what she was doing."),
    ];
    let demo_client =
        User::find_by_email(conn, "client@demo.bodywork.test")?.ok_or(AppError::NotFound)?;
    let now_utc = Utc::now();
    let since = now_utc.naive_utc() - Duration::days(crate::domain::review::REVIEW_WINDOW_DAYS - 5);
    let done: Vec<(i64, i64, i64)> = appointments::table
        .filter(appointments::status.eq(AppointmentStatus::Completed.as_str()))
        .filter(appointments::ends_at.gt(since))
        .order(appointments::starts_at.desc())
        .select((
            appointments::id,
            appointments::client_id,
            appointments::therapist_id,
        ))
        .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    let mut written = Vec::new();
    for (id, client_id, therapist_id) in done {
        let first_of_pair = seen.insert((client_id, therapist_id));
        // The demo client's latest session stays to be reviewed; the one before is reviewed.
        let wanted = if client_id == demo_client.id {
            !first_of_pair && seen.insert((client_id, -therapist_id))
        } else {
            first_of_pair
        };
        if !wanted {
            continue;
        }
        let Ok(client) = access::VerifiedClient::prove(User::find(conn, client_id)?) else {
            continue;
        };
        let (rating, text) = WORDS[written.len() % WORDS.len()];
        let input = ReviewInput {
            rating,
            text: text.into(),
        };
        written.push((
            reviews::create(conn, &client, id, &input, now_utc)?,
            therapist_id,
        ));
    }
    for (i, (review_id, therapist_id)) in written.iter().enumerate() {
        if i % 3 == 0 {
            let user_id: i64 = crate::db::schema::therapists::table
                .find(therapist_id)
                .select(crate::db::schema::therapists::user_id)
                .first(conn)?;
            let proof = access::Therapist::prove(User::find(conn, user_id)?)?;
            reviews::reply(
                conn,
                &proof,
                *review_id,
                "Thank you for coming, and for taking the time to write this.",
            )?;
        }
    }
    if let Some((review_id, _)) = written.get(4) {
        reviews::hide(conn, admin, *review_id, "Mentions another client by name.")?;
    }
    Ok(())
}

/// An admin invitation waiting to be accepted, so the admins page shows one pending (its mail
/// goes out like any other; the link in it works for 7 days).
fn add_pending_invitation(
    conn: &mut DbConnection,
    mail: &MailCtx,
    admin: &access::Admin,
) -> Result<(), AppError> {
    accounts::invite_admin(
        conn,
        mail,
        admin,
        "grace@demo.bodywork.test",
        "Grace Hopper",
    )?;
    Ok(())
}

/// The therapist of a demo email.
fn therapist_of(
    conn: &mut DbConnection,
    email: &str,
) -> Result<crate::models::therapist::Therapist, AppError> {
    let user = User::find_by_email(conn, email)?.ok_or(AppError::NotFound)?;
    crate::models::therapist::Therapist::find_by_user(conn, user.id)?.ok_or(AppError::NotFound)
}

/// Profile photos, drawn here (no download): a soft gradient with a few translucent circles,
/// different for each therapist and the same on every run. A few therapists have none, so the
/// placeholder shows too.
fn add_photos(conn: &mut DbConnection) -> Result<(), AppError> {
    let generated = generated_therapists();
    let emails = THERAPISTS
        .iter()
        .map(|t| t.email)
        .chain(generated.iter().map(|t| t.email));
    for (k, email) in emails.enumerate() {
        if email.starts_with("sam@") || (k >= THERAPISTS.len() && (k - THERAPISTS.len()) % 4 == 1) {
            continue;
        }
        let therapist = therapist_of(conn, email)?;
        let photo = crate::domain::photo::from_image(&demo_picture(k as u32))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("demo photo: {e}")))?;
        crate::models::photo::replace(conn, therapist.id, &photo, now())?;
    }
    Ok(())
}

/// A 320-pixel square picture from a seed: pastel gradient and soft circles.
fn demo_picture(seed: u32) -> image::DynamicImage {
    const PALETTE: [[u8; 3]; 8] = [
        [196, 222, 214],
        [232, 212, 196],
        [204, 214, 236],
        [236, 224, 180],
        [214, 200, 226],
        [190, 218, 228],
        [226, 204, 204],
        [206, 226, 194],
    ];
    let size = 320u32;
    let a = PALETTE[(seed % 8) as usize];
    let b = PALETTE[((seed * 3 + 5) % 8) as usize];
    let circles: Vec<(f32, f32, f32, [u8; 3])> = (0..3u32)
        .map(|i| {
            let h = seed.wrapping_mul(2_654_435_761).wrapping_add(i * 40_503);
            (
                (h % 280) as f32 + 20.0,
                ((h / 280) % 280) as f32 + 20.0,
                60.0 + ((h / 78_400) % 70) as f32,
                PALETTE[((h / 7) % 8) as usize].map(|c| c.saturating_sub(90)),
            )
        })
        .collect();
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let t = (x + y) as f32 / (2 * size) as f32;
        let mut px = [0f32; 3];
        for c in 0..3 {
            px[c] = a[c] as f32 * (1.0 - t) + b[c] as f32 * t;
        }
        for (cx, cy, r, colour) in &circles {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            // Soft edges: fully in inside r - 12, fading out to r.
            let alpha = (((r - d) / 12.0).clamp(0.0, 1.0)) * 0.45;
            for c in 0..3 {
                px[c] = px[c] * (1.0 - alpha) + colour[c] as f32 * alpha;
            }
        }
        image::Rgb(px.map(|v| v.round().clamp(0.0, 255.0) as u8))
    });
    image::DynamicImage::ImageRgb8(img)
}

/// What the charts show: past sessions of the demo therapist over twelve weeks (her booked
/// hours), sessions of a dozen other therapists from eight weeks back to three ahead (the
/// admin's bookings per week), licenses expiring over the coming weeks and a verification queue
/// of different ages.
fn add_chart_history(conn: &mut DbConnection) -> Result<(), AppError> {
    use crate::domain::appointment::AppointmentStatus;
    use crate::models::appointment::NewAppointment;
    // The therapist's regular clients (made with her day), not the demo client, whose bookings
    // list shows the journeys of one person.
    let mut regulars = Vec::new();
    for email in [
        "rosa@demo.bodywork.test",
        "lee@demo.bodywork.test",
        "ana@demo.bodywork.test",
    ] {
        regulars.push(
            User::find_by_email(conn, email)?
                .ok_or(AppError::NotFound)?
                .id,
        );
    }
    let mut turn = 0usize;
    let now_utc = Utc::now().naive_utc();
    let today = now_utc.date();
    let monday = crate::domain::stats::week_start(today);
    // 19:00 UTC: afternoon in the US zones, clear of the other demo bookings (15:00 UTC and
    // the demo client's bookings, made from free slots before this runs).
    let mut add = |conn: &mut DbConnection,
                   therapist_id: i64,
                   service: &crate::models::service::Service,
                   day: NaiveDate|
     -> Result<(), AppError> {
        let starts = day
            .and_hms_opt(19, 0, 0)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no 19:00 on {day}")))?;
        let ends = starts + Duration::minutes(service.duration_min as i64);
        let past = ends < now_utc;
        if !past && starts < now_utc + Duration::days(2) {
            return Ok(());
        }
        turn += 1;
        NewAppointment {
            therapist_id,
            client_id: regulars[turn % regulars.len()],
            service_id: service.id,
            starts_at: starts,
            ends_at: ends,
            blocked_until: ends,
            status: if past {
                AppointmentStatus::Completed
            } else {
                AppointmentStatus::Confirmed
            },
            screening_version: crate::domain::screening::questionnaire().version,
            screening_answers: String::new(),
            screening_outcome: "ok".into(),
            clearance_confirmed: false,
            created_at: starts.min(now_utc) - Duration::days(5),
            updated_at: starts.min(now_utc),
            visit: Visit::Studio,
            client_address: String::new(),
            screening_pending: false,
            entered_by: None,
            entry_note: String::new(),
        }
        .insert(conn)?;
        Ok(())
    };
    // The demo therapist: 2 to 6 sessions a week, Monday to Saturday, up to today.
    let maya = therapist_of(conn, THERAPISTS[0].email)?;
    let services = crate::services::profile::services_of(conn, maya.id, false)?;
    let per_week = [3usize, 5, 4, 6, 2, 5, 6, 4, 6, 5, 3, 2];
    for (w, n) in per_week.iter().enumerate() {
        let week = monday - Duration::weeks(11 - w as i64);
        for d in 0..*n {
            let day = week + Duration::days(d as i64);
            if day >= today {
                break;
            }
            add(conn, maya.id, &services[(w + d) % services.len()], day)?;
        }
    }
    // A dozen other therapists (not the suspended t06), on Tuesdays and Thursdays.
    for i in (0..12).filter(|i| *i != 6) {
        let t = therapist_of(conn, &format!("t{i:02}@demo.bodywork.test"))?;
        let services = crate::services::profile::services_of(conn, t.id, false)?;
        let Some(service) = services.first() else {
            continue;
        };
        for w in -8i64..=3 {
            let n = ((i as i64 + w * 5).rem_euclid(4)) as usize;
            for k in 0..n.min(2) {
                let day = monday + Duration::weeks(w) + Duration::days(1 + 2 * k as i64);
                add(conn, t.id, service, day)?;
            }
        }
    }
    // Licenses that expire over the coming weeks (their therapists have no renewal yet), after
    // the 30 days of the expiry warning, which one license of the admin cases is inside.
    for (k, i) in [0, 2, 5, 8, 10, 13, 16].into_iter().enumerate() {
        let t = therapist_of(conn, &format!("t{i:02}@demo.bodywork.test"))?;
        if t.license_verified_until.is_none() {
            continue;
        }
        diesel::update(
            licenses::table
                .filter(licenses::therapist_id.eq(t.id))
                .filter(licenses::status.eq(CredentialStatus::Verified.as_str())),
        )
        .set(licenses::expires_on.eq(today + Duration::days(32 + 7 * k as i64)))
        .execute(conn)?;
        crate::services::profile::refresh_summary(conn, t.id)?;
    }
    // Submissions that have waited from hours to weeks.
    let waiting = CredentialStatus::Submitted.as_str();
    let ids: Vec<i64> = licenses::table
        .filter(licenses::status.eq(waiting))
        .select(licenses::id)
        .load(conn)?;
    for id in ids {
        diesel::update(licenses::table.find(id))
            .set(licenses::submitted_at.eq(now() - Duration::hours(5 + (id * 53) % 500)))
            .execute(conn)?;
    }
    let ids: Vec<i64> = training_records::table
        .filter(training_records::status.eq(waiting))
        .select(training_records::id)
        .load(conn)?;
    for id in ids {
        diesel::update(training_records::table.find(id))
            .set(training_records::submitted_at.eq(now() - Duration::hours(20 + (id * 97) % 260)))
            .execute(conn)?;
    }
    Ok(())
}

/// What the admin area shows: a rejected license with its reason and a resubmission, a
/// verified license expiring within 30 days (its renewal waiting), a suspended therapist.
fn add_admin_cases(
    conn: &mut DbConnection,
    mail: &MailCtx,
    admin: &access::Admin,
) -> Result<(), AppError> {
    use crate::domain::profile::LicenseInput;
    use crate::models::credential;
    use crate::models::therapist::Therapist;
    use crate::services::admin::{self, Credential};
    use crate::services::profile;

    let today = Utc::now().date_naive();
    let find =
        |conn: &mut DbConnection, email: &str| -> Result<(access::Therapist, i64), AppError> {
            let user = User::find_by_email(conn, email)?.ok_or(AppError::NotFound)?;
            let t = Therapist::find_by_user(conn, user.id)?.ok_or(AppError::NotFound)?;
            Ok((access::Therapist::prove(user)?, t.id))
        };

    // Hannah's license was rejected with a reason; she has submitted a corrected one.
    let (hannah_user, hannah) = find(conn, "hannah@demo.bodywork.test")?;
    if let Some(first) = credential::licenses_of(conn, hannah)?.first() {
        admin::decide(
            conn,
            mail,
            admin,
            Credential::License,
            first.id,
            false,
            Some("The number does not match the Colorado register. Please check it and submit again."),
        )?;
    }
    profile::submit_license(
        conn,
        &hannah_user,
        &LicenseInput {
            jurisdiction: "CO".into(),
            number: "LMT-0042117".into(),
            issuing_body: "CO Office of Massage Therapy Licensure".into(),
            expires_on: Some(today + Duration::days(500)),
        },
    )?;

    // Morgan's verified license ends in 18 days; the renewal waits in the queue.
    let (morgan_user, _) = find(conn, "t03@demo.bodywork.test")?;
    let expiring = profile::submit_license(
        conn,
        &morgan_user,
        &LicenseInput {
            jurisdiction: "NY".into(),
            number: "LMT-7781".into(),
            issuing_body: "NY Board of Massage Therapy".into(),
            expires_on: Some(today + Duration::days(18)),
        },
    )?;
    admin::decide(
        conn,
        mail,
        admin,
        Credential::License,
        expiring.id,
        true,
        None,
    )?;

    // One therapist is suspended while a complaint is reviewed.
    let (_, suspended) = find(conn, "t06@demo.bodywork.test")?;
    admin::suspend(
        conn,
        mail,
        admin,
        suspended,
        Some("Client complaint under review."),
    )?;
    Ok(())
}

const FIRST: &[&str] = &[
    "Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Rowan",
    "Elena", "Marcus", "Aisha", "Diego", "Mei", "Tomas", "Grace", "Omar", "Lena", "Noah", "Sofia",
    "Andre", "Yuki", "Farah",
];
const LAST: &[&str] = &[
    "Nguyen", "Garcia", "Smith", "Cohen", "Patel", "Kim", "Rossi", "Johnson", "Haddad", "Silva",
    "Novak", "Brown",
];
/// (city, state, lat, lon, zone)
const CITIES: &[(&str, &str, f64, f64, &str)] = &[
    ("Boston", "MA", 42.3584, -71.0598, "America/New_York"),
    ("Somerville", "MA", 42.3876, -71.0995, "America/New_York"),
    ("Brookline", "MA", 42.3318, -71.1212, "America/New_York"),
    ("New York City", "NY", 40.7143, -74.006, "America/New_York"),
    ("Brooklyn", "NY", 40.6501, -73.9496, "America/New_York"),
    ("Chicago", "IL", 41.85, -87.65, "America/Chicago"),
    ("Austin", "TX", 30.2672, -97.7431, "America/Chicago"),
    ("Denver", "CO", 39.7392, -104.9847, "America/Denver"),
    ("Seattle", "WA", 47.6062, -122.3321, "America/Los_Angeles"),
    (
        "San Francisco",
        "CA",
        37.7749,
        -122.4194,
        "America/Los_Angeles",
    ),
    (
        "Los Angeles",
        "CA",
        34.0522,
        -118.2437,
        "America/Los_Angeles",
    ),
    ("Phoenix", "AZ", 33.4484, -112.074, "America/Phoenix"),
];
const TECHNIQUE_SETS: &[&[&str]] = &[
    &["swedish", "deep-tissue"],
    &["swedish", "prenatal", "hot-stone"],
    &["shiatsu", "trigger-point"],
    &["deep-tissue", "trigger-point", "gluteal"],
    &["ayurvedic", "swedish"],
    &["swedish", "hot-stone", "shiatsu", "deep-tissue"],
];
const BIOS: &[&str] = &[
    "I help people with long-standing back and neck pain move more easily. Calm room, clear explanations, no upselling.",
    "Former athlete turned therapist: focused, practical sessions for sore muscles and recovery after training.",
    "Gentle work for stress and sleep, with plenty of time to talk about what you need before we start.",
    "Fifteen years of practice in clinics and spas. I adapt pressure to you and check in as we go.",
];

/// Two dozen more therapists, spread over the cities above, with a mix of verified and
/// pending credentials: the directory at its best.
fn generated_therapists() -> Vec<DemoTherapist> {
    (0..24)
        .map(|i| {
            let (city, region, lat, lon, tz) = CITIES[i % CITIES.len()];
            let name: &'static str =
                Box::leak(format!("{} {}", FIRST[i], LAST[i % LAST.len()]).into_boxed_str());
            let email: &'static str =
                Box::leak(format!("t{i:02}@demo.bodywork.test").into_boxed_str());
            let techniques = TECHNIQUE_SETS[i % TECHNIQUE_SETS.len()];
            // Every eighth has listed one service so far (its profile says it in a line).
            let listed = if i % 8 == 7 { 1 } else { techniques.len() };
            let services: Vec<(&'static str, i32, i64)> = techniques
                .iter()
                .take(listed)
                .enumerate()
                .map(|(k, t)| {
                    (
                        *t,
                        if k % 2 == 0 { 60 } else { 90 },
                        80 + (i as i64 * 7 + k as i64 * 25) % 90,
                    )
                })
                .collect();
            DemoTherapist {
                email,
                name,
                bio: BIOS[i % BIOS.len()],
                city,
                region,
                // Spread people a little around the city centre.
                lat: lat + ((i % 5) as f64 - 2.0) * 0.01,
                lon: lon + ((i % 3) as f64 - 1.0) * 0.01,
                tz,
                techniques,
                services: Box::leak(services.into_boxed_slice()),
                license_verified: i % 4 != 3,
                training_hours: 420 + (i as i32 * 37) % 400,
                training_verified: i % 5 != 4,
            }
        })
        .collect()
}

fn input(email: &str, name: &str, role: &str) -> RegisterInput {
    RegisterInput {
        email: email.into(),
        password: DEMO_PASSWORD.into(),
        name: name.into(),
        role: role.into(),
    }
}

fn add_therapist(
    conn: &mut DbConnection,
    t: &DemoTherapist,
    admin_id: i64,
) -> Result<(), AppError> {
    let user = accounts::register_verified(conn, &input(t.email, t.name, "therapist"))?;
    let now = now();
    let today = Utc::now().date_naive();
    write_transaction(conn, |conn| {
        let therapist_id: i64 = therapists::table
            .filter(therapists::user_id.eq(user.id))
            .select(therapists::id)
            .first(conn)?;
        diesel::update(therapists::table.find(therapist_id))
            .set((
                therapists::bio.eq(t.bio),
                therapists::city.eq(t.city),
                therapists::region.eq(t.region),
                therapists::latitude.eq(t.lat),
                therapists::longitude.eq(t.lon),
                therapists::geo_cell.eq(crate::domain::gazetteer::geo_cell(
                    crate::domain::gazetteer::GeoPoint {
                        lat: t.lat,
                        lon: t.lon,
                    },
                )),
                therapists::timezone.eq(t.tz),
                therapists::mobile
                    .eq(t.city == "Seattle" || t.email.ends_with("3@demo.bodywork.test")),
                therapists::languages.eq(
                    if t.name.starts_with("Diego")
                        || t.name.starts_with("Sofia")
                        || t.name.starts_with("Luis")
                    {
                        ",en,es,"
                    } else {
                        ",en,"
                    },
                ),
            ))
            .execute(conn)?;
        for slug in t.techniques {
            diesel::insert_into(therapist_techniques::table)
                .values((
                    therapist_techniques::therapist_id.eq(therapist_id),
                    therapist_techniques::technique_slug.eq(*slug),
                ))
                .execute(conn)?;
        }
        for (slug, minutes, dollars) in t.services {
            NewService {
                therapist_id,
                technique_slug: slug,
                duration_min: *minutes,
                price_cents: dollars * 100,
                created_at: now,
            }
            .insert(conn)?;
        }
        // Monday to Friday 09:00-12:00 and 13:00-18:00 (lunch is a break), Saturday 10:00-14:00.
        for weekday in 1..=5i16 {
            for (start, end) in [(9 * 60, 12 * 60), (13 * 60, 18 * 60)] {
                diesel::insert_into(weekly_hours::table)
                    .values((
                        weekly_hours::therapist_id.eq(therapist_id),
                        weekly_hours::weekday.eq(weekday),
                        weekly_hours::start_min.eq(start),
                        weekly_hours::end_min.eq(end),
                    ))
                    .execute(conn)?;
            }
        }
        diesel::insert_into(weekly_hours::table)
            .values((
                weekly_hours::therapist_id.eq(therapist_id),
                weekly_hours::weekday.eq(6i16),
                weekly_hours::start_min.eq(10 * 60),
                weekly_hours::end_min.eq(14 * 60),
            ))
            .execute(conn)?;
        let (status, decided_by, decided_at) = if t.license_verified {
            (
                CredentialStatus::Verified.as_str(),
                Some(admin_id),
                Some(now),
            )
        } else {
            (CredentialStatus::Submitted.as_str(), None, None)
        };
        diesel::insert_into(licenses::table)
            .values((
                licenses::therapist_id.eq(therapist_id),
                licenses::jurisdiction.eq(t.region),
                licenses::number.eq(format!("LMT-{}", 10_000 + therapist_id * 37)),
                licenses::issuing_body.eq(format!("{} Board of Massage Therapy", t.region)),
                licenses::expires_on.eq(today + Duration::days(400 + therapist_id * 30)),
                licenses::status.eq(status),
                licenses::submitted_at.eq(now - Duration::days(3)),
                licenses::decided_by.eq(decided_by),
                licenses::decided_at.eq(decided_at),
            ))
            .execute(conn)?;
        let (status, decided_by, decided_at) = if t.training_verified {
            (
                CredentialStatus::Verified.as_str(),
                Some(admin_id),
                Some(now),
            )
        } else {
            (CredentialStatus::Submitted.as_str(), None, None)
        };
        diesel::insert_into(training_records::table)
            .values((
                training_records::therapist_id.eq(therapist_id),
                training_records::program.eq("Diploma in Massage Therapy"),
                training_records::hours.eq(t.training_hours),
                training_records::completed_on
                    .eq(NaiveDate::from_ymd_opt(2018, 6, 1).expect("valid date")),
                training_records::status.eq(status),
                training_records::submitted_at.eq(now - Duration::days(2)),
                training_records::decided_by.eq(decided_by),
                training_records::decided_at.eq(decided_at),
            ))
            .execute(conn)?;
        crate::services::profile::refresh_summary(conn, therapist_id)?;
        Ok::<_, AppError>(())
    })
}

pub fn print_logins(logins: &[DemoLogin]) {
    println!("Demo logins (password for all: {DEMO_PASSWORD}):");
    for l in logins {
        println!("  {:<10} {}  /  {}", l.role, l.email, l.password);
    }
    println!(
        "The demo admin signs in with a second factor: add the key {DEMO_TOTP_SECRET} to any TOTP app, or run `oathtool --totp -b {DEMO_TOTP_SECRET}`."
    );
}

/// The demo therapist's cancellation window.
const DEMO_WINDOW_HOURS: i32 = 48;

/// The demo client's bookings with the demo therapist: a plain one, one that needed a
/// practitioner's clearance (waiting for the therapist to acknowledge), a confirmed one, one the
/// therapist declined with a reason, one the client cancelled after it was confirmed, and a past
/// completed one: every group of the bookings page.
fn add_bookings(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &crate::services::crypto::AnswerCipher,
    client: &User,
) -> Result<(), AppError> {
    use crate::services::booking::{self, BookingRequest};
    let client = access::VerifiedClient::prove(client.clone())?;
    let therapist_user =
        User::find_by_email(conn, THERAPISTS[0].email)?.ok_or(AppError::NotFound)?;
    let therapist_proof = access::Therapist::prove(therapist_user.clone())?;
    let therapist = crate::models::therapist::Therapist::find_by_user(conn, therapist_user.id)?
        .ok_or(AppError::NotFound)?;
    // A two-day cancellation window: the profile always has times marked "can't be cancelled
    // online" (and the booking form asks to confirm them knowingly).
    diesel::update(booking_policies::table.find(therapist.id))
        .set(booking_policies::cancellation_window_hours.eq(DEMO_WINDOW_HOURS))
        .execute(conn)?;
    let services = crate::services::profile::services_of(conn, therapist.id, false)?;
    let (swedish, deep) = match (
        services.iter().find(|s| s.technique_slug == "swedish"),
        services.iter().find(|s| s.technique_slug == "deep-tissue"),
    ) {
        (Some(a), Some(b)) => (a.clone(), b.clone()),
        _ => return Ok(()),
    };
    let today = Utc::now().date_naive();
    let (_, slots) = booking::slots(
        conn,
        therapist.id,
        swedish.id,
        // Past Maya's 48-hour cancellation window, so the bookings can still be moved online.
        today + Duration::days(3),
        today + Duration::days(10),
        Utc::now(),
    )?;
    let questions = &crate::domain::screening::questionnaire().questions;
    let answers = |yes: &[&str]| -> std::collections::BTreeMap<String, bool> {
        questions
            .iter()
            .map(|q| (q.id.clone(), yes.contains(&q.id.as_str())))
            .collect()
    };
    // Spread over different days so that the buffer never gets in the way.
    let picks: Vec<_> = slots.iter().step_by(30).take(5).collect();
    if picks.len() < 5 {
        return Ok(());
    }
    let plan = [
        (&swedish, picks[0].start, answers(&[]), false),
        (
            &deep,
            picks[1].start,
            answers(&["blood_thinners", "herniated_disc"]),
            true,
        ),
        (
            &swedish,
            picks[2].start,
            answers(&["sciatica_or_buttock_bruise"]),
            false,
        ),
        (&deep, picks[3].start, answers(&[]), false),
        (&swedish, picks[4].start, answers(&[]), false),
    ];
    for (k, (service, start, answers, clearance)) in plan.into_iter().enumerate() {
        let req = BookingRequest {
            therapist_id: therapist.id,
            service_id: service.id,
            starts_at: start,
            answers,
            clearance_confirmed: clearance,
            window_acknowledged: true,
            visit: Default::default(),
        };
        let (appt, _) = booking::book(conn, mail, cipher, &client, Default::default(), &req)?;
        match k {
            2 => booking::confirm(conn, mail, &therapist_proof, appt.id, true)?,
            3 => booking::decline(
                conn,
                mail,
                &therapist_proof,
                appt.id,
                "I am away at a training course that week. Kenji Watanabe in Cambridge has free times.",
            )?,
            4 => {
                booking::confirm(conn, mail, &therapist_proof, appt.id, true)?;
                booking::cancel(conn, mail, client.user(), appt.id, "My plans changed.")?;
            }
            _ => {}
        }
    }
    add_past_booking(conn, client.id(), therapist.id, &swedish, 21)?;
    add_therapist_day(
        conn,
        mail,
        cipher,
        &therapist_proof,
        therapist.id,
        &swedish,
        &deep,
    )
}

/// A course of therapy: the demo client's four weekly Swedish sessions with Maya, from a free
/// time about two weeks ahead (taken weeks skipped), each at the same time on Maya's clock.
fn add_course(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &crate::services::crypto::AnswerCipher,
    client: &User,
) -> Result<(), AppError> {
    use crate::domain::course::{CourseShape, OnConflict};
    use crate::services::course::{self, CourseError, CourseRequest};
    let client = access::VerifiedClient::prove(client.clone())?;
    let therapist_user =
        User::find_by_email(conn, THERAPISTS[0].email)?.ok_or(AppError::NotFound)?;
    let therapist = crate::models::therapist::Therapist::find_by_user(conn, therapist_user.id)?
        .ok_or(AppError::NotFound)?;
    let services = crate::services::profile::services_of(conn, therapist.id, false)?;
    let Some(swedish) = services.iter().find(|s| s.technique_slug == "swedish") else {
        return Ok(());
    };
    let today = Utc::now().date_naive();
    let (_, slots) = crate::services::booking::slots(
        conn,
        therapist.id,
        swedish.id,
        today + Duration::days(12),
        today + Duration::days(14),
        Utc::now(),
    )?;
    let Some(first) = slots.get(slots.len() / 2) else {
        return Ok(());
    };
    let req = CourseRequest {
        therapist_id: therapist.id,
        service_id: swedish.id,
        first_starts_at: first.start,
        shape: CourseShape {
            sessions: 4,
            every_weeks: 1,
        },
        answers: crate::domain::screening::questionnaire()
            .questions
            .iter()
            .map(|q| (q.id.clone(), false))
            .collect(),
        clearance_confirmed: false,
        window_acknowledged: true,
        on_conflict: OnConflict::Skip,
        visit: Default::default(),
    };
    match course::book(conn, mail, cipher, &client, Default::default(), &req) {
        Ok(_) | Err(CourseError::Conflicts(_)) => Ok(()),
        Err(CourseError::App(e)) => Err(e),
    }
}

/// The therapist's day and week: three more clients with requests waiting (one flagged), two
/// sessions today and two tomorrow on Maya's clock (written directly: booking keeps a notice),
/// and an afternoon off later in the week.
fn add_therapist_day(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &crate::services::crypto::AnswerCipher,
    therapist: &access::Therapist,
    therapist_id: i64,
    swedish: &crate::models::service::Service,
    deep: &crate::models::service::Service,
) -> Result<(), AppError> {
    use crate::domain::appointment::AppointmentStatus;
    use crate::domain::schedule::{day_begins, local_today};
    use crate::models::appointment::NewAppointment;
    use crate::services::booking::{self, BookingRequest};
    let mut clients = Vec::new();
    for (email, name) in [
        ("rosa@demo.bodywork.test", "Rosa Alvarez"),
        ("lee@demo.bodywork.test", "Lee Chen"),
        ("ana@demo.bodywork.test", "Ana Souza"),
    ] {
        let user = accounts::register_verified(conn, &input(email, name, "client"))?;
        clients.push(access::VerifiedClient::prove(user)?);
    }
    let tz = crate::models::therapist::zone(THERAPISTS[0].tz);
    let today = local_today(Utc::now(), tz);
    // Today at 10:00 and 14:00, tomorrow at 09:00 and 15:00, Maya's time.
    let sessions = [
        (0, 10, &clients[0], swedish, AppointmentStatus::Confirmed),
        (0, 14, &clients[1], deep, AppointmentStatus::Confirmed),
        (1, 9, &clients[2], swedish, AppointmentStatus::Confirmed),
        (1, 15, &clients[0], deep, AppointmentStatus::Requested),
    ];
    for (day, hour, client, service, status) in sessions {
        let starts = day_begins(today + Duration::days(day), tz) + Duration::hours(hour);
        let ends = starts + Duration::minutes(service.duration_min as i64);
        NewAppointment {
            therapist_id,
            client_id: client.id(),
            service_id: service.id,
            starts_at: starts.naive_utc(),
            ends_at: ends.naive_utc(),
            blocked_until: ends.naive_utc(),
            status,
            screening_version: crate::domain::screening::questionnaire().version,
            screening_answers: String::new(),
            screening_outcome: "ok".into(),
            clearance_confirmed: false,
            created_at: now() - Duration::days(3),
            updated_at: now() - Duration::days(3),
            visit: Visit::Studio,
            client_address: String::new(),
            screening_pending: false,
            entered_by: None,
            entry_note: String::new(),
        }
        .insert(conn)?;
    }
    let off = day_begins(today + Duration::days(4), tz);
    crate::services::schedule::add_time_off(
        conn,
        therapist,
        off + Duration::hours(13),
        off + Duration::hours(17),
        "Continuing education course",
    )?;
    // Requests later in the week, booked as clients do (around the time off).
    let (_, slots) = booking::slots(
        conn,
        therapist_id,
        swedish.id,
        today + Duration::days(3),
        today + Duration::days(6),
        Utc::now(),
    )?;
    let questions = &crate::domain::screening::questionnaire().questions;
    let answers = |yes: &[&str]| -> std::collections::BTreeMap<String, bool> {
        questions
            .iter()
            .map(|q| (q.id.clone(), yes.contains(&q.id.as_str())))
            .collect()
    };
    for (k, (client, slot)) in clients
        .iter()
        .zip(slots.iter().skip(3).step_by(11))
        .enumerate()
    {
        let req = BookingRequest {
            therapist_id,
            service_id: swedish.id,
            starts_at: slot.start,
            answers: answers(if k == 1 { &["herniated_disc"] } else { &[] }),
            clearance_confirmed: false,
            window_acknowledged: true,
            visit: Default::default(),
        };
        booking::book(conn, mail, cipher, client, Default::default(), &req)?;
    }
    Ok(())
}

/// A completed session of `service` `days_ago` days ago at 15:00 UTC (10:00 or 11:00 in
/// Boston), written directly: booking takes future times only. It has no stored screening
/// answers.
fn add_past_booking(
    conn: &mut DbConnection,
    client_id: i64,
    therapist_id: i64,
    service: &crate::models::service::Service,
    days_ago: i64,
) -> Result<i64, AppError> {
    use crate::domain::appointment::AppointmentStatus;
    use crate::models::appointment::NewAppointment;
    let day = Utc::now().date_naive() - Duration::days(days_ago);
    let starts = day
        .and_hms_opt(15, 0, 0)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no 15:00 on {day}")))?;
    let ends = starts + Duration::minutes(service.duration_min as i64);
    NewAppointment {
        therapist_id,
        client_id,
        service_id: service.id,
        starts_at: starts,
        ends_at: ends,
        blocked_until: ends,
        status: AppointmentStatus::Completed,
        screening_version: crate::domain::screening::questionnaire().version,
        screening_answers: String::new(),
        screening_outcome: "ok".into(),
        clearance_confirmed: false,
        created_at: starts - Duration::days(7),
        updated_at: ends,
        visit: Visit::Studio,
        client_address: String::new(),
        screening_pending: false,
        entered_by: None,
        entry_note: String::new(),
    }
    .insert(conn)
}

/// Where and how to reach the demo therapists: a studio address and a phone for each (saved
/// through the profile service, which keeps `in_studio` with the address), mobile visits
/// with a radius for the mobile ones (Sam Lee in Seattle has no studio: mobile only; Maya
/// Okafor offers both, so her booking form asks), and one mobile visit the demo client booked
/// with Maya, its address encrypted (after the other bookings' days).
fn add_reach(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &crate::services::crypto::AnswerCipher,
    client: &User,
) -> Result<(), AppError> {
    use crate::domain::practice::VisitRequest;
    use crate::domain::profile::ProfileInput;
    use crate::services::booking::{self, BookingRequest};
    use crate::services::profile;
    const STUDIOS: &[(&str, Option<&str>, &str)] = &[
        (
            "therapist@demo.bodywork.test",
            Some("75 Newbury Street, Suite 4"),
            "+1 (617) 555-0142",
        ),
        (
            "kenji@demo.bodywork.test",
            Some("1430 Massachusetts Avenue, 2nd floor"),
            "+1 (617) 555-0177",
        ),
        (
            "priya@demo.bodywork.test",
            Some("212 West 14th Street, Studio B"),
            "+1 (212) 555-0190",
        ),
        (
            "luis@demo.bodywork.test",
            Some("1550 North Milwaukee Avenue"),
            "+1 (312) 555-0123",
        ),
        (
            "hannah@demo.bodywork.test",
            Some("1601 Blake Street"),
            "+1 (303) 555-0108",
        ),
        ("sam@demo.bodywork.test", None, "+1 (206) 555-0166"),
    ];
    let generated = generated_therapists();
    let people: Vec<(&str, Option<String>, String)> = STUDIOS
        .iter()
        .map(|(e, a, p)| (*e, a.map(String::from), p.to_string()))
        .chain(generated.iter().enumerate().map(|(i, t)| {
            (
                t.email,
                Some(format!("{} Main Street", 100 + i * 7)),
                format!("+1 555 01{:02}", i),
            )
        }))
        .collect();
    for (email, address, phone) in people {
        let user = User::find_by_email(conn, email)?.ok_or(AppError::NotFound)?;
        let me = access::Therapist::prove(user)?;
        let own = profile::own(conn, &me)?;
        let t = own.therapist;
        let radius = match email {
            "therapist@demo.bodywork.test" => Some(15),
            "sam@demo.bodywork.test" => Some(25),
            _ if t.mobile => Some(30),
            _ => None,
        };
        let input = ProfileInput {
            name: own.name,
            bio: t.bio,
            city: format!(
                "{}, {}",
                t.city.unwrap_or_default(),
                t.region.unwrap_or_default()
            ),
            timezone: t.timezone,
            techniques: own.techniques,
            languages: t
                .languages
                .split(',')
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            accepting_new_clients: Some(t.accepting_new_clients),
            in_studio: None,
            mobile: Some(radius.is_some()),
            address: Some(address.unwrap_or_default()),
            phone: Some(phone),
            mobile_radius_km: Some(radius.map(|r| r.to_string()).unwrap_or_default()),
        };
        profile::update_profile(conn, &me, &input)?;
    }
    // The demo client's mobile visit with Maya, at home in Cambridge.
    let maya = therapist_of(conn, THERAPISTS[0].email)?;
    let Some(service) = profile::services_of(conn, maya.id, false)?
        .into_iter()
        .find(|s| s.technique_slug == "swedish")
    else {
        return Ok(());
    };
    let today = Utc::now().date_naive();
    let (_, slots) = booking::slots(
        conn,
        maya.id,
        service.id,
        today + Duration::days(11),
        today + Duration::days(14),
        Utc::now(),
    )?;
    let Some(slot) = slots.get(2) else {
        return Ok(());
    };
    let answers = crate::domain::screening::questionnaire()
        .questions
        .iter()
        .map(|q| (q.id.clone(), false))
        .collect();
    let req = BookingRequest {
        therapist_id: maya.id,
        service_id: service.id,
        starts_at: slot.start,
        answers,
        clearance_confirmed: false,
        window_acknowledged: true,
        visit: VisitRequest {
            visit: Some(Visit::Mobile),
            client_address: "221 Hampshire Street, Apt 3".into(),
            client_city: "Cambridge, MA".into(),
        },
    };
    let client = access::VerifiedClient::prove(client.clone())?;
    booking::book(conn, mail, cipher, &client, Default::default(), &req)?;
    Ok(())
}

/// Bookings Maya entered (phone, walk-in): one for Dana with the screening pending (her booking
/// page asks her to answer; Maya's week marks it), and one for a new person, Noor Haddad, who
/// answered the questions: pregnant, which declines deep tissue, so the booking
/// waits for Maya's decision (keep it as Swedish, or cancel with a reason).
fn add_entered_bookings(
    conn: &mut DbConnection,
    mail: &MailCtx,
    cipher: &crate::services::crypto::AnswerCipher,
) -> Result<(), AppError> {
    use crate::services::entered::{self, Answerer, EnteredRequest};
    let therapist_user =
        User::find_by_email(conn, THERAPISTS[0].email)?.ok_or(AppError::NotFound)?;
    let proof = access::Therapist::prove(therapist_user.clone())?;
    let (therapist, services) = entered::own_services(conn, &proof)?;
    let (Some(swedish), Some(deep)) = (
        services.iter().find(|s| s.technique_slug == "swedish"),
        services.iter().find(|s| s.technique_slug == "deep-tissue"),
    ) else {
        return Ok(());
    };
    let today = Utc::now().date_naive();
    // Past the days the other demo bookings use, a few days apart.
    let (_, slots) = crate::services::booking::slots(
        conn,
        therapist.id,
        deep.id,
        today + Duration::days(12),
        today + Duration::days(20),
        Utc::now(),
    )?;
    let picks: Vec<_> = slots.iter().step_by(25).take(2).collect();
    if picks.len() < 2 {
        return Ok(());
    }
    entered::enter_for_client(
        conn,
        mail,
        cipher,
        &proof,
        &EnteredRequest {
            client_email: "client@demo.bodywork.test".into(),
            client_name: String::new(),
            service_id: swedish.id,
            starts_at: picks[0].start,
            note: "Phoned on Monday: stiff shoulders after a long drive.".into(),
            visit: crate::domain::practice::VisitRequest {
                visit: Some(Visit::Studio),
                ..Default::default()
            },
        },
    )?;
    let appt = entered::enter_for_client(
        conn,
        mail,
        cipher,
        &proof,
        &EnteredRequest {
            client_email: "noor@demo.bodywork.test".into(),
            client_name: "Noor Haddad".into(),
            service_id: deep.id,
            starts_at: picks[1].start,
            note: "Walked in; asked for deep tissue.".into(),
            visit: crate::domain::practice::VisitRequest {
                visit: Some(Visit::Studio),
                ..Default::default()
            },
        },
    )?;
    let noor = User::find_by_email(conn, "noor@demo.bodywork.test")?.ok_or(AppError::NotFound)?;
    let answers = crate::domain::screening::questionnaire()
        .questions
        .iter()
        .map(|q| (q.id.clone(), q.id == "pregnant"))
        .collect();
    entered::answer_screening(
        conn,
        mail,
        cipher,
        &Answerer::Client(&noor),
        appt.id,
        &answers,
        false,
    )?;
    Ok(())
}
