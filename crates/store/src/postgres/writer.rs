//! The PostgreSQL group-commit writer: a task that holds one connection
//! and writes each batch set by set (see `batch.rs`), a handful of
//! statements whatever the batch's size, since every statement is a round
//! trip to the server.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use crate::StoreError;
use crate::batch::{CodeSpend, Job, Written};

/// The writer's own connections, which never scan a table whole: every
/// statement the writer runs finds its rows by key (a grant by its id, a
/// consent or a user by theirs), but on a table that has not been analyzed
/// since it was small, or whose pages are mostly old row versions, the
/// planner may judge one sequential scan cheaper than a key lookup per row
/// of the batch, and then scans the table once per batch. Measured on a
/// fresh database (PostgreSQL 15, autovacuum off) under the rotation
/// benchmark, that plan read 9.7 rows per rotation and its scan and join
/// took a fifth of the machine's CPU; planned by key, 2.0 rows. The setting is a
/// plain `SET` on each new connection, so connection poolers that reject
/// startup options are not a problem; a statement with no index to use
/// still runs, as a sequential scan.
pub(super) fn pool(options: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        // One held, one for retrying a failed batch's writes.
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(conn, "SET enable_seqscan = off").await?;
                Ok(())
            })
        })
        .connect_lazy_with(options)
}

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

/// The statement that rotates a batch's grants: each moves from the
/// generation presented to the next, if it is still at it, unrevoked,
/// unexpired, its user enabled and the consent it was issued under still
/// standing. The same text whatever the batch's size (the rows come as
/// arrays), so it is prepared and planned once.
const ROTATE: &str = concat!(
    "UPDATE grants SET generation = generation + 1, rotated_at = v.at \
     FROM UNNEST($1::bytea[], $2::int8[], $3::int8[]) AS v(grant_id, presented, at) \
     WHERE grants.id = v.grant_id AND grants.generation = v.presented \
     AND grants.revoked_at IS NULL AND grants.expires_at > v.at \
     AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = grants.user_id AND u.disabled) \
     AND (grants.consent_id IS NULL OR EXISTS (SELECT 1 FROM consents c \
     WHERE c.user_id = grants.user_id AND c.client_id = grants.client_id AND c.id = grants.consent_id)) \
     RETURNING ",
    crate::sql::grant_columns!()
);

/// The statement that stores the grants of a batch's redeemed codes, each
/// only while the consent its code came from stands (the one it names; for
/// a code that names none, one given before it), naming that consent, and
/// only once. Grants have no foreign keys (migration 9), and nothing
/// is locked: a grant is checked against its consent whenever it is used,
/// so one stored as its consent is revoked, or its client deleted, is
/// ended by that (migration 11).
const REDEEM: &str = concat!(
    "INSERT INTO grants (",
    crate::sql::grant_columns!(),
    ", consent_id) SELECT v.id, v.client_id, v.user_id, v.scopes, v.claims, v.created_at, v.expires_at, \
     v.revoked_at, v.generation, v.rotated_at, c.id \
     FROM UNNEST($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], \
     $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::bytea[]) \
     AS v(id, client_id, user_id, scopes, claims, created_at, expires_at, revoked_at, generation, \
     rotated_at, code_issued_at, code_consent_id) \
     JOIN consents c ON c.user_id = v.user_id AND c.client_id = v.client_id \
     AND (c.id = v.code_consent_id OR (v.code_consent_id IS NULL AND c.created_at <= v.code_issued_at)) \
     ON CONFLICT (id) DO NOTHING RETURNING id"
);

/// Commits a batch atomically, a statement per kind of row (see
/// `batch.rs`); returns each job's outcome. A batch of one kind is one
/// statement, which commits on its own: one round trip, no `BEGIN` or
/// `COMMIT` of its own.
async fn write_batch(
    conn: &mut sqlx::PgConnection,
    jobs: &[crate::batch::Job],
) -> Result<Vec<crate::batch::Written>, StoreError> {
    let (grants, codes) = crate::batch::spends(jobs);
    let inserts = jobs
        .iter()
        .any(|j| matches!(j.write, crate::batch::Write::Insert { .. }));
    // Inserts may be two statements (tokens, events): always a transaction.
    let one_statement = !inserts && (grants.is_empty() || codes.is_empty());
    if one_statement {
        return write_statements(conn, jobs, &grants, &codes).await;
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    let outcomes = write_statements(&mut tx, jobs, &grants, &codes).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// The statements of [`write_batch`], in the caller's transaction or none.
async fn write_statements(
    conn: &mut sqlx::PgConnection,
    jobs: &[crate::batch::Job],
    grants: &[crate::batch::GrantSpend],
    codes: &[CodeSpend<'_>],
) -> Result<Vec<crate::batch::Written>, StoreError> {
    let mut rotated = std::collections::HashMap::new();
    if !grants.is_empty() {
        let (mut ids, mut presented, mut at) = (Vec::new(), Vec::new(), Vec::new());
        for (grant, generation, now) in grants {
            ids.push(grant.as_bytes());
            presented.push(*generation);
            at.push(*now);
        }
        let rows = sqlx::query(ROTATE)
            .bind(ids)
            .bind(presented)
            .bind(at)
            .fetch_all(&mut *conn)
            .await?;
        for row in rows {
            let grant = super::mapping::grant(&row)?;
            rotated.insert((grant.id, grant.generation - 1), grant);
        }
    }
    let mut redeemed = std::collections::HashSet::new();
    if !codes.is_empty() {
        // One array per column.
        fn column<'a, T>(codes: &'a [CodeSpend<'a>], f: impl Fn(&'a CodeSpend<'a>) -> T) -> Vec<T> {
            codes.iter().map(f).collect()
        }
        let rows = sqlx::query(REDEEM)
            .bind(column(codes, |(g, _)| g.id.as_bytes()))
            .bind(column(codes, |(g, _)| g.client_id.as_str()))
            .bind(column(codes, |(g, _)| g.user_id.as_deref()))
            .bind(column(codes, |(g, _)| g.scopes.to_string()))
            .bind(column(codes, |(g, _)| g.claims.as_str()))
            .bind(column(codes, |(g, _)| g.created_at))
            .bind(column(codes, |(g, _)| g.expires_at))
            .bind(column(codes, |(g, _)| g.revoked_at))
            .bind(column(codes, |(g, _)| g.generation))
            .bind(column(codes, |(g, _)| g.rotated_at))
            .bind(column(codes, |(_, code)| code.issued_at))
            .bind(column(codes, |(_, code)| {
                code.consent_id
                    .as_ref()
                    .map(protocol::token::RowId::as_bytes)
            }))
            .fetch_all(&mut *conn)
            .await?;
        collect_ids(rows, &mut redeemed)?;
    }
    let rows = crate::batch::rows(jobs, &rotated, &redeemed);
    insert_access(conn, &rows.access).await?;
    insert_audit(conn, &rows.events).await?;
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

#[cfg(all(test, feature = "testing"))]
mod tests {
    use protocol::token::RowId;

    use crate::Redeemed;
    use crate::testing::{TestDatabase, client, consent_to_read, grant_of, issued, user};

    /// A fresh database with a few dozen grants of one user and client,
    /// never analyzed: where a planner free to scan picks a scan.
    async fn small_unanalyzed_grants() -> Option<(TestDatabase, Vec<RowId>)> {
        let db = TestDatabase::postgres().await?;
        let store = crate::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        store.insert_user(&user("alice")).await.unwrap();
        store.insert_client(&client("c1", None)).await.unwrap();
        let mut ids = Vec::new();
        for n in 0..80 {
            let grant = grant_of(n, "c1", "u-alice");
            store.insert_grant(&grant).await.unwrap();
            ids.push(grant.id);
        }
        Some((db, ids))
    }

    async fn plan(conn: &mut sqlx::PgConnection, ids: &[RowId]) -> String {
        use sqlx::Row as _;
        let ids: Vec<&[u8]> = ids.iter().map(RowId::as_bytes).collect();
        let n = ids.len();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {}", super::ROTATE)))
            .bind(ids)
            .bind(vec![0i64; n])
            .bind(vec![5i64; n])
            .fetch_all(conn)
            .await
            .expect("explain");
        rows.iter()
            .map(|r| r.get::<String, _>(0))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn a_batch_of_rotations_finds_its_grants_by_key() {
        let Some((db, ids)) = small_unanalyzed_grants().await else {
            eprintln!("skipped: {} is not set", crate::testing::POSTGRES_ENV);
            return;
        };
        let options: sqlx::postgres::PgConnectOptions = db.url.parse().unwrap();
        let pool = super::pool(options);
        let mut conn = pool.acquire().await.unwrap();
        let plan = plan(&mut conn, &ids[..8]).await;
        assert!(
            plan.contains("Index Scan using grants_pkey on grants"),
            "{plan}"
        );
        assert!(!plan.contains("Seq Scan on grants"), "{plan}");
    }

    /// A code redeemed while its consent is being revoked does not wait for
    /// the revocation (nothing is locked), and the grant it stores names
    /// the consent: once the revocation commits, the grant has ended.
    #[tokio::test]
    async fn a_grant_stored_while_its_consent_is_revoked_ends_with_it() {
        use sqlx::Connection as _;
        let Some(db) = TestDatabase::postgres().await else {
            eprintln!("skipped: {} is not set", crate::testing::POSTGRES_ENV);
            return;
        };
        let store = crate::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        store.insert_user(&user("alice")).await.unwrap();
        store.insert_client(&client("c1", None)).await.unwrap();
        store
            .put_consent(&consent_to_read("u-alice", 1_000))
            .await
            .unwrap();
        let mut revoking = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let mut tx = revoking.begin().await.unwrap();
        sqlx::query("DELETE FROM consents WHERE user_id = 'u-alice' AND client_id = 'c1'")
            .execute(&mut *tx)
            .await
            .unwrap();

        let grant = grant_of(1, "c1", "u-alice");
        let redeemed = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            store.redeem_code(&grant, issued(1_000)),
        )
        .await
        .expect("the redemption does not wait");
        assert_eq!(redeemed.unwrap(), Redeemed::Issued);
        let standing = store.standing_grant(grant.id).await.unwrap().unwrap();
        assert!(!standing.withdrawn, "the revocation has not committed");

        tx.commit().await.unwrap();
        let standing = store.standing_grant(grant.id).await.unwrap().unwrap();
        assert!(standing.withdrawn);
        assert_eq!(store.rotate_grant(grant.id, 0, 2_000).await.unwrap(), None);
    }
}
