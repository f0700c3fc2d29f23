use std::fmt;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record with the same unique key exists.
    #[error("{0} already exists")]
    Conflict(Conflict),
    /// A record names another that does not exist (an unknown owner, say).
    #[error("a referenced record does not exist")]
    MissingReference,
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// A stored value no longer parses; the database was changed by hand.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error(
        "the database has migration {0}, which this version of Portcullis does not know; upgrade Portcullis"
    )]
    UnknownMigration(i64),
    /// The group-commit writer is gone (the store is shutting down).
    #[error("the database writer has stopped")]
    WriterStopped,
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The SQLite group-commit writer's connection failed.
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, as in "cannot create the directory".
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
}

/// What kind of record conflicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    Username,
    ClientId,
    ClientName,
    ScopeName,
    Record,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conflict::Username => "a user with this username",
            Conflict::ClientId => "a client with this id",
            Conflict::ClientName => "a client with this name (for this owner)",
            Conflict::ScopeName => "a scope with this name",
            Conflict::Record => "this record",
        })
    }
}

impl StoreError {
    /// Maps a database error, naming the unique constraint that failed.
    pub(crate) fn from_write(e: sqlx::Error, conflict: Conflict) -> StoreError {
        if let sqlx::Error::Database(db) = &e {
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => return StoreError::Conflict(conflict),
                sqlx::error::ErrorKind::ForeignKeyViolation => return StoreError::MissingReference,
                _ => {}
            }
        }
        StoreError::Database(e)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError::from_write(e, Conflict::Record)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error() {
            Some(f) if f.code == ErrorCode::ConstraintViolation => match f.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::MissingReference,
                rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => StoreError::Conflict(Conflict::Record),
                _ => StoreError::Sqlite(e),
            },
            _ => StoreError::Sqlite(e),
        }
    }
}
