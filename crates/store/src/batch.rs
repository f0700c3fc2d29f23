//! Group commit: writes that arrive together share one transaction.
//!
//! A token request must not be answered before its token is durable, and
//! one transaction (one fsync) per token caps a server at a few thousand
//! tokens a second. So the writes on the hot path go to one writer per
//! store, which takes whatever has queued up (up to [`MAX_BATCH`] writes),
//! commits it in one transaction, and only then answers every caller.
//!
//! This module holds what both writers share: the jobs, their outcomes,
//! and how a batch is gathered. How a batch is written suits each engine:
//!
//! - **PostgreSQL** (`postgres/writer.rs`): every statement is a round trip
//!   to the server, so a batch is written set by set. One statement rotates
//!   every grant whose refresh token is presented, one stores the grant of
//!   every code being redeemed (under the code's id, so a code is redeemed
//!   once), then one multi-row insert per table stores what the winners
//!   issue ([`spends`], [`rows`]): the same few statements whether
//!   the batch holds one write or two hundred. If a batch fails, its writes
//!   are retried one by one so a single bad row fails only its own caller.
//! - **SQLite** (`sqlite/writer.rs`): statements run in-process on the
//!   writer's own thread, so a batch is written write by write, with
//!   prepared statements; a write that fails is undone alone.

use std::collections::{HashMap, HashSet};

use protocol::token::RowId;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::model::{AccessToken, AuditEvent, CodeOrigin, Grant};

/// Most writes committed in one transaction.
pub(crate) const MAX_BATCH: usize = 256;
/// Writes waiting for the writer before callers wait for room.
pub(crate) const QUEUE: usize = 4096;

/// What one caller asks to have committed.
pub(crate) enum Write {
    /// An access token, its audit event, or both.
    Insert {
        token: Option<AccessToken>,
        event: Option<AuditEvent>,
    },
    /// Moves a live grant from `generation` to the next: its refresh token
    /// of that generation is spent.
    Rotate {
        grant: RowId,
        generation: i64,
        now: i64,
    },
    /// Stores the grant an authorization code issues, under the code's id,
    /// unless a grant has that id already (the code was redeemed) or the
    /// consent the code came from no longer stands.
    Redeem { grant: Grant, code: CodeOrigin },
}

impl Write {
    /// How many statements the write takes.
    pub(crate) fn statements(&self) -> usize {
        match self {
            Write::Insert { token, event } => {
                usize::from(token.is_some()) + usize::from(event.is_some())
            }
            Write::Rotate { .. } | Write::Redeem { .. } => 1,
        }
    }
}

/// How a write ended once its batch committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    Stored,
    /// A rotation won: the grant as it now is.
    Rotated(Box<Grant>),
    /// A rotation or redemption found nothing live to spend (already spent,
    /// revoked or gone, possibly by an earlier write of the same batch);
    /// nothing of it was written.
    NotSpent,
}

/// One caller's write and where its outcome goes.
pub(crate) struct Job {
    pub write: Write,
    pub reply: oneshot::Sender<Result<Written, StoreError>>,
}

/// Hands a write to the writer and waits until it is committed.
pub(crate) async fn submit(
    writer: &mpsc::Sender<Job>,
    write: Write,
) -> Result<Written, StoreError> {
    let (reply, committed) = oneshot::channel();
    writer
        .send(Job { write, reply })
        .await
        .map_err(|_| StoreError::WriterStopped)?;
    committed.await.map_err(|_| StoreError::WriterStopped)?
}

/// Takes the next batch: waits for one job, then whatever else queued
/// meanwhile (during the previous commit, under load), up to
/// [`MAX_BATCH`]. It does not wait for the batch to grow: waiting up to
/// 200 µs for a batch as large as the last one, and on PostgreSQL a few
/// turns of the scheduler, were measured and cost 10-25% of the exchanges
/// and rotations a second, more than the commits they saved.
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

/// A grant to rotate: (grant, generation presented, now).
pub(crate) type GrantSpend = (RowId, i64, i64);
/// A code to spend: (the grant it issues, where the code came from).
pub(crate) type CodeSpend<'a> = (&'a Grant, CodeOrigin);

/// The single-use transitions a batch asks for, each at most once: a
/// second write for the same generation of a grant, or the same code, in
/// the same batch, loses to the first (as it would have had it come a
/// moment later).
pub(crate) fn spends(jobs: &[Job]) -> (Vec<GrantSpend>, Vec<CodeSpend<'_>>) {
    let (mut seen_grants, mut seen_codes) = (HashSet::new(), HashSet::new());
    let (mut grants, mut codes) = (Vec::new(), Vec::new());
    for job in jobs {
        match &job.write {
            Write::Rotate {
                grant,
                generation,
                now,
                ..
            } if seen_grants.insert((*grant, *generation)) => {
                grants.push((*grant, *generation, *now));
            }
            Write::Redeem { grant, code } if seen_codes.insert(grant.id) => {
                codes.push((grant, *code));
            }
            _ => {}
        }
    }
    (grants, codes)
}

/// What a batch stores once the transitions are decided: the rows of the
/// writes that won (or needed no transition), table by table.
#[derive(Default)]
pub(crate) struct Rows<'a> {
    pub access: Vec<&'a AccessToken>,
    pub events: Vec<&'a AuditEvent>,
    /// Each job's outcome, in order.
    pub outcomes: Vec<Written>,
}

/// Sorts a batch's writes into rows, given the grants the rotating
/// statement moved on (by id and the generation they were at) and the
/// grants the redeeming statement stored.
pub(crate) fn rows<'a>(
    jobs: &'a [Job],
    rotated: &'a HashMap<(RowId, i64), Grant>,
    redeemed: &HashSet<RowId>,
) -> Rows<'a> {
    let mut rows = Rows::default();
    // Each transition goes to the first job that asked for it only.
    let (mut taken_grants, mut taken_codes) = (HashSet::new(), HashSet::new());
    for job in jobs {
        let outcome = match &job.write {
            Write::Insert { token, event } => {
                rows.access.extend(token);
                rows.events.extend(event);
                Written::Stored
            }
            Write::Rotate {
                grant, generation, ..
            } => match rotated.get(&(*grant, *generation)) {
                Some(g) if taken_grants.insert((*grant, *generation)) => {
                    Written::Rotated(Box::new(g.clone()))
                }
                _ => Written::NotSpent,
            },
            Write::Redeem { grant, .. }
                if redeemed.contains(&grant.id) && taken_codes.insert(grant.id) =>
            {
                Written::Stored
            }
            Write::Redeem { .. } => Written::NotSpent,
        };
        rows.outcomes.push(outcome);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::scope::ScopeSet;

    fn id(n: u8) -> RowId {
        RowId([n; 16])
    }

    fn grant(n: u8, generation: i64) -> Grant {
        Grant {
            id: id(n),
            client_id: "c".into(),
            user_id: Some("u".into()),
            scopes: ScopeSet::default(),
            claims: "{}".into(),
            created_at: 0,
            expires_at: 100,
            revoked_at: None,
            generation,
            rotated_at: Some(5),
        }
    }

    fn rotate(n: u8, generation: i64) -> Job {
        rotate_at(n, generation, 5)
    }

    fn rotate_at(n: u8, generation: i64, now: i64) -> Job {
        Job {
            write: Write::Rotate {
                grant: id(n),
                generation,
                now,
            },
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn a_generation_named_twice_in_one_batch_is_spent_for_the_first_write_only() {
        let jobs = [rotate(1, 0), rotate(1, 0), rotate(2, 3), rotate(1, 1)];
        let (grants, codes) = spends(&jobs);
        assert_eq!(grants, [(id(1), 0, 5), (id(2), 3, 5), (id(1), 1, 5)]);
        assert!(codes.is_empty());

        // Grant 2 had moved on already: only 1's first write wins.
        let rotated = HashMap::from([((id(1), 0), grant(1, 1))]);
        let rows = rows(&jobs, &rotated, &HashSet::new());
        assert_eq!(
            rows.outcomes,
            [
                Written::Rotated(Box::new(grant(1, 1))),
                Written::NotSpent,
                Written::NotSpent,
                Written::NotSpent
            ]
        );
        assert!(rows.access.is_empty());
    }
}
