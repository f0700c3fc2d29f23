//! The SQLite group-commit writer: one thread with a connection of its
//! own, which runs each batch from `BEGIN` to `COMMIT` without leaving the
//! thread.
//!
//! Going through sqlx, every statement of a batch was a hand-off to the
//! connection's thread and back, and on a busy machine each hand-off waits
//! for a core: a batch spent more time waiting than writing. Here a batch
//! costs one wake-up of this thread, its statements (prepared once and
//! cached) and the commit's fsync.
//!
//! A write that fails (a foreign key to a client deleted meanwhile, say)
//! is undone and answered alone while the others commit: by SQLite itself
//! for a write of one statement, by a savepoint for a write of several.
//! Writes are applied in the order they came: a second rotation of the
//! same generation simply finds the grant moved on, as it would a moment
//! later.
//!
//! The writer shares SQLite's one write lock with the sqlx connection
//! that makes every other write: both take a turn on the same fair lane
//! (`crate::sql::Writes`) before writing.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{Semaphore, mpsc};

use crate::StoreError;
use crate::batch::{Job, MAX_BATCH, QUEUE, Write, Written};
use crate::model::{AccessToken, AuditEvent, Grant};
use crate::sql::{grant_columns, row_id, scopes};

/// Opens the writer's connection to the database at `path` and starts its
/// thread; the thread ends when every sender is gone.
pub(super) fn spawn(path: &Path, turn: Arc<Semaphore>) -> Result<mpsc::Sender<Job>, StoreError> {
    let conn = open(path)?;
    let (tx, rx) = mpsc::channel(QUEUE);
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || run(conn, rx, turn))
        .map_err(|source| StoreError::Io {
            action: "start the writer for",
            path: path.display().to_string(),
            source,
        })?;
    Ok(tx)
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    // The same settings as the pools' connections (see `sqlite.rs`).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Job>, turn: Arc<Semaphore>) {
    // Only to wait on the queue and the lane; nothing is spawned on it.
    let Ok(waiter) = tokio::runtime::Builder::new_current_thread().build() else {
        tracing::error!("the SQLite writer could not start");
        return;
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiter.block_on(crate::batch::next_batch(&mut rx, &mut batch)) {
        let Ok(_turn) = waiter.block_on(turn.acquire()) else {
            return;
        };
        let outcomes = write_batch(&mut conn, &batch);
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            let _ = job.reply.send(outcome);
        }
    }
}

/// Commits a batch in one transaction; returns each job's outcome.
fn write_batch(conn: &mut Connection, jobs: &[Job]) -> Vec<Result<Written, StoreError>> {
    let mut outcomes = Vec::with_capacity(jobs.len());
    let committed = (|| {
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in jobs {
            let written = if job.write.statements() > 1 {
                let mut savepoint = tx.savepoint()?;
                let written = apply(&savepoint, &job.write);
                match written {
                    Ok(_) => savepoint.commit()?,
                    Err(_) => savepoint.rollback()?,
                }
                written
            } else {
                // A statement that fails is undone by SQLite alone (the
                // transaction stays open): no savepoint needed.
                apply(&tx, &job.write)
            };
            if written.is_err() && tx.is_autocommit() {
                // Some failures (a full disk, an I/O error) roll back the
                // whole transaction: nothing of the batch is written.
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                    Some("the batch's transaction was rolled back".into()),
                ));
            }
            outcomes.push(written);
        }
        tx.commit()
    })();
    match committed {
        Ok(()) => outcomes,
        Err(e) => {
            // Nothing of the batch is written: every caller hears why.
            tracing::error!(error = %e, "a group commit failed");
            jobs.iter()
                .map(|_| Err(StoreError::Sqlite(copy(&e))))
                .collect()
        }
    }
}

/// The same failure again, for the next caller.
fn copy(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

/// One write, inside the batch's transaction.
fn apply(conn: &Connection, write: &Write) -> Result<Written, StoreError> {
    match write {
        Write::Insert { token, event } => {
            if let Some(token) = token {
                insert_access(conn, token)?;
            }
            if let Some(event) = event {
                insert_event(conn, event)?;
            }
            Ok(Written::Stored)
        }
        Write::Rotate {
            grant,
            generation,
            now,
        } => {
            let rotated = conn
                .prepare_cached(concat!(
                    "UPDATE grants SET generation = generation + 1, rotated_at = ?3 \
                     WHERE id = ?1 AND generation = ?2 AND revoked_at IS NULL AND expires_at > ?3 \
                     AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = grants.user_id AND u.disabled) \
                     AND (consent_id IS NULL OR EXISTS (SELECT 1 FROM consents c \
                     WHERE c.user_id = grants.user_id AND c.client_id = grants.client_id AND c.id = grants.consent_id)) \
                     RETURNING ",
                    grant_columns!()
                ))?
                .query_row(params![grant.as_bytes(), generation, now], GrantRow::read)
                .optional()?;
            match rotated {
                Some(grant) => Ok(Written::Rotated(Box::new(grant.parse()?))),
                None => Ok(Written::NotSpent),
            }
        }
        Write::Redeem { grant: g, code } => {
            // Stored only while the consent the code came from stands (the
            // one it names; for a code that names none, one given before
            // it), and naming it.
            let stored = conn
                .prepare_cached(concat!(
                    "INSERT INTO grants (",
                    grant_columns!(),
                    ", consent_id) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, c.id FROM consents c \
                     WHERE c.user_id = ?3 AND c.client_id = ?2 \
                     AND (c.id = ?12 OR (?12 IS NULL AND c.created_at <= ?11)) \
                     ON CONFLICT (id) DO NOTHING"
                ))?
                .execute(params![
                    g.id.as_bytes(),
                    g.client_id,
                    g.user_id,
                    g.scopes.to_string(),
                    g.claims,
                    g.created_at,
                    g.expires_at,
                    g.revoked_at,
                    g.generation,
                    g.rotated_at,
                    code.issued_at,
                    code.consent_id.as_ref().map(protocol::token::RowId::as_bytes),
                ])?;
            Ok(if stored == 0 {
                Written::NotSpent
            } else {
                Written::Stored
            })
        }
    }
}

/// A row of `grant_columns!()`, as stored.
struct GrantRow {
    id: Vec<u8>,
    client_id: String,
    user_id: Option<String>,
    scopes: String,
    claims: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    generation: i64,
    rotated_at: Option<i64>,
}

impl GrantRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRow> {
        Ok(GrantRow {
            id: r.get(0)?,
            client_id: r.get(1)?,
            user_id: r.get(2)?,
            scopes: r.get(3)?,
            claims: r.get(4)?,
            created_at: r.get(5)?,
            expires_at: r.get(6)?,
            revoked_at: r.get(7)?,
            generation: r.get(8)?,
            rotated_at: r.get(9)?,
        })
    }

    fn parse(self) -> Result<Grant, StoreError> {
        Ok(Grant {
            id: row_id(&self.id)?,
            client_id: self.client_id,
            user_id: self.user_id,
            scopes: scopes(&self.scopes)?,
            claims: self.claims,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            generation: self.generation,
            rotated_at: self.rotated_at,
        })
    }
}

fn insert_access(conn: &Connection, t: &AccessToken) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO access_tokens (id, verifier, grant_id, client_id, user_id, scopes, claims, \
         created_at, expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        t.id.as_bytes(),
        t.verifier.as_bytes(),
        t.grant_id.as_ref().map(|g| g.as_bytes()),
        t.client_id,
        t.user_id,
        t.scopes.to_string(),
        t.claims,
        t.created_at,
        t.expires_at,
        t.revoked_at,
    ])?;
    Ok(())
}

fn insert_event(conn: &Connection, e: &AuditEvent) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_events (at, kind, user_id, client_id, ip, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        e.at,
        e.kind,
        e.user_id,
        e.client_id,
        e.ip,
        e.detail
    ])?;
    Ok(())
}
