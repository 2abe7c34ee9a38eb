//! Builds the server: pool, middleware and the one route table. Tests start this very server
//! on port 0.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpResponse, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{self, Pool};
use crate::domain::account::Role;
use crate::error::{ApiError, AppError};
use crate::http::guard;
pub use crate::http::AppState;
use crate::services::access::{Admin, Client, Therapist};
use crate::services::mail::MailCtx;
use crate::services::mail_worker::{MailWorker, WorkerConfig};
use crate::services::mailer::{FileMailer, Mailer, SmtpMailer};
use crate::services::rate_limit::{EmailLimiter, IpLimiter};
use crate::{api, models, web as pages};

pub struct Application {
    port: u16,
    server: Server,
    /// The mail worker (None with `BODYWORK_MAIL_WORKER=false`).
    worker: Option<MailWorker>,
    mail: MailCtx,
    mail_destination: String,
    /// Set when SIGTERM or Ctrl-C came (`/readyz` then answers 503).
    shutting_down: Arc<AtomicBool>,
}

/// Content-Security-Policy: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

impl Application {
    /// Connects, migrates, and binds `settings.addr` (port 0 picks a free port).
    pub fn build(settings: Settings) -> anyhow::Result<Application> {
        let pool = db::build_pool(&settings.database_url, settings.pool_size)?;
        {
            let mut conn = pool.get()?;
            models::technique::sync_catalogue(&mut conn)?;
        }
        Self::build_with_pool(settings, pool)
    }

    pub fn build_with_pool(settings: Settings, pool: Pool) -> anyhow::Result<Application> {
        // First, so that the start (the directory's first load) is measured too.
        let metrics = settings.metrics.then(crate::http::metrics::install);
        crate::services::password::warm_up();
        crate::domain::screening::validate(crate::domain::screening::questionnaire())
            .map_err(|e| anyhow::anyhow!("the screening questionnaire is invalid: {e}"))?;
        // The key must open the answers already stored; a missing key file is not replaced by
        // a new key when there are answers it would leave unreadable.
        let (newest_answers, newest_notes) = {
            let mut conn = pool.get()?;
            (
                crate::services::booking::newest_sealed_answers(&mut conn)?,
                crate::services::notes::newest_sealed(&mut conn)?,
            )
        };
        if newest_notes.is_some() && settings.answers_key_is_missing() {
            anyhow::bail!(
                "the database holds encrypted session notes but there is no key: restore the key file {} (BODYWORK_ANSWERS_KEY_FILE) or set BODYWORK_ANSWERS_KEY; a new key could not read them",
                settings.answers_key_file.display()
            );
        }
        if newest_answers.is_some() && settings.answers_key_is_missing() {
            anyhow::bail!(
                "the database holds encrypted screening answers but there is no key: restore the key file {} (BODYWORK_ANSWERS_KEY_FILE) or set BODYWORK_ANSWERS_KEY; a new key could not read them",
                settings.answers_key_file.display()
            );
        }
        let cipher = crate::services::crypto::AnswerCipher::from_settings(&settings)?;
        if let Some(sealed) = &newest_answers {
            crate::services::booking::key_opens(&cipher, sealed).map_err(|e| {
                anyhow::anyhow!(
                    "{e} with the key from {}. Start with the key that encrypted them (BODYWORK_ANSWERS_KEY, or the file named by BODYWORK_ANSWERS_KEY_FILE).",
                    settings.answers_key_source()
                )
            })?;
        }
        if let Some(sealed) = &newest_notes {
            crate::services::notes::key_opens(&cipher, sealed).map_err(|e| {
                anyhow::anyhow!(
                    "{e} with the key from {}. Start with the key that encrypted them (BODYWORK_ANSWERS_KEY, or the file named by BODYWORK_ANSWERS_KEY_FILE).",
                    settings.answers_key_source()
                )
            })?;
        }
        let listener = TcpListener::bind(&settings.addr)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.addr))?;
        let port = listener.local_addr()?.port();
        let mail = MailCtx::new(
            &settings
                .base_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", display_addr(&settings.addr, port))),
            settings.reminder_hours,
        )
        .with_organizer(settings.mail_from_mailbox()?.email.as_ref());
        let mailer: Arc<dyn Mailer> = match &settings.smtp_url {
            // Each SMTP command is answered within a quarter of the lease, so a send always
            // ends while its claim holds.
            Some(url) => Arc::new(SmtpMailer::new(url, settings.mail_lease / 4)?),
            None => Arc::new(FileMailer::new(&settings.mail_dir)?),
        };
        let mail_destination = mailer.describe();
        let worker_config = WorkerConfig {
            poll: settings.mail_poll,
            lease: settings.mail_lease,
            batch: 20,
            keep: settings.mail_keep,
            housekeeping: settings.mail_housekeeping,
            from: settings.mail_from_mailbox()?,
        };
        // The directory index and the free-day maps are loaded before the first request (a
        // large directory takes seconds), so no request waits for them. Meanwhile a SQLite file
        // is read into the OS page cache (`DatabaseUrl::read_ahead`; the thread ends by itself).
        drop(settings.database_url.read_ahead());
        let engine = crate::search::SearchEngine::load(&pool)
            .map_err(|e| anyhow::anyhow!("cannot load the directory index: {e:?}"))?;
        if let db::DatabaseUrl::Postgres(_) = settings.database_url {
            engine.schedules.spread_loads_over(pool.clone());
            engine
                .warm_up(&pool)
                .map_err(|e| anyhow::anyhow!("cannot ready the database connections: {e:?}"))?;
        }
        if !settings.free_days_every.is_zero() {
            engine.start_mapper(pool.clone(), settings.free_days_every)?;
        }
        let worker = settings
            .mail_worker
            .then(|| MailWorker::start(pool.clone(), mailer, worker_config, mail.clone()));
        let shutting_down = Arc::new(AtomicBool::new(false));
        let ops = crate::http::Ops {
            shutting_down: shutting_down.clone(),
            mail_worker: worker.as_ref().map(MailWorker::liveness),
            metrics,
        };
        let state = web::Data::new(AppState {
            pool,
            cipher,
            login_limiter: IpLimiter::per_minute(settings.login_per_ip_per_minute),
            reset_limiter: IpLimiter::per_hour(settings.reset_per_ip_per_hour),
            register_limiter: IpLimiter::per_hour(settings.register_per_ip_per_hour),
            booking_limiter: crate::services::rate_limit::KeyedLimiter::per_hour(
                settings.bookings_per_client_per_hour,
            ),
            booking_limits: crate::services::booking::BookingLimits {
                max_active: settings.max_active_bookings,
            },
            account_mail_limiter: EmailLimiter::per_hour(settings.account_mails_per_email_per_hour),
            engine,
            profiles: Default::default(),
            settings,
            mail: mail.clone(),
            ops,
        });
        let body_limit = state.settings.max_body_bytes;
        let metrics_on = state.settings.metrics;
        let shutdown_secs = state.settings.shutdown_timeout.as_secs();
        let hsts = state.settings.cookies_secure();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(api::json_config(body_limit))
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(web::FormConfig::default().limit(body_limit))
                .app_data(query_config())
                .app_data(path_config())
                .wrap(from_fn(pages::page_middleware))
                .wrap(security_headers(hsts))
                .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
                .wrap(actix_web::middleware::Condition::new(
                    metrics_on,
                    from_fn(crate::http::metrics::record),
                ))
                .configure(routes)
                .default_service(web::to(pages::errors::not_found))
        })
        .listen(listener)?
        // In-flight requests get this long after SIGTERM (`BODYWORK_SHUTDOWN_SECONDS`).
        .shutdown_timeout(shutdown_secs)
        // Signals are handled by `run_until_stopped` (which also turns `/readyz` to 503); a
        // server spawned by a test ignores them.
        .disable_signals()
        .run();
        Ok(Application {
            port,
            server,
            worker,
            mail,
            mail_destination,
            shutting_down,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The site's address and what mails need (`BODYWORK_BASE_URL` or the listen address).
    pub fn mail(&self) -> &MailCtx {
        &self.mail
    }

    /// Where mail goes, in words ("SMTP smtp://...", "files in ./bodywork-mail").
    pub fn mail_destination(&self) -> &str {
        &self.mail_destination
    }

    /// Serves until stopped; SIGTERM and Ctrl-C shut down gracefully: `/readyz` answers 503,
    /// the listener closes, in-flight requests finish within `BODYWORK_SHUTDOWN_SECONDS`, then
    /// the mail worker stops (the send in progress finishes, unsent claims are given back).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let flag = self.shutting_down.clone();
        let signals = tokio::spawn(async move {
            stop_signal().await;
            flag.store(true, Ordering::Release);
            tracing::info!("stopping: no new connections, finishing the requests in flight");
            handle.stop(true).await;
        });
        let result = self.server.await;
        signals.abort();
        if let Some(worker) = self.worker {
            worker.stop().await;
            tracing::info!("the mail worker stopped and gave back its unsent claims");
        }
        result
    }

    /// The server alone; the mail worker runs on, detached, until the runtime ends.
    pub fn server(self) -> Server {
        self.server
    }

    /// The server and the mail worker, for a caller that stops them itself.
    pub fn into_parts(self) -> (Server, Option<MailWorker>) {
        (self.server, self.worker)
    }
}

/// SIGTERM (a service manager's stop) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `host:port` of a listen address with the port it really got ("127.0.0.1:0" → the port).
pub fn display_addr(addr: &str, port: u16) -> String {
    match addr.rsplit_once(':') {
        Some((host, _)) => format!("{host}:{port}"),
        None => format!("{addr}:{port}"),
    }
}

/// Bad query parameters are a 400 with the reason.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, req| {
        let app = AppError::BadRequest(format!("The query parameters could not be read: {err}"));
        if req.path().starts_with("/api/") {
            ApiError(app).into()
        } else {
            pages::PageError::from(app).into()
        }
    })
}

/// A malformed id in a path is simply not found.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err, req| {
        if req.path().starts_with("/api/") {
            ApiError(AppError::NotFound).into()
        } else {
            pages::PageError::from(AppError::NotFound).into()
        }
    })
}

/// The headers of every answer; with Secure cookies (the site is served over HTTPS) also HSTS,
/// so a browser never again reaches it over plain HTTP.
fn security_headers(hsts: bool) -> DefaultHeaders {
    let headers = if hsts {
        DefaultHeaders::new().add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        DefaultHeaders::new()
    };
    headers
        .add(("Content-Security-Policy", CSP))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    crate::services::with_conn(&state.pool, |conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1")
            .map_err(|e| AppError::Internal(e.into()))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok"))
}

/// The stylesheet, built into the binary so the server runs from any directory.
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../static/style.css"))
}

/// `GET /api/openapi.json`: the API's document, with what the route table declares of each
/// `/api` route (who may call it) written into it by `api::openapi::document`.
async fn openapi_json() -> HttpResponse {
    use api::openapi::{openapi_path, Caller, Declared};
    let declared: Vec<Declared> = route_table()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| Declared {
            method: r.method.as_str().to_string(),
            path: openapi_path(r.path),
            caller: match r.access {
                Access::Public | Access::Token => Caller::Anyone,
                Access::Signed => Caller::Signed,
                Access::Enrolling => Caller::Enrolling,
                Access::Only(role) => Caller::Only(role),
            },
        })
        .collect();
    api::openapi::openapi_response(&declared)
}

/// The short health form's script (progressive enhancement; the form works without it).
async fn health_form_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../static/health-form.js"))
}

/// The script that puts the viewer's clock beside the therapist's (progressive enhancement).
async fn local_time_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../static/local-time.js"))
}

/// Who may call a route (declared in [`route_table`], and enforced by [`routes`] before any
/// extractor runs; `tests/it/routes.rs` checks each route against its declaration, and that
/// everything under `/admin` and `/api/v1/admin` is admin only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, logged in or not.
    Public,
    /// Anyone holding the secret token in the path (a calendar feed): an unknown one is 404.
    Token,
    /// Any logged-in person; the service decides what of theirs they may see. An admin who has
    /// not enrolled a second factor is refused (pages send them to enrol).
    Signed,
    /// Any logged-in person, an admin who has not enrolled a second factor yet included: the
    /// enrolment routes, `/api/v1/me` and logging out.
    Enrolling,
    /// Only this role: others get 403 (or 404 for objects that are not theirs).
    Only(Role),
}

/// One route of the table.
pub struct RouteDef {
    pub method: Method,
    /// The full path, as actix-web matches it (`{id}` and other segments).
    pub path: &'static str,
    pub access: Access,
    to: fn() -> actix_web::Route,
}

impl RouteDef {
    /// The route with the guard of its declared access.
    fn guarded(&self) -> actix_web::Route {
        let route = (self.to)();
        let api = self.path.starts_with("/api/");
        match (self.access, api) {
            (Access::Public | Access::Token, _) => route,
            (Access::Signed, false) => route.wrap(from_fn(guard::<pages::LoggedIn>)),
            (Access::Signed, true) => route.wrap(from_fn(guard::<api::ApiUser>)),
            (Access::Enrolling, false) => route.wrap(from_fn(guard::<pages::Enrolling>)),
            (Access::Enrolling, true) => route.wrap(from_fn(guard::<api::ApiEnrolling>)),
            (Access::Only(Role::Admin), false) => route.wrap(from_fn(guard::<pages::As<Admin>>)),
            (Access::Only(Role::Admin), true) => route.wrap(from_fn(guard::<api::ApiAs<Admin>>)),
            (Access::Only(Role::Therapist), false) => {
                route.wrap(from_fn(guard::<pages::As<Therapist>>))
            }
            (Access::Only(Role::Therapist), true) => {
                route.wrap(from_fn(guard::<api::ApiAs<Therapist>>))
            }
            (Access::Only(Role::Client), false) => route.wrap(from_fn(guard::<pages::As<Client>>)),
            (Access::Only(Role::Client), true) => route.wrap(from_fn(guard::<api::ApiAs<Client>>)),
        }
    }

    /// The scope a route is registered in, and its path within it: the first of [`SCOPES`]
    /// that is the path or a parent of it.
    pub fn scope(&self) -> Option<(&'static str, &'static str)> {
        SCOPES.iter().find_map(|&prefix| {
            let rest = self.path.strip_prefix(prefix)?;
            (rest.is_empty() || rest.starts_with('/')).then_some((prefix, rest))
        })
    }
}

/// The scopes of the route table, most specific first. `/admin`, `/api/v1/admin` and
/// `/therapist` are guarded for their role as a whole, whatever their handlers take.
pub const SCOPES: [&str; 4] = ["/api/v1/admin", "/api/v1", "/admin", "/therapist"];

macro_rules! route {
    ($access:expr, $method:ident $path:literal => $handler:path) => {
        RouteDef {
            method: Method::$method,
            path: $path,
            access: $access,
            to: || web::method(Method::$method).to($handler),
        }
    };
}

/// Every URL of the site and the API, with who may call it.
pub fn route_table() -> Vec<RouteDef> {
    use Access::*;
    vec![
        route!(Public, GET "/healthz" => healthz),
        route!(Public, GET "/readyz" => api::ops::readyz),
        route!(Public, GET "/metrics" => api::ops::metrics),
        route!(Public, GET "/api/openapi.json" => openapi_json),
        route!(Public, GET "/static/style.css" => stylesheet),
        route!(Public, GET "/static/health-form.js" => health_form_script),
        route!(Public, GET "/static/local-time.js" => local_time_script),
        route!(Public, GET "/" => pages::home::home),
        route!(Public, GET "/login" => pages::auth::login_form),
        route!(Public, POST "/login" => pages::auth::login),
        route!(Public, GET "/login/two-factor" => pages::auth::totp_form),
        route!(Public, POST "/login/two-factor" => pages::auth::totp_login),
        route!(Public, GET "/register" => pages::auth::register_form),
        route!(Public, POST "/register" => pages::auth::register),
        route!(Enrolling, POST "/logout" => pages::auth::logout),
        route!(Enrolling, GET "/account/two-factor" => pages::totp::page),
        route!(Enrolling, POST "/account/two-factor" => pages::totp::start),
        route!(Enrolling, POST "/account/two-factor/confirm" => pages::totp::confirm),
        route!(Signed, POST "/account/two-factor/disable" => pages::totp::disable),
        route!(Signed, GET "/account" => pages::account::page),
        route!(Signed, POST "/account/notifications" => pages::account::save_notifications),
        route!(Public, GET "/verify-email" => pages::account::verify_email_form),
        route!(Public, POST "/verify-email" => pages::account::verify_email),
        route!(Public, GET "/password-reset" => pages::account::reset_request_form),
        route!(Public, POST "/password-reset" => pages::account::reset_request),
        route!(Public, GET "/password-reset/confirm" => pages::account::reset_confirm_form),
        route!(Public, POST "/password-reset/confirm" => pages::account::reset_confirm),
        route!(Public, GET "/accept-invite" => pages::account::accept_invite_form),
        route!(Public, POST "/accept-invite" => pages::account::accept_invite),
        route!(Signed, POST "/account/resend-verification" => pages::account::resend_verification),
        route!(Signed, POST "/account/password" => pages::account::change_password),
        route!(Signed, POST "/account/email" => pages::account::change_email),
        route!(Signed, GET "/account/export" => pages::account::export),
        route!(Only(Role::Client), POST "/account/delete" => pages::account::delete),
        route!(Public, GET "/techniques" => pages::directory::techniques),
        route!(Public, GET "/therapists" => pages::directory::search),
        route!(Public, GET "/therapists/{id}" => pages::directory::profile),
        route!(Public, GET "/photos/{id}/{version}/{size}.jpg" => pages::photos::serve),
        route!(Token, GET "/calendar/{token}.ics" => pages::calendar::feed),
        route!(Signed, GET "/bookings/{id}/calendar.ics" => pages::calendar::booking_ics),
        route!(Public, GET "/screening" => pages::booking::self_check_form),
        route!(Public, POST "/screening" => pages::booking::self_check),
        route!(Public, POST "/screening/forget" => pages::booking::forget_answers),
        route!(Only(Role::Client), GET "/book" => pages::booking::book_form),
        route!(Only(Role::Client), POST "/book" => pages::booking::book),
        route!(Only(Role::Client), GET "/book/course" => pages::course::course_form),
        route!(Only(Role::Client), POST "/book/course" => pages::course::course_book),
        route!(Signed, GET "/courses/{id}" => pages::course::detail),
        route!(Signed, POST "/courses/{id}/cancel" => pages::course::cancel),
        route!(Only(Role::Client), GET "/bookings" => pages::booking::list),
        route!(Only(Role::Client), GET "/bookings/{id}" => pages::booking::detail),
        route!(Public, GET "/bookings/{id}/screening" => pages::entered::screening_form),
        route!(Public, POST "/bookings/{id}/screening" => pages::entered::screening_submit),
        route!(Only(Role::Client), POST "/bookings/{id}/cancel" => pages::booking::cancel),
        route!(Only(Role::Client), GET "/bookings/{id}/reschedule" => pages::booking::reschedule_form),
        route!(Only(Role::Client), POST "/bookings/{id}/reschedule" => pages::booking::reschedule),
        route!(Only(Role::Client), GET "/waitlist" => pages::waitlist::list),
        route!(Only(Role::Client), POST "/waitlist" => pages::waitlist::join),
        route!(Only(Role::Client), POST "/waitlist/{id}/remove" => pages::waitlist::remove),
        route!(Only(Role::Client), GET "/bookings/{id}/review" => pages::reviews::review_form),
        route!(Only(Role::Client), POST "/bookings/{id}/review" => pages::reviews::review_submit),
        route!(Only(Role::Therapist), GET "/therapist" => pages::therapist::dashboard),
        route!(Only(Role::Therapist), GET "/therapist/profile" => pages::therapist::profile_form),
        route!(Only(Role::Therapist), POST "/therapist/profile" => pages::therapist::profile_save),
        route!(Only(Role::Therapist), POST "/therapist/photo" => pages::therapist::photo_upload),
        route!(Only(Role::Therapist), POST "/therapist/photo/remove" => pages::therapist::photo_remove),
        route!(Only(Role::Therapist), GET "/therapist/hours" => pages::therapist::hours),
        route!(Only(Role::Therapist), GET "/therapist/services" => pages::therapist::services),
        route!(Only(Role::Therapist), POST "/therapist/services" => pages::therapist::service_add),
        route!(Only(Role::Therapist), POST "/therapist/services/{id}" => pages::therapist::service_update),
        route!(Only(Role::Therapist), POST "/therapist/services/{id}/retire" => pages::therapist::service_retire),
        route!(Only(Role::Therapist), GET "/therapist/credentials" => pages::therapist::credentials),
        route!(Only(Role::Therapist), POST "/therapist/license" => pages::therapist::license_submit),
        route!(Only(Role::Therapist), POST "/therapist/training" => pages::therapist::training_submit),
        route!(Only(Role::Therapist), GET "/therapist/schedule" => pages::schedule::page),
        route!(Only(Role::Therapist), POST "/therapist/schedule/week" => pages::schedule::save_week),
        route!(Only(Role::Therapist), POST "/therapist/time-off" => pages::schedule::add_time_off),
        route!(Only(Role::Therapist), POST "/therapist/time-off/{id}/remove" => pages::schedule::remove_time_off),
        route!(Only(Role::Therapist), POST "/therapist/policy" => pages::schedule::save_policy),
        route!(Only(Role::Therapist), GET "/therapist/appointments" => pages::schedule::appointments),
        route!(Only(Role::Therapist), GET "/therapist/appointments/new" => pages::entered::enter_form),
        route!(Only(Role::Therapist), POST "/therapist/appointments/new" => pages::entered::enter_submit),
        route!(Only(Role::Therapist), GET "/therapist/appointments/{id}" => pages::schedule::appointment),
        route!(Only(Role::Therapist), POST "/therapist/appointments/{id}" => pages::schedule::act),
        route!(Only(Role::Therapist), POST "/therapist/appointments/{id}/notes" => pages::schedule::save_notes),
        route!(Only(Role::Therapist), GET "/therapist/clients" => pages::notes::clients),
        route!(Only(Role::Therapist), GET "/therapist/clients/{id}" => pages::notes::client),
        route!(Only(Role::Therapist), GET "/therapist/reviews" => pages::reviews::therapist_reviews),
        route!(Only(Role::Therapist), POST "/therapist/reviews/{id}/reply" => pages::reviews::reply),
        route!(Only(Role::Therapist), GET "/therapist/calendar" => pages::calendar::calendar_page),
        route!(Only(Role::Therapist), POST "/therapist/calendar" => pages::calendar::create_feed),
        route!(Only(Role::Therapist), POST "/therapist/calendar/revoke" => pages::calendar::revoke_feed),
        route!(Only(Role::Admin), GET "/admin" => pages::admin::dashboard),
        route!(Only(Role::Admin), GET "/admin/licenses" => pages::admin::licenses),
        route!(Only(Role::Admin), GET "/admin/training" => pages::admin::training),
        route!(Only(Role::Admin), POST "/admin/{queue:licenses|training}/{id}/verify" => pages::admin::credential_verify),
        route!(Only(Role::Admin), POST "/admin/{queue:licenses|training}/{id}/reject" => pages::admin::credential_reject),
        route!(Only(Role::Admin), GET "/admin/therapists" => pages::admin::therapists),
        route!(Only(Role::Admin), GET "/admin/therapists/{id}" => pages::admin::therapist),
        route!(Only(Role::Admin), POST "/admin/therapists/{id}/suspend" => pages::admin::suspend),
        route!(Only(Role::Admin), POST "/admin/therapists/{id}/reinstate" => pages::admin::reinstate),
        route!(Only(Role::Admin), POST "/admin/therapists/{id}/cancel-upcoming" => pages::admin::cancel_upcoming),
        route!(Only(Role::Admin), GET "/admin/bookings" => pages::admin::flagged),
        route!(Only(Role::Admin), GET "/admin/outbox" => pages::admin::outbox),
        route!(Only(Role::Admin), POST "/admin/outbox/{id}/send-again" => pages::admin::outbox_send_again),
        route!(Only(Role::Admin), GET "/admin/admins" => pages::admin::admins),
        route!(Only(Role::Admin), POST "/admin/admins" => pages::admin::invite_admin),
        route!(Only(Role::Admin), GET "/admin/audit" => pages::admin::audit),
        route!(Only(Role::Admin), GET "/admin/reviews" => pages::reviews::admin_reviews),
        route!(Only(Role::Admin), POST "/admin/reviews/{id}/hide" => pages::reviews::hide),
        route!(Public, POST "/api/v1/auth/register" => api::auth::register),
        route!(Public, POST "/api/v1/auth/login" => api::auth::login),
        route!(Enrolling, POST "/api/v1/auth/logout" => api::auth::logout),
        route!(Enrolling, GET "/api/v1/me" => api::auth::me),
        route!(Enrolling, GET "/api/v1/me/totp" => api::totp::status),
        route!(Enrolling, POST "/api/v1/me/totp" => api::totp::start),
        route!(Enrolling, POST "/api/v1/me/totp/confirm" => api::totp::confirm),
        route!(Signed, DELETE "/api/v1/me/totp" => api::totp::disable),
        route!(Signed, GET "/api/v1/me/notifications" => api::notifications::get_notifications),
        route!(Signed, PUT "/api/v1/me/notifications" => api::notifications::put_notifications),
        route!(Public, POST "/api/v1/auth/verify-email" => api::auth::verify_email),
        route!(Signed, POST "/api/v1/auth/resend-verification" => api::auth::resend_verification),
        route!(Public, POST "/api/v1/auth/password-reset" => api::auth::password_reset),
        route!(Public, POST "/api/v1/auth/password-reset/confirm" => api::auth::password_reset_confirm),
        route!(Public, POST "/api/v1/auth/accept-invite" => api::auth::accept_invite),
        route!(Signed, POST "/api/v1/me/password" => api::account::change_password),
        route!(Signed, PUT "/api/v1/me/email" => api::account::change_email),
        route!(Signed, GET "/api/v1/me/export" => api::account::export),
        route!(Only(Role::Client), DELETE "/api/v1/me" => api::account::delete_me),
        route!(Only(Role::Therapist), GET "/api/v1/me/booking-policy" => api::me::get_booking_policy),
        route!(Only(Role::Therapist), GET "/api/v1/me/profile" => api::me::get_profile),
        route!(Only(Role::Therapist), PUT "/api/v1/me/profile" => api::me::put_profile),
        route!(Only(Role::Therapist), GET "/api/v1/me/services" => api::me::list_services),
        route!(Only(Role::Therapist), POST "/api/v1/me/services" => api::me::add_service),
        route!(Only(Role::Therapist), PUT "/api/v1/me/services/{id}" => api::me::update_service),
        route!(Only(Role::Therapist), DELETE "/api/v1/me/services/{id}" => api::me::retire_service),
        route!(Only(Role::Therapist), POST "/api/v1/me/license" => api::me::submit_license),
        route!(Only(Role::Therapist), POST "/api/v1/me/training" => api::me::submit_training),
        route!(Only(Role::Therapist), GET "/api/v1/me/credentials" => api::me::credentials),
        route!(Only(Role::Therapist), PUT "/api/v1/me/photo" => api::me::put_photo),
        route!(Only(Role::Therapist), DELETE "/api/v1/me/photo" => api::me::delete_photo),
        route!(Only(Role::Therapist), GET "/api/v1/me/stats/hours" => api::me::hours),
        route!(Public, GET "/api/v1/techniques" => api::directory::techniques),
        route!(Public, GET "/api/v1/therapists" => api::directory::search),
        route!(Public, GET "/api/v1/therapists/{id}" => api::directory::therapist),
        route!(Only(Role::Admin), GET "/api/v1/admin/licenses" => api::admin::licenses),
        route!(Only(Role::Therapist), GET "/api/v1/me/weekly-hours" => api::schedule::get_weekly),
        route!(Only(Role::Therapist), PUT "/api/v1/me/weekly-hours" => api::schedule::put_weekly),
        route!(Only(Role::Therapist), GET "/api/v1/me/time-off" => api::schedule::list_time_off),
        route!(Only(Role::Therapist), POST "/api/v1/me/time-off" => api::schedule::add_time_off),
        route!(Only(Role::Therapist), DELETE "/api/v1/me/time-off/{id}" => api::schedule::remove_time_off),
        route!(Only(Role::Therapist), PUT "/api/v1/me/booking-policy" => api::schedule::put_policy),
        route!(Only(Role::Therapist), GET "/api/v1/me/appointments" => api::appointments::my_appointments),
        route!(Only(Role::Therapist), POST "/api/v1/me/appointments" => api::appointments::enter),
        route!(Only(Role::Therapist), GET "/api/v1/me/agenda" => api::appointments::my_agenda),
        route!(Only(Role::Therapist), GET "/api/v1/me/week" => api::appointments::my_week),
        route!(Only(Role::Therapist), GET "/api/v1/me/clients" => api::notes::list),
        route!(Only(Role::Therapist), GET "/api/v1/me/clients/{id}" => api::notes::file),
        route!(Only(Role::Client), GET "/api/v1/me/bookings" => api::appointments::my_bookings),
        route!(Public, GET "/api/v1/screening/questionnaire" => api::screening::questionnaire),
        route!(Public, POST "/api/v1/screening/evaluate" => api::screening::evaluate),
        route!(Public, GET "/api/v1/therapists/{id}/availability" => api::appointments::availability),
        route!(Only(Role::Client), POST "/api/v1/appointments" => api::appointments::create),
        route!(Only(Role::Client), POST "/api/v1/waitlist" => api::waitlist::join),
        route!(Only(Role::Client), GET "/api/v1/me/waitlist" => api::waitlist::mine),
        route!(Only(Role::Client), DELETE "/api/v1/waitlist/{id}" => api::waitlist::remove),
        route!(Signed, GET "/api/v1/appointments/{id}" => api::appointments::get),
        route!(Only(Role::Therapist), POST "/api/v1/appointments/{id}/confirm" => api::appointments::confirm),
        route!(Only(Role::Therapist), POST "/api/v1/appointments/{id}/decline" => api::appointments::decline),
        route!(Signed, POST "/api/v1/appointments/{id}/cancel" => api::appointments::cancel),
        route!(Only(Role::Therapist), POST "/api/v1/appointments/{id}/complete" => api::appointments::complete),
        route!(Only(Role::Therapist), POST "/api/v1/appointments/{id}/no-show" => api::appointments::no_show),
        route!(Signed, POST "/api/v1/appointments/{id}/reschedule" => api::appointments::reschedule),
        route!(Signed, GET "/api/v1/appointments/{id}/access-log" => api::appointments::access_log),
        route!(Public, POST "/api/v1/appointments/{id}/screening" => api::appointments::answer_screening),
        route!(Only(Role::Therapist), POST "/api/v1/appointments/{id}/keep" => api::appointments::keep),
        route!(Only(Role::Client), POST "/api/v1/courses" => api::courses::create),
        route!(Signed, GET "/api/v1/courses/{id}" => api::courses::get),
        route!(Signed, POST "/api/v1/courses/{id}/cancel" => api::courses::cancel),
        route!(Signed, GET "/api/v1/appointments/{id}/notes" => api::notes::get),
        route!(Signed, PUT "/api/v1/appointments/{id}/notes" => api::notes::put),
        route!(Only(Role::Client), POST "/api/v1/appointments/{id}/review" => api::reviews::create),
        route!(Public, GET "/api/v1/therapists/{id}/reviews" => api::reviews::list),
        route!(Only(Role::Therapist), POST "/api/v1/reviews/{id}/reply" => api::reviews::reply),
        route!(Only(Role::Admin), GET "/api/v1/admin/reviews" => api::reviews::admin_list),
        route!(Only(Role::Admin), POST "/api/v1/admin/reviews/{id}/hide" => api::reviews::hide),
        route!(Only(Role::Admin), GET "/api/v1/admin/dashboard" => api::admin::dashboard),
        route!(Only(Role::Admin), GET "/api/v1/admin/licenses/expiring" => api::admin::expiring),
        route!(Only(Role::Admin), GET "/api/v1/admin/stats/bookings" => api::admin::stats_bookings),
        route!(Only(Role::Admin), GET "/api/v1/admin/stats/queue-age" => api::admin::stats_queue_age),
        route!(Only(Role::Admin), GET "/api/v1/admin/stats/expiring" => api::admin::stats_expiring),
        route!(Only(Role::Admin), POST "/api/v1/admin/{queue:licenses|training}/{id}/verify" => api::admin::credential_verify),
        route!(Only(Role::Admin), POST "/api/v1/admin/{queue:licenses|training}/{id}/reject" => api::admin::credential_reject),
        route!(Only(Role::Admin), GET "/api/v1/admin/training" => api::admin::training),
        route!(Only(Role::Admin), GET "/api/v1/admin/therapists" => api::admin::therapists),
        route!(Only(Role::Admin), GET "/api/v1/admin/therapists/{id}" => api::admin::therapist),
        route!(Only(Role::Admin), POST "/api/v1/admin/therapists/{id}/suspend" => api::admin::suspend),
        route!(Only(Role::Admin), POST "/api/v1/admin/therapists/{id}/reinstate" => api::admin::reinstate),
        route!(Only(Role::Admin), POST "/api/v1/admin/therapists/{id}/cancel-upcoming" => api::admin::cancel_upcoming),
        route!(Only(Role::Admin), GET "/api/v1/admin/bookings/flagged" => api::admin::flagged),
        route!(Only(Role::Admin), GET "/api/v1/admin/outbox" => api::admin::outbox),
        route!(Only(Role::Admin), POST "/api/v1/admin/outbox/{id}/send-again" => api::admin::outbox_send_again),
        route!(Only(Role::Admin), GET "/api/v1/admin/admins" => api::admin::admins),
        route!(Only(Role::Admin), POST "/api/v1/admin/admins" => api::admin::invite_admin),
        route!(Only(Role::Admin), GET "/api/v1/admin/audit" => api::admin::audit),
        route!(Signed, GET "/api/v1/appointments/{id}/calendar.ics" => api::calendar::appointment_ics),
        route!(Only(Role::Therapist), POST "/api/v1/me/calendar-feed" => api::calendar::create_feed),
        route!(Only(Role::Therapist), DELETE "/api/v1/me/calendar-feed" => api::calendar::revoke_feed),
    ]
}

/// Registers [`route_table`]: each route in its scope; the scopes `/admin`, `/api/v1/admin` and
/// `/therapist` guarded for their role as a whole, and every other route that is not public
/// guarded for its declared access before any extractor runs (so a body that cannot be read
/// is not an answer to someone who may not call the route at all).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let mut api = web::scope("/api/v1");
    let mut api_admin = web::scope("/admin").wrap(from_fn(guard::<api::ApiAs<Admin>>));
    let mut admin = web::scope("/admin").wrap(from_fn(guard::<pages::As<Admin>>));
    let mut therapist = web::scope("/therapist").wrap(from_fn(guard::<pages::As<Therapist>>));
    for r in route_table() {
        match r.scope() {
            None => {
                cfg.route(r.path, r.guarded());
            }
            Some(("/api/v1/admin", rest)) => api_admin = api_admin.route(rest, (r.to)()),
            Some(("/api/v1", rest)) => api = api.route(rest, r.guarded()),
            Some(("/admin", rest)) => admin = admin.route(rest, (r.to)()),
            Some((_, rest)) => therapist = therapist.route(rest, (r.to)()),
        }
    }
    cfg.service(therapist)
        .service(admin)
        .service(api.service(api_admin));
}
