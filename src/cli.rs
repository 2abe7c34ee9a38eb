//! The command line: parse arguments, call the library.

use std::io::Read;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::services::accounts::{self, RegisterInput};
use crate::startup::{display_addr, Application};

#[derive(Debug, Parser)]
#[command(
    name = "bodywork",
    version,
    about = "Massage therapist directory and booking server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site and the API.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080, or BODYWORK_ADDR).
        #[arg(long)]
        addr: Option<String>,
        /// Fill an empty database with demo data and print the demo logins.
        #[arg(long)]
        demo: bool,
    },
    /// Run the pending database migrations and exit.
    Migrate,
    /// Seal every stored answer, address and note again under the current key
    /// (BODYWORK_ANSWERS_KEY), opening them with the old keys (BODYWORK_ANSWERS_OLD_KEYS).
    /// Resumable: what is under the current key already is skipped.
    Rekey {
        /// Rows per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Add synthetic therapists (with services, hours, credentials and some bookings) for load tests.
    Seed {
        /// How many therapists to add.
        #[arg(long)]
        therapists: usize,
        /// Seed of the random generator (the same seed gives the same data).
        #[arg(long, default_value_t = 1)]
        rng_seed: u64,
        /// Also give the first seeded therapist this many appointments (half past, half future)
        /// and print its ids, for the availability benchmark.
        #[arg(long)]
        busy_appointments: Option<usize>,
    },
    /// Create an administrator; the password is read from standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Read the password from standard input (required: never pass it as an argument).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::from_env()?;
    match cli.command {
        Command::Serve { addr, demo } => {
            if let Some(a) = addr {
                settings.addr = a;
            }
            serve(settings, demo)
        }
        Command::Migrate => {
            crate::db::build_pool(&settings.database_url, 1)?;
            println!(
                "Migrations are up to date ({}).",
                settings.database_url.backend_name()
            );
            Ok(())
        }
        Command::Rekey { batch } => rekey(&settings, batch.clamp(1, 10_000)),
        Command::Seed {
            therapists,
            rng_seed,
            busy_appointments,
        } => {
            anyhow::ensure!(
                (1..=1_000_000).contains(&therapists),
                "--therapists is 1 to 1000000"
            );
            let pool = crate::db::build_pool(&settings.database_url, 1)?;
            let mut conn = pool.get()?;
            crate::models::technique::sync_catalogue(&mut conn)?;
            let started = std::time::Instant::now();
            // A bar on a terminal, else a line a chunk.
            let progress = true;
            let r = crate::seed::seed(&mut conn, therapists, rng_seed, progress)
                .map_err(|e| anyhow::anyhow!("seeding failed: {e}"))?;
            println!(
                "Seeded {} therapists, {} clients and {} bookings in {:.1} s, written {} \
                 (password for all: {}).",
                r.therapists,
                r.clients,
                r.appointments,
                started.elapsed().as_secs_f64(),
                r.bulk,
                crate::seed::SEED_PASSWORD
            );
            if let Some(n) = busy_appointments {
                let first = r.first_therapist_id;
                let (t, s) = crate::seed::busy_therapist(&mut conn, first, n)
                    .map_err(|e| anyhow::anyhow!("busy therapist: {e}"))?;
                println!("busy_therapist={t} busy_service={s} appointments={n}");
            }
            Ok(())
        }
        Command::CreateAdmin { email, name, .. } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let pool = crate::db::build_pool(&settings.database_url, 1)?;
            let mut conn = pool.get()?;
            let input = RegisterInput {
                email,
                password,
                name,
                role: "admin".into(),
            };
            match accounts::create_admin(&mut conn, &input, None) {
                Ok(user) => {
                    println!("Admin {} created (id {}).", user.email, user.id);
                    Ok(())
                }
                Err(e) if e.fields().is_some() => {
                    let msgs: Vec<String> = e
                        .fields()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect();
                    anyhow::bail!("{}", msgs.join("; "))
                }
                Err(e) => anyhow::bail!("{}", e.public_message()),
            }
        }
    }
}

fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let app = Application::build(settings.clone())?;
        if demo {
            let pool = crate::db::build_pool(&settings.database_url, 1)?;
            let mut conn = pool.get()?;
            let cipher = crate::services::crypto::AnswerCipher::from_settings(&settings)?;
            let logins = crate::demo::fill(&mut conn, app.mail(), &cipher)?;
            crate::demo::print_logins(&logins);
        }
        tracing::info!(
            port = app.port(),
            backend = settings.database_url.backend_name(),
            "Bodywork is listening"
        );
        tracing::info!(mail = %app.mail_destination(), "mail goes to {}", app.mail_destination());
        println!(
            "Bodywork is serving on http://{}",
            display_addr(&settings.addr, app.port())
        );
        println!("Mail goes to {}.", app.mail_destination());
        app.run_until_stopped().await?;
        tracing::info!("Bodywork has stopped");
        Ok(())
    })
}

/// `bodywork rekey`: batches until nothing is left under another key, with a progress bar on a
/// terminal and a line per batch otherwise.
fn rekey(settings: &Settings, batch: i64) -> anyhow::Result<()> {
    use crate::services::{crypto::AnswerCipher, rekey};
    let pool = crate::db::build_pool(&settings.database_url, 1)?;
    let cipher = AnswerCipher::from_settings(settings)?;
    let mut conn = pool.get()?;
    let start = rekey::pending(&mut conn, &cipher)?;
    println!(
        "Sealing again under key {}: {} appointments, {} session note versions and {} two-factor secrets.",
        cipher.key_id(),
        start.appointments,
        start.notes,
        start.totp_secrets
    );
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(start.total() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  eta {eta}")
            .expect("valid template"),
    );
    let mut done = 0usize;
    let mut idle = 0;
    loop {
        let n =
            rekey::rekey_batch(&mut conn, &cipher, batch).map_err(|e| anyhow::anyhow!("{e}"))?;
        done += n;
        bar.inc(n as u64);
        if bar.is_hidden() && n > 0 {
            println!("{done} rows sealed again");
        }
        let left = rekey::pending(&mut conn, &cipher)?;
        if left.total() == 0 {
            break;
        }
        // Nothing written although rows are left: each changed under us; a few tries, then stop.
        idle = if n == 0 { idle + 1 } else { 0 };
        anyhow::ensure!(
            idle < 5,
            "{} rows are still under another key and keep changing: run `bodywork rekey` again",
            left.total()
        );
    }
    bar.finish_and_clear();
    println!(
        "Done: {done} rows sealed again; everything is under key {}. The old keys can be removed from BODYWORK_ANSWERS_OLD_KEYS.",
        cipher.key_id()
    );
    Ok(())
}
