//! Page errors: rendered as a page in the layout, with the viewer's navigation.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::error::AppError;
use crate::web::PageCtx;

/// The HTML face of an [`AppError`].
#[derive(Debug)]
pub struct PageError {
    pub error: AppError,
    /// For `Unauthorized`: where to come back after logging in.
    pub next: Option<String>,
}

pub type PageResult<T> = Result<T, PageError>;

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError {
            error: e.into(),
            next: None,
        }
    }
}

impl PageError {
    pub fn login_required(req: &HttpRequest) -> PageError {
        let next = match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{}", req.path(), q),
        };
        PageError {
            error: AppError::Unauthorized,
            next: Some(next),
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// Marks a response whose body the page middleware replaces with the error page.
#[derive(Clone)]
pub struct PendingErrorPage {
    pub status: StatusCode,
    pub message: String,
    /// The error's code (the page says what to do for some: `email_unverified`).
    pub code: &'static str,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.error.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.error.log();
        if let AppError::Unauthorized = self.error {
            let next = self.next.as_deref().unwrap_or("/");
            let to = format!("/login?next={}", url_encode(next));
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, to))
                .finish();
        }
        if self.error.code() == crate::domain::totp::TOTP_ENROLMENT_REQUIRED {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/account/two-factor"))
                .finish();
        }
        let mut resp = HttpResponse::build(self.error.status());
        if let AppError::TooManyRequests { retry_after_secs } = self.error {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        let mut resp = resp.finish();
        resp.extensions_mut().insert(PendingErrorPage {
            status: self.error.status(),
            message: self.error.public_message(),
            code: self.error.code(),
        });
        resp
    }
}

pub fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub ctx: PageCtx,
    pub status: u16,
    pub title: String,
    pub message: String,
    pub code: &'static str,
}

fn title_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "That request could not be read",
        403 => "Not allowed",
        404 => "Page not found",
        413 => "Too large",
        422 => "Please check what you entered",
        429 => "Too many attempts",
        503 => "Busy right now",
        _ => "Something went wrong",
    }
}

/// Replaces the body of a marked error response with the error page in the layout.
pub fn render_page_error<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> ServiceResponse<EitherBody<B, BoxBody>> {
    let pending = res
        .response()
        .extensions()
        .get::<PendingErrorPage>()
        .cloned();
    let Some(pending) = pending else {
        return res.map_into_left_body();
    };
    let ctx = PageCtx::cached(res.request());
    let title = match pending.code {
        crate::services::access::EMAIL_UNVERIFIED => "Confirm your email address to book",
        _ => title_for(pending.status),
    };
    let page = ErrorPage {
        ctx,
        status: pending.status.as_u16(),
        title: title.to_string(),
        message: pending.message,
        code: pending.code,
    };
    let html = page.render().unwrap_or_else(|_| {
        "<!doctype html><title>Error</title><p>Something went wrong.</p>".into()
    });
    let (req, old) = res.into_parts();
    let mut resp = HttpResponse::build(pending.status)
        .content_type("text/html; charset=utf-8")
        .body(html);
    for (name, value) in old.headers() {
        if name == header::RETRY_AFTER {
            resp.headers_mut().insert(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, resp).map_into_right_body()
}

/// Any URL no route matches: a JSON 404 under /api, the 404 page elsewhere.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, actix_web::Error> {
    if req.path().starts_with("/api/") {
        return Ok(crate::error::json_error(&AppError::NotFound));
    }
    // Resolve the viewer so the 404 page shows the right navigation.
    let _ = crate::web::viewer(&req).await;
    Err(PageError::from(AppError::NotFound).into())
}
