//! Group commit: writes that arrive together share one transaction.
//!
//! A token request must not be answered before its token is durable, and
//! one transaction (one fsync) per token caps a server at a few thousand
//! tokens a second. So the writes on the hot path go to one writer task
//! per store, which takes whatever has queued up (up to [`MAX_BATCH`]
//! writes), commits it in one transaction, and only then answers every
//! caller. If a batch fails, its writes are retried one by one so a single
//! bad row fails only its own caller.
//!
//! The batch is written set by set, not write by write: one statement
//! spends every refresh token being rotated, one every code being
//! redeemed, then one multi-row insert per table stores what the winners
//! issue. A batch costs the same few statements whether it holds one write
//! or two hundred.

use std::collections::HashSet;

use protocol::token::RowId;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::model::{AccessToken, AuditEvent, Grant, Issue, RefreshToken};

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
    /// Spends the live refresh token `old` and stores its successors.
    Rotate {
        old: RowId,
        now: i64,
        access: AccessToken,
        refresh: RefreshToken,
        event: Option<AuditEvent>,
    },
    /// Spends the unused authorization code `code` and stores what it issues.
    Redeem {
        code: RowId,
        now: i64,
        issue: Issue,
        event: Option<AuditEvent>,
    },
}

/// How a write ended once its batch committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    Stored,
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

/// A refresh token to spend: (old, now, successor refresh id, successor access id).
pub(crate) type RefreshSpend = (RowId, i64, RowId, RowId);
/// A code to spend: (code, now, grant it issues).
pub(crate) type CodeSpend = (RowId, i64, RowId);

/// The single-use transitions a batch asks for, each token or code at most
/// once: a second write for the same one, in the same batch, loses to the
/// first (as it would have had it come a moment later).
pub(crate) fn spends(jobs: &[Job]) -> (Vec<RefreshSpend>, Vec<CodeSpend>) {
    let mut seen = HashSet::new();
    let (mut refresh, mut codes) = (Vec::new(), Vec::new());
    for job in jobs {
        match &job.write {
            Write::Rotate {
                old,
                now,
                access,
                refresh: successor,
                ..
            } if seen.insert(*old) => refresh.push((*old, *now, successor.id, access.id)),
            Write::Redeem {
                code, now, issue, ..
            } if seen.insert(*code) => codes.push((*code, *now, issue.grant.id)),
            _ => {}
        }
    }
    (refresh, codes)
}

/// What a batch stores once the transitions are decided: the rows of the
/// writes that won (or needed no transition), table by table.
#[derive(Default)]
pub(crate) struct Rows<'a> {
    pub grants: Vec<&'a Grant>,
    pub access: Vec<&'a AccessToken>,
    pub refresh: Vec<&'a RefreshToken>,
    pub events: Vec<&'a AuditEvent>,
    /// Consents whose last use to record: (user, client, when).
    pub used: Vec<(&'a str, &'a str, i64)>,
    /// Each job's outcome, in order.
    pub outcomes: Vec<Written>,
}

/// Sorts a batch's writes into rows, given the refresh tokens and codes
/// the spending statements actually spent.
pub(crate) fn rows<'a>(jobs: &'a [Job], spent: &HashSet<RowId>) -> Rows<'a> {
    let mut rows = Rows::default();
    // A token or code is spent for the first job that names it only.
    let mut taken = HashSet::new();
    for job in jobs {
        let outcome = match &job.write {
            Write::Insert { token, event } => {
                rows.access.extend(token);
                rows.events.extend(event);
                Written::Stored
            }
            Write::Rotate {
                old,
                now,
                access,
                refresh,
                event,
            } if spent.contains(old) && taken.insert(*old) => {
                rows.access.push(access);
                rows.refresh.push(refresh);
                rows.events.extend(event);
                // A refresh is the app using its access: Connections shows it.
                if let Some(user) = &refresh.user_id {
                    rows.used.push((user, &refresh.client_id, *now));
                }
                Written::Stored
            }
            Write::Redeem {
                code, issue, event, ..
            } if spent.contains(code) && taken.insert(*code) => {
                rows.grants.push(&issue.grant);
                rows.access.push(&issue.access);
                rows.refresh.extend(&issue.refresh);
                rows.events.extend(event);
                Written::Stored
            }
            Write::Rotate { .. } | Write::Redeem { .. } => Written::NotSpent,
        };
        rows.outcomes.push(outcome);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::scope::ScopeSet;
    use protocol::token::Verifier;

    fn id(n: u8) -> RowId {
        RowId([n; 16])
    }

    fn access(n: u8) -> AccessToken {
        AccessToken {
            id: id(n),
            verifier: Verifier::from_slice(&[n; 32]).unwrap(),
            grant_id: None,
            client_id: "c".into(),
            user_id: Some("u".into()),
            scopes: ScopeSet::default(),
            claims: "{}".into(),
            created_at: 0,
            expires_at: 1,
            revoked_at: None,
        }
    }

    fn refresh(n: u8) -> RefreshToken {
        RefreshToken {
            id: id(n),
            verifier: Verifier::from_slice(&[n; 32]).unwrap(),
            grant_id: id(0),
            client_id: "c".into(),
            user_id: Some("u".into()),
            scopes: ScopeSet::default(),
            created_at: 0,
            expires_at: 1,
            rotated_at: None,
            successor_id: None,
            successor_access_id: None,
            revoked_at: None,
        }
    }

    fn rotate(old: u8, successor: u8) -> Job {
        Job {
            write: Write::Rotate {
                old: id(old),
                now: 5,
                access: access(successor),
                refresh: refresh(successor),
                event: None,
            },
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn a_token_named_twice_in_one_batch_is_spent_for_the_first_write_only() {
        let jobs = [rotate(1, 10), rotate(1, 11), rotate(2, 12)];
        let (refresh, codes) = spends(&jobs);
        assert_eq!(
            refresh.iter().map(|s| s.0).collect::<Vec<_>>(),
            [id(1), id(2)]
        );
        assert!(codes.is_empty());

        // Token 2 was already spent by someone else: only 1's first write wins.
        let rows = rows(&jobs, &HashSet::from([id(1)]));
        assert_eq!(
            rows.outcomes,
            [Written::Stored, Written::NotSpent, Written::NotSpent]
        );
        assert_eq!(
            rows.access.iter().map(|a| a.id).collect::<Vec<_>>(),
            [id(10)]
        );
        assert_eq!(
            rows.refresh.iter().map(|r| r.id).collect::<Vec<_>>(),
            [id(10)]
        );
        assert_eq!(rows.used, [("u", "c", 5)]);
    }
}
