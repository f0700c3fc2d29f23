use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};

use crate::StoreError;

mod writer;

/// PostgreSQL: for several stateless Portcullis nodes behind a load balancer.
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    /// Writes use the same pool: PostgreSQL has row locks, not one writer.
    pub(crate) writes: crate::sql::Writes<sqlx::Postgres>,
    /// The group-commit writer (see `batch.rs`).
    pub(crate) writer: tokio::sync::mpsc::Sender<crate::batch::Job>,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let mut options = PgConnectOptions::from_str(url).map_err(StoreError::Database)?;
        // This build has no TLS for PostgreSQL, so the driver's default
        // (`prefer`) always ends in plaintext, but only after the server
        // has agreed to TLS and the attempt failed: about 100 ms per new
        // connection. Without an explicit `sslmode`, go straight to it.
        if !url.contains("sslmode=") {
            options = options.ssl_mode(PgSslMode::Disable);
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .map_err(StoreError::Database)?;
        let writer = writer::spawn(writer::pool(options));
        Ok(PostgresStore {
            writes: crate::sql::Writes::new(pool.clone(), None),
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
