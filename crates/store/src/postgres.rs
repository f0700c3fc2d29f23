use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::StoreError;

/// PostgreSQL: for several stateless Portcullis nodes behind a load balancer.
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(StoreError::Database)?;
        Ok(PostgresStore { pool })
    }
}

// Nodes that start together take turns migrating.
crate::sql::implement_store!(
    PostgresStore,
    sqlx::Postgres,
    crate::migrate::POSTGRES,
    Some("SELECT pg_advisory_xact_lock(7302311)")
);
