//! Throwaway databases for tests: a temporary SQLite file, or a fresh
//! PostgreSQL database created next to the one `PORTCULLIS_TEST_POSTGRES_URL`
//! names and dropped again when the handle is dropped.

use std::sync::atomic::{AtomicU64, Ordering};

use protocol::token::{RowId, Verifier};
use protocol::{GrantType, RedirectUri, ScopeSet};
use sqlx::Connection as _;

use crate::model::{Client, Consent, Grant, User};

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
    /// Runs one statement on a connection of its own, behind the store's
    /// back (to break something a test then watches the store survive).
    pub async fn execute(&self, statement: &str) {
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        match &self.cleanup {
            Cleanup::Dir(_) => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
            }
            Cleanup::Postgres { .. } => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
            }
        };
    }

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

// Rows for tests to store: the same few everywhere, so a test says only
// what is particular to it.

/// A user `name` with id `u-{name}`, enabled.
pub fn user(name: &str) -> User {
    User {
        id: format!("u-{name}"),
        username: name.to_owned(),
        email: Some(format!("{name}@example.test")),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        disabled: false,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

/// A confidential client `id` with two redirect URIs, for the code and
/// refresh grants and the scopes `read write`.
pub fn client(id: &str, owner: Option<&str>) -> Client {
    Client {
        id: id.to_owned(),
        name: format!("App {id}"),
        description: "An app".to_owned(),
        homepage: Some("https://app.test".to_owned()),
        owner_id: owner.map(str::to_owned),
        public: false,
        secret: Some(Verifier::of("pc_cs_secret")),
        previous_secret: None,
        redirect_uris: vec![
            RedirectUri::parse("https://app.test/cb").unwrap(),
            RedirectUri::parse("http://127.0.0.1/cb").unwrap(),
        ],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: ScopeSet::parse("read write").unwrap(),
        access_token_ttl: Some(600),
        refresh_token_ttl: None,
        refresh_token_idle_ttl: None,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

/// Row id number `n`, in the order of `n`.
pub fn rid(n: u64) -> RowId {
    RowId::new(2_000_000 + n, [n as u8; 10])
}

/// Grant number `n` of `user_id` to `client_id`, for `read`, unrevoked
/// and expiring at 100 000.
pub fn grant_of(n: u64, client_id: &str, user_id: &str) -> Grant {
    Grant {
        id: rid(n),
        client_id: client_id.to_owned(),
        user_id: Some(user_id.to_owned()),
        scopes: ScopeSet::parse("read").unwrap(),
        claims: "{}".to_owned(),
        created_at: 1_000,
        expires_at: 100_000,
        revoked_at: None,
        generation: 0,
        rotated_at: None,
    }
}

/// Where a code issued at `at` that names no consent came from (a code
/// sealed before codes named theirs).
pub fn issued(at: i64) -> crate::CodeOrigin {
    crate::CodeOrigin {
        issued_at: at,
        consent_id: None,
    }
}

/// `user_id`'s consent to `read` for client `c1`, given at 1 000 and last
/// used at `last_used_at`.
pub fn consent_to_read(user_id: &str, last_used_at: i64) -> Consent {
    let mut tag = [0; 10];
    for (t, b) in tag.iter_mut().zip(user_id.bytes()) {
        *t = b;
    }
    Consent {
        id: RowId::new(1_000_000, tag),
        user_id: user_id.to_owned(),
        client_id: "c1".to_owned(),
        scopes: ScopeSet::parse("read").unwrap(),
        created_at: 1_000,
        updated_at: 1_000,
        last_used_at,
    }
}
