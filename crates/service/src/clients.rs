//! Client (app) registration: shared by the admin CLI and the developer portal.

use protocol::{GrantType, RedirectUri, ScopeSet};
use store::Client;

use crate::{Origin, Service, ServiceError, secrets};

/// How a client is described when it is created or changed. Lists are
/// given as text, as typed by a person, and parsed here.
#[derive(Clone, Debug, Default)]
pub struct ClientSpec {
    pub name: String,
    pub description: String,
    pub homepage: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// Empty means: the usual grants for this kind of client.
    pub grant_types: Vec<String>,
    pub public: bool,
    /// The owner's username.
    pub owner: Option<String>,
    /// Lifetimes for this client's tokens, in seconds; `None` follows the server's policy.
    pub lifetimes: Lifetimes,
}

/// Per-client token lifetimes, in seconds; `None` follows the server's policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub refresh_token_idle_ttl: Option<i64>,
}

impl Lifetimes {
    fn check(self) -> Result<Lifetimes, ServiceError> {
        let day = 24 * 3600;
        for (field, value, max) in [
            ("access_token_ttl", self.access_token_ttl, 7 * day),
            ("refresh_token_ttl", self.refresh_token_ttl, 3650 * day),
            (
                "refresh_token_idle_ttl",
                self.refresh_token_idle_ttl,
                3650 * day,
            ),
        ] {
            if let Some(v) = value
                && !(60..=max).contains(&v)
            {
                return Err(ServiceError::invalid(
                    field,
                    format!("{v} is outside 60..={max} seconds"),
                ));
            }
        }
        Ok(self)
    }
}

/// A client as just created: the secret is shown once and never again.
#[derive(Clone, Debug)]
pub struct CreatedClient {
    pub client: Client,
    pub secret: Option<String>,
}

/// What can change about an existing client; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub homepage: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    /// Lifetimes to set; a `None` inside keeps the current value.
    pub lifetimes: Lifetimes,
}

/// The validated parts of a [`ClientSpec`].
struct Validated {
    name: String,
    description: String,
    homepage: Option<String>,
    redirect_uris: Vec<RedirectUri>,
    scopes: ScopeSet,
    grant_types: Vec<GrantType>,
}

fn parse_homepage(s: &str) -> Result<String, ServiceError> {
    let s = s.trim();
    let valid = s.len() <= 2000
        && url::Url::parse(s).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.has_host()
                && u.username().is_empty()
                && u.password().is_none()
        });
    if valid {
        Ok(s.to_owned())
    } else {
        Err(ServiceError::invalid(
            "homepage",
            format!("{s:?} is not an http(s) URL"),
        ))
    }
}

fn default_grant_types(public: bool, has_redirect_uris: bool) -> Vec<GrantType> {
    let mut grants = Vec::new();
    if has_redirect_uris {
        grants.extend([GrantType::AuthorizationCode, GrantType::RefreshToken]);
    }
    if !public {
        grants.push(GrantType::ClientCredentials);
    }
    grants
}

impl Service {
    async fn validate_client(&self, spec: &ClientSpec) -> Result<Validated, ServiceError> {
        let ClientSpec {
            name,
            description,
            homepage,
            redirect_uris,
            scopes,
            grant_types,
            public,
            owner: _,
            lifetimes: _,
        } = spec;
        let public = *public;
        let name = protocol::client::parse_display_name(name)
            .map_err(|e| ServiceError::invalid("name", e))?;
        if description.chars().count() > 1000 {
            return Err(ServiceError::invalid(
                "description",
                "is longer than 1000 characters",
            ));
        }
        let homepage = homepage
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .map(parse_homepage)
            .transpose()?;
        let mut uris: Vec<RedirectUri> = Vec::new();
        for uri in redirect_uris
            .iter()
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
        {
            let uri =
                RedirectUri::parse(uri).map_err(|e| ServiceError::invalid("redirect_uri", e))?;
            if !uris.contains(&uri) {
                uris.push(uri);
            }
        }
        if uris.len() > 20 {
            return Err(ServiceError::invalid(
                "redirect_uri",
                "at most 20 redirect URIs per client",
            ));
        }
        let known = self.store.list_scopes().await?;
        let mut requested = Vec::new();
        for s in scopes
            .iter()
            .flat_map(|s| s.split([' ', ',']))
            .filter(|s| !s.is_empty())
        {
            if !known.iter().any(|k| k.name == s) {
                let names = known
                    .iter()
                    .map(|k| k.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ServiceError::invalid(
                    "scope",
                    format!(
                        "unknown scope {s:?}; create it first with `portcullis scope create` (known: {names})"
                    ),
                ));
            }
            requested.push(
                protocol::ScopeName::parse(s).map_err(|e| ServiceError::invalid("scope", e))?,
            );
        }
        let mut grants = grant_types
            .iter()
            .flat_map(|g| g.split([' ', ',']))
            .filter(|g| !g.is_empty())
            .map(|g| {
                g.parse::<GrantType>()
                    .map_err(|e| ServiceError::invalid("grant_type", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if grants.is_empty() {
            grants = default_grant_types(public, !uris.is_empty());
        }
        grants.sort();
        grants.dedup();
        if grants.is_empty() {
            return Err(ServiceError::invalid(
                "grant_type",
                "a public client needs a redirect URI or an explicit grant type (for example the device grant)",
            ));
        }
        if public && grants.contains(&GrantType::ClientCredentials) {
            return Err(ServiceError::invalid(
                "grant_type",
                "client_credentials needs a client secret; a public client cannot use it",
            ));
        }
        if grants.contains(&GrantType::AuthorizationCode) && uris.is_empty() {
            return Err(ServiceError::invalid(
                "redirect_uri",
                "authorization_code needs at least one redirect URI",
            ));
        }
        Ok(Validated {
            name,
            description: description.trim().to_owned(),
            homepage,
            redirect_uris: uris,
            scopes: ScopeSet::from_names(requested),
            grant_types: grants,
        })
    }

    async fn owner_id(&self, owner: Option<&str>) -> Result<Option<String>, ServiceError> {
        match owner {
            None => Ok(None),
            Some(username) => match self.store.user_by_username(username).await? {
                Some(user) => Ok(Some(user.id)),
                None => Err(ServiceError::invalid(
                    "owner",
                    format!("no user {username:?}"),
                )),
            },
        }
    }

    pub async fn create_client(
        &self,
        spec: ClientSpec,
        origin: &Origin,
    ) -> Result<CreatedClient, ServiceError> {
        let v = self.validate_client(&spec).await?;
        let lifetimes = spec.lifetimes.check()?;
        let owner_id = self.owner_id(spec.owner.as_deref()).await?;
        let secret = if spec.public {
            None
        } else {
            Some(secrets::client_secret()?)
        };
        let now = self.now();
        let client = Client {
            id: secrets::identifier::<16>()?,
            name: v.name,
            description: v.description,
            homepage: v.homepage,
            owner_id,
            public: spec.public,
            secret: secret.as_deref().map(protocol::token::Verifier::of),
            previous_secret: None,
            redirect_uris: v.redirect_uris,
            grant_types: v.grant_types,
            scopes: v.scopes,
            access_token_ttl: lifetimes.access_token_ttl,
            refresh_token_ttl: lifetimes.refresh_token_ttl,
            refresh_token_idle_ttl: lifetimes.refresh_token_idle_ttl,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_client(&client).await?;
        self.audit(
            "client.created",
            origin,
            Some(&client.id),
            format!("name={}", client.name),
        )
        .await;
        Ok(CreatedClient { client, secret })
    }

    pub async fn client(&self, id: &str) -> Result<Option<Client>, ServiceError> {
        if !protocol::client::is_valid_client_id(id) {
            return Ok(None);
        }
        let now = self.now();
        let ttl = self.policy.client_cache_ttl;
        if let Some(cached) = self.clients.get(id, now, ttl) {
            return Ok(Some(cached));
        }
        let found = self.store.client(id).await?;
        if let Some(client) = &found {
            self.clients.put(client, now, ttl);
        }
        Ok(found)
    }

    /// A client that must exist.
    pub async fn existing_client(&self, id: &str) -> Result<Client, ServiceError> {
        self.client(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("client {id:?}")))
    }

    /// Every client, or those owned by the user with this id.
    pub async fn list_clients(&self, owner_id: Option<&str>) -> Result<Vec<Client>, ServiceError> {
        Ok(self.store.list_clients(owner_id).await?)
    }

    pub async fn update_client(
        &self,
        id: &str,
        changes: ClientChanges,
        origin: &Origin,
    ) -> Result<Client, ServiceError> {
        let current = self.existing_client(id).await?;
        let spec = ClientSpec {
            name: changes.name.unwrap_or_else(|| current.name.clone()),
            description: changes
                .description
                .unwrap_or_else(|| current.description.clone()),
            homepage: changes.homepage.unwrap_or_else(|| current.homepage.clone()),
            redirect_uris: changes.redirect_uris.unwrap_or_else(|| {
                current
                    .redirect_uris
                    .iter()
                    .map(|u| u.to_string())
                    .collect()
            }),
            scopes: changes
                .scopes
                .unwrap_or_else(|| current.scopes.iter().map(|s| s.to_string()).collect()),
            grant_types: changes
                .grant_types
                .unwrap_or_else(|| current.grant_types.iter().map(|g| g.to_string()).collect()),
            public: current.public,
            owner: None,
            lifetimes: Lifetimes::default(),
        };
        let v = self.validate_client(&spec).await?;
        let lifetimes = changes.lifetimes.check()?;
        let updated = Client {
            access_token_ttl: lifetimes.access_token_ttl.or(current.access_token_ttl),
            refresh_token_ttl: lifetimes.refresh_token_ttl.or(current.refresh_token_ttl),
            refresh_token_idle_ttl: lifetimes
                .refresh_token_idle_ttl
                .or(current.refresh_token_idle_ttl),
            name: v.name,
            description: v.description,
            homepage: v.homepage,
            redirect_uris: v.redirect_uris,
            scopes: v.scopes,
            grant_types: v.grant_types,
            updated_at: self.now(),
            ..current
        };
        let updated_ok = self.store.update_client(&updated).await?;
        self.clients.forget(id);
        if !updated_ok {
            return Err(ServiceError::NotFound(format!("client {id:?}")));
        }
        self.audit("client.updated", origin, Some(id), String::new())
            .await;
        Ok(updated)
    }

    /// Deletes a client and every consent, code, grant and token it holds
    /// (see [`store::Store::delete_client`]).
    pub async fn delete_client(&self, id: &str, origin: &Origin) -> Result<(), ServiceError> {
        let deleted = self.store.delete_client(id).await?;
        self.clients.forget(id);
        self.grants.invalidate();
        if !deleted {
            return Err(ServiceError::NotFound(format!("client {id:?}")));
        }
        self.audit("client.deleted", origin, Some(id), String::new())
            .await;
        Ok(())
    }

    /// Issues a new secret. The old one stops working at once, or after
    /// `overlap_seconds` so deployments can roll over.
    pub async fn rotate_client_secret(
        &self,
        id: &str,
        overlap_seconds: i64,
        origin: &Origin,
    ) -> Result<String, ServiceError> {
        let client = self.existing_client(id).await?;
        let Some(old) = client.secret else {
            return Err(ServiceError::invalid(
                "client",
                "a public client has no secret to rotate",
            ));
        };
        if !(0..=30 * 24 * 3600).contains(&overlap_seconds) {
            return Err(ServiceError::invalid(
                "overlap",
                "must be between 0 seconds and 30 days",
            ));
        }
        let now = self.now();
        let secret = secrets::client_secret()?;
        let previous = (overlap_seconds > 0).then_some((old, now + overlap_seconds));
        let verifier = protocol::token::Verifier::of(&secret);
        let rotated = self
            .store
            .set_client_secret(id, &verifier, previous, now)
            .await?;
        // After the write, so a reader racing it cannot re-cache the old secret.
        self.clients.forget(id);
        if !rotated {
            return Err(ServiceError::NotFound(format!("client {id:?}")));
        }
        self.audit(
            "client.secret_rotated",
            origin,
            Some(id),
            format!("overlap={overlap_seconds}"),
        )
        .await;
        Ok(secret)
    }
}
