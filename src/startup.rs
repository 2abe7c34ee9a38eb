//! Builds the server: pool, middleware and the one route table. Tests start this very server
//! on port 0.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpResponse, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{self, Pool};
use crate::error::{ApiError, AppError};
use crate::services::rate_limit::IpLimiter;
use crate::{api, models, web as pages};

/// What every handler can reach.
pub struct AppState {
    pub pool: Pool,
    /// Encrypts and decrypts screening answers.
    pub cipher: crate::services::crypto::AnswerCipher,
    pub settings: Settings,
    pub login_limiter: IpLimiter,
    /// Free slots computed per schedule version (see `services::availability::ScheduleCache`).
    pub schedules: std::sync::Arc<crate::services::availability::ScheduleCache>,
    /// The directory's searchable columns in memory (see `services::directory_index`).
    pub directory: std::sync::Arc<crate::services::directory_index::DirectoryIndex>,
}

impl AppState {
    /// Whether the database is SQLite (whose queries are function calls, not round trips).
    pub fn sqlite(&self) -> bool {
        matches!(
            self.settings.database_url,
            crate::db::DatabaseUrl::Sqlite(_)
        )
    }

    /// A directory search for a request (the page's and the API's): see
    /// `services::directory::search_request`.
    pub async fn search(
        &self,
        params: crate::services::directory::SearchParams,
        today: chrono::NaiveDate,
    ) -> Result<crate::services::directory::SearchResult, AppError> {
        crate::services::directory::search_request(
            &self.pool,
            self.sqlite(),
            &self.directory,
            &self.schedules,
            params,
            today,
        )
        .await
    }
}

pub struct Application {
    port: u16,
    server: Server,
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
        crate::services::password::warm_up();
        crate::domain::screening::validate(crate::domain::screening::questionnaire())
            .map_err(|e| anyhow::anyhow!("the screening questionnaire is invalid: {e}"))?;
        // The key must open the answers already stored; a missing key file is not replaced by
        // a new key when there are answers it would leave unreadable.
        let newest_answers = {
            let mut conn = pool.get()?;
            crate::services::booking::newest_sealed_answers(&mut conn)?
        };
        if newest_answers.is_some() && settings.answers_key_is_missing() {
            anyhow::bail!(
                "the database holds encrypted screening answers but there is no key: restore the key file {} (BODYWORK_ANSWERS_KEY_FILE) or set BODYWORK_ANSWERS_KEY; a new key could not read them",
                settings.answers_key_file.display()
            );
        }
        let cipher = settings.answers_cipher()?;
        if let Some(sealed) = &newest_answers {
            crate::services::booking::key_opens(&cipher, sealed).map_err(|e| {
                anyhow::anyhow!(
                    "{e} with the key from {}. Start with the key that encrypted them (BODYWORK_ANSWERS_KEY, or the file named by BODYWORK_ANSWERS_KEY_FILE).",
                    settings.answers_key_source()
                )
            })?;
        }
        let listener = TcpListener::bind(&settings.addr)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.addr))?;
        let port = listener.local_addr()?.port();
        // The directory index is loaded before the first request (a large directory takes a
        // second or two), so no request waits for it.
        let directory =
            std::sync::Arc::new(crate::services::directory_index::DirectoryIndex::new());
        {
            let mut conn = pool.get()?;
            directory
                .sync(&mut conn)
                .map(drop)
                .map_err(|e| anyhow::anyhow!("cannot load the directory index: {e:?}"))?;
        }
        let state = web::Data::new(AppState {
            pool,
            cipher,
            login_limiter: IpLimiter::per_minute(settings.login_per_ip_per_minute),
            schedules: Default::default(),
            directory,
            settings,
        });
        let body_limit = state.settings.max_body_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(api::json_config(body_limit))
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(web::FormConfig::default().limit(body_limit))
                .app_data(api::query_config())
                .app_data(api::path_config())
                .wrap(from_fn(pages::page_middleware))
                .wrap(security_headers())
                .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
                .configure(routes)
                .default_service(web::to(pages::errors::not_found))
        })
        .listen(listener)?
        .shutdown_timeout(20)
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped; SIGTERM and Ctrl-C shut down gracefully (in-flight requests finish).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    pub fn server(self) -> Server {
        self.server
    }
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
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

/// Every URL of the site.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route(
            "/api/openapi.json",
            web::get().to(api::openapi::openapi_json),
        )
        .route("/static/style.css", web::get().to(stylesheet))
        // Pages
        .route("/", web::get().to(pages::home::home))
        .route("/login", web::get().to(pages::auth::login_form))
        .route("/login", web::post().to(pages::auth::login))
        .route("/register", web::get().to(pages::auth::register_form))
        .route("/register", web::post().to(pages::auth::register))
        .route("/logout", web::post().to(pages::auth::logout))
        .route("/techniques", web::get().to(pages::directory::techniques))
        .route("/therapists", web::get().to(pages::directory::search))
        .route("/therapists/{id}", web::get().to(pages::directory::profile))
        // A therapist's private calendar feed: the token in the path is the credential.
        .route(
            "/calendar/{token}.ics",
            web::get().to(pages::calendar::feed),
        )
        .route(
            "/bookings/{id}/calendar.ics",
            web::get().to(pages::calendar::booking_ics),
        )
        .route("/screening", web::get().to(pages::booking::self_check_form))
        .route("/screening", web::post().to(pages::booking::self_check))
        .route(
            "/screening/forget",
            web::post().to(pages::booking::forget_answers),
        )
        .route("/book", web::get().to(pages::booking::book_form))
        .route("/book", web::post().to(pages::booking::book))
        .route("/bookings", web::get().to(pages::booking::list))
        .route("/bookings/{id}", web::get().to(pages::booking::detail))
        .route(
            "/bookings/{id}/cancel",
            web::post().to(pages::booking::cancel),
        )
        .route(
            "/bookings/{id}/reschedule",
            web::get().to(pages::booking::reschedule_form),
        )
        .route(
            "/bookings/{id}/reschedule",
            web::post().to(pages::booking::reschedule),
        )
        .service(
            web::scope("/therapist")
                .route("", web::get().to(pages::therapist::dashboard))
                .route("/profile", web::get().to(pages::therapist::profile_form))
                .route("/profile", web::post().to(pages::therapist::profile_save))
                .route("/services", web::get().to(pages::therapist::services))
                .route("/services", web::post().to(pages::therapist::service_add))
                .route(
                    "/services/{id}",
                    web::post().to(pages::therapist::service_update),
                )
                .route(
                    "/services/{id}/retire",
                    web::post().to(pages::therapist::service_retire),
                )
                .route("/credentials", web::get().to(pages::therapist::credentials))
                .route("/license", web::post().to(pages::therapist::license_submit))
                .route(
                    "/training",
                    web::post().to(pages::therapist::training_submit),
                )
                .route("/schedule", web::get().to(pages::schedule::page))
                .route("/schedule/week", web::post().to(pages::schedule::save_week))
                .route("/time-off", web::post().to(pages::schedule::add_time_off))
                .route(
                    "/time-off/{id}/remove",
                    web::post().to(pages::schedule::remove_time_off),
                )
                .route("/policy", web::post().to(pages::schedule::save_policy))
                .route(
                    "/appointments",
                    web::get().to(pages::schedule::appointments),
                )
                .route(
                    "/appointments/{id}",
                    web::get().to(pages::schedule::appointment),
                )
                .route("/appointments/{id}", web::post().to(pages::schedule::act))
                .route("/calendar", web::get().to(pages::calendar::calendar_page))
                .route("/calendar", web::post().to(pages::calendar::create_feed))
                .route(
                    "/calendar/revoke",
                    web::post().to(pages::calendar::revoke_feed),
                ),
        )
        .service(
            web::scope("/admin")
                .route("", web::get().to(pages::admin::dashboard))
                .route("/licenses", web::get().to(pages::admin::licenses))
                .route("/training", web::get().to(pages::admin::training))
                .route(
                    "/{queue:licenses|training}/{id}/verify",
                    web::post().to(pages::admin::credential_verify),
                )
                .route(
                    "/{queue:licenses|training}/{id}/reject",
                    web::post().to(pages::admin::credential_reject),
                )
                .route("/therapists", web::get().to(pages::admin::therapists))
                .route("/therapists/{id}", web::get().to(pages::admin::therapist))
                .route(
                    "/therapists/{id}/suspend",
                    web::post().to(pages::admin::suspend),
                )
                .route(
                    "/therapists/{id}/reinstate",
                    web::post().to(pages::admin::reinstate),
                )
                .route("/bookings", web::get().to(pages::admin::flagged))
                .route("/admins", web::get().to(pages::admin::admins))
                .route("/admins", web::post().to(pages::admin::invite_admin))
                .route("/audit", web::get().to(pages::admin::audit)),
        )
        // JSON API
        .service(
            web::scope("/api/v1")
                .route("/auth/register", web::post().to(api::auth::register))
                .route("/auth/login", web::post().to(api::auth::login))
                .route("/auth/logout", web::post().to(api::auth::logout))
                .route("/me", web::get().to(api::auth::me))
                .route(
                    "/me/booking-policy",
                    web::get().to(api::me::get_booking_policy),
                )
                .route("/me/profile", web::get().to(api::me::get_profile))
                .route("/me/profile", web::put().to(api::me::put_profile))
                .route("/me/services", web::get().to(api::me::list_services))
                .route("/me/services", web::post().to(api::me::add_service))
                .route("/me/services/{id}", web::put().to(api::me::update_service))
                .route(
                    "/me/services/{id}",
                    web::delete().to(api::me::retire_service),
                )
                .route("/me/license", web::post().to(api::me::submit_license))
                .route("/me/training", web::post().to(api::me::submit_training))
                .route("/me/credentials", web::get().to(api::me::credentials))
                .route("/techniques", web::get().to(api::directory::techniques))
                .route("/therapists", web::get().to(api::directory::search))
                .route("/therapists/{id}", web::get().to(api::directory::therapist))
                .route("/admin/licenses", web::get().to(api::admin::licenses))
                .route("/me/weekly-hours", web::get().to(api::schedule::get_weekly))
                .route("/me/weekly-hours", web::put().to(api::schedule::put_weekly))
                .route("/me/time-off", web::get().to(api::schedule::list_time_off))
                .route("/me/time-off", web::post().to(api::schedule::add_time_off))
                .route(
                    "/me/time-off/{id}",
                    web::delete().to(api::schedule::remove_time_off),
                )
                .route(
                    "/me/booking-policy",
                    web::put().to(api::schedule::put_policy),
                )
                .route(
                    "/me/appointments",
                    web::get().to(api::appointments::my_appointments),
                )
                .route(
                    "/me/bookings",
                    web::get().to(api::appointments::my_bookings),
                )
                .route(
                    "/screening/questionnaire",
                    web::get().to(api::screening::questionnaire),
                )
                .route(
                    "/screening/evaluate",
                    web::post().to(api::screening::evaluate),
                )
                .route(
                    "/therapists/{id}/availability",
                    web::get().to(api::appointments::availability),
                )
                .route("/appointments", web::post().to(api::appointments::create))
                .route("/appointments/{id}", web::get().to(api::appointments::get))
                .route(
                    "/appointments/{id}/confirm",
                    web::post().to(api::appointments::confirm),
                )
                .route(
                    "/appointments/{id}/decline",
                    web::post().to(api::appointments::decline),
                )
                .route(
                    "/appointments/{id}/cancel",
                    web::post().to(api::appointments::cancel),
                )
                .route(
                    "/appointments/{id}/complete",
                    web::post().to(api::appointments::complete),
                )
                .route(
                    "/appointments/{id}/no-show",
                    web::post().to(api::appointments::no_show),
                )
                .route(
                    "/appointments/{id}/reschedule",
                    web::post().to(api::appointments::reschedule),
                )
                .route(
                    "/appointments/{id}/access-log",
                    web::get().to(api::appointments::access_log),
                )
                .route("/admin/dashboard", web::get().to(api::admin::dashboard))
                .route(
                    "/admin/licenses/expiring",
                    web::get().to(api::admin::expiring),
                )
                .route(
                    "/admin/{queue:licenses|training}/{id}/verify",
                    web::post().to(api::admin::credential_verify),
                )
                .route(
                    "/admin/{queue:licenses|training}/{id}/reject",
                    web::post().to(api::admin::credential_reject),
                )
                .route("/admin/training", web::get().to(api::admin::training))
                .route("/admin/therapists", web::get().to(api::admin::therapists))
                .route(
                    "/admin/therapists/{id}",
                    web::get().to(api::admin::therapist),
                )
                .route(
                    "/admin/therapists/{id}/suspend",
                    web::post().to(api::admin::suspend),
                )
                .route(
                    "/admin/therapists/{id}/reinstate",
                    web::post().to(api::admin::reinstate),
                )
                .route(
                    "/admin/bookings/flagged",
                    web::get().to(api::admin::flagged),
                )
                .route("/admin/admins", web::get().to(api::admin::admins))
                .route("/admin/admins", web::post().to(api::admin::invite_admin))
                .route("/admin/audit", web::get().to(api::admin::audit))
                .route(
                    "/appointments/{id}/calendar.ics",
                    web::get().to(api::calendar::appointment_ics),
                )
                .route(
                    "/me/calendar-feed",
                    web::post().to(api::calendar::create_feed),
                )
                .route(
                    "/me/calendar-feed",
                    web::delete().to(api::calendar::revoke_feed),
                ),
        );
}
