//! Persistence for Portcullis: a narrow [`Store`] interface and its SQLite
//! and PostgreSQL implementations, with versioned migrations for both.
//!
//! The store holds no policy. It persists and finds records and offers the
//! atomic operations the protocol needs (a code is consumed exactly once,
//! even under concurrent requests); deciding what is expired, allowed or
//! revoked is the caller's job.

mod batch;
mod error;
mod migrate;
pub mod model;
mod postgres;
mod sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use protocol::token::RowId;

pub use error::StoreError;
/// The kinds of [`StoreError::Conflict`].
pub mod error_kind {
    pub use crate::error::Conflict;
}
pub use model::*;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Everything Portcullis keeps, behind one interface.
///
/// Methods that change one record and report whether it existed return
/// `Ok(false)` when it did not; `Err` is reserved for conflicts and for the
/// database failing.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Applies pending migrations; returns the versions applied.
    async fn migrate(&self) -> Result<Vec<i64>, StoreError>;

    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;
    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    async fn set_user_password(
        &self,
        username: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Inserts a client and its redirect URIs in one transaction.
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    /// Every client, or those of one owner, ordered by name.
    async fn list_clients(&self, owner_id: Option<&str>) -> Result<Vec<Client>, StoreError>;
    /// Replaces a client's metadata and redirect URIs (not its secrets) in one transaction.
    async fn update_client(&self, client: &Client) -> Result<bool, StoreError>;
    /// Replaces the secret; `previous` keeps the old one valid until its expiry.
    async fn set_client_secret(
        &self,
        id: &str,
        secret: &protocol::token::Verifier,
        previous: Option<(protocol::token::Verifier, UnixTime)>,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Deletes a client and, with it, its consents (which ends the grants
    /// issued under them: on PostgreSQL their rows stay until the purge)
    /// and every other grant, code and token it holds.
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError>;

    async fn insert_scope(&self, scope: &Scope) -> Result<(), StoreError>;
    async fn list_scopes(&self) -> Result<Vec<Scope>, StoreError>;
    async fn delete_scope(&self, name: &str) -> Result<bool, StoreError>;

    /// Stores the grant an authorization code issues, under the code's id,
    /// in the group commit. Of any number of concurrent calls
    /// for one code, exactly one gets [`Redeemed::Issued`]; a later one
    /// gets [`Redeemed::Replayed`] with the grant to revoke. Nothing is
    /// stored, and the answer is [`Redeemed::Missing`], when the consent
    /// the code was issued under no longer stands (the user revoked the app
    /// since: a consent given again has a new id), or, for a code that
    /// names no consent, when the user's consent for the client is gone or
    /// was given after the code. The grant names that consent and lives only
    /// while it stands: a revocation or a deletion of the client that runs
    /// at the same time either comes first (nothing is stored) or ends the
    /// grant by deleting the consent.
    async fn redeem_code(&self, grant: &Grant, code: CodeOrigin) -> Result<Redeemed, StoreError>;
    /// Stores a grant as it is, with nothing else spent: for the caller
    /// that already holds what vouches for its client and user. Only
    /// SQLite refuses an unknown client or user here
    /// ([`StoreError::MissingReference`]); PostgreSQL's grants have no
    /// foreign keys (migration 9), and the server stores every grant through
    /// a redemption that names its consent: this is for tests and tools.
    /// Such a grant names no consent.
    async fn insert_grant(&self, grant: &Grant) -> Result<(), StoreError>;
    async fn grant(&self, id: RowId) -> Result<Option<Grant>, StoreError>;
    /// A grant with its user, in one read.
    async fn standing_grant(&self, id: RowId) -> Result<Option<StandingGrant>, StoreError>;
    /// Revokes a grant and every access token stored for it.
    async fn revoke_grant(&self, id: RowId, now: UnixTime) -> Result<bool, StoreError>;
    /// Rotates a grant's refresh token: moves the grant from `generation`
    /// to the next, atomically, if it is at `generation`, unrevoked,
    /// unexpired at `now`, its user is not disabled and the consent it
    /// names (if any) stands. Of any number of
    /// concurrent calls for one generation, exactly one gets the grant as
    /// it now is; the others get `None` and nothing is written. Concurrent
    /// calls share a transaction (group commit).
    async fn rotate_grant(
        &self,
        id: RowId,
        generation: i64,
        now: UnixTime,
    ) -> Result<Option<Grant>, StoreError>;

    /// Stores an access token and, in the same transaction, its audit
    /// event; answers once both are durable. Concurrent calls share a
    /// transaction (group commit).
    async fn insert_access_token(
        &self,
        token: &AccessToken,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError>;
    async fn access_token(&self, id: RowId) -> Result<Option<AccessToken>, StoreError>;
    async fn revoke_access_token(&self, id: RowId, now: UnixTime) -> Result<bool, StoreError>;
    /// Puts a sealed access token (one without a row) on the deny-list
    /// until it expires. Revoking it again changes nothing.
    async fn revoke_sealed_access_token(
        &self,
        id: RowId,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// The deny-list entries revoked at or after `since` that expire after
    /// `now`: (id, expiry).
    async fn revoked_sealed_access_tokens(
        &self,
        since: UnixTime,
        now: UnixTime,
    ) -> Result<Vec<(RowId, UnixTime)>, StoreError>;

    async fn insert_device_code(&self, code: &DeviceCode) -> Result<(), StoreError>;
    async fn device_code(&self, id: RowId) -> Result<Option<DeviceCode>, StoreError>;
    async fn device_code_by_user_code(
        &self,
        user_code: &[u8],
    ) -> Result<Option<DeviceCode>, StoreError>;
    /// Records the user's decision on a pending device authorization and,
    /// with an approval, the consent it gives (as [`Store::put_consent`]),
    /// in one transaction; `false` when it was no longer pending (and then
    /// no consent is stored).
    async fn decide_device_code(
        &self,
        id: RowId,
        user_id: &str,
        approved: Option<&Consent>,
    ) -> Result<bool, StoreError>;
    /// Records a poll and the polling interval from now on.
    async fn record_device_poll(
        &self,
        id: RowId,
        now: UnixTime,
        interval_secs: i64,
    ) -> Result<(), StoreError>;
    /// Spends an approved device code and stores what it issues, in one
    /// transaction: [`Redeemed::Issued`]; [`Redeemed::Replayed`] when it was
    /// not (or no longer) approved; [`Redeemed::Missing`] when the consent
    /// the approval gave is gone (the user revoked the app since, even if
    /// the app was authorized again after). The
    /// grant names that consent and lives only while it stands.
    async fn redeem_device_code(&self, id: RowId, grant: &Grant) -> Result<Redeemed, StoreError>;

    /// Stores a pairing code and the consent it gives (as
    /// [`Store::put_consent`]), in one transaction; the code remembers the
    /// consent that then stands.
    async fn insert_pairing_code(
        &self,
        code: &PairingCode,
        consent: &Consent,
    ) -> Result<(), StoreError>;
    async fn pairing_code(&self, lookup: &[u8]) -> Result<Option<PairingCode>, StoreError>;
    /// Spends a pairing code and stores what it issues, in one transaction:
    /// of concurrent calls, exactly one gets [`Redeemed::Issued`];
    /// [`Redeemed::Missing`] when the consent the code gave is gone. The
    /// grant names that consent and lives only while it stands.
    async fn redeem_pairing_code(
        &self,
        id: RowId,
        now: UnixTime,
        grant: &Grant,
    ) -> Result<Redeemed, StoreError>;

    async fn insert_personal_access_token(
        &self,
        token: &PersonalAccessToken,
    ) -> Result<(), StoreError>;
    async fn personal_access_token(
        &self,
        id: RowId,
    ) -> Result<Option<PersonalAccessToken>, StoreError>;
    async fn touch_personal_access_token(&self, id: RowId, now: UnixTime)
    -> Result<(), StoreError>;
    async fn list_personal_access_tokens(
        &self,
        user_id: &str,
    ) -> Result<Vec<PersonalAccessToken>, StoreError>;
    /// Deletes one of a user's tokens; `false` when the user has no such token.
    async fn delete_personal_access_token(
        &self,
        user_id: &str,
        id: RowId,
    ) -> Result<bool, StoreError>;

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn session(&self, id: RowId) -> Result<Option<Session>, StoreError>;
    async fn delete_session(&self, id: RowId) -> Result<bool, StoreError>;

    async fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<Consent>, StoreError>;
    /// Creates the consent of a user for a client, or adds its scopes to
    /// the one that stands and takes its times of update and use (the
    /// standing one keeps its id, time of creation and other scopes).
    /// The union is taken in the write, under a lock of the row, never
    /// from an earlier read. Returns the id of the consent that stands.
    async fn put_consent(&self, consent: &Consent) -> Result<RowId, StoreError>;

    /// Every consent a user has given, most recently used first.
    async fn list_consents(&self, user_id: &str) -> Result<Vec<Consent>, StoreError>;
    /// Records when consents were last used, each `(user_id, client_id,
    /// at)`, in one transaction; a consent already used later keeps its
    /// time, and one that is gone is skipped.
    async fn record_consent_use(
        &self,
        uses: &[(String, String, UnixTime)],
    ) -> Result<(), StoreError>;
    /// Ends what a user allowed a client, in one transaction: the consent
    /// goes, which ends the grants issued under it, and every other grant
    /// and token of that user for that client is revoked. `false` when
    /// there was nothing to end.
    async fn revoke_authorization(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// How many users have authorized each of an owner's clients, and when
    /// one last did: `(client_id, users, last_used_at)`.
    async fn client_usage(
        &self,
        owner_id: &str,
    ) -> Result<Vec<(String, i64, Option<UnixTime>)>, StoreError>;

    /// The secret stored under `name`, storing `candidate` first if there is
    /// none. Concurrent first calls on several nodes all get the same value.
    async fn server_secret(
        &self,
        name: &str,
        candidate: &[u8],
        now: UnixTime,
    ) -> Result<Vec<u8>, StoreError>;

    /// Stores an audit event; concurrent calls share a transaction.
    async fn insert_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The most recent events, newest first.
    async fn recent_audit_events(&self, limit: i64) -> Result<Vec<AuditEvent>, StoreError>;

    /// Deletes what expired before `before` and is no longer needed, oldest
    /// first and at most `limit` rows of each kind per call, each kind in its
    /// own short statement so no write lock is held for long: access tokens;
    /// device codes; pairing codes; revoked sealed tokens' deny-list entries;
    /// sessions. Grants go by [`Store::sweep_grants`]; audit events are kept.
    /// Returns the rows deleted; call again until it returns 0.
    async fn purge_expired(&self, before: UnixTime, limit: i64) -> Result<u64, StoreError>;
    /// Looks at the `scan` grants that follow `after` in key order (from the
    /// first when `None`) and deletes those that expired before `before`
    /// (kept until then, so a replayed code or a spent refresh token is still
    /// recognised) once no stored access token refers to them. Returns the
    /// rows deleted and the key to go on after, `None` once the last grant
    /// was looked at.
    ///
    /// Grants have no index by expiry: every code exchange stores one, and an
    /// index is one more B-tree written each time. A sweep in key order costs
    /// reads instead, spread over as many passes as the purge likes.
    async fn sweep_grants(
        &self,
        before: UnixTime,
        after: Option<RowId>,
        scan: i64,
    ) -> Result<(u64, Option<RowId>), StoreError>;
}

/// Opens the database a URL names: `sqlite:` (the file is created when
/// missing) or `postgres:`/`postgresql:`.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    match url.split_once(':').map(|(scheme, _)| scheme) {
        Some("sqlite") => Ok(Arc::new(SqliteStore::connect(url).await?)),
        Some("postgres" | "postgresql") => Ok(Arc::new(PostgresStore::connect(url).await?)),
        _ => Err(StoreError::UnsupportedUrl(redact_url(url))),
    }
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
