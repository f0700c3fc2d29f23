//! The PostgreSQL group-commit writer: a task that holds one connection
//! and writes each batch set by set (see `batch.rs`), a handful of
//! statements whatever the batch's size, since every statement is a round
//! trip to the server.

use tokio::sync::mpsc;

use crate::StoreError;
use crate::batch::{Job, Written};

/// Starts the writer on `pool`. It keeps one connection for as long as it
/// works (a connection given back to a pool is pinged first, a round trip
/// per batch), and takes a new one after an error.
pub(super) fn spawn(pool: sqlx::PgPool) -> mpsc::Sender<Job> {
    let (tx, mut rx) = mpsc::channel(crate::batch::QUEUE);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(crate::batch::MAX_BATCH);
        let mut held: Option<sqlx::pool::PoolConnection<sqlx::Postgres>> = None;
        while crate::batch::next_batch(&mut rx, &mut batch).await {
            let conn = match held.take() {
                Some(conn) => Ok(conn),
                None => pool.acquire().await.map_err(StoreError::from),
            };
            let written = match conn {
                Ok(mut conn) => {
                    let written = write_batch(&mut conn, &batch).await;
                    if written.is_ok() {
                        held = Some(conn);
                    }
                    written
                }
                Err(e) => Err(e),
            };
            match written {
                Ok(outcomes) => {
                    for (job, outcome) in batch.drain(..).zip(outcomes) {
                        let _ = job.reply.send(Ok(outcome));
                    }
                }
                Err(_) => {
                    // Find the bad write: each job on its own, each on a
                    // connection of its own in case this one broke.
                    for job in batch.drain(..) {
                        let result = match pool.acquire().await {
                            Ok(mut conn) => write_batch(&mut conn, std::slice::from_ref(&job))
                                .await
                                .map(|outcomes| {
                                    outcomes.into_iter().next().unwrap_or(Written::NotSpent)
                                }),
                            Err(e) => Err(e.into()),
                        };
                        let _ = job.reply.send(result);
                    }
                }
            }
        }
    });
    tx
}

/// Commits a batch in one transaction, a statement per kind of
/// row (see `batch.rs`); returns each job's outcome.
async fn write_batch(
    conn: &mut sqlx::PgConnection,
    jobs: &[crate::batch::Job],
) -> Result<Vec<crate::batch::Written>, StoreError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let (grants, codes) = crate::batch::spends(jobs);
    let mut rotated = std::collections::HashMap::new();
    if !grants.is_empty() {
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "UPDATE grants SET generation = generation + 1, rotated_at = v.column3 FROM (",
        );
        q.push_values(&grants, |mut b, (grant, generation, now)| {
            b.push_bind(grant.as_bytes())
                .push_bind(*generation)
                .push_bind(*now);
        });
        q.push(concat!(
            ") AS v WHERE grants.id = v.column1 AND grants.generation = v.column2 \
                 AND grants.revoked_at IS NULL AND grants.expires_at > v.column3 \
                 AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = grants.user_id AND u.disabled) \
                 RETURNING ",
            crate::sql::grant_columns!()
        ));
        for row in q.build().fetch_all(&mut *tx).await? {
            let grant = super::mapping::grant(&row)?;
            rotated.insert((grant.id, grant.generation - 1), grant);
        }
    }
    let mut redeemed = std::collections::HashSet::new();
    if !codes.is_empty() {
        // Stored only while the consent the code came from stands.
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(concat!(
            "INSERT INTO grants (",
            crate::sql::grant_columns!(),
            ") SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, \
             v.column8, v.column9, v.column10 FROM ("
        ));
        q.push_values(&codes, |mut b, (g, code_issued_at)| {
            b.push_bind(g.id.as_bytes())
                .push_bind(&g.client_id)
                .push_bind(&g.user_id)
                .push_bind(g.scopes.to_string())
                .push_bind(&g.claims)
                .push_bind(g.created_at)
                .push_bind(g.expires_at)
                .push_bind(g.revoked_at)
                .push_bind(g.generation)
                .push_bind(g.rotated_at)
                .push_bind(*code_issued_at);
        });
        q.push(
            ") AS v WHERE EXISTS (SELECT 1 FROM consents c WHERE c.user_id = v.column3 \
             AND c.client_id = v.column2 AND c.created_at <= v.column11) \
             ON CONFLICT (id) DO NOTHING RETURNING id",
        );
        collect_ids(q.build().fetch_all(&mut *tx).await?, &mut redeemed)?;
    }
    let rows = crate::batch::rows(jobs, &rotated, &redeemed);
    insert_access(&mut tx, &rows.access).await?;
    insert_audit(&mut tx, &rows.events).await?;
    tx.commit().await?;
    Ok(rows.outcomes)
}

fn collect_ids(
    rows: Vec<<sqlx::Postgres as sqlx::Database>::Row>,
    into: &mut std::collections::HashSet<protocol::token::RowId>,
) -> Result<(), StoreError> {
    use sqlx::Row as _;
    for row in rows {
        into.insert(crate::sql::row_id(&row.try_get::<Vec<u8>, _>(0)?)?);
    }
    Ok(())
}

async fn insert_audit(
    conn: &mut sqlx::PgConnection,
    events: &[&crate::model::AuditEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
        "INSERT INTO audit_events (at, kind, user_id, client_id, ip, detail) ",
    );
    q.push_values(events, |mut b, e| {
        b.push_bind(e.at)
            .push_bind(&e.kind)
            .push_bind(&e.user_id)
            .push_bind(&e.client_id)
            .push_bind(&e.ip)
            .push_bind(&e.detail);
    });
    q.build().execute(&mut *conn).await?;
    Ok(())
}

async fn insert_access(
    conn: &mut sqlx::PgConnection,
    tokens: &[&crate::model::AccessToken],
) -> Result<(), StoreError> {
    if tokens.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
        "INSERT INTO access_tokens (id, verifier, grant_id, client_id, user_id, scopes, claims, \
         created_at, expires_at, revoked_at) ",
    );
    q.push_values(tokens, |mut b, t| {
        b.push_bind(t.id.as_bytes())
            .push_bind(t.verifier.as_bytes())
            .push_bind(t.grant_id.as_ref().map(|g| g.as_bytes()))
            .push_bind(&t.client_id)
            .push_bind(&t.user_id)
            .push_bind(t.scopes.to_string())
            .push_bind(&t.claims)
            .push_bind(t.created_at)
            .push_bind(t.expires_at)
            .push_bind(t.revoked_at);
    });
    q.build().execute(&mut *conn).await?;
    Ok(())
}
