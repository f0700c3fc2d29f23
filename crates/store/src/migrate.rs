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
