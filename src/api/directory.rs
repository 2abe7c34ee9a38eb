//! The directory in the API: techniques, search, public profiles.

use actix_web::{web, HttpRequest};
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::ListOut;
use crate::error::ApiResult;
use crate::http::app_state;
use crate::models::technique;
use crate::services::directory::{SearchHit, SearchQuery};
use crate::services::with_conn_quick;

#[derive(Debug, Serialize, ToSchema)]
pub struct TechniqueOut {
    pub slug: String,
    pub name: String,
    pub description: String,
    /// The conditions this technique is not for.
    pub not_for: String,
}

/// The catalogue as the database holds it: the `techniques` table that every service and offered
/// technique references (written from `domain::technique::CATALOGUE` at start), read in one
/// query, in catalogue order. This is also the benchmark's one-query baseline (bench/run.sh).
#[utoipa::path(get, path = "/api/v1/techniques", tag = "catalogue",
    responses((status = 200, body = [TechniqueOut])))]
pub async fn techniques(req: HttpRequest) -> ApiResult<web::Json<Vec<TechniqueOut>>> {
    let state = app_state(&req);
    let rows = with_conn_quick(&state.pool, state.sqlite(), |conn| {
        Ok(technique::all(conn)?)
    })
    .await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|t| TechniqueOut {
                slug: t.slug,
                name: t.name,
                description: t.description,
                not_for: t.not_for,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/therapists", tag = "directory",
    params(SearchQuery),
    responses((status = 200, description = "{total, page, per_page, results: [SearchHit]}"),
              (status = 422, description = "validation_failed (fields name each bad filter), search_too_broad")))]
pub async fn search(
    req: HttpRequest,
    q: web::Query<SearchQuery>,
) -> ApiResult<web::Json<ListOut<SearchHit>>> {
    let today = Utc::now().date_naive();
    if q.suits.is_some() {
        return Err(crate::error::AppError::field(
            "suits",
            "The \"suits my answers\" filter lives on the pages, where the answers stay in the session; in the API, evaluate them with /api/v1/screening/evaluate and pass a technique.",
        )
        .into());
    }
    let params = q.into_inner().parse(today)?;
    let state = app_state(&req);
    let r = state.search(params, today).await?;
    Ok(web::Json(ListOut {
        total: r.total,
        page: r.page,
        per_page: r.per_page,
        results: r.hits,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOut {
    pub id: i64,
    pub technique: String,
    pub duration_min: i32,
    pub price_cents: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseOut {
    pub jurisdiction: String,
    pub number: String,
    pub issuing_body: String,
    /// `submitted`, `verified`, `rejected` or `expired`.
    pub status: String,
    pub expires_on: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TherapistOut {
    pub id: i64,
    pub name: String,
    pub bio: String,
    pub city: Option<String>,
    pub timezone: String,
    pub techniques: Vec<String>,
    pub services: Vec<ServiceOut>,
    pub license: Option<LicenseOut>,
    pub training_hours: i32,
    pub hours_verified: bool,
    pub license_verified: bool,
    pub languages: Vec<String>,
    pub accepting_new_clients: bool,
    /// Takes in-studio bookings: exactly when `address` is set.
    pub in_studio: bool,
    pub mobile: bool,
    /// The studio's street address (null: mobile visits only).
    pub address: Option<String>,
    /// A phone for clients.
    pub phone: Option<String>,
    /// Mobile visits go this far from `city`, km (null when not `mobile`).
    pub mobile_radius_km: Option<i32>,
    /// A confirmed booking starting sooner than this can't be cancelled or moved online by its
    /// client (the availability marks such slots `cancellable_online: false`).
    pub cancellation_window_hours: i32,
    /// The photo, 320 by 320 pixels (a versioned URL, cached for good); None without one.
    pub photo_url: Option<String>,
    /// The photo at 192 by 192 pixels, for result cards.
    pub photo_card_url: Option<String>,
    /// The average of the shown reviews, to one decimal; null without reviews (the reviews:
    /// `/api/v1/therapists/{id}/reviews`).
    pub rating_avg: Option<f64>,
    /// How many reviews are shown.
    pub rating_count: i32,
}

#[utoipa::path(get, path = "/api/v1/therapists/{id}", tag = "directory",
    responses((status = 200, body = TherapistOut), (status = 404, description = "unknown or suspended")))]
pub async fn therapist(req: HttpRequest, id: web::Path<i64>) -> ApiResult<web::Json<TherapistOut>> {
    let today = Utc::now().date_naive();
    let id = id.into_inner();
    let state = app_state(&req);
    let (p, _) = state.public_profile(id, today).await?;
    Ok(web::Json(TherapistOut {
        id: p.therapist.id,
        city: p.city_label(),
        name: p.name.clone(),
        bio: p.therapist.bio.clone(),
        timezone: p.therapist.timezone.clone(),
        techniques: p.techniques.iter().map(|t| t.slug.to_string()).collect(),
        services: p
            .services
            .iter()
            .map(|s| ServiceOut {
                id: s.id,
                technique: s.technique_slug.clone(),
                duration_min: s.duration_min,
                price_cents: s.price_cents,
            })
            .collect(),
        license: p.license.as_ref().map(|l| LicenseOut {
            status: l.license_status(today).as_str().to_string(),
            jurisdiction: l.jurisdiction.clone(),
            number: l.number.clone(),
            issuing_body: l.issuing_body.clone(),
            expires_on: l.expires_on,
        }),
        training_hours: p.training_hours,
        hours_verified: p.hours_verified,
        license_verified: p.license_verified,
        languages: p.languages.iter().map(|s| s.to_string()).collect(),
        accepting_new_clients: p.therapist.accepting_new_clients,
        in_studio: p.therapist.in_studio,
        mobile: p.therapist.mobile,
        address: p.therapist.address.clone(),
        phone: p.therapist.phone.clone(),
        rating_avg: crate::domain::review::shown_average(
            p.therapist.rating_sum,
            p.therapist.rating_count,
        ),
        rating_count: p.therapist.rating_count,
        mobile_radius_km: p.therapist.mobile_radius_km.filter(|_| p.therapist.mobile),
        cancellation_window_hours: p.cancellation_window_hours,
        photo_url: p.photo.as_ref().map(|u| u.photo_url.clone()),
        photo_card_url: p.photo.as_ref().map(|u| u.photo_card_url.clone()),
    }))
}
