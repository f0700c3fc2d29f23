//! The back channel: client authentication, the token endpoint's grants,
//! revocation (RFC 7009), introspection (RFC 7662) and bearer-token lookup
//! (RFC 6750).

use std::sync::Arc;

use protocol::client_auth::{self, Presented};
use protocol::pkce::CodeChallenge;
use protocol::sealed::{GrantRef, Sealed};
use protocol::token::{self, Kind, RowId, Verifier};
use protocol::{ErrorCode, GrantType, OAuthError, Params, ScopeSet};
use store::{AccessToken, Client, Grant, Redeemed, StandingGrant, User};

use crate::claims::{self, Claims};
use crate::sealed::Counted;
use crate::{Origin, Service, ServiceError, secrets};

/// A successful token response (RFC 6749 section 5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: ScopeSet,
    pub refresh_token: Option<String>,
    /// Claims bound to the token; their `authorization_details` are echoed
    /// in the response (RFC 9396 section 7).
    pub claims: Claims,
}

/// Departures from the RFCs that a dialect profile may ask for, to serve a
/// platform whose documented API differs. All off by default, and none of
/// them lets a request reach a token it could not reach otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relaxations {
    /// Accept a code exchange without `redirect_uri` even when the
    /// authorization request named one (RFC 6749 section 4.1.3 requires it;
    /// the code stays bound to its client and, with PKCE, its verifier).
    pub token_redirect_uri_optional: bool,
    /// Accept a revocation request that carries no client credentials: the
    /// token itself proves the right to end it (RFC 7009 section 2.1 asks
    /// for client authentication). Credentials, when sent, are still checked.
    pub revocation_without_client_auth: bool,
}

/// What introspection may say about an active token (RFC 7662 section 2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveToken {
    pub kind: Kind,
    pub client_id: String,
    pub scope: ScopeSet,
    /// The user's id, or the client id for a client's own token.
    pub sub: String,
    pub username: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub claims: Claims,
}

/// What a token says, before its user is looked up: kind, client, user,
/// scope, issued, expires, claims.
type ActiveFields = (Kind, String, TokenUser, ScopeSet, i64, i64, Claims);

/// The user behind a live token: read already (with its grant), or only
/// named (by a stored access token row).
enum TokenUser {
    Read(Option<User>),
    Named(Option<String>),
}

/// Whose identity a bearer token carries, for the userinfo endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub client_id: String,
    pub scope: ScopeSet,
}

fn invalid_client(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

impl From<ServiceError> for OAuthError {
    fn from(e: ServiceError) -> OAuthError {
        tracing::error!(error = %e, "request failed");
        OAuthError::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }
}

/// Store failures become `server_error` through [`ServiceError`].
fn db<T>(r: Result<T, store::StoreError>) -> Result<T, ServiceError> {
    r.map_err(ServiceError::from)
}

impl Service {
    /// Authenticates the client of a back-channel request. Unknown clients
    /// and wrong secrets get the same answer; every failure is audited.
    pub async fn authenticate_client(
        &self,
        authorization: Option<&str>,
        params: &Params,
        origin: &Origin,
    ) -> Result<Client, OAuthError> {
        let presented = client_auth::presented(authorization, params).map_err(|e| e.error)?;
        let Some(presented) = presented else {
            return Err(invalid_client("client authentication is required"));
        };
        match self.check_client(&presented).await? {
            Some(client) => Ok(client),
            None => {
                let id = presented.client_id();
                let known = protocol::client::is_valid_client_id(id).then_some(id);
                self.audit("client_auth.failed", origin, known, String::new())
                    .await;
                Err(invalid_client("client authentication failed"))
            }
        }
    }

    async fn check_client(&self, presented: &Presented) -> Result<Option<Client>, OAuthError> {
        let Some(client) = self.client(presented.client_id()).await? else {
            return Ok(None);
        };
        let ok = match (presented.secret(), &client.secret, client.public) {
            (None, _, true) => true,
            (Some(secret), Some(current), false) => {
                let previous_ok = client
                    .previous_secret
                    .as_ref()
                    .is_some_and(|(v, until)| *until > self.now() && v.verify(secret));
                // Both comparisons always run, so timing says nothing about which matched.
                current.verify(secret) | previous_ok
            }
            _ => false,
        };
        Ok(ok.then_some(client))
    }

    /// The token endpoint (RFC 6749 section 3.2).
    pub async fn token(
        &self,
        authorization: Option<&str>,
        params: &Params,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        self.token_relaxed(authorization, params, origin, Relaxations::default())
            .await
    }

    /// [`Service::token`] with a dialect's relaxations.
    pub async fn token_relaxed(
        &self,
        authorization: Option<&str>,
        params: &Params,
        origin: &Origin,
        relaxations: Relaxations,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self
            .authenticate_client(authorization, params, origin)
            .await?;
        let grant_type = params.require("grant_type")?;
        let grant = grant_type.parse::<GrantType>().map_err(|_| {
            OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("unsupported grant_type {grant_type}"),
            )
        })?;
        if !client.grant_types.contains(&grant) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("this client may not use the {grant} grant"),
            ));
        }
        match grant {
            GrantType::ClientCredentials => self.client_credentials(&client, params, origin).await,
            GrantType::AuthorizationCode => {
                self.redeem_code(&client, params, origin, relaxations).await
            }
            GrantType::RefreshToken => self.refresh(&client, params, origin).await,
            GrantType::DeviceCode => self.device_token(&client, params, origin).await,
            GrantType::PairingCode => self.pairing_token(&client, params, origin).await,
        }
    }

    /// An access token's lifetime: the client's own, else the grant's,
    /// else the server's.
    fn access_ttl(&self, client: &Client, grant: GrantType) -> i64 {
        client.access_token_ttl.unwrap_or_else(|| {
            self.policy
                .access_token_ttl_by_grant
                .iter()
                .find(|(g, _)| *g == grant)
                .map_or(self.policy.access_token_ttl, |(_, ttl)| *ttl)
        })
    }

    /// A new access token; `user` is the user and grant of a user grant.
    fn new_access(
        &self,
        client: &Client,
        grant: GrantType,
        user: Option<(&str, RowId)>,
        scopes: ScopeSet,
        claims: &Claims,
        now: i64,
    ) -> Result<(String, AccessToken), ServiceError> {
        let id = secrets::row_id(self.clock.now_millis())?;
        let token = secrets::credential(Kind::AccessToken, id)?;
        let record = AccessToken {
            id,
            verifier: Verifier::of(&token),
            grant_id: user.map(|(_, grant_id)| grant_id),
            client_id: client.id.clone(),
            user_id: user.map(|(user_id, _)| user_id.to_owned()),
            scopes,
            claims: claims.to_json(),
            created_at: now,
            expires_at: now + self.access_ttl(client, grant),
            revoked_at: None,
        };
        Ok((token, record))
    }

    /// RFC 6749 section 4.4: a confidential client acting for itself.
    async fn client_credentials(
        &self,
        client: &Client,
        params: &Params,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if client.public {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "a public client cannot use client_credentials",
            ));
        }
        let registry = self.scopes().await?;
        // Scopes that need claims are granted only when asked for by name.
        let scope = match requested_scope(params, &client.scopes)? {
            Some(s) => s,
            None => claims::without_claims(&registry, &client.scopes),
        };
        let bound = claims::bind(&registry, &scope, params)?;
        let now = self.now();
        // Without claims to bind, the token carries all it says: no row.
        if bound.is_empty() {
            let expires_at = now + self.access_ttl(client, GrantType::ClientCredentials);
            if let Some(token) = self.seal_client_token(client, &scope, expires_at, now, origin)? {
                return Ok(TokenResponse {
                    access_token: token,
                    expires_in: expires_at - now,
                    scope,
                    refresh_token: None,
                    claims: bound,
                });
            }
        }
        let (token, record) = self.new_access(
            client,
            GrantType::ClientCredentials,
            None,
            scope.clone(),
            &bound,
            now,
        )?;
        // The token and its audit event commit together.
        let event = self.audit_event(
            "token.issued",
            origin,
            Some(&client.id),
            "grant=client_credentials".to_owned(),
        );
        match self.store.insert_access_token(&record, Some(&event)).await {
            Ok(()) => {}
            // The client was deleted a moment ago.
            Err(store::StoreError::MissingReference) => {
                return Err(invalid_client("client authentication failed"));
            }
            Err(e) => return Err(ServiceError::from(e).into()),
        }
        Ok(TokenResponse {
            access_token: token,
            expires_in: record.expires_at - now,
            scope,
            refresh_token: None,
            claims: bound,
        })
    }

    /// Starts a grant `id` for a user: the grant to store, and the response
    /// with its first access token and, when the client may refresh, its
    /// first refresh token (both sealed: the grant is the only row).
    pub(crate) fn new_issue(
        &self,
        id: RowId,
        client: &Client,
        grant_type: GrantType,
        user_id: &str,
        scopes: &ScopeSet,
        claims: Claims,
    ) -> Result<(Grant, TokenResponse), ServiceError> {
        let now = self.now();
        let refresh_ttl = client
            .refresh_token_ttl
            .unwrap_or(self.policy.refresh_token_ttl);
        let grant = Grant {
            id,
            client_id: client.id.clone(),
            user_id: Some(user_id.to_owned()),
            scopes: scopes.clone(),
            claims: claims.to_json(),
            created_at: now,
            // Nothing of the grant outlives it: its access tokens are checked
            // against it, and stop with it at the latest.
            expires_at: now + refresh_ttl,
            revoked_at: None,
            generation: 0,
            rotated_at: None,
        };
        let response = self.grant_tokens(client, &grant, grant_type, scopes, now, None)?;
        Ok((grant, response.0))
    }

    /// The tokens a grant issues at `issued_at`: an access token for
    /// `scope` and, when the client may refresh, a refresh token for the
    /// grant's current generation. `derived_from` is the refresh token a
    /// rotation spent (the tokens are then the same for the same request).
    /// Also returns the access token's id.
    fn grant_tokens(
        &self,
        client: &Client,
        grant: &Grant,
        grant_type: GrantType,
        scope: &ScopeSet,
        issued_at: i64,
        derived_from: Option<&str>,
    ) -> Result<(TokenResponse, RowId), ServiceError> {
        let grant_ref = Some(GrantRef {
            id: grant.id,
            generation: grant.generation,
        });
        // Nothing of a grant outlives it.
        let access_expires_at =
            (issued_at + self.access_ttl(client, grant_type)).min(grant.expires_at);
        let (access_id, access_token) = self.seal_grant_token(
            Kind::AccessToken,
            Sealed {
                id: RowId::new(0, [0; 10]),
                issued_at,
                expires_at: access_expires_at,
                client_id: client.id.clone(),
                scope: scope.to_string(),
                grant: grant_ref,
            },
            derived_from,
        )?;
        let refresh_token = if client.grant_types.contains(&GrantType::RefreshToken) {
            let idle = client
                .refresh_token_idle_ttl
                .unwrap_or(self.policy.refresh_token_idle_ttl);
            // The refresh token keeps the grant's full scope (RFC 6749 section 6).
            let (_, token) = self.seal_grant_token(
                Kind::RefreshToken,
                Sealed {
                    id: RowId::new(0, [0; 10]),
                    issued_at,
                    expires_at: (issued_at + idle).min(grant.expires_at),
                    client_id: client.id.clone(),
                    scope: grant.scopes.to_string(),
                    grant: grant_ref,
                },
                derived_from,
            )?;
            Some(token)
        } else {
            None
        };
        let now = self.now();
        Ok((
            TokenResponse {
                access_token,
                expires_in: access_expires_at - now,
                scope: scope.clone(),
                refresh_token,
                claims: Claims::from_json(&grant.claims),
            },
            access_id,
        ))
    }

    /// RFC 6749 section 4.1.3, with PKCE (RFC 7636 section 4.6).
    async fn redeem_code(
        &self,
        client: &Client,
        params: &Params,
        origin: &Origin,
        relaxations: Relaxations,
    ) -> Result<TokenResponse, OAuthError> {
        let presented = params.require("code")?;
        let now = self.now();
        let Some(code) = self.opened_code(presented) else {
            return Err(invalid_grant("the authorization code is invalid"));
        };
        if code.client_id != client.id {
            return Err(invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        if code.expires_at <= now {
            // A code used again once expired is still a replay: what it
            // issued is revoked.
            if db(self.store.grant(code.id).await)?.is_some() {
                self.code_replayed(Some(code.id), client, origin).await;
                return Err(invalid_grant(
                    "the authorization code has already been used",
                ));
            }
            return Err(invalid_grant("the authorization code has expired"));
        }
        match params.get("redirect_uri") {
            Some(uri) if uri != code.redirect_uri => {
                return Err(invalid_grant(
                    "redirect_uri does not match the authorization request",
                ));
            }
            None if code.redirect_uri_given && !relaxations.token_redirect_uri_optional => {
                return Err(OAuthError::invalid_request(
                    "redirect_uri is required: the authorization request included it",
                ));
            }
            _ => {}
        }
        match (&code.code_challenge, params.get("code_verifier")) {
            (Some(challenge), Some(verifier)) => {
                CodeChallenge::from_stored(challenge.clone()).verify(verifier)?
            }
            (Some(_), None) => return Err(invalid_grant("code_verifier is required")),
            (None, Some(_)) => {
                return Err(invalid_grant(
                    "code_verifier given, but the authorization request had no code_challenge",
                ));
            }
            (None, None) => {}
        }
        let scopes = ScopeSet::parse(&code.scope)
            .map_err(|_| invalid_grant("the authorization code is invalid"))?;
        let bound = claims::bind(&self.scopes().await?, &scopes, params)?;
        // The grant takes the code's id: a code issues one grant, once.
        let (grant, response) = self.new_issue(
            code.id,
            client,
            GrantType::AuthorizationCode,
            &code.user_id,
            &scopes,
            bound,
        )?;
        let origin_of_code = store::CodeOrigin {
            issued_at: code.issued_at,
            consent_id: code.consent_id,
        };
        match db(self.store.redeem_code(&grant, origin_of_code).await)? {
            Redeemed::Issued => {
                // Audited in aggregate, like client_credentials issuance.
                self.issued
                    .record(Counted::CodeExchange, &client.id, origin.ip.as_deref());
                Ok(response)
            }
            Redeemed::Replayed { grant_id } => {
                self.code_replayed(grant_id, client, origin).await;
                Err(invalid_grant(
                    "the authorization code has already been used",
                ))
            }
            // The user revoked the app since approving.
            Redeemed::Missing => Err(invalid_grant("the authorization code has been revoked")),
        }
    }

    /// A code used twice: whoever holds it may be an attacker, so
    /// everything it issued is revoked (RFC 6749 section 4.1.2).
    async fn code_replayed(&self, grant_id: Option<RowId>, client: &Client, origin: &Origin) {
        if let Some(grant_id) = grant_id
            && let Err(e) = self.revoke_grant(grant_id).await
        {
            tracing::error!(error = %e, "could not revoke the grant of a replayed code");
        }
        self.audit(
            "code.replayed",
            origin,
            Some(&client.id),
            "revoked the tokens it issued".to_owned(),
        )
        .await;
    }

    /// RFC 6749 section 6, with rotation and reuse detection (RFC 9700
    /// section 4.14.2). The token names its grant and the grant's
    /// generation; rotating it is one conditional update of the grant,
    /// with nothing read first.
    async fn refresh(
        &self,
        client: &Client,
        params: &Params,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let presented = params.require("refresh_token")?;
        let now = self.now();
        let Some((old, grant_ref)) = self.opened_refresh(presented) else {
            return Err(invalid_grant("the refresh token is invalid"));
        };
        if old.client_id != client.id {
            return Err(invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        let full = ScopeSet::parse(&old.scope)
            .map_err(|_| invalid_grant("the refresh token is invalid"))?;
        let scope = requested_scope(params, &full)?.unwrap_or(full);
        let rotated = if old.expires_at > now {
            db(self
                .store
                .rotate_grant(grant_ref.id, grant_ref.generation, now)
                .await)?
        } else {
            None
        };
        match rotated {
            Some(grant) => {
                // Audited in aggregate, like client_credentials issuance.
                self.issued
                    .record(Counted::Rotation, &client.id, origin.ip.as_deref());
                if let Some(user_id) = &grant.user_id {
                    self.issued.used(user_id, &client.id, now);
                }
                Ok(self.rotated_pair(client, &grant, &scope, presented)?.0)
            }
            None => {
                self.refresh_refused(client, &old, grant_ref, presented, scope, origin)
                    .await
            }
        }
    }

    /// The pair a rotation issues, the same for the same request: its ids
    /// and nonces derive from the token presented and its times from the
    /// rotation's. Also returns the access token's id.
    fn rotated_pair(
        &self,
        client: &Client,
        grant: &Grant,
        scope: &ScopeSet,
        presented: &str,
    ) -> Result<(TokenResponse, RowId), ServiceError> {
        let issued_at = grant.rotated_at.unwrap_or_else(|| self.now());
        self.grant_tokens(
            client,
            grant,
            GrantType::RefreshToken,
            scope,
            issued_at,
            Some(presented),
        )
    }

    /// A refresh token the grant did not rotate for: say why. A token
    /// already rotated is answered with the same pair again within the
    /// grace window, while its successor is unused; otherwise it is reuse,
    /// and the whole grant is revoked.
    async fn refresh_refused(
        &self,
        client: &Client,
        old: &Sealed,
        grant_ref: GrantRef,
        presented: &str,
        scope: ScopeSet,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.now();
        let Some(standing) = db(self.store.standing_grant(grant_ref.id).await)?
            .filter(|g| g.grant.client_id == client.id)
        else {
            return Err(invalid_grant("the refresh token is invalid"));
        };
        let (ended, user_disabled) = (standing.ended(), standing.user_disabled());
        let grant = standing.grant;
        if grant.generation > grant_ref.generation && !ended {
            let successor_unused = grant.generation == grant_ref.generation + 1;
            let within_grace = grant
                .rotated_at
                .is_some_and(|at| now - at < self.policy.refresh_grace);
            if successor_unused && within_grace && !user_disabled && grant.expires_at > now {
                let (pair, access_id) = self.rotated_pair(client, &grant, &scope, presented)?;
                if !self.is_revoked(access_id) {
                    return Ok(pair);
                }
            }
            db(self.revoke_grant(grant.id).await)?;
            self.audit(
                "refresh.reuse_detected",
                origin,
                Some(&client.id),
                "revoked the token family".to_owned(),
            )
            .await;
            return Err(invalid_grant("the refresh token has already been used"));
        }
        if ended {
            return Err(invalid_grant("the refresh token has been revoked"));
        }
        if old.expires_at <= now || grant.expires_at <= now {
            return Err(invalid_grant("the refresh token has expired"));
        }
        if user_disabled {
            return Err(invalid_grant("the user's account is disabled"));
        }
        Err(invalid_grant("the refresh token is invalid"))
    }

    /// RFC 7009. Unknown and invalid tokens are not an error; another
    /// client's token is refused and left alone.
    pub async fn revoke(
        &self,
        authorization: Option<&str>,
        params: &Params,
        origin: &Origin,
    ) -> Result<(), OAuthError> {
        self.revoke_relaxed(authorization, params, origin, Relaxations::default())
            .await
    }

    /// [`Service::revoke`] with a dialect's relaxations.
    pub async fn revoke_relaxed(
        &self,
        authorization: Option<&str>,
        params: &Params,
        origin: &Origin,
        relaxations: Relaxations,
    ) -> Result<(), OAuthError> {
        let anonymous = relaxations.revocation_without_client_auth
            && authorization.is_none()
            && params.get("client_id").is_none();
        let client = if anonymous {
            None
        } else {
            Some(
                self.authenticate_client(authorization, params, origin)
                    .await?,
            )
        };
        let issued_elsewhere = |client_id: &str| client.as_ref().is_some_and(|c| c.id != client_id);
        let presented = params.require("token")?;
        let now = self.now();
        if let Some(sealed) = self.live_sealed(presented) {
            if issued_elsewhere(&sealed.client_id) {
                return Err(OAuthError::invalid_request(
                    "the token was not issued to this client",
                ));
            }
            self.revoke_sealed(&sealed).await?;
            self.audit(
                "token.revoked",
                origin,
                Some(&sealed.client_id),
                "access_token".to_owned(),
            )
            .await;
        } else if let Some(id) = token::row_id(Kind::AccessToken, presented) {
            let found =
                db(self.store.access_token(id).await)?.filter(|t| t.verifier.verify(presented));
            if let Some(t) = found {
                if issued_elsewhere(&t.client_id) {
                    return Err(OAuthError::invalid_request(
                        "the token was not issued to this client",
                    ));
                }
                db(self.store.revoke_access_token(id, now).await)?;
                self.audit(
                    "token.revoked",
                    origin,
                    Some(&t.client_id),
                    "access_token".to_owned(),
                )
                .await;
            }
        } else if let Some((t, grant_ref)) = self.opened_refresh(presented) {
            if issued_elsewhere(&t.client_id) {
                return Err(OAuthError::invalid_request(
                    "the token was not issued to this client",
                ));
            }
            // Revoking a refresh token revokes its grant's access tokens too.
            db(self.revoke_grant(grant_ref.id).await)?;
            self.audit(
                "token.revoked",
                origin,
                Some(&t.client_id),
                "refresh_token".to_owned(),
            )
            .await;
        }
        Ok(())
    }

    /// RFC 7662. `Ok(None)` is `{"active": false}`: unknown, expired,
    /// revoked, or issued to another client.
    pub async fn introspect(
        &self,
        authorization: Option<&str>,
        params: &Params,
        origin: &Origin,
    ) -> Result<Option<ActiveToken>, OAuthError> {
        let client = self
            .authenticate_client(authorization, params, origin)
            .await?;
        let presented = params.require("token")?;
        let active = self.active_token(presented).await?;
        Ok(active
            .map(|(token, _)| token)
            .filter(|t| t.client_id == client.id))
    }

    /// An access or refresh token that is live right now, with its user
    /// (`None` for a client's own token).
    async fn active_token(
        &self,
        presented: &str,
    ) -> Result<Option<(ActiveToken, Option<User>)>, OAuthError> {
        let now = self.now();
        let found = if let Some(sealed) = self.live_sealed(presented) {
            let Some(grant_ref) = sealed.grant else {
                // A client's own token: a deleted client's tokens die with it.
                if self.client(&sealed.client_id).await?.is_none() {
                    return Ok(None);
                }
                let token = ActiveToken {
                    kind: Kind::AccessToken,
                    sub: sealed.client_id.clone(),
                    client_id: sealed.client_id,
                    scope: ScopeSet::parse(&sealed.scope).unwrap_or_default(),
                    username: None,
                    iat: sealed.issued_at,
                    exp: sealed.expires_at,
                    claims: Claims::default(),
                };
                return Ok(Some((token, None)));
            };
            self.in_live_grant(Kind::AccessToken, sealed, grant_ref)
                .await?
        } else if let Some((sealed, grant_ref)) = self.opened_refresh(presented) {
            if sealed.expires_at <= now {
                return Ok(None);
            }
            self.in_live_grant(Kind::RefreshToken, sealed, grant_ref)
                .await?
        } else if let Some(id) = token::row_id(Kind::AccessToken, presented) {
            db(self.store.access_token(id).await)?
                .filter(|t| t.verifier.verify(presented))
                .filter(|t| t.revoked_at.is_none() && t.expires_at > now)
                .map(|t| {
                    (
                        Kind::AccessToken,
                        t.client_id,
                        TokenUser::Named(t.user_id),
                        t.scopes,
                        t.created_at,
                        t.expires_at,
                        Claims::from_json(&t.claims),
                    )
                })
        } else {
            None
        };
        let Some((kind, client_id, user, scope, iat, exp, claims)) = found else {
            return Ok(None);
        };
        let user = match user {
            TokenUser::Read(user) => user,
            TokenUser::Named(None) => None,
            TokenUser::Named(Some(id)) => match self.user(&id).await? {
                Some(u) => Some(u),
                None => return Ok(None),
            },
        };
        if user.as_ref().is_some_and(|u| u.disabled) {
            return Ok(None);
        }
        let token = ActiveToken {
            kind,
            sub: user
                .as_ref()
                .map_or_else(|| client_id.clone(), |u| u.id.clone()),
            username: user.as_ref().map(|u| u.username.clone()),
            client_id,
            scope,
            iat,
            exp,
            claims,
        };
        Ok(Some((token, user)))
    }

    /// What a sealed token of a user's grant says, if its grant is live: not
    /// revoked, still there and, for a refresh token, still at the token's
    /// generation and unexpired.
    async fn in_live_grant(
        &self,
        kind: Kind,
        sealed: Sealed,
        grant_ref: GrantRef,
    ) -> Result<Option<ActiveFields>, OAuthError> {
        let now = self.now();
        let Some(standing) = self.standing_grant(kind, grant_ref.id).await? else {
            return Ok(None);
        };
        let StandingGrant { grant, user, .. } = &*standing;
        let live = !standing.ended()
            && grant.client_id == sealed.client_id
            && (kind == Kind::AccessToken
                || (grant.generation == grant_ref.generation && grant.expires_at > now));
        // A grant's user is deleted with it; one missing is no holder.
        if !live || (grant.user_id.is_some() && user.is_none()) {
            return Ok(None);
        }
        let claims = match kind {
            Kind::AccessToken => Claims::from_json(&grant.claims),
            _ => Claims::default(),
        };
        Ok(Some((
            kind,
            sealed.client_id,
            TokenUser::Read(user.clone()),
            ScopeSet::parse(&sealed.scope).unwrap_or_default(),
            sealed.issued_at,
            sealed.expires_at,
            claims,
        )))
    }

    /// A grant and its user, in one read. For an access token, from the
    /// node's short-lived cache when it can (see `cache::GrantCache`); a
    /// refresh token's generation is always read.
    async fn standing_grant(
        &self,
        kind: Kind,
        id: RowId,
    ) -> Result<Option<Arc<StandingGrant>>, OAuthError> {
        if kind != Kind::AccessToken {
            return Ok(db(self.store.standing_grant(id).await)?.map(Arc::new));
        }
        if let Some(cached) = self.grants.get(id) {
            return Ok(Some(cached));
        }
        let epoch = self.grants.epoch();
        let read = db(self.store.standing_grant(id).await)?.map(Arc::new);
        if let Some(grant) = &read {
            self.grants.put(id, grant, epoch);
        }
        Ok(read)
    }

    /// Revokes a grant and what it issued; the node's cache forgets it.
    async fn revoke_grant(&self, id: RowId) -> Result<bool, store::StoreError> {
        let revoked = self.store.revoke_grant(id, self.now()).await;
        self.grants.invalidate();
        revoked
    }

    /// The identity behind a bearer access token (RFC 6750): the user for
    /// user grants, the client's owner for a client's own token.
    pub async fn bearer_identity(&self, presented: &str) -> Result<Identity, OAuthError> {
        let invalid = || {
            OAuthError::new(
                ErrorCode::InvalidToken,
                "the access token is invalid or has expired",
            )
        };
        let Some((active, user)) = self
            .active_token(presented)
            .await?
            .filter(|(t, _)| t.kind == Kind::AccessToken)
        else {
            return Err(invalid());
        };
        // A client's own token speaks for the client's owner, if it has one.
        let user: Option<User> = match user {
            Some(user) => Some(user),
            None => match self
                .client(&active.client_id)
                .await?
                .and_then(|c| c.owner_id)
            {
                Some(owner) => self.user(&owner).await?,
                None => None,
            },
        };
        Ok(Identity {
            sub: user
                .as_ref()
                .map_or_else(|| active.client_id.clone(), |u| u.id.clone()),
            username: user.as_ref().map(|u| u.username.clone()),
            email: user.and_then(|u| u.email),
            client_id: active.client_id,
            scope: active.scope,
        })
    }
}

/// The `scope` parameter of a token request, which must stay within `allowed`.
pub(crate) fn requested_scope(
    params: &Params,
    allowed: &ScopeSet,
) -> Result<Option<ScopeSet>, OAuthError> {
    let Some(raw) = params.get("scope") else {
        return Ok(None);
    };
    let requested = ScopeSet::parse(raw)
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
    if !requested.is_subset(allowed) {
        let extra = requested.difference(allowed);
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("scope not allowed: {extra}"),
        ));
    }
    Ok(Some(requested))
}
