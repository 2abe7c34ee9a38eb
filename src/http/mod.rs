//! The HTTP plumbing both faces share (pages in `web`, JSON in `api`): the application state,
//! the client's address, calendar answers. Neither face owns it, so neither imports the other.

use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

use crate::config::Settings;
use crate::db::Pool;
use crate::domain::client_address;
use crate::error::AppError;
use crate::services::rate_limit::IpLimiter;

pub mod metrics;

use std::sync::Arc;

use crate::services::directory::PublicProfile;

/// What every handler can reach.
pub struct AppState {
    pub pool: Pool,
    /// Encrypts and decrypts screening answers.
    pub cipher: crate::services::crypto::AnswerCipher,
    pub settings: Settings,
    pub login_limiter: IpLimiter,
    /// Password reset requests per client address.
    pub reset_limiter: IpLimiter,
    /// Registrations per client address.
    pub register_limiter: IpLimiter,
    /// Bookings per client (by user id).
    pub booking_limiter: crate::services::rate_limit::KeyedLimiter<i64>,
    /// How many upcoming bookings one client may hold.
    pub booking_limits: crate::services::booking::BookingLimits,
    /// Account mails with a link (reset, verification) per email address.
    pub account_mail_limiter: crate::services::rate_limit::EmailLimiter,
    /// The directory index and the schedule caches (see `search`).
    pub engine: crate::search::SearchEngine,
    /// Public profiles kept by the therapist's directory stamp and schedule version.
    pub profiles: std::sync::Arc<crate::services::directory::ProfileCache>,
    /// What mails need: the site's absolute address, when reminders go out.
    pub mail: crate::services::mail::MailCtx,
    /// Readiness and metrics (`/readyz`, `/metrics`).
    pub ops: Ops,
}

/// What operating the server needs beside the handlers' state.
pub struct Ops {
    /// Set when SIGTERM came: `/readyz` answers 503 while in-flight requests finish.
    pub shutting_down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The mail worker of this process (None with `BODYWORK_MAIL_WORKER=false`).
    pub mail_worker: Option<crate::services::mail_worker::Liveness>,
    /// The Prometheus recorder's handle when `BODYWORK_METRICS=true`.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl Ops {
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
            .load(std::sync::atomic::Ordering::Acquire)
    }
}

impl AppState {
    /// Whether the database is SQLite (whose queries are function calls, not round trips).
    pub fn sqlite(&self) -> bool {
        matches!(
            self.settings.database_url,
            crate::db::DatabaseUrl::Sqlite(_)
        )
    }

    /// A therapist's public profile for a request (the profile page's, the booking form's and
    /// the API's), from memory when kept at the therapist's current version, with that schedule
    /// version (for the slots of the same request); 404 for a suspended or unknown therapist.
    pub async fn public_profile(
        &self,
        id: i64,
        today: chrono::NaiveDate,
    ) -> Result<(Arc<PublicProfile>, Option<i64>), AppError> {
        crate::services::directory::public_profile_request(
            &self.pool,
            self.sqlite(),
            &self.engine.directory,
            &self.profiles,
            id,
            today,
        )
        .await
    }

    /// A directory search for a request (the page's and the API's).
    pub async fn search(
        &self,
        params: crate::search::SearchParams,
        today: chrono::NaiveDate,
    ) -> Result<crate::search::SearchResult, AppError> {
        self.engine
            .search(&self.pool, self.sqlite(), params, today)
            .await
    }
}

impl AppState {
    /// May this client book again now (`BODYWORK_BOOKINGS_PER_CLIENT_PER_HOUR`)? 429 with the
    /// wait otherwise.
    pub fn booking_allowed(&self, user_id: i64) -> Result<(), AppError> {
        self.booking_limiter.admit(&user_id)
    }

    /// May `ip` register another account now? 429 with the wait otherwise (before any work:
    /// a flood of registrations costs no password hashing).
    pub fn registration_allowed(&self, ip: IpAddr) -> Result<(), AppError> {
        self.register_limiter.admit(&ip)
    }

    /// May another account mail with a link go to `email` (and, for requests anyone can make,
    /// from `ip`)? 429 with the wait otherwise.
    pub fn account_mail_allowed(&self, ip: Option<IpAddr>, email: &str) -> Result<(), AppError> {
        if let Some(ip) = ip {
            self.reset_limiter.admit(&ip)?;
        }
        self.account_mail_limiter
            .admit(&email.trim().to_lowercase())
    }
}

/// The application state of a request's server.
pub fn app_state(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>()
        .expect("AppState is registered")
        .clone()
}

/// The client's address: the peer, or behind one of `BODYWORK_TRUSTED_PROXIES` the right-most
/// forwarded address that is not one of them (`domain::client_address`).
pub fn client_ip(req: &HttpRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let proxies = &app_state(req).settings.trusted_proxies;
    if proxies.is_empty() {
        return peer;
    }
    let values = |name: &str| -> Vec<&str> {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect()
    };
    let chain = client_address::forwarded_chain(&values("x-forwarded-for"), &values("forwarded"));
    client_address::client_address(peer, &chain, proxies)
}

/// What rate limits count a client by: [`client_ip`], an IPv6 address by its /64.
pub fn client_key(req: &HttpRequest) -> IpAddr {
    client_address::rate_key(client_ip(req))
}

/// An iCalendar answer: `text/calendar`, never cached (it names people and times). With an
/// appointment id it downloads as a file.
pub fn ics_response(body: String, appointment_id: Option<i64>) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    resp.content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(id) = appointment_id {
        resp.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"bodywork-booking-{id}.ics\""),
        ));
    }
    resp.body(body)
}

/// The full feed URL for a token, from the site's address (`BODYWORK_BASE_URL`), never from
/// the request's Host or forwarded headers, which the client writes.
pub fn feed_url(req: &HttpRequest, token: &str) -> String {
    app_state(req).mail.link(&format!("/calendar/{token}.ics"))
}

/// Runs the extractor `E` before a scope or a route (`startup::routes` wraps them in it): when it
/// fails (nobody logged in, another role), its error is the answer and the handler never runs,
/// whatever the handler itself takes. Extractors that prove who is calling read no body.
pub async fn guard<E: FromRequest>(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let (http, payload) = req.into_parts();
    match E::extract(&http).await {
        Ok(_) => Ok(next
            .call(ServiceRequest::from_parts(http, payload))
            .await?
            .map_into_left_body()),
        Err(e) => {
            let e: actix_web::Error = e.into();
            Ok(ServiceResponse::new(http, e.error_response()).map_into_right_body())
        }
    }
}

/// What the role guards do when a logged-in user is refused a route of `role`: a refusal on an
/// admin route is audited (`services::admin::record_refusal`), the others are ordinary 403s.
pub async fn refused(
    req: &HttpRequest,
    user: &crate::models::user::User,
    role: crate::domain::account::Role,
) {
    if role != crate::domain::account::Role::Admin {
        return;
    }
    let user = user.clone();
    let method = req.method().to_string();
    let path = req.path().to_string();
    let pool = app_state(req).pool.clone();
    let written = crate::db::with_conn(&pool, move |conn| {
        crate::services::admin::record_refusal(conn, &user, &method, &path)
    })
    .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "an admin route's refusal could not be audited");
    }
}
