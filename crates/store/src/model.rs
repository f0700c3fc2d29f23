//! The records the store keeps. They hold values, not policy: expiry,
//! scope rules and the like are decided by the callers.

use protocol::token::{RowId, Verifier};
use protocol::{GrantType, RedirectUri, ScopeSet};

/// Unix time in seconds.
pub type UnixTime = i64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    /// An Argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub description: String,
    pub homepage: Option<String>,
    pub owner_id: Option<String>,
    /// A public client has no secret and must use PKCE.
    pub public: bool,
    pub secret: Option<Verifier>,
    /// The secret before the last rotation, accepted until it expires.
    pub previous_secret: Option<(Verifier, UnixTime)>,
    pub redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    /// The scopes this client may ask for.
    pub scopes: ScopeSet,
    pub access_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub refresh_token_idle_ttl: Option<i64>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    pub label: String,
    pub description: String,
    /// Claims a token request for this scope must carry.
    pub required_claims: Vec<String>,
    pub created_at: UnixTime,
}

/// An authorization code: single use, bound to everything it was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub id: RowId,
    pub verifier: Verifier,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri` (then the
    /// token request must repeat it, RFC 6749 section 4.1.3).
    pub redirect_uri_given: bool,
    pub scopes: ScopeSet,
    /// JSON object of claims bound to the code.
    pub claims: String,
    pub code_challenge: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
    /// The grant issued when the code was redeemed.
    pub grant_id: Option<RowId>,
}

/// What happened when a caller tried to consume a single-use record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consumed<T> {
    /// This call consumed it; no other call ever will.
    Now(T),
    /// It had been consumed before (a replay).
    Already(T),
    /// No such record.
    Missing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: UnixTime,
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}
