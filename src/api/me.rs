//! `/api/v1/me/...`: the therapist's own data (therapists only).

use actix_web::{web, HttpRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::ApiAs;
use crate::error::{ApiResult, AppError};
use crate::http::app_state;
use crate::services::access::{self, Proof};
use crate::services::{therapists, with_conn};

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingPolicyOut {
    pub min_notice_hours: i32,
    /// Up to 365.
    pub max_advance_days: i32,
    pub buffer_min: i32,
    pub cancellation_window_hours: i32,
    pub auto_confirm: bool,
}

#[utoipa::path(get, path = "/api/v1/me/booking-policy", tag = "therapist",
    responses((status = 200, body = BookingPolicyOut), (status = 401), (status = 403)))]
pub async fn get_booking_policy(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<web::Json<BookingPolicyOut>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _user_id = caller.who.user().id;
    let p = with_conn(&state.pool, move |conn| {
        therapists::booking_policy(conn, &me)
    })
    .await?;
    Ok(web::Json(p.into()))
}

impl From<crate::models::booking_policy::BookingPolicy> for BookingPolicyOut {
    fn from(p: crate::models::booking_policy::BookingPolicy) -> Self {
        BookingPolicyOut {
            min_notice_hours: p.min_notice_hours,
            max_advance_days: p.max_advance_days,
            buffer_min: p.buffer_min,
            cancellation_window_hours: p.cancellation_window_hours,
            auto_confirm: p.auto_confirm,
        }
    }
}

use actix_web::HttpResponse;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::api::directory::ServiceOut;
use crate::domain::profile::{LicenseInput, ProfileInput, ServiceInput, TrainingInput};
use crate::services::{photos, profile};

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileOut {
    pub therapist_id: i64,
    pub name: String,
    pub bio: String,
    pub city: Option<String>,
    pub timezone: String,
    pub techniques: Vec<String>,
    pub languages: Vec<String>,
    pub accepting_new_clients: bool,
    /// Exactly when `address` is set.
    pub in_studio: bool,
    pub mobile: bool,
    /// The studio's street address (public; null: mobile visits only).
    pub address: Option<String>,
    pub phone: Option<String>,
    /// Set exactly when `mobile`: how far from `city` mobile visits go, km.
    pub mobile_radius_km: Option<i32>,
    /// The photo, 320 by 320 pixels (a versioned URL); None without one.
    pub photo_url: Option<String>,
    /// The photo at 192 by 192 pixels, for result cards.
    pub photo_card_url: Option<String>,
}

fn profile_out(p: profile::OwnProfile) -> ProfileOut {
    let t = p.therapist;
    let photo = photos::PhotoUrls::of(t.id, t.photo_version);
    ProfileOut {
        photo_url: photo.as_ref().map(|u| u.photo_url.clone()),
        photo_card_url: photo.map(|u| u.photo_card_url),
        therapist_id: t.id,
        name: p.name,
        bio: t.bio,
        city: t.city.map(|c| match t.region {
            Some(r) => format!("{c}, {r}"),
            None => c,
        }),
        timezone: t.timezone,
        techniques: p.techniques,
        languages: t
            .languages
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        accepting_new_clients: t.accepting_new_clients,
        in_studio: t.in_studio,
        mobile: t.mobile,
        address: t.address,
        phone: t.phone,
        mobile_radius_km: t.mobile_radius_km,
    }
}

#[utoipa::path(get, path = "/api/v1/me/profile", tag = "therapist",
    responses((status = 200, body = ProfileOut), (status = 401), (status = 403)))]
pub async fn get_profile(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<web::Json<ProfileOut>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let p = with_conn(&state.pool, move |conn| profile::own(conn, &me)).await?;
    Ok(web::Json(profile_out(p)))
}

#[utoipa::path(put, path = "/api/v1/me/profile", tag = "therapist", request_body = ProfileInput,
    description = "Replaces the profile, except the practice fields (`address`, `phone`, `mobile`, `mobile_radius_km`): each one left out keeps its stored value, `null` or \"\" removes it. `in_studio` follows `address`; a sent `in_studio` that contradicts it is a field error.",
    responses((status = 200, body = ProfileOut), (status = 422, description = "validation_failed (with `fields`: address, phone, mobile_radius_km among others)"), (status = 401), (status = 403)))]
pub async fn put_profile(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    body: web::Json<ProfileInput>,
) -> ApiResult<web::Json<ProfileOut>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let input = body.into_inner();
    let p = with_conn(&state.pool, move |conn| {
        profile::update_profile(conn, &me, &input)?;
        profile::own(conn, &me)
    })
    .await?;
    Ok(web::Json(profile_out(p)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ServiceBody {
    pub technique: String,
    /// 15 to 240, in steps of 5.
    pub duration_min: i32,
    pub price_cents: i64,
}

impl From<ServiceBody> for ServiceInput {
    fn from(b: ServiceBody) -> Self {
        ServiceInput {
            technique: b.technique,
            duration_min: Some(b.duration_min),
            price_cents: Some(b.price_cents),
        }
    }
}

fn service_out(s: crate::models::service::Service) -> ServiceOut {
    ServiceOut {
        id: s.id,
        technique: s.technique_slug,
        duration_min: s.duration_min,
        price_cents: s.price_cents,
    }
}

#[utoipa::path(get, path = "/api/v1/me/services", tag = "therapist",
    responses((status = 200, body = [ServiceOut], description = "active services"), (status = 401), (status = 403)))]
pub async fn list_services(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<web::Json<Vec<ServiceOut>>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let list = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        profile::services_of(conn, t.id, false)
    })
    .await?;
    Ok(web::Json(list.into_iter().map(service_out).collect()))
}

#[utoipa::path(post, path = "/api/v1/me/services", tag = "therapist", request_body = ServiceBody,
    responses((status = 201, body = ServiceOut), (status = 422, description = "validation_failed")))]
pub async fn add_service(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    body: web::Json<ServiceBody>,
) -> ApiResult<HttpResponse> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let input: ServiceInput = body.into_inner().into();
    let s = with_conn(&state.pool, move |conn| {
        profile::add_service(conn, &me, &input)
    })
    .await?;
    Ok(HttpResponse::Created().json(service_out(s)))
}

#[utoipa::path(put, path = "/api/v1/me/services/{id}", tag = "therapist", request_body = ServiceBody,
    responses((status = 200, body = ServiceOut), (status = 404), (status = 422, description = "validation_failed, service_retired")))]
pub async fn update_service(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    path: web::Path<i64>,
    body: web::Json<ServiceBody>,
) -> ApiResult<web::Json<ServiceOut>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let sid = path.into_inner();
    let input: ServiceInput = body.into_inner().into();
    let s = with_conn(&state.pool, move |conn| {
        profile::update_service(conn, &me, sid, &input)
    })
    .await?;
    Ok(web::Json(service_out(s)))
}

#[utoipa::path(delete, path = "/api/v1/me/services/{id}", tag = "therapist",
    responses((status = 204, description = "retired (past bookings keep it)"), (status = 404)))]
pub async fn retire_service(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let sid = path.into_inner();
    with_conn(&state.pool, move |conn| {
        profile::retire_service(conn, &me, sid)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LicenseBody {
    pub jurisdiction: String,
    pub number: String,
    pub issuing_body: String,
    pub expires_on: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialOut {
    pub id: i64,
    /// `submitted`, `verified`, `rejected` or (licenses) `expired`.
    pub status: String,
    pub rejection_reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/me/license", tag = "therapist", request_body = LicenseBody,
    responses((status = 201, body = CredentialOut), (status = 422, description = "validation_failed")))]
pub async fn submit_license(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    body: web::Json<LicenseBody>,
) -> ApiResult<HttpResponse> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let b = body.into_inner();
    let input = LicenseInput {
        jurisdiction: b.jurisdiction,
        number: b.number,
        issuing_body: b.issuing_body,
        expires_on: Some(b.expires_on),
    };
    let l = with_conn(&state.pool, move |conn| {
        profile::submit_license(conn, &me, &input)
    })
    .await?;
    Ok(HttpResponse::Created().json(CredentialOut {
        id: l.id,
        status: l.status,
        rejection_reason: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TrainingBody {
    pub program: String,
    pub hours: i32,
    pub completed_on: NaiveDate,
}

#[utoipa::path(post, path = "/api/v1/me/training", tag = "therapist", request_body = TrainingBody,
    responses((status = 201, body = CredentialOut), (status = 422, description = "validation_failed")))]
pub async fn submit_training(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    body: web::Json<TrainingBody>,
) -> ApiResult<HttpResponse> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let b = body.into_inner();
    let input = TrainingInput {
        program: b.program,
        hours: Some(b.hours),
        completed_on: Some(b.completed_on),
    };
    let t = with_conn(&state.pool, move |conn| {
        profile::submit_training(conn, &me, &input)
    })
    .await?;
    Ok(HttpResponse::Created().json(CredentialOut {
        id: t.id,
        status: t.status,
        rejection_reason: None,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseRecordOut {
    pub id: i64,
    pub jurisdiction: String,
    pub number: String,
    pub issuing_body: String,
    pub expires_on: NaiveDate,
    pub status: String,
    pub rejection_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingRecordOut {
    pub id: i64,
    pub program: String,
    pub hours: i32,
    pub completed_on: NaiveDate,
    pub status: String,
    pub rejection_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialsOut {
    pub licenses: Vec<LicenseRecordOut>,
    pub training: Vec<TrainingRecordOut>,
}

#[utoipa::path(get, path = "/api/v1/me/credentials", tag = "therapist",
    responses((status = 200, body = CredentialsOut, description = "newest first, with statuses and rejection reasons")))]
pub async fn credentials(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<web::Json<CredentialsOut>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let _id = caller.who.user().id;
    let today = chrono::Utc::now().date_naive();
    let (licenses, training) = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        Ok((
            crate::models::credential::licenses_of(conn, t.id)?,
            crate::models::credential::training_of(conn, t.id)?,
        ))
    })
    .await?;
    Ok(web::Json(CredentialsOut {
        licenses: licenses
            .into_iter()
            .map(|l| LicenseRecordOut {
                status: l.license_status(today).as_str().to_string(),
                id: l.id,
                jurisdiction: l.jurisdiction,
                number: l.number,
                issuing_body: l.issuing_body,
                expires_on: l.expires_on,
                rejection_reason: l.rejection_reason,
            })
            .collect(),
        training: training
            .into_iter()
            .map(|t| TrainingRecordOut {
                id: t.id,
                program: t.program,
                hours: t.hours,
                completed_on: t.completed_on,
                status: t.status,
                rejection_reason: t.rejection_reason,
            })
            .collect(),
    }))
}

/// The body of `PUT /api/v1/me/photo` is the image file itself.
#[utoipa::path(put, path = "/api/v1/me/photo", tag = "therapist",
    request_body(content = Vec<u8>, description = "The photo: a JPEG or PNG file of up to 5 MB (5,242,880 bytes), at most 8000 pixels a side and at least 64. It is cropped to a centred square and re-encoded as JPEG (metadata dropped).", content_type = "image/jpeg"),
    responses((status = 200, body = photos::PhotoUrls),
        (status = 422, description = "validation_failed with fields.photo: not a JPEG or PNG, damaged or cut short, too many or too few pixels, over 5 MB"),
        (status = 413, description = "payload_too_large: over four times the limit"),
        (status = 401), (status = 403)))]
pub async fn put_photo(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
    mut payload: web::Payload,
) -> ApiResult<web::Json<photos::PhotoUrls>> {
    use futures_util::StreamExt;
    let limit = crate::domain::photo::MAX_UPLOAD_BYTES;
    let (mut body, mut read, mut too_large) = (Vec::new(), 0usize, false);
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| AppError::BadRequest("The body could not be read.".into()))?;
        read += chunk.len();
        if read > limit * 4 {
            return Err(AppError::PayloadTooLarge.into());
        }
        if read > limit {
            too_large = true;
            body = Vec::new();
        } else {
            body.extend_from_slice(&chunk);
        }
    }
    if too_large {
        return Err(photos::refused(crate::domain::photo::PhotoError::TooLarge).into());
    }
    let photo = web::block(move || photos::process(&body))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("photo worker: {e}")))??;
    let me = caller.who.clone();
    let state = app_state(&req);
    let urls = with_conn(&state.pool, move |conn| photos::store(conn, &me, &photo)).await?;
    Ok(web::Json(urls))
}

#[utoipa::path(delete, path = "/api/v1/me/photo", tag = "therapist",
    responses((status = 204, description = "removed (or there was none)"), (status = 401), (status = 403)))]
pub async fn delete_photo(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<HttpResponse> {
    let me = caller.who.clone();
    let state = app_state(&req);
    with_conn(&state.pool, move |conn| photos::remove(conn, &me)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoursOut {
    /// The therapist's IANA zone: weeks run Monday to Sunday on this clock.
    pub timezone: String,
    /// The last 12 weeks, the current one last.
    pub weeks: Vec<WeekHoursOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WeekHoursOut {
    /// The Monday the week starts on.
    pub week_start: NaiveDate,
    /// Minutes of confirmed, completed and no-show sessions starting that week.
    pub minutes: i64,
    /// The same in hours.
    pub hours: f64,
}

#[utoipa::path(get, path = "/api/v1/me/stats/hours", tag = "therapist",
    responses((status = 200, body = HoursOut), (status = 401), (status = 403)))]
pub async fn hours(
    req: HttpRequest,
    caller: ApiAs<access::Therapist>,
) -> ApiResult<web::Json<HoursOut>> {
    let me = caller.who.clone();
    let state = app_state(&req);
    let h = with_conn(&state.pool, move |conn| {
        crate::services::stats::hours_per_week(conn, &me, chrono::Utc::now())
    })
    .await?;
    Ok(web::Json(HoursOut {
        timezone: h.timezone,
        weeks: h
            .weeks
            .into_iter()
            .map(|w| WeekHoursOut {
                week_start: w.week_start,
                minutes: w.value,
                hours: (w.value as f64 / 6.0).round() / 10.0,
            })
            .collect(),
    }))
}
