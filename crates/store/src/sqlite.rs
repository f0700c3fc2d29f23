use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::StoreError;

mod writer;

/// The embedded default: one SQLite file in WAL mode.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// One connection for every write but the group commit's. SQLite has
    /// one writer at a time; writers queue here, in order, with the group
    /// commit's, instead of polling for the file lock (which sleeps up to
    /// 100 ms between tries).
    pub(crate) writes: crate::sql::Writes<sqlx::Sqlite>,
    /// The group-commit writer (see `batch.rs` and `sqlite/writer.rs`).
    pub(crate) writer: tokio::sync::mpsc::Sender<crate::batch::Job>,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::Database)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a transaction that committed survives power loss, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // A multi-row statement inside a transaction keeps a statement
            // journal (to undo just itself); in memory, not in a temp file.
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(10));
        let path = options.get_filename().to_owned();
        // Every connection of an in-memory database would have its own.
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::UnsupportedUrl(crate::redact_url(url)));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Only the server's user may read the database directory.
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(|source| StoreError::Io {
                action: "create the database directory",
                path: dir.display().to_string(),
                source,
            })?;
        }
        // A connection to a file cannot go stale, so none is pinged before
        // use (a ping is a round trip to the connection's thread).
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(StoreError::Database)?;
        let writes = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(StoreError::Database)?;
        let turn = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
        let writer = writer::spawn(&path, turn.clone())?;
        Ok(SqliteStore {
            pool,
            writes: crate::sql::Writes::new(writes, Some(turn)),
            writer,
        })
    }
}

crate::sql::implement_store!(SqliteStore, sqlx::Sqlite, crate::migrate::SQLITE, None);
