//! Settings: defaults, overridden by environment variables (README "Configuration").

use std::time::Duration;

use crate::db::DatabaseUrl;
use crate::domain::gazetteer::{self, DistanceUnit};
use crate::domain::mail::SmtpUrl;

/// The sender of mails when `MAIL_FROM` is not set.
pub const DEFAULT_MAIL_FROM: &str = "Bodywork <no-reply@localhost>";

#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`, default `sqlite://bodywork.db`.
    pub database_url: DatabaseUrl,
    /// `BODYWORK_ADDR`, default `127.0.0.1:8080` (overridden by `serve --addr`).
    pub addr: String,
    /// `DATABASE_POOL_SIZE`, default 8 on SQLite, 16 on PostgreSQL.
    pub pool_size: u32,
    /// `BODYWORK_SECURE_COOKIES`: cookies `Secure` with `__Host-` names, and HSTS. Unset: yes,
    /// unless the server listens on a loopback address ([`Settings::cookies_secure`]).
    pub secure_cookies: Option<bool>,
    /// `BODYWORK_SESSION_IDLE_MINUTES`, default 60: a page session unused that long ends.
    pub session_idle: Duration,
    /// `BODYWORK_SESSION_ABSOLUTE_HOURS`, default 12: a page session ends this long after login.
    pub session_absolute: Duration,
    /// `BODYWORK_TOKEN_TTL_HOURS`, default 720 (30 days): lifetime of an API token.
    pub token_ttl: Duration,
    /// `BODYWORK_LOGIN_MAX_FAILURES`, default 5: failed logins of one account before it is paused.
    pub login_max_failures: i32,
    /// `BODYWORK_LOGIN_WINDOW_SECONDS`, default 900: failures older than this are forgotten.
    pub login_window: Duration,
    /// `BODYWORK_LOGIN_LOCK_SECONDS`, default 300: how long a paused account waits (kept short so
    /// that an attacker cannot lock a person out for long).
    pub login_lock: Duration,
    /// `BODYWORK_LOGIN_PER_IP_PER_MINUTE`, default 20: login attempts from one client address.
    pub login_per_ip_per_minute: u32,
    /// `BODYWORK_RESET_PER_IP_PER_HOUR`, default 10: password reset requests from one client
    /// address (429 with `Retry-After` beyond).
    pub reset_per_ip_per_hour: u32,
    /// `BODYWORK_REGISTER_PER_IP_PER_HOUR`, default 10: registrations from one client address
    /// (429 with `Retry-After` beyond).
    pub register_per_ip_per_hour: u32,
    /// `BODYWORK_BOOKINGS_PER_CLIENT_PER_HOUR`, default 20: bookings one client makes in an
    /// hour (429 with `Retry-After` beyond).
    pub bookings_per_client_per_hour: u32,
    /// `BODYWORK_MAX_ACTIVE_BOOKINGS`, default 10: upcoming bookings one client may hold (422
    /// `too_many_bookings` beyond).
    pub max_active_bookings: u32,
    /// `BODYWORK_ACCOUNT_MAILS_PER_EMAIL_PER_HOUR`, default 5: password reset and verification
    /// links asked for one email address (429 beyond), so nobody floods a mailbox.
    pub account_mails_per_email_per_hour: u32,
    /// `BODYWORK_MAX_BODY_BYTES`, default 65536: larger request bodies get 413.
    pub max_body_bytes: usize,
    /// `BODYWORK_TRUSTED_PROXIES`: the reverse proxies (CIDR blocks) whose forwarding headers
    /// are believed; the client is the right-most address not among them
    /// (`domain::client_address`). Default none: the peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `BODYWORK_ANSWERS_KEY`: the key that encrypts screening answers (32 bytes, base64).
    /// `Debug` never prints it.
    pub answers_key: Option<Secret>,
    /// Keys that only open what they sealed, during a rotation (`BODYWORK_ANSWERS_OLD_KEYS`,
    /// comma-separated); `bodywork rekey` moves everything to the current key.
    pub answers_old_keys: Vec<Secret>,
    /// `BODYWORK_ANSWERS_KEY_FILE`, default `bodywork-answers.key`: read when no key is set,
    /// created (mode 0600) on first start when missing.
    pub answers_key_file: std::path::PathBuf,
    /// `BODYWORK_DISTANCE_UNIT`, `mi` or `km`: the unit pages show distances in and read the
    /// search radius in. Default: the unit of the gazetteer's country (US places: `mi`). The API
    /// keeps km (`radius_km`, `distance_km`) and adds miles beside them.
    pub distance_unit: DistanceUnit,
    /// `SMTP_URL`: where mail is sent (`smtp://host:port`, `smtp://user:pass@host:port?tls=starttls`,
    /// `smtps://user:pass@host:port`). Unset: each mail is written as an `.eml` file to
    /// [`Settings::mail_dir`].
    pub smtp_url: Option<SmtpUrl>,
    /// `MAIL_FROM`, default `Bodywork <no-reply@localhost>`: the sender of every mail.
    pub mail_from: String,
    /// `BODYWORK_BASE_URL`: the site's address for links in mails (`https://bodywork.example`);
    /// default `http://` + the listen address.
    pub base_url: Option<String>,
    /// `BODYWORK_SUPPORT_EMAIL`: whom a refused person (a suspended therapist) is told to write
    /// to; unset: the address of the site's first admin.
    pub support_email: Option<String>,
    /// `BODYWORK_MAIL_DIR`, default `./bodywork-mail`: the folder of `.eml` files without SMTP.
    pub mail_dir: std::path::PathBuf,
    /// `BODYWORK_MAIL_WORKER`, default true: run the mail worker in this server process.
    pub mail_worker: bool,
    /// `BODYWORK_MAIL_POLL_MS`, default 2000: how long the worker sleeps when nothing is due.
    pub mail_poll: Duration,
    /// `BODYWORK_MAIL_LEASE_SECONDS`, default 120: how long a claim holds a mail (longer than a
    /// send can take: the SMTP timeout is a quarter of it).
    pub mail_lease: Duration,
    /// `BODYWORK_MAIL_KEEP_DAYS`, default 30: sent, failed, withdrawn and in-doubt mails older
    /// than this are deleted.
    pub mail_keep: Duration,
    /// `BODYWORK_MAIL_HOUSEKEEPING_SECONDS`, default 3600: how often the worker purges old mails
    /// and looks for licenses about to expire.
    pub mail_housekeeping: Duration,
    /// `BODYWORK_REMINDER_HOURS`, default 24: how long before a session its reminders go out.
    pub reminder_hours: i64,
    /// `BODYWORK_SHUTDOWN_SECONDS`, default 10 (1 to 300): after SIGTERM, how long requests in
    /// flight may take to finish before their connections are closed.
    pub shutdown_timeout: Duration,
    /// `BODYWORK_METRICS`, default false: serve Prometheus metrics at `/metrics` (404 when off).
    pub metrics: bool,
    /// `BODYWORK_FREE_DAYS_SECONDS`, default 5 (0 to 3600; 0: off): how often the server brings
    /// the free-day maps of therapists whose schedule changed up to date (`search::free_days`).
    /// Off, searches by day weigh those therapists one by one.
    pub free_days_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: DatabaseUrl::Sqlite("bodywork.db".into()),
            addr: "127.0.0.1:8080".into(),
            pool_size: 8,
            secure_cookies: None,
            session_idle: Duration::from_secs(60 * 60),
            session_absolute: Duration::from_secs(12 * 3600),
            token_ttl: Duration::from_secs(720 * 3600),
            login_max_failures: 5,
            login_window: Duration::from_secs(900),
            login_lock: Duration::from_secs(300),
            login_per_ip_per_minute: 20,
            reset_per_ip_per_hour: 10,
            register_per_ip_per_hour: 10,
            bookings_per_client_per_hour: 20,
            max_active_bookings: 10,
            account_mails_per_email_per_hour: 5,
            max_body_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            answers_key: None,
            answers_old_keys: Vec::new(),
            answers_key_file: "bodywork-answers.key".into(),
            distance_unit: DistanceUnit::of_country(gazetteer::COUNTRY),
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.into(),
            base_url: None,
            support_email: None,
            mail_dir: "bodywork-mail".into(),
            mail_worker: true,
            mail_poll: Duration::from_millis(2000),
            mail_lease: Duration::from_secs(120),
            mail_keep: Duration::from_secs(30 * 24 * 3600),
            mail_housekeeping: Duration::from_secs(3600),
            reminder_hours: crate::domain::mail::DEFAULT_REMINDER_HOURS,
            shutdown_timeout: Duration::from_secs(10),
            free_days_every: crate::search::free_days::MAPPER_INTERVAL,
            metrics: false,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_var<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match var(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name} has an invalid value: {v:?}")),
    }
}

fn parse_bool(name: &str) -> anyhow::Result<Option<bool>> {
    match var(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(Some(true)),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(Some(false)),
        Some(v) => anyhow::bail!("{name} must be true or false, not {v:?}"),
    }
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        let mut s = Settings::default();
        if let Some(url) = var("DATABASE_URL") {
            s.database_url = DatabaseUrl::parse(&url).map_err(anyhow::Error::msg)?;
        }
        s.pool_size = match s.database_url {
            DatabaseUrl::Sqlite(_) => 8,
            DatabaseUrl::Postgres(_) => 16,
        };
        if let Some(v) = var("BODYWORK_ADDR") {
            s.addr = v;
        }
        if let Some(v) = parse_var::<u32>("DATABASE_POOL_SIZE")? {
            anyhow::ensure!(
                (1..=256).contains(&v),
                "DATABASE_POOL_SIZE must be 1 to 256"
            );
            s.pool_size = v;
        }
        if let Some(v) = parse_bool("BODYWORK_SECURE_COOKIES")? {
            s.secure_cookies = Some(v);
        }
        if var("BODYWORK_TRUST_PROXY").is_some() {
            anyhow::bail!(
                "BODYWORK_TRUST_PROXY is gone: it believed the left-most X-Forwarded-For entry, which the client writes. Name your proxies instead, for example BODYWORK_TRUSTED_PROXIES=127.0.0.1/32,10.0.0.0/8"
            );
        }
        if let Some(v) = var("BODYWORK_TRUSTED_PROXIES") {
            s.trusted_proxies = crate::domain::client_address::parse_trusted(&v)
                .map_err(|e| anyhow::anyhow!("BODYWORK_TRUSTED_PROXIES: {e}"))?;
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_SESSION_IDLE_MINUTES")? {
            s.session_idle = Duration::from_secs(v.max(1) * 60);
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_SESSION_ABSOLUTE_HOURS")? {
            s.session_absolute = Duration::from_secs(v.max(1) * 3600);
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_TOKEN_TTL_HOURS")? {
            s.token_ttl = Duration::from_secs(v.max(1) * 3600);
        }
        if let Some(v) = parse_var::<i32>("BODYWORK_LOGIN_MAX_FAILURES")? {
            s.login_max_failures = v.max(1);
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_LOGIN_WINDOW_SECONDS")? {
            s.login_window = Duration::from_secs(v.max(1));
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_LOGIN_LOCK_SECONDS")? {
            s.login_lock = Duration::from_secs(v.clamp(1, 3600));
        }
        if let Some(v) = parse_var::<u32>("BODYWORK_LOGIN_PER_IP_PER_MINUTE")? {
            s.login_per_ip_per_minute = v.max(1);
        }
        if let Some(v) = parse_var::<u32>("BODYWORK_RESET_PER_IP_PER_HOUR")? {
            s.reset_per_ip_per_hour = v.max(1);
        }
        if let Some(v) = parse_var::<u32>("BODYWORK_REGISTER_PER_IP_PER_HOUR")? {
            s.register_per_ip_per_hour = v.max(1);
        }
        if let Some(v) = parse_var::<u32>("BODYWORK_BOOKINGS_PER_CLIENT_PER_HOUR")? {
            s.bookings_per_client_per_hour = v.max(1);
        }
        if let Some(v) = parse_var::<u32>("BODYWORK_MAX_ACTIVE_BOOKINGS")? {
            s.max_active_bookings = v.max(1);
        }
        if let Some(v) = parse_var::<u32>("BODYWORK_ACCOUNT_MAILS_PER_EMAIL_PER_HOUR")? {
            s.account_mails_per_email_per_hour = v.max(1);
        }
        if let Some(v) = parse_var::<usize>("BODYWORK_MAX_BODY_BYTES")? {
            s.max_body_bytes = v.clamp(1024, 16 * 1024 * 1024);
        }
        if let Some(v) = var("BODYWORK_ANSWERS_KEY") {
            s.answers_key = Some(Secret::new(v));
        }
        if let Some(v) = var("BODYWORK_ANSWERS_OLD_KEYS") {
            s.answers_old_keys = v
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| Secret::new(k.to_string()))
                .collect();
        }
        if let Some(v) = var("BODYWORK_ANSWERS_KEY_FILE") {
            s.answers_key_file = v.into();
        }
        if let Some(v) = var("BODYWORK_DISTANCE_UNIT") {
            s.distance_unit = DistanceUnit::parse(&v).ok_or_else(|| {
                anyhow::anyhow!(
                    "BODYWORK_DISTANCE_UNIT must be mi or km, not {:?}",
                    v.trim()
                )
            })?;
        }
        if let Some(v) = var("SMTP_URL") {
            s.smtp_url = Some(SmtpUrl::parse(&v).map_err(anyhow::Error::msg)?);
        }
        if let Some(v) = var("MAIL_FROM") {
            v.trim()
                .parse::<lettre::message::Mailbox>()
                .map_err(|e| anyhow::anyhow!("MAIL_FROM is not an address ({e}): {v:?}"))?;
            s.mail_from = v.trim().to_string();
        }
        if let Some(v) = var("BODYWORK_BASE_URL") {
            let v = v.trim().trim_end_matches('/');
            anyhow::ensure!(
                (v.starts_with("http://") || v.starts_with("https://"))
                    && v.len() > "https://".len(),
                "BODYWORK_BASE_URL must start with http:// or https://, not {v:?}"
            );
            s.base_url = Some(v.to_string());
        }
        if let Some(v) = var("BODYWORK_SUPPORT_EMAIL") {
            let email = crate::domain::account::Email::parse(&v)
                .map_err(|e| anyhow::anyhow!("BODYWORK_SUPPORT_EMAIL: {e}"))?;
            s.support_email = Some(email.as_str().to_string());
        }
        if let Some(v) = var("BODYWORK_MAIL_DIR") {
            s.mail_dir = v.into();
        }
        if let Some(v) = parse_bool("BODYWORK_MAIL_WORKER")? {
            s.mail_worker = v;
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_MAIL_POLL_MS")? {
            s.mail_poll = Duration::from_millis(v.clamp(10, 600_000));
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_MAIL_LEASE_SECONDS")? {
            s.mail_lease = Duration::from_secs(v.clamp(4, 3600));
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_MAIL_KEEP_DAYS")? {
            s.mail_keep = Duration::from_secs(v.clamp(1, 3650) * 24 * 3600);
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_MAIL_HOUSEKEEPING_SECONDS")? {
            s.mail_housekeeping = Duration::from_secs(v.clamp(1, 86_400));
        }
        if let Some(v) = parse_var::<i64>("BODYWORK_REMINDER_HOURS")? {
            anyhow::ensure!(
                (1..=168).contains(&v),
                "BODYWORK_REMINDER_HOURS must be 1 to 168"
            );
            s.reminder_hours = v;
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_SHUTDOWN_SECONDS")? {
            anyhow::ensure!(
                (1..=300).contains(&v),
                "BODYWORK_SHUTDOWN_SECONDS must be 1 to 300"
            );
            s.shutdown_timeout = Duration::from_secs(v);
        }
        if let Some(v) = parse_bool("BODYWORK_METRICS")? {
            s.metrics = v;
        }
        if let Some(v) = parse_var::<u64>("BODYWORK_FREE_DAYS_SECONDS")? {
            anyhow::ensure!(
                v <= 3600,
                "BODYWORK_FREE_DAYS_SECONDS must be 0 (off) to 3600"
            );
            s.free_days_every = Duration::from_secs(v);
        }
        Ok(s)
    }

    /// The sender of every mail, parsed (`MAIL_FROM` is checked when read).
    pub fn mail_from_mailbox(&self) -> anyhow::Result<lettre::message::Mailbox> {
        self.mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM is not an address ({e}): {:?}", self.mail_from))
    }

    /// Where mail goes, in words: the SMTP server, or the folder of `.eml` files.
    pub fn mail_destination(&self) -> String {
        match &self.smtp_url {
            Some(u) => format!("SMTP {}", u.display()),
            None => format!("the folder {}", self.mail_dir.display()),
        }
    }

    /// No key is set and the key file does not exist (a start would create a new key).
    pub fn answers_key_is_missing(&self) -> bool {
        self.answers_key.is_none() && !self.answers_key_file.exists()
    }

    /// Whether cookies are `Secure` with `__Host-` names and HSTS is sent: as set, else unless
    /// the listen address is a loopback one (a developer's `http://127.0.0.1`; everything else
    /// is taken to be served over HTTPS, by the server's own proxy).
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies
            .unwrap_or_else(|| !listens_on_loopback(&self.addr))
    }

    /// Where the answers key comes from, for messages.
    pub fn answers_key_source(&self) -> String {
        match self.answers_key {
            Some(_) => "BODYWORK_ANSWERS_KEY".into(),
            None => format!("the key file {}", self.answers_key_file.display()),
        }
    }
}

/// A setting that must never be printed (a key): `Debug` shows `[redacted]`; [`Secret::expose`]
/// gives the value to the one place that uses it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn settings_debug_never_prints_the_answers_key() {
        let s = Settings {
            answers_key: Some(Secret::new("c2VjcmV0LWtleS1tYXRlcmlhbC1vZi0zMi1ieXRlcyE=")),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}

/// Whether `addr` (`host:port`) is a loopback address: `127.0.0.0/8`, `::1`, `localhost`.
fn listens_on_loopback(addr: &str) -> bool {
    if let Ok(a) = addr.parse::<std::net::SocketAddr>() {
        return a.ip().is_loopback();
    }
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.eq_ignore_ascii_case("localhost")
}

#[cfg(test)]
mod cookie_tests {
    use super::*;

    #[test]
    fn cookies_are_secure_unless_the_server_listens_on_loopback() {
        let on = |addr: &str, set: Option<bool>| {
            Settings {
                addr: addr.into(),
                secure_cookies: set,
                ..Default::default()
            }
            .cookies_secure()
        };
        assert!(!on("127.0.0.1:8080", None));
        assert!(!on("[::1]:8080", None));
        assert!(!on("localhost:8080", None));
        assert!(on("0.0.0.0:8080", None));
        assert!(on("10.0.0.5:8080", None));
        assert!(on("127.0.0.1:8080", Some(true)));
        assert!(!on("0.0.0.0:8080", Some(false)));
    }
}
