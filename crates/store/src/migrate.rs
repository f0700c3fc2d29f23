//! Versioned migrations, embedded in the binary. Each backend has its own
//! SQL files with the same versions; one run applies every pending migration
//! and the rows that record them in one transaction.

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")),
        }),*]
    };
}

pub(crate) const SQLITE: &[Migration] = migrations!("sqlite": 1 "0001_initial", 2 "0002_pairing_codes", 3 "0003_personal_access_tokens", 4 "0004_purge_indexes", 5 "0005_revoked_access_tokens", 6 "0006_sealed_refresh_tokens", 7 "0007_sealed_authorization_codes", 8 "0008_grants_by_client_and_user", 9 "0009_grants_checked_through_consents", 10 "0010_grants_swept_by_key", 11 "0011_grants_live_with_their_consent");
pub(crate) const POSTGRES: &[Migration] = migrations!("postgres": 1 "0001_initial", 2 "0002_pairing_codes", 3 "0003_personal_access_tokens", 4 "0004_purge_indexes", 5 "0005_revoked_access_tokens", 6 "0006_sealed_refresh_tokens", 7 "0007_sealed_authorization_codes", 8 "0008_grants_by_client_and_user", 9 "0009_grants_checked_through_consents", 10 "0010_grants_swept_by_key", 11 "0011_grants_live_with_their_consent");

pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS portcullis_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// The wall clock, for the `applied_at` column only.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let versions = |m: &[Migration]| m.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
        for (i, m) in SQLITE.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "versions are consecutive from 1");
        }
    }
}

/// A database that an earlier version left with rows is upgraded without
/// losing what those rows meant.
#[cfg(all(test, feature = "testing"))]
mod upgrade {
    use crate::testing::{Backend, TestDatabase, rid};

    /// The rows version 9 had: a consent last given at 100 whose grant
    /// was last rotated at 500.
    const ROWS: &str = "INSERT INTO users (id, username, password_hash, created_at, updated_at) \
         VALUES ('u-alice', 'alice', 'x', 0, 0); \
         INSERT INTO clients (id, name, public, grant_types, scopes, created_at, updated_at) \
         VALUES ('c1', 'c1', FALSE, '', '', 0, 0); \
         INSERT INTO consents (user_id, client_id, scopes, created_at, updated_at, last_used_at) \
         VALUES ('u-alice', 'c1', 'read', 0, 0, 100);";

    /// Migrations 1 to 9 and their bookkeeping, as version 9 left them;
    /// `grant_id` is the key of the grant, as the backend writes a literal.
    async fn at_version_9<C: sqlx::Connection>(
        url: &str,
        migrations: &[super::Migration],
        grant_id: &str,
    ) where
        for<'c> &'c mut C: sqlx::Executor<'c>,
    {
        let mut conn = C::connect(url).await.expect("connect");
        sqlx::raw_sql(super::CREATE_TABLE)
            .execute(&mut conn)
            .await
            .unwrap();
        for m in &migrations[..9] {
            sqlx::raw_sql(m.sql).execute(&mut conn).await.unwrap();
            let record = format!(
                "INSERT INTO portcullis_migrations (version, name, applied_at) VALUES ({}, '{}', 0)",
                m.version, m.name
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(record))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::raw_sql(ROWS).execute(&mut conn).await.unwrap();
        let grant = format!(
            "INSERT INTO grants (id, client_id, user_id, scopes, created_at, expires_at, rotated_at) \
             VALUES ({grant_id}, 'c1', 'u-alice', 'read', 0, 100000, 500)"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(grant))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    async fn upgrade(backend: Backend) {
        let Some(db) = TestDatabase::create(backend).await else {
            eprintln!("skipped: {} is not set", crate::testing::POSTGRES_ENV);
            return;
        };
        let id = hex(rid(1).as_bytes());
        match backend {
            Backend::Sqlite => {
                let url = format!("{}?mode=rwc", db.url);
                at_version_9::<sqlx::SqliteConnection>(&url, super::SQLITE, &format!("x'{id}'"))
                    .await;
            }
            Backend::Postgres => {
                at_version_9::<sqlx::PgConnection>(&db.url, super::POSTGRES, &format!("'\\x{id}'"))
                    .await;
            }
        }
        let store = crate::connect(&db.url).await.expect("connect");
        assert_eq!(store.migrate().await.unwrap(), vec![10, 11]);

        let consent = store.consent("u-alice", "c1").await.unwrap().unwrap();
        assert_eq!(
            consent.last_used_at, 500,
            "the grant's last rotation moved onto it"
        );
        let standing = store.standing_grant(rid(1)).await.unwrap().unwrap();
        assert!(!standing.withdrawn, "a grant of before names no consent");
        assert!(store.rotate_grant(rid(1), 0, 600).await.unwrap().is_some());
        // Revoking the app still finds it, by client and user.
        assert!(
            store
                .revoke_authorization("u-alice", "c1", 700)
                .await
                .unwrap()
        );
        assert_eq!(
            store.grant(rid(1)).await.unwrap().unwrap().revoked_at,
            Some(700)
        );
    }

    #[tokio::test]
    async fn a_version_9_sqlite_database_is_upgraded() {
        upgrade(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn a_version_9_postgres_database_is_upgraded() {
        upgrade(Backend::Postgres).await;
    }
}
