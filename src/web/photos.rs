//! Serving profile photos: `/photos/{therapist}/{version}/{size}.jpg`. The version is in the
//! path, so the bytes behind a URL never change: cached for a year as immutable, with an ETag
//! for revalidation. A version that is not the stored one (replaced or removed) is 404.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::domain::photo::PhotoSize;
use crate::error::AppError;
use crate::services::{photos, with_conn};
use crate::web::{app_state, PageResult};

pub async fn serve(
    req: HttpRequest,
    path: web::Path<(i64, i64, String)>,
) -> PageResult<HttpResponse> {
    let (therapist_id, version, size) = path.into_inner();
    let size = PhotoSize::parse(&size).ok_or(AppError::NotFound)?;
    let etag = format!("\"{version}-{}\"", size.as_str());
    let immutable = "public, max-age=31536000, immutable";
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let state = app_state(&req);
    let bytes = with_conn(&state.pool, move |conn| {
        photos::bytes(conn, therapist_id, version, size)
    })
    .await?;
    if cached {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, immutable))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, immutable))
        .body(bytes))
}
