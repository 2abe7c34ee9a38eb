//! `/api/v1/waitlist` and `/api/v1/me/waitlist`: a client waits for a time of a service to
//! come free (`services::waitlist`, the same calls as the pages).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiAs, ListOut};
use crate::domain::paging::PageQuery;
use crate::error::{ApiResult, AppError};
use crate::http::app_state;
use crate::services::access;
use crate::services::waitlist::{self, EntryView, JoinRequest};
use crate::services::with_conn;

/// Join the waitlist of one service of one therapist for a range of days.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitlistBody {
    pub therapist_id: i64,
    pub service_id: i64,
    /// The first day (`YYYY-MM-DD`, the therapist's calendar), today or later.
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// The last day, included: at most 31 days in all.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOut {
    pub id: i64,
}

/// One of the caller's active waitlist entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct WaitlistEntryOut {
    pub id: i64,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub service_id: i64,
    /// "Swedish, 60 minutes".
    pub service: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// The therapist's IANA zone: the days are on their calendar.
    pub timezone: String,
}

/// The caller's entries, a page of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct WaitlistListOut {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub results: Vec<WaitlistEntryOut>,
}

fn entry_out(v: &EntryView) -> WaitlistEntryOut {
    WaitlistEntryOut {
        id: v.line.id,
        therapist_id: v.line.therapist_id,
        therapist_name: v.line.therapist_name.clone(),
        service_id: v.line.service_id,
        service: v.service(),
        from: v.line.from_date,
        to: v.line.to_date,
        timezone: v.tz.name().to_string(),
    }
}

#[utoipa::path(post, path = "/api/v1/waitlist", tag = "waitlist", request_body = WaitlistBody,
    responses((status = 201, body = CreatedOut),
              (status = 401), (status = 403, description = "email_unverified, or not a client"),
              (status = 409, description = "already_waiting: the same service and days"),
              (status = 422, description = "therapist_not_bookable, unknown_service (not this therapist's, or retired), date_in_past, range_reversed, range_too_long (more than 31 days), date_too_far (a first day more than 365 days ahead), too_many_waitlist_entries (10 active at most), each with `fields`")))]
pub async fn join(
    req: HttpRequest,
    caller: ApiAs<access::VerifiedClient>,
    body: web::Json<WaitlistBody>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let b = body.into_inner();
    let request = JoinRequest {
        therapist_id: b.therapist_id,
        service_id: b.service_id,
        from: b.from,
        to: b.to,
    };
    let client = caller.who;
    let id = with_conn(&state.pool, move |conn| {
        waitlist::join(conn, &client, &request, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(CreatedOut { id }))
}

#[utoipa::path(get, path = "/api/v1/me/waitlist", tag = "waitlist",
    params(("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, body = WaitlistListOut), (status = 401), (status = 403)))]
pub async fn mine(
    req: HttpRequest,
    caller: ApiAs<access::Client>,
    q: web::Query<PageQuery>,
) -> ApiResult<web::Json<ListOut<WaitlistEntryOut>>> {
    let page = q.parse().map_err(AppError::validation)?;
    let state = app_state(&req);
    let client = caller.who;
    let all = with_conn(&state.pool, move |conn| {
        waitlist::list(conn, &client, Utc::now())
    })
    .await?;
    let results = all
        .iter()
        .skip(page.offset() as usize)
        .take(page.per_page as usize)
        .map(entry_out)
        .collect();
    Ok(web::Json(ListOut {
        total: all.len() as i64,
        page: page.page,
        per_page: page.per_page,
        results,
    }))
}

#[utoipa::path(delete, path = "/api/v1/waitlist/{id}", tag = "waitlist",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 404, description = "not one of the caller's entries")))]
pub async fn remove(
    req: HttpRequest,
    caller: ApiAs<access::Client>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let (client, id) = (caller.who, id.into_inner());
    with_conn(&state.pool, move |conn| waitlist::remove(conn, &client, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
