//! `/api/v1/admin/...` (admins only).

use actix_web::{web, HttpRequest};
use chrono::{NaiveDate, SecondsFormat};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiUser, ListOut, PageQuery};
use crate::domain::account::Role;
use crate::error::ApiResult;
use crate::services::{admin, with_conn};
use crate::web::app_state;

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    pub status: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseQueueOut {
    pub id: i64,
    pub therapist_id: i64,
    pub therapist_name: String,
    pub jurisdiction: String,
    pub number: String,
    pub issuing_body: String,
    pub expires_on: NaiveDate,
    pub status: String,
    /// RFC 3339, UTC.
    pub submitted_at: String,
}

#[utoipa::path(get, path = "/api/v1/admin/licenses", tag = "admin",
    params(("status" = Option<String>, Query, description = "submitted (default), verified or rejected")),
    responses((status = 200, description = "{total, page, per_page, results: [LicenseQueueOut]}, oldest first"),
              (status = 401), (status = 403)))]
pub async fn licenses(
    req: HttpRequest,
    caller: ApiUser,
    q: web::Query<QueueQuery>,
) -> ApiResult<web::Json<ListOut<LicenseQueueOut>>> {
    caller.require(Role::Admin)?;
    let status = admin::parse_status(q.status.as_deref())?;
    let (page, per_page) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .parse()?;
    let state = app_state(&req);
    let (total, items) = with_conn(&state.pool, move |conn| {
        admin::license_queue(conn, status, page, per_page)
    })
    .await?;
    let results = items
        .into_iter()
        .map(|i| LicenseQueueOut {
            id: i.license.id,
            therapist_id: i.license.therapist_id,
            therapist_name: i.therapist_name,
            jurisdiction: i.license.jurisdiction,
            number: i.license.number,
            issuing_body: i.license.issuing_body,
            expires_on: i.license.expires_on,
            status: i.license.status,
            submitted_at: i
                .license
                .submitted_at
                .and_utc()
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        })
        .collect();
    Ok(web::Json(ListOut {
        total,
        page,
        per_page,
        results,
    }))
}
