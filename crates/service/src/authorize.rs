//! The authorization endpoint (RFC 6749 section 4.1.1): checking a request,
//! remembering consent, and issuing codes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use protocol::pkce::CodeChallenge;
use protocol::sealed_code::SealedCode;
use protocol::token::RowId;
use protocol::{ErrorCode, GrantType, OAuthError, Params, ScopeSet, redirect_uri};
use store::{Client, Consent, Scope, User};

use crate::{Origin, Service, ServiceError, secrets};

/// A request that passed every check.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    pub client: Client,
    /// Where the answer goes: a registered URI (or its loopback variant).
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub state: Option<String>,
    /// The scopes the request names; `None` lets the user choose.
    pub requested: Option<ScopeSet>,
    pub code_challenge: Option<CodeChallenge>,
}

/// Why an authorization request cannot be answered through a redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Untrusted {
    MissingClientId,
    UnknownClient,
    /// Malformed parameters, or a redirect URI that is not registered.
    Other(String),
}

impl Untrusted {
    /// What to tell the user.
    pub fn message(&self) -> &str {
        match self {
            Untrusted::MissingClientId => {
                "The request does not name an app (client_id is missing)."
            }
            Untrusted::UnknownClient => "The app that sent you here is not registered.",
            Untrusted::Other(m) => m,
        }
    }
}

/// What to do with an authorization request.
#[derive(Clone, Debug)]
pub enum Checked {
    Valid(Box<AuthorizationRequest>),
    /// The client or redirect URI cannot be trusted: tell the user, never redirect.
    ToUser(Untrusted),
    /// Send the error back to the client's verified redirect URI.
    ToClient {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

impl Service {
    /// Checks an authorization request, in the order of RFC 6749 section
    /// 4.1.2.1: until the client and redirect URI are verified, errors are
    /// shown to the user; after that they go back to the client.
    pub async fn check_authorization(&self, query: &[u8]) -> Result<Checked, ServiceError> {
        let params = match Params::from_urlencoded(query) {
            Ok(p) => p,
            Err(e) => return Ok(Checked::ToUser(Untrusted::Other(e.description))),
        };
        let Some(client_id) = params.get("client_id") else {
            return Ok(Checked::ToUser(Untrusted::MissingClientId));
        };
        let Some(client) = self.client(client_id).await? else {
            return Ok(Checked::ToUser(Untrusted::UnknownClient));
        };
        let requested_uri = params.get("redirect_uri");
        let Some(registered) = redirect_uri::select(&client.redirect_uris, requested_uri) else {
            let why = if requested_uri.is_some() {
                "The redirect URI is not registered for this app."
            } else {
                "The request must name a redirect URI, since the app has registered several."
            };
            return Ok(Checked::ToUser(Untrusted::Other(why.to_owned())));
        };
        let redirect_uri = requested_uri.unwrap_or(registered.as_str()).to_owned();
        let state = params.get("state").map(str::to_owned);
        let refuse = |code: ErrorCode, description: &str| Checked::ToClient {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error: OAuthError::new(code, description),
        };
        match params.get("response_type") {
            Some("code") => {}
            None => {
                return Ok(refuse(
                    ErrorCode::InvalidRequest,
                    "response_type is required",
                ));
            }
            Some(_) => {
                return Ok(refuse(
                    ErrorCode::UnsupportedResponseType,
                    "only response_type=code is supported",
                ));
            }
        }
        if !client.grant_types.contains(&GrantType::AuthorizationCode) {
            return Ok(refuse(
                ErrorCode::UnauthorizedClient,
                "this app may not use the authorization code grant",
            ));
        }
        let requested = match params.get("scope").map(ScopeSet::parse) {
            None => None,
            Some(Err(e)) => return Ok(refuse(ErrorCode::InvalidScope, &e.to_string())),
            Some(Ok(s)) if s.is_empty() => None,
            Some(Ok(s)) => Some(s),
        };
        if let Some(requested) = &requested
            && !requested.is_subset(&client.scopes)
        {
            let extra = requested.difference(&client.scopes);
            return Ok(refuse(
                ErrorCode::InvalidScope,
                &format!("scope not allowed for this app: {extra}"),
            ));
        }
        let code_challenge = match params.get("code_challenge") {
            Some(c) => match CodeChallenge::parse(c, params.get("code_challenge_method")) {
                Ok(c) => Some(c),
                Err(e) => return Ok(refuse(e.code, &e.description)),
            },
            None if client.public => {
                return Ok(refuse(
                    ErrorCode::InvalidRequest,
                    "PKCE (code_challenge with S256) is required",
                ));
            }
            None => None,
        };
        Ok(Checked::Valid(Box::new(AuthorizationRequest {
            client,
            redirect_uri,
            redirect_uri_given: requested_uri.is_some(),
            state,
            requested,
            code_challenge,
        })))
    }

    /// A code at once, when the consent the user already gave covers the
    /// request: then no consent page is needed. Nothing is written but the
    /// audit event: rewriting the consent each time would be a write per
    /// authorization, and on PostgreSQL a row that gathers dead versions
    /// every code redemption then looks through. A code whose consent is
    /// revoked before it is redeemed is refused then.
    pub async fn approve_remembered(
        &self,
        user: &User,
        request: &AuthorizationRequest,
        origin: &Origin,
    ) -> Result<Option<String>, ServiceError> {
        let Some(consent) = self.store.consent(&user.id, &request.client.id).await? else {
            return Ok(None);
        };
        let granted = consent.scopes.intersection(&request.client.scopes);
        let granted = match &request.requested {
            Some(requested) if requested.is_subset(&granted) => requested.clone(),
            None if !granted.is_empty() || request.client.scopes.is_empty() => granted,
            _ => return Ok(None),
        };
        self.issue_code(user, request, granted, consent.id, origin)
            .await
            .map(Some)
    }

    /// The registry entries of the scopes a request may cover, for the consent page.
    pub async fn scopes_for(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<Vec<Scope>, ServiceError> {
        let offered = request.requested.as_ref().unwrap_or(&request.client.scopes);
        Ok(self
            .scopes()
            .await?
            .iter()
            .filter(|s| offered.contains(&s.name))
            .cloned()
            .collect())
    }

    /// The consent `user_id` gives `client_id` for `granted`, to be stored:
    /// the store adds it to what a standing consent allows, in the write
    /// itself, so a consent revoked a moment before does not come back
    /// with its scopes.
    pub(crate) fn consent_to(
        &self,
        user_id: &str,
        client_id: &str,
        granted: &ScopeSet,
    ) -> Result<Consent, ServiceError> {
        let now = self.now();
        Ok(Consent {
            // Always new: a consent that stands keeps its id and time of
            // creation, and one revoked since must not come back under
            // them (its grants and codes would live again).
            id: secrets::row_id(self.clock.now_millis())?,
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
            scopes: granted.clone(),
            created_at: now,
            updated_at: now,
            last_used_at: now,
        })
    }

    /// The user allowed `granted`: remember it and issue a code.
    pub async fn approve(
        &self,
        user: &User,
        request: &AuthorizationRequest,
        granted: ScopeSet,
        origin: &Origin,
    ) -> Result<String, ServiceError> {
        let consent = self.consent_to(&user.id, &request.client.id, &granted)?;
        // The code names the consent that stands now: this one, or the one
        // it widened.
        let standing = self.store.put_consent(&consent).await?;
        self.issue_code(user, request, granted, standing, origin)
            .await
    }

    /// A code for what `user` allowed under the consent `consent_id`,
    /// audited.
    async fn issue_code(
        &self,
        user: &User,
        request: &AuthorizationRequest,
        granted: ScopeSet,
        consent_id: RowId,
        origin: &Origin,
    ) -> Result<String, ServiceError> {
        let now = self.now();
        let code = self.seal_code(&SealedCode {
            id: secrets::row_id(self.clock.now_millis())?,
            consent_id: Some(consent_id),
            issued_at: now,
            expires_at: now + self.policy.code_ttl,
            client_id: request.client.id.clone(),
            user_id: user.id.clone(),
            scope: granted.to_string(),
            redirect_uri: request.redirect_uri.clone(),
            redirect_uri_given: request.redirect_uri_given,
            code_challenge: request
                .code_challenge
                .as_ref()
                .map(|c| c.as_str().to_owned()),
        })?;
        let origin = Origin {
            user_id: Some(user.id.clone()),
            ..origin.clone()
        };
        self.audit(
            "grant.approved",
            &origin,
            Some(&request.client.id),
            format!("scope={granted}"),
        )
        .await;
        Ok(code)
    }

    /// Records that the user refused.
    pub async fn deny(&self, user: &User, request: &AuthorizationRequest, origin: &Origin) {
        let origin = Origin {
            user_id: Some(user.id.clone()),
            ..origin.clone()
        };
        self.audit(
            "grant.denied",
            &origin,
            Some(&request.client.id),
            String::new(),
        )
        .await;
    }

    /// Seals a pending authorization request (its query string) for the
    /// consent form, bound to the session and a deadline, so the form cannot
    /// be replayed in another session or altered.
    pub fn seal_interaction(&self, session_id: RowId, query: &str) -> String {
        let expires = self.now() + self.policy.interaction_ttl;
        let mut payload = expires.to_be_bytes().to_vec();
        payload.extend_from_slice(query.as_bytes());
        let tag = self.interaction_tag(session_id, &payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The query string a sealed interaction holds, if it is authentic,
    /// for this session and not expired.
    pub fn open_interaction(&self, session_id: RowId, sealed: &str) -> Option<String> {
        let (payload, tag) = sealed.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.interaction_mac(session_id);
        mac.update(&payload);
        mac.verify_slice(&tag).ok()?;
        let (expires, query) = payload.split_at_checked(8)?;
        let expires = i64::from_be_bytes(expires.try_into().ok()?);
        (expires > self.now())
            .then(|| String::from_utf8(query.to_vec()).ok())
            .flatten()
    }

    fn interaction_mac(&self, session_id: RowId) -> hmac::Hmac<sha2::Sha256> {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.keys.interaction)
            .expect("HMAC accepts any key length");
        mac.update(session_id.as_bytes());
        mac
    }

    fn interaction_tag(&self, session_id: RowId, payload: &[u8]) -> Vec<u8> {
        let mut mac = self.interaction_mac(session_id);
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }
}
