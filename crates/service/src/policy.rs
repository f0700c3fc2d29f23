use protocol::GrantType;

/// Lifetimes and limits, in seconds. The defaults need no tuning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Access tokens (a client may set its own).
    pub access_token_ttl: i64,
    /// Access-token lifetimes for particular grants, over `access_token_ttl`
    /// (a client's own lifetime still wins).
    pub access_token_ttl_by_grant: Vec<(GrantType, i64)>,
    /// Absolute limit of a grant's refresh tokens, counted from the grant.
    pub refresh_token_ttl: i64,
    /// Idle limit: a refresh token unused this long expires.
    pub refresh_token_idle_ttl: i64,
    /// Authorization codes.
    pub code_ttl: i64,
    /// How long after a rotation a retry with the old refresh token gets
    /// the same new pair instead of revoking the family.
    pub refresh_grace: i64,
    /// Browser sessions.
    pub session_ttl: i64,
    /// How long a consent page may stay open.
    pub interaction_ttl: i64,
    /// RFC 8628 device codes.
    pub device_code_ttl: i64,
    /// The least time between two polls of one device code.
    pub device_poll_interval: i64,
    /// Pairing codes.
    pub pairing_code_ttl: i64,
    /// How long a client read from the store is trusted in memory; changes
    /// made by another process (a node, the admin CLI) take up to this long
    /// to be seen. 0 turns the cache off.
    pub client_cache_ttl: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            access_token_ttl: 3600,
            access_token_ttl_by_grant: Vec::new(),
            refresh_token_ttl: 90 * 24 * 3600,
            refresh_token_idle_ttl: 30 * 24 * 3600,
            code_ttl: 60,
            refresh_grace: 5,
            session_ttl: 12 * 3600,
            interaction_ttl: 30 * 60,
            device_code_ttl: 600,
            device_poll_interval: 5,
            pairing_code_ttl: 300,
            client_cache_ttl: 5,
        }
    }
}
