//! Portcullis's use cases: load the facts, let `protocol` decide, persist
//! the outcome, leave an audit event. Shared by the HTTP edge and the admin
//! CLI; knows nothing about HTTP.

pub mod authorize;
mod cache;
pub mod claims;
pub mod clients;
pub mod clock;
pub mod device;
mod error;
pub mod oauth;
mod policy;
pub mod portal;
pub mod purge;
pub mod scopes;
pub mod sealed;
mod secrets;
pub mod sessions;
pub mod users;

use std::sync::Arc;

use store::{AuditEvent, Store};

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ServiceError;
pub use policy::Policy;
/// The records callers see, so the HTTP edge needs no storage types of its own.
pub use store::{Client, Consent, Scope, User};

/// Who asked for a change, for the audit trail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The signed-in user, when there is one.
    pub user_id: Option<String>,
    /// The peer address, or `"cli"` for the admin commands.
    pub ip: Option<String>,
}

impl Origin {
    pub fn cli() -> Origin {
        Origin {
            user_id: None,
            ip: Some("cli".to_owned()),
        }
    }
}

/// The use cases, over one store and one clock.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: Arc<Policy>,
    keys: Arc<Keys>,
    device_attempts: Arc<device::AttemptLimiter>,
    login_attempts: Arc<device::AttemptLimiter>,
    clients: Arc<cache::ClientCache>,
    scopes: Arc<cache::ScopeCache>,
    grants: Arc<cache::GrantCache>,
    revoked: Arc<sealed::DenyList>,
    issued: Arc<sealed::IssuanceLog>,
    /// Where the purge's sweep of grants goes on from (`None`: the first).
    grant_sweep: Arc<std::sync::Mutex<Option<protocol::token::RowId>>>,
}

/// Keys the server generates once and keeps in the store, so every node
/// of a deployment shares them.
struct Keys {
    /// Derives the ids and nonces of a rotation's tokens from the refresh token presented.
    successor: Vec<u8>,
    /// Seals the pending authorization request carried by the consent form.
    interaction: Vec<u8>,
    /// Keys the lookup hashes of user codes and pairing codes.
    user_codes: Vec<u8>,
    /// Seals access and refresh tokens.
    access: Vec<u8>,
}

impl Service {
    /// Opens the service over a migrated store, creating the server keys on
    /// first use.
    pub async fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        policy: Policy,
    ) -> Result<Service, ServiceError> {
        let now = clock.now();
        let successor = store
            .server_secret("refresh-successor", &secrets::random::<32>()?, now)
            .await?;
        let interaction = store
            .server_secret("interaction", &secrets::random::<32>()?, now)
            .await?;
        let user_codes = store
            .server_secret("user-codes", &secrets::random::<32>()?, now)
            .await?;
        let access = store
            .server_secret("access-tokens", &secrets::random::<32>()?, now)
            .await?;
        let service = Service {
            store,
            clock,
            policy: Arc::new(policy),
            keys: Arc::new(Keys {
                successor,
                interaction,
                user_codes,
                access,
            }),
            device_attempts: Arc::new(device::AttemptLimiter::default()),
            login_attempts: Arc::new(device::AttemptLimiter::default()),
            clients: Arc::new(cache::ClientCache::default()),
            scopes: Arc::new(cache::ScopeCache::default()),
            grants: Arc::new(cache::GrantCache::default()),
            revoked: Arc::new(sealed::DenyList::default()),
            issued: Arc::new(sealed::IssuanceLog::default()),
            grant_sweep: Arc::default(),
        };
        service.sync_revocations().await?;
        Ok(service)
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// An audit event stamped now.
    pub(crate) fn audit_event(
        &self,
        kind: &str,
        origin: &Origin,
        client_id: Option<&str>,
        detail: String,
    ) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            kind: kind.to_owned(),
            user_id: origin.user_id.clone(),
            client_id: client_id.map(str::to_owned),
            ip: origin.ip.clone(),
            detail,
        }
    }

    /// Records an audit event. The change it describes has already happened,
    /// so a failure to record it is logged rather than undoing the change.
    pub(crate) async fn audit(
        &self,
        kind: &str,
        origin: &Origin,
        client_id: Option<&str>,
        detail: String,
    ) {
        if let Err(e) = self.try_audit(kind, origin, client_id, detail).await {
            tracing::error!(kind, error = %e, "could not record an audit event");
        }
    }

    /// Records an audit event, for a caller that can keep what failed.
    pub(crate) async fn try_audit(
        &self,
        kind: &str,
        origin: &Origin,
        client_id: Option<&str>,
        detail: String,
    ) -> Result<(), store::StoreError> {
        let event = self.audit_event(kind, origin, client_id, detail);
        self.store.insert_audit_event(&event).await
    }
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), ServiceError> {
    getrandom::fill(buf)
        .map_err(|e| ServiceError::Internal(format!("OS random number generator: {e}")))
}
