//! Operating the server: `/healthz`, `/readyz` and what it names when not ready, Prometheus
//! metrics behind `BODYWORK_METRICS`, and a graceful stop of the real binary on SIGTERM (the
//! request in flight finishes, claimed mails are given back, exit code 0). Both backends.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::builders::{spawn_app_keeping_worker, spawn_app_with, spawn_binary, PASSWORD};
use bodywork::db::schema::outbox;

async fn ready(address: &str) -> (StatusCode, Value) {
    let r = reqwest::get(format!("{address}/readyz")).await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn readyz_says_ready_and_names_what_is_not() {
    let (app, worker) = spawn_app_keeping_worker(|_| {}).await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), StatusCode::OK);
    let (status, v) = ready(&app.address).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["ready"], true);
    assert_eq!(v["migrated"], true);
    assert_eq!(v["directory_synced"], true);
    assert_eq!(v["mail_worker"], "running");
    assert_eq!(v["not_ready"], json!([]));
    // A migration the database lacks (as after deploying a newer binary on an old database).
    app.conn()
        .batch_execute(
            "DELETE FROM __diesel_schema_migrations WHERE version = \
             (SELECT MAX(version) FROM __diesel_schema_migrations)",
        )
        .unwrap();
    let (status, v) = ready(&app.address).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["not_ready"], json!(["migrations"]));
    // The mail worker stopped.
    worker.expect("the worker runs").stop().await;
    let (status, v) = ready(&app.address).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["mail_worker"], "stopped");
    assert_eq!(v["not_ready"], json!(["migrations", "mail_worker"]));
}

#[tokio::test]
async fn a_server_without_the_mail_worker_is_ready() {
    let app = spawn_app_with(|s| s.mail_worker = false).await;
    let (status, v) = ready(&app.address).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["mail_worker"], "disabled");
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let app = spawn_app_with(|_| {}).await;
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_show_pool_index_and_outbox() {
    let app = spawn_app_with(|s| s.metrics = true).await;
    assert_eq!(app.get("/api/v1/techniques").await.status(), StatusCode::OK);
    // An id in the path: the label is the route's pattern, never the id.
    app.get("/api/v1/therapists/987654321").await;
    app.get("/no/such/page/55555").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = r.text().await.unwrap();
    for series in [
        "http_requests_total{",
        "route=\"/api/v1/techniques\"",
        "route=\"/api/v1/therapists/{id}\"",
        "route=\"unmatched\"",
        "http_request_duration_seconds_bucket{",
        "db_pool_connections{state=\"in_use\"}",
        "db_pool_connections{state=\"idle\"}",
        "db_pool_max_size",
        "db_pool_wait_seconds_bucket",
        "directory_index_sync_age_seconds",
        "directory_sync_seconds_bucket",
        "outbox_queued",
        "outbox_failed",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    assert!(!text.contains("987654321") && !text.contains("55555"));
}

/// An SMTP server that accepts connections and never answers: a send stays in flight until
/// the worker's SMTP timeout.
async fn silent_smtp() -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    (port, task)
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_gives_back_claimed_mail_and_exits_0() {
    let (smtp, _sink) = silent_smtp().await;
    let smtp_url = format!("smtp://127.0.0.1:{smtp}");
    let mut server = spawn_binary(&[
        ("SMTP_URL", smtp_url.as_str()),
        // SMTP commands time out after a quarter of the lease: 2 s.
        ("BODYWORK_MAIL_LEASE_SECONDS", "8"),
        ("BODYWORK_MAIL_POLL_MS", "50"),
        ("BODYWORK_SHUTDOWN_SECONDS", "10"),
        ("BODYWORK_LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
    ])
    .await;
    let client = reqwest::Client::new();
    // Three verification mails to send.
    for i in 0..3 {
        let r = client
            .post(format!("{}/api/v1/auth/register", server.address))
            .json(
                &json!({"email": format!("p{i}@example.com"), "password": PASSWORD,
                          "name": "Pat Doe", "role": "client"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // The worker claims them and hangs on the silent SMTP server with one; wait until one more
    // is claimed but not being sent (the first may have been claimed alone, before the others
    // were written).
    let pool = server.pool.clone();
    let claimed = || -> i64 {
        outbox::table
            .filter(outbox::claimed_by.is_not_null())
            .count()
            .get_result(&mut pool.get().unwrap())
            .unwrap()
    };
    let mut waited = 0;
    while claimed() < 2 {
        assert!(waited < 200, "the worker did not claim the mails");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    // A request in flight: its headers sent, half its body.
    let body =
        json!({"email": "nobody@example.com", "password": "not the password at all"}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let port = server.address.rsplit(':').next().unwrap().to_string();
    let mut slow = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    slow.write_all(
        format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(700)).await;
    // No new connections are taken...
    assert!(
        tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .is_err(),
        "the listener is closed after SIGTERM"
    );
    // ... and the one in flight is answered.
    slow.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_string(&mut answer))
        .await
        .expect("the request in flight is answered")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let status = server.exit_status(30).await;
    assert!(status.success(), "exit status {status:?}");
    // Nothing left claimed: the send in progress was recorded, the rest given back.
    assert_eq!(claimed(), 0);
    let queued: i64 = outbox::table
        .filter(outbox::status.eq("queued"))
        .count()
        .get_result(&mut pool.get().unwrap())
        .unwrap();
    assert_eq!(queued, 3, "unsent mails wait for the next worker");
    // JSON log lines, each request's with its request id.
    let logs = server.logs().await;
    let login = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["span"]["path"] == "/api/v1/auth/login")
        .unwrap_or_else(|| panic!("no JSON line of the login request in:\n{logs}"));
    assert_eq!(login["span"]["request_id"].as_str().map(str::len), Some(36));
    assert!(!logs.contains("not the password at all"));
}

#[tokio::test]
async fn kill_mid_send_leaves_the_mail_sending_and_the_next_claim_puts_it_in_doubt_unsent() {
    let (smtp, _sink) = silent_smtp().await;
    let smtp_url = format!("smtp://127.0.0.1:{smtp}");
    let mut server = spawn_binary(&[
        ("SMTP_URL", smtp_url.as_str()),
        // SMTP commands time out after a quarter of the lease: 1 s.
        ("BODYWORK_MAIL_LEASE_SECONDS", "4"),
        ("BODYWORK_MAIL_POLL_MS", "20"),
    ])
    .await;
    let client = reqwest::Client::new();
    for i in 0..2 {
        let r = client
            .post(format!("{}/api/v1/auth/register", server.address))
            .json(
                &json!({"email": format!("k{i}@example.com"), "password": PASSWORD,
                          "name": "Kim Doe", "role": "client"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let pool = server.pool.clone();
    let sending = || -> Vec<(i64, Option<String>)> {
        outbox::table
            .filter(outbox::status.eq("sending"))
            .select((outbox::id, outbox::claimed_by))
            .load(&mut pool.get().unwrap())
            .unwrap()
    };
    // The worker marks a mail `sending` before it hands it to the (silent) SMTP server: kill the
    // process while it waits for the server.
    let mut waited = 0;
    let mut rows = sending();
    while rows.is_empty() {
        assert!(waited < 500, "no mail was ever marked sending");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
        rows = sending();
    }
    server.child.start_kill().unwrap();
    let status = server.exit_status(10).await;
    assert!(!status.success(), "killed: {status:?}");
    let rows = sending();
    assert_eq!(rows.len(), 1, "one send was in progress: {rows:?}");
    let (in_flight, by) = rows[0].clone();
    assert!(by.is_some(), "still leased to the dead worker");
    // Another worker, once that lease ran out: the interrupted mail is put in doubt and not
    // claimed; the other one is claimed and sent as usual.
    tokio::time::sleep(Duration::from_millis(4200)).await;
    let claimed = bodywork::services::outbox::claim(
        &mut pool.get().unwrap(),
        "another-worker",
        10,
        Duration::from_secs(30),
    )
    .unwrap();
    let ids: Vec<i64> = claimed.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(!ids.contains(&in_flight));
    let (status, by, error): (String, Option<String>, Option<String>) = outbox::table
        .find(in_flight)
        .select((outbox::status, outbox::claimed_by, outbox::last_error))
        .first(&mut pool.get().unwrap())
        .unwrap();
    assert_eq!((status.as_str(), by), ("in_doubt", None));
    assert!(error.unwrap().contains("interrupted"));
    // And it stays so: a later claim does not take it either.
    let again = bodywork::services::outbox::claim(
        &mut pool.get().unwrap(),
        "a-third-worker",
        10,
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(again.is_empty(), "{again:?}");
}
