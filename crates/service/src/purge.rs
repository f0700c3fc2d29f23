//! The background purge: rows that expired go, so the store does not grow
//! with every token issued.

use std::time::Duration;

use crate::{Service, ServiceError};

/// How often `serve` purges.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// How long past its expiry a row is kept: nodes' clocks may differ a
/// little, and a client that presents a credential just after it expired
/// is told it expired rather than that it is unknown.
pub const PURGE_MARGIN: i64 = 600;
/// Rows of one kind deleted per statement: small enough that SQLite's
/// single writer (and with it token issuance) never waits long.
pub const PURGE_CHUNK: i64 = 500;
/// The pause between two chunks, to let the writers in.
const PURGE_PAUSE: Duration = Duration::from_millis(5);
/// Grants looked at per pass, [`PURGE_CHUNK`] at a time, going on from
/// where the last pass stopped: a pass's reads stay bounded however many
/// grants are stored, and an expired grant waits at most one pass per this
/// many stored.
pub const GRANT_SWEEP: i64 = 100_000;

impl Service {
    /// One purge pass: deletes, chunk by chunk, everything that expired more
    /// than [`PURGE_MARGIN`] seconds ago and is no longer needed (see
    /// [`store::Store::purge_expired`]), and sweeps the next [`GRANT_SWEEP`]
    /// grants (see [`store::Store::sweep_grants`]). Returns the rows deleted.
    pub async fn purge_expired(&self) -> Result<u64, ServiceError> {
        self.purge_expired_in(PURGE_CHUNK, GRANT_SWEEP).await
    }

    /// [`Service::purge_expired`] with other sizes: at most `chunk` rows per
    /// statement, and `sweep` grants looked at.
    pub async fn purge_expired_in(&self, chunk: i64, sweep: i64) -> Result<u64, ServiceError> {
        let before = self.now() - PURGE_MARGIN;
        let mut total = 0;
        loop {
            let deleted = self.store.purge_expired(before, chunk).await?;
            if deleted == 0 {
                break;
            }
            total += deleted;
            tokio::time::sleep(PURGE_PAUSE).await;
        }
        // After the access tokens: a grant goes only once none refers to it.
        Ok(total + self.sweep_grants(before, chunk, sweep).await?)
    }

    /// Looks at about `sweep` grants, `chunk` at a time, from where the last
    /// sweep stopped, and deletes those that expired before `before`.
    async fn sweep_grants(&self, before: i64, chunk: i64, sweep: i64) -> Result<u64, ServiceError> {
        let mut after = *self.grant_sweep.lock().unwrap_or_else(|e| e.into_inner());
        let (mut looked, mut deleted) = (0, 0);
        while looked < sweep {
            let (n, next) = self.store.sweep_grants(before, after, chunk).await?;
            (looked, deleted, after) = (looked + chunk, deleted + n, next);
            *self.grant_sweep.lock().unwrap_or_else(|e| e.into_inner()) = after;
            if after.is_none() {
                break;
            }
            tokio::time::sleep(PURGE_PAUSE).await;
        }
        Ok(deleted)
    }

    /// Purges every `interval`, the first time one interval from now, until
    /// the task is aborted. A failed pass is logged and tried again next time.
    pub fn spawn_purge(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match service.purge_expired().await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "purged expired rows"),
                    Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
                }
            }
        })
    }
}
