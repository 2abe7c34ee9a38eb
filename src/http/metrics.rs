//! Prometheus metrics (`BODYWORK_METRICS=true`, served at `/metrics` by `api::ops`): the
//! `metrics` facade recorded by `metrics-exporter-prometheus`.
//!
//! - `http_requests_total{method, route, status}` and `http_request_duration_seconds{method,
//!   route}` (a histogram), recorded by [`record`] with the route's pattern
//!   (`/api/v1/appointments/{id}`), never the raw path: no id or token reaches a label; a path
//!   no route matches is `route="unmatched"`.
//! - `db_pool_connections{state="in_use"|"idle"}`, `db_pool_max_size` (read at each scrape),
//!   `db_pool_wait_seconds` (a histogram of the waits for a connection, `db::checked_out`) and
//!   `db_pool_timeouts_total`.
//! - `directory_index_sync_age_seconds` (time since the directory index last synced with the
//!   database: how far behind it may be) and `directory_sync_seconds` (a histogram of syncs).
//! - `outbox_queued`, `outbox_retrying`, `outbox_failed`, `outbox_in_doubt` (read at each
//!   scrape), and the workers' `outbox_sent_total`, `outbox_send_failures_total`,
//!   `outbox_given_up_total`, `outbox_in_doubt_total` (sends a stopped worker interrupted).
//!
//! The recorder is global to the process (the `metrics` crate has one), installed by the first
//! server built with metrics on; without it every recording is a no-op.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets (seconds) of every `_seconds` histogram: 0.25 ms to 10 s.
const BUCKETS: [f64; 15] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on the first call.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .expect("the buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            if ::metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "another metrics recorder was installed first: /metrics stays empty"
                );
            }
            handle
        })
        .clone()
}

/// Middleware: counts each request and its latency by method, route pattern and status.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let res = next.call(req).await;
    let (route, status) = match &res {
        Ok(r) => (r.request().match_pattern(), r.status().as_u16()),
        Err(e) => (None, e.as_response_error().status_code().as_u16()),
    };
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed().as_secs_f64();
    ::metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    ::metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed);
    res
}
