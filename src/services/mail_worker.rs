//! The mail worker: a tokio task inside `serve` (started by `startup::Application`) that sends
//! the outbox. Each round it claims the due rows (a lease: `services::outbox::claim`), sends
//! them one at a time outside any transaction, each marked `sending` (committed) just before
//! its transfer, and marks each sent, or failed with a retry planned
//! (`domain::mail::retry_after`, with jitter) or given up. A reminder is checked again before
//! it goes: one whose booking is no longer upcoming, or whose person turned reminders off, is
//! withdrawn instead. When a round finds nothing to do the worker sleeps for the poll
//! interval.
//!
//! Housekeeping runs at start and then every `housekeeping` interval: old final rows are purged
//! (`services::outbox::purge`), and so are single-use tokens used or expired as long ago
//! (`services::tokens::purge`), stale sessions, API tokens and login counts
//! (`services::accounts::purge_stale`), idempotency keys older than 24 hours
//! (`services::idempotency::purge`), and therapists whose verified license expires within 30 days are
//! told once (`services::admin::warn_expiring_licenses`); waitlist entries whose last day has
//! passed are purged (`services::waitlist::purge_ended`).
//!
//! **The waitlist.** Each round first runs `services::waitlist::process_checks`: the times
//! that changes freed (written in their transactions, so only once committed) are announced
//! to the waiting clients through the outbox, and go out with the same round.
//!
//! **Stopping.** [`MailWorker::stop`] (called when the server has stopped, after SIGTERM or
//! Ctrl-C) lets the send in progress finish and be marked, gives back the lease of the rows it
//! claimed but did not send, and returns; nothing is sent twice and nothing waits for a lease
//! to run out. A worker killed mid-transfer (SIGKILL, a crash) leaves its row `sending`: once
//! the lease ran out another worker puts it in doubt and does not send it again
//! (`services::outbox`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::watch;

use crate::db::Pool;
use crate::error::AppError;
use crate::models::outbox::OutboxRow;
use crate::services::mail::MailCtx;
use crate::services::mailer::{self, Mailer};
use crate::services::outbox::Begun;
use crate::services::{outbox, with_conn};

/// How the worker runs (from `Settings`).
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Sleep between rounds that found nothing to send.
    pub poll: Duration,
    /// How long a claim holds a row: longer than any send can take.
    pub lease: Duration,
    /// At most this many rows per claim.
    pub batch: i64,
    /// Final rows older than this are purged.
    pub keep: Duration,
    /// How often housekeeping runs.
    pub housekeeping: Duration,
    /// The sender of every mail (`MAIL_FROM`).
    pub from: Mailbox,
}

/// A running worker; [`MailWorker::stop`] ends it gracefully (dropping it detaches the worker,
/// which then runs until its runtime ends).
pub struct MailWorker {
    id: String,
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
    alive: Liveness,
}

/// Whether a worker's loop still runs (what `/readyz` asks): true from its start until its
/// loop ends, by a stop or a panic.
#[derive(Debug, Clone, Default)]
pub struct Liveness(Arc<std::sync::atomic::AtomicBool>);

impl Liveness {
    pub fn is_alive(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
    fn set(&self, v: bool) {
        self.0.store(v, std::sync::atomic::Ordering::Release)
    }
}

/// Marks the worker dead when its loop ends, however it ends.
struct AliveGuard(Liveness);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl MailWorker {
    /// Starts the worker on the current tokio runtime.
    pub fn start(
        pool: Pool,
        mailer: Arc<dyn Mailer>,
        config: WorkerConfig,
        ctx: MailCtx,
    ) -> MailWorker {
        let id = format!(
            "{}-{}",
            std::process::id(),
            &crate::services::tokens::random_token()[..8]
        );
        let (stop, stopped) = watch::channel(false);
        let alive = Liveness::default();
        alive.set(true);
        let worker = Worker {
            id: id.clone(),
            pool,
            mailer,
            config,
            ctx,
            stopped,
            _alive: AliveGuard(alive.clone()),
        };
        let handle = tokio::spawn(worker.run());
        MailWorker {
            id,
            stop,
            handle,
            alive,
        }
    }

    /// Whether its loop still runs, for the readiness check.
    pub fn liveness(&self) -> Liveness {
        self.alive.clone()
    }

    /// The worker's name in `outbox.claimed_by`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the worker's task is still running.
    pub fn is_running(&self) -> bool {
        !self.handle.is_finished()
    }

    /// Asks the worker to stop and waits for it: the send in progress finishes, unsent claims
    /// are released.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await {
            tracing::warn!(error = %e, "the mail worker ended abnormally");
        }
    }
}

struct Worker {
    id: String,
    pool: Pool,
    mailer: Arc<dyn Mailer>,
    config: WorkerConfig,
    ctx: MailCtx,
    stopped: watch::Receiver<bool>,
    /// Dropped with the worker: its liveness turns false.
    _alive: AliveGuard,
}

impl Worker {
    fn stopping(&self) -> bool {
        *self.stopped.borrow()
    }

    async fn run(self) {
        tracing::info!(worker = %self.id, mail = %self.mailer.describe(), "mail worker started");
        let mut next_housekeeping = tokio::time::Instant::now();
        while !self.stopping() {
            if tokio::time::Instant::now() >= next_housekeeping {
                self.housekeeping().await;
                next_housekeeping = tokio::time::Instant::now() + self.config.housekeeping;
            }
            self.check_waitlist().await;
            let claimed = self.claim().await;
            let full = claimed.len() as i64 >= self.config.batch;
            let mut rest: VecDeque<OutboxRow> = claimed.into();
            while let Some(row) = rest.pop_front() {
                if self.stopping() {
                    rest.push_front(row);
                    break;
                }
                self.deliver(row).await;
            }
            if !rest.is_empty() {
                self.release(rest.into_iter().map(|r| r.id).collect()).await;
            }
            if full || self.stopping() {
                continue;
            }
            let mut stopped = self.stopped.clone();
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll) => {}
                changed = stopped.changed() => {
                    // The handle was dropped without stopping: the worker runs on, detached.
                    if changed.is_err() {
                        tokio::time::sleep(self.config.poll).await;
                    }
                }
            }
        }
        tracing::info!(worker = %self.id, "mail worker stopped");
    }

    /// Times that came free since the last round (their changes committed): the waiting
    /// clients' mails are written to the outbox, sent by this round's claim.
    async fn check_waitlist(&self) {
        let ctx = self.ctx.clone();
        match with_conn(&self.pool, move |conn| {
            crate::services::waitlist::process_checks(conn, &ctx, chrono::Utc::now())
        })
        .await
        {
            Ok(n) if n > 0 => tracing::info!(mails = n, "waitlist mails queued"),
            Ok(_) => {}
            Err(e) => log_error("checking the waitlist", &e),
        }
    }

    async fn claim(&self) -> Vec<OutboxRow> {
        let (id, batch, lease) = (self.id.clone(), self.config.batch, self.config.lease);
        match with_conn(&self.pool, move |conn| {
            outbox::claim(conn, &id, batch, lease)
        })
        .await
        {
            Ok(rows) => rows,
            Err(e) => {
                log_error("claiming mails", &e);
                Vec::new()
            }
        }
    }

    async fn release(&self, ids: Vec<i64>) {
        let id = self.id.clone();
        if let Err(e) = with_conn(&self.pool, move |conn| outbox::release(conn, &ids, &id)).await {
            log_error("releasing claimed mails", &e);
        }
    }

    /// Sends one claimed row and records how it went: marked `sending` (committed) first, so
    /// that a crash mid-transfer leaves it in doubt rather than sent twice.
    async fn deliver(&self, row: OutboxRow) {
        let (check, worker) = (row.clone(), self.id.clone());
        let begun = with_conn(&self.pool, move |conn| outbox::begin(conn, &check, &worker)).await;
        match begun {
            Ok(Begun::Send) => {}
            Ok(Begun::Withdrawn) => return,
            Ok(Begun::LeaseLost) => {
                tracing::warn!(
                    outbox_id = row.id,
                    "mail lease ran out before its send: left"
                );
                return;
            }
            Err(e) => {
                // Not known whether it is wanted: leave it for the lease to run out.
                log_error("checking a mail before its send", &e);
                return;
            }
        }
        let sent = match mailer::message(&row, &self.config.from) {
            Ok(message) => self.mailer.send(&message).await,
            Err(e) => Err(e),
        };
        let (id, worker) = (row.id, self.id.clone());
        let result = match sent {
            Ok(()) => {
                metrics::counter!("outbox_sent_total").increment(1);
                tracing::info!(outbox_id = id, kind = %row.kind, "mail sent");
                with_conn(&self.pool, move |conn| outbox::mark_sent(conn, id, &worker)).await
            }
            Err(e) => {
                metrics::counter!("outbox_send_failures_total").increment(1);
                let jitter: f64 = rand::random();
                let kind = row.kind.clone();
                let given_up = with_conn(&self.pool, move |conn| {
                    outbox::mark_failed(conn, &row, &worker, &e.message, e.permanent, jitter)
                })
                .await;
                match &given_up {
                    Ok(true) => {
                        metrics::counter!("outbox_given_up_total").increment(1);
                        tracing::warn!(outbox_id = id, kind = %kind, "mail given up")
                    }
                    Ok(false) => {
                        tracing::info!(outbox_id = id, kind = %kind, "mail send failed, will retry")
                    }
                    Err(_) => {}
                }
                given_up.map(drop)
            }
        };
        if let Err(e) = result {
            log_error("recording a send", &e);
        }
    }

    async fn housekeeping(&self) {
        let keep = self.config.keep;
        match with_conn(&self.pool, move |conn| {
            outbox::purge(conn, chrono::Utc::now(), keep)
        })
        .await
        {
            Ok(p) if p.mails > 0 => tracing::info!(mails = p.mails, "old mails purged"),
            Ok(_) => {}
            Err(e) => log_error("purging old mails", &e),
        }
        // The single-use tokens mailed to people, with the same keep period.
        match with_conn(&self.pool, move |conn| {
            crate::services::tokens::purge(conn, chrono::Utc::now(), keep)
        })
        .await
        {
            Ok(n) if n > 0 => tracing::info!(tokens = n, "used and expired mail tokens purged"),
            Ok(_) => {}
            Err(e) => log_error("purging used and expired mail tokens", &e),
        }
        // Sessions, API tokens and failed-login counts that can no longer be used.
        match with_conn(&self.pool, move |conn| {
            crate::services::accounts::purge_stale(conn, chrono::Utc::now(), keep)
        })
        .await
        {
            Ok(p) if p != Default::default() => tracing::info!(
                sessions = p.sessions,
                api_tokens = p.api_tokens,
                login_attempts = p.login_attempts,
                "stale sessions, tokens and login counts purged"
            ),
            Ok(_) => {}
            Err(e) => log_error("purging stale sessions, tokens and login counts", &e),
        }
        // Idempotency keys older than 24 hours (`services::idempotency`).
        match with_conn(&self.pool, move |conn| {
            crate::services::idempotency::purge(conn, chrono::Utc::now())
        })
        .await
        {
            Ok(n) if n > 0 => tracing::info!(keys = n, "old idempotency keys purged"),
            Ok(_) => {}
            Err(e) => log_error("purging old idempotency keys", &e),
        }
        // Waitlist entries whose last day has passed.
        match with_conn(&self.pool, move |conn| {
            crate::services::waitlist::purge_ended(conn, chrono::Utc::now())
        })
        .await
        {
            Ok(n) if n > 0 => tracing::info!(entries = n, "ended waitlist entries purged"),
            Ok(_) => {}
            Err(e) => log_error("purging ended waitlist entries", &e),
        }
        let ctx = self.ctx.clone();
        match with_conn(&self.pool, move |conn| {
            crate::services::admin::warn_expiring_licenses(conn, &ctx, chrono::Utc::now())
        })
        .await
        {
            Ok(n) if n > 0 => tracing::info!(licenses = n, "license expiry warnings queued"),
            Ok(_) => {}
            Err(e) => log_error("queueing license expiry warnings", &e),
        }
    }
}

fn log_error(what: &str, e: &AppError) {
    match e {
        AppError::Internal(inner) => {
            tracing::error!(error = %format!("{inner:#}"), "mail worker: {what} failed")
        }
        other => tracing::warn!(error = %other, "mail worker: {what} failed"),
    }
}
