//! One error type for the whole application. Pages render it in the layout (see
//! `web::errors`), the API as `{"error": {"code", "message", "fields"}}`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

pub use crate::domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("You need to log in first.")]
    Unauthorized,
    #[error("The email or password is not right.")]
    InvalidCredentials,
    /// 401 with a specific code: the second factor of a login (`totp_required`,
    /// `invalid_totp`).
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    #[error("You are not allowed to do that.")]
    Forbidden,
    /// 403 with a specific code and what to do about it (for example `email_unverified`).
    #[error("{message}")]
    Denied { code: &'static str, message: String },
    /// 403 `account_suspended`: a suspended therapist logging in, told why and whom to write to.
    #[error("{0}")]
    Suspended(Box<crate::domain::account::Suspension>),
    #[error(
        "This form has expired or did not come from this site. Reload the page and try again."
    )]
    Csrf,
    #[error("Not found.")]
    NotFound,
    /// Input that breaks a rule, with a message per field.
    #[error("{message}")]
    Validation {
        message: String,
        fields: FieldErrors,
    },
    /// 409: the thing exists already or was taken by someone else.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 422 with a specific code (for example `too_late_to_cancel`).
    #[error("{message}")]
    Rule { code: &'static str, message: String },
    /// 422 with a specific code and a message per field (for example `password_weak`).
    #[error("{message}")]
    FieldRule {
        code: &'static str,
        message: String,
        fields: FieldErrors,
    },
    /// 422 from the screening (refer, decline, clearance required), with its result.
    #[error("{message}")]
    Screening {
        code: &'static str,
        message: String,
        screening: Box<crate::domain::screening::Evaluation>,
    },
    #[error("The request is too large.")]
    PayloadTooLarge,
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("The service is busy. Please try again in a moment.")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn validation(fields: FieldErrors) -> Self {
        AppError::Validation {
            message: "Please correct the fields marked below.".into(),
            fields,
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.to_string(), message.into());
        Self::validation(fields)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized
            | AppError::InvalidCredentials
            | AppError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden
            | AppError::Csrf
            | AppError::Denied { .. }
            | AppError::Suspended(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Validation { .. }
            | AppError::Rule { .. }
            | AppError::FieldRule { .. }
            | AppError::Screening { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Forbidden => "forbidden",
            AppError::Suspended(_) => "account_suspended",
            AppError::Csrf => "csrf_failed",
            AppError::NotFound => "not_found",
            AppError::Validation { .. } => "validation_failed",
            AppError::Conflict { code, .. }
            | AppError::Unauthenticated { code, .. }
            | AppError::Denied { code, .. }
            | AppError::Rule { code, .. }
            | AppError::FieldRule { code, .. }
            | AppError::Screening { code, .. } => code,
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::Unavailable => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// What a person may read: internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "Something went wrong on our side. Please try again.".into(),
            other => other.to_string(),
        }
    }

    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            AppError::Validation { fields, .. } | AppError::FieldRule { fields, .. } => {
                Some(fields)
            }
            _ => None,
        }
    }

    pub fn log(&self) {
        if let AppError::Internal(e) = self {
            tracing::error!(error = %format!("{e:#}"), "internal error");
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            // Two transactions that PostgreSQL had to part (a deadlock, a serialization
            // failure): nothing was written, and the same request again will go through.
            diesel::result::Error::DatabaseError(kind, info)
                if matches!(
                    kind,
                    diesel::result::DatabaseErrorKind::SerializationFailure
                ) || info.message().contains("deadlock detected") =>
            {
                tracing::warn!(error = %info.message(), "transaction parted by the database");
                AppError::Unavailable
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection available");
        AppError::Unavailable
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task was cancelled"))
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a FieldErrors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    screening: Option<&'a crate::domain::screening::Evaluation>,
}

/// The JSON face of an [`AppError`], for `/api/v1`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        json_error(&self.0)
    }
}

pub fn json_error(e: &AppError) -> HttpResponse {
    let mut resp = HttpResponse::build(e.status());
    if let AppError::TooManyRequests { retry_after_secs } = e {
        resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
    }
    if let AppError::Unauthorized = e {
        resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    resp.json(ErrorBody {
        error: ErrorDetail {
            code: e.code(),
            message: e.public_message(),
            fields: e.fields(),
            screening: match e {
                AppError::Screening { screening, .. } => Some(screening),
                _ => None,
            },
        },
    })
}

pub type ApiResult<T> = Result<T, ApiError>;
