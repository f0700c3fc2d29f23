//! Group commit: writes that arrive together share one transaction.
//!
//! A token request must not be answered before its token is durable, and
//! one transaction (one fsync) per token caps a server at a few thousand
//! tokens a second. So single-row writes on the hot path (access tokens and
//! audit events) go to one writer task per store, which takes whatever has
//! queued up (up to [`MAX_BATCH`] writes), commits it in one transaction,
//! and only then answers every caller. If a batch fails, its writes are
//! retried one by one so a single bad row fails only its own caller.

use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::model::{AccessToken, AuditEvent};

/// Most writes committed in one transaction.
pub(crate) const MAX_BATCH: usize = 256;
/// Writes waiting for the writer before callers wait for room.
pub(crate) const QUEUE: usize = 4096;

/// One caller's writes, committed together.
pub(crate) struct Job {
    pub token: Option<AccessToken>,
    pub event: Option<AuditEvent>,
    pub reply: oneshot::Sender<Result<(), StoreError>>,
}

/// Hands a job to the writer and waits until it is committed.
pub(crate) async fn submit(
    writer: &mpsc::Sender<Job>,
    token: Option<AccessToken>,
    event: Option<AuditEvent>,
) -> Result<(), StoreError> {
    let (reply, committed) = oneshot::channel();
    writer
        .send(Job {
            token,
            event,
            reply,
        })
        .await
        .map_err(|_| StoreError::WriterStopped)?;
    committed.await.map_err(|_| StoreError::WriterStopped)?
}

/// Takes the next batch: waits for one job, then whatever else is queued.
pub(crate) async fn next_batch(rx: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) -> bool {
    let Some(first) = rx.recv().await else {
        return false;
    };
    batch.push(first);
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    true
}
