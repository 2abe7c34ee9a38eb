//! Operating the server: what `/readyz` checks and the numbers `/metrics` reads from the
//! database at each scrape (the handlers are in `api::ops`).

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::domain::mail::OutboxStatus;
use crate::error::AppError;

/// The mail worker as readiness sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Its loop runs in this process.
    Running,
    /// It should run here and does not (it stopped or panicked).
    Stopped,
    /// `BODYWORK_MAIL_WORKER=false`: another process sends the mail.
    Disabled,
}

/// What `/readyz` answers: each check and the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// Every migration of the binary is applied.
    pub migrated: bool,
    /// The directory index is loaded and a sync with the database succeeded just now.
    pub directory_synced: bool,
    pub mail_worker: WorkerState,
    /// SIGTERM came: the server finishes what it has and takes nothing new.
    pub shutting_down: bool,
}

impl Readiness {
    /// Ready: migrated, synced, the worker running (or not meant to run here), not stopping.
    pub fn ready(&self) -> bool {
        self.migrated
            && self.directory_synced
            && self.mail_worker != WorkerState::Stopped
            && !self.shutting_down
    }

    /// The names of the checks that fail, for the 503's body.
    pub fn not_ready(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.migrated {
            out.push("migrations");
        }
        if !self.directory_synced {
            out.push("directory_index");
        }
        if self.mail_worker == WorkerState::Stopped {
            out.push("mail_worker");
        }
        if self.shutting_down {
            out.push("shutting_down");
        }
        out
    }
}

/// The outbox as the metrics show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxDepth {
    /// Waiting to be sent (new or waiting for a retry).
    pub queued: i64,
    /// Of those, tried and failed at least once.
    pub retrying: i64,
    /// Given up.
    pub failed: i64,
    /// Interrupted mid-send by a stopped worker: may have arrived, not sent again by itself.
    pub in_doubt: i64,
}

/// Every check of `/readyz`, now: the migrations read back, a directory sync run.
pub async fn readiness(
    pool: &crate::db::Pool,
    directory: &std::sync::Arc<crate::search::index::DirectoryIndex>,
    mail_worker: WorkerState,
    shutting_down: bool,
) -> Readiness {
    let migrated =
        crate::services::with_conn(pool, |conn| Ok(crate::db::migrations_up_to_date(conn)))
            .await
            .unwrap_or(false);
    let directory_synced =
        directory.synced(pool).await.is_ok() && directory.last_synced().is_some();
    Readiness {
        migrated,
        directory_synced,
        mail_worker,
        shutting_down,
    }
}

pub fn outbox_depth(conn: &mut DbConnection) -> Result<OutboxDepth, AppError> {
    use crate::db::schema::outbox;
    let count = |conn: &mut DbConnection, status: OutboxStatus, retried: bool| {
        let mut q = outbox::table
            .filter(outbox::status.eq(status.as_str()))
            .into_boxed();
        if retried {
            q = q.filter(outbox::attempts.gt(0));
        }
        q.count().get_result::<i64>(conn)
    };
    Ok(OutboxDepth {
        queued: count(conn, OutboxStatus::Queued, false)?,
        retrying: count(conn, OutboxStatus::Queued, true)?,
        failed: count(conn, OutboxStatus::Failed, false)?,
        in_doubt: count(conn, OutboxStatus::InDoubt, false)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_well() -> Readiness {
        Readiness {
            migrated: true,
            directory_synced: true,
            mail_worker: WorkerState::Running,
            shutting_down: false,
        }
    }

    #[test]
    fn ready_only_when_every_check_passes() {
        assert!(all_well().ready());
        assert!(Readiness {
            mail_worker: WorkerState::Disabled,
            ..all_well()
        }
        .ready());
        let stopped = Readiness {
            mail_worker: WorkerState::Stopped,
            ..all_well()
        };
        assert!(!stopped.ready());
        assert_eq!(stopped.not_ready(), vec!["mail_worker"]);
        let behind = Readiness {
            migrated: false,
            directory_synced: false,
            shutting_down: true,
            ..all_well()
        };
        assert_eq!(
            behind.not_ready(),
            vec!["migrations", "directory_index", "shutting_down"]
        );
    }
}
