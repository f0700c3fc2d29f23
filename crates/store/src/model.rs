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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: UnixTime,
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

/// One authorization and everything issued from it: a token family.
/// Revoking the grant revokes every token in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: RowId,
    pub client_id: String,
    /// `None` for grants a client holds for itself.
    pub user_id: Option<String>,
    pub scopes: ScopeSet,
    /// JSON object of claims bound to the grant.
    pub claims: String,
    pub created_at: UnixTime,
    /// No refresh token of this grant lives past this.
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// How many times its refresh token has been rotated: the live refresh
    /// token is the one sealed with this generation.
    pub generation: i64,
    /// When the refresh token was last rotated.
    pub rotated_at: Option<UnixTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    pub id: RowId,
    pub verifier: Verifier,
    /// `None` for client-credentials tokens, which belong to no grant.
    pub grant_id: Option<RowId>,
    pub client_id: String,
    pub user_id: Option<String>,
    pub scopes: ScopeSet,
    pub claims: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// A grant with its user, read together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandingGrant {
    pub grant: Grant,
    /// The grant's user; `None` for a grant without one.
    pub user: Option<User>,
    /// The consent the grant was issued under is gone (the app was revoked,
    /// or its client deleted), even if it was given again since: the grant
    /// has ended as if revoked.
    pub withdrawn: bool,
}

impl StandingGrant {
    /// Whether the grant has ended before its expiry: revoked, or its
    /// consent withdrawn.
    pub fn ended(&self) -> bool {
        self.grant.revoked_at.is_some() || self.withdrawn
    }

    /// Whether the grant's user (if it has one) is disabled.
    pub fn user_disabled(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.disabled)
    }
}

/// Where a redeemed authorization code came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeOrigin {
    pub issued_at: UnixTime,
    /// The consent it was issued under; `None` for a code sealed before
    /// codes named it, which is checked against the consent's time instead.
    pub consent_id: Option<RowId>,
}

/// The outcome of redeeming an authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// The code was unused; it is now spent and the grant is stored.
    Issued,
    /// The code had been redeemed before; `grant_id` is what it issued.
    Replayed { grant_id: Option<RowId> },
    /// Nothing to redeem: no such code, or (for an authorization code) the
    /// consent it came from is gone.
    Missing,
}

/// A signed-in browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: RowId,
    pub verifier: Verifier,
    pub user_id: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub last_seen_at: UnixTime,
}

/// What a user has allowed a client, remembered so the consent page is
/// shown again only for more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// Kept while the consent stands, new when it is given again after a
    /// revocation: the grants issued under it name it.
    pub id: RowId,
    pub user_id: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub last_used_at: UnixTime,
}

/// Where an RFC 8628 device authorization stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the device code is spent.
    Consumed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Consumed => "consumed",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceStatus> {
        [
            DeviceStatus::Pending,
            DeviceStatus::Approved,
            DeviceStatus::Denied,
            DeviceStatus::Consumed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// An RFC 8628 device authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCode {
    pub id: RowId,
    /// SHA-256 of the device code.
    pub verifier: Verifier,
    /// Keyed hash of the normalised user code.
    pub user_code: Vec<u8>,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub status: DeviceStatus,
    /// The user who approved or denied.
    pub user_id: Option<String>,
    pub interval_secs: i64,
    pub last_polled_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A one-time code a signed-in user obtained for one app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairingCode {
    pub id: RowId,
    /// Keyed hash of the normalised code.
    pub lookup: Vec<u8>,
    pub client_id: String,
    pub user_id: String,
    pub scopes: ScopeSet,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
}

/// A token a user created to call the developer API from scripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalAccessToken {
    pub id: RowId,
    pub verifier: Verifier,
    pub user_id: String,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}
