//! Throwaway databases for tests: a temporary SQLite file, or a fresh
//! PostgreSQL database created next to the one `PORTCULLIS_TEST_POSTGRES_URL`
//! names and dropped again when the handle is dropped.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection as _;

/// The environment variable that enables the PostgreSQL half of the test suite.
pub const POSTGRES_ENV: &str = "PORTCULLIS_TEST_POSTGRES_URL";

/// Which backend a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for as long as this value does.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A fresh database on `backend`, or `None` when PostgreSQL is asked
    /// for and `PORTCULLIS_TEST_POSTGRES_URL` is not set.
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => Some(TestDatabase::sqlite()),
            Backend::Postgres => TestDatabase::postgres().await,
        }
    }

    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("portcullis.db").display());
        TestDatabase {
            url,
            cleanup: Cleanup::Dir(dir),
        }
    }

    pub async fn postgres() -> Option<TestDatabase> {
        let admin_url = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "portcullis_test_{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {POSTGRES_ENV}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let mut url = url::Url::parse(&admin_url).expect("a valid PostgreSQL URL");
        url.set_path(&name);
        Some(TestDatabase {
            url: url.to_string(),
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime, which cannot be blocked on;
            // a thread of its own with a small runtime does the clean-up.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let mut admin = sqlx::PgConnection::connect(&admin_url)
                        .await
                        .map_err(std::io::Error::other)?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await
                    .map_err(std::io::Error::other)?;
                    Ok::<_, std::io::Error>(())
                })
            })
            .join();
        }
    }
}

impl TestDatabase {
    /// Everything the database holds, as bytes to search: the SQLite files
    /// (database and write-ahead log) or every row of every PostgreSQL table
    /// as text. For tests that prove no secret is stored in plaintext.
    pub async fn dump(&self) -> Vec<u8> {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let mut bytes = Vec::new();
                for entry in std::fs::read_dir(dir.path()).expect("read the database directory") {
                    bytes.extend(
                        std::fs::read(entry.expect("a directory entry").path()).unwrap_or_default(),
                    );
                }
                bytes
            }
            Cleanup::Postgres { .. } => {
                use sqlx::Row as _;
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                let tables: Vec<String> = sqlx::query(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
                )
                .fetch_all(&mut conn)
                .await
                .expect("list tables")
                .iter()
                .map(|r| r.get(0))
                .collect();
                let mut bytes = Vec::new();
                for table in tables {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT t::text FROM {table} t"
                    )))
                    .fetch_all(&mut conn)
                    .await
                    .expect("read a table");
                    for row in rows {
                        bytes.extend(row.get::<String, _>(0).into_bytes());
                        bytes.push(b'\n');
                    }
                }
                bytes
            }
        }
    }
}

impl TestDatabase {
    /// Whether the database is intact: SQLite's `PRAGMA integrity_check`
    /// (and a foreign-key check), or a query for PostgreSQL.
    pub async fn integrity_ok(&self) -> bool {
        match &self.cleanup {
            Cleanup::Dir(_) => {
                use sqlx::Row as _;
                let Ok(mut conn) = sqlx::SqliteConnection::connect(&self.url).await else {
                    return false;
                };
                let integrity: Option<String> = sqlx::query("PRAGMA integrity_check")
                    .fetch_one(&mut conn)
                    .await
                    .ok()
                    .and_then(|r| r.try_get(0).ok());
                let dangling = sqlx::query("PRAGMA foreign_key_check")
                    .fetch_all(&mut conn)
                    .await
                    .map(|r| r.len());
                integrity.as_deref() == Some("ok") && dangling.ok() == Some(0)
            }
            Cleanup::Postgres { .. } => match sqlx::PgConnection::connect(&self.url).await {
                Ok(mut conn) => sqlx::query("SELECT 1").execute(&mut conn).await.is_ok(),
                Err(_) => false,
            },
        }
    }
}
