//! The SQL both backends share, written once.
//!
//! Queries use `$N` placeholders, `RETURNING` and `ON CONFLICT`, which
//! SQLite and PostgreSQL both understand, so one macro body implements
//! [`crate::Store`] for each backend's pool type; the compiler checks it
//! once per backend. What differs between the backends lives in their
//! migrations and their `connect` functions.

use protocol::token::{RowId, Verifier};
use protocol::{GrantType, RedirectUri, ScopeSet};

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::StoreError;
use crate::error::Conflict;

// Column lists are macros so queries stay `&'static str` built by `concat!`.
macro_rules! user_columns {
    () => {
        "id, username, email, password_hash, disabled, created_at, updated_at"
    };
}
macro_rules! client_columns {
    () => {
        "id, name, description, homepage, owner_id, public, secret_verifier, previous_secret_verifier, \
         previous_secret_expires_at, grant_types, scopes, access_token_ttl, refresh_token_ttl, \
         refresh_token_idle_ttl, created_at, updated_at"
    };
}
macro_rules! grant_columns {
    () => {
        "id, client_id, user_id, scopes, claims, created_at, expires_at, revoked_at, generation, rotated_at"
    };
}
macro_rules! access_columns {
    () => {
        "id, verifier, grant_id, client_id, user_id, scopes, claims, created_at, expires_at, revoked_at"
    };
}
macro_rules! device_columns {
    () => {
        "id, verifier, user_code, client_id, scopes, status, user_id, interval_secs, last_polled_at, \
         created_at, expires_at"
    };
}
macro_rules! pairing_columns {
    () => {
        "id, lookup, client_id, user_id, scopes, created_at, expires_at, consumed_at"
    };
}
pub(crate) use {
    access_columns, client_columns, device_columns, grant_columns, pairing_columns, user_columns,
};

pub(crate) fn opt_row_id(b: Option<Vec<u8>>) -> Result<Option<RowId>, StoreError> {
    b.as_deref().map(row_id).transpose()
}

pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

pub(crate) fn scopes(s: &str) -> Result<ScopeSet, StoreError> {
    ScopeSet::parse(s).map_err(|e| corrupt("scopes", e))
}

pub(crate) fn grant_types(s: &str) -> Result<Vec<GrantType>, StoreError> {
    s.split(' ')
        .filter(|g| !g.is_empty())
        .map(|g| g.parse().map_err(|e| corrupt("grant types", e)))
        .collect()
}

pub(crate) fn join_grant_types(g: &[GrantType]) -> String {
    g.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(" ")
}

pub(crate) fn redirect_uri(s: &str) -> Result<RedirectUri, StoreError> {
    RedirectUri::parse(s).map_err(|e| corrupt("redirect URI", e))
}

/// The statement that stores a grant (`$1`-`$10`, its columns) under the
/// consent a code (`$11`) remembers, only while that consent stands.
macro_rules! grant_under_code_consent {
    ($codes:literal) => {
        concat!(
            "INSERT INTO grants (",
            grant_columns!(),
            ", consent_id) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, c.id FROM consents c \
             WHERE c.user_id = $3 AND c.client_id = $2 \
             AND c.id = (SELECT k.consent_id FROM ",
            $codes,
            " k WHERE k.id = $11)"
        )
    };
}
pub(crate) const UNDER_DEVICE_CONSENT: &str = grant_under_code_consent!("device_codes");
pub(crate) const UNDER_PAIRING_CONSENT: &str = grant_under_code_consent!("pairing_codes");

pub(crate) fn row_id(b: &[u8]) -> Result<RowId, StoreError> {
    RowId::from_slice(b).ok_or_else(|| corrupt("row id", "wrong length"))
}

pub(crate) fn verifier(b: &[u8]) -> Result<Verifier, StoreError> {
    Verifier::from_slice(b).ok_or_else(|| corrupt("verifier", "wrong length"))
}

/// Which unique constraint a client insert or update broke.
/// Where a backend's single writes go (everything but the group commit's
/// batches).
///
/// On SQLite they share the database's one write lock with the batch
/// writer's own connection: `turn` is a fair, first-come lane both take
/// before writing, so neither polls for SQLite's lock nor starves the
/// other, and no write transaction starts while a batch is running.
pub(crate) struct Writes<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    turn: Option<Arc<Semaphore>>,
}

impl<DB: sqlx::Database> Clone for Writes<DB> {
    fn clone(&self) -> Writes<DB> {
        Writes {
            pool: self.pool.clone(),
            turn: self.turn.clone(),
        }
    }
}

impl<DB: sqlx::Database> Writes<DB> {
    pub(crate) fn new(pool: sqlx::Pool<DB>, turn: Option<Arc<Semaphore>>) -> Writes<DB> {
        Writes { pool, turn }
    }

    /// A write connection, once it is this caller's turn.
    pub(crate) async fn get(&self) -> Result<WriteConnection<DB>, StoreError> {
        let turn = match &self.turn {
            Some(lane) => Some(
                Arc::clone(lane)
                    .acquire_owned()
                    .await
                    .map_err(|_| StoreError::WriterStopped)?,
            ),
            None => None,
        };
        Ok(WriteConnection {
            conn: self.pool.acquire().await?,
            _turn: turn,
        })
    }
}

/// A connection taken from [`Writes`]; the turn ends when it is dropped.
pub(crate) struct WriteConnection<DB: sqlx::Database> {
    conn: sqlx::pool::PoolConnection<DB>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl<DB: sqlx::Database> std::ops::Deref for WriteConnection<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteConnection<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

pub(crate) fn client_conflict(e: sqlx::Error) -> StoreError {
    let name_clash = match &e {
        sqlx::Error::Database(db) => {
            db.constraint() == Some("clients_owner_name")
                || db.message().contains("clients_owner_name")
        }
        _ => false,
    };
    StoreError::from_write(
        e,
        if name_clash {
            Conflict::ClientName
        } else {
            Conflict::ClientId
        },
    )
}

macro_rules! implement_store {
    ($store:ty, $db:ty, $migrations:expr, $migration_lock:expr) => {
        mod mapping {
            use sqlx::Row as _;

            use crate::model::*;
            use crate::sql::*;
            use crate::StoreError;

            type DbRow = <$db as sqlx::Database>::Row;

            /// The user columns of a join, prefixed `u_`; `None` when the
            /// join found no user.
            pub(super) fn joined_user(r: &DbRow) -> Result<Option<User>, StoreError> {
                if r.try_get::<Option<String>, _>("u_id")?.is_none() {
                    return Ok(None);
                }
                user_in(r, ["u_id", "u_username", "u_email", "u_password_hash", "u_disabled", "u_created_at", "u_updated_at"]).map(Some)
            }

            pub(super) fn user(r: &DbRow) -> Result<User, StoreError> {
                user_in(r, ["id", "username", "email", "password_hash", "disabled", "created_at", "updated_at"])
            }

            /// A user from the columns named, in the order of `user_columns!()`.
            fn user_in(r: &DbRow, [id, username, email, password_hash, disabled, created_at, updated_at]: [&str; 7]) -> Result<User, StoreError> {
                Ok(User {
                    id: r.try_get(id)?,
                    username: r.try_get(username)?,
                    email: r.try_get(email)?,
                    password_hash: r.try_get(password_hash)?,
                    disabled: r.try_get(disabled)?,
                    created_at: r.try_get(created_at)?,
                    updated_at: r.try_get(updated_at)?,
                })
            }

            /// A client without its redirect URIs, which live in their own table.
            pub(super) fn client(r: &DbRow) -> Result<Client, StoreError> {
                let secret: Option<Vec<u8>> = r.try_get("secret_verifier")?;
                let previous: Option<Vec<u8>> = r.try_get("previous_secret_verifier")?;
                let previous_expires: Option<i64> = r.try_get("previous_secret_expires_at")?;
                Ok(Client {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    homepage: r.try_get("homepage")?,
                    owner_id: r.try_get("owner_id")?,
                    public: r.try_get("public")?,
                    secret: secret.as_deref().map(verifier).transpose()?,
                    previous_secret: match (previous, previous_expires) {
                        (Some(v), Some(at)) => Some((verifier(&v)?, at)),
                        _ => None,
                    },
                    redirect_uris: Vec::new(),
                    grant_types: grant_types(r.try_get("grant_types")?)?,
                    scopes: scopes(r.try_get("scopes")?)?,
                    access_token_ttl: r.try_get("access_token_ttl")?,
                    refresh_token_ttl: r.try_get("refresh_token_ttl")?,
                    refresh_token_idle_ttl: r.try_get("refresh_token_idle_ttl")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            pub(super) fn scope(r: &DbRow) -> Result<Scope, StoreError> {
                let claims: String = r.try_get("required_claims")?;
                Ok(Scope {
                    name: r.try_get("name")?,
                    label: r.try_get("label")?,
                    description: r.try_get("description")?,
                    required_claims: claims.split(' ').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
                    created_at: r.try_get("created_at")?,
                })
            }

            pub(super) fn grant(r: &DbRow) -> Result<Grant, StoreError> {
                Ok(Grant {
                    id: row_id(r.try_get("id")?)?,
                    client_id: r.try_get("client_id")?,
                    user_id: r.try_get("user_id")?,
                    scopes: scopes(r.try_get("scopes")?)?,
                    claims: r.try_get("claims")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                    generation: r.try_get("generation")?,
                    rotated_at: r.try_get("rotated_at")?,
                })
            }

            pub(super) fn access(r: &DbRow) -> Result<AccessToken, StoreError> {
                Ok(AccessToken {
                    id: row_id(r.try_get("id")?)?,
                    verifier: verifier(r.try_get("verifier")?)?,
                    grant_id: opt_row_id(r.try_get("grant_id")?)?,
                    client_id: r.try_get("client_id")?,
                    user_id: r.try_get("user_id")?,
                    scopes: scopes(r.try_get("scopes")?)?,
                    claims: r.try_get("claims")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            }

            pub(super) fn session(r: &DbRow) -> Result<Session, StoreError> {
                Ok(Session {
                    id: row_id(r.try_get("id")?)?,
                    verifier: verifier(r.try_get("verifier")?)?,
                    user_id: r.try_get("user_id")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                })
            }

            pub(super) fn consent(r: &DbRow) -> Result<Consent, StoreError> {
                Ok(Consent {
                    id: row_id(r.try_get("id")?)?,
                    user_id: r.try_get("user_id")?,
                    client_id: r.try_get("client_id")?,
                    scopes: scopes(r.try_get("scopes")?)?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                })
            }

            pub(super) fn device(r: &DbRow) -> Result<DeviceCode, StoreError> {
                let status: String = r.try_get("status")?;
                Ok(DeviceCode {
                    id: row_id(r.try_get("id")?)?,
                    verifier: verifier(r.try_get("verifier")?)?,
                    user_code: r.try_get("user_code")?,
                    client_id: r.try_get("client_id")?,
                    scopes: scopes(r.try_get("scopes")?)?,
                    status: DeviceStatus::parse(&status).ok_or_else(|| corrupt("device status", &status))?,
                    user_id: r.try_get("user_id")?,
                    interval_secs: r.try_get("interval_secs")?,
                    last_polled_at: r.try_get("last_polled_at")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                })
            }

            pub(super) fn pairing(r: &DbRow) -> Result<PairingCode, StoreError> {
                Ok(PairingCode {
                    id: row_id(r.try_get("id")?)?,
                    lookup: r.try_get("lookup")?,
                    client_id: r.try_get("client_id")?,
                    user_id: r.try_get("user_id")?,
                    scopes: scopes(r.try_get("scopes")?)?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    consumed_at: r.try_get("consumed_at")?,
                })
            }

            pub(super) fn pat(r: &DbRow) -> Result<PersonalAccessToken, StoreError> {
                Ok(PersonalAccessToken {
                    id: row_id(r.try_get("id")?)?,
                    verifier: verifier(r.try_get("verifier")?)?,
                    user_id: r.try_get("user_id")?,
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                })
            }

            pub(super) fn audit(r: &DbRow) -> Result<AuditEvent, StoreError> {
                Ok(AuditEvent {
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                    user_id: r.try_get("user_id")?,
                    client_id: r.try_get("client_id")?,
                    ip: r.try_get("ip")?,
                    detail: r.try_get("detail")?,
                })
            }
        }

        impl $store {
            async fn redirect_uris_of(
                &self,
                clients: &mut [crate::model::Client],
                owner_id: Option<&str>,
            ) -> Result<(), StoreError> {
                use sqlx::Row as _;
                if clients.is_empty() {
                    return Ok(());
                }
                // One query for all clients, never one per client.
                let rows = if let [one] = clients {
                    sqlx::query("SELECT client_id, uri FROM client_redirect_uris WHERE client_id = $1 ORDER BY position")
                        .bind(&one.id)
                        .fetch_all(&self.pool)
                        .await?
                } else {
                    sqlx::query(
                        "SELECT r.client_id, r.uri FROM client_redirect_uris r JOIN clients c ON c.id = r.client_id \
                         WHERE ($1 IS NULL OR c.owner_id = $1) ORDER BY r.client_id, r.position",
                    )
                    .bind(owner_id)
                    .fetch_all(&self.pool)
                    .await?
                };
                for row in rows {
                    let id: String = row.try_get("client_id")?;
                    let uri: String = row.try_get("uri")?;
                    if let Some(c) = clients.iter_mut().find(|c| c.id == id) {
                        c.redirect_uris.push(crate::sql::redirect_uri(&uri)?);
                    }
                }
                Ok(())
            }

            /// Stores a grant under the consent the code `code_id` remembers,
            /// if that consent stands; `under` is [`crate::sql::UNDER_DEVICE_CONSENT`]
            /// or [`crate::sql::UNDER_PAIRING_CONSENT`]. `false`: not stored.
            async fn insert_grant_under(
                conn: &mut <$db as sqlx::Database>::Connection,
                under: &'static str,
                grant: &crate::model::Grant,
                code_id: protocol::token::RowId,
            ) -> Result<bool, StoreError> {
                let stored = Self::bind_grant(sqlx::query(under), grant)
                    .bind(code_id.as_bytes())
                    .execute(&mut *conn)
                    .await?;
                Ok(stored.rows_affected() == 1)
            }

            /// Binds a grant's columns, in `grant_columns!()` order, as
            /// `$1` to `$10`.
            fn bind_grant<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                g: &'q crate::model::Grant,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                query
                    .bind(g.id.as_bytes())
                    .bind(&g.client_id)
                    .bind(&g.user_id)
                    .bind(g.scopes.to_string())
                    .bind(&g.claims)
                    .bind(g.created_at)
                    .bind(g.expires_at)
                    .bind(g.revoked_at)
                    .bind(g.generation)
                    .bind(g.rotated_at)
            }

            /// Creates the consent, or adds its scopes to the one that
            /// stands, in the caller's transaction (see
            /// [`Store::put_consent`]). The upsert locks the standing row
            /// until the transaction ends, so the union is taken over what
            /// stands at that moment: of two approvals at once neither
            /// loses the other's scopes, and a consent revoked meanwhile
            /// is not given back the scopes it had.
            async fn upsert_consent(
                conn: &mut <$db as sqlx::Database>::Connection,
                c: &crate::model::Consent,
            ) -> Result<protocol::token::RowId, StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "INSERT INTO consents (user_id, client_id, scopes, created_at, updated_at, last_used_at, id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, client_id) DO UPDATE SET \
                     updated_at = excluded.updated_at, last_used_at = excluded.last_used_at \
                     RETURNING id, scopes",
                )
                .bind(&c.user_id)
                .bind(&c.client_id)
                .bind(c.scopes.to_string())
                .bind(c.created_at)
                .bind(c.updated_at)
                .bind(c.last_used_at)
                .bind(c.id.as_bytes())
                .fetch_one(&mut *conn)
                .await?;
                let id = crate::sql::row_id(&row.try_get::<Vec<u8>, _>(0)?)?;
                let standing = crate::sql::scopes(row.try_get(1)?)?;
                let union = standing.union(&c.scopes);
                if union != standing {
                    sqlx::query("UPDATE consents SET scopes = $1 WHERE id = $2")
                        .bind(union.to_string())
                        .bind(id.as_bytes())
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(id)
            }

            async fn write_redirect_uris(
                tx: &mut sqlx::Transaction<'_, $db>,
                client: &crate::model::Client,
            ) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM client_redirect_uris WHERE client_id = $1")
                    .bind(&client.id)
                    .execute(&mut **tx)
                    .await?;
                for (position, uri) in client.redirect_uris.iter().enumerate() {
                    sqlx::query("INSERT INTO client_redirect_uris (client_id, position, uri) VALUES ($1, $2, $3)")
                        .bind(&client.id)
                        .bind(position as i64)
                        .bind(uri.as_str())
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl crate::Store for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&mut *self.writes.get().await?).await?;
                Ok(())
            }

            async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
                use sqlx::Row as _;
                let migrations: &[crate::migrate::Migration] = $migrations;
                let lock: Option<&str> = $migration_lock;
                // One transaction for the whole run, the lock taken first, so
                // nodes starting together neither race on the bookkeeping
                // table nor apply a migration twice.
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                if let Some(lock) = lock {
                    sqlx::query(lock).execute(&mut *tx).await?;
                }
                sqlx::query(crate::migrate::CREATE_TABLE).execute(&mut *tx).await?;
                let mut applied = Vec::new();
                for m in migrations {
                    let done: Option<i64> =
                        sqlx::query("SELECT version FROM portcullis_migrations WHERE version = $1")
                            .bind(m.version)
                            .fetch_optional(&mut *tx)
                            .await?
                            .map(|r| r.try_get(0))
                            .transpose()?;
                    if done.is_some() {
                        continue;
                    }
                    sqlx::raw_sql(m.sql)
                        .execute(&mut *tx)
                        .await
                        .map_err(|source| StoreError::Migration { version: m.version, source })?;
                    sqlx::query("INSERT INTO portcullis_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                        .bind(m.version)
                        .bind(m.name)
                        .bind(crate::migrate::unix_now())
                        .execute(&mut *tx)
                        .await?;
                    applied.push(m.version);
                }
                tx.commit().await?;
                let newest: Option<i64> = sqlx::query("SELECT MAX(version) FROM portcullis_migrations")
                    .fetch_one(&self.pool)
                    .await?
                    .try_get(0)?;
                match newest {
                    Some(v) if v > migrations.len() as i64 => Err(StoreError::UnknownMigration(v)),
                    _ => Ok(applied),
                }
            }

            async fn insert_user(&self, u: &crate::model::User) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO users (id, username, email, password_hash, disabled, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&u.id)
                .bind(&u.username)
                .bind(&u.email)
                .bind(&u.password_hash)
                .bind(u.disabled)
                .bind(u.created_at)
                .bind(u.updated_at)
                .execute(&mut *self.writes.get().await?)
                .await
                .map_err(|e| StoreError::from_write(e, crate::error::Conflict::Username))?;
                Ok(())
            }

            async fn user_by_id(&self, id: &str) -> Result<Option<crate::model::User>, StoreError> {
                let sql = concat!("SELECT ", crate::sql::user_columns!(), " FROM users WHERE id = $1");
                sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?.as_ref().map(mapping::user).transpose()
            }

            async fn user_by_username(&self, username: &str) -> Result<Option<crate::model::User>, StoreError> {
                let sql = concat!("SELECT ", crate::sql::user_columns!(), " FROM users WHERE username = $1");
                sqlx::query(sql).bind(username).fetch_optional(&self.pool).await?.as_ref().map(mapping::user).transpose()
            }

            async fn list_users(&self) -> Result<Vec<crate::model::User>, StoreError> {
                let sql = concat!("SELECT ", crate::sql::user_columns!(), " FROM users ORDER BY username");
                sqlx::query(sql).fetch_all(&self.pool).await?.iter().map(mapping::user).collect()
            }

            async fn set_user_disabled(&self, username: &str, disabled: bool, now: i64) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE username = $3")
                    .bind(disabled)
                    .bind(now)
                    .bind(username)
                    .execute(&mut *self.writes.get().await?)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn set_user_password(&self, username: &str, hash: &str, now: i64) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE username = $3")
                    .bind(hash)
                    .bind(now)
                    .bind(username)
                    .execute(&mut *self.writes.get().await?)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn insert_client(&self, c: &crate::model::Client) -> Result<(), StoreError> {
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                sqlx::query(
                    "INSERT INTO clients (id, name, description, homepage, owner_id, public, secret_verifier, \
                     previous_secret_verifier, previous_secret_expires_at, grant_types, scopes, access_token_ttl, \
                     refresh_token_ttl, refresh_token_idle_ttl, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(&c.id)
                .bind(&c.name)
                .bind(&c.description)
                .bind(&c.homepage)
                .bind(&c.owner_id)
                .bind(c.public)
                .bind(c.secret.as_ref().map(|v| v.as_bytes()))
                .bind(c.previous_secret.as_ref().map(|(v, _)| v.as_bytes()))
                .bind(c.previous_secret.as_ref().map(|(_, at)| *at))
                .bind(crate::sql::join_grant_types(&c.grant_types))
                .bind(c.scopes.to_string())
                .bind(c.access_token_ttl)
                .bind(c.refresh_token_ttl)
                .bind(c.refresh_token_idle_ttl)
                .bind(c.created_at)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(crate::sql::client_conflict)?;
                Self::write_redirect_uris(&mut tx, c).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn client(&self, id: &str) -> Result<Option<crate::model::Client>, StoreError> {
                let sql = concat!("SELECT ", crate::sql::client_columns!(), " FROM clients WHERE id = $1");
                let Some(row) = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await? else {
                    return Ok(None);
                };
                let mut client = [mapping::client(&row)?];
                self.redirect_uris_of(&mut client, None).await?;
                let [client] = client;
                Ok(Some(client))
            }

            async fn list_clients(&self, owner_id: Option<&str>) -> Result<Vec<crate::model::Client>, StoreError> {
                let sql = concat!(
                    "SELECT ", crate::sql::client_columns!(),
                    " FROM clients WHERE ($1 IS NULL OR owner_id = $1) ORDER BY name, id"
                );
                let mut clients = sqlx::query(sql)
                    .bind(owner_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(mapping::client)
                    .collect::<Result<Vec<_>, _>>()?;
                self.redirect_uris_of(&mut clients, owner_id).await?;
                Ok(clients)
            }

            async fn update_client(&self, c: &crate::model::Client) -> Result<bool, StoreError> {
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let r = sqlx::query(
                    "UPDATE clients SET name = $2, description = $3, homepage = $4, owner_id = $5, public = $6, \
                     grant_types = $7, scopes = $8, access_token_ttl = $9, refresh_token_ttl = $10, \
                     refresh_token_idle_ttl = $11, updated_at = $12 WHERE id = $1",
                )
                .bind(&c.id)
                .bind(&c.name)
                .bind(&c.description)
                .bind(&c.homepage)
                .bind(&c.owner_id)
                .bind(c.public)
                .bind(crate::sql::join_grant_types(&c.grant_types))
                .bind(c.scopes.to_string())
                .bind(c.access_token_ttl)
                .bind(c.refresh_token_ttl)
                .bind(c.refresh_token_idle_ttl)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(crate::sql::client_conflict)?;
                if r.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::write_redirect_uris(&mut tx, c).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn set_client_secret(
                &self,
                id: &str,
                secret: &protocol::token::Verifier,
                previous: Option<(protocol::token::Verifier, i64)>,
                now: i64,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE clients SET secret_verifier = $2, previous_secret_verifier = $3, \
                     previous_secret_expires_at = $4, updated_at = $5 WHERE id = $1",
                )
                .bind(id)
                .bind(secret.as_bytes())
                .bind(previous.as_ref().map(|(v, _)| v.as_bytes()))
                .bind(previous.as_ref().map(|(_, at)| *at))
                .bind(now)
                .execute(&mut *self.writes.get().await?)
                .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                // Deleting the client deletes its consents, which ends the
                // grants issued under them (they go with the purge, or at
                // once on SQLite, whose grants keep their foreign key).
                let r = sqlx::query("DELETE FROM clients WHERE id = $1").bind(id).execute(&mut *tx).await?;
                // The others: PostgreSQL's grants name their client without
                // a foreign key.
                sqlx::query("DELETE FROM grants WHERE client_id = $1 AND consent_id IS NULL")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(r.rows_affected() > 0)
            }

            async fn insert_scope(&self, s: &crate::model::Scope) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO scopes (name, label, description, required_claims, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&s.name)
                .bind(&s.label)
                .bind(&s.description)
                .bind(s.required_claims.join(" "))
                .bind(s.created_at)
                .execute(&mut *self.writes.get().await?)
                .await
                .map_err(|e| StoreError::from_write(e, crate::error::Conflict::ScopeName))?;
                Ok(())
            }

            async fn list_scopes(&self) -> Result<Vec<crate::model::Scope>, StoreError> {
                sqlx::query("SELECT name, label, description, required_claims, created_at FROM scopes ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(mapping::scope)
                    .collect()
            }

            async fn delete_scope(&self, name: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM scopes WHERE name = $1").bind(name).execute(&mut *self.writes.get().await?).await?;
                Ok(r.rows_affected() > 0)
            }

            async fn redeem_code(
                &self,
                grant: &crate::model::Grant,
                code: crate::model::CodeOrigin,
            ) -> Result<crate::model::Redeemed, StoreError> {
                use crate::model::Redeemed;
                let write = crate::batch::Write::Redeem { grant: grant.clone(), code };
                if crate::batch::submit(&self.writer, write).await? == crate::batch::Written::Stored {
                    return Ok(Redeemed::Issued);
                }
                // Committed before the answer came: a grant under the code's
                // id means the code was redeemed before.
                let seen = sqlx::query("SELECT 1 FROM grants WHERE id = $1")
                    .bind(grant.id.as_bytes())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match seen {
                    Some(_) => Redeemed::Replayed { grant_id: Some(grant.id) },
                    None => Redeemed::Missing,
                })
            }

            async fn insert_grant(&self, grant: &crate::model::Grant) -> Result<(), StoreError> {
                let insert = sqlx::query(concat!(
                    "INSERT INTO grants (", crate::sql::grant_columns!(), ") \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ));
                Self::bind_grant(insert, grant).execute(&mut *self.writes.get().await?).await?;
                Ok(())
            }

            async fn grant(&self, id: protocol::token::RowId) -> Result<Option<crate::model::Grant>, StoreError> {
                sqlx::query(concat!("SELECT ", crate::sql::grant_columns!(), " FROM grants WHERE id = $1"))
                    .bind(id.as_bytes())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(mapping::grant)
                    .transpose()
            }

            async fn standing_grant(
                &self,
                id: protocol::token::RowId,
            ) -> Result<Option<crate::model::StandingGrant>, StoreError> {
                let row = sqlx::query(
                    "SELECT g.id, g.client_id, g.user_id, g.scopes, g.claims, g.created_at, g.expires_at, \
                     g.revoked_at, g.generation, g.rotated_at, u.id AS u_id, u.username AS u_username, \
                     u.email AS u_email, u.password_hash AS u_password_hash, u.disabled AS u_disabled, \
                     u.created_at AS u_created_at, u.updated_at AS u_updated_at, \
                     g.consent_id, c.id AS c_id FROM grants g LEFT JOIN users u ON u.id = g.user_id \
                     LEFT JOIN consents c ON c.user_id = g.user_id AND c.client_id = g.client_id \
                     WHERE g.id = $1",
                )
                .bind(id.as_bytes())
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    use sqlx::Row as _;
                    let under: Option<Vec<u8>> = r.try_get("consent_id")?;
                    let standing: Option<Vec<u8>> = r.try_get("c_id")?;
                    Ok(crate::model::StandingGrant {
                        grant: mapping::grant(&r)?,
                        user: mapping::joined_user(&r)?,
                        withdrawn: under.is_some() && under != standing,
                    })
                })
                .transpose()
            }

            async fn rotate_grant(
                &self,
                id: protocol::token::RowId,
                generation: i64,
                now: i64,
            ) -> Result<Option<crate::model::Grant>, StoreError> {
                let write = crate::batch::Write::Rotate { grant: id, generation, now };
                Ok(match crate::batch::submit(&self.writer, write).await? {
                    crate::batch::Written::Rotated(grant) => Some(*grant),
                    _ => None,
                })
            }

            async fn revoke_grant(&self, id: protocol::token::RowId, now: i64) -> Result<bool, StoreError> {
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let r = sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id.as_bytes())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE access_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id.as_bytes())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(r.rows_affected() > 0)
            }

            async fn insert_access_token(
                &self,
                t: &crate::model::AccessToken,
                event: Option<&crate::model::AuditEvent>,
            ) -> Result<(), StoreError> {
                crate::batch::submit(&self.writer, crate::batch::Write::Insert { token: Some(t.clone()), event: event.cloned() })
                    .await
                    .map(drop)
            }

            async fn access_token(
                &self,
                id: protocol::token::RowId,
            ) -> Result<Option<crate::model::AccessToken>, StoreError> {
                sqlx::query(concat!("SELECT ", crate::sql::access_columns!(), " FROM access_tokens WHERE id = $1"))
                    .bind(id.as_bytes())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(mapping::access)
                    .transpose()
            }

            async fn revoke_access_token(&self, id: protocol::token::RowId, now: i64) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id.as_bytes())
                    .execute(&mut *self.writes.get().await?)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn revoke_sealed_access_token(
                &self,
                id: protocol::token::RowId,
                expires_at: i64,
                now: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO revoked_access_tokens (id, expires_at, revoked_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(id.as_bytes())
                .bind(expires_at)
                .bind(now)
                .execute(&mut *self.writes.get().await?)
                .await?;
                Ok(())
            }

            async fn revoked_sealed_access_tokens(
                &self,
                since: i64,
                now: i64,
            ) -> Result<Vec<(protocol::token::RowId, i64)>, StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, expires_at FROM revoked_access_tokens WHERE revoked_at >= $1 AND expires_at > $2",
                )
                .bind(since)
                .bind(now)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let id: Vec<u8> = r.try_get("id")?;
                        let id = protocol::token::RowId::from_slice(&id)
                            .ok_or_else(|| StoreError::Corrupt("a revoked token id is not 16 bytes".into()))?;
                        Ok((id, r.try_get("expires_at")?))
                    })
                    .collect()
            }

            async fn insert_device_code(&self, d: &crate::model::DeviceCode) -> Result<(), StoreError> {
                sqlx::query(concat!(
                    "INSERT INTO device_codes (", crate::sql::device_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                ))
                .bind(d.id.as_bytes())
                .bind(d.verifier.as_bytes())
                .bind(&d.user_code)
                .bind(&d.client_id)
                .bind(d.scopes.to_string())
                .bind(d.status.as_str())
                .bind(&d.user_id)
                .bind(d.interval_secs)
                .bind(d.last_polled_at)
                .bind(d.created_at)
                .bind(d.expires_at)
                .execute(&mut *self.writes.get().await?)
                .await?;
                Ok(())
            }

            async fn device_code(&self, id: protocol::token::RowId) -> Result<Option<crate::model::DeviceCode>, StoreError> {
                sqlx::query(concat!("SELECT ", crate::sql::device_columns!(), " FROM device_codes WHERE id = $1"))
                    .bind(id.as_bytes())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(mapping::device)
                    .transpose()
            }

            async fn device_code_by_user_code(&self, user_code: &[u8]) -> Result<Option<crate::model::DeviceCode>, StoreError> {
                sqlx::query(concat!("SELECT ", crate::sql::device_columns!(), " FROM device_codes WHERE user_code = $1"))
                    .bind(user_code)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(mapping::device)
                    .transpose()
            }

            async fn decide_device_code(
                &self,
                id: protocol::token::RowId,
                user_id: &str,
                approved: Option<&crate::model::Consent>,
            ) -> Result<bool, StoreError> {
                let status = match approved {
                    Some(_) => crate::model::DeviceStatus::Approved,
                    None => crate::model::DeviceStatus::Denied,
                };
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let r = sqlx::query("UPDATE device_codes SET status = $1, user_id = $2 WHERE id = $3 AND status = 'pending'")
                    .bind(status.as_str())
                    .bind(user_id)
                    .bind(id.as_bytes())
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                if let Some(c) = approved {
                    // The code remembers the consent that stands now (this
                    // one, or the one it widened), and issues only under it.
                    let standing = Self::upsert_consent(&mut *tx, c).await?;
                    sqlx::query("UPDATE device_codes SET consent_id = $1 WHERE id = $2")
                    .bind(standing.as_bytes())
                    .bind(id.as_bytes())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn record_device_poll(&self, id: protocol::token::RowId, now: i64, interval_secs: i64) -> Result<(), StoreError> {
                sqlx::query("UPDATE device_codes SET last_polled_at = $1, interval_secs = $2 WHERE id = $3")
                    .bind(now)
                    .bind(interval_secs)
                    .bind(id.as_bytes())
                    .execute(&mut *self.writes.get().await?)
                    .await?;
                Ok(())
            }

            async fn redeem_device_code(
                &self,
                id: protocol::token::RowId,
                grant: &crate::model::Grant,
            ) -> Result<crate::model::Redeemed, StoreError> {
                use crate::model::Redeemed;
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let spent = sqlx::query("UPDATE device_codes SET status = 'consumed' WHERE id = $1 AND status = 'approved'")
                    .bind(id.as_bytes())
                    .execute(&mut *tx)
                    .await?;
                if spent.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(Redeemed::Replayed { grant_id: None });
                }
                if !Self::insert_grant_under(&mut *tx, crate::sql::UNDER_DEVICE_CONSENT, grant, id).await? {
                    tx.rollback().await?;
                    return Ok(Redeemed::Missing);
                }
                tx.commit().await?;
                Ok(Redeemed::Issued)
            }

            async fn insert_pairing_code(
                &self,
                p: &crate::model::PairingCode,
                consent: &crate::model::Consent,
            ) -> Result<(), StoreError> {
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                // The code remembers the consent that stands now (this one,
                // or the one it widened), and issues only under it.
                let standing = Self::upsert_consent(&mut *tx, consent).await?;
                sqlx::query(concat!(
                    "INSERT INTO pairing_codes (", crate::sql::pairing_columns!(), ", consent_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .bind(p.id.as_bytes())
                .bind(&p.lookup)
                .bind(&p.client_id)
                .bind(&p.user_id)
                .bind(p.scopes.to_string())
                .bind(p.created_at)
                .bind(p.expires_at)
                .bind(p.consumed_at)
                .bind(standing.as_bytes())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn pairing_code(&self, lookup: &[u8]) -> Result<Option<crate::model::PairingCode>, StoreError> {
                sqlx::query(concat!("SELECT ", crate::sql::pairing_columns!(), " FROM pairing_codes WHERE lookup = $1"))
                    .bind(lookup)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(mapping::pairing)
                    .transpose()
            }

            async fn redeem_pairing_code(
                &self,
                id: protocol::token::RowId,
                now: i64,
                grant: &crate::model::Grant,
            ) -> Result<crate::model::Redeemed, StoreError> {
                use crate::model::Redeemed;
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let spent = sqlx::query("UPDATE pairing_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL")
                    .bind(now)
                    .bind(id.as_bytes())
                    .execute(&mut *tx)
                    .await?;
                if spent.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(Redeemed::Replayed { grant_id: None });
                }
                if !Self::insert_grant_under(&mut *tx, crate::sql::UNDER_PAIRING_CONSENT, grant, id).await? {
                    tx.rollback().await?;
                    return Ok(Redeemed::Missing);
                }
                tx.commit().await?;
                Ok(Redeemed::Issued)
            }

            async fn insert_personal_access_token(&self, t: &crate::model::PersonalAccessToken) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO personal_access_tokens (id, verifier, user_id, name, created_at, last_used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(t.id.as_bytes())
                .bind(t.verifier.as_bytes())
                .bind(&t.user_id)
                .bind(&t.name)
                .bind(t.created_at)
                .bind(t.last_used_at)
                .execute(&mut *self.writes.get().await?)
                .await?;
                Ok(())
            }

            async fn personal_access_token(
                &self,
                id: protocol::token::RowId,
            ) -> Result<Option<crate::model::PersonalAccessToken>, StoreError> {
                sqlx::query(
                    "SELECT id, verifier, user_id, name, created_at, last_used_at FROM personal_access_tokens WHERE id = $1",
                )
                .bind(id.as_bytes())
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(mapping::pat)
                .transpose()
            }

            async fn touch_personal_access_token(&self, id: protocol::token::RowId, now: i64) -> Result<(), StoreError> {
                sqlx::query("UPDATE personal_access_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id.as_bytes())
                    .execute(&mut *self.writes.get().await?)
                    .await?;
                Ok(())
            }

            async fn list_personal_access_tokens(
                &self,
                user_id: &str,
            ) -> Result<Vec<crate::model::PersonalAccessToken>, StoreError> {
                sqlx::query(
                    "SELECT id, verifier, user_id, name, created_at, last_used_at FROM personal_access_tokens \
                     WHERE user_id = $1 ORDER BY created_at, id",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(mapping::pat)
                .collect()
            }

            async fn delete_personal_access_token(&self, user_id: &str, id: protocol::token::RowId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM personal_access_tokens WHERE id = $1 AND user_id = $2")
                    .bind(id.as_bytes())
                    .bind(user_id)
                    .execute(&mut *self.writes.get().await?)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn insert_session(&self, s: &crate::model::Session) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (id, verifier, user_id, created_at, expires_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(s.id.as_bytes())
                .bind(s.verifier.as_bytes())
                .bind(&s.user_id)
                .bind(s.created_at)
                .bind(s.expires_at)
                .bind(s.last_seen_at)
                .execute(&mut *self.writes.get().await?)
                .await?;
                Ok(())
            }

            async fn session(&self, id: protocol::token::RowId) -> Result<Option<crate::model::Session>, StoreError> {
                sqlx::query("SELECT id, verifier, user_id, created_at, expires_at, last_seen_at FROM sessions WHERE id = $1")
                    .bind(id.as_bytes())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(mapping::session)
                    .transpose()
            }

            async fn delete_session(&self, id: protocol::token::RowId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id.as_bytes()).execute(&mut *self.writes.get().await?).await?;
                Ok(r.rows_affected() > 0)
            }

            async fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<crate::model::Consent>, StoreError> {
                sqlx::query(
                    "SELECT id, user_id, client_id, scopes, created_at, updated_at, last_used_at FROM consents \
                     WHERE user_id = $1 AND client_id = $2",
                )
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(mapping::consent)
                .transpose()
            }

            async fn put_consent(&self, c: &crate::model::Consent) -> Result<protocol::token::RowId, StoreError> {
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let standing = Self::upsert_consent(&mut *tx, c).await?;
                tx.commit().await?;
                Ok(standing)
            }

            async fn list_consents(&self, user_id: &str) -> Result<Vec<crate::model::Consent>, StoreError> {
                sqlx::query(
                    "SELECT id, user_id, client_id, scopes, created_at, updated_at, last_used_at FROM consents \
                     WHERE user_id = $1 ORDER BY last_used_at DESC, client_id",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(mapping::consent)
                .collect()
            }

            async fn record_consent_use(&self, uses: &[(String, String, i64)]) -> Result<(), StoreError> {
                if uses.is_empty() {
                    return Ok(());
                }
                // In key order, so that nodes recording the same consents
                // at once lock them in the same order.
                let mut uses: Vec<_> = uses.iter().collect();
                uses.sort_unstable();
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                for (user_id, client_id, at) in uses {
                    sqlx::query(
                        "UPDATE consents SET last_used_at = $3 \
                         WHERE user_id = $1 AND client_id = $2 AND last_used_at < $3",
                    )
                    .bind(user_id)
                    .bind(client_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn revoke_authorization(&self, user_id: &str, client_id: &str, now: i64) -> Result<bool, StoreError> {
                let mut conn = self.writes.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let consent = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
                // That ends the grants issued under it; the others name no
                // consent, and are found by client and user.
                let mut revoked = consent.rows_affected();
                for sql in [
                    "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 \
                     AND consent_id IS NULL AND revoked_at IS NULL",
                    // Through the grants, so the token tables need no extra index.
                    "UPDATE access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND grant_id IN \
                     (SELECT id FROM grants WHERE user_id = $2 AND client_id = $3 AND consent_id IS NULL)",
                ] {
                    let r = sqlx::query(sql).bind(now).bind(user_id).bind(client_id).execute(&mut *tx).await?;
                    revoked += r.rows_affected();
                }
                tx.commit().await?;
                Ok(revoked > 0)
            }

            async fn client_usage(&self, owner_id: &str) -> Result<Vec<(String, i64, Option<i64>)>, StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT c.client_id, COUNT(*) AS users, MAX(c.last_used_at) AS last_used_at \
                     FROM clients k JOIN consents c ON c.client_id = k.id \
                     WHERE k.owner_id = $1 GROUP BY c.client_id",
                )
                .bind(owner_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("client_id")?, r.try_get("users")?, r.try_get("last_used_at")?)))
                    .collect()
            }

            async fn server_secret(&self, name: &str, candidate: &[u8], now: i64) -> Result<Vec<u8>, StoreError> {
                use sqlx::Row as _;
                sqlx::query("INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(candidate)
                    .bind(now)
                    .execute(&mut *self.writes.get().await?)
                    .await?;
                let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get("value")?)
            }

            async fn insert_audit_event(&self, e: &crate::model::AuditEvent) -> Result<(), StoreError> {
                crate::batch::submit(&self.writer, crate::batch::Write::Insert { token: None, event: Some(e.clone()) })
                    .await
                    .map(drop)
            }

            async fn recent_audit_events(&self, limit: i64) -> Result<Vec<crate::model::AuditEvent>, StoreError> {
                sqlx::query("SELECT at, kind, user_id, client_id, ip, detail FROM audit_events ORDER BY id DESC LIMIT $1")
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(mapping::audit)
                    .collect()
            }

            async fn purge_expired(&self, before: i64, limit: i64) -> Result<u64, StoreError> {
                const PURGE: &[&str] = &[
                    "DELETE FROM access_tokens WHERE id IN (SELECT id FROM access_tokens \
                     WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
                    "DELETE FROM device_codes WHERE id IN (SELECT id FROM device_codes \
                     WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
                    "DELETE FROM pairing_codes WHERE id IN (SELECT id FROM pairing_codes \
                     WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
                    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
                     WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
                    "DELETE FROM revoked_access_tokens WHERE id IN (SELECT id FROM revoked_access_tokens \
                     WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
                ];
                let mut deleted = 0;
                for sql in PURGE {
                    let r = sqlx::query(*sql).bind(before).bind(limit).execute(&mut *self.writes.get().await?).await?;
                    deleted += r.rows_affected();
                }
                Ok(deleted)
            }

            async fn sweep_grants(
                &self,
                before: i64,
                after: Option<protocol::token::RowId>,
                scan: i64,
            ) -> Result<(u64, Option<protocol::token::RowId>), StoreError> {
                use sqlx::Row as _;
                // Every key is 16 bytes: the empty one sorts before them all.
                let from = after.as_ref().map_or(&[][..], |id| id.as_bytes());
                let last = sqlx::query("SELECT id FROM grants WHERE id > $1 ORDER BY id LIMIT 1 OFFSET $2")
                    .bind(from)
                    .bind(scan.max(1) - 1)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| -> Result<_, StoreError> { crate::sql::row_id(&r.try_get::<Vec<u8>, _>("id")?) })
                    .transpose()?;
                // Short of `scan` grants left: this sweep reaches the end.
                let to = last.map_or([0xff; 16], |id| id.0);
                let r = sqlx::query(
                    "DELETE FROM grants WHERE id > $1 AND id <= $2 AND expires_at < $3 \
                     AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.grant_id = grants.id)",
                )
                .bind(from)
                .bind(&to[..])
                .bind(before)
                .execute(&mut *self.writes.get().await?)
                .await?;
                Ok((r.rows_affected(), last))
            }
        }
    };
}

pub(crate) use implement_store;
