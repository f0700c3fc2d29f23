//! What the hot path reads and rarely changes, kept in memory. Clients are
//! read on every token request: a change made through this node takes
//! effect here at once; other processes (another node, or the admin CLI)
//! see it within the policy's `client_cache_ttl` (5 seconds by default).
//! The scope registry likewise. Grants, as bearer-token checks read them,
//! for a second at most ([`GrantCache`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use protocol::token::RowId;
use store::{Client, Scope, StandingGrant};

/// Entries kept at most; unknown ids are never cached, so this bounds
/// memory without letting random ids evict anything useful for long.
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct ClientCache {
    entries: RwLock<HashMap<String, (Client, i64)>>,
}

impl ClientCache {
    /// A cached client not older than `ttl` seconds.
    pub(crate) fn get(&self, id: &str, now: i64, ttl: i64) -> Option<Client> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(id)
            .filter(|(_, at)| now - at < ttl)
            .map(|(c, _)| c.clone())
    }

    pub(crate) fn put(&self, client: &Client, now: i64, ttl: i64) {
        if ttl <= 0 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, (_, at)| now - *at < ttl);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(client.id.clone(), (client.clone(), now));
    }

    pub(crate) fn forget(&self, id: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// The scope registry, read whole: it is small, and the token endpoint
/// consults it for required claims on every request.
#[derive(Debug, Default)]
pub(crate) struct ScopeCache {
    entry: RwLock<Option<(Arc<Vec<Scope>>, i64)>>,
}

impl ScopeCache {
    pub(crate) fn get(&self, now: i64, ttl: i64) -> Option<Arc<Vec<Scope>>> {
        let entry = self.entry.read().unwrap_or_else(|e| e.into_inner());
        entry
            .as_ref()
            .filter(|(_, at)| now - at < ttl)
            .map(|(s, _)| Arc::clone(s))
    }

    pub(crate) fn put(&self, scopes: &Arc<Vec<Scope>>, now: i64, ttl: i64) {
        if ttl > 0 {
            *self.entry.write().unwrap_or_else(|e| e.into_inner()) =
                Some((Arc::clone(scopes), now));
        }
    }

    pub(crate) fn forget(&self) {
        *self.entry.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// How long a grant's standing is trusted without reading it again: the
/// bound within which another node learns of a revoked sealed access
/// token, too (`sealed::SYNC_INTERVAL`).
pub(crate) const GRANT_TTL: Duration = Duration::from_secs(1);

/// Grants with their users, as the checks of a bearer access token read
/// them (userinfo, introspection): a resource server presents the same
/// token again and again. A change to grants or users made through this
/// node makes every entry stale at once; one made elsewhere (another node,
/// the admin CLI) is seen within [`GRANT_TTL`].
#[derive(Debug, Default)]
pub(crate) struct GrantCache {
    /// Bumped after every change to grants or users made through this node.
    epoch: AtomicU64,
    entries: RwLock<HashMap<RowId, CachedGrant>>,
}

/// A grant, when it was read, and the epoch it was read at.
type CachedGrant = (Arc<StandingGrant>, Instant, u64);

impl GrantCache {
    /// The epoch to hand [`GrantCache::put`]: read it before the grant.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self, id: RowId) -> Option<Arc<StandingGrant>> {
        let epoch = self.epoch();
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&id)
            .filter(|(_, at, e)| *e == epoch && at.elapsed() < GRANT_TTL)
            .map(|(g, _, _)| Arc::clone(g))
    }

    /// Keeps a grant read at `epoch`, unless something changed since.
    pub(crate) fn put(&self, id: RowId, grant: &Arc<StandingGrant>, epoch: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if epoch != self.epoch() {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, (_, at, e)| *e == epoch && at.elapsed() < GRANT_TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(id, (Arc::clone(grant), Instant::now(), epoch));
    }

    /// Makes every entry stale; call once a change is committed.
    pub(crate) fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ScopeSet;
    use store::Grant;

    fn client(id: &str, name: &str) -> Client {
        Client {
            id: id.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            homepage: None,
            owner_id: None,
            public: true,
            secret: None,
            previous_secret: None,
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scopes: protocol::ScopeSet::new(),
            access_token_ttl: None,
            refresh_token_ttl: None,
            refresh_token_idle_ttl: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        let cache = ClientCache::default();
        cache.put(&client("a", "A"), 100, 5);
        assert_eq!(cache.get("a", 104, 5).map(|c| c.name), Some("A".to_owned()));
        assert!(cache.get("a", 105, 5).is_none(), "older than the TTL");
        cache.put(&client("a", "A2"), 105, 5);
        cache.forget("a");
        assert!(cache.get("a", 105, 5).is_none());
        cache.put(&client("b", "B"), 105, 0);
        assert!(
            cache.get("b", 105, 0).is_none(),
            "a TTL of 0 turns the cache off"
        );
    }

    fn standing(id: RowId) -> Arc<StandingGrant> {
        Arc::new(StandingGrant {
            grant: Grant {
                id,
                client_id: "c".into(),
                user_id: None,
                scopes: ScopeSet::default(),
                claims: "{}".into(),
                created_at: 0,
                expires_at: 100,
                revoked_at: None,
                generation: 0,
                rotated_at: None,
            },
            user: None,
            withdrawn: false,
        })
    }

    #[test]
    fn a_change_made_here_makes_every_grant_stale() {
        let cache = GrantCache::default();
        let id = RowId([1; 16]);
        let epoch = cache.epoch();
        cache.put(id, &standing(id), epoch);
        assert!(cache.get(id).is_some());
        cache.invalidate();
        assert!(cache.get(id).is_none());
    }

    #[test]
    fn a_grant_read_before_a_change_is_not_kept() {
        let cache = GrantCache::default();
        let id = RowId([2; 16]);
        let epoch = cache.epoch();
        // Read, then a revocation commits, then the read would be kept.
        cache.invalidate();
        cache.put(id, &standing(id), epoch);
        assert!(cache.get(id).is_none());
    }
}
