use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::StoreError;

/// PostgreSQL: for several stateless Portcullis nodes behind a load balancer.
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    /// Writes use the same pool: PostgreSQL has row locks, not one writer.
    pub(crate) writes: PgPool,
    /// The group-commit writer (see `batch.rs`).
    pub(crate) writer: tokio::sync::mpsc::Sender<crate::batch::Job>,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(StoreError::Database)?;
        let writer = PostgresStore::spawn_writer(pool.clone());
        Ok(PostgresStore {
            writes: pool.clone(),
            pool,
            writer,
        })
    }
}

// Nodes that start together take turns migrating.
crate::sql::implement_store!(
    PostgresStore,
    sqlx::Postgres,
    crate::migrate::POSTGRES,
    Some("SELECT pg_advisory_xact_lock(7302311)")
);
