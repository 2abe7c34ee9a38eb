//! Structured logs (tracing). `RUST_LOG` filters them (default `info`); `BODYWORK_LOG_FORMAT=json`
//! prints one JSON object a line. Each request's span carries its request id (tracing-actix-web).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("BODYWORK_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The request span: method, path and request id, with secrets kept out. The calendar feed's
/// path carries its token, so it is logged as a pattern; query strings are not logged at all.
/// Errors are not logged with their details here (a screening refusal carries health data):
/// `AppError::log` logs internal errors with their cause.
pub struct RequestSpan;

pub fn loggable_path(path: &str) -> &str {
    if path.starts_with("/calendar/") {
        "/calendar/{token}.ics"
    } else {
        path
    }
}

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %loggable_path(request.path()),
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
        let _entered = span.enter();
        if status >= 500 {
            tracing::warn!(status, "request finished");
        } else {
            tracing::info!(status, "request finished");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_feed_token_never_reaches_the_log() {
        assert_eq!(
            super::loggable_path("/calendar/abc123secret.ics"),
            "/calendar/{token}.ics"
        );
        assert_eq!(super::loggable_path("/therapists/4"), "/therapists/4");
    }
}
