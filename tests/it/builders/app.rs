//! Typed helpers: `spawn_app()`, logins, forms, and direct data-layer access.

use std::time::Duration;

use bodywork::config::Settings;
use bodywork::db::{self, DatabaseUrl, DbConnection, Pool};
use bodywork::services::accounts::{self, RegisterInput};
use bodywork::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const PASSWORD: &str = "a long enough password";

/// The throwaway database of one test; a PostgreSQL one is dropped at the end.
pub enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { server_url, name } = self {
            if let Ok(mut conn) = PgConnection::establish(server_url) {
                let _ =
                    conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
        }
    }
}

/// A fresh database: a temp SQLite file, or a new PostgreSQL database when
/// `TEST_DATABASE_URL` is set.
pub fn fresh_database() -> (DatabaseUrl, TestDb) {
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(server_url) => {
            let server_url = without_tls_unless_asked(server_url);
            let name = format!("bw_test_{}", uuid_like());
            let mut conn = PgConnection::establish(&server_url)
                .unwrap_or_else(|e| panic!("TEST_DATABASE_URL {server_url} is not reachable: {e}"));
            conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .expect("create test database");
            let (address, query) = server_url.split_once('?').unwrap_or((&server_url, ""));
            let base = address
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .expect("TEST_DATABASE_URL has a path");
            (
                DatabaseUrl::Postgres(format!("{base}/{name}?{query}")),
                TestDb::Postgres { server_url, name },
            )
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("test.db");
            (
                DatabaseUrl::Sqlite(path.to_string_lossy().into_owned()),
                TestDb::Sqlite(dir),
            )
        }
    }
}

/// The test servers' worker threads close their pools' connections when a test ends, and the
/// last ones may still be closing when the process exits. With TLS, libpq may then call into
/// OpenSSL after its exit handler freed it (the likely cause of a SIGSEGV seen once after every
/// test had passed), so tests talk to PostgreSQL without TLS unless `TEST_DATABASE_URL` names an
/// `sslmode` or `PGSSLMODE` is set.
fn without_tls_unless_asked(url: String) -> String {
    if url.contains("sslmode=") || std::env::var_os("PGSSLMODE").is_some() {
        url
    } else if url.ends_with('?') {
        format!("{url}sslmode=disable")
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

fn uuid_like() -> String {
    bodywork::services::tokens::random_token()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect::<String>()
        .to_lowercase()
}

pub struct TestApp {
    pub address: String,
    /// A browser-like client: keeps cookies, does not follow redirects.
    pub client: reqwest::Client,
    pub pool: Pool,
    pub settings: Settings,
    pub db_url: DatabaseUrl,
    /// Where the server writes mails as `.eml` files when a test gives it no SMTP server.
    pub mail_dir: tempfile::TempDir,
    _db: TestDb,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    // The worker's handle dropped: it runs on, detached, until the test's runtime ends.
    spawn_app_keeping_worker(configure).await.0
}

/// `spawn_app_with`, and the handle of its mail worker (None when the settings turn it off),
/// for a test that stops it.
pub async fn spawn_app_keeping_worker(
    configure: impl FnOnce(&mut Settings),
) -> (TestApp, Option<bodywork::services::mail_worker::MailWorker>) {
    let (db_url, db) = fresh_database();
    let mail_dir = tempfile::tempdir().expect("mail dir");
    let mut settings = Settings {
        database_url: db_url.clone(),
        addr: "127.0.0.1:0".into(),
        pool_size: 8,
        answers_key: Some(bodywork::config::Secret::new(
            bodywork::services::crypto::AnswerCipher::generate_key_base64(),
        )),
        mail_dir: mail_dir.path().to_path_buf(),
        // Scenes register many people from one address; the limit has its own test.
        register_per_ip_per_hour: 10_000,
        bookings_per_client_per_hour: 10_000,
        max_active_bookings: 1_000,
        ..Settings::default()
    };
    configure(&mut settings);
    let app = Application::build(settings.clone()).expect("server builds");
    let port = app.port();
    let (server, worker) = app.into_parts();
    tokio::spawn(server);
    // Opened on demand: an eager pool of 20 per test app, beside the server's own, took
    // PostgreSQL past its 100 connections when two tests of two apps each ran at once.
    let pool = db::build_lazy_pool(&db_url, 20).expect("test pool");
    (
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            client: new_client(),
            pool,
            settings,
            db_url,
            mail_dir,
            _db: db,
        },
        worker,
    )
}

impl TestApp {
    /// A second server process's worth: another `Application` (own pool, own workers) on the
    /// same database. Returns its base URL.
    pub fn second_server(&self) -> String {
        let mut settings = self.settings.clone();
        settings.addr = "127.0.0.1:0".into();
        let app = Application::build(settings).expect("second server builds");
        let port = app.port();
        tokio::spawn(app.server());
        format!("http://127.0.0.1:{port}")
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// The value of a booking form's hidden key of safe retries.
pub fn form_key_from(html: &str) -> String {
    let marker = "name=\"idempotency_key\" value=\"";
    let start = html.find(marker).expect("form has an idempotency key") + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_string()
}

/// The value of the hidden CSRF field in a page.
pub fn csrf_from(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_string()
}

impl TestApp {
    /// What the server's mails know (links to this server), for services called directly.
    pub fn mail_ctx(&self) -> bodywork::services::mail::MailCtx {
        bodywork::services::mail::MailCtx::new(&self.address, self.settings.reminder_hours)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn conn(&self) -> db::PooledConn {
        self.pool.get().expect("connection")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    /// Posts a form the way a browser does: the CSRF token taken from `form_page`.
    pub async fn post_form(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let csrf = csrf_from(&self.get_html(form_page).await);
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &csrf));
        self.client
            .post(self.url(action))
            .form(&all)
            .send()
            .await
            .expect("request")
    }

    /// Registers through the register page (and so is logged in with this client), and
    /// follows the verification mail's link.
    pub async fn register_page(&self, email: &str, name: &str, role: &str) -> reqwest::Response {
        let r = self.register_page_unverified(email, name, role).await;
        if r.status() == StatusCode::SEE_OTHER {
            self.verify_email(email).await;
        }
        r
    }

    /// Registers through the register page without following the mail's link.
    pub async fn register_page_unverified(
        &self,
        email: &str,
        name: &str,
        role: &str,
    ) -> reqwest::Response {
        self.post_form(
            "/register",
            "/register",
            &[
                ("email", email),
                ("name", name),
                ("password", PASSWORD),
                ("role", role),
            ],
        )
        .await
    }

    /// Logs in through the login page; an account with two-factor sign-in gets the code page,
    /// and the code its app shows now is sent there (the answer is that step's).
    pub async fn login_page(&self, email: &str, password: &str) -> reqwest::Response {
        let r = self
            .post_form(
                "/login",
                "/login",
                &[("email", email), ("password", password)],
            )
            .await;
        if r.status() != StatusCode::OK {
            return r;
        }
        let html = r.text().await.expect("body");
        assert!(
            html.contains("action=\"/login/two-factor\""),
            "a 200 after the password is the code page: {html}"
        );
        let code = super::totp::fresh_totp_code(self, email).await;
        self.client
            .post(self.url("/login/two-factor"))
            .form(&[("code", code.as_str()), ("csrf_token", &csrf_from(&html))])
            .send()
            .await
            .expect("request")
    }

    pub async fn api_post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> reqwest::Response {
        let mut req = new_client().post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    /// `api_post` with an `Idempotency-Key` header.
    pub async fn api_post_keyed(
        &self,
        path: &str,
        token: &str,
        key: &str,
        body: Value,
    ) -> reqwest::Response {
        new_client()
            .post(self.url(path))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn api_put(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        new_client()
            .put(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn api_delete(&self, path: &str, token: &str) -> reqwest::Response {
        new_client()
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn api_get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = new_client().get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn api_register(&self, email: &str, name: &str, role: &str) -> Value {
        let resp = self
            .api_post(
                "/api/v1/auth/register",
                None,
                json!({"email": email, "password": PASSWORD, "name": name, "role": role}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED, "register {email}");
        resp.json().await.expect("json")
    }

    /// Logs in through the API and returns the bearer token.
    /// (With the code of its app for an account with two-factor sign-in.)
    pub async fn api_login(&self, email: &str) -> String {
        let mut resp = self
            .api_post(
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        if resp.status() == StatusCode::UNAUTHORIZED && super::totp_secret(self, email).is_some() {
            let code = super::fresh_totp_code(self, email).await;
            resp = self
                .api_post(
                    "/api/v1/auth/login",
                    None,
                    json!({"email": email, "password": PASSWORD, "totp": code}),
                )
                .await;
        }
        assert_eq!(resp.status(), StatusCode::OK, "login {email}");
        let body: Value = resp.json().await.expect("json");
        body["token"].as_str().expect("token").to_string()
    }

    /// Registers and logs in a user of `role` through the API, and verifies their address from
    /// the mail's link: (user id, token).
    pub async fn api_user(&self, email: &str, role: &str) -> (i64, String) {
        let body = self.api_register(email, "Test Person", role).await;
        let id = body["user"]["id"].as_i64().expect("id");
        self.verify_email(email).await;
        (id, self.api_login(email).await)
    }

    /// Registers through the API and follows the verification mail's link (the token posted to
    /// `POST /api/v1/auth/verify-email`).
    pub async fn api_register_verified(&self, email: &str, name: &str, role: &str) -> Value {
        let body = self.api_register(email, name, role).await;
        self.verify_email(email).await;
        body
    }

    /// Posts the token of the newest verification mail to `to` to the API (204).
    pub async fn verify_email(&self, to: &str) {
        let token = self.mail_token(to, "verify_email", "/verify-email").await;
        let r = self
            .api_post("/api/v1/auth/verify-email", None, json!({"token": token}))
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "verify {to}");
    }

    /// The text part of the newest mail of `kind` (`verify_email`, `password_reset`, ...) to
    /// `to` in the outbox: exactly what is sent. Waits up to 10 s for it (a reset request is
    /// answered before its mail is written).
    pub async fn mail_text(&self, to: &str, kind: &str) -> String {
        for _ in 0..200 {
            if let Some(text) = self.newest_mail(to, kind) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {kind} mail to {to} in the outbox");
    }

    /// The text part of the newest mail of `kind` to `to`, if there is one now.
    pub fn newest_mail(&self, to: &str, kind: &str) -> Option<String> {
        use bodywork::db::schema::outbox;
        use diesel::prelude::*;
        let mut conn = self.conn();
        outbox::table
            .filter(outbox::to_email.eq(to))
            .filter(outbox::kind.eq(kind))
            .order(outbox::id.desc())
            .select(outbox::body_text)
            .first::<String>(&mut conn)
            .optional()
            .expect("outbox query")
    }

    /// The calendar file of the newest mail of `kind` to `to`, if it carries one.
    pub fn newest_mail_ics(&self, to: &str, kind: &str) -> Option<String> {
        use bodywork::db::schema::outbox;
        use diesel::prelude::*;
        let mut conn = self.conn();
        outbox::table
            .filter(outbox::to_email.eq(to))
            .filter(outbox::kind.eq(kind))
            .order(outbox::id.desc())
            .select(outbox::ics)
            .first::<Option<String>>(&mut conn)
            .expect("outbox query")
    }

    /// Moves every mailed token `hours` into the past (issued and expiring that much earlier),
    /// as if the clock had moved on.
    pub fn age_tokens(&self, hours: i64) {
        use bodywork::db::schema::account_tokens as t;
        use diesel::prelude::*;
        let mut conn = self.conn();
        let rows: Vec<(i64, chrono::NaiveDateTime, chrono::NaiveDateTime)> = t::table
            .select((t::id, t::created_at, t::expires_at))
            .load(&mut conn)
            .expect("tokens");
        let by = chrono::Duration::hours(hours);
        for (id, created, expires) in rows {
            diesel::update(t::table.find(id))
                .set((
                    t::created_at.eq(created - by),
                    t::expires_at.eq(expires - by),
                ))
                .execute(&mut conn)
                .expect("age a token");
        }
    }

    /// How many mailed tokens are stored.
    pub fn token_count(&self) -> i64 {
        use bodywork::db::schema::account_tokens as t;
        use diesel::prelude::*;
        let mut conn = self.conn();
        t::table.count().get_result(&mut conn).expect("count")
    }

    /// The text parts of every mail of `kind` to `to`, oldest first.
    pub fn mail_texts(&self, to: &str, kind: &str) -> Vec<String> {
        use bodywork::db::schema::outbox;
        use diesel::prelude::*;
        let mut conn = self.conn();
        outbox::table
            .filter(outbox::to_email.eq(to))
            .filter(outbox::kind.eq(kind))
            .order(outbox::id.asc())
            .select(outbox::body_text)
            .load::<String>(&mut conn)
            .expect("outbox query")
    }

    /// How many mails of `kind` went to `to`.
    pub fn mail_count(&self, to: &str, kind: &str) -> i64 {
        use bodywork::db::schema::outbox;
        use diesel::prelude::*;
        let mut conn = self.conn();
        outbox::table
            .filter(outbox::to_email.eq(to))
            .filter(outbox::kind.eq(kind))
            .count()
            .get_result(&mut conn)
            .expect("outbox count")
    }

    /// The link to `path` (`/verify-email`, `/password-reset/confirm`, ...) in the newest mail of
    /// `kind` to `to`, as a path with its query (`/verify-email?token=...`).
    pub async fn mail_link(&self, to: &str, kind: &str, path: &str) -> String {
        let text = self.mail_text(to, kind).await;
        let at = text
            .find(&format!("{}{path}?token=", self.address))
            .unwrap_or_else(|| panic!("no link to {path} in: {text}"));
        let link: String = text[at..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        link.strip_prefix(&self.address)
            .expect("a link to this server")
            .to_string()
    }

    /// The token of that link.
    pub async fn mail_token(&self, to: &str, kind: &str, path: &str) -> String {
        let link = self.mail_link(to, kind, path).await;
        link.split_once("token=")
            .map(|(_, t)| t.to_string())
            .expect("a token in the link")
    }

    /// Creates an admin through the service layer (as `create-admin` does) and logs in.
    pub async fn api_admin(&self, email: &str) -> (i64, String) {
        let user = {
            let mut conn = self.conn();
            accounts::create_admin(
                &mut conn,
                &RegisterInput {
                    email: email.into(),
                    password: PASSWORD.into(),
                    name: "Admin Person".into(),
                    role: "admin".into(),
                },
                None,
            )
            .expect("admin")
        };
        let token = self.api_login(email).await;
        self.enrol_totp(email, &token).await;
        (user.id, token)
    }

    /// Enrols the account of `token` in two-factor sign-in through the API (start, a code of
    /// the secret, confirm) and returns its recovery codes; the token keeps working.
    pub async fn enrol_totp(&self, email: &str, token: &str) -> Vec<String> {
        let r = self
            .api_post("/api/v1/me/totp", Some(token), json!({}))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "start enrolment of {email}");
        let code = super::fresh_totp_code(self, email).await;
        let r = self
            .api_post(
                "/api/v1/me/totp/confirm",
                Some(token),
                json!({"code": code}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "confirm enrolment of {email}");
        let body: Value = r.json().await.expect("json");
        body["recovery_codes"]
            .as_array()
            .expect("codes")
            .iter()
            .map(|c| c.as_str().expect("code").to_string())
            .collect()
    }
}

/// Runs `f` with a plain connection to the test database.
pub fn with_conn<T>(app: &TestApp, f: impl FnOnce(&mut DbConnection) -> T) -> T {
    let mut conn = app.conn();
    f(&mut conn)
}

/// A browser-like client of its own (its own cookie jar) logged in through the login page.
pub async fn page_login(app: &TestApp, email: &str) -> reqwest::Client {
    let c = new_client();
    let html = c
        .get(app.url("/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", csrf_from(&html).as_str()),
        ])
        .send()
        .await
        .expect("login");
    let r = if r.status() == StatusCode::OK {
        // Two-factor sign-in: the code page, then the code.
        let html = r.text().await.expect("body");
        let code = super::fresh_totp_code(app, email).await;
        c.post(app.url("/login/two-factor"))
            .form(&[("code", code.as_str()), ("csrf_token", &csrf_from(&html))])
            .send()
            .await
            .expect("code")
    } else {
        r
    };
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login {email}");
    c
}

/// The real `bodywork serve` binary on a fresh database (SQLite, or PostgreSQL with
/// `TEST_DATABASE_URL`), for what only a process shows: signals and the exit code.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub address: String,
    pub pool: Pool,
    _db: TestDb,
    _mail_dir: tempfile::TempDir,
}

/// Starts the binary with these extra environment variables and waits until `/healthz`
/// answers.
pub async fn spawn_binary(env: &[(&str, &str)]) -> ServerProcess {
    let (db_url, db) = fresh_database();
    let mail_dir = tempfile::tempdir().expect("mail dir");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = match &db_url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
        DatabaseUrl::Postgres(url) => url.clone(),
    };
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_bodywork"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("BODYWORK_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "BODYWORK_ANSWERS_KEY",
            bodywork::services::crypto::AnswerCipher::generate_key_base64(),
        )
        .env("BODYWORK_MAIL_DIR", mail_dir.path())
        .env("BODYWORK_REGISTER_PER_IP_PER_HOUR", "1000")
        .env("RUST_LOG", "warn")
        // The log goes to standard output: read by `logs` once the process ended (a few lines:
        // `RUST_LOG=warn` unless asked).
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("the bodywork binary starts");
    let address = format!("http://127.0.0.1:{port}");
    let client = new_client();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{address}/healthz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pool = db::build_lazy_pool(&db_url, 2).expect("test pool");
    ServerProcess {
        child,
        address,
        pool,
        _db: db,
        _mail_dir: mail_dir,
    }
}

impl ServerProcess {
    /// Sends SIGTERM, as a service manager stops it.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("still running");
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -TERM {pid}");
    }

    /// What the process logged (its standard output), once it has ended.
    pub async fn logs(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut out = String::new();
        if let Some(mut err) = self.child.stdout.take() {
            let _ = err.read_to_string(&mut out).await;
        }
        out
    }

    /// Waits for the process to end (at most `secs` seconds) and returns its exit status.
    pub async fn exit_status(&mut self, secs: u64) -> std::process::ExitStatus {
        tokio::time::timeout(Duration::from_secs(secs), self.child.wait())
            .await
            .expect("the server stops in time")
            .expect("wait")
    }
}
