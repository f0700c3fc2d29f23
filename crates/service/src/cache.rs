//! Clients are read on every token request and change rarely, so they are
//! kept in memory. A change made through this node takes effect here at
//! once; other processes (another node, or the admin CLI) see it within
//! the policy's `client_cache_ttl` (5 seconds by default).

use std::collections::HashMap;
use std::sync::RwLock;

use std::sync::Arc;

use store::{Client, Scope};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
