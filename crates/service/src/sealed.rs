//! Sealed tokens and codes (`protocol::sealed` and `protocol::sealed_code`
//! have the formats):
//!
//! - **A client's own access token** (client_credentials without claims) is
//!   issued without a write and checked without a read.
//! - **Tokens of a user's grant.** Its access tokens are issued without a
//!   write and checked with one read of the grant (revoked? gone?); its
//!   refresh token names the grant's generation, and rotating it is one
//!   conditional update of the grant.
//!
//! - **Authorization codes** are issued without a write and redeemed
//!   without a read: redeeming one stores its grant under the code's id.
//!
//! - **Revocation** puts the token's id on a deny-list in the store until the
//!   token expires. Every node mirrors the list in memory: a revocation
//!   through a node applies there at once, and on the other nodes within
//!   [`SYNC_INTERVAL`].
//! - **A deleted client's tokens** stop working as soon as the client is gone
//!   from the client cache (at once on the node that deleted it, within
//!   `client_cache_ttl` elsewhere).
//! - **Issuance is audited in aggregate.** Nothing is stored per token, so
//!   each node counts client_credentials tokens, code exchanges and refresh
//!   rotations per client and address and writes one `token.issued` or
//!   `token.refreshed` event per pair every [`AUDIT_INTERVAL`] (and when it
//!   stops). A code's grant records when and for whom it was issued, a
//!   rotation's grant the latest rotation.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use protocol::ScopeSet;
use protocol::sealed::{self, GrantRef, Sealed};
use protocol::sealed_code::{self, SealedCode};
use protocol::token::{Kind, RowId};
use store::Client;

use crate::{Origin, Service, ServiceError, secrets};

/// How often a node reads the revocations other nodes made.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// How often a node writes its aggregated issuance events.
pub const AUDIT_INTERVAL: Duration = Duration::from_secs(10);
/// How far back each read of the deny-list reaches, so a node whose clock
/// is a little behind another's still sees what that node revoked.
const SYNC_OVERLAP: i64 = 30;

/// The revoked sealed tokens that have not expired, by id.
#[derive(Debug, Default)]
pub(crate) struct DenyList {
    entries: RwLock<HashMap<RowId, i64>>,
    /// When the store was last read (the service clock's seconds).
    synced_at: Mutex<Option<i64>>,
}

impl DenyList {
    pub(crate) fn contains(&self, id: RowId) -> bool {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&id)
    }

    fn insert(&self, entries: impl IntoIterator<Item = (RowId, i64)>, now: i64) {
        let mut map = self.entries.write().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, expires_at| *expires_at > now);
        map.extend(entries);
    }
}

/// What the issuance log counts instead of writing an event each time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Counted {
    /// A sealed client_credentials access token.
    ClientToken,
    /// An authorization code redeemed (its grant records when and for whom).
    CodeExchange,
    /// A refresh-token rotation (the grant itself records the latest, and
    /// the consent it was issued under its last use).
    Rotation,
}

impl Counted {
    fn kind(self) -> &'static str {
        match self {
            Counted::ClientToken | Counted::CodeExchange => "token.issued",
            Counted::Rotation => "token.refreshed",
        }
    }

    fn detail(self, count: u64) -> String {
        match self {
            Counted::ClientToken => format!("grant=client_credentials sealed count={count}"),
            Counted::CodeExchange => format!("grant=authorization_code count={count}"),
            Counted::Rotation => format!("grant=refresh_token count={count}"),
        }
    }
}

/// The value under `key`, made on first use: looked up by reference, so a
/// key is allocated once, not on every call.
fn slot<'m, V: Default>(map: &'m mut HashMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("just inserted")
}

/// Counts by kind, client and address.
type Counts = HashMap<Counted, HashMap<String, HashMap<String, u64>>>;

/// What was issued since the last flush, by kind, client and then address
/// (`""` when unknown). Keys are allocated once per triple, not per token.
#[derive(Debug, Default)]
pub(crate) struct IssuanceLog {
    counts: Mutex<Counts>,
    /// When each user's consent to a client was last used by a refresh, by
    /// client and then user (keys allocated once per consent, not per use).
    uses: Mutex<HashMap<String, HashMap<String, i64>>>,
}

impl IssuanceLog {
    pub(crate) fn record(&self, what: Counted, client_id: &str, ip: Option<&str>) {
        self.add(what, client_id, ip.unwrap_or(""), 1);
    }

    fn add(&self, what: Counted, client_id: &str, ip: &str, count: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let per_ip = slot(counts.entry(what).or_default(), client_id);
        *slot(per_ip, ip) += count;
    }

    /// A refresh used the consent of `user_id` to `client_id` at `at`.
    pub(crate) fn used(&self, user_id: &str, client_id: &str, at: i64) {
        let mut uses = self.uses.lock().unwrap_or_else(|e| e.into_inner());
        let last = slot(slot(&mut uses, client_id), user_id);
        *last = (*last).max(at);
    }

    fn take(&self) -> Counts {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn take_uses(&self) -> Vec<(String, String, i64)> {
        let uses = std::mem::take(&mut *self.uses.lock().unwrap_or_else(|e| e.into_inner()));
        uses.into_iter()
            .flat_map(|(client_id, per_user)| {
                per_user
                    .into_iter()
                    .map(move |(user_id, at)| (user_id, client_id.clone(), at))
            })
            .collect()
    }
}

impl Service {
    /// A sealed access token for `client` itself, or `None` when its id or
    /// scope is too long to seal (a row-backed token is issued instead).
    pub(crate) fn seal_client_token(
        &self,
        client: &Client,
        scope: &ScopeSet,
        expires_at: i64,
        now: i64,
        origin: &Origin,
    ) -> Result<Option<String>, ServiceError> {
        let token = Sealed {
            id: secrets::row_id(self.clock.now_millis())?,
            issued_at: now,
            expires_at,
            client_id: client.id.clone(),
            scope: scope.to_string(),
            grant: None,
        };
        let sealed = sealed::seal(
            Kind::AccessToken,
            &token,
            &secrets::random::<32>()?,
            &self.keys.access,
        );
        if sealed.is_some() {
            self.issued
                .record(Counted::ClientToken, &client.id, origin.ip.as_deref());
        }
        Ok(sealed)
    }

    /// Seals a token of a user's grant. Its id and nonce are fresh, or,
    /// for a rotation, derived from the refresh token presented so that a
    /// retry is answered with the same token.
    pub(crate) fn seal_grant_token(
        &self,
        kind: Kind,
        token: Sealed,
        derived_from: Option<&str>,
    ) -> Result<(RowId, String), ServiceError> {
        let (id, nonce) = match derived_from {
            None => (
                secrets::row_id(self.clock.now_millis())?,
                secrets::random::<32>()?,
            ),
            Some(presented) => {
                let key = &self.keys.successor;
                let label = kind.prefix();
                let random = sealed::derive(key, &format!("{label}id"), presented);
                let mut tail = [0u8; 10];
                tail.copy_from_slice(&random[..10]);
                let millis = u64::try_from(token.issued_at.max(0)).unwrap_or(0) * 1000;
                (
                    RowId::new(millis, tail),
                    sealed::derive(key, &format!("{label}nonce"), presented),
                )
            }
        };
        let token = Sealed { id, ..token };
        sealed::seal(kind, &token, &nonce, &self.keys.access)
            .map(|sealed| (id, sealed))
            .ok_or_else(|| ServiceError::Internal("the grant's scope is too long to seal".into()))
    }

    /// Seals an authorization code (`protocol::sealed_code` has the format).
    pub(crate) fn seal_code(&self, code: &SealedCode) -> Result<String, ServiceError> {
        sealed_code::seal(code, &secrets::random::<32>()?, &self.keys.access).ok_or_else(|| {
            ServiceError::Internal("the authorization request is too long to seal".into())
        })
    }

    /// A presented authorization code that is authentic (expiry, client and
    /// single use are the caller's to check).
    pub(crate) fn opened_code(&self, presented: &str) -> Option<SealedCode> {
        sealed_code::open(presented, &self.keys.access)
    }

    /// A presented sealed access token that is authentic, unexpired and not
    /// revoked on its own (its grant is the caller's to check).
    pub(crate) fn live_sealed(&self, presented: &str) -> Option<Sealed> {
        sealed::open(Kind::AccessToken, presented, &self.keys.access)
            .filter(|t| t.expires_at > self.now() && !self.revoked.contains(t.id))
    }

    /// A presented sealed refresh token that is authentic and names a grant
    /// (expiry and the grant's generation are the caller's to check).
    pub(crate) fn opened_refresh(&self, presented: &str) -> Option<(Sealed, GrantRef)> {
        let token = sealed::open(Kind::RefreshToken, presented, &self.keys.access)?;
        let grant = token.grant?;
        Some((token, grant))
    }

    /// Whether a sealed access token's id is on the deny-list.
    pub(crate) fn is_revoked(&self, id: RowId) -> bool {
        self.revoked.contains(id)
    }

    /// Puts a sealed token on the deny-list, here at once and for the other
    /// nodes through the store.
    pub(crate) async fn revoke_sealed(&self, token: &Sealed) -> Result<(), ServiceError> {
        let now = self.now();
        self.store
            .revoke_sealed_access_token(token.id, token.expires_at, now)
            .await?;
        self.revoked.insert([(token.id, token.expires_at)], now);
        Ok(())
    }

    /// Reads the revocations made since the last read (all live ones, the
    /// first time).
    pub async fn sync_revocations(&self) -> Result<(), ServiceError> {
        let now = self.now();
        let since = self
            .revoked
            .synced_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(i64::MIN, |at| at - SYNC_OVERLAP);
        let entries = self.store.revoked_sealed_access_tokens(since, now).await?;
        self.revoked.insert(entries, now);
        *self
            .revoked
            .synced_at
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(now);
        Ok(())
    }

    /// Writes the aggregated issuance and rotation events counted so far,
    /// and the consents' last uses; what could not be written is kept for
    /// the next flush.
    pub async fn flush_issuance_log(&self) {
        let uses = self.issued.take_uses();
        if let Err(e) = self.store.record_consent_use(&uses).await {
            tracing::warn!(error = %e, consents = uses.len(), "recording when consents were last used failed; kept for the next flush");
            for (user_id, client_id, at) in &uses {
                self.issued.used(user_id, client_id, *at);
            }
        }
        for (what, per_client) in self.issued.take() {
            for (client_id, per_ip) in per_client {
                for (ip, count) in per_ip {
                    let origin = Origin {
                        user_id: None,
                        ip: (!ip.is_empty()).then(|| ip.clone()),
                    };
                    let recorded = self
                        .try_audit(what.kind(), &origin, Some(&client_id), what.detail(count))
                        .await;
                    if let Err(e) = recorded {
                        tracing::warn!(kind = what.kind(), error = %e, "recording issuance failed; kept for the next flush");
                        self.issued.add(what, &client_id, &ip, count);
                    }
                }
            }
        }
    }

    /// Keeps the deny-list in sync and flushes the issuance log, until
    /// aborted. Failures are logged and retried on the next tick.
    pub fn spawn_sealed_upkeep(&self) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut sync = tokio::time::interval(SYNC_INTERVAL);
            sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut audit = tokio::time::interval_at(
                tokio::time::Instant::now() + AUDIT_INTERVAL,
                AUDIT_INTERVAL,
            );
            audit.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = sync.tick() => {
                        if let Err(e) = service.sync_revocations().await {
                            tracing::warn!(error = %e, "reading revoked access tokens failed");
                        }
                    }
                    _ = audit.tick() => service.flush_issuance_log().await,
                }
            }
        })
    }
}
