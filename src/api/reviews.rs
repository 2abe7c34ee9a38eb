//! Reviews (`services::reviews` underneath): a client reviews a completed appointment, anyone
//! reads a therapist's reviews, the therapist replies once, an admin hides one.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiAs, ApiUser, ListOut};
use crate::domain::paging::PageQuery;
use crate::domain::review;
use crate::error::{ApiResult, AppError};
use crate::http::app_state;
use crate::services::access::{self, Proof};
use crate::services::reviews::{self, ReviewView};
use crate::services::with_conn;

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A review: 1 to 5 stars and an optional text (at most 2,000 characters, trimmed).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewBody {
    /// 1 to 5 (a whole number).
    #[serde(default)]
    #[schema(value_type = i32)]
    pub rating: serde_json::Value,
    #[serde(default)]
    pub text: String,
}

/// A therapist's reply (1 to 2,000 characters).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplyBody {
    pub text: String,
}

/// Why an admin hides a review (1 to 500 characters): shown to its author and admins.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HideBody {
    pub reason: String,
}

/// The therapist's reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyOut {
    pub text: String,
    pub created_at: String,
}

/// A review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewOut {
    pub id: i64,
    pub therapist_id: i64,
    /// 1 to 5.
    pub rating: i32,
    /// The client's own words, as written ("" when they wrote none).
    pub text: String,
    /// The author's first name and initial ("Maria G.").
    pub author: String,
    pub created_at: String,
    pub reply: Option<ReplyOut>,
    /// Only in the answers to the review's author and admins: true once an admin hid it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// With `hidden`: why it was hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

impl From<ReviewView> for ReviewOut {
    fn from(v: ReviewView) -> Self {
        ReviewOut {
            id: v.id,
            therapist_id: v.therapist_id,
            rating: v.rating,
            text: v.text,
            author: v.author,
            created_at: rfc3339(v.created_at),
            reply: v.reply.map(|r| ReplyOut {
                text: r.text,
                created_at: rfc3339(r.created_at),
            }),
            hidden: v.hidden.as_ref().map(|_| true),
            hidden_reason: v.hidden.map(|h| h.reason),
        }
    }
}

/// A number or a text of one: what `rating` arrives as.
fn rating_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/review", tag = "reviews", request_body = ReviewBody,
    responses((status = 201, body = ReviewOut),
              (status = 401), (status = 403, description = "not a client, or email_unverified"),
              (status = 404, description = "not the caller's appointment"),
              (status = 409, description = "review_exists: reviewed already"),
              (status = 422, description = "review_not_completed, review_too_late (90 days after it ended); or a bad rating or text (fields)")))]
pub async fn create(
    req: HttpRequest,
    me: ApiAs<access::Client>,
    id: web::Path<i64>,
    body: web::Json<ReviewBody>,
) -> ApiResult<HttpResponse> {
    let client = access::VerifiedClient::verified(me.who)?;
    let b = body.into_inner();
    let input = review::parse_review(rating_text(&b.rating).as_deref(), &b.text)
        .map_err(AppError::validation)?;
    let state = app_state(&req);
    let id = id.into_inner();
    let v = with_conn(&state.pool, move |conn| {
        let rid = reviews::create(conn, &client, id, &input, Utc::now())?;
        reviews::one(conn, client.user(), rid)
    })
    .await?;
    Ok(HttpResponse::Created().json(ReviewOut::from(v)))
}

#[utoipa::path(get, path = "/api/v1/therapists/{id}/reviews", tag = "reviews",
    params(("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, description = "{total, page, per_page, results: [ReviewOut]}: newest first; hidden reviews only to their author (with a bearer token), marked"),
              (status = 404, description = "unknown or suspended therapist"),
              (status = 422, description = "a bad page or per_page")))]
pub async fn list(
    req: HttpRequest,
    caller: Option<ApiUser>,
    id: web::Path<i64>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.parse().map_err(AppError::validation)?;
    let state = app_state(&req);
    let (id, viewer) = (id.into_inner(), caller.map(|c| c.user));
    let (total, rows) = with_conn(&state.pool, move |conn| {
        reviews::public_list(conn, id, viewer.as_ref(), page)
    })
    .await?;
    let mut r = if viewer_is_some(&req) {
        HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .take()
    } else {
        HttpResponse::Ok()
    };
    Ok(r.json(ListOut {
        total,
        page: page.page,
        per_page: page.per_page,
        results: rows.into_iter().map(ReviewOut::from).collect::<Vec<_>>(),
    }))
}

/// Whether the request carries credentials (the answer may then hold the caller's own hidden
/// review: not to be cached).
fn viewer_is_some(req: &HttpRequest) -> bool {
    req.headers()
        .contains_key(actix_web::http::header::AUTHORIZATION)
}

#[utoipa::path(post, path = "/api/v1/reviews/{id}/reply", tag = "reviews", request_body = ReplyBody,
    responses((status = 201, body = ReviewOut),
              (status = 401), (status = 403, description = "not a therapist"),
              (status = 404, description = "not a review of this therapist (or hidden)"),
              (status = 409, description = "review_already_replied"),
              (status = 422, description = "an empty or too long text (fields)")))]
pub async fn reply(
    req: HttpRequest,
    me: ApiAs<access::Therapist>,
    id: web::Path<i64>,
    body: web::Json<ReplyBody>,
) -> ApiResult<HttpResponse> {
    let text = review::parse_reply(&body.text).map_err(AppError::validation)?;
    let state = app_state(&req);
    let (therapist, id) = (me.who, id.into_inner());
    let v = with_conn(&state.pool, move |conn| {
        reviews::reply(conn, &therapist, id, &text)?;
        reviews::one(conn, therapist.user(), id)
    })
    .await?;
    Ok(HttpResponse::Created().json(ReviewOut::from(v)))
}

#[utoipa::path(post, path = "/api/v1/admin/reviews/{id}/hide", tag = "admin", request_body = HideBody,
    responses((status = 200, body = ReviewOut, description = "hidden from everyone but its author and admins; no longer in the rating; audited"),
              (status = 401), (status = 403), (status = 404),
              (status = 409, description = "review_already_hidden"),
              (status = 422, description = "no reason, or over 500 characters (fields)")))]
pub async fn hide(
    req: HttpRequest,
    me: ApiAs<access::Admin>,
    id: web::Path<i64>,
    body: web::Json<HideBody>,
) -> ApiResult<HttpResponse> {
    let reason = review::parse_hide_reason(&body.reason).map_err(AppError::validation)?;
    let state = app_state(&req);
    let (admin, id) = (me.who, id.into_inner());
    let v = with_conn(&state.pool, move |conn| {
        reviews::hide(conn, &admin, id, &reason)?;
        reviews::one(conn, admin.user(), id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ReviewOut::from(v)))
}

#[utoipa::path(get, path = "/api/v1/admin/reviews", tag = "admin",
    params(("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, description = "{total, page, per_page, results: [ReviewOut]}: every review, newest first, hidden ones marked with why"),
              (status = 401), (status = 403), (status = 422)))]
pub async fn admin_list(
    req: HttpRequest,
    me: ApiAs<access::Admin>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.parse().map_err(AppError::validation)?;
    let state = app_state(&req);
    let admin = me.who;
    let (total, rows) = with_conn(&state.pool, move |conn| {
        reviews::for_admin(conn, &admin, page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListOut {
        total,
        page: page.page,
        per_page: page.per_page,
        results: rows
            .into_iter()
            .map(|(v, _)| ReviewOut::from(v))
            .collect::<Vec<_>>(),
    }))
}
