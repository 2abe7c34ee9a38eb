//! HTML pages: handlers and their askama template structs. Handlers parse, call a service and
//! render; they never decide a rule and never touch `db::schema`.

pub mod account;
pub mod admin;
pub mod auth;
pub mod booking;
pub mod calendar;
pub mod chart;
pub mod course;
pub mod directory;
pub mod entered;
pub mod errors;
pub mod filters;
pub mod format;
pub mod home;
pub mod notes;
pub mod photos;
pub mod reviews;
pub mod schedule;
pub mod therapist;
pub mod totp;
pub mod waitlist;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::domain::account::Role;
use crate::error::AppError;
use crate::http::AppState;
pub use crate::http::{app_state, client_key};
use crate::services::access::Proof;
use crate::services::accounts::{self, SessionInfo};
use crate::services::{tokens, with_conn};
pub use errors::{PageError, PageResult};

/// A cookie's name: `__Host-` prefixed when cookies are Secure (`Settings::cookies_secure`),
/// which the browser accepts only over HTTPS, for the whole site, from this host alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieName {
    plain: &'static str,
    host: &'static str,
}

impl CookieName {
    /// The name this server uses.
    pub fn of(self, state: &AppState) -> &'static str {
        if state.settings.cookies_secure() {
            self.host
        } else {
            self.plain
        }
    }
}

macro_rules! cookie_name {
    ($name:literal) => {
        CookieName {
            plain: $name,
            host: concat!("__Host-", $name),
        }
    };
}

pub const SESSION_COOKIE: CookieName = cookie_name!("bw_session");
pub const CSRF_COOKIE: CookieName = cookie_name!("bw_csrf");
pub const FLASH_COOKIE: CookieName = cookie_name!("bw_flash");
/// The name of the hidden CSRF field in every form.
pub const CSRF_FIELD: &str = "csrf_token";

/// The person looking at a page, as the layout needs them.
#[derive(Debug, Clone)]
pub struct NavUser {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The layout asks an unverified account to confirm its address (with a resend button).
    pub email_verified: bool,
    pub email: String,
}

impl NavUser {
    pub fn is_therapist(&self) -> bool {
        self.role == Role::Therapist
    }
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
    pub fn is_client(&self) -> bool {
        self.role == Role::Client
    }
}

/// The session of this request, resolved once and cached in the request's extensions.
#[derive(Clone)]
struct ViewerCache(Option<SessionInfo>);

/// The anonymous visitor's CSRF token, minted by [`page_middleware`] when the cookie is missing.
#[derive(Clone)]
struct AnonCsrf(String);

/// The flash message read from the cookie by [`page_middleware`].
#[derive(Clone)]
struct FlashIn(String);

/// A flash message to show on the next page (set on a redirect).
#[derive(Clone)]
pub struct FlashOut(pub String);

pub fn session_cookie_token(req: &HttpRequest) -> Option<String> {
    request_cookie(req, SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Resolves (once per request) the session behind the cookie.
pub async fn viewer(req: &HttpRequest) -> Result<Option<SessionInfo>, AppError> {
    if let Some(cached) = req.extensions().get::<ViewerCache>() {
        return Ok(cached.0.clone());
    }
    let found = match session_cookie_token(req) {
        None => None,
        Some(token) => {
            // The read on the request's thread (SQLite); the idle timer's write, once a minute,
            // on the blocking pool, where waiting for the write lock holds no request thread.
            let state = app_state(req);
            let settings = state.settings.clone();
            let found =
                crate::services::with_conn_quick(&state.pool, state.sqlite(), move |conn| {
                    accounts::find_session(conn, &settings, &token)
                })
                .await?;
            match found {
                Some((s, true)) => {
                    let touched = s.clone();
                    with_conn(&state.pool, move |conn| {
                        accounts::touch_session(conn, &touched)
                    })
                    .await?;
                    Some(s)
                }
                Some((s, false)) => Some(s),
                None => None,
            }
        }
    };
    req.extensions_mut().insert(ViewerCache(found.clone()));
    Ok(found)
}

/// What every page template gets: the viewer for the navigation, the CSRF token for its
/// forms, the flash message, and the current path.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Option<String>,
    pub path: String,
}

impl PageCtx {
    pub async fn from_request(req: &HttpRequest) -> Result<PageCtx, AppError> {
        let session = viewer(req).await?;
        Ok(Self::build(req, session.as_ref()))
    }

    /// Builds the context from what is already known (no database access).
    pub(crate) fn build(req: &HttpRequest, session: Option<&SessionInfo>) -> PageCtx {
        let csrf = match session {
            Some(s) => s.csrf_token.clone(),
            None => anon_csrf(req).unwrap_or_default(),
        };
        PageCtx {
            user: session.map(|s| NavUser {
                id: s.user.id,
                name: s.user.name.clone(),
                role: s.user.role(),
                email_verified: s.user.email_verified(),
                email: s.user.email.clone(),
            }),
            csrf,
            flash: req.extensions().get::<FlashIn>().map(|f| f.0.clone()),
            path: req.path().to_string(),
        }
    }

    /// The cached viewer, if it was resolved earlier in this request (for error pages).
    pub(crate) fn cached(req: &HttpRequest) -> PageCtx {
        let session = req
            .extensions()
            .get::<ViewerCache>()
            .and_then(|v| v.0.clone());
        Self::build(req, session.as_ref())
    }

    pub fn is_logged_in(&self) -> bool {
        self.user.is_some()
    }
}

fn anon_csrf(req: &HttpRequest) -> Option<String> {
    if let Some(a) = req.extensions().get::<AnonCsrf>() {
        return Some(a.0.clone());
    }
    request_cookie(req, CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() >= 32 && v.len() <= 128)
}

impl FromRequest for PageCtx {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<PageCtx, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(PageCtx::from_request(&req).await?) })
    }
}

/// A logged-in person (any role); anonymous visitors are sent to the login page.
pub struct LoggedIn {
    pub session: SessionInfo,
    pub ctx: PageCtx,
}

impl FromRequest for LoggedIn {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<LoggedIn, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Enrolling { session, ctx } = Enrolling::signed_in(&req).await?;
            // An admin without a second factor is sent to enrol (`web::errors`).
            crate::services::access::may_act(&session.user)?;
            Ok(LoggedIn { session, ctx })
        })
    }
}

/// A logged-in person, an admin who has not enrolled a second factor yet included: what the
/// enrolment pages and logging out take. Every other page takes [`LoggedIn`] or [`As`], which
/// send such an admin to `/account/two-factor`.
pub struct Enrolling {
    pub session: SessionInfo,
    pub ctx: PageCtx,
}

impl FromRequest for Enrolling {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Enrolling, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Enrolling::signed_in(&req).await })
    }
}

impl Enrolling {
    /// The signed-in person of `req`, whatever their second factor; a visitor is sent to log in.
    async fn signed_in(req: &HttpRequest) -> Result<Enrolling, PageError> {
        let Some(session) = viewer(req).await? else {
            return Err(PageError::login_required(req));
        };
        let ctx = PageCtx::build(req, Some(&session));
        Ok(Enrolling { session, ctx })
    }
}

impl LoggedIn {
    /// Refuses (403) anyone whose role is not `role`.
    pub fn require(self, role: Role) -> Result<LoggedIn, PageError> {
        if self.session.user.role() == role {
            Ok(self)
        } else {
            Err(AppError::Forbidden.into())
        }
    }
}

/// A logged-in person proven to have one role (`As<Admin>`, `As<Therapist>`, `As<Client>`):
/// anonymous visitors are sent to the login page, other roles get 403.
pub struct As<P> {
    pub who: P,
    pub session: SessionInfo,
    pub ctx: PageCtx,
}

impl<P: Proof> FromRequest for As<P> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<As<P>, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Some(session) = viewer(&req).await? else {
                return Err(PageError::login_required(&req));
            };
            crate::services::access::may_act(&session.user)?;
            let who = match P::prove(session.user.clone()) {
                Ok(who) => who,
                Err(e) => {
                    crate::http::refused(&req, &session.user, P::ROLE).await;
                    return Err(e.into());
                }
            };
            let ctx = PageCtx::build(&req, Some(&session));
            Ok(As { who, session, ctx })
        })
    }
}

/// A urlencoded form whose CSRF token has been checked against the session (logged in) or the
/// visitor's CSRF cookie (anonymous). The body is limited to `max_body_bytes` (413 beyond).
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<CsrfForm<T>, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = app_state(&req).settings.max_body_bytes;
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge.into());
                }
                body.extend_from_slice(&chunk);
            }
            let fields: HashMap<String, String> = serde_urlencoded::from_bytes(&body)
                .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
            check_csrf(&req, fields.get(CSRF_FIELD).map(String::as_str)).await?;
            let value: T = serde_html_form::from_bytes(&body)
                .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}")))?;
            Ok(CsrfForm(value))
        })
    }
}

/// Refuses (403) a form whose CSRF token is not the session's (logged in) or the visitor's
/// CSRF cookie's (anonymous).
async fn check_csrf(req: &HttpRequest, sent: Option<&str>) -> Result<(), PageError> {
    let sent = sent.unwrap_or("");
    let expected = match viewer(req).await? {
        Some(s) => Some(s.csrf_token),
        None => request_cookie(req, CSRF_COOKIE)
            .map(|c| c.value().to_string())
            .filter(|v| v.len() >= 32),
    };
    match expected {
        Some(expected) if tokens::same_secret(sent, &expected) => Ok(()),
        _ => Err(AppError::Csrf.into()),
    }
}

/// The most text a field of a [`CsrfUpload`] may hold, and how many fields it may have.
const UPLOAD_TEXT_FIELD_BYTES: usize = 4096;
const UPLOAD_MAX_FIELDS: usize = 16;
/// An upload this many times over its file limit is refused outright (413) instead of being
/// read to the end to answer next to the field.
const UPLOAD_HARD_FACTOR: usize = 4;

/// A `multipart/form-data` form with one file (the photo upload), its CSRF token checked like
/// [`CsrfForm`]'s. Text fields hold up to 4 KB each (16 fields at most); the file up to
/// `domain::photo::MAX_UPLOAD_BYTES`: a larger one is read to the end and dropped
/// (`too_large`), so that the page answers next to the field, unless it is four times over the
/// limit (413).
pub struct CsrfUpload {
    pub fields: HashMap<String, String>,
    /// The bytes of the file field (empty when none was chosen).
    pub file: Vec<u8>,
    /// The file was larger than the limit (and `file` is empty).
    pub too_large: bool,
}

impl FromRequest for CsrfUpload {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<CsrfUpload, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let limit = crate::domain::photo::MAX_UPLOAD_BYTES;
            let hard = limit * UPLOAD_HARD_FACTOR;
            let declared = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|n| n > hard) {
                return Err(AppError::PayloadTooLarge.into());
            }
            let unreadable = || AppError::BadRequest("The form could not be read.".into());
            let mut form = actix_multipart::Multipart::new(req.headers(), payload);
            let mut upload = CsrfUpload {
                fields: HashMap::new(),
                file: Vec::new(),
                too_large: false,
            };
            let (mut read, mut count) = (0usize, 0usize);
            while let Some(field) = form.next().await {
                let mut field = field.map_err(|_| unreadable())?;
                count += 1;
                if count > UPLOAD_MAX_FIELDS {
                    return Err(unreadable().into());
                }
                let name = field.name().unwrap_or_default().to_string();
                let is_file = field
                    .content_disposition()
                    .is_some_and(|d| d.get_filename().is_some());
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|_| unreadable())?;
                    read += chunk.len();
                    if read > hard {
                        return Err(AppError::PayloadTooLarge.into());
                    }
                    if !is_file {
                        if bytes.len() + chunk.len() > UPLOAD_TEXT_FIELD_BYTES {
                            return Err(unreadable().into());
                        }
                        bytes.extend_from_slice(&chunk);
                    } else if !upload.too_large {
                        if upload.file.len() + chunk.len() > limit {
                            upload.too_large = true;
                            upload.file = Vec::new();
                        } else {
                            upload.file.extend_from_slice(&chunk);
                        }
                    }
                }
                if !is_file {
                    let text = String::from_utf8(bytes).map_err(|_| unreadable())?;
                    upload.fields.insert(name, text);
                }
            }
            check_csrf(&req, upload.fields.get(CSRF_FIELD).map(String::as_str)).await?;
            Ok(upload)
        })
    }
}

/// Renders a template with a status (forms that fail are re-rendered with 422).
pub fn render<T: Template>(status: StatusCode, tpl: &T) -> PageResult<HttpResponse> {
    let html = tpl
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template error: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// Marks a page that shows health data or other private detail as never to be cached.
pub fn no_store(mut r: HttpResponse) -> PageResult<HttpResponse> {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// 303 See Other to `to`, with a flash message for the next page.
pub fn redirect_with_flash(to: &str, flash: impl Into<String>) -> HttpResponse {
    let mut resp = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish();
    resp.extensions_mut().insert(FlashOut(flash.into()));
    resp
}

/// A local path to come back to after logging in; anything else becomes `/`.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && n.len() <= 512
        && !n.chars().any(|c| c.is_control());
    ok.then(|| n.to_string())
}

pub fn home_for(role: Role) -> &'static str {
    match role {
        Role::Client => "/",
        Role::Therapist => "/therapist",
        Role::Admin => "/admin",
    }
}

pub fn cookie(state: &AppState, name: CookieName, value: String) -> Cookie<'static> {
    Cookie::build(name.of(state), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.cookies_secure())
        .finish()
}

/// The cookie `name` as the request carries it (by this server's name for it).
pub fn request_cookie(req: &HttpRequest, name: CookieName) -> Option<Cookie<'static>> {
    req.cookie(name.of(&app_state(req)))
}

pub fn removal_cookie(state: &AppState, name: CookieName) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new());
    c.set_max_age(CookieDuration::ZERO);
    c
}

/// Per-request page plumbing: mints the anonymous CSRF cookie, carries flash messages across
/// a redirect, renders page errors in the layout, and keeps logged-in pages out of caches.
pub async fn page_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_api = req.path().starts_with("/api/");
    // Photos are cached publicly: their responses set no cookie (no CSRF cookie, and a flash
    // message waits for the next page).
    let is_asset = req.path().starts_with("/photos/");
    let needs_csrf_cookie = !is_api && !is_asset && anon_csrf(req.request()).is_none();
    if needs_csrf_cookie {
        req.extensions_mut()
            .insert(AnonCsrf(tokens::random_token()));
    }
    let flash_in = request_cookie(req.request(), FLASH_COOKIE).filter(|_| !is_asset);
    let had_flash = flash_in.is_some();
    if let Some(c) = flash_in {
        if let Some(msg) = decode_flash(c.value()) {
            req.extensions_mut().insert(FlashIn(msg));
        }
    }

    let res = next.call(req).await?;
    let state = app_state(res.request());
    let res = errors::render_page_error(res);
    let (req, mut resp) = res.into_parts();
    let logged_in = req
        .extensions()
        .get::<ViewerCache>()
        .is_some_and(|v| v.0.is_some());

    if needs_csrf_cookie {
        if let Some(token) = req.extensions().get::<AnonCsrf>().map(|a| a.0.clone()) {
            let _ = resp.add_cookie(&cookie(&state, CSRF_COOKIE, token));
        }
    }
    let flash_out = resp.extensions().get::<FlashOut>().map(|f| f.0.clone());
    if let Some(msg) = flash_out {
        let _ = resp.add_cookie(&cookie(&state, FLASH_COOKIE, encode_flash(&msg)));
    } else if had_flash && !resp.status().is_redirection() {
        let _ = resp.add_cookie(&removal_cookie(&state, FLASH_COOKIE));
    }
    if logged_in || is_api {
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(ServiceResponse::new(req, resp))
}

fn encode_flash(msg: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(msg.as_bytes())
}

fn decode_flash(value: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    let s = String::from_utf8(bytes).ok()?;
    (s.chars().count() <= 300).then_some(s)
}

/// The cookie that keeps the self-check answers, encrypted, for the search filter.
pub const ANSWERS_COOKIE: CookieName = cookie_name!("bw_answers");
pub const ANSWERS_AAD: &[u8] = b"bodywork-self-check";

/// The cookie that keeps a declined booking attempt's answers for the next try: encrypted,
/// bound to the client, for two hours, removed by a booking and by logging out.
pub const RETRY_COOKIE: CookieName = cookie_name!("bw_retry");

/// The cookie that keeps a login whose password was right while its two-factor code is asked
/// (`web::auth`): sealed, for five minutes, never the password.
pub const PENDING_LOGIN_COOKIE: CookieName = cookie_name!("bw_login");

/// The self-check answers kept in the visitor's session cookie, if any.
pub fn remembered_answers(req: &HttpRequest) -> Option<BTreeMap<String, bool>> {
    let c = request_cookie(req, ANSWERS_COOKIE)?;
    let plain = app_state(req).cipher.decrypt(c.value(), ANSWERS_AAD).ok()?;
    serde_json::from_slice(&plain).ok()
}

/// The booking forms' hidden field of safe retries (`/book`, `/book/course`): one key per
/// rendered form, so a double submit or a proxy's retry books once (`services::idempotency`).
pub const IDEMPOTENCY_FIELD: &str = "idempotency_key";

/// A new key for a rendered booking form.
pub fn new_form_key() -> String {
    tokens::random_token()
}

/// The claim of a posted booking form's key, and the key its page renders again when it comes
/// back (nothing was booked with it). A form without a key (a page rendered before keys
/// existed) books without one; a malformed key is replaced.
pub fn form_claim(
    user_id: i64,
    route: &str,
    form: &HashMap<String, String>,
) -> (Option<crate::services::idempotency::Claim>, String) {
    use crate::domain::idempotency::IdempotencyKey;
    let Some(key) = form
        .get(IDEMPOTENCY_FIELD)
        .and_then(|k| IdempotencyKey::parse(k).ok())
    else {
        return (None, new_form_key());
    };
    // The form's fields in a fixed order, without the per-render tokens.
    let fields: BTreeMap<&str, &str> = form
        .iter()
        .filter(|(k, _)| k.as_str() != IDEMPOTENCY_FIELD && k.as_str() != CSRF_FIELD)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let canonical = serde_json::to_vec(&fields).unwrap_or_default();
    let claim = crate::services::idempotency::Claim::new(user_id, &key, route, &canonical);
    (Some(claim), key.as_str().to_string())
}

/// A booking form sent again after it booked: to what the first submit made.
pub fn already_booked(stored: &crate::services::idempotency::Stored) -> HttpResponse {
    let to = safe_next(Some(&stored.body)).unwrap_or_else(|| "/bookings".into());
    redirect_with_flash(&to, "This form was already sent: here is what it booked.")
}

/// What a booking form's key keeps as its answer: the page it redirects to.
pub fn form_answer(location: String) -> crate::services::idempotency::Stored {
    crate::services::idempotency::Stored {
        status: 303,
        body: location,
    }
}
