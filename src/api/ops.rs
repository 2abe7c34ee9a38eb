//! `/readyz` and `/metrics`: for the operator's probes and scraper, outside `/api/v1` (no
//! token; nothing personal in either). `/healthz` (alive) is in `startup`.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::app_state;
use crate::services::ops::{self, WorkerState};

/// The answer of `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyOut {
    pub ready: bool,
    /// Every migration of the binary is applied.
    pub migrated: bool,
    /// The directory index is loaded and synced with the database just now.
    pub directory_synced: bool,
    /// `running`, `stopped` (it should run here and does not) or `disabled`
    /// (`BODYWORK_MAIL_WORKER=false`).
    pub mail_worker: String,
    /// SIGTERM came: in-flight requests finish, nothing new should be sent here.
    pub shutting_down: bool,
    /// The names of the failing checks: `migrations`, `directory_index`, `mail_worker`,
    /// `shutting_down`.
    pub not_ready: Vec<String>,
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = ReadyOut, description = "ready: migrated, the directory index synced, the mail worker running (or disabled in this process)"),
              (status = 503, body = ReadyOut, description = "not ready: `not_ready` names what is not")))]
pub async fn readyz(req: HttpRequest) -> HttpResponse {
    let state = app_state(&req);
    let worker = match &state.ops.mail_worker {
        None => WorkerState::Disabled,
        Some(l) if l.is_alive() => WorkerState::Running,
        Some(_) => WorkerState::Stopped,
    };
    let r = ops::readiness(
        &state.pool,
        &state.engine.directory,
        worker,
        state.ops.is_shutting_down(),
    )
    .await;
    let out = ReadyOut {
        ready: r.ready(),
        migrated: r.migrated,
        directory_synced: r.directory_synced,
        mail_worker: serde_json::to_value(r.mail_worker)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        shutting_down: r.shutting_down,
        not_ready: r.not_ready().into_iter().map(String::from).collect(),
    };
    let mut resp = if out.ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    resp.insert_header(("Cache-Control", "no-store")).json(out)
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", description = "Prometheus text exposition (only with `BODYWORK_METRICS=true`): requests and latency by route pattern, the database pool, the directory index's sync lag, the outbox"),
              (status = 404, description = "metrics are off (`BODYWORK_METRICS` unset or false)")))]
pub async fn metrics(req: HttpRequest) -> HttpResponse {
    let state = app_state(&req);
    let Some(handle) = &state.ops.metrics else {
        // The API's 404, as for any unknown path.
        return actix_web::ResponseError::error_response(&crate::error::ApiError(
            crate::error::AppError::NotFound,
        ));
    };
    // The gauges read at scrape time.
    let pool = state.pool.state();
    let in_use = pool.connections.saturating_sub(pool.idle_connections);
    ::metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(in_use));
    ::metrics::gauge!("db_pool_connections", "state" => "idle")
        .set(f64::from(pool.idle_connections));
    ::metrics::gauge!("db_pool_max_size").set(f64::from(state.pool.max_size()));
    if let Some(at) = state.engine.directory.last_synced() {
        let age = (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0;
        ::metrics::gauge!("directory_index_sync_age_seconds").set(age);
    }
    match crate::services::with_conn(&state.pool, ops::outbox_depth).await {
        Ok(d) => {
            ::metrics::gauge!("outbox_queued").set(d.queued as f64);
            ::metrics::gauge!("outbox_retrying").set(d.retrying as f64);
            ::metrics::gauge!("outbox_failed").set(d.failed as f64);
            ::metrics::gauge!("outbox_in_doubt").set(d.in_doubt as f64);
        }
        Err(e) => e.log(),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(handle.render())
}
